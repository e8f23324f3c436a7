ALTER TABLE users DROP COLUMN auth_version;

CREATE TABLE logins_by_email (
    email TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL
);
INSERT OR IGNORE INTO logins_by_email (email, org_id, user_id)
    SELECT email, org_id, user_id FROM logins;
DROP TABLE logins;
ALTER TABLE logins_by_email RENAME TO logins;
