-- An account belongs to one organization: the same e-mail address may have an account in several
-- organizations, so no organization can take an address before its real employer does, and
-- creating one tells nobody whether the address is known elsewhere. Login names the organization
-- or tries the accounts of the address (docs/security.md).
ALTER TABLE logins DROP CONSTRAINT logins_pkey;
ALTER TABLE logins ADD PRIMARY KEY (email, org_id);

-- Raised on every change to what a user may do (role, activation, password): an access token
-- carries the value it was issued with and stops working once it differs.
ALTER TABLE users ADD COLUMN auth_version BIGINT NOT NULL DEFAULT 0;
