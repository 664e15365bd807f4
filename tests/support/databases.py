"""Databases of a test on the suite's PostgreSQL server: each one new, all dropped afterwards."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg


class Databases:
    """Calling it names a new database on the server and returns its URL (the service creates
    it); `drop()` drops every one it named."""

    def __init__(self, server_url: str, *, prefix: str = "") -> None:
        self._server_url = server_url
        self._prefix = prefix
        self._named: list[str] = []

    def __call__(self, kind: str) -> str:
        name = f"{self._prefix}{kind}_{uuid.uuid4().hex[:10]}"
        self._named.append(name)
        return urlunsplit(urlsplit(self._server_url)._replace(path=f"/{name}"))

    async def drop(self) -> None:
        conn = await asyncpg.connect(self._server_url)
        try:
            for name in self._named:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
