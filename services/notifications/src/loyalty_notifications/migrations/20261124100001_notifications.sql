-- migrate:up

-- What the e-commerce backend told us about a member (member.enrolled / member.updated): the
-- whole profile, replaced by each event in partition order.
CREATE TABLE member_contact (
    member_id     text        PRIMARY KEY,
    name          text        NOT NULL,
    email         text,
    phone         text,
    locale        text        NOT NULL,
    birthday      date,
    consent_email boolean     NOT NULL,
    consent_sms   boolean     NOT NULL,
    consent_push  boolean     NOT NULL,
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX member_contact_birthday
    ON member_contact (extract(month FROM birthday), extract(day FROM birthday))
    WHERE birthday IS NOT NULL;

-- What the member chose in the app (PUT /v1/members/{id}/preferences). No row: every channel on,
-- no quiet hours, the default time zone, the profile's language.
CREATE TABLE member_preference (
    member_id   text        PRIMARY KEY,
    email       boolean     NOT NULL DEFAULT true,
    sms         boolean     NOT NULL DEFAULT true,
    push        boolean     NOT NULL DEFAULT true,
    quiet_start time,
    quiet_end   time,
    time_zone   text,
    language    text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- The last purchase seen per member, for the win-back rule, and the absence already won back.
CREATE TABLE member_activity (
    member_id        text        PRIMARY KEY,
    last_purchase_at timestamptz NOT NULL,
    win_back_for     timestamptz
);
CREATE INDEX member_activity_last_purchase ON member_activity (last_purchase_at);

-- One row per message: (trigger, cause, channel) is unique, so a replayed or duplicated cause
-- never makes a second message. Written in the transaction that consumed the cause.
--   scheduled  waiting for due_at (quiet hours, a local send time, a retry, an enrolment)
--   sending    an attempt is recorded and may be under way (lease_until: when it is in doubt)
--   sent | failed | suppressed  final
CREATE TABLE notification (
    seq             bigserial   UNIQUE,
    id              uuid        PRIMARY KEY,
    member_id       text        NOT NULL,
    trigger         text        NOT NULL,
    cause           text        NOT NULL,
    channel         text        NOT NULL,
    causation_id    text,
    status          text        NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'suppressed')),
    reason          text,
    payload         jsonb       NOT NULL,
    due_at          timestamptz NOT NULL,
    expires_at      timestamptz,
    attempts        int         NOT NULL DEFAULT 0,
    in_doubt        boolean     NOT NULL DEFAULT false,
    lease_until     timestamptz,
    last_attempt_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    UNIQUE (trigger, cause, channel)
);
CREATE INDEX notification_due ON notification (due_at) WHERE status = 'scheduled';
CREATE INDEX notification_in_flight ON notification (lease_until) WHERE status = 'sending';
CREATE INDEX notification_member ON notification (member_id, seq DESC);

-- migrate:down
DROP TABLE notification;
DROP TABLE member_activity;
DROP TABLE member_preference;
DROP TABLE member_contact;
