"""`loyalty audit` recomputes every balance from the ledger and finds any difference."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx

from loyalty_devkit.local_broker import LocalBroker
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES
from tests.points.test_crediting_purchases import balance_of
from tests.points.test_redemptions import ADMIN
from tests.points.test_refunds import refund
from tests.support.events import purchase
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

LOYALTY = str(Path(sys.executable).with_name("loyalty"))


def run_audit(dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, "audit", "--database-url", dsn], capture_output=True, text=True, check=False
    )


async def test_the_audit_finds_every_balance_equal_to_its_ledger_and_a_tampered_one_not(
    points_api: httpx.AsyncClient,
    broker: LocalBroker,
    points_settings: PointsSettings,
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [
            purchase("m-9101", "500.00", days_ago=30, order_id="o-9101"),
            purchase("m-9101", "80.00", order_id="o-9102"),
            refund("m-9101", "o-9101", "120.00", "r-9101"),
            refund("m-9101", "o-9102", "80.00", "r-9102"),
            purchase("m-9102", "42.00", days_ago=30),
        ],
    )
    await eventually(lambda: balance_of(points_api, "m-9101"), lambda b: b["available"] == 380)
    headers = {**bearer("m-9101"), "Idempotency-Key": str(uuid.uuid4())}
    assert (
        await points_api.post(
            "/v1/members/m-9101/redemptions", json={"points": 100}, headers=headers
        )
    ).status_code == 201
    assert (
        await points_api.post(
            "/v1/members/m-9102/adjustments", json={"points": -50, "reason": "fraud"}, headers=ADMIN
        )
    ).status_code == 201

    clean = await asyncio.to_thread(run_audit, points_settings.database_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "differences=0" in clean.stdout

    conn = await asyncpg.connect(points_settings.database_url)
    try:
        await conn.execute(
            "UPDATE points_account SET available = available + 1 WHERE member_id = 'm-9102'"
        )
    finally:
        await conn.close()
    tampered = await asyncio.to_thread(run_audit, points_settings.database_url)
    assert tampered.returncode == 1
    assert "member m-9102" in tampered.stdout

    conn = await asyncpg.connect(points_settings.database_url)
    try:
        await conn.execute("DELETE FROM purchase WHERE member_id = 'm-9102'")
    finally:
        await conn.close()
    orphaned = await asyncio.to_thread(run_audit, points_settings.database_url)
    assert orphaned.returncode == 1
    assert "lot without its purchase" in orphaned.stdout


def run_points_command(command: str, dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("loyalty-points")), command],
        env={**os.environ, "LOYALTY_POINTS_DATABASE_URL": dsn, "LOYALTY_JWT_SECRET": "x" * 32},
        capture_output=True,
        text=True,
        check=False,
    )


async def test_ops_rebuild_a_damaged_balance_from_the_ledger(
    points_api: httpx.AsyncClient, points_settings: PointsSettings
) -> None:
    for member in ("m-9201", "m-9202"):
        response = await points_api.post(
            f"/v1/members/{member}/adjustments",
            json={"points": 70, "reason": "welcome"},
            headers=ADMIN,
        )
        assert response.status_code == 201
    conn = await asyncpg.connect(points_settings.database_url)
    try:
        await conn.execute("UPDATE points_account SET available = 0 WHERE member_id = 'm-9201'")
    finally:
        await conn.close()

    rebuilt = await asyncio.to_thread(
        run_points_command, "rebuild-balances", points_settings.database_url
    )

    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "rebuilt=1 m-9201" in rebuilt.stdout
    assert "differences=0" in rebuilt.stdout
    assert (await balance_of(points_api, "m-9201"))["available"] == 70
