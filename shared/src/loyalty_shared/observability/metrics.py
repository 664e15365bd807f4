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
#: A subset of the retries: the batch met a table, column or function the schema lacks (the
#: migration Job has not applied the release's migrations yet); never dead-lettered.
SCHEMA_BEHIND_RETRIES = Counter(
    "loyalty_consumer_schema_behind_retries_total",
    "Batches retried because the database schema is behind the code (a migration not applied)",
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
OUTBOX_OLDEST_AGE = Gauge(
    "loyalty_outbox_oldest_age_seconds",
    "Age of the oldest outbox record waiting to be published (0 when empty)",
    ["service"],
)

#: Seconds from the record's timestamp (when the producer wrote it to Kafka) to the commit of
#: the batch that applied it: how late the service's effects are. The event's own `time` is
#: business time (a purchase may be reported days later), so it is not used.
PROCESSING_SECONDS = Histogram(
    "loyalty_event_processing_seconds",
    "Seconds from an event's record timestamp to the database commit that applied it",
    ["service", "topic", "type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

#: Records behind, per partition this process owns: the high watermark the last fetch reported
#: minus the next offset this process applied. Apache Kafka reports the true high watermark;
#: the local broker (tansu) answers the last batch's base offset + 1, so there it may read low
#: (never for correctness: nothing decides anything from it). Strimzi's Kafka Exporter
#: (`kafka_consumergroup_lag`) is the group-wide view from committed offsets.
CONSUMER_LAG = Gauge(
    "loyalty_consumer_lag_records",
    "Records between the next offset to apply and the partition's high watermark, as fetched",
    ["service", "topic", "partition"],
)

# HTTP: requests (rate, errors by status) and their duration, by route template, never by the
# raw path (a member id per label value would be unbounded).
HTTP_REQUESTS = Counter(
    "loyalty_http_requests_total",
    "HTTP requests served, by method, route template and status",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "loyalty_http_request_duration_seconds",
    "Time to serve an HTTP request, by method and route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
