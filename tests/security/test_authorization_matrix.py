"""Nobody where they don't belong: every endpoint of every service (every route the app answers)
called by every kind of caller, and the answer each must get (contract sections 3 and 5.1), from
the table of who may call what in tests/security/endpoints.py.

| caller                                  | may call the endpoint | may not  |
|-----------------------------------------|-----------------------|----------|
| no token, expired, forged, `alg: none`  | 401                   | 401      |
| the member, another member, support,    | allowed               | 403      |
| marketing, finance, admin (the table)   |                       |          |
| an operator scope nobody defined        |                       | 403      |

Public endpoints answer the same whatever token comes along. "Allowed" is anything but 401/403
(and never a 5xx): a redemption with no points is a 409. The refused tokens all claim the admin
scope, so a forger gains nothing by claiming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from loyalty_shared.http.auth import ADMIN_SCOPE, FINANCE_SCOPE, MARKETING_SCOPE, SUPPORT_SCOPE
from tests.security.conftest import RunningService
from tests.security.endpoints import ADMIN, MEMBER, OTHER_MEMBER, Endpoint, Role, endpoints_of
from tests.support.tokens import token

PROBES = {"/healthz", "/readyz", "/metrics", "/openapi.json"}

SCOPE_OF: dict[Role, str] = {
    "support": SUPPORT_SCOPE,
    "marketing": MARKETING_SCOPE,
    "finance": FINANCE_SCOPE,
    "admin": ADMIN_SCOPE,
}


def _alg_none() -> str:
    claims = {"sub": ADMIN, "scope": ADMIN_SCOPE, "exp": int(time.time()) + 300}
    return jwt.encode(claims, "", algorithm="none")


REFUSED: dict[str, Callable[[], str | None]] = {
    "no token": lambda: None,
    "expired": lambda: token(ADMIN, admin=True, expires_in=-3600),
    "forged signature": lambda: token(ADMIN, admin=True, secret="not-our-secret-" * 4),
    "alg none": _alg_none,
}
ROLES: dict[str, Callable[[], str | None]] = {
    "the member": lambda: token(MEMBER),
    "another member": lambda: token(OTHER_MEMBER),
    "support": lambda: token("agent-1", scopes=(SUPPORT_SCOPE,)),
    "marketing": lambda: token("analyst-1", scopes=(MARKETING_SCOPE,)),
    "finance": lambda: token("controller-1", scopes=(FINANCE_SCOPE,)),
    "admin": lambda: token(ADMIN, admin=True),
}
CALLERS: dict[str, Callable[[], str | None]] = {
    **REFUSED,
    **ROLES,
    "an unknown scope": lambda: token("ops-2", scopes=("loyalty:root",)),
}


def expected(endpoint: Endpoint, caller: str) -> str:
    if caller in REFUSED:
        return "401"
    return "allowed" if caller in endpoint.who_may else "403"


def verdict(status: int) -> str:
    return str(status) if status in (401, 403) else "allowed" if status < 500 else f"{status}!"


async def call(service: RunningService, endpoint: Endpoint, bearer: str | None) -> int:
    headers = endpoint.headers()
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    response = await service.api.request(
        endpoint.method, endpoint.url(), json=endpoint.body(), headers=headers
    )
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert response.headers["www-authenticate"] == "Bearer"
    return response.status_code


async def test_every_endpoint_answers_each_kind_of_caller_as_the_contract_says(
    service: RunningService,
) -> None:
    endpoints = endpoints_of(service.app)
    assert [str(e) for e in endpoints if e.access == "unlisted"] == [], (
        "say who may call a new endpoint: WHO_MAY in tests/security/endpoints.py"
    )
    guarded = [e for e in endpoints if e.access == "guarded"]
    assert guarded, f"{service.name} has no guarded endpoint?"

    wrong = []
    for endpoint in guarded:
        for caller, make in CALLERS.items():
            got = verdict(await call(service, endpoint, make()))
            if got != expected(endpoint, caller):
                wrong.append(
                    f"{endpoint} as {caller}: {got}, expected {expected(endpoint, caller)}"
                )
    assert wrong == [], "\n".join(wrong)


async def test_each_operation_documents_whom_it_admits(service: RunningService) -> None:
    """The OpenAPI document says it too: an operator endpoint's security requirement names the
    scopes that open it, a member's endpoint takes any valid token, and the description says
    who in words."""
    wrong = []
    for endpoint in endpoints_of(service.app):
        if endpoint.access != "guarded":
            continue
        scopes = {SCOPE_OF[role] for role in endpoint.who_may if role in SCOPE_OF}
        wanted = [] if "the member" in endpoint.who_may else sorted(scopes)
        [requirement] = endpoint.operation["security"]
        if sorted(requirement["HTTPBearer"]) != wanted:
            wrong.append(f"{endpoint}: security {requirement}, expected {wanted}")
        who = endpoint.operation["description"].rpartition("**Who:**")[2]
        if not all(f"`{scope}`" in who for scope in scopes):
            wrong.append(f"{endpoint}: described as {who!r}")
    assert wrong == [], "\n".join(wrong)


async def test_public_endpoints_answer_the_same_whatever_token_comes_along(
    service: RunningService,
) -> None:
    """The probes, /metrics and /openapi.json need no token, and the survey link's own token
    (not a JWT) is what decides its answer: a JWT of any kind neither opens nor closes them."""
    public = [e for e in endpoints_of(service.app) if e.access == "public"]
    assert {e.path for e in public} >= PROBES - {"/openapi.json"}

    wrong = []
    for endpoint in public:
        answers = {
            caller: await call(service, endpoint, make()) for caller, make in CALLERS.items()
        }
        if len(set(answers.values())) != 1 or max(answers.values()) >= 500:
            wrong.append(f"{endpoint}: {answers}")
        if endpoint.path in PROBES and answers["no token"] != 200:
            wrong.append(f"{endpoint} without a token: {answers['no token']}")
    assert wrong == [], "\n".join(wrong)
    assert (await service.api.get("/openapi.json")).status_code == 200
