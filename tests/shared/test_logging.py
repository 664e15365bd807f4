"""One JSON pipeline for every line a service writes: the libraries' stdlib records (uvicorn's
access lines, aiokafka's, asyncpg's) come out like the services' own structlog lines, one JSON
object per line, with the trace and span of the span they were written in, and an access line
says which route was asked for without the query string, where personal data can travel.

Each case runs in a process of its own, configured as `loyalty-<service> serve` configures it
(`configure_logging`, then uvicorn with `uvicorn_config`), so the test leaves this process's
logging alone."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest

from loyalty_devkit.local_broker import free_port
from loyalty_shared.observability.logging import route_shape

EMAIL = "li.na.private@example.com"

SERVED = """
import asyncio
import logging
import sys

import httpx
import uvicorn
from opentelemetry.sdk.trace import TracerProvider

from loyalty_shared.observability.logging import configure_logging, get_logger
from loyalty_shared.service import uvicorn_config

configure_logging(service="points")
logging.getLogger("httpx").setLevel(logging.WARNING)  # this script's own client
tracer = TracerProvider().get_tracer("test")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        message = await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    # as the FastAPI instrumentation does: the server span is current while the app answers
    with tracer.start_as_current_span("GET /v1/members/{member_id}/points") as span:
        ids = span.get_span_context()
        print(f"SPAN {ids.trace_id:032x} {ids.span_id:016x}", file=sys.stderr, flush=True)
        get_logger("loyalty_points.balances").info("balance read", member_id="m-1")
        logging.getLogger("asyncpg.pool").warning("a connection was reset")
        logging.getLogger("aiokafka.consumer.group_coordinator").warning("heartbeat failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def main(port):
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, access_log=True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        await client.get("/healthz")
        await client.get("/v1/members/m-1/points?email=EMAIL&as_of=2026-01-01")
    server.should_exit = True
    await serving


asyncio.run(main(int(sys.argv[1])))
""".replace("EMAIL", EMAIL)


def run(script: str, *args: str) -> tuple[list[dict[str, Any]], str, str]:
    """The JSON objects the script wrote to stdout (every line must be one), its stdout, and
    its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, check=False, timeout=120
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, out + err
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines, out, err


def test_library_records_and_access_lines_are_json_lines_with_the_spans_trace_and_span_ids() -> (
    None
):
    lines, _, err = run(SERVED, str(free_port()))
    [span_line] = [line for line in err.splitlines() if line.startswith("SPAN ")]
    _, trace_id, span_id = span_line.split()

    by_logger = {line.get("logger"): line for line in lines}
    own = next(line for line in lines if line["event"] == "balance read")
    asyncpg = by_logger["asyncpg.pool"]
    aiokafka = by_logger["aiokafka.consumer.group_coordinator"]
    access = by_logger["uvicorn.access"]
    for line in (own, asyncpg, aiokafka, access):
        assert (line["trace_id"], line["span_id"]) == (trace_id, span_id), line
        assert line["service"] == "points"
        assert "timestamp" in line
    assert (asyncpg["event"], asyncpg["level"]) == ("a connection was reset", "warning")
    assert (aiokafka["event"], aiokafka["level"]) == ("heartbeat failed", "warning")
    assert {k: access[k] for k in ("event", "method", "path", "status", "level")} == {
        "event": "request",
        "method": "GET",
        "path": "/v1/members/{}/points",
        "status": 200,
        "level": "info",
    }
    # uvicorn's own lines (the server starting and stopping) take the same way, outside a span
    started = [line for line in lines if line.get("logger") == "uvicorn.error"]
    assert started
    assert all("trace_id" not in line for line in started)


def test_an_access_line_holds_no_query_string_nor_client_address_and_probes_write_none() -> None:
    lines, out, _ = run(SERVED, str(free_port()))
    assert EMAIL not in out
    assert "as_of" not in out
    [access] = [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert not any("127.0.0.1" in str(value) for value in access.values()), access
    assert "m-1" not in str(access)
    # the probe asked before is not in the log at all
    assert not any("/healthz" in str(line.get("path")) for line in lines)


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/members/m-1/points", "/v1/members/{}/points"),
        ("/v1/surveys/eyJhbGciOi.secret-token", "/v1/surveys/{}"),
        ("/v1/members/0b7d7c5e-1f0e-4b8e-9c56-7f0f0f0f0f0f/export", "/v1/members/{}/export"),
        ("/v1/rewards?q=ann@example.com", "/v1/rewards"),
        ("/", "/"),
    ],
)
def test_an_access_line_shows_the_routes_words_and_masks_identifiers_and_tokens(
    path: str, shape: str
) -> None:
    assert route_shape(path) == shape
