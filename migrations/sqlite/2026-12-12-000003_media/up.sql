-- Images attached to nuggets, re-encoded without metadata and named by the SHA-256 of their bytes
-- (the same picture is stored once per organization). Kept in the database so every app server
-- serves them without shared disks.
CREATE TABLE media (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users(org_id, id)
);
