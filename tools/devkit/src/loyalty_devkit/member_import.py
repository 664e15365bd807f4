"""`loyalty import members FILE`: members from the loyalty system this one replaces, read from a
CSV file (with a header) or NDJSON, each part written through the service that owns it: contacts,
consents and locale to notifications (`loyalty_notifications.imported`), tier with its validity
and qualifying spend to tiers (`loyalty_tiers.imported`), a transaction per batch in each.

Each row: `member_id`, `source` (the old system, at most 64 characters) and at least one part:
- contacts: `name` (needed with any contact), `email`, `phone`, `locale` (`zh-CN` or `en`),
  `consent_email`, `consent_sms`, `consent_push` (true/false, false when left out; NDJSON may
  give `consents` as in member.enrolled), checked as member.enrolled checks them;
- tier: `tier` (a tier of the program), `tier_valid_until` (RFC 3339 with an offset, in the
  future; needed with a tier above the base), `qualifying_spend` (the program's currency, at
  least 0, at most 2 decimals).

A row is checked whole before anything is written, so a refused row changes nothing anywhere.
An accepted row is written to each service once per (source, member): a run again, or after an
interruption, skips what is done and finishes what is not (a row interrupted between the two
services' commits). A member on more than one line with different data is refused on each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from loyalty_notifications.imported.repository import ImportedContact
from loyalty_notifications.imported.service import import_members as import_contacts
from loyalty_points.opening.service import MAX_SOURCE, ImportReport, Refusal, read_rows
from loyalty_shared.db import Connection
from loyalty_shared.db.pool import connect
from loyalty_shared.events.commerce import MemberProfileV1
from loyalty_shared.http.auth import ADMIN_SCOPE, Principal, is_member_id
from loyalty_shared.program.schema import Program
from loyalty_tiers.imported.repository import ImportedMember
from loyalty_tiers.imported.service import import_members as import_tiers

BATCH = 2000
#: Who the services' audit logs say imported the rows.
IMPORTER = Principal(
    subject="system:import", scopes=frozenset({ADMIN_SCOPE}), acting_as=ADMIN_SCOPE
)
CONTACT_FIELDS = ("name", "email", "phone", "locale", "consents")
CONSENTS = ("email", "sms", "push")
TIER_FIELDS = ("tier", "tier_valid_until", "qualifying_spend")
MAX_SPEND = Decimal("1e14")  # numeric(16,2)
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


@dataclass(frozen=True, slots=True)
class MemberRow:
    member_id: str
    contact: ImportedContact | None
    tiers: ImportedMember | None


@dataclass
class MembersReport(ImportReport):
    """`imported`: rows a service took now; `already`: rows every service had taken before (or
    the same row again in the file); `contacts_kept`: rows whose contacts were not stored, the
    notifications service knowing the member already (the shop's profile is newer) or having
    erased them."""

    contacts_kept: int = 0

    def line(self) -> str:
        return f"{super().line()} contacts_kept={self.contacts_kept}"


def _flag(value: Any, name: str) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    return f"bad {name}: true or false"


def _contact(member_id: str, source: str, fields: dict[str, Any]) -> ImportedContact | str:
    consents = fields.get("consents")
    if consents is None:
        consents = {}
        for channel in CONSENTS:
            flag = _flag(fields.get(f"consent_{channel}", False), f"consent_{channel}")
            if isinstance(flag, str):
                return flag
            consents[channel] = flag
    if "name" not in fields:
        return "bad name: needed with the member's contacts"
    try:
        profile = MemberProfileV1.model_validate(
            {
                "member_id": member_id,
                **{k: fields[k] for k in ("name", "email", "phone", "locale") if k in fields},
                "consents": consents,
            }
        )
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "contacts"
        return f"bad {where}: {error['msg']}"
    return ImportedContact(
        source=source,
        member_id=member_id,
        name=profile.name,
        email=str(profile.email) if profile.email else None,
        phone=profile.phone,
        locale=profile.locale,
        consent_email=profile.consents.email,
        consent_sms=profile.consents.sms,
        consent_push=profile.consents.push,
    )


def _time(raw: Any, name: str, now: datetime) -> datetime | str:
    if not isinstance(raw, str):
        return f"bad {name}: not an RFC 3339 time"
    try:
        at = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        return f"bad {name}: {raw!r} is not an RFC 3339 time"
    if "T" not in raw.upper() or at.tzinfo is None:
        return f"bad {name}: {raw!r} has no date, time and offset"
    if at <= now:
        return f"{name} {raw} is in the past"
    return at


def _tiers(
    member_id: str, source: str, fields: dict[str, Any], program: Program, now: datetime
) -> ImportedMember | str:
    tier = fields.get("tier")
    if tier is not None and (not isinstance(tier, str) or program.tier(tier) is None):
        names = ", ".join(t.name for t in program.tiers.ladder)
        return f"unknown tier {tier!r}: the program's are {names}"
    valid_until = None
    if "tier_valid_until" in fields:
        if tier is None:
            return "bad tier_valid_until: given without a tier"
        parsed = _time(fields["tier_valid_until"], "tier_valid_until", now)
        if isinstance(parsed, str):
            return parsed
        valid_until = parsed
    elif tier is not None and tier != program.base_tier.name:
        return f"bad tier_valid_until: needed with tier {tier}"
    raw_spend = fields.get("qualifying_spend", "0")
    if isinstance(raw_spend, bool) or not isinstance(raw_spend, (str, int, float)):
        return "bad qualifying_spend: not a number"
    try:
        spend = Decimal(str(raw_spend).strip())
    except InvalidOperation:
        return "bad qualifying_spend: not a number"
    if not spend.is_finite():
        return "bad qualifying_spend: not a number"
    if spend < 0:
        return f"bad qualifying_spend: {raw_spend} is negative"
    if spend >= MAX_SPEND or spend != spend.quantize(Decimal("0.01")):
        return f"bad qualifying_spend: {raw_spend} has more than 2 decimals or is too large"
    return ImportedMember(
        source=source,
        member_id=member_id,
        tier=tier,
        valid_until=valid_until,
        qualifying_spend=spend.quantize(Decimal("0.01")),
    )


def parse_row(fields: dict[str, Any], *, program: Program, now: datetime) -> MemberRow | str:
    """The row's parts to import, or why it is refused."""
    member_id = fields.get("member_id")
    if not isinstance(member_id, str) or not is_member_id(member_id):
        return "bad member_id: 1-128 characters, no surrounding spaces, no NUL"
    source = fields.get("source")
    if not isinstance(source, str) or not source.strip():
        return "bad source: missing"
    if len(source) > MAX_SOURCE:
        return f"bad source: longer than {MAX_SOURCE} characters"
    contact: ImportedContact | None = None
    tiers: ImportedMember | None = None
    if any(k in fields for k in CONTACT_FIELDS) or any(k.startswith("consent_") for k in fields):
        parsed_contact = _contact(member_id, source, fields)
        if isinstance(parsed_contact, str):
            return parsed_contact
        contact = parsed_contact
    if any(k in fields for k in TIER_FIELDS):
        parsed_tiers = _tiers(member_id, source, fields, program, now)
        if isinstance(parsed_tiers, str):
            return parsed_tiers
        tiers = parsed_tiers
    if contact is None and tiers is None:
        return "nothing to import: no contacts, tier or qualifying_spend"
    return MemberRow(member_id=member_id, contact=contact, tiers=tiers)


@dataclass(frozen=True, slots=True)
class _Survey:
    """The file read once: how many rows, and the members on several lines with different
    data (by the hash of their id)."""

    rows: int
    conflicting: frozenset[int]


def _survey(path: Path) -> _Survey:
    seen: dict[int, int] = {}  # hash of the member id -> hash of the row: a few bytes a row
    conflicting: set[int] = set()
    rows = 0
    for _, fields in read_rows(path):
        rows += 1
        if isinstance(fields, str) or not isinstance(fields.get("member_id"), str):
            continue
        member, content = hash(fields["member_id"]), hash(_canonical(fields))
        if seen.setdefault(member, content) != content:
            conflicting.add(member)
    return _Survey(rows=rows, conflicting=frozenset(conflicting))


def _canonical(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


async def import_members(
    tiers_dsn: str,
    notifications_dsn: str,
    path: Path,
    *,
    program: Program,
    now: datetime,
    batch: int = BATCH,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[MembersReport], None] | None = None,
) -> MembersReport:
    """Import the file's rows, a transaction per `batch` in each service; rows refused are
    reported, not imported, and do not stop the others. Interrupted, a run again finishes."""
    survey = _survey(path)
    if on_total is not None:
        on_total(survey.rows)
    report = MembersReport()
    tiers = await connect(tiers_dsn)
    try:
        notifications = await connect(notifications_dsn)
        try:
            checked = _checked(path, survey, program, now, report)

            def take() -> list[MemberRow]:
                return list(islice(checked, batch))

            pending = await asyncio.to_thread(take)
            while True:
                # the next batch is read and checked while the databases write this one
                writing = asyncio.create_task(
                    _import_batch(tiers, notifications, program, pending, now, report)
                )
                following = await asyncio.to_thread(take)
                await writing
                if on_progress is not None:
                    on_progress(report)
                if not following:
                    break
                pending = following
        finally:
            await notifications.close()
    finally:
        await tiers.close()
    return report


def _checked(
    path: Path, survey: _Survey, program: Program, now: datetime, report: MembersReport
) -> Iterator[MemberRow]:
    """The rows to import; the others are counted in `report` (refused, or a repeat)."""
    first: dict[int, int] = {}  # the line a member was seen on first (only for the conflicting)
    seen: set[int] = set()  # members imported by an earlier line: a later one repeats it
    for line, fields in read_rows(path):
        if isinstance(fields, str):
            report.refused.append(Refusal(line, fields))
            continue
        member_id = fields.get("member_id")
        if isinstance(member_id, str) and hash(member_id) in survey.conflicting:
            at = first.setdefault(hash(member_id), line)
            where = "other lines" if at == line else f"line {at}"
            report.refused.append(
                Refusal(line, f"member {member_id} is also on {where} with different data")
            )
            continue
        parsed = parse_row(fields, program=program, now=now)
        if isinstance(parsed, str):
            report.refused.append(Refusal(line, parsed))
            continue
        key = hash(parsed.member_id)
        if key in seen:
            report.already += 1  # the same line again
            continue
        seen.add(key)
        yield parsed


async def _import_batch(
    tiers: Connection,
    notifications: Connection,
    program: Program,
    rows: list[MemberRow],
    now: datetime,
    report: MembersReport,
) -> None:
    if not rows:
        return
    async with tiers.transaction():
        tiered = await import_tiers(
            tiers,
            program,
            [r.tiers for r in rows if r.tiers is not None],
            principal=IMPORTER,
            now=now,
        )
    async with notifications.transaction():
        contacted = await import_contacts(
            notifications,
            [r.contact for r in rows if r.contact is not None],
            principal=IMPORTER,
            now=now,
        )
    taken = tiered | {c.member_id for c in contacted}
    imported = sum(1 for r in rows if r.member_id in taken)
    report.imported += imported
    report.already += len(rows) - imported
    report.contacts_kept += sum(1 for c in contacted if not c.stored)
