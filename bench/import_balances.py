"""`loyalty import balances` over a generated file (issue 20: 1,000,000 rows in under 2 minutes),
beside a reference: a bare COPY of the same rows into a scratch table, in the same database.

    .venv/bin/python -m bench.import_balances [--rows 1000000] [--members 200000]

A fresh PostgreSQL with the points schema; a CSV of `--rows` rows over `--members` members (a
third without expires_at), imported through the same code path the CLI runs, then imported again
(every row skipped). Prints rows/s of each and the reference's, the machine's load average, and
the command that reproduces them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import MIGRATIONS
from loyalty_points.audit.service import audit
from loyalty_points.opening.service import import_balances
from loyalty_shared.db.migrations import migrate


def write_file(path: Path, rows: int, members: int, now: datetime) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("member_id,points,expires_at,source\n")
        for n in range(rows):
            expires = "" if n % 3 == 0 else (now + timedelta(days=30 + n % 700)).isoformat()
            f.write(f"m-{n % members:07d},{1 + n * 7919 % 5000},{expires},legacy-crm\n")


async def reference(dsn: str, path: Path) -> float:
    """A bare COPY of the file into a scratch table: the floor of what writing the rows costs."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMP TABLE scratch (member_id text, points bigint, expires_at timestamptz, "
            "source text)"
        )
        started = time.perf_counter()
        await conn.copy_to_table("scratch", source=path, format="csv", header=True, null="")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main(rows: int, members: int) -> None:
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="loyalty-bench-import-"))
    postgres = LocalPostgres(folder / "data")
    postgres.start()
    try:
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute('CREATE DATABASE "bench_import"')
        await admin.close()
        dsn = postgres.dsn("bench_import")
        await migrate(dsn, MIGRATIONS)
        now = datetime.now(UTC)
        path = folder / "balances.csv"
        write_file(path, rows, members, now)
        copy_s = await reference(dsn, path)
        print(f"reference: COPY of {rows:,} rows {copy_s:.1f} s ({rows / copy_s:,.0f} rows/s)")
        for name in ("import", "import again (all skipped)"):
            started = time.perf_counter()
            report = await import_balances(dsn, path, now=now, expiry_days=365)
            seconds = time.perf_counter() - started
            print(f"{name}: {report.line()} {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
            assert not report.refused, report.refused[:5]
        found = await audit(dsn)
        print(found.lines()[0])
        assert found.clean
    finally:
        postgres.remove()
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"reproduce: .venv/bin/python -m bench.import_balances --rows {rows} --members {members}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.members))
