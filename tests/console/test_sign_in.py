"""Signing in to the console: OpenID Connect with PKCE against a real (local) provider, the
development sign-in by role that exists only where a setting turns it on, the session cookie and
CSRF protection on every form."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from loyalty_console.auth.session import COOKIE
from tests.console.conftest import console, console_settings, csrf_in, sign_in
from tests.support.oidc_provider import Person, running_provider

#: A JSON Web Token's header and payload, each base64url of a JSON object.
JWT = re.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.")


def _oidc_settings(issuer: str, client_id: str, secret: str, **more: object) -> object:
    return console_settings(
        jwt_secret=None,
        jwt_jwks_url=f"{issuer}/jwks",
        jwt_issuer=issuer,
        jwt_audience="loyalty-api",
        console_dev_sign_in=False,
        console_session_secret="a-session-secret-of-at-least-32-characters",
        console_oidc_issuer=issuer,
        console_oidc_client_id=client_id,
        console_oidc_client_secret=secret,
        **more,
    )


async def _sign_in_with_provider(client: httpx.AsyncClient, next_path: str) -> httpx.Response:
    """What a browser does: the console sends it to the provider, which sends it back."""
    start = await client.get("/sign-in/oidc", params={"next": next_path, "tz": "Asia/Tokyo"})
    assert start.status_code in (302, 303, 307), start.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/auth/callback"
    return await client.get(f"/auth/callback?{back.query}")


async def test_signing_in_with_openid_connect_uses_pkce_and_the_token_s_roles() -> None:
    async with running_provider() as provider:
        provider.person = Person("alice", "Alice Wang", ("loyalty:support",))
        settings = _oidc_settings(provider.issuer, provider.client_id, provider.client_secret)
        async with console(settings) as client:  # type: ignore[arg-type]
            landed = await _sign_in_with_provider(client, "/members")
            assert landed.status_code == 303
            assert landed.headers["location"] == "/members"

            [asked] = provider.authorizations
            assert asked["code_challenge_method"] == "S256"
            assert asked["nonce"], "an ID token is bound to this sign-in by a nonce"
            assert "loyalty:support" in asked["scope"].split()
            assert asked["redirect_uri"] == "https://console.test/auth/callback"
            [exchange] = provider.token_requests
            digest = hashlib.sha256(exchange["code_verifier"].encode()).digest()
            assert (
                base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == (asked["code_challenge"])
            ), "the code is exchanged with the verifier of the challenge sent"

            overview = await client.get("/")
            assert overview.status_code == 200
            assert "Alice Wang" in overview.text
            assert 'href="/members"' in overview.text, "support finds members"
            assert 'href="/program"' not in overview.text, "support is not marketing"


async def test_a_callback_the_console_did_not_start_is_refused() -> None:
    async with running_provider() as provider:
        settings = _oidc_settings(provider.issuer, provider.client_id, provider.client_secret)
        async with console(settings) as client:  # type: ignore[arg-type]
            forged = await client.get("/auth/callback", params={"code": "x", "state": "forged"})
            assert forged.status_code == 401
            assert (await client.get("/")).status_code == 303, "still signed out"


async def test_an_account_without_a_console_role_is_not_signed_in() -> None:
    async with running_provider() as provider:
        provider.person = Person("bob", "Bob", ())
        settings = _oidc_settings(provider.issuer, provider.client_id, provider.client_secret)
        async with console(settings) as client:  # type: ignore[arg-type]
            refused = await _sign_in_with_provider(client, "/")
            assert refused.status_code == 403
            assert "no console role" in refused.text
            assert (await client.get("/")).status_code == 303


async def test_the_development_sign_in_exists_only_when_a_setting_turns_it_on() -> None:
    async with running_provider() as provider:
        settings = _oidc_settings(provider.issuer, provider.client_id, provider.client_secret)
        async with console(settings) as client:  # type: ignore[arg-type]
            page = await client.get("/sign-in")
            assert 'action="/sign-in/dev"' not in page.text
            attempt = await client.post(
                "/sign-in/dev", data={"csrf_token": csrf_in(page.text), "role": "admin"}
            )
            assert attempt.status_code == 403
            assert (await client.get("/")).status_code == 303


def test_a_console_without_any_way_to_sign_in_does_not_start() -> None:
    with pytest.raises(ValidationError, match="nobody could sign in"):
        console_settings(console_dev_sign_in=False)


async def test_a_role_picked_at_the_development_sign_in_is_the_operator_s_only_role(
    dev_console: httpx.AsyncClient,
) -> None:
    signed_in = await sign_in(dev_console, "marketing", name="mei")
    assert signed_in.status_code == 303
    page = await dev_console.get("/")
    assert "mei" in page.text
    assert 'href="/program"' in page.text
    assert 'href="/members"' not in page.text, "marketing never opens a member"
    assert 'href="/dead-letters"' not in page.text


async def test_every_form_needs_the_session_s_csrf_token(dev_console: httpx.AsyncClient) -> None:
    await dev_console.get("/sign-in")
    missing = await dev_console.post("/sign-in/dev", data={"role": "admin"})
    wrong = await dev_console.post("/sign-in/dev", data={"role": "admin", "csrf_token": "nope"})
    assert (missing.status_code, wrong.status_code) == (403, 403)

    await sign_in(dev_console, "admin")
    out = await dev_console.post("/sign-out", data={})
    assert out.status_code == 403
    assert (await dev_console.get("/")).status_code == 200, "still signed in"


async def test_the_session_cookie_is_encrypted_http_only_secure_and_same_site(
    dev_console: httpx.AsyncClient,
) -> None:
    signed_in = await sign_in(dev_console, "admin")
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    # a JWT is `eyJ…` dot `eyJ…` dot signature; ciphertext may hold "eyJ" by chance, never a dot
    assert not JWT.search(value), "the operator's token is not readable in the cookie"


async def test_a_cookie_that_was_tampered_with_is_no_session(
    dev_console: httpx.AsyncClient,
) -> None:
    await sign_in(dev_console, "admin")
    value = dev_console.cookies[COOKIE]
    dev_console.cookies.set(COOKIE, value[:-6] + "AAAAAA", domain="console.test")
    assert (await dev_console.get("/")).status_code == 303


async def test_signing_out_ends_the_session(dev_console: httpx.AsyncClient) -> None:
    await sign_in(dev_console, "support")
    page = await dev_console.get("/")
    out = await dev_console.post("/sign-out", data={"csrf_token": csrf_in(page.text)})
    assert out.status_code == 303
    assert (await dev_console.get("/")).headers["location"] == "/sign-in?next=/"


async def test_after_signing_in_only_a_path_on_this_console_is_followed(
    dev_console: httpx.AsyncClient,
) -> None:
    page = await dev_console.get("/sign-in")
    landed = await dev_console.post(
        "/sign-in/dev",
        data={"csrf_token": csrf_in(page.text), "role": "admin", "next": "//evil.example/x"},
    )
    assert landed.headers["location"] == "/"


async def test_the_cookie_is_not_secure_only_where_plain_http_is_configured() -> None:
    async with console(console_settings(console_secure_cookie=False)) as client:
        signed_in = await sign_in(client, "admin")
        assert "Secure" not in signed_in.headers["set-cookie"]
