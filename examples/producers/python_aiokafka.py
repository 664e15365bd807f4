"""Publish one `purchase.completed` to the loyalty platform with aiokafka (docs/events.md).

    python python_aiokafka.py MEMBER_ID ORDER_ID TOTAL [--time RFC3339] [--dry-run]

Environment (defaults: the local broker of `make run`):

- KAFKA_BOOTSTRAP: host:port[,host:port...] (127.0.0.1:9092)
- KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: SCRAM-SHA-512 over TLS (the KafkaUser and its secret)
- KAFKA_CA_FILE: the cluster CA (ca.crt of Strimzi's loyalty-cluster-ca-cert); TLS without SASL
  when only this is set
- KAFKA_ENABLE_IDEMPOTENCE: true (default) or false; false against the local broker, which
  refuses aiokafka's InitProducerId request

Prints one JSON line: the event id, topic, partition and offset (with --dry-run, the record it
would send, and connects to nothing). Self-contained so that it can be copied alone; the other
examples in this folder build the same record for the same order (tests check it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

TOPIC = "commerce.purchases"
SOURCE = "shop/web"
#: The shop's own namespace for event ids: generate one once (uuid.uuid4()) and never change it,
#: or a retry after the change would publish a second id for the same order.
SHOP_EVENT_NAMESPACE = uuid.UUID("0b6f7c64-4a8e-4d55-9a55-3c1c2b7d5e10")
MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


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

    def security(self) -> dict[str, Any]:
        if self.sasl_username is None and self.ca_file is None:
            return {"security_protocol": "PLAINTEXT"}
        options: dict[str, Any] = {
            "security_protocol": "SSL" if self.sasl_username is None else "SASL_SSL",
            # the cluster CA when given, the system's CAs otherwise
            "ssl_context": ssl.create_default_context(cafile=self.ca_file),
        }
        if self.sasl_username is not None:
            options["sasl_mechanism"] = "SCRAM-SHA-512"
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="shop-loyalty-events",
            acks="all",  # written to every in-sync replica before it counts as sent
            enable_idempotence=self.idempotence,  # no duplicates or reordering on retries
            compression_type="gzip",  # built into every client; the platform reads any Kafka codec
            linger_ms=5,  # a few ms of batching; a web request sends one event at a time
            request_timeout_ms=30_000,
            **self.security(),
        )


async def publish(connection: Connection, event: dict[str, Any]) -> dict[str, Any]:
    producer = connection.producer()
    try:
        await producer.start()
        sent = await producer.send_and_wait(
            TOPIC,
            key=event["subject"].encode(),  # the member id: one member, one partition, in order
            value=json.dumps(event).encode(),
            headers=[("content-type", b"application/cloudevents+json")],
        )
    finally:
        await producer.stop()
    return {"id": event["id"], "topic": TOPIC, "partition": sent.partition, "offset": sent.offset}


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
    parser = argparse.ArgumentParser(description="Publish one purchase.completed (aiokafka).")
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
        print(json.dumps(asyncio.run(publish(connection, event))))
    except KafkaError as error:
        print(f"not published: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
