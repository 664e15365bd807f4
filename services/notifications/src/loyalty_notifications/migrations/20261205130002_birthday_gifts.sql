-- The birthday points each member earned (birthday.rewarded from the points service), by the
-- year of the birthday: the birthday greeting of that year mentions them. The year and points
-- only (no date); gone when the member asks to be erased.
-- migrate:up
CREATE TABLE birthday_gift (
    member_id text    NOT NULL,
    year      integer NOT NULL,
    points    integer NOT NULL CHECK (points > 0),
    PRIMARY KEY (member_id, year)
);

-- migrate:down
DROP TABLE birthday_gift;
