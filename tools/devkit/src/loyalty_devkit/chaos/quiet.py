"""Coming to rest after the drive: a sentinel on every input partition applied by every
consumer, then outboxes empty, no referral or birthday bonus due and unpaid (the points
lifecycle job's work), and the counts of applied events and ledger entries stable."""

from __future__ import annotations

import asyncio
import calendar
import time
import uuid
from datetime import UTC, date, datetime

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.config import PARTITIONS
from loyalty_devkit.chaos.databases import DB_ERRORS, fetch
from loyalty_devkit.chaos.model import PROGRAM_ZONE
from loyalty_devkit.chaos.publishing import HEADERS
from loyalty_devkit.chaos.report import log
from loyalty_devkit.chaos.workload import MEMBERS, PURCHASES
from loyalty_shared.events.envelope import cloud_event

#: the sentinels each service applies: one per partition of each input topic it reads
READERS = {"points": 4, "tiers": 4, "feedback": 4, "notifications": 8}

#: What the points lifecycle job still owes: referrals whose referred member's first purchase
#: is available, and birthdays today (in the program's zone) without this year's decision.
#: Both are paid by the job every few seconds; "quiet" waits until it has.
BONUSES_DUE = """
SELECT
  (SELECT count(*) FROM referral r
   CROSS JOIN LATERAL (SELECT available_at FROM purchase WHERE member_id = r.referee_id
                       ORDER BY purchased_at, order_id LIMIT 1) p
   WHERE r.status = 'waiting' AND p.available_at <= now()) AS referrals,
  (SELECT count(*) FROM member_birthday b
   WHERE (b.month, b.day) IN (SELECT * FROM unnest($1::smallint[], $2::smallint[]))
     AND NOT EXISTS (SELECT 1 FROM birthday_bonus g
                     WHERE g.member_id = b.member_id AND g.year = $3)) AS birthdays
"""


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on `day`: 29 February on 28 February too in a year
    without one (docs/events.md#birthday-points)."""
    days = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        days.append((2, 29))
    return days


async def bonuses_due(cluster: Cluster) -> int:
    """How many referral and birthday bonuses the points job owes right now."""
    today = datetime.now(PROGRAM_ZONE).date()
    days = birthdays_on(today)
    rows = await fetch(
        cluster,
        "points",
        BONUSES_DUE,
        [m for m, _ in days],
        [d for _, d in days],
        today.year,
    )
    return int(rows[0]["referrals"]) + int(rows[0]["birthdays"])


async def send_sentinels(producer: AIOKafkaProducer) -> list[str]:
    """Per partition, a purchase then a member update; their event ids, in that order."""
    ids = []
    now = datetime.now(UTC)
    for partition in range(PARTITIONS):
        member = f"chaos-sentinel-{partition}"
        for topic, event_type, data in (
            (
                PURCHASES,
                "purchase.completed",
                {
                    "order_id": f"o-sentinel-{partition}-{uuid.uuid4().hex[:8]}",
                    "member_id": member,
                    "channel": "online",
                    "currency": "CNY",
                    "total": "0.00",
                    "items": [],
                },
            ),
            (
                MEMBERS,
                "member.updated",
                {
                    "member_id": member,
                    "name": "sentinel",
                    "consents": {"email": False, "sms": False, "push": False},
                },
            ),
        ):
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            event = cloud_event(
                event_type, data, source="shop/chaos", subject=member, event_id=event_id, time=now
            )
            await producer.send_and_wait(
                topic,
                value=orjson.dumps(event),
                key=member.encode(),
                partition=partition,
                headers=HEADERS,
            )
    return ids


async def readiness(cluster: Cluster) -> str:
    """What every replica's /readyz says, for a run that does not come to rest."""
    out = []
    async with httpx.AsyncClient(timeout=3) as client:
        for replica in cluster.replicas:
            try:
                response = await client.get(f"{replica.url}/readyz")
                out.append(f"{replica.name} {response.status_code} {response.text[:300]}")
            except httpx.HTTPError as exc:
                out.append(f"{replica.name} {exc!r}")
    return " | ".join(out)


async def wait_quiet(cluster: Cluster, sentinel_ids: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    missing: list[str] = []
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"sentinels not applied by every service in {timeout_s:.0f}s"
                f" ({', '.join(missing)}); {await readiness(cluster)}"
            )
        missing = []
        for service, expected in READERS.items():
            try:
                rows = await fetch(
                    cluster,
                    service,
                    "SELECT event_id FROM processed_event WHERE event_id = ANY($1::text[])",
                    sentinel_ids,
                )
            except DB_ERRORS:
                missing.append(service)
                continue
            if len(rows) < expected:
                seen = {r["event_id"] for r in rows}
                # sentinel_ids: per partition, the purchase then the member update
                lacking = [
                    f"{PURCHASES if n % 2 == 0 else MEMBERS}[{n // 2}]"
                    for n, event_id in enumerate(sentinel_ids)
                    if event_id not in seen and (service == "notifications" or n % 2 == 0)
                ]
                missing.append(f"{service} lacks {' '.join(lacking)}")
        if not missing:
            break
        await asyncio.sleep(2)
    log("sentinels applied everywhere; waiting for outboxes and counts to settle")
    previous: list[int] | None = None
    stable = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no quiet in {timeout_s:.0f}s")
        figures: list[int] = []
        backlog = 0
        try:
            for service in ("points", "tiers", "notifications", "feedback"):
                rows = await fetch(
                    cluster,
                    service,
                    "SELECT (SELECT count(*) FROM outbox) AS o, "
                    "(SELECT count(*) FROM processed_event) AS p",
                )
                backlog += rows[0]["o"]
                figures.append(rows[0]["p"])
            ledger = await fetch(cluster, "points", "SELECT count(*) AS n FROM ledger_entry")
            figures.append(ledger[0]["n"])
            backlog += await bonuses_due(cluster)
        except DB_ERRORS:
            figures = [-1]
        stable = stable + 1 if backlog == 0 and figures == previous else 0
        previous = figures
        if stable >= 3:
            return
        await asyncio.sleep(3)
