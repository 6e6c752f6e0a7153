-- Back to the column order of 0002 (content in the middle, no content_hash).
DROP TRIGGER IF EXISTS posts_content_hash_stale;
CREATE TABLE posts_old (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    subtitle     TEXT,
    slug         TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '',
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
    deleted_at   TEXT
, extra TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra)), source_path TEXT, source_hash TEXT, modified_at TEXT);
INSERT INTO posts_old (id, title, subtitle, slug, content, excerpt, cover_image, author_id, status,
                       published_at, view_count, read_time, created_at, updated_at, deleted_at,
                       extra, source_path, source_hash, modified_at)
SELECT id, title, subtitle, slug, content, excerpt, cover_image, author_id, status,
       published_at, view_count, read_time, created_at, updated_at, deleted_at,
       extra, source_path, source_hash, modified_at
FROM posts;
DROP TABLE posts;
ALTER TABLE posts_old RENAME TO posts;
CREATE UNIQUE INDEX idx_posts_slug ON posts(slug);
CREATE INDEX idx_posts_status_published ON posts(status, published_at DESC);
CREATE INDEX idx_posts_author_status_updated ON posts(author_id, status, updated_at DESC);
CREATE INDEX idx_posts_deleted ON posts(deleted_at);
CREATE INDEX idx_posts_source_path ON posts(source_path);
