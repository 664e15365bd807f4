"""Reports on the whole program are fetched at most once a minute: served fresh, then stale
while one fetch runs behind, never a refusal kept; one fetch for many operators at once."""

from __future__ import annotations

import asyncio

from loyalty_console.platform.client import Answer, ReportCache


class Service:
    def __init__(self) -> None:
        self.calls = 0
        self.answer = Answer(200, {"members": 1})
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self) -> Answer:
        self.calls += 1
        await self.release.wait()
        return self.answer


async def test_a_report_is_fetched_once_then_served_stale_while_a_fresh_one_comes() -> None:
    cache, service = ReportCache(ttl_s=0.05), Service()
    assert (await cache.get("k", service.fetch)).body == {"members": 1}
    assert (await cache.get("k", service.fetch)).body == {"members": 1}
    assert service.calls == 1, "fresh: not asked again"

    await asyncio.sleep(0.06)
    service.answer = Answer(200, {"members": 2})
    service.release.clear()
    assert (await cache.get("k", service.fetch)).body == {"members": 1}, "stale, at once"
    await asyncio.sleep(0)
    assert service.calls == 2, "and one fetch behind it"
    service.release.set()
    await asyncio.sleep(0.01)
    assert (await cache.get("k", service.fetch)).body == {"members": 2}


async def test_concurrent_first_views_share_one_fetch_and_a_refusal_is_not_kept() -> None:
    cache, service = ReportCache(ttl_s=60), Service()
    service.release.clear()
    views = [asyncio.create_task(cache.get("k", service.fetch)) for _ in range(5)]
    await asyncio.sleep(0.01)
    service.release.set()
    assert {(await v).status for v in views} == {200}
    assert service.calls == 1

    service.answer = Answer(503)
    assert (await cache.get("other", service.fetch)).status == 503
    service.answer = Answer(200, {"members": 3})
    assert (await cache.get("other", service.fetch)).body == {"members": 3}
