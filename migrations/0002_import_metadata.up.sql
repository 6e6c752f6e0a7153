-- What import and sync need to keep a post faithful to its source file.
-- extra: front matter keys bloggo does not know, as a JSON object, for templates.
-- source_path / source_hash: the file a post came from (relative to the imported folder) and
--   the SHA-256 of its bytes, so sync re-imports only files that changed.
-- modified_at: the writer's "updated"/"lastmod" date, shown on the page (updated_at is the row's).
ALTER TABLE posts ADD COLUMN extra TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra));
ALTER TABLE posts ADD COLUMN source_path TEXT;
ALTER TABLE posts ADD COLUMN source_hash TEXT;
ALTER TABLE posts ADD COLUMN modified_at TEXT;
CREATE INDEX idx_posts_source_path ON posts(source_path);

-- Old URLs of a post (aliases / redirect_from), each becomes a redirect page.
CREATE TABLE post_aliases (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    PRIMARY KEY (path)
) WITHOUT ROWID;
CREATE INDEX idx_post_aliases_post ON post_aliases(post_id);

-- A post's media (page bundle files and attachments).
CREATE TABLE post_files (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, file_id)
) WITHOUT ROWID;
CREATE INDEX idx_post_files_file ON post_files(file_id);

-- Authors get a slug for their page and may have several posts; order of categories/tags kept.
ALTER TABLE users ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX idx_users_slug ON users(slug);
UPDATE users SET slug = 'administrator' WHERE id = 1;
