"""The platform under test: the real broker and PostgreSQL, and two processes of every service.

Every process is a child of this one, started in its own session, and `close()` stops them all
(services first, SIGKILL after a bounded wait; then the broker, PostgreSQL and the mail server)
and removes the temporary folder: a chaos run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loyalty_devkit.local_broker import LocalBroker, free_port
from loyalty_devkit.local_mail import LocalMailServer
from loyalty_devkit.local_postgres import LocalPostgres

SERVICES = ("points", "tiers", "notifications", "feedback")
REPLICAS = 2
SESSION_TIMEOUT_MS = 6000


@dataclass
class Replica:
    service: str
    index: int
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Cluster:
    secret: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="loyalty-chaos-")))
    replicas: list[Replica] = field(default_factory=list)
    postgres: LocalPostgres | None = None
    broker: LocalBroker | None = None
    mail: LocalMailServer | None = None
    env: dict[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        assert self.postgres is not None
        return self.postgres.dsn(f"loyalty_{service}")

    def start_servers(self) -> None:
        self.postgres = LocalPostgres(self.workdir / "pgdata")
        self.postgres.start()
        self.broker = LocalBroker(free_port(), log_file=self.workdir / "tansu.log")
        self.broker.start()
        self.mail = LocalMailServer(self.workdir / "mail", free_port())
        self.mail.start()
        self.env = {
            **os.environ,
            "LOYALTY_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "LOYALTY_JWT_SECRET": self.secret,
            "LOYALTY_LOG_FORMAT": "json",
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "LOYALTY_DB_POOL_MAX": "5",
            "LOYALTY_POINTS_JOBS_INTERVAL_S": "2",
            "LOYALTY_FEEDBACK_JOBS_INTERVAL_S": "5",
            "LOYALTY_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "LOYALTY_NOTIFICATIONS_SMTP_PORT": str(self.mail.port),
            "LOYALTY_NOTIFICATIONS_SMTP_TLS": "none",
        }
        for service in SERVICES:
            self.env[f"LOYALTY_{service.upper()}_DATABASE_URL"] = self.database_url(service)
        for index in range(REPLICAS):
            for service in SERVICES:
                self.replicas.append(
                    Replica(service, index, free_port(), self.workdir / f"{service}-{index}.log")
                )

    def spawn(self, replica: Replica) -> None:
        env = {**self.env, f"LOYALTY_{replica.service.upper()}_PORT": str(replica.port)}
        command = str(Path(sys.executable).with_name(f"loyalty-{replica.service}"))
        with replica.log.open("ab") as out:
            replica.process = subprocess.Popen(
                [command], env=env, stdout=out, stderr=out, start_new_session=True
            )

    def wait_ready(self, replicas: list[Replica], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(replicas)
        while pending:
            for replica in list(pending):
                if not replica.alive():
                    raise RuntimeError(f"{replica.name} exited at start:\n{self.tail(replica)}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200:
                        pending.remove(replica)
            if pending and time.monotonic() > deadline:
                names = ", ".join(r.name for r in pending)
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {names}")
            time.sleep(0.3)

    def start_services(self, timeout_s: float = 120) -> None:
        # one replica of each first (it creates and migrates the database), then the second
        for index in range(REPLICAS):
            batch = [r for r in self.replicas if r.index == index]
            for replica in batch:
                self.spawn(replica)
            self.wait_ready(batch, timeout_s)

    def kill(self, rng: random.Random) -> Replica | None:
        """SIGKILL one live service process picked at random."""
        live = [r for r in self.replicas if r.alive()]
        if not live:
            return None
        victim = rng.choice(live)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        victim.kills += 1
        return victim

    def restart_dead(self) -> list[Replica]:
        dead = [r for r in self.replicas if not r.alive()]
        for replica in dead:
            self.spawn(replica)
        return dead

    def restart_postgres(self, down_s: float) -> None:
        assert self.postgres is not None
        self.postgres.stop()
        time.sleep(down_s)
        self.postgres.start()

    def pause_broker(self) -> None:
        assert self.broker is not None
        self.broker.pause()

    def resume_broker(self) -> None:
        assert self.broker is not None
        self.broker.resume()

    def tail(self, replica: Replica, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(replica.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def close(self, keep: bool = False) -> None:
        if self.broker is not None:
            self.broker.resume()  # a paused broker would hold the services' shutdown
        for replica in self.replicas:
            if replica.alive():
                assert replica.process is not None
                replica.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for replica in self.replicas:
            if replica.process is None:
                continue
            try:
                replica.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(replica.process.pid, signal.SIGKILL)
                replica.process.wait()
        if self.mail is not None:
            self.mail.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
            if not keep:
                shutil.rmtree(self.postgres.socket_dir, ignore_errors=True)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
