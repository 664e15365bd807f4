-- migrate:up

-- When a lot's points were earned (the purchase's time, or when they were granted): with the
-- allocations below, what a lot held at any business time can be read back (`as_of`).
ALTER TABLE points_lot ADD COLUMN earned_at timestamptz;
UPDATE points_lot l
   SET earned_at = coalesce((SELECT purchased_at FROM purchase p WHERE p.order_id = l.order_id),
                            l.available_at);
ALTER TABLE points_lot ALTER COLUMN earned_at SET NOT NULL;

-- Every change to what a lot holds is an allocation of a ledger entry: positive when the entry
-- took points from the lot (a spend, a reversal, an expiry, a debt repaid), negative when it gave
-- them back (a cancelled redemption, a released hold).
ALTER TABLE lot_allocation DROP CONSTRAINT lot_allocation_points_check,
    ADD CONSTRAINT lot_allocation_points_check CHECK (points <> 0);
INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
SELECT id, lot_id, -available_delta FROM ledger_entry
WHERE kind = 'expire' AND lot_id IS NOT NULL AND available_delta < 0
ON CONFLICT DO NOTHING;
-- What refunds took from their order's lot was not recorded per entry before: the rest of what
-- a lot lost is allocated to its order's latest reversal.
INSERT INTO lot_allocation (ledger_entry_id, lot_id, points)
SELECT r.id, l.id, l.points - l.remaining - coalesce(a.points, 0)
FROM points_lot l
LEFT JOIN (SELECT lot_id, sum(points) AS points FROM lot_allocation GROUP BY lot_id) a
       ON a.lot_id = l.id
JOIN LATERAL (SELECT id FROM ledger_entry
              WHERE lot_id = l.id AND kind = 'reverse' ORDER BY id DESC LIMIT 1) r ON true
WHERE l.points - l.remaining - coalesce(a.points, 0) > 0
ON CONFLICT DO NOTHING;
CREATE INDEX lot_allocation_lot ON lot_allocation (lot_id);

-- migrate:down
DROP INDEX lot_allocation_lot;
DELETE FROM lot_allocation a USING ledger_entry e
WHERE e.id = a.ledger_entry_id AND (e.kind NOT IN ('redeem', 'hold', 'adjust') OR a.points < 0);
ALTER TABLE lot_allocation DROP CONSTRAINT lot_allocation_points_check,
    ADD CONSTRAINT lot_allocation_points_check CHECK (points > 0);
ALTER TABLE points_lot DROP COLUMN earned_at;
