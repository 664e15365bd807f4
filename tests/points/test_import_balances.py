"""`loyalty import balances FILE` (issue 20): a retailer's members bring their opening balances
over from the loyalty system this one replaces. Each row is an available lot and an `opening`
entry naming its source, once per row however often the file is imported, and the rows refused
are reported with the reason."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from loyalty_points.audit.service import audit
from loyalty_points.opening.service import import_balances
from loyalty_points.settings import PointsSettings
from tests.points.conftest import ClockedPoints

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
EXPIRY_DAYS = 365  # the default program's earning.expiry_days


def stamp(at: datetime) -> str:
    return at.isoformat()


async def run_import(
    points: ClockedPoints, settings: PointsSettings, path: Path
) -> tuple[int, int, list[tuple[int, str]]]:
    report = await import_balances(
        settings.database_url, path, now=points.clock(), expiry_days=EXPIRY_DAYS
    )
    return report.imported, report.already, [(r.line, r.reason) for r in report.refused]


async def test_a_csv_and_an_ndjson_file_become_available_points_once(
    clocked: ClockedPoints, points_settings: PointsSettings, tmp_path: Path
) -> None:
    soon = clocked.clock() + timedelta(days=30)
    later = clocked.clock() + timedelta(days=200)
    csv_file = tmp_path / "balances.csv"
    csv_file.write_text(
        "member_id,points,expires_at,source\n"
        f"m-i1,1200,{stamp(soon)},legacy-crm\n"
        f"m-i1,300,{stamp(later)},legacy-crm\n"
        "m-i2,80,,legacy-crm\n",
        encoding="utf-8",
    )
    ndjson_file = tmp_path / "balances.ndjson"
    ndjson_file.write_bytes(
        orjson.dumps({"member_id": "m-i3", "points": 450, "source": "old-app", "id": "x-1"})
        + b"\n"
        + orjson.dumps(
            {"member_id": "m-i1", "points": 5, "expires_at": stamp(later), "source": "old-app"}
        )
        + b"\n"
    )

    assert await run_import(clocked, points_settings, csv_file) == (3, 0, [])
    assert await run_import(clocked, points_settings, ndjson_file) == (2, 0, [])

    m1 = await clocked.balance("m-i1")
    assert (m1["available"], m1["pending"], m1["lifetime_earned"]) == (1505, 0, 1505)
    assert [e["points"] for e in m1["expiring"]] == [1200, 305]
    m2 = await clocked.balance("m-i2")
    assert m2["available"] == 80
    [expiring] = m2["expiring"]
    expected = clocked.clock() + timedelta(days=EXPIRY_DAYS)
    assert datetime.fromisoformat(expiring["expires_at"]) == expected
    entries = await clocked.ledger("m-i1")
    assert sorted((e["type"], e["points"], e["details"]["source"]) for e in entries) == [
        ("opening", 5, "old-app"),
        ("opening", 300, "legacy-crm"),
        ("opening", 1200, "legacy-crm"),
    ]
    [m3] = await clocked.ledger("m-i3")
    assert (m3["type"], m3["available_delta"], m3["details"]) == (
        "opening",
        450,
        {"source": "old-app", "row": "x-1"},
    )
    assert m3["cause"]["actor"] == "system:import"

    # a second run (or one after an interruption) changes nothing
    assert await run_import(clocked, points_settings, csv_file) == (0, 3, [])
    assert await run_import(clocked, points_settings, ndjson_file) == (0, 2, [])
    assert (await clocked.balance("m-i1"))["available"] == 1505
    assert len(await clocked.ledger("m-i1")) == 3

    report = await audit(points_settings.database_url)
    assert report.clean, report.lines()


async def test_bad_rows_are_refused_with_their_reason_and_the_good_ones_imported(
    clocked: ClockedPoints, points_settings: PointsSettings, tmp_path: Path
) -> None:
    future = stamp(clocked.clock() + timedelta(days=90))
    past = stamp(clocked.clock() - timedelta(days=1))
    path = tmp_path / "balances.csv"
    path.write_text(
        "member_id,points,expires_at,source\n"
        f"m-b1,100,{future},legacy-crm\n"
        f" m-b2,100,{future},legacy-crm\n"
        f"m-b3,0,{future},legacy-crm\n"
        f"m-b4,-5,{future},legacy-crm\n"
        f"m-b5,ten,{future},legacy-crm\n"
        f"m-b6,100,{past},legacy-crm\n"
        "m-b7,100,next tuesday,legacy-crm\n"
        "m-b8,100,2030-01-01T00:00:00,legacy-crm\n"
        f"m-b9,100,{future},{'x' * 65}\n"
        f"m-b10,70,{future},legacy-crm\n",
        encoding="utf-8",
    )
    imported, already, refused = await run_import(clocked, points_settings, path)
    assert (imported, already) == (2, 0)
    reasons = dict(refused)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert reasons[3].startswith("bad member_id")
    assert reasons[4] == "bad points: 0 is not positive"
    assert reasons[5] == "bad points: -5 is not positive"
    assert reasons[6] == "bad points: not an integer"
    assert "in the past" in reasons[7]
    assert reasons[8].startswith("bad expires_at")
    assert "offset" in reasons[9]
    assert reasons[10].startswith("bad source")
    assert (await clocked.balance("m-b1"))["available"] == 100
    assert (await clocked.balance("m-b10"))["available"] == 70
    assert (await clocked.balance("m-b3"))["available"] == 0
    assert (await audit(points_settings.database_url)).clean


async def test_an_opening_balance_repays_a_debt_first_like_any_grant(
    clocked: ClockedPoints, points_settings: PointsSettings, tmp_path: Path
) -> None:
    assert (await clocked.adjust("m-d1", -300)).status_code == 201
    before = await clocked.balance("m-d1")
    assert before["available"] == -300
    path = tmp_path / "balances.ndjson"
    path.write_bytes(orjson.dumps({"member_id": "m-d1", "points": 500, "source": "legacy"}))

    assert await run_import(clocked, points_settings, path) == (1, 0, [])

    balance = await clocked.balance("m-d1")
    assert (balance["available"], balance["lifetime_earned"]) == (
        200,
        before["lifetime_earned"] + 500,
    )
    assert [e["points"] for e in balance["expiring"]] == [200]
    assert (await audit(points_settings.database_url)).clean


async def test_the_cli_imports_reports_refusals_and_a_second_run_skips_every_row(
    clocked: ClockedPoints, points_settings: PointsSettings, tmp_path: Path
) -> None:
    path = tmp_path / "balances.csv"
    path.write_text(
        "member_id,points,source\nm-c1,250,legacy-crm\nm-c2,-1,legacy-crm\n", encoding="utf-8"
    )

    def cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                LOYALTY,
                "import",
                "balances",
                str(path),
                "--database-url",
                points_settings.database_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    first = await asyncio.to_thread(cli)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "refused line 3: bad points: -1 is not positive" in first.stdout
    assert "imported=1 already_imported=0 refused=1" in first.stdout
    second = await asyncio.to_thread(cli)
    assert "imported=0 already_imported=1 refused=1" in second.stdout
    assert (await clocked.balance("m-c1"))["available"] == 250
    audited = await asyncio.to_thread(
        subprocess.run,
        [LOYALTY, "audit", "--database-url", points_settings.database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout
    assert "differences=0" in audited.stdout
