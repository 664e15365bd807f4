"""Delivery details: SMS and push through the provider, a send interrupted twice is not tried a
third time, and the history pages like the points ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from loyalty_devkit.local_broker import LocalBroker
from loyalty_notifications.app import create_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.kafka.topics import COMMERCE_MEMBERS, LOYALTY_TIERS
from loyalty_shared.runtime import runtime_of
from tests.notifications.builders import member_enrolled, tier_changed
from tests.notifications.conftest import MailServer, MovableClock, Receiver
from tests.notifications.helpers import notifications_of, published, until_enrolled
from tests.support.apps import client_of, running
from tests.support.kafka import publish_events
from tests.support.tokens import bearer
from tests.support.waiting import eventually


@pytest.fixture
async def with_provider(
    notifications_settings: NotificationsSettings, provider: Receiver, clock: MovableClock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = notifications_settings.model_copy(
        update={
            "notifications_provider_url": provider.url,
            "notifications_provider_api_key": SecretStr("provider-key"),
        }
    )
    async with running(create_app(settings, clock=clock)) as app, client_of(app) as client:
        yield client


async def test_sms_and_push_go_through_the_provider_on_the_channels_the_member_agreed_to(
    with_provider: httpx.AsyncClient,
    broker: LocalBroker,
    provider: Receiver,
    mail_server: MailServer,
) -> None:
    api = with_provider
    profile = member_enrolled(
        "m-d1", "王芳", email="d1@example.com", consents={"email": False, "sms": True, "push": True}
    )
    profile["data"]["phone"] = "+8613800000000"
    await publish_events(broker.bootstrap, COMMERCE_MEMBERS, [profile])
    await until_enrolled(api, "m-d1")
    response = await api.put(
        "/v1/members/m-d1/preferences",
        json={"channels": {"email": True, "sms": True, "push": False}},
        headers=bearer("m-d1"),
    )
    assert response.status_code == 200

    await publish_events(broker.bootstrap, LOYALTY_TIERS, [tier_changed("m-d1", "gold")])

    items = await eventually(
        lambda: notifications_of(api, "m-d1"), lambda i: [x["status"] for x in i] == ["sent"]
    )
    assert items[0]["channel"] == "sms", "email has no consent, push is turned off"
    [(headers, body)] = provider.requests
    sms = orjson.loads(body)
    assert (sms["channel"], sms["to"], sms["id"]) == ("sms", "+8613800000000", items[0]["id"])
    assert "金卡" in sms["text"]
    assert headers["authorization"] == "Bearer provider-key"
    assert headers["idempotency-key"] == items[0]["id"]
    assert mail_server.data_commands == 0


async def test_a_send_interrupted_twice_fails_rather_than_go_out_a_third_time(
    notifications_app: FastAPI,
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
    mail_server: MailServer,
    clock: MovableClock,
) -> None:
    # a row whose attempt and one re-send were both interrupted (the process died each time)
    pool = runtime_of(notifications_app).pool
    async with pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO notification (id, member_id, trigger, cause, channel, causation_id,
                                      status, payload, due_at, attempts, in_doubt, lease_until,
                                      created_at, updated_at)
            VALUES (gen_random_uuid(), 'm-d2', 'birthday', 'birthday:m-d2:2026', 'email',
                    'birthday:m-d2:2026', 'sending', '{"year": 2026}', now(), 2, true,
                    now() - interval '1 second', now(), now())
            """
        )

    [item] = await eventually(
        lambda: notifications_of(notifications_api, "m-d2"), lambda i: i[0]["status"] == "failed"
    )
    assert item["reason"].startswith("delivery-unknown")
    [failed] = await published(broker.bootstrap, expect=1)
    assert (failed["type"], failed["data"]["reason"]) == ("notification.failed", "delivery-unknown")
    assert mail_server.data_commands == 0


async def test_the_history_is_newest_first_and_cursor_paged(
    notifications_api: httpx.AsyncClient,
    broker: LocalBroker,
) -> None:
    changes = [tier_changed("m-d3", tier) for tier in ("silver", "gold", "platinum")]
    await publish_events(broker.bootstrap, LOYALTY_TIERS, changes)
    await eventually(lambda: notifications_of(notifications_api, "m-d3"), lambda i: len(i) == 3)

    path, headers = "/v1/members/m-d3/notifications", bearer("m-d3")
    first = (await notifications_api.get(path, params={"limit": 2}, headers=headers)).json()
    rest = (
        await notifications_api.get(
            path, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()

    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    assert rest["next_cursor"] is None
    created = [i["created_at"] for i in first["items"] + rest["items"]]
    assert created == sorted(created, reverse=True)
    assert (await notifications_api.get(path, headers=bearer("m-other"))).status_code == 403
