"""Behavioural loyalty in SQL: RFM per member from the purchases and refunds seen, the segment
and the loyalty index (rules in scoring.py), and the stored segments change events come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from loyalty_feedback.insight import scoring
from loyalty_shared.db import Connection


@dataclass(frozen=True, slots=True)
class Scores:
    """A member's behaviour and attitude computed now; zeros for a member without purchases."""

    member_id: str
    recency_days: int | None
    frequency: int
    monetary: Decimal
    purchases: int
    orders: int
    clv: Decimal
    r_score: int
    f_score: int
    m_score: int
    latest_nps_score: int | None
    segment: str
    loyalty_index: int


@dataclass(frozen=True, slots=True)
class SegmentChange:
    member_id: str
    from_segment: str | None
    to_segment: str
    recency_days: int | None
    frequency: int
    monetary: Decimal


@dataclass(frozen=True, slots=True)
class SegmentRow:
    segment: str
    members: int
    share: float
    average_recency_days: float | None
    average_frequency: float | None
    average_monetary: Decimal | None
    average_clv: Decimal | None
    repeat_purchase_rate: float
    repeaters: int
    nps_responses: int
    nps: float | None
    computed_at: datetime


_COMPUTE = f"""
WITH members AS (
    SELECT DISTINCT unnest($1::text[]) AS member_id
), orders AS (
    SELECT p.member_id, p.purchased_at, p.total, coalesce(r.refunded, 0) AS refunded,
           p.currency = $3 AS in_currency,
           (p.total = 0 OR coalesce(r.refunded, 0) < p.total) AS kept,
           p.purchased_at > $2::timestamptz - $4::interval AS recent
    FROM purchase p
    JOIN members m USING (member_id)
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS refunded FROM refund WHERE refund.order_id = p.order_id
    ) r ON true
    WHERE p.purchased_at <= $2::timestamptz
), stats AS (
    SELECT m.member_id,
           greatest(0, floor(extract(epoch FROM $2::timestamptz - coalesce(
               max(o.purchased_at) FILTER (WHERE o.kept), max(o.purchased_at))) / 86400))::int
               AS recency_days,
           count(*) FILTER (WHERE o.kept AND o.recent)::int AS frequency,
           coalesce(sum(o.total - o.refunded) FILTER (WHERE o.in_currency AND o.recent), 0)
               AS monetary,
           count(o.member_id)::int AS purchases,
           count(*) FILTER (WHERE o.kept)::int AS orders,
           coalesce(sum(o.total - o.refunded) FILTER (WHERE o.in_currency), 0) AS clv
    FROM members m LEFT JOIN orders o USING (member_id)
    GROUP BY m.member_id
), scored AS (
    SELECT s.*,
           CASE WHEN s.recency_days IS NULL THEN 1
                ELSE 1 + (SELECT count(*) FROM unnest($5::int[]) t WHERE s.recency_days <= t)
           END::int AS r_score,
           (1 + (SELECT count(*) FROM unnest($6::int[]) t WHERE s.frequency >= t))::int
               AS f_score,
           (1 + (SELECT count(*) FROM unnest($7::numeric[]) t WHERE s.monetary >= t))::int
               AS m_score,
           (SELECT f.score FROM feedback f
             WHERE f.member_id = s.member_id AND f.answered_at > $2::timestamptz - $4::interval
             ORDER BY f.answered_at DESC LIMIT 1) AS latest_score
    FROM stats s
)
SELECT member_id, recency_days, frequency, monetary, purchases, orders, clv,
       r_score, f_score, m_score, latest_score AS latest_nps_score,
       {scoring.SEGMENT_SQL} AS segment,
       {scoring.INDEX_SQL} AS loyalty_index
FROM scored ORDER BY member_id
"""


async def compute(
    conn: Connection, member_ids: Sequence[str], *, now: datetime, currency: str
) -> list[Scores]:
    rows = await conn.fetch(
        _COMPUTE,
        list(member_ids),
        now,
        currency,
        timedelta(days=scoring.WINDOW_DAYS),
        list(scoring.RECENCY_DAYS),
        list(scoring.FREQUENCY),
        list(scoring.MONETARY),
    )
    return [Scores(**row) for row in rows]


async def members_after(conn: Connection, after: str, limit: int) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT DISTINCT member_id FROM purchase WHERE member_id > $1
        ORDER BY member_id LIMIT $2
        """,
        after,
        limit,
    )
    return [row["member_id"] for row in rows]


async def store(
    conn: Connection, scores: Sequence[Scores], *, now: datetime
) -> list[SegmentChange]:
    """Store the members' new insight; returns those whose segment changed (with the old one).
    The old rows are locked first, so a concurrent recompute sees this one's segments."""
    changed = await conn.fetch(
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::numeric[], $5::int[],
                                 $6::int[], $7::int[], $8::text[], $9::int[], $10::numeric[],
                                 $12::int[])
                   AS i (member_id, recency_days, frequency, monetary, r_score, f_score,
                         m_score, segment, orders, clv, loyalty_index)
        ), old AS (
            SELECT m.member_id, m.segment FROM member_insight m JOIN input USING (member_id)
            ORDER BY m.member_id FOR UPDATE OF m
        ), stored AS (
            INSERT INTO member_insight AS m (member_id, recency_days, frequency, monetary,
                                             r_score, f_score, m_score, segment, orders, clv,
                                             loyalty_index, computed_at)
            SELECT *, $11 FROM input ORDER BY member_id
            ON CONFLICT (member_id) DO UPDATE
               SET recency_days = EXCLUDED.recency_days, frequency = EXCLUDED.frequency,
                   monetary = EXCLUDED.monetary, r_score = EXCLUDED.r_score,
                   f_score = EXCLUDED.f_score, m_score = EXCLUDED.m_score,
                   segment = EXCLUDED.segment, orders = EXCLUDED.orders, clv = EXCLUDED.clv,
                   loyalty_index = EXCLUDED.loyalty_index, computed_at = EXCLUDED.computed_at
        )
        SELECT i.member_id, o.segment AS from_segment, i.segment AS to_segment,
               i.recency_days, i.frequency, i.monetary
        FROM input i LEFT JOIN old o USING (member_id)
        WHERE o.segment IS DISTINCT FROM i.segment
        ORDER BY i.member_id
        """,
        [s.member_id for s in scores],
        [s.recency_days for s in scores],
        [s.frequency for s in scores],
        [s.monetary for s in scores],
        [s.r_score for s in scores],
        [s.f_score for s in scores],
        [s.m_score for s in scores],
        [s.segment for s in scores],
        [s.orders for s in scores],
        [s.clv for s in scores],
        now,
        [s.loyalty_index for s in scores],
    )
    return [SegmentChange(**row) for row in changed]


async def record_index_day(conn: Connection, *, day: date, base_tier: str) -> None:
    """The day's average loyalty index per tier, from what the recompute just stored."""
    await conn.execute(
        """
        INSERT INTO loyalty_index_day AS d (day, tier, members, average)
        SELECT $1, coalesce(t.tier, $2), count(*), round(avg(i.loyalty_index), 1)
        FROM member_insight i LEFT JOIN member_tier t USING (member_id)
        WHERE i.loyalty_index IS NOT NULL
        GROUP BY 2
        ON CONFLICT (day, tier) DO UPDATE
           SET members = EXCLUDED.members, average = EXCLUDED.average
        """,
        day,
        base_tier,
    )


async def segments(conn: Connection, *, now: datetime) -> list[SegmentRow]:
    rows = await conn.fetch(
        """
        WITH answers AS (
            SELECT i.segment, f.score
            FROM feedback f JOIN member_insight i USING (member_id)
            WHERE f.answered_at > $1::timestamptz - $2::interval
        ), nps AS (
            SELECT segment, count(*)::int AS responses,
                   round(100.0 * (count(*) FILTER (WHERE score >= 9)
                                  - count(*) FILTER (WHERE score <= 6)) / count(*), 1)::float8
                       AS nps
            FROM answers GROUP BY segment
        )
        SELECT i.segment,
               count(*)::int AS members,
               round(100.0 * count(*) / sum(count(*)) OVER (), 1)::float8 AS share,
               round(avg(i.recency_days), 1)::float8 AS average_recency_days,
               round(avg(i.frequency), 2)::float8 AS average_frequency,
               round(avg(i.monetary), 2) AS average_monetary,
               round(avg(i.clv), 2) AS average_clv,
               round(100.0 * count(*) FILTER (WHERE i.orders >= 2) / count(*), 1)::float8
                   AS repeat_purchase_rate,
               count(*) FILTER (WHERE i.orders >= 2)::int AS repeaters,
               coalesce(n.responses, 0) AS nps_responses,
               n.nps,
               max(i.computed_at) AS computed_at
        FROM member_insight i LEFT JOIN nps n USING (segment)
        GROUP BY i.segment, n.responses, n.nps
        ORDER BY members DESC, i.segment
        """,
        now,
        timedelta(days=scoring.WINDOW_DAYS),
    )
    return [SegmentRow(**row) for row in rows]


@dataclass(frozen=True, slots=True)
class CohortMonth:
    """Of the members who first bought in `cohort` (YYYY-MM), those who bought in its month
    `month_number` (0: the first)."""

    cohort: str
    month_number: int
    members: int


async def cohorts(conn: Connection, *, first_month: datetime) -> list[CohortMonth]:
    """Members by the month (UTC) of their first purchase, from `first_month` on, and how many
    of each cohort bought in each month since."""
    rows = await conn.fetch(
        """
        WITH firsts AS (
            SELECT member_id, date_trunc('month', min(purchased_at) AT TIME ZONE 'UTC') AS cohort
            FROM purchase GROUP BY member_id
            HAVING min(purchased_at) >= $1
        ), months AS (
            SELECT DISTINCT f.member_id, f.cohort,
                   date_trunc('month', p.purchased_at AT TIME ZONE 'UTC') AS month
            FROM firsts f JOIN purchase p USING (member_id)
        )
        SELECT to_char(cohort, 'YYYY-MM') AS cohort,
               ((extract(year FROM month) - extract(year FROM cohort)) * 12
                + extract(month FROM month) - extract(month FROM cohort))::int AS month_number,
               count(*)::int AS members
        FROM months
        GROUP BY cohort, month
        ORDER BY cohort, month
        """,
        first_month,
    )
    return [CohortMonth(**row) for row in rows]


@dataclass(frozen=True, slots=True)
class ClvSpread:
    """Members' CLV as of the last recompute (`computed_at`); `by_bucket`: members per bucket
    (bucket i counts edges[i-1] <= clv < edges[i], the last one is open)."""

    members: int
    average: Decimal | None
    #: The 25th, 50th, 75th and 90th; None without members.
    percentiles: list[float] | None
    computed_at: datetime | None
    by_bucket: dict[int, int]


async def clv_distribution(conn: Connection, edges: Sequence[Decimal]) -> ClvSpread:
    summary = await conn.fetchrow(
        """
        SELECT count(*)::int AS members, round(avg(clv), 2) AS average,
               percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY clv)
                   AS percentiles,
               max(computed_at) AS computed_at
        FROM member_insight
        """
    )
    assert summary is not None
    buckets = await conn.fetch(
        """
        SELECT width_bucket(clv, $1::numeric[]) AS bucket, count(*)::int AS members
        FROM member_insight GROUP BY 1 ORDER BY 1
        """,
        list(edges),
    )
    return ClvSpread(**summary, by_bucket={row["bucket"]: row["members"] for row in buckets})


@dataclass(frozen=True, slots=True)
class TierIndexRow:
    tier: str
    members: int
    average: float


async def index_by_tier(conn: Connection, *, base_tier: str) -> list[TierIndexRow]:
    rows = await conn.fetch(
        """
        SELECT coalesce(t.tier, $1) AS tier, count(*)::int AS members,
               round(avg(i.loyalty_index), 1)::float8 AS average
        FROM member_insight i LEFT JOIN member_tier t USING (member_id)
        WHERE i.loyalty_index IS NOT NULL
        GROUP BY 1
        """,
        base_tier,
    )
    return [TierIndexRow(**row) for row in rows]


@dataclass(frozen=True, slots=True)
class IndexDayRow:
    day: date
    tier: str
    members: int
    average: float


async def index_days(conn: Connection, *, since: date) -> list[IndexDayRow]:
    rows = await conn.fetch(
        """
        SELECT day, tier, members, average::float8 AS average
        FROM loyalty_index_day WHERE day >= $1 ORDER BY day, tier
        """,
        since,
    )
    return [IndexDayRow(**row) for row in rows]
