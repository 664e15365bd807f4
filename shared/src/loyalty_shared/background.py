"""A loop that runs as a task beside the HTTP server (the consumer, the outbox relay) until it is
asked to stop, and then gets a bounded time to finish the work in hand."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

from loyalty_shared.db.errors import is_transient
from loyalty_shared.observability.logging import get_logger

log = get_logger(__name__)


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


class PeriodicJob(BackgroundLoop):
    """Runs `run_once` every `interval_s` until asked to stop. A transient failure (the database
    or the broker blinked) waits for the next run; any other is logged as `failure`, and the
    loop goes on either way: a scheduled job must not die of one bad run."""

    #: What the log says when a run fails for a reason that is not transient.
    failure = "scheduled job failed"

    def __init__(self, *, name: str, interval_s: float, stop_timeout_s: float = 10) -> None:
        super().__init__(name=name, stop_timeout_s=stop_timeout_s)
        self._interval_s = interval_s

    @abstractmethod
    async def run_once(self) -> None: ...

    async def _run(self) -> None:
        while not await self._stop_within(self._interval_s):
            try:
                await self.run_once()
            except Exception as exc:
                if not is_transient(exc):
                    log.exception(self.failure, error=repr(exc))
