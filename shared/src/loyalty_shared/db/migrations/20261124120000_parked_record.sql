-- Records a consumer keeps until what they refer to arrives (see loyalty_shared.kafka.parking):
-- for example a purchase.refunded waiting for its purchase.completed, `key` being the order id.
-- Kept as read off Kafka, so one that waits too long is dead-lettered unchanged.
-- migrate:up
CREATE TABLE parked_record (
    consumer      text        NOT NULL,
    event_id      text        NOT NULL,
    key           text        NOT NULL,
    topic         text        NOT NULL,
    message_key   bytea,
    payload       bytea       NOT NULL,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    parked_at     timestamptz NOT NULL DEFAULT now(),
    -- arrival order, for records parked in one transaction (same `parked_at`)
    seq           bigint      GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX parked_record_key ON parked_record (consumer, key);
CREATE INDEX parked_record_age ON parked_record (consumer, parked_at, seq);

-- migrate:down
DROP TABLE parked_record;
