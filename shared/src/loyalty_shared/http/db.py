"""The request's database transaction: opened by the dependency, committed when the endpoint
returns, rolled back when it raises. Services and repositories never commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from loyalty_shared.db import Connection


async def _transaction(request: Request) -> AsyncIterator[Connection]:
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        yield conn


async def _read_only(request: Request) -> AsyncIterator[Connection]:
    async with request.app.state.pool.acquire() as conn, conn.transaction(readonly=True):
        yield conn


async def _connection(request: Request) -> AsyncIterator[Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Transaction = Annotated[Connection, Depends(_transaction)]
#: A connection outside any transaction, for a read that is one statement (atomic by itself):
#: BEGIN and COMMIT would triple the round trips of the app's hottest endpoints.
SingleStatement = Annotated[Connection, Depends(_connection)]
ReadOnly = Annotated[Connection, Depends(_read_only)]
