-- What a learner's daily queue is built from changes only with these counters, so a server may
-- keep a queue it built and serve it again while both counters are unchanged (and the local day
-- is the same). learner_id '' is the organization's counter: content, teams, assignments and
-- settings. A learner's own row counts their answers, pauses and settings. Triggers keep them, so
-- no write path can forget to; several servers on one database all see the same counters.
CREATE TABLE queue_epochs (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    PRIMARY KEY (org_id, learner_id)
);

CREATE TRIGGER queue_epoch_organizations_update AFTER UPDATE ON organizations BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_teams_insert AFTER INSERT ON teams BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_teams_update AFTER UPDATE ON teams BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_teams_delete AFTER DELETE ON teams BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_team_members_insert AFTER INSERT ON team_members BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_team_members_update AFTER UPDATE ON team_members BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_team_members_delete AFTER DELETE ON team_members BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignments_insert AFTER INSERT ON assignments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignments_update AFTER UPDATE ON assignments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignments_delete AFTER DELETE ON assignments BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignment_learners_insert AFTER INSERT ON assignment_learners BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignment_learners_update AFTER UPDATE ON assignment_learners BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_assignment_learners_delete AFTER DELETE ON assignment_learners BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_packs_insert AFTER INSERT ON packs BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_packs_update AFTER UPDATE ON packs BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_packs_delete AFTER DELETE ON packs BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pack_versions_insert AFTER INSERT ON pack_versions BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pack_versions_update AFTER UPDATE ON pack_versions BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pack_versions_delete AFTER DELETE ON pack_versions BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_nuggets_insert AFTER INSERT ON nuggets BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_nuggets_update AFTER UPDATE ON nuggets BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_nuggets_delete AFTER DELETE ON nuggets BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, '', 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_users_insert AFTER INSERT ON users BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_users_update AFTER UPDATE ON users BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_users_delete AFTER DELETE ON users BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, OLD.id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pauses_insert AFTER INSERT ON pauses BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pauses_update AFTER UPDATE ON pauses BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_pauses_delete AFTER DELETE ON pauses BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, OLD.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_memory_states_insert AFTER INSERT ON memory_states BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_memory_states_update AFTER UPDATE ON memory_states BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (NEW.org_id, NEW.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER queue_epoch_memory_states_delete AFTER DELETE ON memory_states BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch) VALUES (OLD.org_id, OLD.learner_id, 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = epoch + 1;
END;
