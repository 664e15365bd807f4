"""A service app running in-process (lifespan: migrations, consumer, relay, jobs) with a client,
and the settings every service in a test shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, free_port
from tests.support.tokens import SECRET


def on_test_broker(broker: LocalBroker) -> dict[str, Any]:
    """Settings every service in a test shares: the test's broker and secret, and a short Kafka
    session so that a consumer that stopped is soon replaced."""
    return {
        "kafka_bootstrap": broker.bootstrap,
        "jwt_secret": SECRET,
        "kafka_session_timeout_ms": 6000,
    }


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        yield app


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app), client_of(app) as client:
        yield client


@asynccontextmanager
async def served(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """`app` on a real port of 127.0.0.1 (a peer the code under test reaches over HTTP), for the
    block; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
