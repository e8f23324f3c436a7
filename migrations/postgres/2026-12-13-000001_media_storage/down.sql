-- Bytes already copied to the media storage are not brought back: those images keep an empty body.
ALTER TABLE media ADD COLUMN body BYTEA NOT NULL DEFAULT ''::bytea;
UPDATE media SET body = b.body FROM media_bodies_to_move b
    WHERE b.org_id = media.org_id AND b.id = media.id;
DROP TABLE media_bodies_to_move;
