DROP TABLE scim_tokens;
ALTER TABLE teams DROP COLUMN external_id;
DROP INDEX users_user_name;
DROP INDEX users_external_id;
ALTER TABLE users DROP COLUMN scim_profile;
ALTER TABLE users DROP COLUMN user_name;
ALTER TABLE users DROP COLUMN external_id;
