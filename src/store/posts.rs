//! The SQL of import: posts and their versions, the category tree, tags, authors, aliases,
//! media files and the audit row. The caller owns the transaction; `Writer` holds caches of
//! the small tables so a large import does one statement per row it really writes.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

/// What import needs to know about every post before it writes (loaded once).
#[derive(Debug, Clone)]
pub struct IndexedPost {
    pub id: i64,
    pub slug: String,
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
    pub status: String,
    pub deleted: bool,
}

/// Every post, deleted ones included.
/// Whether a post that is not deleted came from a file under `scope` (a source path prefix).
pub fn any_live_from(conn: &Connection, scope: &str) -> rusqlite::Result<bool> {
    // A range over idx_posts_source_path (a prefix test on the column would read every row);
    // every path that starts with `scope` sorts in [scope, scope + U+10FFFF). The `+` keeps
    // SQLite from picking idx_posts_deleted instead, which matches nearly every post.
    let end = format!("{scope}\u{10FFFF}");
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM posts
                        WHERE source_path >= ?1 AND source_path < ?2
                          AND substr(source_path, 1, length(?1)) = ?1 AND +deleted_at IS NULL)",
        [scope, end.as_str()],
        |r| r.get(0),
    )
}

pub fn index(conn: &Connection) -> rusqlite::Result<Vec<IndexedPost>> {
    let mut stmt = conn.prepare(
        "SELECT id, slug, source_path, source_hash, status, deleted_at IS NOT NULL FROM posts",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(IndexedPost {
            id: r.get(0)?,
            slug: r.get(1)?,
            source_path: r.get(2)?,
            source_hash: r.get(3)?,
            status: r.get(4)?,
            deleted: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The columns of `posts` that import writes.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub title: String,
    pub subtitle: Option<String>,
    pub slug: String,
    pub content: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    pub author_id: Option<i64>,
    pub status: String,
    pub published_at: Option<String>,
    pub modified_at: Option<String>,
    pub read_time: i64,
    /// A JSON object.
    pub extra: String,
    pub source_path: String,
    pub source_hash: String,
}

/// A post's rows in the link tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub categories: Vec<i64>,
    pub tags: Vec<i64>,
    pub aliases: Vec<String>,
    pub files: Vec<i64>,
}

impl Links {
    fn normalised(mut self) -> Links {
        for v in [&mut self.categories, &mut self.tags, &mut self.files] {
            v.sort_unstable();
            v.dedup();
        }
        self.aliases.sort();
        self.aliases.dedup();
        self
    }
}

/// A media file of a post (`files`).
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub filename: String,
    pub original_name: String,
    /// Relative to the site folder, e.g. `media/some-post/cat.png`.
    pub file_path: String,
    pub file_size: i64,
    pub mime_type: String,
    pub uploaded_by: Option<i64>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    New(i64),
    Updated(i64),
    Unchanged(i64),
}

/// Why a post could not be written (the caller turns it into a problem naming the file).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the alias {path} already belongs to the post {other:?}; remove it from one of them")]
    AliasTaken { path: String, other: String },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

struct User {
    id: i64,
    name: String,
    email: String,
    slug: Option<String>,
}

/// Writes posts inside the caller's transaction.
pub struct Writer<'c> {
    conn: &'c Connection,
    now: String,
    users: Vec<User>,
    /// (parent, slug of the name) → (id, slug).
    categories: HashMap<(Option<i64>, String), (i64, String)>,
    category_slugs: HashSet<String>,
    tags: HashMap<String, i64>,
    /// Names as written → ids, so a name met again is not slugified again.
    category_paths: HashMap<Vec<String>, Option<i64>>,
    tag_names: HashMap<String, Option<i64>>,
    /// The change log's per-row insert triggers, held off from the first new post on (see
    /// `store::changes`): this writer logs the posts they would have logged.
    held: Option<super::changes::HeldInserts>,
}

const POST_COLUMNS: &str =
    "title, subtitle, slug, content, excerpt, cover_image, author_id, status, \
     published_at, modified_at, read_time, extra, source_path, source_hash";

impl<'c> Writer<'c> {
    /// Loads users, categories and tags; `now` stamps every row written.
    pub fn new(conn: &'c Connection, now: &str) -> rusqlite::Result<Writer<'c>> {
        conn.set_prepared_statement_cache_capacity(64);
        let users = conn
            .prepare("SELECT id, name, email, slug FROM users")?
            .query_map([], |r| {
                Ok(User {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    slug: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut categories = HashMap::new();
        let mut category_slugs = HashSet::new();
        let mut stmt = conn.prepare("SELECT id, name, slug, parent_id FROM categories")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        for row in rows {
            let (id, name, slug, parent) = row?;
            categories.insert((parent, slug::slugify(&name)), (id, slug.clone()));
            category_slugs.insert(slug);
        }
        let tags = conn
            .prepare("SELECT slug, id FROM tags")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<String, i64>>>()?;
        Ok(Writer {
            conn,
            now: now.to_string(),
            users,
            categories,
            category_slugs,
            tags,
            category_paths: HashMap::new(),
            tag_names: HashMap::new(),
            held: None,
        })
    }

    /// Ends the writer. It returns the change log's insert triggers when it held them off (see
    /// `store::changes`): create them again with `HeldInserts::restore` once the transaction
    /// committed (a rollback restores them by itself).
    pub fn finish(self) -> Option<super::changes::HeldInserts> {
        self.held
    }

    /// The user an author name/email refers to, created with role author when new.
    /// Matched by email, then by name (case-insensitive), then by slug.
    pub fn author(&mut self, name: &str, email: Option<&str>) -> rusqlite::Result<i64> {
        let lc = |s: &str| s.trim().to_lowercase();
        let own_slug = slug::slugify(name);
        let found = email
            .and_then(|e| self.users.iter().find(|u| lc(&u.email) == lc(e)))
            .or_else(|| self.users.iter().find(|u| lc(&u.name) == lc(name)))
            .or_else(|| {
                self.users
                    .iter()
                    .find(|u| !own_slug.is_empty() && u.slug.as_deref() == Some(&own_slug))
            });
        if let Some(u) = found {
            return Ok(u.id);
        }
        let base = if own_slug.is_empty() {
            "author".to_string()
        } else {
            own_slug
        };
        let taken = |s: &str, users: &[User]| users.iter().any(|u| u.slug.as_deref() == Some(s));
        let mut slug = base.clone();
        let mut n = 2;
        while taken(&slug, &self.users) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        let mut email = email
            .map(str::to_string)
            .unwrap_or_else(|| format!("{slug}@authors.invalid"));
        let mut n = 2;
        while self.users.iter().any(|u| lc(&u.email) == lc(&email)) {
            email = format!("{slug}-{n}@authors.invalid");
            n += 1;
        }
        self.conn
            .prepare_cached(
                "INSERT INTO users (name, email, role_id, slug, created_at, updated_at)
                 VALUES (?1, ?2, 3, ?3, ?4, ?4)",
            )?
            .execute(params![name, email, slug, self.now])?;
        let id = self.conn.last_insert_rowid();
        self.users.push(User {
            id,
            name: name.to_string(),
            email,
            slug: Some(slug),
        });
        Ok(id)
    }

    /// The leaf of a category path (`["Programming", "Rust"]`), creating missing levels.
    ///
    /// Slugs are unique across the tree: a category takes its own slug when it is free,
    /// else `parent-own`, else `own-2`, `own-3`, …
    pub fn category(&mut self, path: &[String]) -> rusqlite::Result<Option<i64>> {
        if let Some(id) = self.category_paths.get(path) {
            return Ok(*id);
        }
        let id = self.category_by_slugs(path)?;
        self.category_paths.insert(path.to_vec(), id);
        Ok(id)
    }

    fn category_by_slugs(&mut self, path: &[String]) -> rusqlite::Result<Option<i64>> {
        let mut parent: Option<(i64, String)> = None;
        for name in path {
            let own = slug::slugify(name);
            if own.is_empty() {
                continue;
            }
            let key = (parent.as_ref().map(|p| p.0), own.clone());
            let next = match self.categories.get(&key) {
                Some(found) => found.clone(),
                None => {
                    let mut candidates = vec![own.clone()];
                    if let Some((_, ps)) = &parent {
                        candidates.push(format!("{ps}-{own}"));
                    }
                    let slug = candidates
                        .into_iter()
                        .find(|c| !self.category_slugs.contains(c))
                        .unwrap_or_else(|| {
                            (2..)
                                .map(|n| format!("{own}-{n}"))
                                .find(|c| !self.category_slugs.contains(c))
                                .expect("a free slug")
                        });
                    self.conn
                        .prepare_cached(
                            "INSERT INTO categories (name, slug, parent_id, created_at)
                             VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![name.trim(), slug, key.0, self.now])?;
                    let id = self.conn.last_insert_rowid();
                    self.category_slugs.insert(slug.clone());
                    self.categories.insert(key, (id, slug.clone()));
                    (id, slug)
                }
            };
            parent = Some(next);
        }
        Ok(parent.map(|p| p.0))
    }

    /// The tag with this name's slug, created when new.
    pub fn tag(&mut self, name: &str) -> rusqlite::Result<Option<i64>> {
        if let Some(id) = self.tag_names.get(name) {
            return Ok(*id);
        }
        let id = self.tag_by_slug(name)?;
        self.tag_names.insert(name.to_string(), id);
        Ok(id)
    }

    fn tag_by_slug(&mut self, name: &str) -> rusqlite::Result<Option<i64>> {
        let slug = slug::slugify(name);
        if slug.is_empty() {
            return Ok(None);
        }
        if let Some(id) = self.tags.get(&slug) {
            return Ok(Some(*id));
        }
        self.conn
            .prepare_cached("INSERT INTO tags (name, slug, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![name.trim(), slug, self.now])?;
        let id = self.conn.last_insert_rowid();
        self.tags.insert(slug, id);
        Ok(Some(id))
    }

    /// The `files` row of a media file, inserted or brought up to date.
    pub fn file(&mut self, f: &FileRecord) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO files (filename, original_name, file_path, file_size, mime_type,
                                    uploaded_by, is_public, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
                 ON CONFLICT(file_path) DO UPDATE SET
                    filename = excluded.filename, original_name = excluded.original_name,
                    file_size = excluded.file_size, mime_type = excluded.mime_type
                 WHERE files.filename IS NOT excluded.filename
                    OR files.original_name IS NOT excluded.original_name
                    OR files.file_size IS NOT excluded.file_size
                    OR files.mime_type IS NOT excluded.mime_type",
            )?
            .execute(params![
                f.filename,
                f.original_name,
                f.file_path,
                f.file_size,
                f.mime_type,
                f.uploaded_by,
                self.now
            ])?;
        self.conn
            .prepare_cached("SELECT id FROM files WHERE file_path = ?1")?
            .query_row([&f.file_path], |r| r.get(0))
    }

    /// Inserts a post, or updates `target` when it differs (appending a version that keeps
    /// the previous title, content, excerpt and cover). An unchanged post keeps its
    /// `updated_at`; only its source hash is refreshed.
    pub fn upsert(
        &mut self,
        target: Option<i64>,
        rec: &PostRecord,
        links: Links,
    ) -> Result<Outcome, WriteError> {
        self.upsert_hashed(target, rec, &super::content_hash(&rec.content), links)
    }

    /// `upsert` with `content_hash` = `store::content_hash(&rec.content)` worked out by the
    /// caller: import hashes on its parser threads, so this one writer thread does not.
    pub fn upsert_hashed(
        &mut self,
        target: Option<i64>,
        rec: &PostRecord,
        content_hash: &str,
        links: Links,
    ) -> Result<Outcome, WriteError> {
        debug_assert_eq!(content_hash, super::content_hash(&rec.content));
        let links = links.normalised();
        let Some(id) = target else {
            if self.held.is_none() {
                self.held = Some(super::changes::hold_inserts(self.conn)?);
            }
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO posts ({POST_COLUMNS}, created_at, updated_at, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15,
                             ?16)"
                ))?
                .execute(params![
                    rec.title,
                    rec.subtitle,
                    rec.slug,
                    rec.content,
                    rec.excerpt,
                    rec.cover_image,
                    rec.author_id,
                    rec.status,
                    rec.published_at,
                    rec.modified_at,
                    rec.read_time,
                    rec.extra,
                    rec.source_path,
                    rec.source_hash,
                    self.now,
                    content_hash
                ])?;
            let id = self.conn.last_insert_rowid();
            self.write_links(id, &links, &Links::default())?;
            if let Some(h) = &self.held {
                h.note(self.conn, id)?;
            }
            return Ok(Outcome::New(id));
        };
        let (cur, deleted) = self.current(id)?;
        let cur_links = self.current_links(id)?;
        let same_row = PostRecord {
            source_path: rec.source_path.clone(),
            source_hash: rec.source_hash.clone(),
            ..cur.clone()
        } == *rec;
        if same_row && !deleted && cur_links == links {
            if cur.source_path != rec.source_path || cur.source_hash != rec.source_hash {
                self.conn
                    .prepare_cached(
                        "UPDATE posts SET source_path = ?1, source_hash = ?2 WHERE id = ?3",
                    )?
                    .execute(params![rec.source_path, rec.source_hash, id])?;
            }
            return Ok(Outcome::Unchanged(id));
        }
        if cur.title != rec.title
            || cur.content != rec.content
            || cur.excerpt != rec.excerpt
            || cur.cover_image != rec.cover_image
        {
            self.conn
                .prepare_cached(
                    "INSERT INTO post_versions (post_id, version, title, content, excerpt,
                                                cover_image, status, author_id, created_at)
                     SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2, ?3, ?4, ?5, 'approved', ?6, ?7
                     FROM post_versions WHERE post_id = ?1",
                )?
                .execute(params![
                    id,
                    cur.title,
                    cur.content,
                    cur.excerpt,
                    cur.cover_image,
                    cur.author_id,
                    self.now
                ])?;
        }
        self.conn
            .prepare_cached(
                "UPDATE posts SET title = ?1, subtitle = ?2, slug = ?3, content = ?4, excerpt = ?5,
                    cover_image = ?6, author_id = ?7, status = ?8, published_at = ?9,
                    modified_at = ?10, read_time = ?11, extra = ?12, source_path = ?13,
                    source_hash = ?14, updated_at = ?15, deleted_at = NULL, content_hash = ?17
                 WHERE id = ?16",
            )?
            .execute(params![
                rec.title,
                rec.subtitle,
                rec.slug,
                rec.content,
                rec.excerpt,
                rec.cover_image,
                rec.author_id,
                rec.status,
                rec.published_at,
                rec.modified_at,
                rec.read_time,
                rec.extra,
                rec.source_path,
                rec.source_hash,
                self.now,
                id,
                content_hash
            ])?;
        if cur_links != links {
            self.write_links(id, &links, &cur_links)?;
            if let Some(h) = &self.held {
                h.note(self.conn, id)?;
            }
        }
        Ok(Outcome::Updated(id))
    }

    fn current(&self, id: i64) -> rusqlite::Result<(PostRecord, bool)> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {POST_COLUMNS}, deleted_at IS NOT NULL FROM posts WHERE id = ?1"
            ))?
            .query_row([id], |r| {
                Ok((
                    PostRecord {
                        title: r.get(0)?,
                        subtitle: r.get(1)?,
                        slug: r.get(2)?,
                        content: r.get(3)?,
                        excerpt: r.get(4)?,
                        cover_image: r.get(5)?,
                        author_id: r.get(6)?,
                        status: r.get(7)?,
                        published_at: r.get(8)?,
                        modified_at: r.get(9)?,
                        read_time: r.get(10)?,
                        extra: r.get(11)?,
                        source_path: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                        source_hash: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
                    },
                    r.get(14)?,
                ))
            })
    }

    fn current_links(&self, id: i64) -> rusqlite::Result<Links> {
        let ids = |sql: &str| -> rusqlite::Result<Vec<i64>> {
            self.conn
                .prepare_cached(sql)?
                .query_map([id], |r| r.get(0))?
                .collect()
        };
        Ok(Links {
            categories: ids("SELECT category_id FROM post_categories WHERE post_id = ?1")?,
            tags: ids("SELECT tag_id FROM post_tags WHERE post_id = ?1")?,
            files: ids("SELECT file_id FROM post_files WHERE post_id = ?1")?,
            aliases: self
                .conn
                .prepare_cached("SELECT path FROM post_aliases WHERE post_id = ?1")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
        }
        .normalised())
    }

    fn write_links(&self, id: i64, new: &Links, old: &Links) -> Result<(), WriteError> {
        let c = self.conn;
        if new.categories != old.categories {
            if !old.categories.is_empty() {
                c.prepare_cached("DELETE FROM post_categories WHERE post_id = ?1")?
                    .execute([id])?;
            }
            let mut ins = c.prepare_cached(
                "INSERT INTO post_categories (post_id, category_id) VALUES (?1, ?2)",
            )?;
            for cat in &new.categories {
                ins.execute([id, *cat])?;
            }
        }
        if new.tags != old.tags {
            if !old.tags.is_empty() {
                c.prepare_cached("DELETE FROM post_tags WHERE post_id = ?1")?
                    .execute([id])?;
            }
            let mut ins =
                c.prepare_cached("INSERT INTO post_tags (post_id, tag_id) VALUES (?1, ?2)")?;
            for tag in &new.tags {
                ins.execute([id, *tag])?;
            }
        }
        if new.files != old.files {
            if !old.files.is_empty() {
                c.prepare_cached("DELETE FROM post_files WHERE post_id = ?1")?
                    .execute([id])?;
            }
            let mut ins =
                c.prepare_cached("INSERT INTO post_files (post_id, file_id) VALUES (?1, ?2)")?;
            for f in &new.files {
                ins.execute([id, *f])?;
            }
        }
        if new.aliases != old.aliases {
            for path in &new.aliases {
                let other: Option<(i64, String)> = c
                    .prepare_cached(
                        "SELECT p.id, p.slug FROM post_aliases a JOIN posts p ON p.id = a.post_id
                         WHERE a.path = ?1",
                    )?
                    .query_row([path], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                if let Some((other_id, other)) = other {
                    if other_id != id {
                        return Err(WriteError::AliasTaken {
                            path: path.clone(),
                            other,
                        });
                    }
                }
            }
            if !old.aliases.is_empty() {
                c.prepare_cached("DELETE FROM post_aliases WHERE post_id = ?1")?
                    .execute([id])?;
            }
            let mut ins =
                c.prepare_cached("INSERT INTO post_aliases (post_id, path) VALUES (?1, ?2)")?;
            for path in &new.aliases {
                ins.execute(params![id, path])?;
            }
        }
        Ok(())
    }

    /// Marks a post whose source file is gone deleted (kept in the store, hidden from the
    /// site). Its source hash is cleared so the file, should it come back, is read again and
    /// restores the post. False when the post already was deleted.
    pub fn soft_delete(&self, id: i64) -> rusqlite::Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE posts SET deleted_at = ?1, updated_at = ?1, source_hash = NULL
                 WHERE id = ?2 AND deleted_at IS NULL",
            )?
            .execute(params![self.now, id])?;
        Ok(n > 0)
    }

    /// The one audit row of an import; `counts` is a JSON object.
    pub fn audit(&self, counts: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_logs (action, resource_type, new_values, created_at)
                 VALUES ('import', 'post', ?1, ?2)",
            )?
            .execute(params![counts, self.now])?;
        Ok(())
    }
}
