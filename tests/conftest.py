"""Real servers for the suite: PostgreSQL and the Kafka-protocol broker, started here.

- PostgreSQL: the embedded server (PostgreSQL 18), started once per session (per worker under
  `pytest -n`), or an existing server named by LOYALTY_TEST_DATABASE_URL (for example the
  machine's PostgreSQL 15). Every test gets databases of its own, dropped afterwards.
- Broker: a fresh tansu per test, on a free port, with every contract topic created. Fresh
  because tansu keeps everything in memory and slows down as partitions age, and because a
  test's consumer groups and offsets must not meet another test's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from loyalty_devkit.local_broker import LocalBroker, create_topics, free_port
from loyalty_devkit.local_postgres import LocalPostgres
from loyalty_points.app import create_app as create_points_app
from loyalty_points.settings import PointsSettings
from loyalty_tiers.app import create_app as create_tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import client_of, on_test_broker, running
from tests.support.databases import Databases

PARTITIONS = 4
TESTS = Path(__file__).parent
#: packages whose services are started once for the package (a package-scoped fixture)
SHARED_SERVICES = ("security", "fuzz")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n` (make test), tests that share what cannot exist twice run on one worker,
    one after another: the services a package starts once, and fixed ports."""
    for item in items:
        package = item.path.relative_to(TESTS).parts[0]
        if package in SHARED_SERVICES:
            item.add_marker(pytest.mark.xdist_group(f"{package}-services"))
        if item.get_closest_marker("fixed_ports"):
            item.add_marker(pytest.mark.xdist_group("fixed-ports"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database."""
    existing = os.environ.get("LOYALTY_TEST_DATABASE_URL")
    if existing:
        yield existing
        return
    server = LocalPostgres(Path(tempfile.mkdtemp(prefix="loyalty-test-pg-")) / "data")
    server.start()
    try:
        yield server.dsn()
    finally:
        server.remove()


@pytest.fixture
async def new_database(postgres_server: str) -> AsyncIterator[Databases]:
    """A factory of empty database URLs; the databases are dropped after the test."""
    databases = Databases(postgres_server)
    yield databases
    await databases.drop()


@pytest.fixture
async def broker() -> AsyncIterator[LocalBroker]:
    server = LocalBroker(free_port())
    server.start()
    try:
        await create_topics(server.bootstrap, partitions=PARTITIONS)
        yield server
    finally:
        server.stop()


@pytest.fixture
def points_settings(new_database: Callable[[str], str], broker: LocalBroker) -> PointsSettings:
    return PointsSettings(
        points_database_url=new_database("points"),
        **on_test_broker(broker),
    )


@pytest.fixture
async def points_app(points_settings: PointsSettings) -> AsyncIterator[FastAPI]:
    """The points service running in-process: API, consumer, relay and jobs, for the test."""
    async with running(create_points_app(points_settings)) as app:
        yield app


@pytest.fixture
async def points_api(points_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(points_app) as client:
        yield client


@pytest.fixture
def tiers_settings(new_database: Callable[[str], str], broker: LocalBroker) -> TiersSettings:
    return TiersSettings(
        tiers_database_url=new_database("tiers"),
        **on_test_broker(broker),
    )


@pytest.fixture
async def tiers_app(tiers_settings: TiersSettings) -> AsyncIterator[FastAPI]:
    async with running(create_tiers_app(tiers_settings)) as app:
        yield app


@pytest.fixture
async def tiers_api(tiers_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(tiers_app) as client:
        yield client
