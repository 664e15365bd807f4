"""Bearer JWTs per the contract: HS256 with `LOYALTY_JWT_SECRET`, or RS256, PS256 and ES256 with
keys from a JWKS URL (then `aud` and `iss` are required and checked).

`sub` is the member id (or the operator's id); the space-separated `scope` claim carries the
operator roles of contract 5.1, `loyalty:admin` granting everything. Who may call what:
docs/operations.md#who-may-do-what.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, TypeAdapter, ValidationError

from loyalty_shared.events.fields import Id
from loyalty_shared.http.problems import Forbidden, Unauthorized
from loyalty_shared.observability.logging import get_logger
from loyalty_shared.runtime import runtime_of
from loyalty_shared.settings import ServiceSettings

ADMIN_SCOPE = "loyalty:admin"
#: Operator roles of contract 5.1 (admin keeps granting everything).
SUPPORT_SCOPE = "loyalty:support"
MARKETING_SCOPE = "loyalty:marketing"
FINANCE_SCOPE = "loyalty:finance"
OPERATOR_SCOPES = (ADMIN_SCOPE, SUPPORT_SCOPE, MARKETING_SCOPE, FINANCE_SCOPE)

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    #: The operator scope this request is served under, set by the access dependency that
    #: admitted it (admin when the token holds it); None when a member acts on their own data.
    acting_as: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    @property
    def role(self) -> str:
        """`member`, or the operator scope acted under without its prefix (`support`)."""
        return "member" if self.acting_as is None else self.acting_as.removeprefix("loyalty:")

    def acting(self, scopes: tuple[str, ...]) -> Principal:
        """This principal serving a request under the first of `scopes` it holds (admin first)."""
        held = next(s for s in (ADMIN_SCOPE, *scopes) if s in self.scopes)
        return replace(self, acting_as=held)

    def holds_any(self, scopes: tuple[str, ...]) -> bool:
        """Whether the token carries one of `scopes` (admin holds them all)."""
        return self.is_admin or not self.scopes.isdisjoint(scopes)


#: The algorithms accepted with keys from the identity provider's JWKS, and the key type (and
#: curve) each needs. HS256 is for the shared secret alone, never for a published key.
JWKS_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
}


def _usable(jwk: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The algorithms a published signing key verifies, each with the key bound to it: the one
    the key declares (`alg`), or every accepted one its type allows when it declares none."""
    if jwk.get("use", "sig") != "sig":
        return {}
    declared = jwk.get("alg")
    usable: dict[str, jwt.PyJWK] = {}
    for algorithm, (kty, crv) in JWKS_ALGORITHMS.items():
        if declared not in (None, algorithm) or jwk.get("kty") != kty:
            continue
        if crv is not None and jwk.get("crv") != crv:
            continue
        try:
            usable[algorithm] = jwt.PyJWK(jwk, algorithm=algorithm)
        except jwt.PyJWTError:
            continue
    return usable


def _signing_keys(document: object) -> dict[str, dict[str, jwt.PyJWK]]:
    """A JWKS document's usable keys by `kid` (a key without one under "")."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the document is not a JWK set")
    keys: dict[str, dict[str, jwt.PyJWK]] = {}
    for jwk in document["keys"]:
        if isinstance(jwk, dict) and (usable := _usable(jwk)):
            keys[str(jwk.get("kid") or "")] = usable
    if not keys:
        raise ValueError(f"no key for {', '.join(JWKS_ALGORITHMS)} in the JWK set")
    return keys


class JwksCache:
    """Public keys fetched from the identity provider, refreshed every `ttl_s` and when a token
    names a key not seen yet (rotation), but at most every `min_refresh_s`, so forged kids
    cannot hammer the IdP. A failed fetch keeps the keys it had and is tried again only after a
    backoff that doubles up to `max_backoff_s`: while the IdP is down, requests do not each
    fetch. Why a fetch failed is logged, never told to the caller."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float = 300,
        min_refresh_s: float = 10,
        max_backoff_s: float = 300,
        timeout_s: float = 5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._max_backoff_s = max_backoff_s
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._keys: dict[str, dict[str, jwt.PyJWK]] = {}
        self._fetched_at: float | None = None
        #: No fetch before this moment (the minimum interval, or the backoff after failures).
        self._next_fetch_at = 0.0
        self._failures = 0
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key `kid` names, bound to `algorithm`; Unauthorized when there is none."""
        if self._wants_fetch(kid):
            await self._refresh(kid)
        usable = self._lookup(kid)
        if usable is None:
            if not self._keys:
                raise Unauthorized("the token's signing keys cannot be checked right now")
            raise Unauthorized("the token's signing key is unknown")
        if algorithm not in usable:
            raise Unauthorized(f"the token's signing key is not for {algorithm!r}")
        return usable[algorithm]

    def _lookup(self, kid: str | None) -> dict[str, jwt.PyJWK] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid) if kid is not None else None

    def _wants_fetch(self, kid: str | None) -> bool:
        now = self._monotonic()
        if now < self._next_fetch_at:
            return False
        if self._fetched_at is None or now - self._fetched_at >= self._ttl_s:
            return True
        return self._lookup(kid) is None

    async def _refresh(self, kid: str | None) -> None:
        async with self._lock:
            # Checked again under the lock: another request may have fetched meanwhile.
            if not self._wants_fetch(kid):
                return
            try:
                async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                keys = _signing_keys(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                self._failures += 1
                backoff = min(self._max_backoff_s, self._min_refresh_s * 2 ** (self._failures - 1))
                self._next_fetch_at = self._monotonic() + backoff
                log.warning(
                    "jwks fetch failed",
                    url=self._url,
                    error=f"{type(exc).__name__}: {exc}",
                    failures=self._failures,
                    retry_in_s=backoff,
                    keys_kept=len(self._keys),
                )
                return
            self._keys = keys
            self._failures = 0
            self._fetched_at = self._monotonic()
            self._next_fetch_at = self._fetched_at + self._min_refresh_s


class TokenVerifier:
    """Verifies bearer tokens, and remembers the ones it verified until they expire: an app
    sends the same token on every request, and checking its signature again each time was the
    largest single cost of a balance read. A remembered token is still refused once expired."""

    CACHE_SIZE = 10_000

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._jwks = JwksCache(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires = remembered
            if time.time() < expires + self._settings.jwt_leeway_s:
                return principal
            del self._verified[token]
        principal, expires = await self._verify(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        key: str | jwt.PyJWK
        if algorithm == "HS256" and self._settings.jwt_secret is not None:
            key = self._settings.jwt_secret.get_secret_value()
        elif algorithm in JWKS_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            key = await self._jwks.key_for(kid if isinstance(kid, str) else None, algorithm)
        else:
            raise Unauthorized(f"tokens signed with {algorithm!r} are not accepted")
        s = self._settings
        required = ["exp", "sub"]
        required += ["aud"] if s.jwt_audience else []
        required += ["iss"] if s.jwt_issuer else []
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway_s,
                options={"require": required, "verify_aud": s.jwt_audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is invalid: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token has no subject")
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        return Principal(subject=subject, scopes=scopes), float(claims["exp"])


_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description=(
        "A JWT: `sub` is the member id (or the operator's id); the space-separated `scope` "
        "claim carries the operator roles (`loyalty:support`, `loyalty:marketing`, "
        "`loyalty:finance`; `loyalty:admin` grants everything). Each operation's security "
        "requirement names the scopes that open it; none means any valid token (a member's "
        "own endpoints: the path's member id then decides)."
    ),
)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, credentials: Bearer) -> Principal:
    if credentials is None:
        raise Unauthorized("a bearer token is required")
    return await runtime_of(request).tokens.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


#: A member id as a request names it: the contract's rules for ids (1..128 characters, no
#: surrounding whitespace) and no NUL, which PostgreSQL cannot store (a NUL failed the query with
#: a 500, an over-long id the event emitted).
MemberId = Annotated[Id, AfterValidator(_no_nul)]
#: In a path: anything else is a 422, before the database is asked.
MemberIdPath = Annotated[MemberId, Path(description="The member's id")]
_MEMBER_ID: TypeAdapter[str] = TypeAdapter(MemberId)


def is_member_id(value: str) -> bool:
    """Whether `value` is a member id the API accepts (what `MemberIdPath` checks)."""
    try:
        _MEMBER_ID.validate_python(value)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Admits:
    """Who an access dependency lets in: the member named in the path, and operator scopes."""

    member: bool
    scopes: tuple[str, ...]
    #: An operator's call is recorded in the audit log by the dependency itself.
    recorded: bool = False

    def describe(self) -> str:
        names = ["the member themself"] if self.member else []
        names += [f"`{scope}`" for scope in (*self.scopes, ADMIN_SCOPE)]
        who = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        return f"{who}; an operator's read is in the audit log" if self.recorded else who


#: Every access dependency and whom it admits (read by http/openapi.py for the documents).
ADMITS: dict[Callable[..., object], Admits] = {}


def _member_or(principal: Principal, member_id: str, scopes: tuple[str, ...]) -> Principal:
    if principal.subject == member_id:
        return principal
    if principal.holds_any(scopes):
        return principal.acting(scopes)
    raise Forbidden("a member may only see their own data")


async def member_access(principal: CurrentPrincipal, member_id: MemberIdPath) -> Principal:
    """The member themself or an admin: anyone else asking about `member_id` is refused. The
    token is a sub-dependency, solved before the path is validated, so a caller without a valid
    token is answered 401 whatever else is wrong with the request, never told about its shape.
    (The balance read, the most frequent, is answered before FastAPI: http/hot_reads.py.)"""
    return _member_or(principal, member_id, ())


async def member_read_access(principal: CurrentPrincipal, member_id: MemberIdPath) -> Principal:
    """Reading a member's data: the member themself, support or an admin."""
    return _member_or(principal, member_id, (SUPPORT_SCOPE,))


async def admin_access(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden(f"the {ADMIN_SCOPE} scope is required")
    return principal.acting(())


def requires_scope(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting a token with any of `scopes` (or admin), 403 for anyone else."""
    wanted = " or ".join((*scopes, ADMIN_SCOPE))

    async def operator_access(principal: CurrentPrincipal) -> Principal:
        if not principal.holds_any(scopes):
            raise Forbidden(f"the {wanted} scope is required")
        return principal.acting(scopes)

    ADMITS[operator_access] = Admits(member=False, scopes=scopes)
    return operator_access


ADMITS.update(
    {
        member_access: Admits(member=True, scopes=()),
        member_read_access: Admits(member=True, scopes=(SUPPORT_SCOPE,)),
        admin_access: Admits(member=False, scopes=()),
    }
)


def admits_of(dependant: Dependant) -> Admits | None:
    """Whom an endpoint admits: the first access dependency it (or one of its dependencies)
    has, None for an open endpoint."""
    for dependency in dependant.dependencies:
        found = ADMITS.get(dependency.call) if dependency.call else None
        if found is None:
            found = admits_of(dependency)
        if found is not None:
            return found
    return None


#: The member themself or an admin: what spends or changes a member's own things.
MemberAccess = Annotated[Principal, Depends(member_access)]
#: The member themself, support or an admin: reading a member's data (an operator's read is
#: recorded: see loyalty_shared.audit_log.AuditedMemberRead).
MemberReadAccess = Annotated[Principal, Depends(member_read_access)]
AdminAccess = Annotated[Principal, Depends(admin_access)]
SupportAccess = Annotated[Principal, Depends(requires_scope(SUPPORT_SCOPE))]
MarketingAccess = Annotated[Principal, Depends(requires_scope(MARKETING_SCOPE))]
FinanceAccess = Annotated[Principal, Depends(requires_scope(FINANCE_SCOPE))]
