-- Leaderboards are the organization's choice, off until an admin turns them on.
ALTER TABLE organizations ADD COLUMN leaderboards BOOLEAN NOT NULL DEFAULT FALSE;
-- The name a seller chose to appear under on leaderboards (their real name when NULL).
ALTER TABLE users ADD COLUMN leaderboard_name TEXT;

-- A refresher: nuggets a manager or admin put back into learners' queues over a few days.
CREATE TABLE refreshers (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    team_id TEXT,
    topic TEXT,
    days INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX refreshers_created ON refreshers (org_id, created_at);

-- One learner × nugget of a refresher, with the learner's local day it was made due on.
-- Whether it was answered is read from the answers, never stored.
CREATE TABLE refresher_items (
    org_id TEXT NOT NULL,
    refresher_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    planned_on DATE NOT NULL,
    PRIMARY KEY (org_id, refresher_id, learner_id, nugget_id),
    FOREIGN KEY (org_id, refresher_id) REFERENCES refreshers(org_id, id)
);

-- A coach's note to a seller on a topic, shown with the seller's next nugget of that topic.
CREATE TABLE coaching_notes (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    seen_at TIMESTAMP,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX coaching_notes_learner ON coaching_notes (org_id, learner_id, seen_at);

-- The queue carries a learner's unseen notes: a note written or seen moves their counter.
CREATE TRIGGER queue_epoch_coaching_notes_insert AFTER INSERT ON coaching_notes BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_coaching_notes_update AFTER UPDATE ON coaching_notes BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_coaching_notes_delete AFTER DELETE ON coaching_notes BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, OLD.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;
