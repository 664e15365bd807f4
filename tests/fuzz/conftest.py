"""The fuzz tests run against the same in-process services as the security tests (real broker,
real PostgreSQL, started once for the package); the budget is in `budget.py`."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import BUDGET, EXAMPLES
from tests.security.conftest import running_services

__all__ = ["running_services"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(__file__.rsplit("/", 1)[0]):
            item.add_marker(pytest.mark.timeout(EXAMPLES.timeout_s))


def pytest_report_header() -> str:
    return f"fuzz budget: {BUDGET} ({EXAMPLES})"
