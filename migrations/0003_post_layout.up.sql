-- A build reads every post's dates, titles and excerpts but the markdown of only the posts whose
-- pages it makes. SQLite keeps a row's columns in their declared order and moves what does not
-- fit in the page to overflow pages, so every column after `content` cost a walk through the
-- markdown's pages. The table is rebuilt with `content` last (SQLite's documented way of
-- changing a table: new table, copy, drop, rename; foreign keys are off while migrations run).
--
-- content_hash: BLAKE3 (hex) of `content`, written by bloggo with the content, so a build knows
-- which posts changed without reading their markdown. A write that changes the content but not
-- the hash (another SQLite client) clears it, and the build then reads the markdown.
CREATE TABLE posts_new (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    subtitle     TEXT,
    slug         TEXT NOT NULL,
    excerpt      TEXT,
    cover_image  TEXT,
    author_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    status       TEXT NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'pending', 'published', 'archived')),
    published_at TEXT,
    view_count   INTEGER NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    read_time    INTEGER NOT NULL DEFAULT 0 CHECK (read_time >= 0),
    created_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at   TEXT,
    modified_at  TEXT,
    source_path  TEXT,
    source_hash  TEXT,
    content_hash TEXT,
    extra        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra)),
    content      TEXT NOT NULL DEFAULT ''
);
INSERT INTO posts_new (id, title, subtitle, slug, excerpt, cover_image, author_id, status,
                       published_at, view_count, read_time, created_at, updated_at, deleted_at,
                       modified_at, source_path, source_hash, content_hash, extra, content)
SELECT id, title, subtitle, slug, excerpt, cover_image, author_id, status,
       published_at, view_count, read_time, created_at, updated_at, deleted_at,
       modified_at, source_path, source_hash, bloggo_content_hash(content), extra, content
FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
CREATE UNIQUE INDEX idx_posts_slug ON posts(slug);
CREATE INDEX idx_posts_status_published ON posts(status, published_at DESC);
CREATE INDEX idx_posts_author_status_updated ON posts(author_id, status, updated_at DESC);
CREATE INDEX idx_posts_deleted ON posts(deleted_at);
CREATE INDEX idx_posts_source_path ON posts(source_path);
CREATE TRIGGER posts_content_hash_stale AFTER UPDATE OF content ON posts
WHEN NEW.content_hash IS OLD.content_hash AND NEW.content IS NOT OLD.content
BEGIN
    UPDATE posts SET content_hash = NULL WHERE id = NEW.id;
END;
