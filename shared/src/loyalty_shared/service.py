"""The app factory every service uses (its lifespan migrates, opens the pool and the producer, runs
the relay, the consumer and the jobs once the schema is current, and stops them in reverse), and
the service's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import ValidationError
from starlette.types import ASGIApp

from loyalty_shared import audit_log
from loyalty_shared.background import BackgroundLoop
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db.inbox_retention import InboxRetention
from loyalty_shared.db.migrations import MigrationError, migrate
from loyalty_shared.db.pool import create_pool
from loyalty_shared.db.relay import OutboxRelay
from loyalty_shared.db.schema import SchemaGate, shipped_migrations
from loyalty_shared.dlq import endpoints as dead_letters
from loyalty_shared.dlq.replay import Replayer
from loyalty_shared.gc_tuning import tune_garbage_collector
from loyalty_shared.http import health
from loyalty_shared.http.auth import TokenVerifier
from loyalty_shared.http.hot_reads import HotRead, HotReads
from loyalty_shared.http.limits import LimitRequestBody
from loyalty_shared.http.observe import ObserveRequests
from loyalty_shared.http.openapi import document_operations, operation_id
from loyalty_shared.http.problems import install_problem_handlers
from loyalty_shared.http.state import attach_state
from loyalty_shared.kafka.client import make_consumer, make_producer
from loyalty_shared.kafka.consumer import ConsumerRunner
from loyalty_shared.kafka.routing import Routes
from loyalty_shared.observability import tracing
from loyalty_shared.observability.logging import configure_logging, get_logger
from loyalty_shared.runtime import Runtime
from loyalty_shared.settings import ServiceSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str
    migrations_dir: Path
    routers: Sequence[APIRouter] = ()
    routes: Routes = field(default_factory=dict)
    #: Further background loops (scheduled jobs), built with the pool once it is open.
    loops: Mapping[str, Callable[[asyncpg.Pool], BackgroundLoop]] = field(default_factory=dict)
    #: The most frequent member reads, answered before FastAPI when nothing is unusual.
    hot_reads: Sequence[HotRead] = ()
    #: The service's clock (`create_app`'s), for what the shared routes need of the time.
    clock: Clock = system_clock


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    traces = tracing.Tracing.for_service(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The loops started below inherit it: what they emit carries its cause's trace.
        tracing.CURRENT.set(traces)
        if settings.migrate_at_start:
            await migrate(settings.database_url, spec.migrations_dir, app_role=settings.db_app_role)
        pool = await create_pool(settings.database_url, settings)
        producer = make_producer(settings, client_id=f"loyalty-{spec.name}")
        schema = SchemaGate(
            pool,
            shipped_migrations(spec.migrations_dir),
            interval_s=settings.schema_check_interval_s,
        )
        loops: dict[str, BackgroundLoop] = {}
        waiting: asyncio.Task[None] | None = None
        try:
            await producer.start()
            relay = OutboxRelay(
                service=spec.name,
                pool=pool,
                producer=producer,
                batch=settings.relay_batch,
                idle_sleep_s=settings.relay_idle_sleep_s,
            )
            runtime = Runtime(
                settings=settings,
                tokens=TokenVerifier(settings),
                pool=pool,
                producer=producer,
                relay=relay,
                consumer=None,
                loops=loops,
                schema=schema,
            )
            attach_state(app, runtime)

            async def start() -> None:
                """The relay, the consumer and the jobs: only on a schema that is current."""
                await relay.start()
                loops["relay"] = relay
                if spec.routes:
                    consumer = ConsumerRunner(
                        service=spec.name,
                        group_id=f"loyalty-{spec.name}",
                        consumer=make_consumer(
                            settings,
                            client_id=f"loyalty-{spec.name}",
                            group_id=f"loyalty-{spec.name}",
                        ),
                        pool=pool,
                        routes=spec.routes,
                        traces=traces,
                        on_committed=relay.wake,
                        commit_interval_s=settings.kafka_commit_interval_ms / 1000,
                        linger_s=settings.kafka_batch_linger_ms / 1000,
                        max_batch=settings.kafka_max_batch,
                    )
                    await consumer.start()
                    loops["consumer"] = consumer
                    attach_state(app, replace(runtime, consumer=consumer))
                    loops["inbox-retention"] = InboxRetention(
                        service=spec.name,
                        pool=pool,
                        days=settings.inbox_retention_days,
                        interval_s=settings.inbox_retention_interval_s,
                        dead_letter_days=settings.dead_letter_retention_days,
                    )
                    await loops["inbox-retention"].start()
                for name, build in spec.loops.items():
                    loop = build(pool)
                    await loop.start()
                    loops[name] = loop
                log.info("service started", topics=sorted(spec.routes), port=settings.port)

            if settings.migrate_at_start or await schema.check():
                await start()
                schema.open()
            else:
                # Serve the probes meanwhile: /readyz says why it is not ready, /healthz is 200.
                waiting = asyncio.create_task(schema.open_when_current(start))
            yield
        finally:
            log.info("service stopping: draining the consumer, then the outbox")
            if waiting is not None:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
            # jobs first, then the consumer, the relay last (the reverse of their start)
            for loop in reversed(loops.values()):
                await loop.stop()
            await producer.stop()
            await pool.close()
            await asyncio.to_thread(traces.shutdown)
            log.info("service stopped")

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,  # `getPoints`, for generated clients
    )
    attach_state(app, Replayer(spec.name, spec.routes, spec.clock))
    install_problem_handlers(app)
    document_operations(app)
    # bodies over LOYALTY_HTTP_MAX_BODY_BYTES: 413 before any handler runs
    app.add_middleware(LimitRequestBody, max_bytes=settings.http_max_body_bytes)
    if spec.hot_reads:
        app.add_middleware(HotReads, reads=spec.hot_reads)
    # RED metrics and a server span per request (W3C `traceparent` from the caller honoured);
    # /metrics and the probes are not traced.
    app.add_middleware(ObserveRequests, service=spec.name, traces=traces)
    if traces.recording:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=traces.provider,
            excluded_urls="healthz,readyz,metrics",
            exclude_spans=["receive", "send"],
        )
    app.include_router(health.router)
    for router in spec.routers:
        app.include_router(router)
    app.include_router(audit_log.router)  # every service lists its own
    app.include_router(dead_letters.router)  # and its dead letters
    return app


S = TypeVar("S", bound=ServiceSettings)


def load_settings(settings_type: type[S]) -> S:
    """Settings from the environment, or a clear message and exit status 2: never a traceback."""
    try:
        return settings_type()
    except ValidationError as exc:
        prefix = str(settings_type.model_config.get("env_prefix", ""))
        lines = [f"invalid configuration for {settings_type.__name__}:"]
        for error in exc.errors(include_url=False, include_input=False):
            # name the environment variable the operator sets, not the Python field
            where = f"{prefix}{error['loc'][0]}".upper() if error["loc"] else "(settings)"
            lines.append(f"  {where}: {error['msg']}")
        print("\n".join(lines), file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def serve(build: Callable[[S], FastAPI], settings: S, *, service: str) -> None:
    """Run one service in the foreground under uvicorn (uvloop), as `make run` and the image do."""
    configure_logging(service=service, level=settings.log_level, fmt=settings.log_format)
    config = uvicorn_config(
        build(settings), host=settings.host, port=settings.port, access_log=settings.log_access
    )
    tune_garbage_collector()
    _DrainedServer(config).run()


def uvicorn_config(app: ASGIApp, *, host: str, port: int, access_log: bool) -> uvicorn.Config:
    """uvicorn as a service runs it: `log_config=None`, so uvicorn installs no handlers or
    formats of its own and its records (access lines too) reach the JSON pipeline
    `configure_logging` set up."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        log_config=None,
        access_log=access_log,
        timeout_graceful_shutdown=30,
    )


class _DrainedServer(uvicorn.Server):
    """Exit status 0 after a graceful stop on SIGTERM/SIGINT. uvicorn re-raises the signal once
    it has shut down, so the process would end as killed by it (-15, 143 in a container) even
    though the consumer drained and committed: that reads as a failure to Kubernetes and to
    anyone watching exit codes. A second Ctrl-C still forces the exit, as in uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # shut down cleanly: nothing to re-raise


def run_migrations(settings: ServiceSettings, migrations_dir: Path, *, service: str) -> None:
    """`loyalty-<service> migrate`: apply the shared and the service's migrations, then exit.

    What the Kubernetes migration Job runs (against the primary, not the pooler), and safe to run
    twice or beside starting pods: dbmate records applied versions and takes its advisory lock.
    Exit status 0 when the schema is current, 1 when a migration failed (dbmate's output said).
    """
    configure_logging(service=service, level=settings.log_level, fmt=settings.log_format)
    try:
        report = asyncio.run(
            migrate(settings.database_url, migrations_dir, app_role=settings.db_app_role)
        )
    except MigrationError as exc:
        log.error("migrations failed", error=str(exc))
        raise SystemExit(1) from None
    applied = [line for line in report.splitlines() if line.startswith("Applying:")]
    log.info("migrations applied", applied=applied, pending=0)


def command(
    service: str,
    settings_type: type[S],
    build: Callable[[S], FastAPI],
    migrations_dir: Path,
    *,
    description: str | None,
) -> None:
    """`loyalty-<service> [serve]` serves (the container's command and what `make run` starts);
    `loyalty-<service> migrate` applies the migrations and exits (the Kubernetes Job)."""
    parser = argparse.ArgumentParser(prog=f"loyalty-{service}", description=description)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    chosen = parser.parse_args().command
    settings = load_settings(settings_type)
    if chosen == "migrate":
        run_migrations(settings, migrations_dir, service=service)
        return
    serve(build, settings, service=service)
