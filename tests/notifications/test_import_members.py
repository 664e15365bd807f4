"""`loyalty import members FILE` (issue 20): a retailer's members come over from the loyalty
system this one replaces, each part into the service that owns it (contacts and consents to
notifications, tier, validity and qualifying spend to tiers), once per member however often the
file is imported, a bad row refused with its reason and written nowhere. An imported member is
then like any other: their tier reads and evaluates as an earned one, and they get messages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from loyalty_devkit.local_broker import LocalBroker
from loyalty_devkit.member_import import IMPORTER, MembersReport, import_members
from loyalty_notifications.app import MIGRATIONS as NOTIFICATIONS_MIGRATIONS
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.pool import connect
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from loyalty_shared.program.loader import load_program
from loyalty_tiers.app import MIGRATIONS as TIERS_MIGRATIONS
from loyalty_tiers.evaluation.jobs import evaluate
from loyalty_tiers.imported.repository import ImportedMember
from loyalty_tiers.imported.service import import_members as import_tiers
from loyalty_tiers.settings import TiersSettings
from tests.notifications.conftest import MailServer
from tests.notifications.helpers import body_of, mails, notifications_of
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
PROGRAM = load_program(None)
HEADER = (
    "member_id,source,name,email,phone,locale,consent_email,consent_sms,consent_push,"
    "tier,tier_valid_until,qualifying_spend\n"
)


@dataclass(frozen=True)
class Databases:
    tiers: str
    notifications: str

    async def fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(getattr(self, service))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def run(self, path: Path, **options: Any) -> MembersReport:
        return await import_members(
            self.tiers, self.notifications, path, program=PROGRAM, now=datetime.now(UTC), **options
        )


@pytest.fixture
async def databases(new_database: Callable[[str], str]) -> Databases:
    """The two services' databases, migrated, without the services running."""
    found = Databases(new_database("tiers"), new_database("notifications"))
    await migrate(found.tiers, TIERS_MIGRATIONS)
    await migrate(found.notifications, NOTIFICATIONS_MIGRATIONS)
    return found


def stamp(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def counts(report: MembersReport) -> tuple[int, int, list[tuple[int, str]]]:
    return report.imported, report.already, [(r.line, r.reason) for r in report.refused]


async def everything(databases: Databases) -> dict[str, list[tuple[Any, ...]]]:
    """Every row either service keeps of members (ids aside), to compare two moments."""
    tables = {
        "tiers": ("member_tier", "tier_history", "spend_day", "imported_member", "outbox"),
        "notifications": ("member_contact", "imported_contact", "notification"),
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    for service, names in tables.items():
        for name in (*names, "audit_log"):
            rows = await databases.fetch(service, f"SELECT * FROM {name} ORDER BY 1, 2")
            found[f"{service}.{name}"] = [tuple(r) for r in rows]
    return found


async def test_a_csv_and_an_ndjson_file_bring_tiers_and_contacts_once(
    databases: Databases, tmp_path: Path
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        HEADER
        + f"m-i1,old-crm,Li Na,li.na@example.com,,en,true,false,false,gold,{stamp(90)},21000.50\n"
        + "m-i2,old-crm,Wang Wei,,+86 138 0000 0001,zh-CN,false,true,false,,,\n"
        + f"m-i3,old-crm,,,,,,,,silver,{stamp(200)},\n",
        encoding="utf-8",
    )
    ndjson_file = tmp_path / "members.ndjson"
    ndjson_file.write_bytes(
        orjson.dumps(
            {
                "member_id": "m-i4",
                "source": "old-app",
                "name": "Zhang San",
                "email": "zhang@example.com",
                "consents": {"email": True, "sms": False, "push": True},
                "qualifying_spend": 6000,
            }
        )
        + b"\n"
    )

    assert counts(await databases.run(csv_file)) == (3, 0, [])
    assert counts(await databases.run(ndjson_file)) == (1, 0, [])

    tiers = {
        r["member_id"]: (r["tier"], r["qualifying_spend"])
        for r in await databases.fetch("tiers", "SELECT * FROM member_tier")
    }
    # m-i4 brought no tier: the spend supports silver, held as an upgrade by spend would be
    assert tiers == {
        "m-i1": ("gold", Decimal("21000.50")),
        "m-i3": ("silver", Decimal("0.00")),
        "m-i4": ("silver", Decimal("6000.00")),
    }
    history = await databases.fetch(
        "tiers", "SELECT member_id, to_tier, reason, cause FROM tier_history ORDER BY member_id"
    )
    assert [tuple(r) for r in history] == [
        ("m-i1", "gold", "import", "import:old-crm"),
        ("m-i3", "silver", "import", "import:old-crm"),
        ("m-i4", "silver", "import", "import:old-app"),
    ]
    events = [
        orjson.loads(r["payload"])["data"]
        for r in await databases.fetch("tiers", "SELECT payload FROM outbox ORDER BY id")
    ]
    assert [(e["member_id"], e["to_tier"], e["reason"]) for e in events] == [
        ("m-i1", "gold", "import"),
        ("m-i3", "silver", "import"),
        ("m-i4", "silver", "import"),
    ]
    contacts = await databases.fetch(
        "notifications",
        """
        SELECT member_id, name, email, phone, locale, consent_email, consent_sms, consent_push
        FROM member_contact ORDER BY member_id
        """,
    )
    assert [tuple(r) for r in contacts] == [
        ("m-i1", "Li Na", "li.na@example.com", None, "en", True, False, False),
        ("m-i2", "Wang Wei", None, "+86 138 0000 0001", "zh-CN", False, True, False),
        ("m-i4", "Zhang San", "zhang@example.com", None, "zh-CN", True, False, True),
    ]
    audited = await databases.fetch(
        "notifications", "SELECT actor, action, member_id, details FROM audit_log ORDER BY id"
    )
    assert [(r["actor"], r["action"], r["member_id"]) for r in audited] == [
        ("system:import", "member.import", "m-i1"),
        ("system:import", "member.import", "m-i2"),
        ("system:import", "member.import", "m-i4"),
    ]
    assert orjson.loads(audited[0]["details"]) == {"source": "old-crm"}

    # a second run (or one after an interruption) changes nothing
    before = await everything(databases)
    assert counts(await databases.run(csv_file)) == (0, 3, [])
    assert counts(await databases.run(ndjson_file)) == (0, 1, [])
    assert await everything(databases) == before


async def test_bad_rows_are_refused_with_their_reason_and_written_nowhere(
    databases: Databases, tmp_path: Path
) -> None:
    past = stamp(-1)
    path = tmp_path / "members.csv"
    path.write_text(
        HEADER
        + f"m-ok,old-crm,Li Na,li@example.com,,en,true,,,gold,{stamp(30)},20000\n"
        + f"m-b1,old-crm,Li Na,,,,,,,diamond,{stamp(30)},\n"
        + "m-b2,old-crm,Li Na,li.at.example.com,,,true,,,,,\n"
        + f"m-b3,old-crm,Li Na,,,,,,,gold,{past},\n"
        + "m-b4,old-crm,Li Na,,,,,,,,,-5\n"
        + f"m-b5,old-crm,Li Na,,,,,,,silver,{stamp(30)},\n"
        + f"m-b5,old-crm,Li Na,,,,,,,gold,{stamp(30)},\n"
        + "m-b6,old-crm,,,,,,,,gold,,\n"
        + "m-b7,old-crm,,,,,,,,,,\n"
        + "m-b8,old-crm,Li Na,,,fr,,,,,,\n"
        + "m-b9,old-crm,,li@example.com,,,,,,,,\n"
        + "m-ok2,old-crm,Wang Wei,,,,,,,,,10.5\n"
        + "m-ok2,old-crm,Wang Wei,,,,,,,,,10.5\n",
        encoding="utf-8",
    )

    report = await databases.run(path)

    imported, already, refused = counts(report)
    assert (imported, already) == (2, 1)  # the same line again is no refusal
    reasons = dict(refused)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert reasons[3].startswith("unknown tier 'diamond'")
    assert reasons[4].startswith("bad email")
    assert reasons[5] == f"tier_valid_until {past} is in the past"
    assert reasons[6] == "bad qualifying_spend: -5 is negative"
    assert reasons[7] == "member m-b5 is also on other lines with different data"
    assert reasons[8] == "member m-b5 is also on line 7 with different data"
    assert reasons[9] == "bad tier_valid_until: needed with tier gold"
    assert reasons[10].startswith("nothing to import")
    assert reasons[11].startswith("bad locale")
    assert reasons[12] == "bad name: needed with the member's contacts"
    for service, table in (("tiers", "imported_member"), ("notifications", "imported_contact")):
        members = await databases.fetch(service, f"SELECT member_id FROM {table} ORDER BY 1")
        assert [r["member_id"] for r in members] == ["m-ok", "m-ok2"]
    spend = await databases.fetch("tiers", "SELECT member_id, amount FROM spend_day ORDER BY 1")
    assert [tuple(r) for r in spend] == [("m-ok", Decimal("20000.00")), ("m-ok2", Decimal("10.50"))]


async def test_an_interrupted_import_is_finished_by_running_it_again(
    databases: Databases, tmp_path: Path
) -> None:
    path = tmp_path / "members.ndjson"
    path.write_bytes(
        b"\n".join(
            orjson.dumps(
                {
                    "member_id": f"m-r{n}",
                    "source": "old-crm",
                    "name": f"Member {n}",
                    "email": f"m{n}@example.com",
                    "consent_email": True,
                    "tier": "silver",
                    "tier_valid_until": stamp(100),
                }
            )
            for n in range(7)
        )
    )
    # one member's row got as far as the tiers service when the first run stopped
    until = datetime.now(UTC) + timedelta(days=100)
    conn = await connect(databases.tiers)
    try:
        async with conn.transaction():
            row = ImportedMember("old-crm", "m-r5", "silver", until, Decimal(0))
            await import_tiers(conn, PROGRAM, [row], principal=IMPORTER, now=datetime.now(UTC))
    finally:
        await conn.close()

    def stop_after_two_batches(report: MembersReport) -> None:
        if report.rows >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await databases.run(path, batch=2, on_progress=stop_after_two_batches)
    done = await databases.fetch("notifications", "SELECT member_id FROM imported_contact")
    assert sorted(r["member_id"] for r in done) == ["m-r0", "m-r1", "m-r2", "m-r3"]

    assert counts(await databases.run(path, batch=2)) == (3, 4, [])

    contacts = await databases.fetch("notifications", "SELECT member_id FROM member_contact")
    assert len(contacts) == 7
    history = await databases.fetch("tiers", "SELECT member_id FROM tier_history")
    assert sorted(r["member_id"] for r in history) == [f"m-r{n}" for n in range(7)]
    assert counts(await databases.run(path)) == (0, 7, [])


async def test_the_cli_reports_refused_rows_exits_1_and_a_second_run_skips_every_row(
    databases: Databases, tmp_path: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        HEADER
        + f"m-c1,old-crm,Li Na,li@example.com,,en,true,,,silver,{stamp(60)},5000\n"
        + "m-c2,old-crm,Li Na,,,,,,,,,-1\n",
        encoding="utf-8",
    )
    refused_csv = tmp_path / "refused.csv"

    def cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                LOYALTY,
                "import",
                "members",
                str(path),
                "--tiers-database-url",
                databases.tiers,
                "--notifications-database-url",
                databases.notifications,
                "--refused-csv",
                str(refused_csv),
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    first = await asyncio.to_thread(cli)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "refused line 3: bad qualifying_spend: -1 is negative" in first.stdout
    assert "imported=1 already_imported=0 refused=1" in first.stdout
    assert refused_csv.read_text().splitlines() == [
        "line,reason",
        "3,bad qualifying_spend: -1 is negative",
    ]
    second = await asyncio.to_thread(cli)
    assert "imported=0 already_imported=1 refused=1" in second.stdout


async def test_an_imported_member_reads_their_tier_is_evaluated_like_an_earned_one_and_gets_mail(
    tiers_settings: TiersSettings,
    tiers_api: httpx.AsyncClient,
    notifications_settings: NotificationsSettings,
    notifications_api: httpx.AsyncClient,
    mail_server: MailServer,
    broker: LocalBroker,
    tmp_path: Path,
) -> None:
    valid_until = datetime.now(UTC) + timedelta(days=40)
    path = tmp_path / "members.csv"
    path.write_text(
        HEADER
        + f"m-e1,old-crm,Li Na,li.na@example.com,,en,true,,,silver,{valid_until.isoformat()},"
        "19000\n" + f"m-e2,old-crm,Wang Wei,wang@example.com,,en,true,,,platinum,"
        f"{valid_until.isoformat()},100\n",
        encoding="utf-8",
    )
    databases = Databases(tiers_settings.database_url, notifications_settings.database_url)
    assert counts(await databases.run(path)) == (2, 0, [])

    read = await tiers_api.get("/v1/members/m-e1/tier", headers=bearer("m-e1"))
    assert read.status_code == 200, read.text
    status = read.json()
    assert (status["tier"], status["qualifying_spend"], status["next_tier"]) == (
        "silver",
        "19000.00",
        "gold",
    )
    assert datetime.fromisoformat(status["tier_valid_until"]) == valid_until
    assert [b["id"] for b in status["benefits"]]  # the tier's benefits, as an earned silver's
    history = await tiers_api.get("/v1/members/m-e1/tier/history", headers=bearer("m-e1"))
    assert [(c["to_tier"], c["reason"]) for c in history.json()["items"]] == [("silver", "import")]

    # a purchase takes the imported spend over gold: the upgrade is congratulated by email
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [purchase("m-e1", "1500.00")])
    await eventually(lambda: mails(mail_server, "li.na@example.com"), lambda n: n >= 1)
    [mail] = mail_server.to("li.na@example.com")
    assert "gold" in (mail["Subject"] + body_of(mail)).lower()
    # the import's tier.changed came first on the member's partition: it planned no message
    [message] = await notifications_of(notifications_api, "m-e1")
    assert message["type"] == "tier_upgraded"

    # the evaluation once valid_until has passed drops an imported platinum one step at most
    pool = await asyncpg.create_pool(tiers_settings.database_url, min_size=1, max_size=2)
    try:
        await evaluate(pool, PROGRAM, valid_until + timedelta(days=1))
    finally:
        await pool.close()
    dropped = await databases.fetch(
        "tiers", "SELECT tier FROM member_tier WHERE member_id = 'm-e2'"
    )
    assert dropped[0]["tier"] == "gold"
