-- The database's default plan cache mode again (auto). Forcing custom plans for every session
-- (20261124000000) re-planned every statement on every execution: a balance read cost twice as
-- much (measured: 246 vs 119 us a query). The one statement that needs fresh plans, the outbox
-- relay's (a table that swings from empty to full), asks for them in its own transaction
-- (`SET LOCAL plan_cache_mode = force_custom_plan`, db/relay.py).
-- migrate:up
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET plan_cache_mode', current_database());
END
$$;

-- migrate:down
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END
$$;
