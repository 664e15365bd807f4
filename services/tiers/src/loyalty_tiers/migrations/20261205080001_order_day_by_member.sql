-- migrate:up

-- The members report counts members by their last order day: read from this index alone.
CREATE INDEX order_day_member_day ON order_day (member_id, day);

-- migrate:down
DROP INDEX order_day_member_day;
