"""Liveness, readiness (database and broker really asked) and Prometheus metrics: no token.

Readiness follows contract section 3: the API is served from PostgreSQL, so a pod without its
database is not ready; a pod without the broker still is (reads and redemptions go on, the
consumer and the outbox relay wait and catch up), and `/readyz` only reports the broker's state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from loyalty_shared.runtime import runtime_of

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_S = 2.0
#: Checks /readyz reports without letting them make the pod unready (contract section 3).
REPORTED_ONLY = frozenset({"broker"})


@router.get(
    "/healthz",
    summary="Liveness: the event loop answers and the background loops are alive",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ok"}}}},
        503: {"description": "A background task died: restart the process"},
    },
)
async def healthz(request: Request) -> Response:
    # Dependencies (database, broker) are readiness; a dead consumer, relay or job loop never
    # comes back by itself, so it fails liveness and Kubernetes restarts the pod.
    runtime = runtime_of(request)
    dead = [name for name, loop in runtime.loops.items() if not loop.healthy]
    if runtime.schema is not None and runtime.schema.failed:
        dead.append("startup")  # the loops failed to start once the schema was current
    if dead:
        return JSONResponse({"status": "failed", "dead": dead}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _check_database(request: Request) -> str:
    async with runtime_of(request).pool.acquire(timeout=CHECK_TIMEOUT_S) as conn:
        await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_S)
    return "ok"


async def _check_broker(request: Request) -> str:
    await runtime_of(request).producer.client.fetch_all_metadata()
    return "ok"


async def _probe(request: Request, check: Callable[[Request], Awaitable[str]], failed: str) -> str:
    try:
        return await asyncio.wait_for(check(request), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure is said in the body
        detail = f": {exc}" if str(exc) else ""  # a timeout says nothing more
        return f"{failed}: {type(exc).__name__}{detail}"[:300]


@router.get(
    "/readyz",
    summary="Readiness: database reachable, consumer, relay and jobs running (broker reported)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "checks": {"database": "ok", "broker": "ok", "schema": "ok"},
                    }
                }
            }
        },
        503: {"description": "Not ready; the body says which check failed"},
    },
)
async def readyz(request: Request) -> Response:
    # The broker is asked and reported, but it does not decide readiness: with Kafka away the
    # API still answers from the database, and the consumer and relay wait and catch up
    # (contract section 3). Taking every pod out of the Service for it would turn a broker
    # outage into a full one.
    checks: dict[str, Any] = {
        "database": await _probe(request, _check_database, "failed"),
        "broker": await _probe(request, _check_broker, "unreachable"),
    }
    runtime = runtime_of(request)
    if runtime.schema is not None:
        # Behind: the loops wait for the migration Job (liveness stays 200 meanwhile).
        checks["schema"] = runtime.schema.behind or "ok"
    for name, loop in runtime.loops.items():
        checks[name] = "ok" if loop.healthy else "failed: stopped"
    ready = all(value == "ok" for name, value in checks.items() if name not in REPORTED_ONLY)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
