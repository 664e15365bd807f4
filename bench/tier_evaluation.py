"""The tiers service's downgrade evaluation over many members whose tier validity has ended.

Members get a realistic spread: tiers by a long-tailed spend, one to a dozen spend days each in
the last year, and every tier's validity ended yesterday, so every member is due. Prints the
time, members per second and statements per member (the evaluation runs one statement per
batch of 2,000 members), and how many changed tier.

    .venv/bin/python -m bench.tier_evaluation [--members 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_shared.db.migrations import migrate
from loyalty_shared.program.loader import load_program
from loyalty_tiers.app import MIGRATIONS
from loyalty_tiers.evaluation import jobs
from loyalty_tiers.ladder import rank, supported


async def seed(dsn: str, members: int, seed: int) -> None:
    rng = random.Random(seed)
    program = load_program()
    today = datetime.now(UTC).date()
    tiers, days = [], []
    for n in range(members):
        member = f"m-{n:07d}"
        held = rng.choices(["silver", "gold", "platinum"], weights=[70, 25, 5])[0]
        spend = Decimal(int(rng.lognormvariate(8.3, 1.0)))  # median ~4,000, long tail
        by_spend = supported(program, spend).name
        if rank(program, by_spend) > rank(program, held):
            held = by_spend
        reached = datetime.now(UTC) - timedelta(days=366)
        tiers.append((member, held, reached, reached + timedelta(days=365)))
        spread = rng.randint(1, 12)
        for _ in range(spread):
            days.append((member, today - timedelta(days=rng.randint(0, 364)), spend / spread))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "member_tier", records=tiers, columns=["member_id", "tier", "reached_at", "valid_until"]
        )
        unique: dict[tuple[str, date], Decimal] = {}
        for member, day, amount in days:
            unique[(member, day)] = unique.get((member, day), Decimal(0)) + amount
        await conn.copy_records_to_table(
            "spend_day",
            records=[(m, d, a.quantize(Decimal("0.01"))) for (m, d), a in unique.items()],
            columns=["member_id", "day", "amount"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def main(members: int) -> None:
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-tiers-")) / "data")
    postgres.start()
    try:
        dsn = postgres.dsn("bench_tiers")
        await migrate(dsn, MIGRATIONS)
        started = time.perf_counter()
        await seed(dsn, members, seed=1)
        print(f"seeded {members:,} members in {time.perf_counter() - started:.1f}s")
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        assert pool is not None
        try:
            started = time.perf_counter()
            changed = await jobs.evaluate(pool, load_program(), datetime.now(UTC))
            seconds = time.perf_counter() - started
        finally:
            await pool.close()
    finally:
        postgres.remove()
    batches = -(-members // jobs.BATCH)
    print(f"evaluated {members:,} members in {seconds:.1f}s: {members / seconds:,.0f} members/s")
    print(f"  {changed:,} changed tier; {batches} statements ({batches / members:.4f} per member)")
    print(f"reproduce: .venv/bin/python -m bench.tier_evaluation --members {members}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().members))
