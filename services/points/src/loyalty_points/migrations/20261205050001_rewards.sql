-- migrate:up

-- The rewards catalogue (contract 5.2): what members may spend points on, and the coupon each
-- redemption issues.
CREATE TABLE reward (
    reward_id         text          PRIMARY KEY,
    name              jsonb         NOT NULL,
    points            bigint        NOT NULL CHECK (points > 0),
    -- 'generated': the platform makes the codes (pre-made for a limited stock, at redemption
    -- for an unlimited one); 'pool': codes uploaded by the operator, one unit each.
    codes             text          NOT NULL CHECK (codes IN ('generated', 'pool')),
    unlimited         boolean       NOT NULL,
    min_tier          text,
    available_from    timestamptz,
    available_until   timestamptz,
    per_member_limit  int           CHECK (per_member_limit > 0),
    coupon_value      numeric(14,2) NOT NULL CHECK (coupon_value > 0),
    coupon_currency   char(3)       NOT NULL,
    coupon_valid_days int           NOT NULL CHECK (coupon_valid_days > 0),
    status            text          NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'retired')),
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now(),
    retired_at        timestamptz,
    CHECK (available_until > available_from),
    CHECK (NOT (unlimited AND codes = 'pool'))
);

-- Coupon codes. A row is a unit of stock while 'available' (taken with FOR UPDATE SKIP LOCKED,
-- so concurrent redemptions of one reward never queue behind each other), then the member's
-- coupon: 'issued' until the shop reports it 'used', its validity ends ('expired') or its
-- redemption is cancelled ('void').
CREATE TABLE coupon (
    id               bigserial   PRIMARY KEY,
    reward_id        text        NOT NULL REFERENCES reward (reward_id),
    code             text        NOT NULL UNIQUE,
    status           text        NOT NULL
                         CHECK (status IN ('available', 'issued', 'used', 'expired', 'void')),
    member_id        text,
    redemption_id    uuid,
    issued_at        timestamptz,
    expires_at       timestamptz,
    expiry_notice_at timestamptz,
    used_at          timestamptz,
    used_order_id    text,
    ended_at         timestamptz,
    added_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'available') = (member_id IS NULL))
);
CREATE INDEX coupon_stock ON coupon (reward_id, id) WHERE status = 'available';
CREATE INDEX coupon_unused ON coupon (expires_at) WHERE status = 'issued';

-- A member's reward redemptions, kept under their Idempotency-Key: 'completed' (points spent,
-- coupon issued), 'cancelled' (points and stock back, coupon void) or 'refused' (the 409 it was
-- answered, answered again for the same key and body). A completed one shares its id with the
-- points redemption (`redemption`) that spent the points.
CREATE TABLE reward_redemption (
    seq             bigserial   UNIQUE,
    id              uuid        PRIMARY KEY,
    member_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    reward_id       text        NOT NULL REFERENCES reward (reward_id),
    status          text        NOT NULL CHECK (status IN ('completed', 'cancelled', 'refused')),
    points          bigint      CHECK (points > 0),
    coupon_id       bigint      REFERENCES coupon (id),
    problem         text,
    detail          text,
    created_at      timestamptz NOT NULL,
    cancelled_at    timestamptz,
    cancelled_by    text,
    UNIQUE (member_id, idempotency_key),
    CHECK ((status = 'refused') = (coupon_id IS NULL)),
    CHECK ((status = 'refused') = (problem IS NOT NULL))
);
CREATE INDEX reward_redemption_member ON reward_redemption (member_id, seq DESC);
CREATE INDEX reward_redemption_limit ON reward_redemption (member_id, reward_id)
    WHERE status = 'completed';

-- A reward redemption refused for want of points is kept with the other refused spends.
ALTER TABLE spend_refusal
    DROP CONSTRAINT spend_refusal_kind_check,
    ADD CONSTRAINT spend_refusal_kind_check CHECK (kind IN ('redemption', 'hold', 'reward'));

-- migrate:down
DELETE FROM spend_refusal WHERE kind = 'reward';
ALTER TABLE spend_refusal
    DROP CONSTRAINT spend_refusal_kind_check,
    ADD CONSTRAINT spend_refusal_kind_check CHECK (kind IN ('redemption', 'hold'));
DROP TABLE reward_redemption;
DROP TABLE coupon;
DROP TABLE reward;
