DROP TRIGGER queue_epoch_coaching_notes ON coaching_notes;
DROP TABLE coaching_notes;
DROP TABLE refresher_items;
DROP TABLE refreshers;
ALTER TABLE users DROP COLUMN leaderboard_name;
ALTER TABLE organizations DROP COLUMN leaderboards;
