"""`loyalty import members` over a generated file (issue 20), beside a reference: a bare COPY of
the same rows into a scratch table, in the same database.

    .venv/bin/python -m bench.import_members [--rows 100000]      # 1,000,000: --rows 1000000

A fresh PostgreSQL with the tiers and notifications schemas; a CSV of `--rows` members (each
with a name, an email or a phone, consents and locale; a qualifying spend; a fifth of them a
tier above the base with its valid-until), imported through the same code path the CLI runs,
then imported again (every row skipped). Prints rows/s of each and the reference's, the CPU
time each took (the importer; PostgreSQL), the machine's load average,
and the command that reproduces them. The CPU figures hardly depend on what else the machine
runs; the seconds do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.cpu import tree_seconds
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_devkit.member_import import import_members
from loyalty_notifications.app import MIGRATIONS as NOTIFICATIONS_MIGRATIONS
from loyalty_shared.db.migrations import migrate
from loyalty_shared.program.loader import load_program
from loyalty_tiers.app import MIGRATIONS as TIERS_MIGRATIONS

HEADER = (
    "member_id,source,name,email,phone,locale,consent_email,consent_sms,consent_push,"
    "tier,tier_valid_until,qualifying_spend\n"
)
TIERS = ("silver", "gold", "platinum")


def write_file(path: Path, rows: int, now: datetime) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for n in range(rows):
            email = f"member{n}@example.com" if n % 4 else ""
            phone = "" if n % 4 else f"+86 138 {n:08d}"
            tier, until = "", ""
            if n % 5 == 0:
                tier = TIERS[n % 3]
                until = (now + timedelta(days=30 + n % 300)).isoformat()
            spend = f"{n * 7919 % 4000}.{n % 100:02d}"
            f.write(
                f"m-{n:07d},legacy-crm,Member {n},{email},{phone},{'en' if n % 3 else 'zh-CN'},"
                f"{'true' if n % 2 else 'false'},false,true,{tier},{until},{spend}\n"
            )


async def reference(dsn: str, path: Path) -> float:
    """A bare COPY of the file into a scratch table: the floor of what writing the rows costs."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMP TABLE scratch (member_id text, source text, name text, email text, "
            "phone text, locale text, consent_email boolean, consent_sms boolean, "
            "consent_push boolean, tier text, tier_valid_until timestamptz, "
            "qualifying_spend numeric)"
        )
        started = time.perf_counter()
        await conn.copy_to_table("scratch", source=path, format="csv", header=True, null="")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main(rows: int) -> None:
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="loyalty-bench-import-members-"))
    postgres = LocalPostgres(folder / "data")
    postgres.start()
    try:
        admin = await asyncpg.connect(postgres.dsn())
        for name in ("bench_tiers", "bench_notifications"):
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        tiers, notifications = postgres.dsn("bench_tiers"), postgres.dsn("bench_notifications")
        await migrate(tiers, TIERS_MIGRATIONS)
        await migrate(notifications, NOTIFICATIONS_MIGRATIONS)
        now = datetime.now(UTC)
        path = folder / "members.csv"
        write_file(path, rows, now)
        copy_s = await reference(tiers, path)
        print(f"reference: COPY of {rows:,} rows {copy_s:.1f} s ({rows / copy_s:,.0f} rows/s)")
        program = load_program(None)
        postmaster = postgres.postmaster_pid()
        for name in ("import", "import again (all skipped)"):
            started = time.perf_counter()
            server_before = tree_seconds(postmaster)
            importer_before = tree_seconds(os.getpid()) - server_before
            report = await import_members(tiers, notifications, path, program=program, now=now)
            seconds = time.perf_counter() - started
            await asyncio.sleep(0.05)  # for the postmaster to reap the backends just closed
            server_after = tree_seconds(postmaster)
            server_cpu = server_after - server_before
            importer_cpu = tree_seconds(os.getpid()) - server_after - importer_before
            print(
                f"{name}: {report.line()} {seconds:.1f} s ({rows / seconds:,.0f} rows/s); "
                f"CPU: importer {importer_cpu:.1f} s, PostgreSQL {server_cpu:.1f} s"
            )
            assert not report.refused, report.refused[:5]
    finally:
        postgres.remove()
        shutil.rmtree(folder, ignore_errors=True)  # the generated file (130 MB a million rows)
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"reproduce: .venv/bin/python -m bench.import_members --rows {rows}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="1000000 for the issue's run")
    args = parser.parse_args()
    asyncio.run(main(args.rows))
