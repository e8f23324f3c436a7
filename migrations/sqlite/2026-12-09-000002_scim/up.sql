-- Provisioning by SCIM 2.0 (docs/identity.md). An identity provider knows a user by its own id
-- (`external_id`, SCIM's externalId) and a `user_name` (SCIM's userName, often but not always
-- the e-mail address); `scim_profile` keeps, as JSON text, the parts of the SCIM resource Reprise
-- does not model (the name's parts, the e-mail list as sent), so that the provider reads back
-- what it wrote. All three are NULL for users created in Reprise.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN user_name TEXT;
ALTER TABLE users ADD COLUMN scim_profile TEXT;
CREATE UNIQUE INDEX users_external_id ON users (org_id, external_id);
CREATE UNIQUE INDEX users_user_name ON users (org_id, user_name);

-- A SCIM group is a team; the provider's id for it.
ALTER TABLE teams ADD COLUMN external_id TEXT;

-- The organization's provisioning token, kept only as its SHA-256: one per organization, a new
-- one replaces the old.
CREATE TABLE scim_tokens (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id)
);
