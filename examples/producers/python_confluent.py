"""Publish one `purchase.completed` to the loyalty platform with confluent-kafka (librdkafka;
docs/events.md).

    python python_confluent.py MEMBER_ID ORDER_ID TOTAL [--time RFC3339] [--dry-run]

Environment (defaults: the local broker of `make run`):

- KAFKA_BOOTSTRAP: host:port[,host:port...] (127.0.0.1:9092)
- KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: SCRAM-SHA-512 over TLS (the KafkaUser and its secret)
- KAFKA_CA_FILE: the cluster CA (ca.crt of Strimzi's loyalty-cluster-ca-cert); TLS without SASL
  when only this is set
- KAFKA_ENABLE_IDEMPOTENCE: true (default) or false (librdkafka's idempotent producer works
  against the local broker too)

Prints one JSON line: the event id, topic, partition and offset (with --dry-run, the record it
would send, and connects to nothing). Self-contained so that it can be copied alone; the other
examples in this folder build the same record for the same order (tests check it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

TOPIC = "commerce.purchases"
SOURCE = "shop/web"
#: The shop's own namespace for event ids: generate one once (uuid.uuid4()) and never change it,
#: or a retry after the change would publish a second id for the same order.
SHOP_EVENT_NAMESPACE = uuid.UUID("0b6f7c64-4a8e-4d55-9a55-3c1c2b7d5e10")
MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
#: How long to wait for the broker's acknowledgement (librdkafka retries within it).
DELIVERY_TIMEOUT_S = 60


def event_id(event_type: str, business_key: str) -> str:
    """The same order (or refund, with its refund id) always gets the same id: a retry after a
    crash, or a second run, publishes a duplicate the platform ignores."""
    return str(uuid.uuid5(SHOP_EVENT_NAMESPACE, f"{event_type}:{business_key}"))


def purchase_completed(member_id: str, order_id: str, total: str, time: str) -> dict[str, Any]:
    """The CloudEvent in structured mode (contract section 1). `time` is when the order was
    completed (it starts the return window), from your order, not the moment of sending."""
    return {
        "specversion": "1.0",
        "id": event_id("purchase.completed", order_id),
        "source": SOURCE,
        "type": "purchase.completed",
        "time": time,
        "subject": member_id,
        "datacontenttype": "application/json",
        "data": {
            "order_id": order_id,
            "member_id": member_id,
            "channel": "online",
            "currency": "CNY",
            "total": total,
            # the order's lines; one here, for the example
            "items": [{"sku": "sku-1", "category": "general", "quantity": 1, "unit_price": total}],
        },
    }


@dataclass(frozen=True)
class Connection:
    bootstrap: str = "127.0.0.1:9092"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ca_file: str | None = None
    idempotence: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Connection:
        username = env.get("KAFKA_SASL_USERNAME") or None
        password = env.get("KAFKA_SASL_PASSWORD") or None
        if username and not password:
            raise ValueError("KAFKA_SASL_USERNAME is set but KAFKA_SASL_PASSWORD is not")
        idempotence = env.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower()
        if idempotence not in {"true", "false"}:
            raise ValueError("KAFKA_ENABLE_IDEMPOTENCE must be true or false")
        return cls(
            bootstrap=env.get("KAFKA_BOOTSTRAP") or cls.bootstrap,
            sasl_username=username,
            sasl_password=password,
            ca_file=env.get("KAFKA_CA_FILE") or None,
            idempotence=idempotence == "true",
        )

    def config(self) -> dict[str, str | int | bool]:
        config: dict[str, str | int | bool] = {
            "bootstrap.servers": self.bootstrap,
            "client.id": "shop-loyalty-events",
            "acks": "all",  # written to every in-sync replica before it counts as sent
            "enable.idempotence": self.idempotence,  # no duplicates or reordering on retries
            "compression.type": "gzip",  # built into every client; the platform reads any codec
            "linger.ms": 5,  # a few ms of batching; a web request sends one event at a time
            "delivery.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
            # Hash keys as the Java client, kafkajs and aiokafka do (murmur2): librdkafka's
            # default (CRC32) would put a member on another partition than those producers.
            "partitioner": "murmur2_random",
        }
        if self.sasl_username is None and self.ca_file is None:
            return config
        config["security.protocol"] = "SSL" if self.sasl_username is None else "SASL_SSL"
        if self.ca_file is not None:
            config["ssl.ca.location"] = self.ca_file  # otherwise the system's CAs
        if self.sasl_username is not None and self.sasl_password is not None:
            config["sasl.mechanism"] = "SCRAM-SHA-512"
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password
        return config


def publish(connection: Connection, event: dict[str, Any]) -> dict[str, Any]:
    producer = Producer(connection.config())
    delivered: list[tuple[KafkaError | None, Message]] = []
    producer.produce(
        TOPIC,
        key=event["subject"].encode(),  # the member id: one member, one partition, in order
        value=json.dumps(event).encode(),
        headers=[("content-type", b"application/cloudevents+json")],
        on_delivery=lambda error, message: delivered.append((error, message)),
    )
    producer.flush(DELIVERY_TIMEOUT_S + 5)
    if not delivered:
        raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT))
    (error, message), *_ = delivered
    if error is not None:
        raise KafkaException(error)
    return {
        "id": event["id"],
        "topic": TOPIC,
        "partition": message.partition(),
        "offset": message.offset(),
    }


def _id(text: str) -> str:
    if not 1 <= len(text) <= 128 or text != text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError("1 to 128 characters, no surrounding spaces")
    return text


def _money(text: str) -> str:
    if not MONEY.fullmatch(text):
        raise argparse.ArgumentTypeError("a decimal with at most 2 fractional digits, e.g. 399.00")
    return text


def _time(text: str) -> str:
    invalid = argparse.ArgumentTypeError("RFC 3339 with an offset, e.g. 2026-11-20T10:15:00+08:00")
    if RFC_3339.fullmatch(text) is None:
        raise invalid
    try:
        datetime.fromisoformat(text)  # a real date and time
    except ValueError:
        raise invalid from None
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Publish one purchase.completed (confluent-kafka)."
    )
    parser.add_argument("member_id", type=_id)
    parser.add_argument("order_id", type=_id)
    parser.add_argument("total", type=_money)
    parser.add_argument("--time", type=_time, help="when the order was completed (default: now)")
    parser.add_argument("--dry-run", action="store_true", help="print the record, send nothing")
    args = parser.parse_args(argv)
    try:
        connection = Connection.from_env(os.environ)
    except ValueError as error:
        parser.error(str(error))
    time = args.time or datetime.now(UTC).isoformat(timespec="seconds")
    event = purchase_completed(args.member_id, args.order_id, args.total, time)
    if args.dry_run:
        headers = {"content-type": "application/cloudevents+json"}
        print(
            json.dumps(
                {"topic": TOPIC, "key": event["subject"], "headers": headers, "event": event}
            )
        )
        return 0
    try:
        print(json.dumps(publish(connection, event)))
    except KafkaException as error:
        print(f"not published: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
