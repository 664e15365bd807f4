"""Prometheus metrics every service exposes on /metrics; labels name the service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "loyalty_events_total",
    "Events read from Kafka, by outcome (applied, duplicate, rejected, unknown_type)",
    ["service", "topic", "type", "outcome"],
)
DEAD_LETTERS = Counter(
    "loyalty_dead_letters_total",
    "Records sent to a dead-letter topic, by reason",
    ["service", "topic", "code"],
)
BATCH_SECONDS = Histogram(
    "loyalty_consumer_batch_seconds",
    "Time to apply one fetched batch, database commit included",
    ["service"],
)
BATCH_RETRIES = Counter(
    "loyalty_consumer_batch_retries_total",
    "Batches retried after a transient failure (database or broker)",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "loyalty_outbox_published_total", "Outbox records published to Kafka", ["service", "topic"]
)
OUTBOX_FAILURES = Counter(
    "loyalty_outbox_failures_total", "Relay rounds that failed and will be retried", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "loyalty_outbox_backlog", "Outbox records waiting to be published", ["service"]
)
