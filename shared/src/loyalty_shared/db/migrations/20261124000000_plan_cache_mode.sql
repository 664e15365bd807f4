-- Every session of this database plans prepared statements afresh (force_custom_plan): a generic
-- plan cached while a table was empty (the outbox, the relay's delete) can run for minutes once
-- the table is full. A database default rather than a connection startup parameter, because
-- pgbouncer refuses startup parameters it does not know; the database owner may set it.
-- migrate:up
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END
$$;

-- migrate:down
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET plan_cache_mode', current_database());
END
$$;
