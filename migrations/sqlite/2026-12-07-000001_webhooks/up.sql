-- Webhooks: an organization's endpoints, the events queued for each (a durable outbox, one row
-- per webhook and event) and every attempt to deliver them.

-- `events` is a comma list of event types; `secret` is sealed with the server's secret box.
-- `status` is 'active' or 'failing' (a delivery gave up after a day of retries; the next success
-- makes it active again). The answers received up to (`cursor_at`, `cursor_id`) have been turned
-- into events; `risk_checked_on` and `digest_week` are the last local day forgetting risk was
-- looked at and the last week whose digest was queued.
CREATE TABLE webhooks (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    format TEXT NOT NULL,
    description TEXT NOT NULL,
    secret TEXT NOT NULL,
    status TEXT NOT NULL,
    failing_since TIMESTAMP,
    cursor_at TIMESTAMP NOT NULL,
    cursor_id TEXT NOT NULL,
    risk_checked_on DATE,
    digest_week DATE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users(org_id, id)
);

-- The outbox. `event_key` names what happened (e.g. the answer's id, or a learner and a week),
-- so the same happening is queued once per webhook whichever instance sees it. `status` is
-- 'pending' (to send at `next_attempt_at`; `lease_until` set while a pass holds it),
-- 'delivered' or 'failed'.
CREATE TABLE webhook_deliveries (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event TEXT NOT NULL,
    event_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, webhook_id, event_key),
    FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks(org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (org_id, status, next_attempt_at);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (org_id, webhook_id, created_at);

-- One try at a delivery: the response's status code, or why there was none.
CREATE TABLE webhook_attempts (
    org_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, delivery_id, attempt),
    FOREIGN KEY (org_id, delivery_id) REFERENCES webhook_deliveries(org_id, id) ON DELETE CASCADE
);
