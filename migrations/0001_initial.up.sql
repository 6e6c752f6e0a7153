-- bloggo content store: the full schema of a blog engine.
-- Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS' (what CURRENT_TIMESTAMP writes), so they sort as text.

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE permissions (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE role_permissions (
    role_id       INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
) WITHOUT ROWID;
CREATE INDEX idx_role_permissions_permission ON role_permissions(permission_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    passphrase_hash TEXT,
    role_id         INTEGER NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    avatar          TEXT,
    bio             TEXT,
    created_at      TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_role ON users(role_id);

CREATE TABLE refresh_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE posts (
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
);
CREATE UNIQUE INDEX idx_posts_slug ON posts(slug);
CREATE INDEX idx_posts_status_published ON posts(status, published_at DESC);
CREATE INDEX idx_posts_author_status_updated ON posts(author_id, status, updated_at DESC);
CREATE INDEX idx_posts_deleted ON posts(deleted_at);

CREATE TABLE post_versions (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    title       TEXT NOT NULL,
    content     TEXT NOT NULL DEFAULT '',
    excerpt     TEXT,
    cover_image TEXT,
    status      TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
    author_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    approved_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    approved_at TEXT,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (post_id, version)
);
CREATE INDEX idx_post_versions_author ON post_versions(author_id);
CREATE INDEX idx_post_versions_approved_by ON post_versions(approved_by);

CREATE TABLE categories (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parent_id   INTEGER REFERENCES categories(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX idx_categories_slug ON categories(slug);
CREATE INDEX idx_categories_parent ON categories(parent_id);

CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_tags_slug ON tags(slug);

CREATE TABLE post_categories (
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, category_id)
) WITHOUT ROWID;
CREATE INDEX idx_post_categories_category ON post_categories(category_id);

CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX idx_post_tags_tag ON post_tags(tag_id);

CREATE TABLE post_views (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    ip_address TEXT,
    user_agent TEXT,
    referrer   TEXT,
    viewed_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_post_views_post_viewed ON post_views(post_id, viewed_at DESC);
CREATE INDEX idx_post_views_viewed_post ON post_views(viewed_at DESC, post_id);
CREATE INDEX idx_post_views_user ON post_views(user_id);

CREATE TABLE post_statistics (
    post_id        INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    view_count     INTEGER NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    read_time      INTEGER NOT NULL DEFAULT 0 CHECK (read_time >= 0),
    desktop_views  INTEGER NOT NULL DEFAULT 0 CHECK (desktop_views >= 0),
    mobile_views   INTEGER NOT NULL DEFAULT 0 CHECK (mobile_views >= 0),
    tablet_views   INTEGER NOT NULL DEFAULT 0 CHECK (tablet_views >= 0),
    last_viewed_at TEXT,
    updated_at     TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    filename      TEXT NOT NULL,
    original_name TEXT NOT NULL,
    file_path     TEXT NOT NULL,
    file_size     INTEGER NOT NULL CHECK (file_size >= 0),
    mime_type     TEXT NOT NULL,
    uploaded_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    is_public     INTEGER NOT NULL DEFAULT 1 CHECK (is_public IN (0, 1)),
    created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX idx_files_path ON files(file_path);
CREATE INDEX idx_files_uploaded_by ON files(uploaded_by);

CREATE TABLE audit_logs (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   INTEGER,
    old_values    TEXT,
    new_values    TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_audit_logs_user_created ON audit_logs(user_id, created_at DESC);
CREATE INDEX idx_audit_logs_created ON audit_logs(created_at DESC);

CREATE TABLE key_value_store (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_key_value_store_expires ON key_value_store(expires_at);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL DEFAULT '[]',
    secret     TEXT,
    is_active  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_webhooks_created_by ON webhooks(created_by);

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    webhook_id    INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    attempt       INTEGER NOT NULL DEFAULT 1,
    delivered_at  TEXT,
    created_at    TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries(webhook_id, created_at DESC);

-- Seed: roles, permissions and what each role may do.
INSERT INTO roles (id, name, description) VALUES
    (1, 'admin',  'Everything, including users and the system'),
    (2, 'editor', 'Writes, edits and publishes anyone''s posts; manages taxonomy'),
    (3, 'author', 'Writes and edits posts; cannot publish');

INSERT INTO permissions (id, name, description) VALUES
    (1, 'posts.create',      'Create posts'),
    (2, 'posts.edit',        'Edit posts'),
    (3, 'posts.publish',     'Publish, schedule and approve posts'),
    (4, 'posts.delete',      'Delete posts'),
    (5, 'users.manage',      'Manage users and roles'),
    (6, 'categories.manage', 'Manage categories'),
    (7, 'tags.manage',       'Manage tags'),
    (8, 'analytics.view',    'View analytics'),
    (9, 'system.admin',      'Backups, restore, migrations');

INSERT INTO role_permissions (role_id, permission_id)
    SELECT 1, id FROM permissions;
INSERT INTO role_permissions (role_id, permission_id)
    SELECT 2, id FROM permissions
    WHERE name IN ('posts.create', 'posts.edit', 'posts.publish', 'categories.manage', 'tags.manage', 'analytics.view');
INSERT INTO role_permissions (role_id, permission_id)
    SELECT 3, id FROM permissions WHERE name IN ('posts.create', 'posts.edit');

-- A default author so a fresh store can hold posts.
INSERT INTO users (id, name, email, role_id) VALUES (1, 'Administrator', 'admin@localhost', 1);
