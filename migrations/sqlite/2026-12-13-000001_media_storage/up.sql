-- Image bytes leave the database for the media storage (REPRISE_MEDIA_URL: a directory or an
-- S3-compatible bucket, see docs/adr/0022-media-in-object-storage.md). `media` keeps what an
-- image is and that its organization owns it; the bytes of images kept before this change wait
-- in `media_bodies_to_move` until the server's start copies each to the storage and deletes its
-- row there.
CREATE TABLE media_bodies_to_move (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, id) REFERENCES media(org_id, id)
);
INSERT INTO media_bodies_to_move (org_id, id, body) SELECT org_id, id, body FROM media;
ALTER TABLE media DROP COLUMN body;
