-- migrate:up

-- Service recovery as cases: every detractor answer (0-6) is a case, open until customer service
-- says otherwise. A row exists once someone changed it (taken, contacted, resolved); an answer
-- without one is open and nobody's. Who changed what and when is also in the audit log.
CREATE TABLE feedback_case (
    feedback_id uuid        PRIMARY KEY REFERENCES feedback,
    state       text        NOT NULL CHECK (state IN ('open', 'contacted', 'resolved')),
    assignee    text        CHECK (char_length(assignee) BETWEEN 1 AND 128),
    updated_at  timestamptz NOT NULL,
    updated_by  text        NOT NULL
);

-- The case list: detractors, newest first.
CREATE INDEX feedback_detractors ON feedback (answered_at DESC, feedback_id DESC) WHERE score <= 6;

-- migrate:down
DROP INDEX feedback_detractors;
DROP TABLE feedback_case;
