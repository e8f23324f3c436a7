ALTER TABLE users DROP COLUMN auth_version;

DELETE FROM logins a USING logins b WHERE a.email = b.email AND a.org_id > b.org_id;
ALTER TABLE logins DROP CONSTRAINT logins_pkey;
ALTER TABLE logins ADD PRIMARY KEY (email);
