"""The fuzz tests run against the same in-process services as the security tests (real broker,
real PostgreSQL, started once for the package); the budget is in `budget.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.fuzz.budget import BUDGET, EXAMPLES
from tests.security.conftest import RunningService, running_services

__all__ = ["running_services"]


@pytest.fixture(scope="package")
async def databases(
    running_services: dict[str, RunningService],
) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    """A connection to each service's database, to look at it between requests."""
    conns = {name: await asyncpg.connect(s.dsn) for name, s in running_services.items()}
    yield conns
    for conn in conns.values():
        await conn.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(__file__.rsplit("/", 1)[0]):
            item.add_marker(pytest.mark.timeout(EXAMPLES.timeout_s))


def pytest_report_header() -> str:
    return f"fuzz budget: {BUDGET} ({EXAMPLES})"
