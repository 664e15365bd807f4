"""The Python client generated from the gateway's internal-host OpenAPI document
(openapi-python-client, docs/openapi/gateway-internal.json: the members' paths and the
operators') works against the running platform through the one base URL: an operator's write and
a member's reads come back as the client's typed models, a refusal as its `Problem`."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType

import pytest

from loyalty_devkit.gateway.app import create_app as gateway_app
from loyalty_devkit.gateway.routes import SERVICES
from loyalty_devkit.local_broker import free_port
from loyalty_points.app import create_app as points_app
from loyalty_points.settings import PointsSettings
from loyalty_tiers.app import create_app as tiers_app
from loyalty_tiers.settings import TiersSettings
from tests.support.apps import served
from tests.support.tokens import token

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "loyalty_gateway_client"
MEMBER = "m-8101"


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[ModuleType]:
    """The client generated from docs/openapi/gateway-internal.json into `tmp_path`,
    imported."""
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n")
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(ROOT / "docs" / "openapi" / "gateway-internal.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_the_generated_client_grants_and_reads_points_through_the_gateway(
    client_package: ModuleType, points_settings: PointsSettings, tiers_settings: TiersSettings
) -> None:
    models = _module(client_package, "models")
    create_adjustment = _module(client_package, "api.adjustments.create_adjustment")
    get_points = _module(client_package, "api.points.get_points")
    get_tier = _module(client_package, "api.tiers.get_tier")
    down = f"http://127.0.0.1:{free_port()}"
    async with (
        served(points_app(points_settings)) as points,
        served(tiers_app(tiers_settings)) as tiers,
        served(
            gateway_app(
                {**dict.fromkeys(SERVICES, down), "points": points, "tiers": tiers},
                operator_paths=True,
            )
        ) as gateway,
        client_package.AuthenticatedClient(
            base_url=gateway, token=token("ops-1", admin=True)
        ) as operator,
        client_package.AuthenticatedClient(base_url=gateway, token=token(MEMBER)) as member,
    ):
        granted = await create_adjustment.asyncio_detailed(
            member_id=MEMBER,
            client=operator,
            body=models.AdjustmentCreate(points=250, reason="welcome bonus"),
        )
        assert granted.status_code == HTTPStatus.CREATED, granted.content
        assert isinstance(granted.parsed, models.Adjustment)
        assert (granted.parsed.member_id, granted.parsed.points) == (MEMBER, 250)

        balance = await get_points.asyncio_detailed(member_id=MEMBER, client=member)
        assert balance.status_code == HTTPStatus.OK, balance.content
        assert isinstance(balance.parsed, models.PointsBalance)
        assert balance.parsed.available == 250

        tier = await get_tier.asyncio_detailed(member_id=MEMBER, client=member)
        assert tier.status_code == HTTPStatus.OK, tier.content
        assert isinstance(tier.parsed, models.TierStatus)
        assert tier.parsed.member_id == MEMBER

        someone_elses = await get_points.asyncio_detailed(member_id="m-8102", client=member)
        assert someone_elses.status_code == HTTPStatus.FORBIDDEN
        assert isinstance(someone_elses.parsed, models.Problem)
        assert someone_elses.parsed.status == HTTPStatus.FORBIDDEN
