"""A member read that records itself when an operator makes it."""

from __future__ import annotations

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
) -> Principal:
    # Recorded before the read, in a statement of its own, so no request holds the read's
    # connection while it waits for another to record it (concurrent operator reads took every
    # connection of the pool that way). A read refused at its access check is not recorded; a
    # read whose record cannot be written is not answered.
    route = getattr(request.scope.get("route"), "path", request.url.path)
    await record_operator(
        pool,
        principal=principal,
        action="member.read",
        member_id=member_id,
        details={"route": f"{request.method} {route}"},
    )
    return principal


ADMITS[_audited_member_read] = Admits(member=True, scopes=(SUPPORT_SCOPE,), recorded=True)

#: Reading a member's data: the member themself, support or an admin; an operator's read is
#: recorded as `member.read` with the route it used.
AuditedMemberRead = Annotated[Principal, Depends(_audited_member_read)]
