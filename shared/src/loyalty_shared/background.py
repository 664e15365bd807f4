"""A loop that runs as a task beside the HTTP server (the consumer, the outbox relay) until it is
asked to stop, and then gets a bounded time to finish the work in hand."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod


class BackgroundLoop(ABC):
    def __init__(self, *, name: str, stop_timeout_s: float) -> None:
        self._name = name
        self._stop_timeout_s = stop_timeout_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _run(self) -> None: ...

    async def start(self) -> None:
        self._spawn()

    async def stop(self) -> None:
        await self._finish()

    def _spawn(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    @property
    def healthy(self) -> bool:
        """False once the task has ended: it never restarts itself, so liveness must fail."""
        return self._task is not None and not self._task.done()

    async def _finish(self) -> bool:
        """Ask the loop to stop and wait; False if it had to be cancelled after the timeout."""
        self._stopping.set()
        if self._task is None:
            return True
        try:
            await asyncio.wait_for(self._task, timeout=self._stop_timeout_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            return False
        return True

    async def _stop_within(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when asked to stop; True if asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()
