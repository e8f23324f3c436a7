-- Reprise schema (PostgreSQL). Kept column-for-column equal to the SQLite twin.
-- Every tenant table leads with org_id in its primary key, unique constraints and foreign keys.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    quiet_weekdays TEXT NOT NULL DEFAULT '',
    fsrs_parameters TEXT,
    fsrs_fitted_at TIMESTAMP,
    lrs_endpoint TEXT,
    lrs_username TEXT,
    lrs_password TEXT,
    created_at TIMESTAMP NOT NULL
);

-- Global login directory: e-mail addresses are unique across organizations so that login
-- needs no organization. Under Citus this is a reference table.
CREATE TABLE logins (
    email TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL
);

CREATE TABLE users (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    timezone TEXT,
    daily_max INTEGER,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, email)
);

CREATE TABLE teams (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name),
    FOREIGN KEY (org_id, parent_id) REFERENCES teams(org_id, id)
);

CREATE TABLE team_members (
    org_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (org_id, team_id, user_id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams(org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id)
);
CREATE INDEX team_members_user ON team_members (org_id, user_id);

CREATE TABLE refresh_tokens (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP,
    revoked_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, token_hash),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (org_id, family_id);

CREATE TABLE packs (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    id TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    draft TEXT,
    draft_hash TEXT,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, slug)
);

CREATE TABLE pack_versions (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    language TEXT NOT NULL,
    desired_retention DOUBLE PRECISION,
    daily_cap INTEGER,
    published_at TIMESTAMP NOT NULL,
    published_by TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, pack_id, version),
    FOREIGN KEY (org_id, pack_id) REFERENCES packs(org_id, id)
);

-- A nugget's identity is stable across versions (pack + key); its text lives per version.
CREATE TABLE nuggets (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    key TEXT NOT NULL,
    retired_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, pack_id, key),
    FOREIGN KEY (org_id, pack_id) REFERENCES packs(org_id, id)
);

CREATE TABLE nugget_versions (
    org_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    pack_version_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    topic TEXT NOT NULL,
    tags TEXT NOT NULL,
    prompt TEXT NOT NULL,
    options TEXT NOT NULL,
    explanation TEXT NOT NULL,
    media_url TEXT,
    PRIMARY KEY (org_id, pack_version_id, nugget_id),
    FOREIGN KEY (org_id, nugget_id) REFERENCES nuggets(org_id, id),
    FOREIGN KEY (org_id, pack_version_id) REFERENCES pack_versions(org_id, id)
);
CREATE INDEX nugget_versions_nugget ON nugget_versions (org_id, nugget_id);

CREATE TABLE assignments (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    team_id TEXT,
    starts_on DATE NOT NULL,
    ends_on DATE,
    daily_cap INTEGER NOT NULL,
    desired_retention DOUBLE PRECISION NOT NULL,
    policy TEXT NOT NULL,
    fast_ms INTEGER NOT NULL,
    slow_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, pack_id) REFERENCES packs(org_id, id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams(org_id, id)
);

CREATE TABLE assignment_learners (
    org_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    PRIMARY KEY (org_id, assignment_id, learner_id),
    FOREIGN KEY (org_id, assignment_id) REFERENCES assignments(org_id, id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);

CREATE TABLE memory_states (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    pack_version_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    status TEXT NOT NULL,
    stability DOUBLE PRECISION,
    difficulty DOUBLE PRECISION,
    reps INTEGER NOT NULL,
    lapses INTEGER NOT NULL,
    correct_streak INTEGER NOT NULL,
    first_correct BOOLEAN,
    first_answered_at TIMESTAMP,
    last_review_at TIMESTAMP,
    due_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, learner_id, nugget_id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id),
    FOREIGN KEY (org_id, nugget_id) REFERENCES nuggets(org_id, id)
);
CREATE INDEX memory_states_due ON memory_states (org_id, learner_id, due_at);
CREATE INDEX memory_states_nugget ON memory_states (org_id, nugget_id);

-- Immutable answer log. attempt_id is the client's idempotency key and the xAPI statement id.
CREATE TABLE reviews (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    nugget_id TEXT NOT NULL,
    pack_version_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    selected TEXT NOT NULL,
    correct BOOLEAN NOT NULL,
    partial_credit DOUBLE PRECISION NOT NULL,
    response_ms INTEGER NOT NULL,
    confidence TEXT,
    rating INTEGER NOT NULL,
    client_answered_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    clock_flag TEXT,
    elapsed_days DOUBLE PRECISION,
    stability_before DOUBLE PRECISION,
    difficulty_before DOUBLE PRECISION,
    stability_after DOUBLE PRECISION NOT NULL,
    difficulty_after DOUBLE PRECISION NOT NULL,
    status_after TEXT NOT NULL,
    due_after TIMESTAMP,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, learner_id, attempt_id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id),
    FOREIGN KEY (org_id, nugget_id) REFERENCES nuggets(org_id, id)
);
CREATE INDEX reviews_learner_time ON reviews (org_id, learner_id, answered_at);
CREATE INDEX reviews_nugget ON reviews (org_id, nugget_id);
CREATE INDEX reviews_received ON reviews (org_id, received_at);

-- Stored responses for retried POSTs (same key → same answer, nothing applied twice).
CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id, key)
);

-- Which nuggets a learner's queue offered on which local day (engagement: answered ÷ delivered).
CREATE TABLE deliveries (
    org_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    day DATE NOT NULL,
    nugget_id TEXT NOT NULL,
    delivered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, learner_id, day, nugget_id)
);

CREATE TABLE pauses (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, learner_id) REFERENCES users(org_id, id)
);
CREATE INDEX pauses_learner ON pauses (org_id, learner_id);

CREATE TABLE kpis (
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    period TEXT NOT NULL,
    metric TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    uploaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id, period, metric),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id)
);

CREATE TABLE xapi_outbox (
    org_id TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    last_error TEXT,
    PRIMARY KEY (org_id, statement_id)
);
CREATE INDEX xapi_outbox_pending ON xapi_outbox (org_id, sent_at, next_attempt_at);
