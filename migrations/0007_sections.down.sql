-- Undoes 0007: the table without `section` (posts leave their sections), the triggers as
-- 0006 made them, and no sections.
DROP TRIGGER site_changes_sections_insert;
DROP TRIGGER site_changes_sections_update;
DROP TRIGGER site_changes_sections_delete;
CREATE TABLE posts_new (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    subtitle     TEXT,
    slug         TEXT NOT NULL,
    path         TEXT,
    kind         TEXT NOT NULL DEFAULT 'post' CHECK (kind IN ('post', 'page')),
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
INSERT INTO posts_new (id, title, subtitle, slug, path, excerpt, cover_image, author_id,
       status, published_at, view_count, read_time, created_at, updated_at, deleted_at,
       modified_at, source_path, source_hash, content_hash, extra, content)
SELECT id, title, subtitle, slug, path, excerpt, cover_image, author_id,
       status, published_at, view_count, read_time, created_at, updated_at, deleted_at,
       modified_at, source_path, source_hash, content_hash, extra, content
FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
CREATE INDEX idx_posts_slug ON posts(slug);
CREATE INDEX idx_posts_status_published ON posts(status, published_at DESC);
CREATE INDEX idx_posts_author_status_updated ON posts(author_id, status, updated_at DESC);
CREATE INDEX idx_posts_deleted ON posts(deleted_at);
CREATE INDEX idx_posts_source_path ON posts(source_path);
CREATE TRIGGER posts_content_hash_stale AFTER UPDATE OF content ON posts
WHEN NEW.content_hash IS OLD.content_hash AND NEW.content IS NOT OLD.content
BEGIN
    UPDATE posts SET content_hash = NULL WHERE id = NEW.id;
END;

CREATE TRIGGER site_changes_posts_insert AFTER INSERT ON posts
WHEN NEW.id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.id, 'posts');
END;

CREATE TRIGGER site_changes_posts_update AFTER UPDATE OF
    title, subtitle, slug, path, kind, excerpt, cover_image, author_id, status, published_at,
    created_at,
    modified_at, updated_at, read_time, extra, content_hash, content, deleted_at ON posts
WHEN (OLD.title IS NOT NEW.title OR OLD.subtitle IS NOT NEW.subtitle OR OLD.slug IS NOT NEW.slug
      OR OLD.path IS NOT NEW.path OR OLD.kind IS NOT NEW.kind
      OR OLD.excerpt IS NOT NEW.excerpt OR OLD.cover_image IS NOT NEW.cover_image
      OR OLD.author_id IS NOT NEW.author_id OR OLD.status IS NOT NEW.status
      OR OLD.published_at IS NOT NEW.published_at OR OLD.created_at IS NOT NEW.created_at
      OR OLD.modified_at IS NOT NEW.modified_at OR OLD.updated_at IS NOT NEW.updated_at
      OR OLD.read_time IS NOT NEW.read_time OR OLD.extra IS NOT NEW.extra
      OR OLD.content_hash IS NOT NEW.content_hash OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.content IS NOT NEW.content)
     AND NEW.id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.id, 'posts');
END;

CREATE TRIGGER site_changes_posts_id AFTER UPDATE OF id ON posts
WHEN OLD.id IS NOT NEW.id
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.id, 'posts'), (NEW.id, 'posts');
END;

CREATE TRIGGER site_changes_posts_delete AFTER DELETE ON posts
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.id, 'posts');
END;

DROP TABLE sections;
