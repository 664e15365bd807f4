"""How the soak counts lag and reads the relays' counters, and what its event stream holds."""

from __future__ import annotations

from decimal import Decimal

import orjson

from loyalty_devkit.soak.sampling import SUBSCRIPTIONS, group_lag, published_by_topic
from loyalty_devkit.soak.workload import EventStream

METRICS = """\
# HELP loyalty_outbox_published_total Outbox records published to Kafka
# TYPE loyalty_outbox_published_total counter
loyalty_outbox_published_total{service="points",topic="loyalty.points"} 1234.0
loyalty_outbox_published_total{service="points",topic="commerce.purchases.dlq"} 3.0
# HELP loyalty_outbox_published_created Outbox records published to Kafka
# TYPE loyalty_outbox_published_created gauge
loyalty_outbox_published_created{service="points",topic="loyalty.points"} 1.7e9
# HELP loyalty_outbox_backlog Outbox records waiting to be published
# TYPE loyalty_outbox_backlog gauge
loyalty_outbox_backlog{service="points"} 7.0
"""


def test_published_counts_by_topic_from_metrics() -> None:
    assert published_by_topic(METRICS) == {"loyalty.points": 1234, "commerce.purchases.dlq": 3}
    assert published_by_topic("") == {}


def test_lag_per_partition_for_input_topics_per_topic_for_the_platforms() -> None:
    produced_input = {("commerce.purchases", 0): 100, ("commerce.purchases", 1): 50}
    committed = {
        ("commerce.purchases", 0): 90,
        ("commerce.purchases", 1): 50,
        ("loyalty.tiers", 0): 3,
        ("loyalty.tiers", 2): 4,
        ("loyalty.feedback", 1): 2,
    }
    produced_internal = {"loyalty.tiers": 9, "loyalty.feedback": 2, "loyalty.points": 500}
    # 10 purchases behind on partition 0; 2 tier changes; no goodwill; loyalty.points not read
    assert group_lag(SUBSCRIPTIONS["points"], committed, produced_input, produced_internal) == 12
    assert group_lag(SUBSCRIPTIONS["tiers"], committed, produced_input, produced_internal) == 10


def test_a_partition_never_committed_lags_by_everything_produced() -> None:
    produced_input = {("commerce.members", 3): 40}
    assert group_lag(("commerce.members",), {}, produced_input, {}) == 40


def test_every_service_reads_what_the_readme_says() -> None:
    assert set(SUBSCRIPTIONS) == {"points", "tiers", "notifications", "feedback"}
    assert "loyalty.points" in SUBSCRIPTIONS["notifications"]
    assert "commerce.members" not in SUBSCRIPTIONS["points"]


def test_the_stream_never_refunds_more_than_an_order_total() -> None:
    stream = EventStream(seed=11)
    totals: dict[str, Decimal] = {}
    refunded: dict[str, Decimal] = {}
    for topic, key, value in stream.take(20_000):
        event = orjson.loads(value)
        data = event["data"]
        assert key.decode() == event["subject"] == data["member_id"]
        if event["type"] == "purchase.completed":
            assert topic == "commerce.purchases"
            totals[data["order_id"]] = Decimal(data["total"])
        elif event["type"] == "purchase.refunded":
            order = data["order_id"]
            refunded[order] = refunded.get(order, Decimal(0)) + Decimal(data["amount"])
            assert refunded[order] <= totals[order]
        else:
            assert topic == "commerce.members"
    counts = stream.counts
    assert counts["purchase.completed"] > 15_000
    assert counts["purchase.refunded"] > 1_000
    assert counts["member.enrolled"] > 500
    assert counts["member.updated"] > 300


def test_the_same_seed_gives_the_same_mix() -> None:
    def shapes(seed: int) -> list[tuple[str, str]]:
        out = []
        for _, key, value in EventStream(seed).take(500):
            event = orjson.loads(value)
            out.append((key.decode(), event["type"]))
        return out

    assert shapes(5) == shapes(5)
    assert shapes(5) != shapes(6)
