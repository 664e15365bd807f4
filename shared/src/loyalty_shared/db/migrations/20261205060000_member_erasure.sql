-- The erasure register (loyalty_shared.privacy): every member.erasure_requested this service
-- applied, by member and request. Only ids and times: it outlives the erasure, shows in the
-- member's export, and is mirrored on the compacted topic loyalty.privacy (privacy.erased), from
-- which `loyalty member reapply-erasures` applies them again after a restore from a backup.
-- migrate:up
CREATE TABLE member_erasure (
    member_id    text        NOT NULL,
    request_id   text        NOT NULL,
    requested_at timestamptz NOT NULL,
    erased_at    timestamptz NOT NULL,
    PRIMARY KEY (member_id, request_id)
);

-- migrate:down
DROP TABLE member_erasure;
