-- A dead letter about a member who asked to be erased keeps where and why-code it was refused
-- and loses its record, headers and detail; it waits for no replay any more (outcome `erased`).
-- migrate:up
ALTER TABLE dead_letter DROP CONSTRAINT dead_letter_replay_outcome_check;
ALTER TABLE dead_letter ADD CONSTRAINT dead_letter_replay_outcome_check
    CHECK (replay_outcome IN ('applied', 'duplicate', 'refused', 'skipped', 'erased'));

-- migrate:down
UPDATE dead_letter SET replay_outcome = 'skipped' WHERE replay_outcome = 'erased';
ALTER TABLE dead_letter DROP CONSTRAINT dead_letter_replay_outcome_check;
ALTER TABLE dead_letter ADD CONSTRAINT dead_letter_replay_outcome_check
    CHECK (replay_outcome IN ('applied', 'duplicate', 'refused', 'skipped'));
