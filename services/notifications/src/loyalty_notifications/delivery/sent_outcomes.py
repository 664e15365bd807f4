"""Sent messages recorded together: the sends that finish while one write is under way are
marked sent, with their `notification.sent` events, in the next single transaction."""

from __future__ import annotations

import asyncio

import asyncpg

from loyalty_notifications import events
from loyalty_notifications.delivery import repository
from loyalty_notifications.delivery.repository import Notification
from loyalty_shared.clock import Clock

_Waiting = tuple[Notification, int, asyncio.Future[None]]


class SentOutcomes:
    """`record` returns once the send's outcome is committed (or raises what the write raised);
    a write never waits for more sends to come, so a lone send is recorded as soon as before."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row: Notification, attempt: int) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, attempt, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._commit([(row, attempt) for row, attempt, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each send's task logs it
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for *_, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None

    async def _commit(self, sent: list[tuple[Notification, int]]) -> None:
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            marked = await repository.mark_sent(
                conn, [(row.id, attempt) for row, attempt in sent], now
            )
            await events.emit(conn, [events.sent(row, now) for row, _ in sent if row.id in marked])
