"""The rules of behavioural loyalty in one place: RFM thresholds, segments and the loyalty index,
as docs/loyalty-index.md explains them."""

from __future__ import annotations

from decimal import Decimal

WINDOW_DAYS = 365
#: R = 1 + how many of these the recency is at or below.
RECENCY_DAYS = (240, 120, 60, 30)
#: F = 1 + how many of these the frequency reaches.
FREQUENCY = (2, 3, 6, 10)
#: M = 1 + how many of these the net spend reaches.
MONETARY = (Decimal(500), Decimal(2000), Decimal(5000), Decimal(20000))
BEHAVIOUR_WEIGHT = Decimal("0.6")
ATTITUDE_WEIGHT = Decimal("0.4")

SEGMENTS = (
    "champions",
    "loyal",
    "new",
    "potential",
    "at_risk",
    "hibernating",
    "needs_attention",
)

#: The segment rule in SQL over `r_score` and `f_score` (first match wins).
SEGMENT_SQL = """
    CASE WHEN r_score >= 4 AND f_score >= 4 THEN 'champions'
         WHEN r_score >= 3 AND f_score >= 3 THEN 'loyal'
         WHEN r_score = 5 AND f_score = 1 THEN 'new'
         WHEN r_score >= 4 THEN 'potential'
         WHEN r_score <= 2 AND f_score >= 3 THEN 'at_risk'
         WHEN r_score <= 2 THEN 'hibernating'
         ELSE 'needs_attention'
    END
"""

#: The loyalty index in SQL over the scores and `latest_score` (an NPS 0-10, or NULL).
INDEX_SQL = f"""
    round(CASE WHEN latest_score IS NULL
               THEN (r_score + f_score + m_score - 3) / 12.0 * 100
               ELSE {BEHAVIOUR_WEIGHT} * (r_score + f_score + m_score - 3) / 12.0 * 100
                    + {ATTITUDE_WEIGHT} * latest_score * 10
          END)::int
"""
