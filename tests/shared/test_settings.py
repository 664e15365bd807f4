"""A service started with a bad environment refuses to start: exit status 2 and one clear line
per problem naming the variable, never a traceback (contract sections 3 and 4)."""

from __future__ import annotations

import os

import pytest

from loyalty_devkit.dev_tokens import LOCAL_JWT_SECRET
from loyalty_points.settings import PointsSettings
from loyalty_shared.service import load_settings

GOOD_SECRET = "a-secret-of-at-least-32-characters!!"
DATABASE_URL = "postgresql://loyalty@127.0.0.1:5432/points"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LOYALTY_* variable from the machine running the tests leaks into a scenario."""
    for name in list(os.environ):
        if name.upper().startswith("LOYALTY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def good_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_POINTS_DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("LOYALTY_JWT_SECRET", GOOD_SECRET)


def refused_with(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        load_settings(PointsSettings)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.usefixtures("good_environment")
def test_a_complete_environment_starts_the_points_service_on_its_default_port() -> None:
    settings = load_settings(PointsSettings)

    assert settings.database_url == DATABASE_URL
    assert settings.port == 8001
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET


@pytest.mark.usefixtures("good_environment")
def test_a_jwks_url_with_its_audience_and_issuer_is_enough_to_check_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOYALTY_JWT_SECRET")
    monkeypatch.setenv("LOYALTY_JWT_JWKS_URL", "https://auth.example.com/.well-known/jwks.json")
    monkeypatch.setenv("LOYALTY_JWT_AUDIENCE", "loyalty-api")
    monkeypatch.setenv("LOYALTY_JWT_ISSUER", "https://auth.example.com/")

    settings = load_settings(PointsSettings)

    assert settings.jwt_secret is None
    assert settings.jwt_jwks_url == "https://auth.example.com/.well-known/jwks.json"


@pytest.mark.usefixtures("good_environment")
@pytest.mark.parametrize("missing", ["LOYALTY_JWT_AUDIENCE", "LOYALTY_JWT_ISSUER"])
def test_with_a_jwks_url_the_audience_and_the_issuer_are_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    monkeypatch.delenv("LOYALTY_JWT_SECRET")
    monkeypatch.setenv("LOYALTY_JWT_JWKS_URL", "https://auth.example.com/.well-known/jwks.json")
    monkeypatch.setenv("LOYALTY_JWT_AUDIENCE", "loyalty-api")
    monkeypatch.setenv("LOYALTY_JWT_ISSUER", "https://auth.example.com/")
    monkeypatch.delenv(missing)

    message = refused_with(capsys)

    assert "LOYALTY_JWT_AUDIENCE and LOYALTY_JWT_ISSUER are required" in message


@pytest.mark.usefixtures("good_environment")
def test_the_development_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOYALTY_JWT_SECRET", LOCAL_JWT_SECRET)  # what make run signs with

    message = refused_with(capsys)

    assert "LOYALTY_JWT_SECRET is the development secret" in message
    assert "LOYALTY_ENVIRONMENT=development" in message
    assert LOCAL_JWT_SECRET not in message


@pytest.mark.usefixtures("good_environment")
def test_the_development_secret_is_accepted_in_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_JWT_SECRET", LOCAL_JWT_SECRET)
    monkeypatch.setenv("LOYALTY_ENVIRONMENT", "development")

    assert load_settings(PointsSettings).environment == "development"


@pytest.mark.usefixtures("good_environment")
def test_a_service_is_in_production_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_settings(PointsSettings).environment == "production"

    monkeypatch.setenv("LOYALTY_ENVIRONMENT", "dev")
    assert "LOYALTY_ENVIRONMENT" in refused_with(capsys)


@pytest.mark.usefixtures("good_environment")
def test_the_points_service_refuses_to_start_without_its_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOYALTY_POINTS_DATABASE_URL")

    assert "LOYALTY_POINTS_DATABASE_URL" in refused_with(capsys)


@pytest.mark.usefixtures("good_environment")
def test_a_service_refuses_to_start_with_no_way_to_check_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOYALTY_JWT_SECRET")

    message = refused_with(capsys)

    assert "LOYALTY_JWT_SECRET" in message
    assert "LOYALTY_JWT_JWKS_URL" in message


@pytest.mark.usefixtures("good_environment")
def test_a_service_refuses_a_jwt_secret_shorter_than_32_characters(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOYALTY_JWT_SECRET", "x" * 31)

    message = refused_with(capsys)

    assert "LOYALTY_JWT_SECRET" in message
    assert "32" in message
    assert "x" * 31 not in message


@pytest.mark.usefixtures("good_environment")
def test_a_jwt_secret_of_exactly_32_characters_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_JWT_SECRET", "x" * 32)

    assert load_settings(PointsSettings).jwt_secret is not None


@pytest.mark.usefixtures("good_environment")
@pytest.mark.parametrize(
    "port",
    [
        pytest.param("notaport", id="a word"),
        pytest.param("0", id="port 0"),
        pytest.param("65536", id="a port above 65535"),
    ],
)
def test_a_service_refuses_a_port_that_is_not_a_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    monkeypatch.setenv("LOYALTY_POINTS_PORT", port)

    assert "LOYALTY_POINTS_PORT" in refused_with(capsys)
