"""The tier ladder as arithmetic: which tier a spend supports, and what the next one needs."""

from __future__ import annotations

from decimal import Decimal

from loyalty_shared.program.schema import Program, Tier


def rank(program: Program, name: str) -> int:
    for position, tier in enumerate(program.tiers.ladder):
        if tier.name == name:
            return position
    return 0  # a tier the program no longer has counts as the base


def supported(program: Program, spend: Decimal) -> Tier:
    """The highest tier whose threshold the spend reaches."""
    reached = [tier for tier in program.tiers.ladder if spend >= tier.threshold]
    return reached[-1]


def next_tier(program: Program, name: str) -> Tier | None:
    ladder = program.tiers.ladder
    position = rank(program, name)
    return ladder[position + 1] if position + 1 < len(ladder) else None
