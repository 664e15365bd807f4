"""The console in-process (its app and an HTTPS client with a cookie jar), for the tests of
sign-in, sessions and forms. The pages' service calls go to a port nobody listens on unless a
test says otherwise: those tests are about the console, not the services."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from loyalty_console.app import create_app
from loyalty_console.settings import ConsoleSettings
from loyalty_devkit.local_broker import free_port
from tests.support.apps import running
from tests.support.tokens import SECRET

ConsoleFactory = Callable[..., Any]


def console_settings(**overrides: Any) -> ConsoleSettings:
    nobody = f"http://127.0.0.1:{free_port()}"
    values: dict[str, Any] = {
        "jwt_secret": SECRET,
        "console_dev_sign_in": True,
        "console_points_url": nobody,
        "console_tiers_url": nobody,
        "console_notifications_url": nobody,
        "console_feedback_url": nobody,
        "console_api_timeout_s": 2,
    }
    values.update(overrides)
    return ConsoleSettings(**values)


@asynccontextmanager
async def console(settings: ConsoleSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The console running, and a browser-like client on https://console.test."""
    async with running(create_app(settings)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://console.test"
        ) as client:
            yield client


@pytest.fixture
async def dev_console() -> AsyncIterator[httpx.AsyncClient]:
    async with console(console_settings()) as client:
        yield client


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, role: str, name: str = "") -> httpx.Response:
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in/dev",
        data={"csrf_token": csrf_in(page.text), "role": role, "name": name, "tz": "UTC"},
    )
