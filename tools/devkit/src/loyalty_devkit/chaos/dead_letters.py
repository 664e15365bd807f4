"""The dead-letter topic after a run, against the invalid records the workload published."""

from __future__ import annotations

import contextlib
from collections import defaultdict

import orjson
from aiokafka import AIOKafkaConsumer

from loyalty_devkit.chaos.cluster import Cluster
from loyalty_devkit.chaos.databases import DB_ERRORS, fetch
from loyalty_devkit.chaos.report import Report, log
from loyalty_devkit.chaos.workload import PURCHASES, Publish, Workload

HANDLER_REFUSALS = frozenset(
    {"duplicate-order", "refund-exceeds-order", "duplicate-refund", "member-mismatch"}
)


async def check_dead_letters(cluster: Cluster, workload: Workload, report: Report) -> list[str]:
    """Every invalid record the workload published, on `commerce.purchases.dlq` once per
    service that reads the topic (distinct positions: the relay may publish a row twice),
    unchanged, with the right `error.code`."""
    assert cluster.broker is not None
    kinds: dict[bytes, str] = {}
    published = {s.value for s in workload.order if isinstance(s, Publish)}
    for step in workload.order:
        if isinstance(step, Publish) and step.kind not in ("duplicate", "event"):
            kinds.setdefault(step.value, step.kind)
    codes = {
        "bad-json": "invalid-json",
        "negative-total": "invalid-data",
        "subject-mismatch": "subject-mismatch",
        "duplicate-order": "duplicate-order",
        "refund-exceeds": "refund-exceeds-order",
        "refund-replay": "duplicate-refund",
        "refund-other-member": "member-mismatch",
    }
    everyone = ("points", "tiers", "feedback", "notifications")
    judges = ("points", "tiers", "feedback")  # every service that applies refunds
    readers = {
        "invalid-json": everyone,
        "invalid-data": everyone,
        "subject-mismatch": everyone,
        "duplicate-order": ("points",),
        "refund-exceeds-order": judges,
        "duplicate-refund": judges,
        "member-mismatch": judges,
    }
    expected: dict[tuple[str, str], int] = defaultdict(int)
    expected_values: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    # An erased member's dead letters may go out emptied, their parked refunds cut down
    # (docs/operations.md#member-data-rights): the check is about everyone else's.
    erased = {m.encode() for m, plan in workload.members.items() if plan.identity}
    for step in workload.order:
        if not isinstance(step, Publish) or step.topic != PURCHASES or step.key in erased:
            continue
        code = codes.get(kinds.get(step.value, ""))
        if code is None:
            continue
        for service in readers[code]:
            expected[(service, code)] += 1
            expected_values[(service, code)].append(step.value)
    consumer = AIOKafkaConsumer(
        f"{PURCHASES}.dlq",
        bootstrap_servers=cluster.broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=200,
    )
    await consumer.start()
    positions: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    values: dict[tuple[str, str], set[bytes | None]] = defaultdict(set)
    where_of: dict[tuple[str, str], dict[bytes | None, set[tuple[str, ...]]]] = defaultdict(
        lambda: defaultdict(set)
    )
    changed = 0
    try:
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for record in records:
                    if record.key in erased:
                        continue
                    headers = {k: v.decode(errors="replace") for k, v in record.headers}
                    key = (headers.get("error.service", "?"), headers.get("error.code", "?"))
                    where = (
                        headers.get("error.partition", ""),
                        headers.get("error.offset", ""),
                        "" if "error.partition" in headers else str(record.value),
                    )
                    positions[key].add(where)
                    values[key].add(record.value)
                    where_of[key][record.value].add(where)
                    if record.value not in published:
                        changed += 1
    finally:
        await consumer.stop()
    got = {key: len(where) for key, where in positions.items()}
    problems = []
    for key in sorted(set(expected) | set(got)):
        # A record refused by a handler (not at decoding) whose exact copy sits in the same
        # batch is a duplicate there, not a second dead letter; in another batch it is dead-
        # lettered again: anything from one per distinct record to one per copy is right.
        low = len(set(expected_values.get(key, [])))
        if key[1] in HANDLER_REFUSALS and low <= got.get(key, 0) <= expected.get(key, 0):
            continue
        if expected.get(key, 0) != got.get(key, 0):
            missing = [v for v in expected_values.get(key, []) if v not in values[key]]
            extra = [v for v in values[key] if v not in set(expected_values.get(key, []))]
            parked = await _still_parked(cluster, key[0], missing)
            text = (
                f"{PURCHASES}.dlq: {key[0]} {key[1]} expected {expected.get(key, 0)}, "
                f"got {got.get(key, 0)}; missing {_brief(missing)}"
                + (f" ({parked} of them still parked in {key[0]})" if parked else "")
                + f"; unexpected {_brief(extra)}"
            )
            copies = expected_values.get(key, [])
            over = [v for v in set(copies) if len(where_of[key].get(v, set())) > copies.count(v)]
            if left_parked(key[1], missing, extra, parked):
                report.findings.append(text)
            elif judged_again(key[1], missing, extra, over):
                report.findings.append(
                    f"{text}; dead-lettered at more positions than published (a refused "
                    f"parked refund leaves the inbox, its record read again is refused "
                    f"again): {_brief(over)}"
                )
            else:
                problems.append(text)
    if changed:
        problems.append(f"{PURCHASES}.dlq: {changed} records not as published")
    log(f"dead letters: {sum(got.values())} distinct, by service and code {dict(got)}")
    return problems


async def _still_parked(cluster: Cluster, service: str, values: list[bytes]) -> int:
    """How many of these records the service still keeps waiting for their purchase."""
    ids = []
    for value in values:
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
            ids.append(str(orjson.loads(value).get("id")))
    if not ids or service not in ("points", "tiers", "feedback"):
        return 0
    try:
        rows = await fetch(
            cluster,
            service,
            "SELECT count(*) AS n FROM parked_record WHERE event_id = ANY($1::text[])",
            ids,
        )
    except DB_ERRORS:
        return 0
    return int(rows[0]["n"])


def left_parked(
    code: str, missing: list[bytes], extra: list[bytes] | list[bytes | None], parked: int
) -> bool:
    """A member-mismatch shortfall that is only refunds still parked: a refund naming another
    member's order is on another partition than the purchase, parked while the purchase was
    applied by the other consumer, it waits for the sweeper (unknown-order after days). No
    balance changes: a finding, not a mismatch. `missing` has one entry per published copy (a
    record published twice is missing twice) and `parked` counts distinct parked records."""
    return code == "member-mismatch" and bool(missing) and not extra and parked == len(set(missing))


def judged_again(
    code: str, missing: list[bytes], extra: list[bytes] | list[bytes | None], over: list[bytes]
) -> bool:
    """A surplus that is only records dead-lettered at more positions than they were published
    (and nothing missing): a refund refused when its purchase came out of the park has its id
    released from the inbox (so a corrected one under the same id applies), so the same record
    read again after a kill or a rebalance is judged again and dead-lettered a second time (seed
    201). Nothing applied, no balance changes: a finding, not a mismatch."""
    return code in HANDLER_REFUSALS and bool(over) and not missing and not extra


def _brief(values: list[bytes] | list[bytes | None]) -> str:
    """Which records, by member and event id (the first few)."""
    out = []
    for value in values[:5]:
        try:
            body = orjson.loads(value or b"")
            data = body.get("data") or {}
            out.append(f"{body.get('subject')} event {body.get('id')} order {data.get('order_id')}")
        except orjson.JSONDecodeError:
            out.append(repr((value or b"")[:60]))
    return "[" + "; ".join(out) + "]"
