"""The feedback service's own Prometheus metrics (beside the shared consumer and relay ones)."""

from __future__ import annotations

from prometheus_client import Counter

INVITATIONS = Counter(
    "loyalty_feedback_invitations_total",
    "Due survey invitations decided: sent, or skipped (refunded, cooldown, stale)",
    ["outcome"],
)
ANSWERS = Counter(
    "loyalty_feedback_answers_total",
    "Answers taken, by where they came from (app, survey) and NPS category",
    ["source", "category"],
)
