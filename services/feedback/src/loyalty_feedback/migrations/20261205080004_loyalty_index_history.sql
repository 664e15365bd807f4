-- migrate:up

-- The loyalty index as of the last recompute, beside the segment, for the reports by tier.
ALTER TABLE member_insight ADD COLUMN loyalty_index int;

-- Its trend: the average per tier, one row per day and tier, written by each recompute (the
-- day's last recompute wins).
CREATE TABLE loyalty_index_day (
    day     date         NOT NULL,
    tier    text         NOT NULL,
    members int          NOT NULL,
    average numeric(5,1) NOT NULL,
    PRIMARY KEY (day, tier)
);

-- migrate:down
DROP TABLE loyalty_index_day;
ALTER TABLE member_insight DROP COLUMN loyalty_index;
