"""`loyalty import balances FILE`: members' opening balances from the loyalty system this one
replaces, read from a CSV file (with a header) or NDJSON, one transaction per batch of rows.

Each row: `member_id`, `points` (a positive integer), `expires_at` (RFC 3339 with an offset;
optional: as the program's expiry policy dates points earned now), `source` (the old system, at
most 64 characters) and optionally `id` (the row's id in the old system; the line number
otherwise). A row is imported at most once per (source, member_id, id or line): a second run,
or a run again after an interruption, skips the rows done and reports them as already
imported."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from loyalty_points.ledger.expiry import LotExpiry
from loyalty_points.ledger.repository import lock_accounts
from loyalty_points.opening.repository import OpeningRow, import_rows
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import is_member_id

BATCH = 1000
MAX_SOURCE = 64


@dataclass(frozen=True, slots=True)
class Refusal:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    already: int = 0
    refused: list[Refusal] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.imported + self.already + len(self.refused)

    def line(self) -> str:
        return (
            f"rows={self.rows} imported={self.imported} already_imported={self.already} "
            f"refused={len(self.refused)}"
        )


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, the row's fields) per data row, or (line, why it cannot be read)."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            line = reader.line_num + 1
            for record in reader:
                if None in record:
                    yield line, "more fields than the header names"
                else:
                    yield line, {k: v for k, v in record.items() if v not in (None, "")}
                line = reader.line_num + 1
    elif path.suffix.lower() in (".ndjson", ".jsonl"):
        with path.open("rb") as f:
            for n, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    value = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    yield n, "not a JSON object"
                    continue
                if not isinstance(value, dict):
                    yield n, "not a JSON object"
                    continue
                yield n, {k: v for k, v in value.items() if v is not None}
    else:
        raise ValueError(f"{path}: expected a .csv, .ndjson or .jsonl file")


def parse_row(
    line: int, fields: dict[str, Any], *, now: datetime, expiry: LotExpiry
) -> OpeningRow | str:
    """The row to import, or why it is refused."""
    member_id = fields.get("member_id")
    if not isinstance(member_id, str) or not is_member_id(member_id):
        return "bad member_id: 1-128 characters, no surrounding spaces, no NUL"
    points = fields.get("points")
    if isinstance(points, str) and points.strip().lstrip("+-").isdigit():
        points = int(points)
    if not isinstance(points, int) or isinstance(points, bool):
        return "bad points: not an integer"
    if points <= 0:
        return f"bad points: {points} is not positive"
    if points > 2**53:
        return f"bad points: {points} is too large"
    raw_expiry = fields.get("expires_at")
    if raw_expiry is None:
        expires_at = expiry.expires_at(now)
    else:
        if not isinstance(raw_expiry, str):
            return "bad expires_at: not an RFC 3339 time"
        try:
            expires_at = datetime.fromisoformat(raw_expiry.replace("z", "Z"))
        except ValueError:
            return f"bad expires_at: {raw_expiry!r} is not an RFC 3339 time"
        if "T" not in raw_expiry.upper() or expires_at.tzinfo is None:
            return f"bad expires_at: {raw_expiry!r} has no date, time and offset"
        if expires_at <= now:
            return f"expires_at {raw_expiry} is in the past"
    source = fields.get("source")
    if not isinstance(source, str) or not source.strip():
        return "bad source: missing"
    if len(source) > MAX_SOURCE:
        return f"bad source: longer than {MAX_SOURCE} characters"
    row_id = fields.get("id", line)
    if isinstance(row_id, bool) or not isinstance(row_id, (str, int)) or str(row_id) == "":
        return "bad id: not a string or integer"
    return OpeningRow(
        source=source,
        member_id=member_id,
        row_key=str(row_id),
        points=points,
        expires_at=expires_at,
    )


async def import_balances(
    dsn: str,
    path: Path,
    *,
    now: datetime,
    expiry: LotExpiry | None = None,
    expiry_days: int | None = None,
    batch: int = BATCH,
    on_progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import the file's rows, a transaction per `batch`; rows refused are reported, not
    imported, and do not stop the others. Interrupted, a run again finishes the job. A row
    without `expires_at` expires as the program's `expiry` dates points earned now (or
    `expiry_days` after now, for a caller that knows only that)."""
    if expiry is None:
        if expiry_days is None:
            raise ValueError("say how rows without expires_at expire: expiry or expiry_days")
        expiry = LotExpiry.after_days(expiry_days)
    report = ImportReport()
    conn: Connection = await asyncpg.connect(dsn)
    try:
        pending: list[OpeningRow] = []
        seen: set[int] = set()  # the keys' hashes: a few bytes per row of a big file
        for line, fields in read_rows(path):
            parsed = (
                fields
                if isinstance(fields, str)
                else parse_row(line, fields, now=now, expiry=expiry)
            )
            if isinstance(parsed, str):
                report.refused.append(Refusal(line, parsed))
                continue
            key = hash((parsed.source, parsed.member_id, parsed.row_key))
            if key in seen:
                report.refused.append(Refusal(line, f"id {parsed.row_key} again in this file"))
                continue
            seen.add(key)
            pending.append(parsed)
            if len(pending) >= batch:
                await _import_batch(conn, pending, now, report)
                pending = []
                if on_progress is not None:
                    on_progress(report)
        await _import_batch(conn, pending, now, report)
        if on_progress is not None:
            on_progress(report)
    finally:
        await conn.close()
    return report


async def _import_batch(
    conn: Connection, rows: list[OpeningRow], now: datetime, report: ImportReport
) -> None:
    if not rows:
        return
    async with conn.transaction():
        await lock_accounts(conn, sorted({r.member_id for r in rows}))
        imported = await import_rows(conn, rows, now)
    report.imported += imported
    report.already += len(rows) - imported


def csv_of(report: ImportReport) -> str:
    """The refused rows as CSV (line, reason)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reason"])
    for r in report.refused:
        writer.writerow([r.line, r.reason])
    return out.getvalue()
