-- Pitch nuggets: a client situation answered by a recording, scored later on a rubric.
ALTER TABLE nugget_versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'choice';
-- A pitch's rubric as JSON: [{"criterion", "description"}, …].
ALTER TABLE nugget_versions ADD COLUMN rubric TEXT;
ALTER TABLE nugget_versions ADD COLUMN max_seconds INTEGER;

-- Whether teammates may review each other's pitches (managers and admins always may).
ALTER TABLE organizations ADD COLUMN peer_review BOOLEAN NOT NULL DEFAULT FALSE;

-- A seller's recorded answer to a pitch nugget. The bytes are in media storage under
-- storage_key; the row is what says they exist. One per attempt id, so a retried upload from
-- the phone's outbox is stored once.
CREATE TABLE pitches (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    pack_version_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    shared_at TIMESTAMP,
    shared_by TEXT,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, learner_id, attempt_id)
);
CREATE INDEX pitches_learner ON pitches (org_id, learner_id, created_at);
CREATE INDEX pitches_created ON pitches (org_id, created_at);

-- A reviewer's scores of one pitch: one per reviewer. scores is a JSON object of criterion to
-- 1..4; mean_score is their mean, the application evidence the review gives. The seller sees it
-- with their next nugget of the topic until seen_at.
CREATE TABLE pitch_reviews (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pitch_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    reviewer_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    scores TEXT NOT NULL,
    mean_score DOUBLE PRECISION NOT NULL,
    comment TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    seen_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, pitch_id, reviewer_id),
    FOREIGN KEY (org_id, pitch_id) REFERENCES pitches(org_id, id)
);
CREATE INDEX pitch_reviews_learner ON pitch_reviews (org_id, learner_id, seen_at);

-- The queue carries a learner's unseen reviews: a review written or seen moves their counter.
CREATE TRIGGER queue_epoch_pitch_reviews AFTER INSERT OR UPDATE OR DELETE ON pitch_reviews
    FOR EACH ROW EXECUTE FUNCTION bump_queue_epoch('org_id', 'learner_id');
