-- migrate:up

-- What the earning rules read of a purchase's items, kept so that a backtest can earn the
-- purchase again under another program: each category's list value ({"electronics": "1000.00"}).
-- NULL for purchases credited before it was kept: category rules cannot apply to those in a
-- backtest (it says how many there were).
ALTER TABLE purchase ADD COLUMN categories jsonb;

-- Campaigns started at run time (POST /v1/campaigns): `version` is the latest of each.
CREATE TABLE campaign (
    campaign_id text        PRIMARY KEY,
    version     integer     NOT NULL CHECK (version >= 1),
    created_at  timestamptz NOT NULL
);

-- Every version of every campaign, kept for the ledger entries that name it. A version is in
-- force for the purchases processed from `in_force_from` until `in_force_until` (a new version,
-- or the campaign ended); it gives its bonus to those whose `time` is in [starts_at, ends_at).
-- Only `in_force_until` and `ended_by` are ever written after the insert, once.
CREATE TABLE campaign_version (
    id             bigserial   PRIMARY KEY,
    campaign_id    text        NOT NULL REFERENCES campaign (campaign_id),
    version        integer     NOT NULL,
    multiplier     numeric     NOT NULL CHECK (multiplier >= 1),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    channels       text[]      NOT NULL DEFAULT '{}',
    categories     text[]      NOT NULL DEFAULT '{}',
    in_force_from  timestamptz NOT NULL,
    in_force_until timestamptz,
    created_by     text        NOT NULL,
    ended_by       text,
    UNIQUE (campaign_id, version),
    CHECK (ends_at > starts_at),
    CHECK (in_force_until IS NULL OR in_force_until >= in_force_from)
);
CREATE INDEX campaign_version_in_force ON campaign_version (campaign_id)
    WHERE in_force_until IS NULL;

-- migrate:down
DROP TABLE campaign_version;
DROP TABLE campaign;
ALTER TABLE purchase DROP COLUMN categories;
