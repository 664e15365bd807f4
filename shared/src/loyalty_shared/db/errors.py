"""Which database failures are worth retrying: the rest are bugs or bad input. A schema behind
the code (a migration the Job has not applied yet) is one of them: it heals by itself."""

from __future__ import annotations

import asyncio

import asyncpg

_TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
    "08000",
    "08003",
    "08006",
    "08001",
    "08004",
}

#: The statement names something the schema does not have (yet): class 42's "undefined" codes.
_SCHEMA_BEHIND_SQLSTATES = {
    "42P01",  # undefined_table
    "42703",  # undefined_column
    "42883",  # undefined_function
    "42704",  # undefined_object (a type, an index, a constraint)
}


def is_schema_behind(exc: BaseException) -> bool:
    """The database has not been migrated to what the code expects (or the code has a typo)."""
    return isinstance(exc, asyncpg.PostgresError) and (
        getattr(exc, "sqlstate", None) in _SCHEMA_BEHIND_SQLSTATES
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        return getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES or is_schema_behind(exc)
    return isinstance(
        exc,
        OSError | asyncio.TimeoutError | asyncpg.InterfaceError | ConnectionError,
    )
