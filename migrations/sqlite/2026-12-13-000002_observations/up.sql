-- What a manager saw a seller do in a customer meeting or a ride-along: how far they applied a
-- topic (1 not at all .. 4 fully, unprompted), on a day. The application side of the
-- knowledge × application view; the knowledge side is the memory states.
CREATE TABLE observations (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    observer_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    applied INTEGER NOT NULL CHECK (applied BETWEEN 1 AND 4),
    note TEXT,
    observed_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id),
    FOREIGN KEY (org_id, observer_id) REFERENCES users(org_id, id)
);
CREATE INDEX observations_learner ON observations (org_id, learner_id, observed_on);
CREATE INDEX observations_observed ON observations (org_id, observed_on);
