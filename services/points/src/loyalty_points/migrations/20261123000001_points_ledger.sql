-- migrate:up

-- The member's tier as this service last heard it from `tier.changed`.
CREATE TABLE member_tier (
    member_id  text        PRIMARY KEY,
    tier       text        NOT NULL,
    changed_at timestamptz NOT NULL,
    event_id   text        NOT NULL
);

-- Every purchase credited, so refunds can find what the order earned.
CREATE TABLE purchase (
    order_id     text          PRIMARY KEY,
    member_id    text          NOT NULL,
    event_id     text          NOT NULL,
    channel      text          NOT NULL,
    currency     char(3)       NOT NULL,
    total        numeric(14,2) NOT NULL CHECK (total >= 0),
    tier         text          NOT NULL,
    multiplier   numeric(8,4)  NOT NULL,
    points       bigint        NOT NULL CHECK (points >= 0),
    purchased_at timestamptz   NOT NULL,
    available_at timestamptz   NOT NULL,
    expires_at   timestamptz   NOT NULL,
    recorded_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX purchase_member ON purchase (member_id);

-- Points lots: what each earn left to spend, and when it becomes available and expires.
CREATE TABLE points_lot (
    id           bigserial   PRIMARY KEY,
    member_id    text        NOT NULL,
    order_id     text        REFERENCES purchase (order_id),
    points       bigint      NOT NULL CHECK (points > 0),
    remaining    bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    status       text        NOT NULL CHECK (status IN ('pending', 'available')),
    available_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX points_lot_open ON points_lot (member_id, expires_at) WHERE remaining > 0;

-- The ledger: append-only; every balance is the sum of its entries.
CREATE TABLE ledger_entry (
    id              bigserial   PRIMARY KEY,
    member_id       text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN
                        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust')),
    available_delta bigint      NOT NULL DEFAULT 0,
    pending_delta   bigint      NOT NULL DEFAULT 0,
    lifetime_delta  bigint      NOT NULL DEFAULT 0,
    order_id        text,
    lot_id          bigint      REFERENCES points_lot (id),
    cause_event_id  text,
    actor           text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    details         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX ledger_entry_member ON ledger_entry (member_id, id DESC);

-- Balances: a projection of the ledger, written in the same transaction as each entry.
CREATE TABLE points_account (
    member_id       text        PRIMARY KEY,
    available       bigint      NOT NULL DEFAULT 0,
    pending         bigint      NOT NULL DEFAULT 0 CHECK (pending >= 0),
    lifetime_earned bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE points_account;
DROP TABLE ledger_entry;
DROP TABLE points_lot;
DROP TABLE purchase;
DROP TABLE member_tier;
