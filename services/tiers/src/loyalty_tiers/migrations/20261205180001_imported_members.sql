-- migrate:up

-- Members brought over from the loyalty system this one replaces (`loyalty import members`):
-- one row per member and source, claimed in the transaction that applies it, so an import run
-- again skips it. Holds what was imported (tier, its validity, qualifying spend), named by source.
CREATE TABLE imported_member (
    source           text          NOT NULL,
    member_id        text          NOT NULL,
    tier             text,
    valid_until      timestamptz,
    qualifying_spend numeric(16,2) NOT NULL CHECK (qualifying_spend >= 0),
    imported_at      timestamptz   NOT NULL,
    PRIMARY KEY (source, member_id)
);
CREATE INDEX imported_member_member ON imported_member (member_id);

-- An imported tier is a change of its own in the history (its cause: `import:<source>`).
ALTER TABLE tier_history DROP CONSTRAINT tier_history_reason_check;
ALTER TABLE tier_history ADD CONSTRAINT tier_history_reason_check
    CHECK (reason IN ('spend', 'evaluation', 'admin', 'import'));

-- migrate:down
ALTER TABLE tier_history DROP CONSTRAINT tier_history_reason_check;
ALTER TABLE tier_history ADD CONSTRAINT tier_history_reason_check
    CHECK (reason IN ('spend', 'evaluation', 'admin'));
DROP TABLE imported_member;
