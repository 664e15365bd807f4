-- migrate:up

-- When the member was told these points will expire (points.expiring), so it is told once.
ALTER TABLE points_lot ADD COLUMN expiry_notice_at timestamptz;
CREATE INDEX points_lot_pending_due ON points_lot (available_at) WHERE status = 'pending';
CREATE INDEX points_lot_expiry_due ON points_lot (expires_at) WHERE remaining > 0;

-- migrate:down
DROP INDEX points_lot_expiry_due;
DROP INDEX points_lot_pending_due;
ALTER TABLE points_lot DROP COLUMN expiry_notice_at;
