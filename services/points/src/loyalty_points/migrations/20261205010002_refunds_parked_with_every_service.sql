-- migrate:up

-- Refunds waiting for their purchase move to the park every service shares (parked_record,
-- loyalty_shared.kafka.parking), keyed by order id, in the order they arrived.
INSERT INTO parked_record (consumer, event_id, key, topic, message_key, payload, header_names,
                           header_values, parked_at)
SELECT 'points', event_id, order_id, topic, message_key, payload, header_names, header_values,
       parked_at
FROM parked_refund ORDER BY parked_at
ON CONFLICT DO NOTHING;
DROP TABLE parked_refund;

-- migrate:down
CREATE TABLE parked_refund (
    event_id      text        PRIMARY KEY,
    order_id      text        NOT NULL,
    topic         text        NOT NULL,
    message_key   bytea,
    payload       bytea       NOT NULL,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    parked_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_refund_order ON parked_refund (order_id);
INSERT INTO parked_refund (event_id, order_id, topic, message_key, payload, header_names,
                           header_values, parked_at)
SELECT event_id, key, topic, message_key, payload, header_names, header_values, parked_at
FROM parked_record WHERE consumer = 'points';
DELETE FROM parked_record WHERE consumer = 'points';
