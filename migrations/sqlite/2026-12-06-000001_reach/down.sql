DROP TABLE sign_in_links;
DROP TABLE nudges;
DROP TABLE push_subscriptions;
DROP TABLE notification_settings;
ALTER TABLE organizations DROP COLUMN nudge_at;
ALTER TABLE organizations DROP COLUMN nudge_email;
ALTER TABLE organizations DROP COLUMN nudge_push;
