-- migrate:up transaction:false

-- The backtest reads purchases by `purchased_at`: a BRIN index, nearly free to keep up on the
-- crediting path, since purchases arrive roughly in the order of their time. Built without
-- blocking the crediting (CONCURRENTLY: outside a transaction, one statement per file).
CREATE INDEX CONCURRENTLY IF NOT EXISTS purchase_purchased_at_brin
    ON purchase USING brin (purchased_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS purchase_purchased_at_brin;
