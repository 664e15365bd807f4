-- The plumbing every service's database has; applied with the service's own migrations.
-- migrate:up

-- Inbox: the events this service has applied (see loyalty_shared.db.inbox).
CREATE TABLE processed_event (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Outbox: events to publish after commit (see loyalty_shared.db.outbox).
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    topic         text        NOT NULL,
    message_key   bytea,
    payload       bytea,
    header_names  text[]      NOT NULL DEFAULT '{}',
    header_values bytea[]     NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE outbox;
DROP TABLE processed_event;
