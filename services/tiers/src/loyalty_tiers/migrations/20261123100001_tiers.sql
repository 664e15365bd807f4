-- migrate:up

-- Qualifying spend by member and day (of the purchase's `time`, UTC): purchases minus refunds.
-- The rolling window is a range over these rows, so spend ages out without anyone touching it.
CREATE TABLE spend_day (
    member_id text          NOT NULL,
    day       date          NOT NULL,
    amount    numeric(16,2) NOT NULL,
    PRIMARY KEY (member_id, day)
);

-- Orders seen, so a refund is taken off the day its purchase counted on.
CREATE TABLE order_day (
    order_id  text PRIMARY KEY,
    member_id text NOT NULL,
    day       date NOT NULL
);

-- A member's tier; a member without a row is on the base tier with no history.
CREATE TABLE member_tier (
    member_id         text          PRIMARY KEY,
    tier              text          NOT NULL,
    reached_at        timestamptz   NOT NULL,
    valid_until       timestamptz   NOT NULL,
    qualifying_spend  numeric(16,2) NOT NULL DEFAULT 0,
    override_until    timestamptz,
    override_reason   text,
    last_evaluated_on date          NOT NULL DEFAULT '-infinity',
    updated_at        timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX member_tier_due ON member_tier (valid_until);

CREATE TABLE tier_history (
    id               bigserial     PRIMARY KEY,
    member_id        text          NOT NULL,
    from_tier        text          NOT NULL,
    to_tier          text          NOT NULL,
    direction        text          NOT NULL CHECK (direction IN ('up', 'down', 'same')),
    reason           text          NOT NULL CHECK (reason IN ('spend', 'evaluation', 'admin')),
    qualifying_spend numeric(16,2) NOT NULL,
    valid_until      timestamptz   NOT NULL,
    changed_at       timestamptz   NOT NULL DEFAULT now(),
    cause            text
);
CREATE INDEX tier_history_member ON tier_history (member_id, id DESC);

-- migrate:down
DROP TABLE tier_history;
DROP TABLE member_tier;
DROP TABLE order_day;
DROP TABLE spend_day;
