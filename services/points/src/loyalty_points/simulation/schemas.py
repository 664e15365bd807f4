"""What `POST /v1/program/simulate` takes and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from loyalty_points.campaigns.schemas import CampaignRequest
from loyalty_shared.events.commerce import PurchaseCompletedV1
from loyalty_shared.events.fields import Id, Rfc3339Time
from loyalty_shared.program.schema import Program


class SimulationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purchase": {
                        "order_id": "o-5001",
                        "member_id": "m-1001",
                        "channel": "online",
                        "currency": "CNY",
                        "total": "300.00",
                        "items": [
                            {
                                "sku": "sku-2001",
                                "category": "coffee",
                                "quantity": 2,
                                "unit_price": "150.00",
                            }
                        ],
                    },
                    "time": "2026-12-05T10:15:00+08:00",
                }
            ]
        },
    )

    purchase: PurchaseCompletedV1 = Field(description="The `data` of a `purchase.completed`")
    time: Rfc3339Time = Field(description="The purchase's `time` (campaigns, window, expiry)")
    tier: str | None = Field(
        None,
        max_length=32,
        description="Earn at this tier; by default the tier this service knows for the member",
    )
    program: Program | None = Field(
        None,
        description="Earn under this program (as `GET /v1/program` answers it, changed) instead "
        "of the program in force",
    )
    campaign: CampaignRequest | None = Field(
        None,
        description="A draft campaign (as `POST /v1/campaigns` takes it), added to the program "
        "as if it were started now, in place of a campaign of the same id",
    )


class RuleApplied(BaseModel):
    rule: str = Field(
        description="base, tier, category:<name>, channel:<name>, campaign:<name>, cap"
    )
    points: int
    detail: str
    version: int | None = Field(
        None, description="The version of a campaign started at run time (`POST /v1/campaigns`)"
    )


class Simulation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "m-1001",
                    "tier": "silver",
                    "points": 375,
                    "available_at": "2026-12-19T10:15:00+08:00",
                    "expires_at": "2027-12-31T23:59:59+08:00",
                    "rules": [
                        {"rule": "base", "points": 300, "detail": "1 point per CNY 1 of 300.00"},
                        {"rule": "tier", "points": 75, "detail": "silver x1.25"},
                    ],
                }
            ]
        }
    )

    member_id: Id
    tier: str
    points: int = Field(description="What the purchase would earn, every rule included")
    available_at: datetime
    expires_at: datetime
    rules: list[RuleApplied] = Field(description="Rule by rule, in the order they apply")
