"""A member read that records itself when an operator makes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from loyalty_shared.audit_log.service import record_operator
from loyalty_shared.http.auth import (
    ADMITS,
    SUPPORT_SCOPE,
    Admits,
    MemberIdPath,
    MemberReadAccess,
    Principal,
)
from loyalty_shared.http.db import SingleStatement


async def _audited_member_read(
    request: Request, principal: MemberReadAccess, member_id: MemberIdPath, pool: SingleStatement
) -> AsyncIterator[Principal]:
    yield principal
    # Reached once the endpoint has answered (a refused or failed read is not recorded), before
    # the answer is sent: a read whose record cannot be written is not answered. The read's own
    # connection is back in the pool by then (its dependency is declared after this one and is
    # function-scoped too), or concurrent operator reads could take every connection and each
    # wait for one more for ever.
    route = getattr(request.scope.get("route"), "path", request.url.path)
    await record_operator(
        pool,
        principal=principal,
        action="member.read",
        member_id=member_id,
        details={"route": f"{request.method} {route}"},
    )


ADMITS[_audited_member_read] = Admits(member=True, scopes=(SUPPORT_SCOPE,), recorded=True)

#: Reading a member's data: the member themself, support or an admin; an operator's read is
#: recorded as `member.read` with the route it used.
AuditedMemberRead = Annotated[Principal, Depends(_audited_member_read, scope="function")]
