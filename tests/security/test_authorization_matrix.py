"""Nobody where they don't belong: every endpoint of every service (read from its OpenAPI) called
with every kind of caller, and the answer each must get (contract section 3).

| caller                 | member endpoint | admin endpoint | public |
|------------------------|-----------------|----------------|--------|
| no token               | 401             | 401            | same answer whatever the token |
| expired token          | 401             | 401            |        |
| forged signature       | 401             | 401            |        |
| `alg: none`            | 401             | 401            |        |
| another member         | 403             | 403            |        |
| the member themself    | allowed         | 403            |        |
| admin                  | allowed         | allowed        |        |

"Allowed" is anything but 401/403 (and never a 5xx): a redemption with no points is a 409.
The refused tokens all claim the admin scope, so a forger gains nothing by claiming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from tests.security.conftest import RunningService
from tests.security.endpoints import ADMIN, MEMBER, OTHER_MEMBER, Endpoint, endpoints_of
from tests.support.tokens import ADMIN_SCOPE, token

PROBES = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def _alg_none() -> str:
    claims = {"sub": ADMIN, "scope": ADMIN_SCOPE, "exp": int(time.time()) + 300}
    return jwt.encode(claims, "", algorithm="none")


CALLERS: dict[str, Callable[[], str | None]] = {
    "no token": lambda: None,
    "expired": lambda: token(ADMIN, admin=True, expires_in=-3600),
    "forged signature": lambda: token(ADMIN, admin=True, secret="not-our-secret-" * 4),
    "alg none": _alg_none,
    "another member": lambda: token(OTHER_MEMBER),
    "the member": lambda: token(MEMBER),
    "admin": lambda: token(ADMIN, admin=True),
}


def expected(endpoint: Endpoint, caller: str) -> str:
    if caller in ("no token", "expired", "forged signature", "alg none"):
        return "401"
    if caller == "another member" or (caller == "the member" and endpoint.access == "admin"):
        return "403"
    return "allowed"


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
    assert [str(e) for e in endpoints if e.access == "unclassified"] == [], (
        "an endpoint that takes a token must say who may call it (admin_access or member_access)"
    )
    guarded = [e for e in endpoints if e.access in ("member", "admin")]
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
