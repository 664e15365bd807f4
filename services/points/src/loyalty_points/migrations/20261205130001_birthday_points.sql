-- Birthday points (the program's birthday_points): the month and day of each member's birthday
-- (from member.enrolled / member.updated; no year: the bonus needs none), deleted when the
-- profile drops it or the member asks to be erased; and one row per member and local year the
-- bonus was decided (its points, 0 when the member's tier earns none), claimed before the points
-- are granted, in the same transaction: once a year, whatever replicas run the job.
-- migrate:up
CREATE TABLE member_birthday (
    member_id  text        PRIMARY KEY,
    month      smallint    NOT NULL CHECK (month BETWEEN 1 AND 12),
    day        smallint    NOT NULL CHECK (day BETWEEN 1 AND 31),
    updated_at timestamptz NOT NULL
);
CREATE INDEX member_birthday_by_day ON member_birthday (month, day);

CREATE TABLE birthday_bonus (
    member_id text    NOT NULL,
    year      integer NOT NULL,
    tier      text    NOT NULL,
    points    integer NOT NULL CHECK (points >= 0),
    entry_id  bigint  REFERENCES ledger_entry (id),
    PRIMARY KEY (member_id, year)
);

ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check
    CHECK (origin IN ('purchase', 'adjustment', 'action', 'referral', 'birthday'));

-- migrate:down
-- (lots earned on birthdays stay: they are points members hold)
ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check
    CHECK (origin IN ('purchase', 'adjustment', 'action', 'referral')) NOT VALID;
DROP TABLE birthday_bonus;
DROP TABLE member_birthday;
