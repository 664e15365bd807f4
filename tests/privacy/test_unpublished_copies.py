"""What a service still holds on its way out at the moment of an erasure: events in the outbox,
dead letters waiting there or kept for operators, refunds parked for their purchase. They lose
what identifies the member and keep what the platform needs: the events still go out, the dead
letter still says where and why (its code), the refund still applies (contract 5.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from loyalty_feedback.app import MIGRATIONS as FEEDBACK_MIGRATIONS
from loyalty_feedback.privacy.handlers import ERASURE
from loyalty_shared.db.migrations import migrate
from loyalty_shared.db.outbox import enqueue_events, enqueue_record
from loyalty_shared.dlq import repository as dead_letters
from loyalty_shared.events.commerce import ErasureRequestedV1, PurchaseRefundedV1
from loyalty_shared.events.decoding import Decoded, RawRecord
from loyalty_shared.events.emitting import platform_event
from loyalty_shared.events.envelope import CloudEvent
from loyalty_shared.events.loyalty import FeedbackReceivedV1, FeedbackRequestedV1
from loyalty_shared.events.refunds import refund_parking
from loyalty_shared.kafka.topics import (
    COMMERCE_MEMBERS,
    COMMERCE_PURCHASES,
    LOYALTY_FEEDBACK,
    LOYALTY_PRIVACY,
)
from loyalty_shared.runtime import runtime_of
from tests.points.test_crediting_purchases import balance_of
from tests.points.test_refunds import refund
from tests.privacy.builders import COMMENT, EMAIL, NAME, answers, erasure_request, shop_publishes
from tests.support.events import NOW, encode, purchase
from tests.support.kafka import CE_HEADERS, publish_events
from tests.support.waiting import eventually

MEMBER = "m-leaving"
OTHER = "m-staying"


@pytest.fixture
async def feedback_db(new_database: object) -> AsyncIterator[asyncpg.Connection]:
    """The feedback service's database with nothing running on it: what is in the outbox stays
    there until the test looks."""
    assert callable(new_database)
    url = new_database("feedback")
    await migrate(url, FEEDBACK_MIGRATIONS)
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


def received(member_id: str, comment: str) -> Any:
    return platform_event(
        FeedbackReceivedV1(
            member_id=member_id,
            feedback_id=f"f-{member_id}",
            score=2,
            category="detractor",
            detractor=True,
            comment=comment,
            answered_at=NOW,
            causation_id=None,
        ),
        source="loyalty/feedback",
        cause=f"answer:{member_id}",
    )


def requested(member_id: str) -> Any:
    return platform_event(
        FeedbackRequestedV1(
            member_id=member_id,
            invitation_id=f"i-{member_id}",
            order_id=f"o-{member_id}",
            channel="online",
            purchased_at=NOW,
            survey_token="eyJ.a-survey-link-credential.x",
            expires_at=NOW,
            causation_id=f"invitation:{member_id}",
        ),
        source="loyalty/feedback",
    )


def erasure_of(member_id: str) -> Decoded[ErasureRequestedV1]:
    event = erasure_request(member_id)
    return Decoded(
        CloudEvent.model_validate(event), ErasureRequestedV1.model_validate(event["data"])
    )


def refund_with_extras(member_id: str, order_id: str) -> Decoded[PurchaseRefundedV1]:
    """A refund whose producer added what the contract never asked for."""
    event = refund(member_id, order_id, "50.00", f"r-{order_id}", note=f"for {NAME}")
    event["shopper"] = EMAIL
    raw = RawRecord(
        COMMERCE_PURCHASES,
        member_id.encode(),
        encode(event),
        (*CE_HEADERS, ("x-shopper-email", EMAIL.encode())),
    )
    data = PurchaseRefundedV1.model_validate(event["data"])
    return Decoded(CloudEvent.model_validate(event), data, raw=raw)


async def outbox(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT topic, message_key, payload, header_names FROM outbox ORDER BY id"
    )


async def test_unpublished_events_dead_letters_and_parked_refunds_keep_nothing_that_identifies(
    feedback_db: asyncpg.Connection,
) -> None:
    conn = feedback_db
    await enqueue_events(
        conn,
        topic=LOYALTY_FEEDBACK,
        events=[received(MEMBER, COMMENT), requested(MEMBER), received(OTHER, "slow delivery")],
    )
    await enqueue_record(
        conn,
        topic=f"{COMMERCE_MEMBERS}.dlq",
        key=MEMBER.encode(),
        value=orjson.dumps({"name": NAME, "email": EMAIL}),
        headers=[("x-name", NAME.encode()), ("error.code", b"invalid-data")],
    )
    parked = refund_with_extras(MEMBER, "o-not-yet")
    await refund_parking("feedback").park(conn, [("o-not-yet", parked)])
    for member in (MEMBER, OTHER):  # dead letters the console shows operators
        await dead_letters.keep(
            conn,
            position=f"{COMMERCE_MEMBERS}:0:{len(member)}",
            topic=COMMERCE_MEMBERS,
            code="invalid-data",
            detail=f"email {EMAIL} is not valid",
            event_type="member.enrolled",
            event_id=f"e-{member}",
            key=member.encode(),
            value=orjson.dumps({"name": NAME, "email": EMAIL}),
            headers=[("x-name", NAME.encode())],
        )

    async with conn.transaction():
        assert await ERASURE.handler(conn, [erasure_of(MEMBER)]) == ()

    rows = await outbox(conn)
    by_topic = [(r["topic"], r["message_key"].decode()) for r in rows]
    assert by_topic == [
        (LOYALTY_FEEDBACK, MEMBER),  # the answer still goes out, without its comment
        (LOYALTY_FEEDBACK, OTHER),
        (f"{COMMERCE_MEMBERS}.dlq", MEMBER),
        (LOYALTY_PRIVACY, MEMBER),
    ]
    answer = orjson.loads(rows[0]["payload"])
    assert (answer["type"], answer["data"]["comment"], answer["data"]["score"]) == (
        "feedback.received",
        None,
        2,
    )
    assert orjson.loads(rows[1]["payload"])["data"]["comment"] == "slow delivery"
    letter = rows[2]
    assert (letter["payload"], letter["header_names"]) == (None, ["error.code"])
    confirmation = orjson.loads(rows[3]["payload"])
    assert confirmation["type"] == "privacy.erased"
    assert confirmation["data"]["service"] == "feedback"

    erased, other = await conn.fetch(
        "SELECT message_key, payload, header_names, detail, replay_outcome FROM dead_letter "
        "ORDER BY message_key"
    )
    assert (erased["message_key"], other["message_key"]) == (MEMBER.encode(), OTHER.encode())
    assert tuple(erased.values())[1:] == (None, [], "(erased)", "erased"), "waits no more"
    assert (other["payload"], other["replay_outcome"]) == (
        orjson.dumps({"name": NAME, "email": EMAIL}),
        None,
    )

    (kept,) = await conn.fetch("SELECT event_id, payload, header_names FROM parked_record")
    assert kept["event_id"] == parked.envelope.id
    text = kept["payload"].decode()
    assert NAME not in text
    assert EMAIL not in text
    assert kept["header_names"] == ["content-type"]
    event = orjson.loads(kept["payload"])
    assert PurchaseRefundedV1.model_validate(event["data"]) == parked.data
    assert event["subject"] == MEMBER


async def test_a_refund_parked_for_an_erased_member_still_applies_when_its_purchase_comes(
    points_app: Any, points_api: httpx.AsyncClient, broker: Any
) -> None:
    early = refund("m-6100", "o-6100", "200.00", "r-6100", note=f"for {NAME}")
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [early])
    pool = runtime_of(points_app).pool
    await eventually(lambda: pool.fetchval("SELECT count(*) FROM parked_record"), lambda n: n == 1)

    await shop_publishes(broker.bootstrap, erasure_request("m-6100"))
    assert len(await answers(broker.bootstrap, expect=1)) == 1
    payload = await pool.fetchval("SELECT payload FROM parked_record")
    assert NAME.encode() not in payload

    await publish_events(
        broker.bootstrap,
        COMMERCE_PURCHASES,
        [purchase("m-6100", "200.00", days_ago=30, order_id="o-6100")],
    )
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM refund WHERE refund_id = 'r-6100'"),
        lambda n: n == 1,
    )
    body = await balance_of(points_api, "m-6100")
    assert (body["lifetime_earned"], body["available"], body["pending"]) == (0, 0, 0)
    assert await pool.fetchval("SELECT count(*) FROM parked_record") == 0
