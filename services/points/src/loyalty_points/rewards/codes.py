"""Coupon codes the platform makes: from `secrets`, in an alphabet without characters people
mistake for one another (0/O, 1/I/L, U/V), in groups of four: `7KQX-M3PA-WZ9D`."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
GROUPS, GROUP = 3, 4  # 29 ** 12: about 2 ** 58 codes, too many to guess one


def new_code() -> str:
    chars = [secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP)]
    return "-".join("".join(chars[n : n + GROUP]) for n in range(0, len(chars), GROUP))


def new_codes(count: int) -> list[str]:
    return [new_code() for _ in range(count)]
