-- "Ready by": the day an assignment's planner aims recall at (a launch, a certification).
ALTER TABLE assignments ADD COLUMN target_date DATE;

-- What the planner has learnt of how fast each learner forgets compared with what the FSRS
-- parameters predict: a log stability factor and its inverse variance, updated by every
-- counted answer in a planner assignment. A trait of the person, so one row per learner.
CREATE TABLE planner_estimates (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    ln_factor DOUBLE PRECISION NOT NULL,
    inverse_variance DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, learner_id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);
