"""Reward redemptions under contention: 100 members redeeming one reward with a stock of 1,000 at
the same time, beside plain `POST /redemptions` (the same spend without a reward: no stock, no
coupon, no tier or limit checks) by the same members, in the same run and service.

    .venv/bin/python -m bench.reward_redemptions [--members 100] [--stock 1000] [--rate 50]
                                                 [--rounds 3]

The points service runs as in production (its own process, one uvicorn worker on uvloop, the
default pool of 10 connections) on a fresh PostgreSQL; each member is one keep-alive connection
from a raw asyncio HTTP/1.1 client in this process, and together they redeem the whole stock
(stock / members requests each; the reference sends as many). Two ways, each on a reward of its
own:

- saturated: each member sends its next request as soon as the last is answered. Gives the most
  the service does per second; the latency is then mostly waiting in line (100 requests in
  flight at N per second wait about 100 / N s each);
- offered: the members send `--rate` requests per second between them, each at its planned
  moment; latency counts from that moment (so a late answer delays the next and is counted).

Prints per contender and way: requests/s, p50 / p99 / max latency in milliseconds (medians over
the rounds), the answers by status (every reward redemption must be a 201: a 409 or 503 would be
a lost unit, a deadlock or a serialization failure reaching a caller) and the load average of
the machine while it ran.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.balance_reads import VENV_BIN, start_server
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import MIGRATIONS
from loyalty_shared.db.migrations import migrate
from tests.support.tokens import SECRET, token

PRICE = 10
MODES = ("saturated", "offered")
CONTENDERS = ("reward redemptions", "plain /redemptions")


@dataclass(frozen=True)
class Round:
    rate: float
    latencies_ms: list[float]
    statuses: Counter[int]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    port: int, requests: list[tuple[str, str, bytes]], each: int, rate: float | None
) -> Round:
    """Every (member, path, body) on its own connection, `each` requests: back to back, or at
    `rate` per second between them all (latency from each request's planned moment)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter() + 0.2

    async def member(index: int, member_id: str, path: str, body: bytes) -> None:
        bearer = token(member_id, expires_in=3600)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in range(each):
                planned = time.perf_counter()
                if rate is not None:
                    planned = started + (n * len(requests) + index) / rate
                    if (wait := planned - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {bearer}\r\n"
                    f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - planned) * 1000)
                statuses[int(head[9:12])] += 1
        finally:
            writer.close()

    await asyncio.gather(*(member(n, *request) for n, request in enumerate(requests)))
    return Round(len(latencies) / (time.perf_counter() - started), latencies, statuses)


async def seed_members(dsn: str, members: list[str]) -> None:
    """Each member with plenty of available points in a few lots."""
    await migrate(dsn, MIGRATIONS)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """
            INSERT INTO points_account (member_id, available, lifetime_earned)
            SELECT m, 300000, 300000 FROM unnest($1::text[]) AS m;
            """,
            members,
        )
        await conn.execute(
            """
            INSERT INTO points_lot (member_id, points, remaining, status, available_at,
                                    expires_at, origin, earned_at)
            SELECT m, 100000, 100000, 'available', now(), now() + make_interval(days => d),
                   'adjustment', now()
            FROM unnest($1::text[]) AS m, generate_series(100, 300, 100) AS d
            """,
            members,
        )
    finally:
        await conn.close()


def add_reward(port: int, reward_id: str, stock: int) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{port}/v1/rewards",
        json={
            "reward_id": reward_id,
            "name": {"zh-CN": "基准券", "en": "Bench voucher"},
            "points": PRICE,
            "stock": stock,
            "coupon": {"value": "1.00", "currency": "CNY", "valid_days": 30},
        },
        headers={"Authorization": f"Bearer {token('bench-ops', admin=True)}"},
        timeout=60,
    )
    response.raise_for_status()


async def main(members: int, stock: int, rate: float, rounds: int) -> None:
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-")) / "data")
    postgres.start()
    broker = LocalBroker(free_port())
    broker.start()
    server: subprocess.Popen[bytes] | None = None
    each = stock // members
    ids = [f"m-{n:05d}" for n in range(members)]
    results: dict[tuple[str, str], list[Round]] = {
        (mode, name): [] for mode in MODES for name in CONTENDERS
    }
    loads: list[float] = []
    try:
        await create_topics(broker.bootstrap, partitions=4)
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute('CREATE DATABASE "bench_rewards"')
        await admin.close()
        dsn = postgres.dsn("bench_rewards")
        await seed_members(dsn, ids)
        port = free_port()
        server = start_server(
            [str(VENV_BIN / "loyalty-points")],
            {
                "LOYALTY_POINTS_DATABASE_URL": dsn,
                "LOYALTY_POINTS_PORT": str(port),
                "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
                "LOYALTY_JWT_SECRET": SECRET,
                "LOYALTY_LOG_LEVEL": "WARNING",
            },
            port,
        )
        for n in range(rounds):
            for mode in MODES:
                reward_id = f"bench-{mode}-{n}"
                add_reward(port, reward_id, stock)
                bodies = {
                    CONTENDERS[0]: ("reward-redemptions", {"reward_id": reward_id}),
                    CONTENDERS[1]: ("redemptions", {"points": PRICE, "reward": reward_id}),
                }
                for name in CONTENDERS if n % 2 == 0 else CONTENDERS[::-1]:
                    path, body = bodies[name]
                    requests = [(m, f"/v1/members/{m}/{path}", orjson.dumps(body)) for m in ids]
                    result = await load(port, requests, each, rate if mode == "offered" else None)
                    loads.append(os.getloadavg()[0])
                    results[(mode, name)].append(result)
                    print(f"round {n + 1} {mode:<9} {name:<19} {_figures([result])}")
                if left := await _units_left(dsn, reward_id):
                    print(f"round {n + 1}: {left} units of {reward_id} left unredeemed")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        broker.stop()
        postgres.remove()
    print()
    print(
        f"median over {rounds} rounds; {members} members at once, {each} requests each, stock "
        f"{stock}; offered: {rate:g} requests/s (load average {min(loads):.1f}-{max(loads):.1f}, "
        f"{os.cpu_count()} cores):"
    )
    for (mode, name), measured in results.items():
        statuses: Counter[int] = sum((r.statuses for r in measured), Counter())
        print(f"  {mode:<9} {name:<19} {_figures(measured)}  answers {dict(statuses)}")
    print(
        "reproduce: .venv/bin/python -m bench.reward_redemptions "
        f"--members {members} --stock {stock} --rate {rate:g} --rounds {rounds}"
    )


def _figures(measured: list[Round]) -> str:
    def median(q: float) -> float:
        return statistics.median(r.percentile(q) for r in measured)

    return (
        f"{statistics.median(r.rate for r in measured):>6,.0f} requests/s  "
        f"p50 {median(0.5):6.1f} ms  p99 {median(0.99):6.1f} ms  max {median(1.0):6.1f} ms"
    )


async def _units_left(dsn: str, reward_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        left: int = await conn.fetchval(
            "SELECT count(*) FROM coupon WHERE reward_id = $1 AND status = 'available'", reward_id
        )
        return left
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--stock", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.stock, args.rate, args.rounds))
