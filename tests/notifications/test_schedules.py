"""Birthdays and expiry reminders go out on the right day where the member lives: one member in
Shanghai, one in New York, the time moved by the test (never slept)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.state import NotificationsState
from loyalty_notifications.triggers.jobs import run_schedules
from loyalty_shared.http.state import state_of
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_POINTS
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import birthday_rewarded, member_enrolled, points_expiring
from tests.notifications.conftest import MailServer, MovableClock
from tests.notifications.helpers import body_of, mails, notifications_of, until_enrolled
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually

SHANGHAI_MEMBER, NEW_YORK_MEMBER = "m-sh", "m-ny"


async def two_members_in_two_time_zones(
    api: httpx.AsyncClient, broker: LocalBroker, *, birthday: str | None = None
) -> None:
    await publish_events(
        broker.bootstrap,
        COMMERCE_MEMBERS,
        [
            member_enrolled(SHANGHAI_MEMBER, "王芳", email="sh@example.com", birthday=birthday),
            member_enrolled(
                NEW_YORK_MEMBER, "Ann", email="ny@example.com", locale="en", birthday=birthday
            ),
        ],
    )
    response = await api.put(
        f"/v1/members/{NEW_YORK_MEMBER}/preferences",
        json={"time_zone": "America/New_York"},
        headers=bearer(NEW_YORK_MEMBER),
    )
    assert response.status_code == 200, response.text
    await until_enrolled(api, SHANGHAI_MEMBER, NEW_YORK_MEMBER)


async def test_a_birthday_greeting_goes_out_on_the_local_birthday_once_a_year(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    await two_members_in_two_time_zones(notifications_api, broker, birthday="1990-03-15")
    pool, planner = (
        runtime_of(notifications_app).pool,
        state_of(notifications_app, NotificationsState).planner,
    )

    # 15 March 2027, 10:30 in Shanghai: still 14 March, 22:30 in New York
    clock.set(datetime(2027, 3, 15, 2, 30, tzinfo=UTC))
    assert await run_schedules(pool, planner, clock) == {"birthday": 1, "win_back": 0}
    await eventually(lambda: mails(mail_server, "sh@example.com"), lambda n: n == 1)
    assert "生日快乐" in mail_server.to("sh@example.com")[0]["Subject"]
    assert mail_server.to("ny@example.com") == []

    # 15 March, 10:30 in New York (EDT, UTC-4)
    clock.set(datetime(2027, 3, 15, 14, 30, tzinfo=UTC))
    assert await run_schedules(pool, planner, clock) == {"birthday": 1, "win_back": 0}
    await eventually(lambda: mails(mail_server, "ny@example.com"), lambda n: n == 1)
    assert mail_server.to("ny@example.com")[0]["Subject"] == "Happy birthday, Ann!"

    # later the same day, and the next day: nobody is greeted twice
    clock.set(datetime(2027, 3, 16, 3, 0, tzinfo=UTC))
    assert await run_schedules(pool, planner, clock) == {"birthday": 0, "win_back": 0}
    # a year later, again
    clock.set(datetime(2028, 3, 15, 3, 0, tzinfo=UTC))
    assert await run_schedules(pool, planner, clock) == {"birthday": 1, "win_back": 0}
    items = await notifications_of(notifications_api, SHANGHAI_MEMBER)
    assert [i["type"] for i in items] == ["birthday", "birthday"]


async def test_the_birthday_greeting_mentions_the_birthday_points_in_the_members_language(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    await two_members_in_two_time_zones(notifications_api, broker, birthday="1990-03-15")
    pool, planner = (
        runtime_of(notifications_app).pool,
        state_of(notifications_app, NotificationsState).planner,
    )
    # the points service paid them at midnight in Shanghai
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [
            birthday_rewarded(SHANGHAI_MEMBER, 2027, 200),
            birthday_rewarded(NEW_YORK_MEMBER, 2027, 1500, tier="platinum"),
        ],
    )
    await eventually(lambda: pool.fetchval("SELECT count(*) FROM birthday_gift"), lambda n: n == 2)
    assert await notifications_of(notifications_api, SHANGHAI_MEMBER) == [], "no message of its own"

    clock.set(datetime(2027, 3, 15, 2, 30, tzinfo=UTC))  # 10:30 in Shanghai
    assert (await run_schedules(pool, planner, clock))["birthday"] == 1
    await eventually(lambda: mails(mail_server, "sh@example.com"), lambda n: n == 1)
    assert "200 积分的生日礼物" in body_of(mail_server.to("sh@example.com")[0])

    clock.set(datetime(2027, 3, 15, 14, 30, tzinfo=UTC))  # 10:30 in New York
    assert (await run_schedules(pool, planner, clock))["birthday"] == 1
    await eventually(lambda: mails(mail_server, "ny@example.com"), lambda n: n == 1)
    assert "a gift of 1,500 points" in body_of(mail_server.to("ny@example.com")[0])

    # a year without birthday points (a bronze member): the greeting alone
    clock.set(datetime(2028, 3, 15, 3, 0, tzinfo=UTC))
    assert (await run_schedules(pool, planner, clock))["birthday"] == 1
    await eventually(lambda: mails(mail_server, "sh@example.com"), lambda n: n == 2)
    assert "积分" not in body_of(mail_server.to("sh@example.com")[1])


async def test_an_expiry_reminder_goes_out_30_days_ahead_at_10_local_time_in_each_time_zone(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2027, 3, 14, 0, 0, tzinfo=UTC))
    await two_members_in_two_time_zones(notifications_api, broker)
    expires_at = datetime(2027, 4, 14, 12, 0, tzinfo=UTC)
    await publish_events(
        broker.bootstrap,
        LOYALTY_POINTS,
        [
            points_expiring(SHANGHAI_MEMBER, 1500, expires_at),
            points_expiring(NEW_YORK_MEMBER, 800, expires_at),
        ],
    )
    [sh] = await eventually(
        lambda: notifications_of(notifications_api, SHANGHAI_MEMBER), lambda i: len(i) == 1
    )
    [ny] = await eventually(
        lambda: notifications_of(notifications_api, NEW_YORK_MEMBER), lambda i: len(i) == 1
    )
    # 30 days before 14 April is 15 March, at 10:00 where each member lives
    assert datetime.fromisoformat(sh["scheduled_for"]) == datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
    assert datetime.fromisoformat(ny["scheduled_for"]) == datetime(2027, 3, 15, 14, 0, tzinfo=UTC)

    clock.set(datetime(2027, 3, 15, 2, 30, tzinfo=UTC))  # 10:30 in Shanghai, 22:30 (14th) in NY
    await eventually(lambda: mails(mail_server, "sh@example.com"), lambda n: n == 1)
    assert "1,500积分" in mail_server.to("sh@example.com")[0]["Subject"]
    assert (await notifications_of(notifications_api, NEW_YORK_MEMBER))[0]["status"] == (
        "scheduled"
    )
    assert mail_server.to("ny@example.com") == []

    clock.set(datetime(2027, 3, 15, 14, 30, tzinfo=UTC))  # 10:30 in New York
    await eventually(lambda: mails(mail_server, "ny@example.com"), lambda n: n == 1)
    body = body_of(mail_server.to("ny@example.com")[0])
    assert "800 of your points expire on April 14, 2027" in body


async def test_a_member_born_on_29_february_is_greeted_on_28_february_in_other_years(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    clock: MovableClock,
) -> None:
    member = member_enrolled("m-leap", "Leap", email="leap@example.com", birthday="1992-02-29")
    await publish_events(broker.bootstrap, COMMERCE_MEMBERS, [member])
    await until_enrolled(notifications_api, "m-leap")
    pool, planner = (
        runtime_of(notifications_app).pool,
        state_of(notifications_app, NotificationsState).planner,
    )

    clock.set(datetime(2027, 2, 28, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai, 2027 is no leap year
    assert (await run_schedules(pool, planner, clock))["birthday"] == 1
    clock.set(datetime(2028, 2, 28, 3, 0, tzinfo=UTC))  # 2028 is: wait for the 29th
    assert (await run_schedules(pool, planner, clock))["birthday"] == 0
    clock.set(datetime(2028, 2, 29, 3, 0, tzinfo=UTC))
    assert (await run_schedules(pool, planner, clock))["birthday"] == 1
