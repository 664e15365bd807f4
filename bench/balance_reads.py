"""Balance reads: `GET /v1/members/{id}/points` of the points service against a bare FastAPI +
asyncpg endpoint reading one row (bench/bare_balance_app.py), side by side on the same database,
each one uvicorn worker (uvloop) in its own process, under the same load: 64 keep-alive
connections from a raw asyncio HTTP/1.1 client in this process.

    .venv/bin/python -m bench.balance_reads [--seconds 10] [--connections 64] [--rounds 3]

The service does what the product needs on every read: verify the member's JWT, check the
member may read it, read balances and expiring points, answer the contract's document.
Prints the median requests/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import MIGRATIONS
from loyalty_shared.db.migrations import migrate
from tests.support.tokens import SECRET, token

MEMBERS = 2_000
VENV_BIN = Path(sys.executable).parent


async def seed(dsn: str) -> None:
    await migrate(dsn, MIGRATIONS)
    conn = await asyncpg.connect(dsn)
    try:
        members = [f"m-{n:05d}" for n in range(MEMBERS)]
        await conn.execute(
            """
            INSERT INTO points_account (member_id, available, pending, lifetime_earned)
            SELECT m, 1500, 200, 1700 FROM unnest($1::text[]) AS m
            """,
            members,
        )
        await conn.execute(
            """
            INSERT INTO points_lot (member_id, points, remaining, status, available_at, expires_at,
                                    earned_at)
            SELECT m, 500, 500, 'available', now(), now() + make_interval(days => d), now()
            FROM unnest($1::text[]) AS m, generate_series(100, 300, 100) AS d
            """,
            members,
        )
    finally:
        await conn.close()


def start_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command[0]} did not start on port {port}")


async def load(port: int, seconds: float, connections: int) -> float:
    """Requests/s answered 200 by the server on `port`."""
    tokens = {f"m-{n:05d}": token(f"m-{n:05d}", expires_in=3600) for n in range(MEMBERS)}
    done = 0
    stop_at = time.perf_counter() + seconds

    async def client(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                member = f"m-{rng.randrange(MEMBERS):05d}"
                writer.write(
                    f"GET /v1/members/{member}/points HTTP/1.1\r\nHost: bench\r\n"
                    f"Authorization: Bearer {tokens[member]}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(connections)))
    return done / (time.perf_counter() - started)


async def main(seconds: float, connections: int, rounds: int) -> None:
    postgres = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-bench-")) / "data")
    postgres.start()
    broker = LocalBroker(free_port())
    broker.start()
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        await create_topics(broker.bootstrap, partitions=4)
        admin = await asyncpg.connect(postgres.dsn())
        await admin.execute('CREATE DATABASE "bench_reads"')
        await admin.close()
        dsn = postgres.dsn("bench_reads")
        await seed(dsn)
        ports = {"bare endpoint": free_port(), "points service": free_port()}
        servers["bare endpoint"] = start_server(
            [
                str(VENV_BIN / "uvicorn"),
                "bench.bare_balance_app:app",
                "--loop",
                "uvloop",
                "--port",
                str(ports["bare endpoint"]),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"BARE_DATABASE_URL": dsn},
            ports["bare endpoint"],
        )
        servers["points service"] = start_server(
            [str(VENV_BIN / "loyalty-points")],
            {
                "LOYALTY_POINTS_DATABASE_URL": dsn,
                "LOYALTY_POINTS_PORT": str(ports["points service"]),
                "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
                "LOYALTY_JWT_SECRET": SECRET,
                "LOYALTY_LOG_LEVEL": "WARNING",
            },
            ports["points service"],
        )
        results: dict[str, list[float]] = {name: [] for name in ports}
        for n in range(rounds):
            order = list(ports) if n % 2 == 0 else list(ports)[::-1]
            for name in order:
                rate = await load(ports[name], seconds, connections)
                results[name].append(rate)
                print(f"round {n + 1}: {name:<15} {rate:>8,.0f} requests/s")
    finally:
        for process in servers.values():
            process.terminate()
            process.wait(timeout=30)
        broker.stop()
        postgres.remove()
    bare = statistics.median(results["bare endpoint"])
    service = statistics.median(results["points service"])
    print()
    print(f"median over {rounds} rounds of {seconds:g} s, {connections} connections:")
    print(f"  bare endpoint   {bare:>8,.0f} requests/s")
    print(f"  points service  {service:>8,.0f} requests/s   ({service / bare:.2f} of bare)")
    print(
        "reproduce: .venv/bin/python -m bench.balance_reads "
        f"--seconds {seconds:g} --connections {connections} --rounds {rounds}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections, args.rounds))
