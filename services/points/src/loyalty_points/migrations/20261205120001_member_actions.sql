-- member.action (contract 5.3): each action the program rewards, once per action_id, with the
-- points it earned (0 when a cap of the program left it without) and its day in the program's
-- time zone, which the daily caps count. Ids, names and times only: nothing that identifies.
-- migrate:up
CREATE TABLE member_action (
    action_id   text        PRIMARY KEY,
    member_id   text        NOT NULL,
    action      text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    local_day   date        NOT NULL,
    points      integer     NOT NULL CHECK (points >= 0),
    entry_id    bigint      REFERENCES ledger_entry (id),
    recorded_at timestamptz NOT NULL
);
CREATE INDEX member_action_by_member ON member_action (member_id, action, local_day);

ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check CHECK (origin IN ('purchase', 'adjustment', 'action'));

-- migrate:down
-- (lots earned by actions stay: they are points members hold)
ALTER TABLE points_lot DROP CONSTRAINT points_lot_origin_check,
    ADD CONSTRAINT points_lot_origin_check CHECK (origin IN ('purchase', 'adjustment')) NOT VALID;
DROP TABLE member_action;
