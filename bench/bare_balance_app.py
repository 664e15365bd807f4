"""The bare reference for `bench.balance_reads`: FastAPI + asyncpg reading one row, no auth, no
validation, nothing a product needs. Run by the bench under the same uvicorn as the service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], max_size=10)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/v1/members/{member_id}/points")
async def points(member_id: str, request: Request) -> dict[str, Any]:
    row = await request.app.state.pool.fetchrow(
        "SELECT available, pending, lifetime_earned FROM points_account WHERE member_id = $1",
        member_id,
    )
    return {"member_id": member_id, **(dict(row) if row else {})}
