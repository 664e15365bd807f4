"""Preferences through the API, and templates that fail the start rather than a send."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loyalty_devkit.local_broker import free_port
from loyalty_notifications.rendering.renderer import TEMPLATES, Renderer, TemplateProblem
from tests.support.tokens import SECRET, bearer


async def test_a_member_sets_channels_quiet_hours_time_zone_and_language(
    notifications_api: httpx.AsyncClient,
) -> None:
    path = "/v1/members/m-p1/preferences"
    before = (await notifications_api.get(path, headers=bearer("m-p1"))).json()
    assert before["channels"] == {"email": True, "sms": True, "push": True}
    assert before["effective"] == {"time_zone": "Asia/Shanghai", "language": "zh-CN"}
    assert (before["enrolled"], before["consents"], before["quiet_hours"]) == (False, None, None)

    body = {
        "channels": {"email": True, "sms": False, "push": False},
        "quiet_hours": {"start": "22:00", "end": "07:30"},
        "time_zone": "Europe/Berlin",
        "language": "en",
    }
    response = await notifications_api.put(path, json=body, headers=bearer("m-p1"))

    assert response.status_code == 200, response.text
    after = (await notifications_api.get(path, headers=bearer("m-p1"))).json()
    assert after["channels"] == body["channels"]
    assert after["quiet_hours"] == {"start": "22:00:00", "end": "07:30:00"}
    assert after["effective"] == {"time_zone": "Europe/Berlin", "language": "en"}


async def test_preferences_refuse_other_members_and_bad_values(
    notifications_api: httpx.AsyncClient,
) -> None:
    path = "/v1/members/m-p2/preferences"
    assert (await notifications_api.get(path)).status_code == 401
    assert (await notifications_api.get(path, headers=bearer("m-other"))).status_code == 403
    assert (await notifications_api.get(path, headers=bearer("ops", admin=True))).status_code == 200
    for bad in (
        {"time_zone": "Mars/Olympus"},
        {"language": "fr"},
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"channels": {"fax": True}},
    ):
        response = await notifications_api.put(path, json=bad, headers=bearer("m-p2"))
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"


def test_every_trigger_has_a_template_in_every_language_that_renders() -> None:
    assert Renderer().check_all() == 13 * 2, "13 triggers, each in zh-CN and en"


def _copy_templates(to: Path) -> None:
    for source in TEMPLATES.rglob("*.j2"):
        target = to / source.relative_to(TEMPLATES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text("utf-8"), "utf-8")


def test_a_missing_template_stops_the_start(tmp_path: Path) -> None:
    _copy_templates(tmp_path)
    (tmp_path / "en" / "birthday.j2").unlink()

    with pytest.raises(TemplateProblem, match=r"en/birthday.j2"):
        Renderer(tmp_path).check_all()


def test_a_template_using_an_unknown_variable_stops_the_start(tmp_path: Path) -> None:
    _copy_templates(tmp_path)
    template = tmp_path / "zh-CN" / "win_back.j2"
    template.write_text(template.read_text("utf-8").replace("{{ days", "{{ dayz"), "utf-8")

    with pytest.raises(TemplateProblem, match=r"zh-CN/win_back.j2.*dayz"):
        Renderer(tmp_path).check_all()


def test_the_service_refuses_to_start_with_a_template_that_does_not_render(tmp_path: Path) -> None:
    _copy_templates(tmp_path / "templates")
    (tmp_path / "templates" / "en" / "birthday.j2").unlink()
    env = {
        **os.environ,
        "LOYALTY_NOTIFICATIONS_DATABASE_URL": "postgresql://unused@127.0.0.1:1/x",
        "LOYALTY_JWT_SECRET": SECRET,
        "LOYALTY_NOTIFICATIONS_TEMPLATES_DIR": str(tmp_path / "templates"),
        "LOYALTY_NOTIFICATIONS_PORT": str(free_port()),
    }
    command = str(Path(sys.executable).with_name("loyalty-notifications"))

    done = subprocess.run([command], env=env, capture_output=True, timeout=60, check=False)

    assert done.returncode == 2
    assert b"en/birthday.j2" in done.stderr
    assert b"Traceback" not in done.stderr
