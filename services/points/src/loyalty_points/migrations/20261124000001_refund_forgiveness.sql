-- migrate:up

-- Points a refund did not take back because the program's refund policy forgave them
-- (`pending_only`, `within_balance`): counted so later refunds of the order never take them.
ALTER TABLE purchase
    ADD COLUMN points_forgiven bigint NOT NULL DEFAULT 0 CHECK (points_forgiven >= 0),
    DROP CONSTRAINT reversals_within_points,
    ADD CONSTRAINT reversals_within_points CHECK (points_reversed + points_forgiven <= points);
ALTER TABLE refund
    ADD COLUMN points_forgiven bigint NOT NULL DEFAULT 0 CHECK (points_forgiven >= 0);

-- migrate:down
ALTER TABLE refund DROP COLUMN points_forgiven;
ALTER TABLE purchase
    DROP CONSTRAINT reversals_within_points,
    DROP COLUMN points_forgiven,
    ADD CONSTRAINT reversals_within_points CHECK (points_reversed <= points);
