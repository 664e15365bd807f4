-- Abuse controls (the program's [abuse] thresholds; docs/points.md#abuse-controls): a member who
-- crosses one is flagged, once per threshold and window (`member_flag`, with what was observed),
-- and the points they earn while a flag is open stay pending in lots `under_review` until support
-- or an admin releases or voids them (`flag_review`, kept under its Idempotency-Key; a void's
-- `review_void` entries reverse the held points; a voided purchase's points are counted on the
-- order so that a later refund does not take them again).
-- migrate:up
CREATE TABLE flag_review (
    id              bigserial   PRIMARY KEY,
    member_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    decision        text        NOT NULL CHECK (decision IN ('release', 'void')),
    -- the operator's words: erased with the member (ERASED)
    reason          text        NOT NULL,
    -- the held points released or voided
    points          bigint      NOT NULL CHECK (points >= 0),
    decided_by      text        NOT NULL,
    decided_at      timestamptz NOT NULL,
    UNIQUE (member_id, idempotency_key)
);

CREATE TABLE member_flag (
    id             bigserial   PRIMARY KEY,
    member_id      text        NOT NULL,
    reason         text        NOT NULL CHECK (reason IN
                       ('refunds', 'refund_ratio', 'points_per_day', 'actions_per_day')),
    threshold      numeric     NOT NULL,
    observed       numeric     NOT NULL,
    -- the day in the program's time zone a daily threshold counted (null: the last 30 days)
    local_day      date,
    flagged_at     timestamptz NOT NULL,
    cause_event_id text        NOT NULL,
    status         text        NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'released', 'voided')),
    review_id      bigint      REFERENCES flag_review (id),
    CHECK ((status = 'open') = (review_id IS NULL))
);
CREATE INDEX member_flag_by_member ON member_flag (member_id, reason, flagged_at);
CREATE INDEX member_flag_open ON member_flag (member_id) WHERE status = 'open';

-- Points earned while their member is flagged: pending, not maturing, until the review.
ALTER TABLE points_lot ADD COLUMN under_review boolean NOT NULL DEFAULT false;
CREATE INDEX points_lot_under_review ON points_lot (member_id) WHERE under_review;

ALTER TABLE purchase ADD COLUMN points_voided bigint NOT NULL DEFAULT 0
    CHECK (points_voided >= 0);

-- The refunds of a member in the last 30 days (the `refunds` and `refund_ratio` thresholds).
CREATE INDEX refund_by_member ON refund (member_id, refunded_at);

ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust',
         'hold', 'hold_release', 'opening', 'review_void'));

-- migrate:down
-- (entries of voided reviews stay: the ledger is append-only)
ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust',
         'hold', 'hold_release', 'opening')) NOT VALID;
DROP INDEX refund_by_member;
ALTER TABLE purchase DROP COLUMN points_voided;
DROP INDEX points_lot_under_review;
ALTER TABLE points_lot DROP COLUMN under_review;
DROP TABLE member_flag;
DROP TABLE flag_review;
