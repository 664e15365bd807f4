"""The console's pages with 100,000 members in the databases: server-side time per page (the
console's `Server-Timing`, which includes its calls to the services), p50 and p95.

    .venv/bin/python -m bench.console_pages [--members 100000] [--requests 60] [--clients 1]

Seeds the four services' databases directly with SQL (a year of purchases, lots, ledger entries,
tiers, answers, segments, messages and dead letters for every member: what running the program
for a year leaves), starts the four services and the console as their own processes, as
`make run` does, and asks each page `--requests` times from `--clients` operators at once. The
target (issue 23): every page under 300 ms at p95.
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

from loyalty_devkit.dev_tokens import LOCAL_JWT_SECRET
from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_feedback.app import MIGRATIONS as FEEDBACK
from loyalty_notifications.app import MIGRATIONS as NOTIFICATIONS
from loyalty_points.app import MIGRATIONS as POINTS
from loyalty_shared.db.migrations import migrate
from loyalty_tiers.app import MIGRATIONS as TIERS

SERVICES = {"points": POINTS, "tiers": TIERS, "notifications": NOTIFICATIONS, "feedback": FEEDBACK}
VENV_BIN = Path(sys.executable).parent
DAY = "interval '1 day'"

# Every member buys 1-5 times over the last 400 days; tiers by how much.
SEED: dict[str, list[str]] = {
    "points": [
        """
        INSERT INTO points_account (member_id, available, pending, lifetime_earned)
        SELECT 'm-' || lpad(i::text, 6, '0'), 800 + i % 5000, i % 300, 1500 + i % 9000
        FROM generate_series(1, $1) AS i
        """,
        f"""
        INSERT INTO points_lot (member_id, order_id, points, remaining, status, available_at,
                                expires_at, earned_at)
        SELECT 'm-' || lpad(i::text, 6, '0'), 'o-' || i || '-' || k, 100 + (i * k) % 900,
               (100 + (i * k) % 900) / (1 + k % 2),
               CASE WHEN k = 1 THEN 'pending' ELSE 'available' END,
               now() - (age - 14) * {DAY}, now() + (365 - age) * {DAY}, now() - age * {DAY}
        FROM generate_series(1, $1) AS i, generate_series(1, 1 + i % 4) AS k,
             LATERAL (SELECT CASE WHEN k = 1 THEN 5 ELSE k * 90 END AS age) a
        """,
        f"""
        INSERT INTO ledger_entry (member_id, kind, available_delta, pending_delta,
                                  lifetime_delta, order_id, actor, occurred_at, details)
        SELECT l.member_id, e.kind, e.available, e.pending, e.lifetime, l.order_id, e.actor,
               l.earned_at + e.after * {DAY}, '{{}}'::jsonb
        FROM points_lot l,
             LATERAL (VALUES ('earn', 0, l.points, l.points, 'system:purchase', 0),
                             ('mature', l.points, -l.points, 0, 'system:maturation', 14),
                             ('redeem', l.remaining - l.points, 0, 0, 'member', 30))
                 AS e (kind, available, pending, lifetime, actor, after)
        WHERE e.kind = 'earn' OR l.status = 'available'
        """,
    ],
    "tiers": [
        f"""
        INSERT INTO order_day (order_id, member_id, day, currency, total)
        SELECT 'o-' || i || '-' || k, 'm-' || lpad(i::text, 6, '0'),
               (now() - ((i * 7 + k * 83) % 400) * {DAY})::date, 'CNY', 100 + (i * k) % 3000
        FROM generate_series(1, $1) AS i, generate_series(1, 1 + i % 5) AS k
        """,
        """
        INSERT INTO spend_day (member_id, day, amount)
        SELECT member_id, day, sum(total) FROM order_day GROUP BY member_id, day
        """,
        f"""
        INSERT INTO member_tier (member_id, tier, reached_at, valid_until, qualifying_spend)
        SELECT 'm-' || lpad(i::text, 6, '0'),
               (ARRAY['silver', 'gold', 'platinum'])[1 + i % 3], now() - (i % 300) * {DAY},
               now() + (365 - i % 300) * {DAY}, 5000 + i % 50000
        FROM generate_series(1, $1) AS i WHERE i % 4 = 0
        """,
        """
        INSERT INTO tier_history (member_id, from_tier, to_tier, direction, reason,
                                  qualifying_spend, valid_until, changed_at)
        SELECT member_id, 'bronze', tier, 'up', 'spend', qualifying_spend, valid_until, reached_at
        FROM member_tier
        """,
    ],
    "notifications": [
        """
        INSERT INTO member_contact (member_id, name, email, locale, consent_email, consent_sms,
                                    consent_push)
        SELECT 'm-' || lpad(i::text, 6, '0'), 'Member ' || i, 'm' || i || '@example.com',
               'zh-CN', true, false, true
        FROM generate_series(1, $1) AS i
        """,
        f"""
        INSERT INTO notification (id, member_id, trigger, cause, channel, status, payload,
                                  due_at, created_at, updated_at, sent_at)
        SELECT gen_random_uuid(), 'm-' || lpad(i::text, 6, '0'), t, 'seed:' || i || ':' || t,
               'email', 'sent', '{{}}'::jsonb, now() - (i % 200) * {DAY},
               now() - (i % 200) * {DAY}, now() - (i % 200) * {DAY}, now() - (i % 200) * {DAY}
        FROM generate_series(1, $1) AS i, unnest(ARRAY['points_digest', 'tier_upgraded']) AS t
        """,
    ],
    "feedback": [
        f"""
        INSERT INTO purchase (order_id, member_id, channel, currency, total, purchased_at)
        SELECT 'o-' || i || '-' || k, 'm-' || lpad(i::text, 6, '0'),
               (ARRAY['online', 'store', 'app'])[1 + (i + k) % 3], 'CNY', 100 + (i * k) % 3000,
               now() - ((i * 7 + k * 83) % 400) * {DAY}
        FROM generate_series(1, $1) AS i, generate_series(1, 1 + i % 5) AS k
        """,
        """
        INSERT INTO member_tier (member_id, tier)
        SELECT 'm-' || lpad(i::text, 6, '0'), (ARRAY['silver', 'gold', 'platinum'])[1 + i % 3]
        FROM generate_series(1, $1) AS i WHERE i % 4 = 0
        """,
        f"""
        INSERT INTO feedback (feedback_id, member_id, order_id, channel, tier, score, comment,
                              source, answered_at)
        SELECT gen_random_uuid(), p.member_id, p.order_id, p.channel,
               coalesce(t.tier, 'bronze'), (hashtext(p.order_id) & 1023) % 11,
               CASE WHEN (hashtext(p.order_id) & 1023) % 11 <= 6 THEN '送货太慢 ' || p.order_id END,
               'app', p.purchased_at + 2 * {DAY}
        FROM purchase p LEFT JOIN member_tier t USING (member_id)
        WHERE hashtext(p.order_id) % 5 = 0
        """,
        """
        INSERT INTO member_insight (member_id, recency_days, frequency, monetary, r_score,
                                    f_score, m_score, segment, orders, clv, loyalty_index,
                                    computed_at)
        SELECT member_id, 1 + min(extract(day FROM now() - purchased_at))::int, count(*),
               sum(total), 1 + count(*) % 5, 1 + count(*) % 5, 1 + (sum(total)::int % 5),
               (ARRAY['champions', 'loyal', 'new', 'potential', 'at_risk', 'hibernating',
                      'needs_attention'])[1 + (hashtext(member_id) & 1023) % 7],
               count(*), sum(total), (hashtext(member_id) & 127) % 101, now()
        FROM purchase GROUP BY member_id
        """,
        f"""
        INSERT INTO loyalty_index_day (day, tier, members, average)
        SELECT (now() - d * {DAY})::date, t, 25000, 40 + (d % 7) + length(t)
        FROM generate_series(0, 89) AS d,
             unnest(ARRAY['bronze', 'silver', 'gold', 'platinum']) AS t
        """,
    ],
}
#: Every service has dead letters and an audit log.
COMMON = [
    """
    INSERT INTO dead_letter (position, topic, code, detail, event_type, message_key, payload)
    SELECT 'commerce.purchases:0:' || i, 'commerce.purchases',
           (ARRAY['invalid-data', 'unknown-order', 'duplicate-order'])[1 + i % 3],
           'seeded', 'purchase.completed', convert_to('m-' || lpad(i::text, 6, '0'), 'UTF8'),
           convert_to('{"id": "seed-' || i || '"}', 'UTF8')
    FROM generate_series(1, 300) AS i
    """,
    """
    INSERT INTO audit_log (recorded_at, actor, scope, action, member_id, details)
    SELECT now() - i * interval '1 minute', 'agent-' || i % 20, 'loyalty:support',
           'member.read', 'm-' || lpad((i % $1 + 1)::text, 6, '0'), '{}'
    FROM generate_series(1, 50000) AS i
    """,
]


async def seed(server: LocalPostgres, members: int) -> dict[str, str]:
    urls = {}
    for service, migrations in SERVICES.items():
        url = server.dsn(f"loyalty_{service}")
        await migrate(url, migrations)
        conn = await asyncpg.connect(url)
        try:
            started = time.monotonic()
            for statement in SEED[service] + COMMON:
                args = (members,) if "$1" in statement else ()
                await conn.execute(statement, *args)
            await conn.execute("ANALYZE")
            print(f"seeded {service} in {time.monotonic() - started:.0f}s", flush=True)
        finally:
            await conn.close()
        urls[service] = url
    return urls


def start(command: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / command)], env={**os.environ, **env}, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{command} did not start: {log.read_text()[-2000:]}")


def timings(header: str) -> tuple[float, dict[str, float]]:
    """`Server-Timing`: the page's milliseconds, and the slowest call to each service."""
    page, calls = 0.0, dict[str, float]()
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name == "app":
            page = float(duration)
        else:
            calls[name] = max(calls.get(name, 0.0), float(duration))
    return page, calls


async def measure(
    console: str, role: str, path: str, requests: int, clients: int, members: int
) -> tuple[float, list[float], dict[str, list[float]]]:
    """Server-side milliseconds of the first ask for `path` (`{member}`: a random member), of
    `requests` more, and of the slowest call to each service in each."""
    async with httpx.AsyncClient(base_url=console, timeout=30) as client:
        page = await client.get("/sign-in")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        await client.post("/sign-in/dev", data={"csrf_token": token, "role": role})
        durations: list[float] = []
        services: dict[str, list[float]] = {}
        rng = random.Random(7)

        async def one() -> None:
            wanted = path.format(member=f"m-{rng.randint(1, members):06d}")
            answer = await client.get(wanted)
            assert answer.status_code == 200, (wanted, answer.status_code)
            page, calls = timings(answer.headers["server-timing"])
            durations.append(page)
            for service, took in calls.items():
                services.setdefault(service, []).append(took)

        await one()  # the first: caches empty
        first = durations.pop()
        services.clear()
        for _ in range(requests // clients):
            await asyncio.gather(*(one() for _ in range(clients)))
    return first, durations, services


#: (page, role, path): as an admin, who sees the most of each page (the overview's every panel,
#: a member's audit log), and a member as support, who opens members most.
PAGES = [
    ("overview", "admin", "/"),
    ("member 360", "admin", "/members/{member}"),
    ("member 360", "support", "/members/{member}"),
    ("member audit", "admin", "/members/{member}/audit"),
    ("ledger page", "support", "/members/{member}/ledger"),
    ("program", "marketing", "/program"),
    ("rewards", "marketing", "/rewards"),
    ("feedback", "admin", "/feedback"),
    ("loyalty", "marketing", "/loyalty"),
    ("dead letters", "admin", "/dead-letters"),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    server = LocalPostgres(work / "pgdata")
    server.start()
    broker = LocalBroker(free_port())
    broker.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await create_topics(broker.bootstrap)
        urls = await seed(server, args.members)
        common = {
            "LOYALTY_KAFKA_BOOTSTRAP": broker.bootstrap,
            "LOYALTY_JWT_SECRET": LOCAL_JWT_SECRET,
            "LOYALTY_ENVIRONMENT": "development",  # the development secret is accepted only there
            "LOYALTY_LOG_LEVEL": "WARNING",
            # no scheduled job during the measurement
            "LOYALTY_POINTS_JOBS_INTERVAL_S": "3600",
            "LOYALTY_TIERS_EVALUATION_INTERVAL_S": "86400",
            "LOYALTY_FEEDBACK_JOBS_INTERVAL_S": "86400",
            "LOYALTY_FEEDBACK_INSIGHT_INTERVAL_S": "604800",
        }
        ports = {name: free_port() for name in (*SERVICES, "console")}
        for name in SERVICES:
            env = {
                **common,
                f"LOYALTY_{name.upper()}_DATABASE_URL": urls[name],
                f"LOYALTY_{name.upper()}_PORT": str(ports[name]),
            }
            processes.append(start(f"loyalty-{name}", env, ports[name], work / f"{name}.log"))
        console_env = {
            **common,
            "LOYALTY_CONSOLE_PORT": str(ports["console"]),
            "LOYALTY_CONSOLE_DEV_SIGN_IN": "true",
            "LOYALTY_CONSOLE_SECURE_COOKIE": "false",
            **{
                f"LOYALTY_CONSOLE_{n.upper()}_URL": f"http://127.0.0.1:{ports[n]}" for n in SERVICES
            },
        }
        processes.append(
            start("loyalty-console", console_env, ports["console"], work / "console.log")
        )
        console = f"http://127.0.0.1:{ports['console']}"
        print(
            f"{args.members:,} members; {args.requests} requests per page, "
            f"{args.clients} at a time; server-side ms (Server-Timing)"
        )
        print(
            f"{'page':<14} {'role':<10} {'first':>7} {'p50':>7} {'p95':>7} {'max':>7}"
            "  slowest call to each service, p50"
        )
        for name, role, path in PAGES:
            first, took, services = await measure(
                console, role, path, args.requests, args.clients, args.members
            )
            took.sort()
            p95 = took[min(len(took) - 1, int(0.95 * len(took)))]
            calls = "  ".join(
                f"{s} {statistics.median(ms):.0f}" for s, ms in sorted(services.items())
            )
            print(
                f"{name:<14} {role:<10} {first:>7.1f} {statistics.median(took):>7.1f} {p95:>7.1f} "
                f"{took[-1]:>7.1f}  {calls}"
            )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        broker.stop()
        server.remove()


if __name__ == "__main__":
    asyncio.run(main())
