-- migrate:up

-- Orders this service has seen (purchase.completed): what an answer's order id is checked
-- against, what survey invitations follow, and the behavioural (RFM) history.
CREATE TABLE purchase (
    order_id     text          PRIMARY KEY,
    member_id    text          NOT NULL,
    channel      text          NOT NULL,
    currency     text          NOT NULL,
    total        numeric(16,2) NOT NULL,
    purchased_at timestamptz   NOT NULL
);
CREATE INDEX purchase_member ON purchase (member_id, purchased_at);

-- Refunds by refund id (a refund may arrive before its purchase).
CREATE TABLE refund (
    refund_id   text          PRIMARY KEY,
    order_id    text          NOT NULL,
    member_id   text          NOT NULL,
    amount      numeric(16,2) NOT NULL,
    refunded_at timestamptz   NOT NULL
);
CREATE INDEX refund_order ON refund (order_id);

-- Each member's tier as the tiers service last said (tier.changed), for NPS by tier.
CREATE TABLE member_tier (
    member_id  text        PRIMARY KEY,
    tier       text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Survey invitations: one per sampled order, pending until due, then sent or skipped.
CREATE TABLE invitation (
    invitation_id uuid        PRIMARY KEY,
    member_id     text        NOT NULL,
    order_id      text        NOT NULL UNIQUE,
    channel       text        NOT NULL,
    purchased_at  timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'sent', 'skipped')),
    skip_reason   text        CHECK (skip_reason IN ('refunded', 'cooldown', 'stale')),
    sent_at       timestamptz,
    expires_at    timestamptz
);
CREATE INDEX invitation_due ON invitation (due_at) WHERE status = 'pending';
CREATE INDEX invitation_member ON invitation (member_id, sent_at);

-- When each member was last invited: the 30-day rule, race-free between replicas (an upsert
-- on this row serialises two senders of the same member).
CREATE TABLE member_survey (
    member_id    text        PRIMARY KEY,
    last_sent_at timestamptz NOT NULL
);

-- Answers (NPS 0-10, CSAT 1-5), one per invitation and one per order.
CREATE TABLE feedback (
    feedback_id   uuid        PRIMARY KEY,
    member_id     text        NOT NULL,
    invitation_id uuid        UNIQUE REFERENCES invitation,
    order_id      text,
    channel       text,
    tier          text        NOT NULL,
    score         int         NOT NULL CHECK (score BETWEEN 0 AND 10),
    csat          int         CHECK (csat BETWEEN 1 AND 5),
    comment       text        CHECK (char_length(comment) <= 2000),
    source        text        NOT NULL CHECK (source IN ('app', 'survey')),
    answered_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX feedback_one_per_order ON feedback (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX feedback_answered ON feedback (answered_at);
CREATE INDEX feedback_member ON feedback (member_id, answered_at DESC);

-- Service recovery: goodwill granted, at most once per member per cooldown period.
CREATE TABLE goodwill_grant (
    feedback_id uuid        PRIMARY KEY REFERENCES feedback,
    member_id   text        NOT NULL,
    points      int         NOT NULL CHECK (points > 0),
    granted_at  timestamptz NOT NULL
);
CREATE INDEX goodwill_member ON goodwill_grant (member_id, granted_at);

-- Behavioural loyalty as of the last recompute: the segment a change event is measured from.
CREATE TABLE member_insight (
    member_id    text          PRIMARY KEY,
    recency_days int,
    frequency    int           NOT NULL,
    monetary     numeric(16,2) NOT NULL,
    r_score      int           NOT NULL,
    f_score      int           NOT NULL,
    m_score      int           NOT NULL,
    segment      text          NOT NULL,
    orders       int           NOT NULL,
    clv          numeric(16,2) NOT NULL,
    computed_at  timestamptz   NOT NULL
);
CREATE INDEX member_insight_segment ON member_insight (segment);

-- Comment search by text, Chinese included: `ILIKE '%...%'` is correct everywhere; a trigram
-- index makes it fast where pg_trgm can be created (a trusted extension in PostgreSQL 13+, so
-- the database owner may; the embedded PostgreSQL 18 and Debian's 15 both ship it). With a
-- UTF-8 ctype, CJK characters are word characters to pg_trgm, so Chinese comments are indexed.
-- Without the extension the search still works, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX feedback_comment_trgm ON feedback USING gin (comment gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): comment search scans', SQLERRM;
END
$$;

-- migrate:down
DROP TABLE member_insight;
DROP TABLE goodwill_grant;
DROP TABLE feedback;
DROP TABLE member_survey;
DROP TABLE invitation;
DROP TABLE member_tier;
DROP TABLE refund;
DROP TABLE purchase;
