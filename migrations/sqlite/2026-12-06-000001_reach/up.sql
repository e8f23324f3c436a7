-- Reaching learners: their reminder choices, the devices they allowed push on, the daily nudges
-- (a durable outbox, one row per learner, channel and local day) and one-tap sign-in links.

-- What a learner gets when they have not chosen: push, e-mail, and the local time of day.
ALTER TABLE organizations ADD COLUMN nudge_push BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE organizations ADD COLUMN nudge_email BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE organizations ADD COLUMN nudge_at TEXT NOT NULL DEFAULT '09:00';

-- A learner's own choice; absent: the organization's defaults.
CREATE TABLE notification_settings (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    push BOOLEAN NOT NULL,
    email BOOLEAN NOT NULL,
    remind_at TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, learner_id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);

-- A browser's PushSubscription. An endpoint belongs to one browser profile, so it is unique in
-- the organization: subscribing again from a browser another learner used moves it.
CREATE TABLE push_subscriptions (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, endpoint),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);
CREATE INDEX push_subscriptions_learner ON push_subscriptions (org_id, learner_id);

-- The nudge outbox. The unique key is the promise: one decision per learner, channel ('push',
-- 'email', 'digest') and local day, whichever instance or pass makes it. `status` is 'pending'
-- (to send at `next_attempt_at`; `lease_until` set while a pass holds it), 'sent', 'skipped'
-- (`reason` says why: nothing due, quiet day, pause, answered today, no device) or 'failed'.
CREATE TABLE nudges (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    local_day DATE NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    waiting INTEGER NOT NULL,
    opening TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, learner_id, channel, local_day),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);
CREATE INDEX nudges_pending ON nudges (org_id, status, next_attempt_at);
CREATE INDEX nudges_day ON nudges (org_id, local_day);

-- One-tap sign-in links sent by e-mail: `<org id>.<secret>`, only the SHA-256 kept; single use.
CREATE TABLE sign_in_links (
    org_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id)
);
