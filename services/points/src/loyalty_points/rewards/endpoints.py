"""The rewards catalogue (marketing or admin), a member's rewards and reward redemptions.

Built per app with its program (the tiers a reward may ask for) and clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel

from loyalty_points.rewards import catalogue, redeeming
from loyalty_points.rewards.schemas import (
    CodesAdded,
    CodesUpload,
    MemberRewards,
    Reward,
    RewardCreate,
    RewardDefinition,
    RewardId,
    RewardPage,
    RewardRedemption,
    RewardRedemptionCreate,
    RewardRedemptionPage,
    with_program_tiers,
)
from loyalty_points.spending.http import IdempotencyKey, actor_of, required
from loyalty_shared import audit_log
from loyalty_shared.audit_log import AuditedMemberRead
from loyalty_shared.clock import Clock, system_clock
from loyalty_shared.db import Connection
from loyalty_shared.http.auth import (
    MarketingAccess,
    MemberAccess,
    MemberIdPath,
    Principal,
    SupportAccess,
)
from loyalty_shared.http.db import ReadOnly, Transaction
from loyalty_shared.http.paging import PageCursor, before_id
from loyalty_shared.http.problems import problem_responses
from loyalty_shared.program.schema import Program

RewardPath = Annotated[RewardId, Path(description="The reward's id")]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _body_is(model: type[BaseModel]) -> Callable[[Endpoint], Endpoint]:
    """The route's body model, built with the program when the app is (the source names its
    base class, which the type checker knows)."""

    def apply(endpoint: Endpoint) -> Endpoint:
        endpoint.__annotations__["body"] = model
        return endpoint

    return apply


def rewards_router(program: Program, clock: Clock = system_clock) -> APIRouter:
    router = APIRouter(tags=["rewards"])
    reward_create, reward_change = with_program_tiers([t.name for t in program.tiers.ladder])

    @router.post(
        "/v1/rewards",
        status_code=status.HTTP_201_CREATED,
        summary="Add a reward to the catalogue (marketing)",
        description="Every problem of the body is listed in one 422. A generated reward with a "
        "`stock` has its codes made at once; a pool reward gets its codes uploaded.",
        responses=problem_responses(401, 403, 409),
    )
    @_body_is(reward_create)
    async def create_reward(
        body: RewardCreate, principal: MarketingAccess, conn: Transaction
    ) -> Reward:
        reward = await catalogue.create(
            conn, reward_id=body.reward_id, definition=body, now=clock()
        )
        return await _recorded(conn, principal, "reward.create", reward)

    @router.put(
        "/v1/rewards/{reward_id}",
        summary="Change a reward (marketing): the whole definition, `stock` the units left",
        responses=problem_responses(401, 403, 404, 409),
    )
    @_body_is(reward_change)
    async def change_reward(
        reward_id: RewardPath, body: RewardDefinition, principal: MarketingAccess, conn: Transaction
    ) -> Reward:
        reward = await catalogue.change(conn, reward_id=reward_id, definition=body, now=clock())
        return await _recorded(conn, principal, "reward.change", reward)

    @router.get(
        "/v1/rewards",
        summary="The catalogue (marketing), by reward id, `stock` as the units left",
        responses=problem_responses(401, 403),
    )
    async def list_rewards(
        _: MarketingAccess,
        conn: ReadOnly,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
        include_retired: bool = False,
    ) -> RewardPage:
        return await catalogue.page(
            conn, cursor=cursor, limit=limit, include_retired=include_retired
        )

    @router.get(
        "/v1/rewards/{reward_id}",
        summary="A reward (marketing)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_reward(reward_id: RewardPath, _: MarketingAccess, conn: ReadOnly) -> Reward:
        return await catalogue.get(conn, reward_id)

    @router.post(
        "/v1/rewards/{reward_id}/retirement",
        summary="Retire a reward (marketing): no more redemptions, issued coupons stay valid",
        responses=problem_responses(401, 403, 404),
    )
    async def retire_reward(
        reward_id: RewardPath, principal: MarketingAccess, conn: Transaction
    ) -> Reward:
        reward = await catalogue.retire(conn, reward_id=reward_id, now=clock())
        return await _recorded(conn, principal, "reward.retire", reward)

    @router.post(
        "/v1/rewards/{reward_id}/codes",
        status_code=status.HTTP_201_CREATED,
        summary="Upload codes to a pool reward (marketing), one unit of stock each",
        description="All or nothing: a code given twice or known already (to any reward) "
        "refuses the whole upload (409, listing them). Up to the body limit per call (64 KiB: "
        "about 2,000 codes of 20 characters); send more in several calls.",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def upload_codes(
        reward_id: RewardPath, body: CodesUpload, principal: MarketingAccess, conn: Transaction
    ) -> CodesAdded:
        added = await catalogue.upload_codes(conn, reward_id=reward_id, codes=body.codes)
        await audit_log.record(
            conn,
            principal=principal,
            action="reward.codes_upload",
            details={"reward_id": reward_id, "codes": len(body.codes)},
        )
        return added

    @router.get(
        "/v1/members/{member_id}/rewards",
        summary="The rewards the member may redeem now, each `affordable` or not",
        description="Active, inside its dates, at or below the member's tier, in stock and "
        "under the member's limit; `affordable`: the member's available points pay for it.",
        responses=problem_responses(401, 403),
    )
    async def member_rewards(
        member_id: str, _: AuditedMemberRead, conn: Transaction
    ) -> MemberRewards:
        return await redeeming.member_rewards(
            conn, member_id=member_id, program=program, now=clock()
        )

    @router.post(
        "/v1/members/{member_id}/reward-redemptions",
        status_code=status.HTTP_201_CREATED,
        summary="Redeem a reward: points spent, a unit taken, a coupon issued, or nothing",
        description="`Idempotency-Key` is required: the same key and body answer the same "
        "(the same coupon, or the same 409); another body is 422. A 409's problem `type` ends "
        "in `insufficient-points`, `out-of-stock`, `tier-too-low`, `limit-reached` or "
        "`not-available`.",
        responses=problem_responses(400, 401, 403, 409, 422),
    )
    async def redeem_reward(
        member_id: str,
        body: RewardRedemptionCreate,
        principal: MemberAccess,
        conn: Transaction,
        idempotency_key: IdempotencyKey = None,
    ) -> RewardRedemption:
        redemption = await redeeming.redeem(
            conn,
            member_id=member_id,
            key=required(idempotency_key),
            request=body,
            actor=actor_of(principal, member_id),
            program=program,
            now=clock(),
        )
        await audit_log.record_operator(
            conn,
            principal=principal,
            action="points.reward_redeem",
            member_id=member_id,
            details={"redemption_id": str(redemption.redemption_id), "reward_id": body.reward_id},
        )
        return redemption

    @router.get(
        "/v1/members/{member_id}/reward-redemptions",
        summary="The member's reward redemptions and their coupons, newest first",
        responses=problem_responses(401, 403),
    )
    async def reward_history(
        member_id: str,
        _: AuditedMemberRead,
        conn: ReadOnly,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: PageCursor = None,
    ) -> RewardRedemptionPage:
        return await redeeming.history(
            conn, member_id=member_id, before=before_id(cursor), limit=limit
        )

    @router.get(
        "/v1/members/{member_id}/reward-redemptions/{redemption_id}",
        summary="A reward redemption and its coupon",
        responses=problem_responses(401, 403, 404),
    )
    async def reward_redemption(
        member_id: str, redemption_id: UUID, _: AuditedMemberRead, conn: ReadOnly
    ) -> RewardRedemption:
        return await redeeming.get(conn, member_id=member_id, redemption_id=redemption_id)

    @router.post(
        "/v1/members/{member_id}/reward-redemptions/{redemption_id}/cancellation",
        summary="Cancel a reward redemption (support) before its coupon is used",
        description="The points go back to their lots, the code is void (`coupon.voided`) and "
        "a generated reward gets its unit back; a used or expired coupon is 409. Cancelling "
        "twice answers the same.",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def cancel_reward_redemption(
        member_id: MemberIdPath, redemption_id: UUID, principal: SupportAccess, conn: Transaction
    ) -> RewardRedemption:
        redemption = await redeeming.cancel(
            conn,
            member_id=member_id,
            redemption_id=redemption_id,
            actor=f"{principal.role}:{principal.subject}",
            now=clock(),
        )
        await audit_log.record(
            conn,
            principal=principal,
            action="points.reward_redemption_cancel",
            member_id=member_id,
            details={"redemption_id": str(redemption_id), "reward_id": redemption.reward_id},
        )
        return redemption

    return router


async def _recorded(conn: Connection, principal: Principal, action: str, reward: Reward) -> Reward:
    """The reward, once the operator's change to the catalogue is in the audit log."""
    await audit_log.record(
        conn, principal=principal, action=action, details={"reward_id": reward.reward_id}
    )
    return reward
