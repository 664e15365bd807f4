-- migrate:up

-- The evaluation a downgrade warning was sent for, so each validity period warns once.
ALTER TABLE member_tier ADD COLUMN warned_for timestamptz;

-- migrate:down
ALTER TABLE member_tier DROP COLUMN warned_for;
