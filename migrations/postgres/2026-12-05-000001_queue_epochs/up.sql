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

-- TG_ARGV[0]: the column holding the organization; TG_ARGV[1]: the column holding the learner,
-- or nothing for the organization's counter.
CREATE FUNCTION bump_queue_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    INSERT INTO queue_epochs (org_id, learner_id, epoch)
    VALUES (r ->> TG_ARGV[0], COALESCE(r ->> TG_ARGV[1], ''), 1)
    ON CONFLICT (org_id, learner_id) DO UPDATE SET epoch = queue_epochs.epoch + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER queue_epoch_organizations AFTER UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('id');

CREATE TRIGGER queue_epoch_teams AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_team_members AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_assignments AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_assignment_learners AFTER INSERT OR UPDATE OR DELETE ON assignment_learners
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_packs AFTER INSERT OR UPDATE OR DELETE ON packs
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_pack_versions AFTER INSERT OR UPDATE OR DELETE ON pack_versions
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_nuggets AFTER INSERT OR UPDATE OR DELETE ON nuggets
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id');

CREATE TRIGGER queue_epoch_users AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id', 'id');

CREATE TRIGGER queue_epoch_pauses AFTER INSERT OR UPDATE OR DELETE ON pauses
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id', 'learner_id');

CREATE TRIGGER queue_epoch_memory_states AFTER INSERT OR UPDATE OR DELETE ON memory_states
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id', 'learner_id');
