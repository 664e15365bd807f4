-- migrate:up

-- A spend refused for want of points is kept under its Idempotency-Key, like a success: the same
-- key and body answer 409 again (a retry after new points arrive needs a new key), another body
-- is 422.
CREATE TABLE spend_refusal (
    member_id       text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('redemption', 'hold')),
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    detail          text        NOT NULL,
    refused_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, kind, idempotency_key)
);

-- migrate:down
DROP TABLE spend_refusal;
