"""`loyalty token` prints tokens for local use: a member's, or an operator's with `--scope`,
which the services accept with exactly those scopes; a scope nobody defined is refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loyalty_devkit.cli import app
from loyalty_devkit.dev_tokens import LOCAL_JWT_SECRET
from loyalty_shared.http.auth import ADMIN_SCOPE, MARKETING_SCOPE, SUPPORT_SCOPE, TokenVerifier
from loyalty_shared.settings import ServiceSettings


async def principal_of(*args: str) -> tuple[str, frozenset[str]]:
    result = CliRunner().invoke(app, ["token", *args])
    assert result.exit_code == 0, result.output
    verifier = TokenVerifier(
        ServiceSettings(jwt_secret=LOCAL_JWT_SECRET, environment="development")
    )
    principal = await verifier.verify(result.stdout.strip())
    return principal.subject, principal.scopes


@pytest.fixture(autouse=True)
def _local_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOYALTY_JWT_SECRET", raising=False)


async def test_a_token_carries_the_scopes_asked_for() -> None:
    assert await principal_of("m-0001") == ("m-0001", frozenset())
    assert await principal_of("agent-7", "--scope", SUPPORT_SCOPE) == (
        "agent-7",
        frozenset({SUPPORT_SCOPE}),
    )
    assert await principal_of("lead-1", "--scope", MARKETING_SCOPE, "--admin") == (
        "lead-1",
        frozenset({MARKETING_SCOPE, ADMIN_SCOPE}),
    )


def test_a_scope_nobody_defined_is_refused() -> None:
    result = CliRunner().invoke(app, ["token", "agent-7", "--scope", "loyalty:root"])

    assert result.exit_code == 2
    assert "loyalty:support" in result.output
