"""`loyalty run`: the whole platform on one machine, in the foreground.

Starts (unless told to use existing servers) a local PostgreSQL and the tansu broker, creates
the topics, starts the four services, the operator console and the gateway (the public and the
internal host's /v1 paths on one port, routed as in Kubernetes) as child processes with their
logs prefixed, waits until every one answers its probe and says where everything is. Ctrl-C or
SIGTERM stops the services first (they drain and commit), then the broker and PostgreSQL:
nothing is left running. Each process's port is its usual variable (`LOYALTY_POINTS_PORT`, ...,
`LOYALTY_CONSOLE_PORT`, `LOYALTY_GATEWAY_PORT`), so a test can run the platform beside another
on ports of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from rich.console import Console
from rich.table import Table

from loyalty_devkit.dev_tokens import LOCAL_JWT_SECRET, make_token
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_mail import LocalMailServer
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_devkit.local_tls import self_signed_certificate

console = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    default_port: int
    colour: str
    #: Answers 200 once the process is ready to serve.
    probe: str = "/readyz"

    @property
    def port(self) -> int:
        return int(os.environ.get(f"LOYALTY_{self.name.upper()}_PORT", self.default_port))

    @property
    def command(self) -> str:
        return str(Path(sys.executable).with_name(f"loyalty-{self.name}"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = (
    ServiceProcess("points", 8001, "cyan"),
    ServiceProcess("tiers", 8002, "magenta"),
    ServiceProcess("notifications", 8003, "yellow"),
    ServiceProcess("feedback", 8004, "green"),
)
#: The operator console, on the four services' APIs; locally with the sign-in by role.
CONSOLE = ServiceProcess("console", 8080, "blue")
#: One base URL for the app team: each public path to its service, from the HTTPRoute's table.
GATEWAY = ServiceProcess("gateway", 8000, "white", probe="/healthz")
PROCESSES = (*SERVICES, CONSOLE, GATEWAY)


def console_env() -> dict[str, str]:
    """How `make run` runs the console: the services where this runner starts them, the
    development sign-in on (it exists only when this is set) and a cookie for plain HTTP."""
    env = {f"LOYALTY_CONSOLE_{s.name.upper()}_URL": s.url for s in SERVICES}
    env["LOYALTY_CONSOLE_DEV_SIGN_IN"] = "true"
    env["LOYALTY_CONSOLE_SECURE_COOKIE"] = "false"
    return env


def gateway_env() -> dict[str, str]:
    """The gateway forwards to the services where this runner starts them, the operators'
    paths too (in Kubernetes those are on the internal host only)."""
    env = {f"LOYALTY_GATEWAY_{s.name.upper()}_URL": s.url for s in SERVICES}
    env["LOYALTY_GATEWAY_OPERATOR_PATHS"] = "true"
    return env


def database_url_for(server_url: str, service: str) -> str:
    """The service's own database on the given server: each service owns one database."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/loyalty_{service}"))


async def _pipe(name: str, colour: str, stream: asyncio.StreamReader) -> None:
    width = max(len(s.name) for s in PROCESSES)
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        console.print(f"[{colour}]{name:<{width}}[/] | {text}", markup=True, soft_wrap=True)


async def _wait_ready(services: tuple[ServiceProcess, ...], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(services)
    async with httpx.AsyncClient(timeout=2) as client:
        while pending:
            if time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {names}")
            for service in list(pending):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{service.url}{service.probe}")).status_code == 200:
                        pending.discard(service)
            await asyncio.sleep(0.3)


def _summary(bootstrap: str, database: str, local_dir: Path, mail: str) -> Table:
    table = Table(title="Loyalty platform is ready", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for service in SERVICES:
        table.add_row(service.name, f"{service.url}  (docs {service.url}/docs)")
    table.add_row("gateway", f"{GATEWAY.url}  (the public and internal hosts' paths)")
    table.add_row("console", f"{CONSOLE.url}  (sign in by role: local development only)")
    table.add_row("broker", bootstrap)
    table.add_row("postgres", database)
    table.add_row("local data", str(local_dir))
    table.add_row("mail", mail)
    table.add_row("try", "make demo   (or: .venv/bin/loyalty demo)")
    table.add_row(
        "member token",
        'curl -H "Authorization: Bearer $(.venv/bin/loyalty token m-0001)" '
        f"{GATEWAY.url}/v1/members/m-0001/points",
    )
    table.add_row("stop", "Ctrl-C")
    return table


async def run_platform(local_dir: Path, broker_port: int = 9092) -> int:
    """Run until Ctrl-C/SIGTERM (exit 0) or until a service dies (exit 1)."""
    bootstrap = os.environ.get("LOYALTY_KAFKA_BOOTSTRAP")
    server_url = os.environ.get("LOYALTY_DATABASE_URL")
    broker: LocalBroker | None = None
    postgres: LocalPostgres | None = None
    mail: LocalMailServer | None = None
    children: list[tuple[ServiceProcess, asyncio.subprocess.Process]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if server_url is None:
            postgres = LocalPostgres(local_dir / "pgdata")
            console.print(f"starting PostgreSQL (embedded) in {postgres.data_dir}")
            postgres.start()
            server_url = postgres.dsn()
        if bootstrap is None:
            broker = LocalBroker(broker_port, log_file=local_dir / "tansu.log")
            console.print(
                f"starting the Kafka-protocol broker (tansu, memory only) on {broker_port}"
            )
            broker.start()
            bootstrap = broker.bootstrap
        await create_topics(bootstrap)
        if "LOYALTY_NOTIFICATIONS_SMTP_HOST" in os.environ:
            mail_note = (
                f"{os.environ['LOYALTY_NOTIFICATIONS_SMTP_HOST']} (LOYALTY_NOTIFICATIONS_SMTP_*)"
            )
        else:
            # the notifications service sends its email here (STARTTLS, its default, with a
            # certificate made now); each message is kept as a file
            certificate = self_signed_certificate(local_dir / "tls")
            mail = LocalMailServer(local_dir / "mail", free_port(), certificate=certificate)
            mail.start()
            console.print(
                f"local SMTP server (STARTTLS) on 127.0.0.1:{mail.port}, "
                f"keeping mail in {mail.directory}"
            )
            mail_note = f"sent email is kept in {mail.directory} (.eml files)"
        env = {
            **os.environ,
            "LOYALTY_KAFKA_BOOTSTRAP": bootstrap,
            "LOYALTY_LOG_FORMAT": os.environ.get("LOYALTY_LOG_FORMAT", "console"),
            # a developer's machine: the development secret (and http webhooks to loopback) are
            # accepted here only
            "LOYALTY_ENVIRONMENT": os.environ.get("LOYALTY_ENVIRONMENT", "development"),
            "LOYALTY_JWT_SECRET": os.environ.get("LOYALTY_JWT_SECRET", LOCAL_JWT_SECRET),
        }
        if mail is not None and mail.certificate is not None:
            env["LOYALTY_NOTIFICATIONS_SMTP_HOST"] = "127.0.0.1"
            env["LOYALTY_NOTIFICATIONS_SMTP_PORT"] = str(mail.port)
            env["LOYALTY_NOTIFICATIONS_SMTP_TLS"] = "starttls"
            env["LOYALTY_NOTIFICATIONS_SMTP_CA_FILE"] = str(mail.certificate.cert_file)
        for service in SERVICES:
            env[f"LOYALTY_{service.name.upper()}_DATABASE_URL"] = database_url_for(
                server_url, service.name
            )
        env.update(console_env())
        env.update(gateway_env())
        pipes = []
        for service in PROCESSES:
            process = await asyncio.create_subprocess_exec(
                service.command,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            children.append((service, process))
            assert process.stdout is not None
            pipes.append(asyncio.create_task(_pipe(service.name, service.colour, process.stdout)))
        exits = [asyncio.create_task(p.wait()) for _, p in children]
        ready = asyncio.create_task(_wait_ready(PROCESSES, timeout_s=120))
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([ready, stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
        if ready in done and ready.exception() is None:
            console.print(_summary(bootstrap, server_url, local_dir, mail_note))
            done, _ = await asyncio.wait([stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
        if stopped in done:
            console.print("stopping: services drain first, then the broker and PostgreSQL")
            return 0
        if ready in done and ready.exception() is not None:
            console.print(f"[red]{ready.exception()}[/]")
        for service, process in children:
            if process.returncode is not None:
                console.print(f"[red]{service.name} exited with status {process.returncode}[/]")
        return 1
    finally:
        for _, process in children:
            if process.returncode is None:
                process.terminate()
        for service, process in children:
            try:
                await asyncio.wait_for(process.wait(), timeout=40)
            except TimeoutError:
                console.print(f"{service.name} did not stop in time; killing it")
                process.kill()
                await process.wait()
        if mail is not None:
            mail.stop()
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
        console.print("all stopped")


def member_token(member_id: str, admin: bool, scopes: Sequence[str] = ()) -> str:
    return make_token(
        member_id,
        admin=admin,
        scopes=scopes,
        secret=os.environ.get("LOYALTY_JWT_SECRET", LOCAL_JWT_SECRET),
    )
