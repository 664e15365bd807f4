"""Who may see what: tokens are checked by the service itself (contract section 3)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.http.auth import TokenVerifier
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


# RS256 with keys from a JWKS endpoint, as in production: a real HTTP server serves the keys.

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture
async def rs256_api(
    points_settings: PointsSettings, jwks_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = points_settings.model_copy(update={"jwt_secret": None, "jwt_jwks_url": jwks_url})
    async with serving(create_app(settings)) as client:
        yield client


def rs256(sub: str, *, key: rsa.RSAPrivateKey = KEY, kid: str = "k1") -> dict[str, str]:
    claims = {"sub": sub, "exp": int(time.time()) + 300}
    encoded = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    return {"Authorization": f"Bearer {encoded}"}


async def test_rs256_tokens_are_checked_against_the_jwks_keys(rs256_api: httpx.AsyncClient) -> None:
    assert (await rs256_api.get(PATH, headers=rs256("m-1001"))).status_code == 200
    assert (await rs256_api.get(PATH, headers=rs256("m-1001", key=OTHER_KEY))).status_code == 401
    assert (await rs256_api.get(PATH, headers=rs256("m-1001", kid="unknown"))).status_code == 401
    # with no shared secret configured, an HS256 token is refused outright
    assert (await rs256_api.get(PATH, headers=bearer("m-1001"))).status_code == 401


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
