-- Retention curve roll-up: repeat answers per organization, pack and days-since-previous-answer
-- bucket (index into domain::analytics::RETENTION_BUCKETS), with the model's predicted recall at
-- answer time summed. Written in the answer's transaction; `shard` spreads concurrent answers
-- over several rows so they do not queue on one.
CREATE TABLE retention_stats (
    org_id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    reviews BIGINT NOT NULL,
    correct BIGINT NOT NULL,
    predicted_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org_id, pack_id, bucket, shard),
    FOREIGN KEY (org_id, pack_id) REFERENCES packs(org_id, id)
);

-- Proficiency views read every answered memory state of an organization: this index covers
-- them, so the read is one ordered index scan instead of a table lookup per state.
CREATE INDEX memory_states_recall
    ON memory_states (org_id, learner_id, nugget_id, stability, last_review_at, first_correct);
