-- migrate:up

-- Points reserved for a checkout: taken out of `available` into `held` (and from their lots, so
-- nothing else spends or expires them) until the shop commits (a redemption), releases, or the
-- hold's time runs out.
CREATE TABLE points_hold (
    id              uuid        PRIMARY KEY,
    member_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    points          bigint      NOT NULL CHECK (points > 0),
    reference       text,
    status          text        NOT NULL
                        CHECK (status IN ('active', 'committed', 'released', 'expired')),
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    settled_by      text,
    redemption_id   uuid        REFERENCES redemption (id),
    UNIQUE (member_id, idempotency_key)
);
CREATE INDEX points_hold_due ON points_hold (expires_at) WHERE status = 'active';

ALTER TABLE points_account ADD COLUMN held bigint NOT NULL DEFAULT 0 CHECK (held >= 0);
ALTER TABLE ledger_entry
    ADD COLUMN held_delta bigint NOT NULL DEFAULT 0,
    ADD COLUMN hold_id uuid REFERENCES points_hold (id),
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust',
         'hold', 'hold_release'));

-- migrate:down
ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust')),
    DROP COLUMN hold_id,
    DROP COLUMN held_delta;
ALTER TABLE points_account DROP COLUMN held;
DROP TABLE points_hold;
