-- migrate:up

-- The weekly points report reads the ledger by when entries took effect. A BRIN index: entries
-- are appended roughly in time order, it costs next to nothing to keep (crediting is the hot
-- path) and lets the report skip all but the last weeks' blocks.
CREATE INDEX ledger_entry_occurred_brin ON ledger_entry USING brin (occurred_at);

-- migrate:down
DROP INDEX ledger_entry_occurred_brin;
