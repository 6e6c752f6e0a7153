-- Refresh tokens rotate: each use marks the token rotated and issues a new one of the same
-- family (the tokens descended from one sign-in). A rotated token presented again means it
-- was copied: the whole family is revoked. `family_id` is the id of the family's first
-- token; `rotated_at` when the token was exchanged for its successor.
ALTER TABLE refresh_tokens ADD COLUMN family_id INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN rotated_at TEXT;
UPDATE refresh_tokens SET family_id = id;
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens(family_id);
