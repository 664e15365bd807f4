-- migrate:up

-- What a refund is judged against, as the points service judges it: the order's member,
-- currency and total and what was refunded of it (loyalty_shared.events.refunds). Every order is
-- recorded from now on, whatever its currency (a refund of it is still judged), but only the
-- program currency's add to spend. Rows recorded before this migration keep currency and total
-- NULL: their totals were never stored and cannot be recovered from the daily buckets (a day
-- holds several orders less their refunds), so a refund of such an order is refused
-- (`order-total-unknown`) and changes nothing. Nothing backfilled: no database was in production.
ALTER TABLE order_day
    ADD COLUMN currency text,
    ADD COLUMN total    numeric(16,2),
    ADD COLUMN refunded numeric(16,2) NOT NULL DEFAULT 0;

-- Refunds applied, by refund id: each is applied once.
CREATE TABLE refund (
    refund_id   text          PRIMARY KEY,
    order_id    text          NOT NULL,
    event_id    text          NOT NULL,
    amount      numeric(16,2) NOT NULL,
    refunded_at timestamptz   NOT NULL
);
CREATE INDEX refund_order ON refund (order_id);

-- migrate:down
DROP TABLE refund;
ALTER TABLE order_day DROP COLUMN refunded, DROP COLUMN total, DROP COLUMN currency;
