"""Survey invitations after purchases: delayed, sampled, at most one per member per 30 days, none
for an order refunded in full (feedback issue, item 1)."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx

from loyalty_devkit.local_broker import LocalBroker
from loyalty_feedback.invitations import tokens
from loyalty_feedback.invitations.jobs import SurveyInvitationJob
from loyalty_feedback.invitations.sampling import sampled
from loyalty_shared.kafka.topics import COMMERCE_PURCHASES, LOYALTY_FEEDBACK
from tests.feedback.conftest import Service, bought, first_sampled, refunded
from tests.support.events import envelope, purchase_data
from tests.support.kafka import event_of, publish_events, read_all
from tests.support.tokens import bearer
from tests.support.waiting import eventually

DELAY = timedelta(days=3)


async def test_a_purchase_leads_to_exactly_one_invitation_after_the_delay(
    feedback: Service, broker: LocalBroker
) -> None:
    order_id = first_sampled("o-delay", feedback.program.feedback.sample_rate)
    bought_at = datetime.now(UTC) - timedelta(minutes=5)
    event = envelope("purchase.completed", purchase_data("m-f1", order_id=order_id), time=bought_at)
    # delivered twice (a producer retry): still one invitation
    await publish_events(broker.bootstrap, COMMERCE_PURCHASES, [event, event])
    await eventually(
        lambda: feedback.fetch("SELECT * FROM invitation"), lambda rows: len(rows) == 1
    )

    assert await feedback.send(bought_at + DELAY - timedelta(minutes=1)) == 0, "not before"
    assert await feedback.send(bought_at + DELAY) == 1
    assert await feedback.send(bought_at + DELAY + timedelta(hours=1)) == 0, "only once"
    assert await feedback.send(bought_at + timedelta(days=40)) == 0, "not even much later"

    records = await read_all(broker.bootstrap, LOYALTY_FEEDBACK, expect=1)
    assert len(records) == 1
    message = event_of(records[0])
    assert message["type"] == "feedback.requested"
    assert records[0].key == b"m-f1"
    data = message["data"]
    assert (data["member_id"], data["order_id"], data["channel"]) == ("m-f1", order_id, "online")
    claims = tokens.verify(feedback.key, data["survey_token"])
    assert (claims.member_id, claims.order_id, str(claims.invitation_id)) == (
        "m-f1",
        order_id,
        data["invitation_id"],
    )
    expires = datetime.fromisoformat(data["expires_at"])
    assert expires == bought_at + DELAY + timedelta(days=14)


async def test_a_purchase_not_sampled_gets_no_invitation_and_a_replay_samples_the_same(
    feedback: Service,
) -> None:
    rate = feedback.program.feedback.sample_rate
    chosen = first_sampled("o-replay", rate)
    skipped = next(f"o-skip-{n}" for n in range(1000) if not sampled(f"o-skip-{n}", rate))
    now = datetime.now(UTC)
    events = [bought("m-f2", now, order_id=chosen), bought("m-f3", now, order_id=skipped)]

    await feedback.purchases(*events)
    await feedback.purchases(*events)  # a replay

    rows = await feedback.fetch("SELECT order_id FROM invitation")
    assert [r["order_id"] for r in rows] == [chosen]


async def test_sampling_and_the_30_day_rule_hold_over_1000_purchases(feedback: Service) -> None:
    settings = feedback.program.feedback
    rng = random.Random(6)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    members = [f"m-s{n:02d}" for n in range(50)]
    events = [
        bought(rng.choice(members), start + timedelta(days=rng.uniform(0, 360)), order_id=f"o-{n}")
        for n in range(1000)
    ]
    for batch in range(0, 1000, 250):
        await feedback.purchases(*events[batch : batch + 250])

    scheduled = {r["order_id"] for r in await feedback.fetch("SELECT order_id FROM invitation")}
    expected = {f"o-{n}" for n in range(1000) if sampled(f"o-{n}", 0.3)}
    assert scheduled == expected, "sampling is a function of the order id"
    assert 250 <= len(scheduled) <= 350, f"{len(scheduled)} of 1000 sampled at 30%"

    day = start
    while day <= start + timedelta(days=380):
        await feedback.send(day)
        day += timedelta(hours=12)

    rows = await feedback.fetch(
        "SELECT member_id, status, skip_reason, sent_at FROM invitation ORDER BY sent_at"
    )
    assert all(r["status"] in ("sent", "skipped") for r in rows), "every invitation decided"
    assert {r["skip_reason"] for r in rows if r["status"] == "skipped"} <= {"cooldown"}
    sent: dict[str, list[datetime]] = defaultdict(list)
    for r in rows:
        if r["status"] == "sent":
            sent[r["member_id"]].append(r["sent_at"])
    for member, times in sent.items():
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert all(gap >= timedelta(days=settings.cooldown_days) for gap in gaps), member
    with_sampled_orders = {r["member_id"] for r in rows}
    assert set(sent) == with_sampled_orders, "the rule never silences a member for good"
    assert sum(len(t) for t in sent.values()) >= len(with_sampled_orders) * 3


async def test_an_order_refunded_in_full_before_the_send_gets_no_invitation_a_partial_one_does(
    feedback: Service,
) -> None:
    rate = feedback.program.feedback.sample_rate
    full = first_sampled("o-full", rate)
    partial = first_sampled("o-part", rate)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    await feedback.purchases(
        bought("m-r1", at, order_id=full, total="300.00"),
        bought("m-r2", at, order_id=partial, total="300.00"),
    )
    await feedback.refunds(
        refunded("m-r1", full, "100.00", at + timedelta(days=1)),
        refunded("m-r1", full, "200.00", at + timedelta(days=2)),
        refunded("m-r2", partial, "299.00", at + timedelta(days=2)),
    )

    assert await feedback.send(at + DELAY) == 1

    rows = await feedback.fetch("SELECT order_id, status, skip_reason FROM invitation")
    decided = {r["order_id"]: (r["status"], r["skip_reason"]) for r in rows}
    assert decided == {full: ("skipped", "refunded"), partial: ("sent", None)}


async def test_a_purchase_older_than_the_survey_validity_is_not_surveyed_when_backfilled(
    feedback: Service,
) -> None:
    order_id = first_sampled("o-old", feedback.program.feedback.sample_rate)
    now = datetime.now(UTC)
    await feedback.purchases(bought("m-old", now - timedelta(days=60), order_id=order_id))

    assert await feedback.send(now) == 0

    [row] = await feedback.fetch("SELECT status, skip_reason FROM invitation")
    assert (row["status"], row["skip_reason"]) == ("skipped", "stale")


async def test_two_replicas_sending_at_once_send_each_invitation_once_and_one_per_member(
    feedback: Service,
) -> None:
    rate = feedback.program.feedback.sample_rate
    at = datetime(2026, 5, 1, tzinfo=UTC)
    events = []
    for n in range(150):
        first = first_sampled(f"o-rep{n}", rate)
        second = first_sampled(f"o-rep{n}", rate, skip=[first])
        events += [
            bought(f"m-rep{n}", at, order_id=first),
            bought(f"m-rep{n}", at + timedelta(minutes=1), order_id=second),
        ]
    await feedback.purchases(*events)

    sent = await asyncio.gather(*(feedback.send(at + DELAY + timedelta(hours=1)) for _ in range(2)))

    assert sum(sent) == 150, sent
    rows = await feedback.fetch(
        "SELECT member_id, count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'pending') AS pending FROM invitation GROUP BY member_id"
    )
    assert len(rows) == 150
    assert all((r["sent"], r["pending"]) == (1, 0) for r in rows)


async def test_an_order_answered_in_the_app_before_its_survey_gets_no_survey(
    feedback: Service, feedback_api: httpx.AsyncClient
) -> None:
    order_id = first_sampled("o-early", feedback.program.feedback.sample_rate)
    now = datetime.now(UTC)
    await feedback.purchases(bought("m-early", now, order_id=order_id))
    response = await feedback_api.post(
        "/v1/members/m-early/feedback",
        json={"score": 9, "order_id": order_id},
        headers=bearer("m-early"),
    )
    assert response.status_code == 201, response.text

    assert await feedback.send(now + DELAY) == 0

    [row] = await feedback.fetch("SELECT status, skip_reason FROM invitation")
    assert (row["status"], row["skip_reason"]) == ("skipped", "answered")


async def test_the_scheduled_job_sends_due_invitations_by_itself(feedback: Service) -> None:
    order_id = first_sampled("o-loop", feedback.program.feedback.sample_rate)
    bought_at = datetime.now(UTC)
    await feedback.purchases(bought("m-loop", bought_at, order_id=order_id))
    jobs = SurveyInvitationJob(
        pool=feedback.pool,
        program=feedback.program,
        key=feedback.key,
        interval_s=0.05,
        clock=lambda: bought_at + DELAY,
    )
    await jobs.start()
    try:
        rows = await eventually(
            lambda: feedback.fetch("SELECT status FROM invitation"),
            lambda rows: rows[0]["status"] == "sent",
        )
    finally:
        await jobs.stop()

    assert [r["status"] for r in rows] == ["sent"]
