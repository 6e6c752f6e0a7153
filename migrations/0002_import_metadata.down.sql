DROP INDEX IF EXISTS idx_users_slug;
ALTER TABLE users DROP COLUMN slug;
DROP TABLE IF EXISTS post_files;
DROP TABLE IF EXISTS post_aliases;
DROP INDEX IF EXISTS idx_posts_source_path;
ALTER TABLE posts DROP COLUMN modified_at;
ALTER TABLE posts DROP COLUMN source_hash;
ALTER TABLE posts DROP COLUMN source_path;
ALTER TABLE posts DROP COLUMN extra;
