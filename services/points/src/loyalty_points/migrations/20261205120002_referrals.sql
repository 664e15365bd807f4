-- Referrals (contract 5.3): one row per referred member (the first member.enrolled naming a
-- referrer wins), `waiting` until their first purchase is available, then `paid` (the points
-- each side earned; the referrer's 0 over the program's yearly cap) or `void` (that purchase was
-- refunded in full); `cycle` when the referrer was referred by the new member (never paid).
-- migrate:up
CREATE TABLE referral (
    referee_id      text        PRIMARY KEY,
    referrer_id     text        NOT NULL CHECK (referrer_id <> referee_id),
    status          text        NOT NULL CHECK (status IN ('waiting', 'paid', 'void', 'cycle')),
    event_id        text        NOT NULL,
    referred_at     timestamptz NOT NULL,
    order_id        text,
    referee_points  integer     CHECK (referee_points >= 0),
    referrer_points integer     CHECK (referrer_points >= 0),
    settled_at      timestamptz
);
CREATE INDEX referral_waiting ON referral (referee_id) WHERE status = 'waiting';
CREATE INDEX referral_by_referrer ON referral (referrer_id, settled_at);

ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check
    CHECK (origin IN ('purchase', 'adjustment', 'action', 'referral'));

-- migrate:down
ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check CHECK (origin IN ('purchase', 'adjustment', 'action'))
    NOT VALID;
DROP TABLE referral;
