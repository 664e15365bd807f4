"""Who may see what: tokens are checked by the service itself (contract section 3)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.http.auth import JwksCache, TokenVerifier
from loyalty_shared.http.problems import Unauthorized
from tests.support.apps import serving
from tests.support.tokens import SECRET, bearer, token

PATH = "/v1/members/m-1001/points"


async def test_no_token_is_401_with_a_problem_document(points_api: httpx.AsyncClient) -> None:
    response = await points_api.get(PATH)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"/v1/members/{'m' * 129}/points", None, id="an id too long"),
        pytest.param("GET", "/v1/members/m-1001/points?as_of=yesterday", None, id="a bad query"),
        pytest.param(
            "POST", "/v1/members/m-1001/redemptions", {"points": -5}, id="a bad redemption"
        ),
    ],
)
async def test_without_a_token_the_answer_is_401_not_what_is_wrong_with_the_request(
    points_api: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await points_api.request(method, path, json=body)

    assert response.status_code == 401


async def test_a_member_reading_another_member_is_403(points_api: httpx.AsyncClient) -> None:
    response = await points_api.get(PATH, headers=bearer("m-2002"))

    assert response.status_code == 403
    assert response.json()["title"] == "Forbidden"


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(f"Bearer {token('m-1001', expires_in=-120)}", id="expired"),
        pytest.param(f"Bearer {token('m-1001', secret='x' * 40)}", id="forged-signature"),
        pytest.param(
            "Bearer " + jwt.encode({"sub": "m-1001", "exp": int(time.time()) + 60}, "", "none"),
            id="unsigned-alg-none",
        ),
        pytest.param(
            "Bearer " + jwt.encode({"sub": "m-1001"}, SECRET, "HS256"), id="without-expiry"
        ),
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param(f"Basic {token('m-1001')}", id="wrong-scheme"),
    ],
)
async def test_expired_forged_or_malformed_tokens_are_401(
    points_api: httpx.AsyncClient, authorization: str
) -> None:
    response = await points_api.get(PATH, headers={"Authorization": authorization})

    assert response.status_code == 401, response.text


async def test_the_member_themself_and_an_admin_pass(points_api: httpx.AsyncClient) -> None:
    assert (await points_api.get(PATH, headers=bearer("m-1001"))).status_code == 200
    assert (await points_api.get(PATH, headers=bearer("ops-1", admin=True))).status_code == 200


async def test_health_readiness_metrics_and_openapi_need_no_token(
    points_api: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert (await points_api.get(path)).status_code == 200, path


# Keys from the identity provider's JWKS, as in production: a real HTTP server publishes them.

AUDIENCE = "loyalty-api"
ISSUER = "https://id.example.com/"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PSS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())
#: The algorithm each published key is for, its kid and the private key that signs with it.
SIGNERS: dict[str, tuple[str, Any]] = {
    "RS256": ("rsa-1", RSA_KEY),
    "PS256": ("pss-1", PSS_KEY),
    "ES256": ("ec-1", EC_KEY),
}
FORGERS: dict[str, Any] = {"RS256": OTHER_RSA_KEY, "PS256": OTHER_RSA_KEY, "ES256": OTHER_EC_KEY}


def published_keys() -> list[dict[str, Any]]:
    return [
        {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rsa-1", "alg": "RS256"},
        {**RSAAlgorithm.to_jwk(PSS_KEY.public_key(), as_dict=True), "kid": "pss-1", "alg": "PS256"},
        {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
    ]


@dataclass
class IdentityProvider:
    """Publishes `keys` as a JWKS, or answers every fetch with `status` when it is not 200."""

    keys: list[dict[str, Any]] = field(default_factory=published_keys)
    status: int = 200
    fetches: int = 0
    url: str = ""


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.fetches += 1
            ok = provider.status == 200
            body = json.dumps({"keys": provider.keys}).encode() if ok else b"db-7 crashed"
            self.send_response(provider.status)
            self.send_header("Content-Type", "application/json" if ok else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield provider
    server.shutdown()
    server.server_close()


class Monotonic:
    """The JWKS cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed(
    algorithm: str,
    *,
    key: Any = None,
    kid: str | None = None,
    claims: dict[str, object] | None = None,
) -> str:
    """A token as the identity provider issues it; a claim given as None is left out."""
    default_kid, default_key = SIGNERS[algorithm]
    now = int(time.time())
    payload = {"sub": "m-1001", "exp": now + 300, "aud": AUDIENCE, "iss": ISSUER, **(claims or {})}
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": kid or default_kid}
    return jwt.encode(payload, key or default_key, algorithm=algorithm, headers=headers)


def jwks_settings(url: str) -> PointsSettings:
    return PointsSettings(
        points_database_url="postgresql://unused/db",
        jwt_jwks_url=url,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
    )


@pytest.fixture
async def jwks_api(
    points_settings: PointsSettings, idp: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    settings = PointsSettings.model_validate(
        {
            **points_settings.model_dump(),
            "jwt_secret": None,
            "jwt_jwks_url": idp.url,
            "jwt_audience": AUDIENCE,
            "jwt_issuer": ISSUER,
        }
    )
    async with serving(create_app(settings)) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rs256_ps256_and_es256_tokens_are_checked_against_the_jwks_keys(
    jwks_api: httpx.AsyncClient,
) -> None:
    for algorithm in ("RS256", "PS256", "ES256"):
        accepted = await jwks_api.get(PATH, headers=auth(signed(algorithm)))
        forged = await jwks_api.get(PATH, headers=auth(signed(algorithm, key=FORGERS[algorithm])))
        unknown = await jwks_api.get(PATH, headers=auth(signed(algorithm, kid="unknown")))
        assert accepted.status_code == 200, (algorithm, accepted.text)
        assert (forged.status_code, unknown.status_code) == (401, 401), algorithm
    # with no shared secret configured, an HS256 token is refused outright
    assert (await jwks_api.get(PATH, headers=bearer("m-1001"))).status_code == 401


@pytest.mark.parametrize(
    ("algorithm", "kid", "key"),
    [
        pytest.param("PS256", "rsa-1", RSA_KEY, id="PS256 with a key published for RS256"),
        pytest.param("RS256", "pss-1", PSS_KEY, id="RS256 with a key published for PS256"),
        pytest.param("RS256", "ec-1", RSA_KEY, id="RS256 naming an EC key"),
        pytest.param("ES384", "ec-1", None, id="ES384, not accepted"),
    ],
)
async def test_a_token_signed_with_an_algorithm_its_key_is_not_for_is_refused(
    idp: IdentityProvider, algorithm: str, kid: str, key: Any
) -> None:
    verifier = TokenVerifier(jwks_settings(idp.url))
    if key is None:
        key = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    claims = {"sub": "m-1001", "exp": now + 300, "aud": AUDIENCE, "iss": ISSUER}
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    with pytest.raises(Unauthorized):
        await verifier.verify(token)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": None}, id="no audience"),
        pytest.param({"aud": "another-app"}, id="another audience"),
        pytest.param({"iss": None}, id="no issuer"),
        pytest.param({"iss": "https://evil.example.com/"}, id="another issuer"),
    ],
)
async def test_with_jwks_a_token_without_or_with_the_wrong_audience_or_issuer_is_refused(
    idp: IdentityProvider, claims: dict[str, object]
) -> None:
    verifier = TokenVerifier(jwks_settings(idp.url))
    assert (await verifier.verify(signed("ES256"))).subject == "m-1001"

    with pytest.raises(Unauthorized):
        await verifier.verify(signed("ES256", claims=claims))


async def test_two_requests_naming_new_keys_at_once_fetch_the_keys_once(
    idp: IdentityProvider,
) -> None:
    cache = JwksCache(idp.url)

    rsa_key, ec_key = await asyncio.gather(
        cache.key_for("rsa-1", "RS256"), cache.key_for("ec-1", "ES256")
    )

    assert (rsa_key.algorithm_name, ec_key.algorithm_name) == ("RS256", "ES256")
    assert idp.fetches == 1


async def test_two_requests_naming_unknown_keys_at_once_fetch_the_keys_once(
    idp: IdentityProvider,
) -> None:
    clock = Monotonic()
    cache = JwksCache(idp.url, min_refresh_s=10, monotonic=clock)
    await cache.key_for("rsa-1", "RS256")
    clock.now += 11  # a key not seen may be a rotation: worth one fetch, not one each

    refused = await asyncio.gather(
        cache.key_for("forged-1", "RS256"),
        cache.key_for("forged-2", "RS256"),
        return_exceptions=True,
    )

    assert [type(r) for r in refused] == [Unauthorized, Unauthorized]
    assert idp.fetches == 2


async def test_while_the_identity_provider_is_down_its_keys_are_fetched_only_after_a_backoff(
    idp: IdentityProvider,
) -> None:
    clock = Monotonic()
    cache = JwksCache(idp.url, min_refresh_s=10, max_backoff_s=300, monotonic=clock)
    idp.status = 503

    for kid in ("rsa-1", "pss-1", "ec-1", "forged"):
        with pytest.raises(Unauthorized):
            await cache.key_for(kid, "RS256")
    assert idp.fetches == 1, "every request fetched while the IdP was down"
    clock.now += 10
    with pytest.raises(Unauthorized):
        await cache.key_for("rsa-1", "RS256")
    assert idp.fetches == 2
    clock.now += 19  # the second failure doubled the wait to 20 s
    with pytest.raises(Unauthorized):
        await cache.key_for("rsa-1", "RS256")
    assert idp.fetches == 2

    idp.status = 200
    clock.now += 1
    assert (await cache.key_for("rsa-1", "RS256")).key_id == "rsa-1"
    assert idp.fetches == 3


async def test_keys_fetched_before_are_kept_while_the_identity_provider_is_down(
    idp: IdentityProvider,
) -> None:
    clock = Monotonic()
    cache = JwksCache(idp.url, ttl_s=300, monotonic=clock)
    await cache.key_for("rsa-1", "RS256")
    idp.status = 500
    clock.now += 301  # stale: fetched again, and the fetch fails

    assert (await cache.key_for("rsa-1", "RS256")).key_id == "rsa-1"
    assert idp.fetches == 2


async def test_why_the_keys_could_not_be_fetched_is_logged_not_told_to_the_caller(
    jwks_api: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    idp.status = 500

    with structlog.testing.capture_logs() as logged:
        response = await jwks_api.get(PATH, headers=auth(signed("RS256")))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == "the token's signing keys cannot be checked right now"
    assert "500" not in response.text
    assert "127.0.0.1" not in response.text
    [failure] = [e for e in logged if e["event"] == "jwks fetch failed"]
    assert "500" in failure["error"]
    assert failure["url"] == idp.url


async def test_a_token_accepted_before_is_refused_once_it_has_expired() -> None:
    # the verifier remembers tokens it checked (the app sends the same one on every request)
    verifier = TokenVerifier(
        PointsSettings(
            points_database_url="postgresql://unused/db", jwt_secret=SECRET, jwt_leeway_s=0
        )
    )
    short_lived = token("m-1001", expires_in=2)
    expires = jwt.decode(short_lived, options={"verify_signature": False})["exp"]

    assert (await verifier.verify(short_lived)).subject == "m-1001"
    assert (await verifier.verify(short_lived)).subject == "m-1001"
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.2)
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(short_lived)
