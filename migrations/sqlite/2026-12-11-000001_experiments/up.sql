-- Experiments on real answers: an assignment's learners split between arms, each arm scheduled by
-- its own policy, with probes (nuggets asked at random among those seen) measuring retention.

-- `arms` is the JSON list of arms ({name, policy, desired_retention, control, share}), fixed at
-- creation: learners are split by a hash into the cumulative shares, so the arms never change.
-- At most one experiment runs on an assignment at a time (`stopped_at` null).
CREATE TABLE experiments (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    arms TEXT NOT NULL,
    probes_per_week INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    stopped_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, assignment_id) REFERENCES assignments(org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users(org_id, id)
);
CREATE UNIQUE INDEX experiments_running ON experiments (org_id, assignment_id) WHERE stopped_at IS NULL;

-- Which arm each learner is in, recorded the first time they are seen (at creation for the
-- assignment's learners then, at a later learner's first answer): later changes never move anyone.
CREATE TABLE experiment_members (
    org_id TEXT NOT NULL,
    experiment_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, experiment_id, learner_id),
    FOREIGN KEY (org_id, experiment_id) REFERENCES experiments(org_id, id)
);
CREATE INDEX experiment_members_learner ON experiment_members (org_id, learner_id);

-- A probe's result: the first answer on a local day to the nugget drawn as the learner's probe.
-- `options` is the nugget's option count K (a guess is right with probability 1/K).
CREATE TABLE probe_results (
    org_id TEXT NOT NULL,
    experiment_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    day DATE NOT NULL,
    arm TEXT NOT NULL,
    correct BOOLEAN NOT NULL,
    options INTEGER NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, experiment_id, learner_id, nugget_id, day),
    FOREIGN KEY (org_id, experiment_id) REFERENCES experiments(org_id, id)
);

-- Business figures per learner uploaded for an experiment (e.g. quota attainment); a value
-- replaces the earlier one of the same learner and KPI.
CREATE TABLE experiment_kpis (
    org_id TEXT NOT NULL,
    experiment_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    kpi TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    uploaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, experiment_id, learner_id, kpi),
    FOREIGN KEY (org_id, experiment_id) REFERENCES experiments(org_id, id)
);

-- Starting or stopping an experiment changes which policy schedules its learners and adds or
-- removes their probes: the organization's queue counter moves, as for an assignment.
CREATE TRIGGER queue_epoch_experiments_insert AFTER INSERT ON experiments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_experiments_update AFTER UPDATE ON experiments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_experiments_delete AFTER DELETE ON experiments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;
