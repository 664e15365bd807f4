-- Opening balances brought over from a loyalty system this one replaces (`loyalty import
-- balances`): each imported row is an available lot (origin 'opening') and an `opening` ledger
-- entry, and a row here naming it, written in the same transaction: the row's key (the old
-- system, the member, the row's id or line) is claimed once, so a second run changes nothing.
-- migrate:up
CREATE TABLE opening_balance (
    source      text        NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
    member_id   text        NOT NULL,
    row_key     text        NOT NULL,
    points      bigint      NOT NULL CHECK (points > 0),
    expires_at  timestamptz NOT NULL,
    lot_id      bigint      NOT NULL,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (source, member_id, row_key)
);

ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check
    CHECK (origin IN ('purchase', 'adjustment', 'action', 'referral', 'birthday', 'opening'));
ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust',
         'hold', 'hold_release', 'opening'));

-- migrate:down
-- (lots and entries imported stay: they are points members hold)
ALTER TABLE ledger_entry
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (kind IN
        ('earn', 'mature', 'reverse', 'redeem', 'redeem_cancel', 'expire', 'adjust',
         'hold', 'hold_release')) NOT VALID;
ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check
    CHECK (origin IN ('purchase', 'adjustment', 'action', 'referral', 'birthday')) NOT VALID;
DROP TABLE opening_balance;
