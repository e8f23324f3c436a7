DROP TRIGGER queue_epoch_pitch_reviews_delete;
DROP TRIGGER queue_epoch_pitch_reviews_update;
DROP TRIGGER queue_epoch_pitch_reviews_insert;
DROP TABLE pitch_reviews;
DROP TABLE pitches;
ALTER TABLE organizations DROP COLUMN peer_review;
ALTER TABLE nugget_versions DROP COLUMN max_seconds;
ALTER TABLE nugget_versions DROP COLUMN rubric;
ALTER TABLE nugget_versions DROP COLUMN kind;
