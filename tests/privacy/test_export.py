"""`GET /v1/members/{member_id}/export` on every service (contract 5.4): the member, support or an
admin get one JSON document of every row the service holds about the member; anyone else is
refused; a member id that breaks the id rules is a problem document; every export is recorded in
the service's audit log, the member's own included (contract 5.1)."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from loyalty_devkit import members
from loyalty_devkit.cli import app as cli
from tests.privacy.builders import EMAIL, NAME, profile, shop_publishes
from tests.privacy.conftest import SERVICES, Platform
from tests.support.tokens import bearer
from tests.support.waiting import eventually

MEMBER = "m-export-1"

#: Tables with a member column that an export leaves out, and why.
NOT_EXPORTED = {
    "audit_log": "the operators' record of what they did, kept for accountability",
    "member_erasure": "the register: exported as `erasures`",
}


async def test_the_member_support_and_admins_may_export_and_nobody_else(
    platform: Platform,
) -> None:
    callers = {
        "the member": (bearer(MEMBER), 200),
        "support": (bearer("agent-1", scopes=("loyalty:support",)), 200),
        "an admin": (bearer("ops-1", admin=True), 200),
        "marketing": (bearer("mkt-1", scopes=("loyalty:marketing",)), 403),
        "another member": (bearer("m-other"), 403),
        "no token": ({}, 401),
    }
    wrong = []
    for service in SERVICES:
        for caller, (headers, status) in callers.items():
            response = await platform.api[service].get(
                f"/v1/members/{MEMBER}/export", headers=headers
            )
            if response.status_code != status:
                wrong.append(f"{service} as {caller}: {response.status_code}, expected {status}")
    assert wrong == []


async def test_a_member_id_that_breaks_the_id_rules_is_a_problem_document(
    platform: Platform,
) -> None:
    for service in SERVICES:
        for bad in ("%20m-1", "m" * 129):
            response = await platform.api[service].get(
                f"/v1/members/{bad}/export", headers=bearer("ops-1", admin=True)
            )
            assert response.status_code == 422, (service, bad)
            assert response.headers["content-type"] == "application/problem+json"


async def test_every_table_about_members_is_in_the_export_and_every_export_is_audited(
    platform: Platform,
) -> None:
    await shop_publishes(platform.bootstrap, profile(MEMBER))
    await eventually(lambda: platform.fetch("notifications", "SELECT 1 FROM member_contact"), bool)

    for service in SERVICES:
        response = await platform.api[service].get(
            f"/v1/members/{MEMBER}/export", headers=bearer(MEMBER)
        )
        assert response.status_code == 200, response.text
        document = response.json()
        assert (document["member_id"], document["service"]) == (MEMBER, service)
        holding = await platform.fetch(
            service,
            """
            SELECT table_name FROM information_schema.columns
            WHERE table_schema = 'public' AND column_name = 'member_id'
            """,
        )
        tables = {r["table_name"] for r in holding} - set(NOT_EXPORTED)
        assert tables | {"dead_letter"} <= set(document["data"]), (
            f"{service} leaves out {tables - set(document['data'])}"
        )
        audited = await platform.fetch(
            service, "SELECT actor, scope, action, member_id FROM audit_log"
        )
        assert [tuple(r) for r in audited] == [(MEMBER, None, "member.export", MEMBER)]

    notifications = await platform.api["notifications"].get(
        f"/v1/members/{MEMBER}/export", headers=bearer(MEMBER)
    )
    (contact,) = notifications.json()["data"]["member_contact"]
    assert (contact["name"], contact["email"]) == (NAME, EMAIL)


async def test_loyalty_member_export_writes_one_file_of_the_four_with_a_line_per_service(
    platform: Platform, tmp_path: Path
) -> None:
    await shop_publishes(platform.bootstrap, profile(MEMBER))
    await eventually(lambda: platform.fetch("notifications", "SELECT 1 FROM member_contact"), bool)
    lines: list[str] = []
    for client in platform.api.values():
        client.headers.update(bearer("agent-1", scopes=("loyalty:support",)))

    exports = await members.export(
        MEMBER, platform.api, on_service=lambda done: lines.append(done.service)
    )
    (tmp_path / "export.json").write_bytes(members.document(MEMBER, exports))

    assert lines == list(SERVICES)
    written = orjson.loads((tmp_path / "export.json").read_bytes())
    assert written["member_id"] == MEMBER
    assert sorted(written["services"]) == sorted(SERVICES)
    assert written["services"]["notifications"]["data"]["member_contact"][0]["email"] == EMAIL


def test_the_cli_refuses_a_member_id_that_breaks_the_id_rules() -> None:
    result = CliRunner().invoke(cli, ["member", "export", " m-1"])
    assert result.exit_code == 2
    assert "member id" in result.output
