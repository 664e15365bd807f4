"""Survey tokens: what a survey link carries so a member answers without logging in.

An HS256 JWT signed with the survey key (never the API key), with audience `loyalty:survey` and
`purpose: survey`, bound to the member (`sub`), the invitation (`inv`) and the order (`ord`), and
expiring with the invitation. Forged, altered, expired or foreign tokens are refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

from loyalty_shared.http.problems import ProblemError, Unauthorized

AUDIENCE = "loyalty:survey"
ISSUER = "loyalty/feedback"
PURPOSE = "survey"


class SurveyExpired(ProblemError):
    status = 410
    title = "This survey has expired"
    type = "urn:loyalty:problem:survey-expired"


@dataclass(frozen=True, slots=True)
class SurveyClaims:
    member_id: str
    invitation_id: uuid.UUID
    order_id: str


def issue(
    key: bytes,
    *,
    member_id: str,
    invitation_id: uuid.UUID,
    order_id: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "purpose": PURPOSE,
        "sub": member_id,
        "inv": str(invitation_id),
        "ord": order_id,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, key, algorithm="HS256")


def verify(key: bytes, token: str) -> SurveyClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            # `iat` is informative: a job run with an injected clock may issue "in the future"
            options={"require": ["exp", "sub", "inv", "ord", "aud", "iss"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise SurveyExpired("the survey link has expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the survey token is invalid: {exc}") from None
    if claims.get("purpose") != PURPOSE:
        raise Unauthorized("the token is not a survey token")
    try:
        return SurveyClaims(
            member_id=str(claims["sub"]),
            invitation_id=uuid.UUID(str(claims["inv"])),
            order_id=str(claims["ord"]),
        )
    except ValueError:
        raise Unauthorized("the survey token is invalid: malformed invitation id") from None
