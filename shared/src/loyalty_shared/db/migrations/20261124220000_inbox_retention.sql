-- The inbox forgets claims older than LOYALTY_INBOX_RETENTION_DAYS (db/inbox_retention.py).
-- BRIN: rows arrive in processed_at order, so a few pages of summary find the old ones, and
-- the index costs next to nothing on the insert every applied event makes.
-- migrate:up
CREATE INDEX processed_event_processed_at ON processed_event USING brin (processed_at);

-- migrate:down
DROP INDEX processed_event_processed_at;
