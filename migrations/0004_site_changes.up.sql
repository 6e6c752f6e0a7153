-- The change log a delta build reads: triggers note every change to what a build reads, made by
-- any client (bloggo's import and commands, the sqlite3 shell...), so the next build re-reads
-- only the posts that changed (`src/store/changes.rs` reads and prunes it).
--
-- site_changes: one row per change, in commit order (`seq`). `post_id` is the post whose row or
--   links changed (no foreign key: a deleted post's id stays here); NULL when the change is not
--   one post's (a user, category or tag changed): the next build then reads everything.
--   `source` is the table that changed.
-- site_changes_state (one row): `watched` is the highest post id a build has watched. A post
--   above it is new to every build (builds find those as `id > watched`), so its rows and links
--   are not logged, which keeps an import of new posts cheap. `pruned` is the highest seq ever
--   deleted from the log: a build that read the log before it must read everything.
CREATE TABLE site_changes (
    seq     INTEGER PRIMARY KEY,
    post_id INTEGER,
    source  TEXT NOT NULL
);

CREATE TABLE site_changes_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    watched INTEGER NOT NULL DEFAULT 0,
    pruned  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO site_changes_state (id) VALUES (1);

-- posts: the columns a build reads (store/site.rs), when a value really changes.
CREATE TRIGGER site_changes_posts_insert AFTER INSERT ON posts
WHEN NEW.id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.id, 'posts');
END;

CREATE TRIGGER site_changes_posts_update AFTER UPDATE OF
    title, subtitle, slug, excerpt, cover_image, author_id, status, published_at, created_at,
    modified_at, updated_at, read_time, extra, content_hash, content, deleted_at ON posts
WHEN (OLD.title IS NOT NEW.title OR OLD.subtitle IS NOT NEW.subtitle OR OLD.slug IS NOT NEW.slug
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

-- A post that goes away is logged whatever its id: a build may have shown a post above the
-- watermark (inserted between raising it and the build's read), and a gone post cannot be
-- found by its id afterwards. A new id is logged too, as an insert would be.
CREATE TRIGGER site_changes_posts_id AFTER UPDATE OF id ON posts
WHEN OLD.id IS NOT NEW.id
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.id, 'posts'), (NEW.id, 'posts');
END;

CREATE TRIGGER site_changes_posts_delete AFTER DELETE ON posts
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.id, 'posts');
END;

-- A post's links: its categories, tags, old URLs and media.
CREATE TRIGGER site_changes_post_categories_insert AFTER INSERT ON post_categories
WHEN NEW.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.post_id, 'post_categories');
END;

CREATE TRIGGER site_changes_post_categories_delete AFTER DELETE ON post_categories
WHEN OLD.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.post_id, 'post_categories');
END;

CREATE TRIGGER site_changes_post_categories_update AFTER UPDATE ON post_categories
WHEN OLD.post_id IS NOT NEW.post_id OR OLD.category_id IS NOT NEW.category_id
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT id, 'post_categories' FROM (SELECT OLD.post_id AS id UNION SELECT NEW.post_id)
    WHERE id <= (SELECT watched FROM site_changes_state);
END;

CREATE TRIGGER site_changes_post_tags_insert AFTER INSERT ON post_tags
WHEN NEW.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.post_id, 'post_tags');
END;

CREATE TRIGGER site_changes_post_tags_delete AFTER DELETE ON post_tags
WHEN OLD.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.post_id, 'post_tags');
END;

CREATE TRIGGER site_changes_post_tags_update AFTER UPDATE ON post_tags
WHEN OLD.post_id IS NOT NEW.post_id OR OLD.tag_id IS NOT NEW.tag_id
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT id, 'post_tags' FROM (SELECT OLD.post_id AS id UNION SELECT NEW.post_id)
    WHERE id <= (SELECT watched FROM site_changes_state);
END;

CREATE TRIGGER site_changes_post_aliases_insert AFTER INSERT ON post_aliases
WHEN NEW.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.post_id, 'post_aliases');
END;

CREATE TRIGGER site_changes_post_aliases_delete AFTER DELETE ON post_aliases
WHEN OLD.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.post_id, 'post_aliases');
END;

CREATE TRIGGER site_changes_post_aliases_update AFTER UPDATE ON post_aliases
WHEN OLD.post_id IS NOT NEW.post_id OR OLD.path IS NOT NEW.path
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT id, 'post_aliases' FROM (SELECT OLD.post_id AS id UNION SELECT NEW.post_id)
    WHERE id <= (SELECT watched FROM site_changes_state);
END;

CREATE TRIGGER site_changes_post_files_insert AFTER INSERT ON post_files
WHEN NEW.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NEW.post_id, 'post_files');
END;

CREATE TRIGGER site_changes_post_files_delete AFTER DELETE ON post_files
WHEN OLD.post_id <= (SELECT watched FROM site_changes_state)
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (OLD.post_id, 'post_files');
END;

CREATE TRIGGER site_changes_post_files_update AFTER UPDATE ON post_files
WHEN OLD.post_id IS NOT NEW.post_id OR OLD.file_id IS NOT NEW.file_id
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT id, 'post_files' FROM (SELECT OLD.post_id AS id UNION SELECT NEW.post_id)
    WHERE id <= (SELECT watched FROM site_changes_state);
END;

-- A file shows only on the posts that link it: its change is theirs. (A file deleted with
-- foreign keys on takes its links along, which logs them; with them off the links stay.)
CREATE TRIGGER site_changes_files_update AFTER UPDATE OF id, filename, file_path ON files
WHEN OLD.id IS NOT NEW.id OR OLD.filename IS NOT NEW.filename
     OR OLD.file_path IS NOT NEW.file_path
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT post_id, 'files' FROM post_files WHERE file_id IN (OLD.id, NEW.id);
END;

CREATE TRIGGER site_changes_files_delete AFTER DELETE ON files
BEGIN
    INSERT INTO site_changes (post_id, source)
    SELECT post_id, 'files' FROM post_files WHERE file_id = OLD.id;
END;

-- Users, categories and tags show on many pages: a change to one is a change to the site.
-- A new one needs no row: it shows nowhere until a post or link points at it, and those are
-- logged.
CREATE TRIGGER site_changes_users_update AFTER UPDATE OF id, name, slug, avatar, bio ON users
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.slug IS NOT NEW.slug
     OR OLD.avatar IS NOT NEW.avatar OR OLD.bio IS NOT NEW.bio
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'users');
END;

CREATE TRIGGER site_changes_users_delete AFTER DELETE ON users
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'users');
END;

CREATE TRIGGER site_changes_categories_update
AFTER UPDATE OF id, name, slug, description, parent_id ON categories
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.slug IS NOT NEW.slug
     OR OLD.description IS NOT NEW.description OR OLD.parent_id IS NOT NEW.parent_id
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'categories');
END;

CREATE TRIGGER site_changes_categories_delete AFTER DELETE ON categories
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'categories');
END;

CREATE TRIGGER site_changes_tags_update AFTER UPDATE OF id, name, slug ON tags
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.slug IS NOT NEW.slug
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'tags');
END;

CREATE TRIGGER site_changes_tags_delete AFTER DELETE ON tags
BEGIN
    INSERT INTO site_changes (post_id, source) VALUES (NULL, 'tags');
END;
