-- migrate:up transaction:false

-- The breakage rate sums a year of expiries and redemptions; earn entries (most of the ledger)
-- are not in this index. Built without blocking writes (CONCURRENTLY: one statement per file).
CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_entry_spent
    ON ledger_entry (occurred_at) WHERE kind IN ('expire', 'redeem', 'redeem_cancel');

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ledger_entry_spent;
