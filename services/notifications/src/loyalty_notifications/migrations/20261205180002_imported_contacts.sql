-- migrate:up

-- Members whose contacts were brought over from the loyalty system this one replaces
-- (`loyalty import members`): one row per member and source, claimed in the transaction that
-- stores the contacts, so an import run again skips it. The contacts themselves are in
-- member_contact (only for a member the service did not know: the shop's member.enrolled or
-- member.updated is newer, and an erased member stays erased); nothing personal here.
CREATE TABLE imported_contact (
    source      text        NOT NULL,
    member_id   text        NOT NULL,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (source, member_id)
);
CREATE INDEX imported_contact_member ON imported_contact (member_id);

-- migrate:down
DROP TABLE imported_contact;
