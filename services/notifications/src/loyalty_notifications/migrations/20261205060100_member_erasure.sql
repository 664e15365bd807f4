-- migrate:up

-- When the member's contact details were erased (member.erasure_requested): the row stays, with
-- no name, address or birthday, so later messages are recorded as suppressed (no address) at
-- once instead of waiting for an enrolment. A later member.updated stores what it carries and
-- clears it.
ALTER TABLE member_contact ADD COLUMN erased_at timestamptz;

-- Retention (privacy/jobs.py): message contents older than the retention setting, and survey
-- links past their expiry, are scrubbed; a scrubbed row leaves these indexes.
CREATE INDEX notification_content_kept ON notification (created_at) WHERE payload <> '{}';
CREATE INDEX notification_survey_link_kept ON notification (expires_at)
    WHERE payload ? 'survey_url';

-- migrate:down
DROP INDEX notification_survey_link_kept;
DROP INDEX notification_content_kept;
ALTER TABLE member_contact DROP COLUMN erased_at;
