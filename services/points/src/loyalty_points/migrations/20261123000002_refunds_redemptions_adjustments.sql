-- migrate:up

-- What each order has refunded so far, and the points that reversed.
ALTER TABLE purchase
    ADD COLUMN refunded_total  numeric(14,2) NOT NULL DEFAULT 0 CHECK (refunded_total >= 0),
    ADD COLUMN points_reversed bigint        NOT NULL DEFAULT 0 CHECK (points_reversed >= 0),
    ADD CONSTRAINT refunds_within_total CHECK (refunded_total <= total),
    ADD CONSTRAINT reversals_within_points CHECK (points_reversed <= points);

CREATE TABLE refund (
    refund_id   text          PRIMARY KEY,
    order_id    text          NOT NULL REFERENCES purchase (order_id),
    member_id   text          NOT NULL,
    event_id    text          NOT NULL,
    amount      numeric(14,2) NOT NULL CHECK (amount > 0),
    points      bigint        NOT NULL CHECK (points >= 0),
    refunded_at timestamptz   NOT NULL,
    recorded_at timestamptz   NOT NULL DEFAULT now()
);

-- Refunds that arrived before their purchase: applied when the purchase comes.
CREATE TABLE parked_refund (
    event_id      text        PRIMARY KEY,
    order_id      text        NOT NULL,
    topic         text        NOT NULL,
    message_key   bytea,
    payload       bytea       NOT NULL,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    parked_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_refund_order ON parked_refund (order_id);

CREATE TABLE redemption (
    id              uuid        PRIMARY KEY,
    member_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    points          bigint      NOT NULL CHECK (points > 0),
    reward          text,
    status          text        NOT NULL CHECK (status IN ('completed', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz,
    cancelled_by    text,
    UNIQUE (member_id, idempotency_key)
);

-- Which lots a redemption (or a negative adjustment) took its points from.
CREATE TABLE lot_allocation (
    ledger_entry_id bigint NOT NULL REFERENCES ledger_entry (id),
    lot_id          bigint NOT NULL REFERENCES points_lot (id),
    points          bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (ledger_entry_id, lot_id)
);

ALTER TABLE ledger_entry ADD COLUMN redemption_id uuid REFERENCES redemption (id);
ALTER TABLE points_lot ADD COLUMN origin text NOT NULL DEFAULT 'purchase'
    CHECK (origin IN ('purchase', 'adjustment'));

-- migrate:down
ALTER TABLE points_lot DROP COLUMN origin;
ALTER TABLE ledger_entry DROP COLUMN redemption_id;
DROP TABLE lot_allocation;
DROP TABLE redemption;
DROP TABLE parked_refund;
DROP TABLE refund;
ALTER TABLE purchase DROP CONSTRAINT reversals_within_points, DROP CONSTRAINT refunds_within_total,
    DROP COLUMN points_reversed, DROP COLUMN refunded_total;
