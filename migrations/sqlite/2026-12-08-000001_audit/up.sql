-- The audit log: every change made by an admin, author, manager, provisioning client or
-- single sign-on, append-only. `id` is a UUID v7 (time-ordered, the page key with `at`);
-- `actor_kind` is 'user', 'scim', 'sso' or 'system', `actor_id` the user who acted; `before` and
-- `after` are JSON of the fields that changed, never names, e-mail addresses or secrets.
CREATE TABLE audit_events (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    before TEXT,
    after TEXT,
    request_id TEXT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_events_time ON audit_events (org_id, at, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
