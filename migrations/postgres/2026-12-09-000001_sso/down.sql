DROP TABLE saml_assertions_seen;
DROP TABLE sso_codes;
DROP TABLE sso_attempts;
DROP TABLE sso_domains;
DROP TABLE sso_configs;
