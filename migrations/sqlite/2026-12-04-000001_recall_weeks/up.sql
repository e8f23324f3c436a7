-- Weekly recall snapshots for the trends view: per learner and ended ISO week (UTC), the sum of
-- predicted recall at the week's end over the learner's nuggets answered by then, and how many.
-- An ended week only changes through back-dated answers, so it is computed once (by the
-- background task in src/recall_weeks.rs) instead of replaying the answer log on every request.
-- `decay` is the forgetting curve's the sum was computed with: a refit organization's rows no
-- longer count.
CREATE TABLE recall_weeks (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    week_start DATE NOT NULL,
    decay DOUBLE PRECISION NOT NULL,
    recall_sum DOUBLE PRECISION NOT NULL,
    states INTEGER NOT NULL,
    PRIMARY KEY (org_id, learner_id, week_start),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);

-- The view reads a range of weeks of the whole organization: this index covers that read.
CREATE INDEX recall_weeks_by_week
    ON recall_weeks (org_id, week_start, learner_id, decay, recall_sum, states);

-- Organization weeks whose snapshot rows are complete (every learner who had answered by the
-- week's end has a row, except learners in recall_weeks_stale), for the curve of `decay`.
CREATE TABLE recall_weeks_done (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    week_start DATE NOT NULL,
    decay DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org_id, week_start)
);

-- Learners with a back-dated answer: their snapshots from `from_week` on are not to be trusted
-- until the task has recomputed them. `version` counts invalidations, so the task clears the
-- mark only when no answer came between its read of the log and its write.
CREATE TABLE recall_weeks_stale (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    from_week DATE NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (org_id, learner_id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);
