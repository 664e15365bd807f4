-- An entry may give points back to a lot and take them from it again (a hold that runs out
-- returns its points, then the lots are made to agree with a balance in debt): its allocation
-- to that lot then nets to 0, which the sums read as nothing. The check refused it and stopped
-- the settlement job (found by tests/points/test_ledger_model.py).
-- migrate:up
ALTER TABLE lot_allocation DROP CONSTRAINT lot_allocation_points_check;

-- migrate:down
ALTER TABLE lot_allocation ADD CONSTRAINT lot_allocation_points_check CHECK (points <> 0)
    NOT VALID;
