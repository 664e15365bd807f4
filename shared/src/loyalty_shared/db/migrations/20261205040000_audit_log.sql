-- Who did what to which member (contract 5.1; loyalty_shared.audit_log): every change made under
-- an operator scope, every export and every operator read of a member's data, each written in
-- the transaction of what it records. Append-only: the service may add rows, never change or
-- remove them (the trigger); listed newest first by `id`, per member and per actor.
-- migrate:up
CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL,
    -- the token's `sub`
    actor       text        NOT NULL,
    -- the scope that admitted the call; NULL when a member acted on their own data
    scope       text,
    action      text        NOT NULL,
    member_id   text,
    details     jsonb       NOT NULL DEFAULT '{}',
    -- the request's W3C trace id (32 hex digits), when it came within a trace
    trace_id    text
);
CREATE INDEX audit_log_member ON audit_log (member_id, id) WHERE member_id IS NOT NULL;
CREATE INDEX audit_log_actor ON audit_log (actor, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- migrate:down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
