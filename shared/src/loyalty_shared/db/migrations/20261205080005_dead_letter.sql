-- Every record this service dead-lettered (loyalty_shared.dlq), kept beside the copy it sent to
-- `<topic>.dlq`: what the operator console lists by topic and reason, shows with its headers and
-- replays into this service after a fix. Written in the transaction that refused the record;
-- forgotten after LOYALTY_DEAD_LETTER_RETENTION_DAYS (30, as long as the dead-letter topics).
-- migrate:up
CREATE TABLE dead_letter (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- where it was read (`topic:partition:offset`), or the dead letter it was replayed from
    position         text        NOT NULL,
    topic            text        NOT NULL,
    code             text        NOT NULL,
    detail           text        NOT NULL,
    event_type       text        NOT NULL,
    event_id         text,
    message_key      bytea,
    payload          bytea,
    header_names     text[]      NOT NULL DEFAULT '{}',
    header_values    bytea[]     NOT NULL DEFAULT '{}',
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    replayed_at      timestamptz,
    replayed_by      text,
    replay_outcome   text        CHECK (replay_outcome IN ('applied', 'duplicate', 'refused',
                                                           'skipped'))
);
CREATE INDEX dead_letter_recent ON dead_letter (dead_lettered_at);
CREATE INDEX dead_letter_waiting ON dead_letter (topic, code, id) WHERE replayed_at IS NULL;

-- migrate:down
DROP TABLE dead_letter;
