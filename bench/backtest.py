"""A backtest over a year of stored purchases: `POST /v1/program/backtest` of the points service
(its own process, one uvicorn worker) over 1,000,000 purchases seeded set-based, timed, with the
service process's peak memory.

    .venv/bin/python -m bench.backtest [--purchases 1000000] [--rounds 3]

Two candidates, each `--rounds` times: the program in force (the default program; the bench
checks it gives back exactly the points stored) and bench/all_rules.toml (categories, channels,
campaigns, a cap: the purchases' categories are read too). Per round: the wall time of the
request, the service's CPU seconds, and its peak resident memory during the round (the kernel's
high-water mark, reset before each round through /proc/<pid>/clear_refs). Prints medians, the
machine's load average before and after, and the command that reproduces them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.balance_reads import start_server
from bench.cpu import tree_seconds
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import MIGRATIONS
from loyalty_shared.db.migrations import migrate
from loyalty_shared.program.loader import load_program
from tests.support.tokens import SECRET, bearer

VENV_BIN = Path(sys.executable).parent
ALL_RULES = Path(__file__).parent / "all_rules.toml"
ADMIN = bearer("bench-1", admin=True)

#: A year of purchases over 100,000 members: totals from CNY 10 to 5,009.99, every channel and
#: tier of the default program, one or two categories each, points as the default program
#: credits them (floor(floor(total) x the tier's multiplier)).
SEED = """
INSERT INTO purchase (order_id, member_id, event_id, channel, currency, total, tier, multiplier,
                      points, purchased_at, available_at, expires_at, categories)
SELECT 'o-' || n, 'm-' || (n % 100000), 'e-' || n, channel, 'CNY', total, tier, multiplier,
       floor(floor(total) * multiplier)::bigint, at, at + interval '14 days',
       at + interval '365 days',
       CASE WHEN n % 5 = 0
            THEN jsonb_build_object(category, (total * 0.6)::numeric(14, 2)::text,
                                    'grocery', (total * 0.4)::numeric(14, 2)::text)
            ELSE jsonb_build_object(category, total::text) END
FROM (
    SELECT n,
           (ARRAY['online', 'store', 'app'])[1 + n % 3] AS channel,
           round(10 + (n::bigint * 7919 % 499999) / 100.0, 2) AS total,
           (ARRAY['bronze', 'bronze', 'silver', 'gold', 'platinum'])[1 + (n / 7) % 5] AS tier,
           (ARRAY[1.0, 1.0, 1.25, 1.5, 2.0])[1 + (n / 7) % 5] AS multiplier,
           (ARRAY['apparel', 'electronics', 'beauty', 'home'])[1 + n % 4] AS category,
           now() - make_interval(secs => (n::bigint * 31 % 31449600)) - interval '1 minute'
               AS at
    FROM generate_series(1, $1) AS n
) s
"""


async def seed(dsn: str, purchases: int) -> None:
    await migrate(dsn, MIGRATIONS)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SEED, purchases)
        await conn.execute("VACUUM ANALYZE purchase")
    finally:
        await conn.close()


def _status(pid: int, field: str) -> int:
    """A `kB` figure of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current VmRSS


async def one_round(port: int, pid: int, program: dict[str, Any]) -> dict[str, Any]:
    _reset_peak(pid)
    cpu = tree_seconds(pid)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=900) as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/v1/program/backtest",
            json={"program": program, "days": 365},
            headers=ADMIN,
        )
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return {
        "seconds": seconds,
        "cpu": tree_seconds(pid) - cpu,
        "peak": _status(pid, "VmHWM"),
        "body": response.json(),
    }


def _mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


async def main(purchases: int, rounds: int) -> None:
    load_before = os.getloadavg()
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-backtest-")) / "data")
    postgres.start()
    broker = LocalBroker(free_port())
    broker.start()
    server = None
    results: dict[str, list[dict[str, Any]]] = {"program in force": [], "all rules": []}
    try:
        await create_topics(broker.bootstrap, partitions=1)
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute('CREATE DATABASE "bench_backtest"')
        await admin.close()
        dsn = postgres.dsn("bench_backtest")
        started = time.perf_counter()
        await seed(dsn, purchases)
        print(f"seeded {purchases:,} purchases in {time.perf_counter() - started:.1f}s")
        port = free_port()
        server = start_server(
            [str(VENV_BIN / "loyalty-points")],
            {
                "LOYALTY_POINTS_DATABASE_URL": dsn,
                "LOYALTY_POINTS_PORT": str(port),
                "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
                "LOYALTY_JWT_SECRET": SECRET,
                "LOYALTY_LOG_LEVEL": "WARNING",
                "LOYALTY_POINTS_BACKTEST_TIMEOUT_S": "900",
            },
            port,
        )
        idle = _status(server.pid, "VmRSS")
        print(f"service started: {_mb(idle)} resident")
        async with httpx.AsyncClient() as client:
            in_force = (
                await client.get(f"http://127.0.0.1:{port}/v1/program", headers=ADMIN)
            ).json()
        candidates = {
            "program in force": in_force,
            "all rules": load_program(ALL_RULES).model_dump(mode="json"),
        }
        for n in range(rounds):
            for name, program in candidates.items():
                result = await one_round(port, server.pid, program)
                results[name].append(result)
                body = result["body"]
                print(
                    f"round {n + 1}: {name:<17} {result['seconds']:6.1f} s  "
                    f"cpu {result['cpu']:5.1f} s  peak {_mb(result['peak'])}  "
                    f"purchases {body['purchases']:,}  points {body['points_current']:,} -> "
                    f"{body['points_candidate']:,}"
                )
                if name == "program in force":
                    assert body["points_candidate"] == body["points_current"], body
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        broker.stop()
        postgres.remove()
    load_after = os.getloadavg()
    print()
    print(f"median over {rounds} rounds, {purchases:,} purchases, 365 days:")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        print(
            f"  {name:<17} {seconds:6.1f} s ({purchases / seconds:,.0f} purchases/s), "
            f"service cpu {statistics.median(r['cpu'] for r in runs):.1f} s, "
            f"peak {_mb(statistics.median(r['peak'] for r in runs))} "
            f"(idle {_mb(idle)})"
        )
    print(
        "  load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    print(
        f"reproduce: .venv/bin/python -m bench.backtest --purchases {purchases} --rounds {rounds}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.purchases, args.rounds))
