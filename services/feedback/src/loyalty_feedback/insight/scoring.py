"""The rules of behavioural loyalty (docs/loyalty-index.md explains them), in one place.

RFM scores 1-5 by fixed thresholds (not quintiles: a member's score must not move because other
members bought, and the rules must be explainable to a member):

- R (recency, days since the last purchase not refunded in full): <=30 → 5, <=60 → 4,
  <=120 → 3, <=240 → 2, else 1.
- F (frequency, purchases not refunded in full in the last 365 days): >=10 → 5, >=6 → 4,
  >=3 → 3, 2 → 2, else 1.
- M (monetary, net spend in the program currency in the last 365 days): >=20,000 → 5,
  >=5,000 → 4, >=2,000 → 3, >=500 → 2, else 1.

Segments from R and F, first match wins: champions (R>=4, F>=4), loyal (R>=3, F>=3), new (R=5,
F=1), potential (R>=4), at_risk (R<=2, F>=3), hibernating (R<=2), needs_attention (the rest).

Loyalty index 0-100: behaviour = (R-1 + F-1 + M-1) / 12 * 100; with an NPS answer in the last
365 days, index = 0.6 * behaviour + 0.4 * (latest score * 10); without one, behaviour alone.
"""

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
