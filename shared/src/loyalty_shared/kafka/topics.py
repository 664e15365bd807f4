"""Topic names of the contract and the dead-letter naming rule."""

from __future__ import annotations

COMMERCE_PURCHASES = "commerce.purchases"
COMMERCE_MEMBERS = "commerce.members"
LOYALTY_POINTS = "loyalty.points"
LOYALTY_TIERS = "loyalty.tiers"
LOYALTY_FEEDBACK = "loyalty.feedback"
LOYALTY_NOTIFICATIONS = "loyalty.notifications"
#: `privacy.erased` from every service; compacted, so it is also the register of erasures.
LOYALTY_PRIVACY = "loyalty.privacy"

ALL_TOPICS = (
    COMMERCE_PURCHASES,
    COMMERCE_MEMBERS,
    LOYALTY_POINTS,
    LOYALTY_TIERS,
    LOYALTY_FEEDBACK,
    LOYALTY_NOTIFICATIONS,
    LOYALTY_PRIVACY,
)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics_with_dlq() -> list[str]:
    return [name for topic in ALL_TOPICS for name in (topic, dlq_topic(topic))]
