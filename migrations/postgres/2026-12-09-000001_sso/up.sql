-- Single sign-on: each organization's identity provider, the e-mail domains that lead to it,
-- sign-ins under way, the one-time codes that end them, and the SAML assertions already used.

-- One provider per organization. `protocol` is 'oidc' (issuer, client_id, client_secret sealed
-- with the server's secret box) or 'saml' (the provider's metadata as the admin pasted it).
-- `role_map` is a JSON object from a value of the role claim to a Reprise role.
CREATE TABLE sso_configs (
    org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
    protocol TEXT NOT NULL,
    issuer TEXT,
    client_id TEXT,
    client_secret TEXT,
    idp_metadata_xml TEXT,
    default_role TEXT NOT NULL,
    role_claim TEXT,
    role_map TEXT,
    team_claim TEXT,
    allow_password_login BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Which organization an e-mail domain signs in with. The domain is the key: no two
-- organizations can claim one (see docs/adr/0017-sso-email-domains.md).
CREATE TABLE sso_domains (
    domain TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id)
);
CREATE INDEX sso_domains_org ON sso_domains (org_id);

-- A sign-in sent to the provider and not back yet. `id` is the SHA-256 of the OIDC `state`, or
-- the SAML request's ID; the row is deleted when the provider answers, so an answer is taken once.
CREATE TABLE sso_attempts (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- The code a finished sign-in hands the console, stored as its SHA-256, exchanged once.
CREATE TABLE sso_codes (
    org_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (org_id, hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id)
);

-- SAML assertion IDs already accepted, kept until the assertion would have expired anyway.
CREATE TABLE saml_assertions_seen (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    assertion_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, assertion_id)
);
