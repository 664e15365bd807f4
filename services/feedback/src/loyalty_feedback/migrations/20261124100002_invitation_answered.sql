-- migrate:up

-- An order answered in the app before its survey was due gets no survey.
ALTER TABLE invitation DROP CONSTRAINT invitation_skip_reason_check;
ALTER TABLE invitation ADD CONSTRAINT invitation_skip_reason_check
    CHECK (skip_reason IN ('refunded', 'cooldown', 'stale', 'answered'));

-- migrate:down
ALTER TABLE invitation DROP CONSTRAINT invitation_skip_reason_check;
ALTER TABLE invitation ADD CONSTRAINT invitation_skip_reason_check
    CHECK (skip_reason IN ('refunded', 'cooldown', 'stale'));
