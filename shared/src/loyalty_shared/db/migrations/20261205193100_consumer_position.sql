-- Where each consumer group stands in each partition it reads (see loyalty_shared.kafka.positions):
-- the next offset to apply, written in the transaction of the batch that read up to it, so it
-- can never be ahead of or behind the effects beside it. On assignment the consumer seeks here;
-- Kafka's committed offset is only the fallback (a first start, a row deleted). After a failover
-- that lost the last transactions, the position is lost with them and those records come again.
-- migrate:up
CREATE TABLE consumer_position (
    group_id    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- migrate:down
DROP TABLE consumer_position;
