-- Undoes 0009: refresh tokens without families or rotation marks.
DROP INDEX idx_refresh_tokens_family;
ALTER TABLE refresh_tokens DROP COLUMN rotated_at;
ALTER TABLE refresh_tokens DROP COLUMN family_id;
