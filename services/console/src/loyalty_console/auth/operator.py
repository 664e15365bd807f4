"""The signed-in operator and what the console shows them.

The roles are contract 5.1's scopes, granted by the identity provider in the access token (or by
the development sign-in); the services check them on every call, and the console hides what a
role may not see or do rather than showing a page of refusals. `Can` is that one table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from loyalty_shared.http.auth import (
    ADMIN_SCOPE,
    FINANCE_SCOPE,
    MARKETING_SCOPE,
    OPERATOR_SCOPES,
    SUPPORT_SCOPE,
)
from loyalty_shared.http.problems import Forbidden

#: A token this close to its expiry is not used for another page: sign in again first.
EXPIRY_MARGIN_S = 30


class SignInRequired(Exception):
    """No operator in the session, or their token ran out."""


@dataclass(frozen=True, slots=True)
class Operator:
    subject: str
    name: str
    scopes: frozenset[str]
    token: str
    expires_at: float

    def holds(self, *scopes: str) -> bool:
        """Whether the token carries one of `scopes` (admin holds them all)."""
        return ADMIN_SCOPE in self.scopes or not self.scopes.isdisjoint(scopes)

    @property
    def roles(self) -> list[str]:
        return [s.removeprefix("loyalty:") for s in OPERATOR_SCOPES if s in self.scopes]

    def as_session(self) -> dict[str, Any]:
        return {
            "sub": self.subject,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "token": self.token,
            "exp": self.expires_at,
        }

    @classmethod
    def from_session(cls, data: object) -> Operator | None:
        if not isinstance(data, dict):
            return None
        try:
            operator = cls(
                subject=str(data["sub"]),
                name=str(data["name"]),
                scopes=frozenset(str(s) for s in data["scopes"]),
                token=str(data["token"]),
                expires_at=float(data["exp"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return operator if operator.expires_at - EXPIRY_MARGIN_S > time.time() else None


@dataclass(frozen=True, slots=True)
class Can:
    """What the console shows an operator: the matrix of contract 5.1, which the services
    enforce as well (docs/operations.md#who-may-do-what)."""

    operator: Operator

    def _any(self, *scopes: str) -> bool:
        return self.operator.holds(*scopes)

    @property
    def see_members(self) -> bool:  # balances, ledger, tier, messages, answers, comments
        return self._any(SUPPORT_SCOPE)

    @property
    def adjust(self) -> bool:  # support within the program's limit, admin any amount
        return self._any(SUPPORT_SCOPE)

    @property
    def export(self) -> bool:
        return self._any(SUPPORT_SCOPE)

    @property
    def cancel_reward_redemption(self) -> bool:
        return self._any(SUPPORT_SCOPE)

    @property
    def review_flags(self) -> bool:  # release or void what a flagged member's points hold
        return self._any(SUPPORT_SCOPE)

    @property
    def see_reports(self) -> bool:  # program, campaigns, simulation, rewards, NPS, loyalty
        return self._any(MARKETING_SCOPE)

    @property
    def see_liability(self) -> bool:
        return self._any(FINANCE_SCOPE)

    @property
    def administer(self) -> bool:  # tier overrides, redemption cancels, erasure, dead letters
        return self._any()


def require(allowed: bool, why: str = "your role may not do this") -> None:
    """Refuse (403) what the operator's role may not see or do."""
    if not allowed:
        raise Forbidden(why)


def current_operator(request: Request) -> Operator:
    operator = Operator.from_session(request.session.get("operator"))
    if operator is None:
        raise SignInRequired
    return operator


CurrentOperator = Annotated[Operator, Depends(current_operator)]
