//! The one post writer: `Writer::save` writes a post's `PostFields` (its row, category paths,
//! tags, aliases and media links), for import and the content commands alike. The category
//! path and tag resolvers, the user an author names, media rows and the import's audit row
//! are here too. The caller owns the transaction; `Writer` holds caches of the small tables
//! so a large import does one statement per row it really writes.
//!
//! `ImportTx` is import's write transaction, so import never handles the connection.

use std::collections::{HashMap, HashSet};

use rusqlite::types::ToSql;
use rusqlite::{
    params, params_from_iter, Connection, OptionalExtension, Transaction, TransactionBehavior,
};

use super::content::{audit, versions};
use super::Store;
use crate::model::{CategoryPath, PostFields, PostKind, PostStatus, Timestamp, VersionStatus};

/// What import needs to know about every post before it writes (loaded once): enough to
/// tell its file and its URL.
#[derive(Debug, Clone)]
pub struct IndexedPost {
    pub id: i64,
    pub slug: String,
    pub title: String,
    /// Its own URL path or pattern (`posts.path`).
    pub path: Option<String>,
    /// `published_at`, or `created_at` when it has none.
    pub date: Timestamp,
    /// Its categories as paths of names from the root (when [`ImportTx::index`] was asked
    /// for them).
    pub categories: Vec<Vec<String>>,
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
    pub status: PostStatus,
    pub kind: PostKind,
    /// Its section's path (`posts.section`).
    pub section: Option<String>,
    pub deleted: bool,
}

/// An import's write transaction (taken at once: `BEGIN IMMEDIATE`). Dropped without
/// `commit`, it rolls back.
pub struct ImportTx<'s> {
    tx: Transaction<'s>,
}

impl<'s> ImportTx<'s> {
    pub fn begin(store: &'s mut Store) -> rusqlite::Result<ImportTx<'s>> {
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(ImportTx { tx })
    }

    /// Every post, deleted ones included; the category paths only of the posts `categories`
    /// accepts (the others' are left empty).
    pub fn index(
        &self,
        categories: impl Fn(&IndexedPost) -> bool,
    ) -> rusqlite::Result<Vec<IndexedPost>> {
        index(&self.tx, categories)
    }

    /// A writer that holds off the change log's insert triggers (see `Writer::bulk`).
    pub fn writer(&self, now: Timestamp) -> rusqlite::Result<Writer<'_>> {
        Writer::bulk(&self.tx, now)
    }

    pub fn commit(self) -> rusqlite::Result<()> {
        self.tx.commit()
    }

    pub fn rollback(self) -> rusqlite::Result<()> {
        self.tx.rollback()
    }
}

/// Puts back the change log's triggers a bulk writer held off, once its transaction is over
/// (see `store::changes::HeldInserts::restore`).
pub fn restore_held(store: &Store, held: super::changes::HeldInserts) -> rusqlite::Result<()> {
    held.restore(&store.conn)
}

/// Whether a post that is not deleted came from a file under `scope` (a source path prefix).
pub fn any_live_from(store: &Store, scope: &str) -> rusqlite::Result<bool> {
    let conn = &store.conn;
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

fn index(
    conn: &Connection,
    wanted: impl Fn(&IndexedPost) -> bool,
) -> rusqlite::Result<Vec<IndexedPost>> {
    let mut stmt = conn.prepare(
        "SELECT id, slug, source_path, source_hash, status, deleted_at IS NOT NULL, title, path,
                COALESCE(published_at, created_at), kind, section
         FROM posts ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(IndexedPost {
            id: r.get(0)?,
            slug: r.get(1)?,
            source_path: r.get(2)?,
            source_hash: r.get(3)?,
            status: r.get(4)?,
            deleted: r.get(5)?,
            title: r.get(6)?,
            path: r.get(7)?,
            date: r.get(8)?,
            kind: r.get(9)?,
            section: r.get(10)?,
            categories: Vec::new(),
        })
    })?;
    let mut posts: Vec<IndexedPost> = rows.collect::<rusqlite::Result<_>>()?;
    // Category paths: each category's names from the root, then each post's links.
    let mut stmt = conn.prepare("SELECT id, name, parent_id FROM categories")?;
    let cats: HashMap<i64, (String, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    let trail = |mut at: Option<i64>| {
        let mut names = Vec::new();
        let mut seen = HashSet::new();
        while let Some(id) = at.filter(|id| seen.insert(*id)) {
            let Some((name, parent)) = cats.get(&id) else {
                break;
            };
            names.push(name.clone());
            at = *parent;
        }
        names.reverse();
        names
    };
    let mut stmt = conn.prepare("SELECT post_id, category_id FROM post_categories")?;
    let links = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for link in links {
        let (post, cat) = link?;
        if let Ok(i) = posts.binary_search_by_key(&post, |p| p.id) {
            if wanted(&posts[i]) {
                posts[i].categories.push(trail(Some(cat)));
            }
        }
    }
    Ok(posts)
}

/// One post to write: its fields and what the store keeps beside them.
#[derive(Debug, Clone)]
pub struct Save<'a> {
    /// The post to update, or `None` for a new one.
    pub target: Option<i64>,
    pub fields: &'a PostFields,
    /// The user `fields.authors` resolved to (see `Writer::author`).
    pub author_id: Option<i64>,
    /// The file the post comes from (`posts.source_path`), and the SHA-256 of its bytes.
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
    /// `store::content_hash(&fields.content)`: import works it out on its parser threads.
    pub content_hash: String,
    /// The post's media (`files` ids); `None` keeps the links it has.
    pub files: Option<Vec<i64>>,
    pub history: History,
}

/// What a save records in `post_versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// When the title, body, excerpt or cover change, a version keeps the previous ones
    /// (approved: it was the post). What import does.
    KeepPrevious,
    /// Nothing: the caller records versions (`versions::record`), as the commands do.
    Caller,
}

/// A post's rows in the link tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Links {
    categories: Vec<i64>,
    tags: Vec<i64>,
    aliases: Vec<String>,
    files: Vec<i64>,
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

impl Outcome {
    /// The post's id.
    pub fn id(self) -> i64 {
        match self {
            Outcome::New(id) | Outcome::Updated(id) | Outcome::Unchanged(id) => id,
        }
    }
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
    now: Timestamp,
    users: Vec<User>,
    /// (parent, slug of the name) → (id, slug).
    categories: HashMap<(Option<i64>, String), (i64, String)>,
    category_slugs: HashSet<String>,
    tags: HashMap<String, i64>,
    /// Names as written → ids, so a name met again is not slugified again.
    category_paths: HashMap<CategoryPath, Option<i64>>,
    tag_names: HashMap<String, Option<i64>>,
    /// Sections known to exist (written or ensured by this writer).
    sections: HashSet<String>,
    /// Whether to hold off the change log's insert triggers (`bulk`).
    hold: bool,
    /// The change log's per-row insert triggers, held off from the first new post on (see
    /// `store::changes`): this writer logs the posts they would have logged.
    held: Option<super::changes::HeldInserts>,
    /// The webhooks a post's publication or update is queued for (see `store::webhooks`).
    hooks: super::webhooks::Subscribers,
    sql: Statements,
}

/// The columns of `posts` a `PostFields` fills, in the order `read_fields` reads them, then
/// the ones `Writer::save` writes beside them.
const FIELD_COLUMNS: [&str; 14] = [
    "title",
    "subtitle",
    "slug",
    "content",
    "excerpt",
    "cover_image",
    "status",
    "published_at",
    "modified_at",
    "read_time",
    "extra",
    "path",
    "kind",
    "section",
];
const SAVED_COLUMNS: [&str; 3] = ["author_id", "source_path", "source_hash"];

/// `p.title, p.subtitle, …`: the field columns of `posts` named `alias`, for a `SELECT` whose
/// rows `read_fields` reads.
pub(crate) fn field_columns(alias: &str) -> String {
    FIELD_COLUMNS.map(|c| format!("{alias}.{c}")).join(", ")
}

/// A post's fields from the columns `field_columns` lists, from column `at` on; categories,
/// tags, authors and aliases are left empty (they live in other tables).
pub(crate) fn read_fields(r: &rusqlite::Row, at: usize) -> rusqlite::Result<PostFields> {
    let extra: String = r.get(at + 10)?;
    Ok(PostFields {
        title: r.get(at)?,
        subtitle: r.get(at + 1)?,
        slug: r.get(at + 2)?,
        content: r.get(at + 3)?,
        excerpt: r.get(at + 4)?,
        cover_image: r.get(at + 5)?,
        status: r.get(at + 6)?,
        published_at: r.get(at + 7)?,
        modified_at: r.get(at + 8)?,
        read_time: r.get(at + 9)?,
        extra: serde_json::from_str(&extra).unwrap_or_default(),
        path: r.get(at + 11)?,
        kind: r.get(at + 12)?,
        section: r.get(at + 13)?,
        ..PostFields::default()
    })
}

/// The values of `FIELD_COLUMNS` and `SAVED_COLUMNS`, in that order.
fn saved_values<'v>(save: &'v Save, extra: &'v dyn ToSql) -> [&'v dyn ToSql; 17] {
    let f = save.fields;
    [
        &f.title,
        &f.subtitle,
        &f.slug,
        &f.content,
        &f.excerpt,
        &f.cover_image,
        &f.status,
        &f.published_at,
        &f.modified_at,
        &f.read_time,
        extra,
        &f.path,
        &f.kind,
        &f.section,
        &save.author_id,
        &save.source_path,
        &save.source_hash,
    ]
}

/// The SQL of a `Writer`, made once.
struct Statements {
    /// The saved columns are `?1` to `?17`, then `?18` the time, `?19` the content hash.
    insert: String,
    /// As `insert`, and `?20` the id.
    update: String,
    /// The saved columns of post `?1`, and whether it is deleted.
    select: String,
}

fn post_statements() -> Statements {
    let columns: Vec<&str> = FIELD_COLUMNS
        .iter()
        .chain(&SAVED_COLUMNS)
        .copied()
        .collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let insert = format!(
        "INSERT INTO posts ({}, created_at, updated_at, content_hash) VALUES ({}, ?18, ?18, ?19)",
        columns.join(", "),
        marks.join(", ")
    );
    let sets: Vec<String> = columns
        .iter()
        .zip(&marks)
        .map(|(c, m)| format!("{c} = {m}"))
        .collect();
    let update = format!(
        "UPDATE posts SET {}, updated_at = ?18, content_hash = ?19, deleted_at = NULL WHERE id = ?20",
        sets.join(", ")
    );
    let select = format!(
        "SELECT {}, p.{}, p.deleted_at IS NOT NULL FROM posts p WHERE p.id = ?1",
        field_columns("p"),
        SAVED_COLUMNS.join(", p.")
    );
    Statements {
        insert,
        update,
        select,
    }
}

/// A post's row as `Writer::save` compares it.
struct Row {
    fields: PostFields,
    author_id: Option<i64>,
    source_path: Option<String>,
    source_hash: Option<String>,
    deleted: bool,
}

impl<'c> Writer<'c> {
    /// A writer for many posts, as import uses it: from its first new post on, it holds the
    /// change log's insert triggers off (see `finish`).
    pub fn bulk(conn: &'c Connection, now: Timestamp) -> rusqlite::Result<Writer<'c>> {
        let mut w = Writer::new(conn, now)?;
        w.hold = true;
        Ok(w)
    }

    /// Loads users, categories and tags; `now` stamps every row written.
    pub fn new(conn: &'c Connection, now: Timestamp) -> rusqlite::Result<Writer<'c>> {
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
            now,
            users,
            categories,
            category_slugs,
            tags,
            category_paths: HashMap::new(),
            tag_names: HashMap::new(),
            sections: HashSet::new(),
            hold: false,
            held: None,
            hooks: super::webhooks::Subscribers::load(conn)?,
            sql: post_statements(),
        })
    }

    /// Writes a section (from its `_index.md`).
    pub fn section(
        &mut self,
        s: &super::sections::Section,
    ) -> rusqlite::Result<super::sections::Written> {
        let w = super::sections::upsert(self.conn, s, self.now)?;
        self.sections.insert(s.path.clone());
        Ok(w)
    }

    /// Deletes the sections imported from under `scope` whose `_index.md` is not in `present`
    /// (see `sections::delete_gone`).
    pub fn delete_sections_gone(
        &self,
        scope: &str,
        present: &HashSet<&str>,
    ) -> rusqlite::Result<Vec<String>> {
        super::sections::delete_gone(self.conn, scope, present)
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
    pub fn category(&mut self, path: &CategoryPath) -> rusqlite::Result<Option<i64>> {
        if let Some(id) = self.category_paths.get(path) {
            return Ok(*id);
        }
        let id = self.category_by_slugs(path.names())?;
        self.category_paths.insert(path.clone(), id);
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

    /// The link rows `fields` name: category paths and tags resolved (created when new).
    fn links(&mut self, save: &Save) -> rusqlite::Result<Links> {
        let mut links = Links {
            aliases: save.fields.aliases.clone(),
            files: save.files.clone().unwrap_or_default(),
            ..Links::default()
        };
        for path in &save.fields.categories {
            links.categories.extend(self.category(path)?);
        }
        for t in &save.fields.tags {
            links.tags.extend(self.tag(t)?);
        }
        Ok(links.normalised())
    }

    /// Inserts a post, or updates `target` when it differs (recording versions as
    /// `save.history` says). An unchanged post keeps its `updated_at`; only its source is
    /// refreshed.
    pub fn save(&mut self, save: &Save) -> Result<Outcome, WriteError> {
        let f = save.fields;
        debug_assert_eq!(save.content_hash, super::content_hash(&f.content));
        let mut links = self.links(save)?;
        if let Some(section) = &f.section {
            if !self.sections.contains(section) {
                super::sections::ensure(self.conn, section, self.now)?;
                self.sections.insert(section.clone());
            }
        }
        let extra = serde_json::to_string(&f.extra)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let Some(id) = save.target else {
            if self.hold && self.held.is_none() {
                self.held = Some(super::changes::hold_inserts(self.conn)?);
            }
            let values = saved_values(save, &extra);
            let more: [&dyn ToSql; 2] = [&self.now, &save.content_hash];
            self.conn
                .prepare_cached(&self.sql.insert)?
                .execute(params_from_iter(values.iter().chain(&more)))?;
            let id = self.conn.last_insert_rowid();
            self.write_links(id, &links, &Links::default())?;
            if let Some(h) = &self.held {
                h.note(self.conn, id)?;
            }
            self.queue_event(id, None, f)?;
            return Ok(Outcome::New(id));
        };
        let mut cur = self.current(id)?;
        let mut cur_links = self.current_links(id)?;
        if save.files.is_none() {
            links.files = cur_links.files.clone();
        }
        // The link fields are compared as rows (`Links`), the rest here.
        let cur_fields = PostFields {
            categories: f.categories.clone(),
            tags: f.tags.clone(),
            authors: f.authors.clone(),
            aliases: f.aliases.clone(),
            ..std::mem::take(&mut cur.fields)
        };
        let same_row = cur_fields == *f && cur.author_id == save.author_id;
        if same_row && !cur.deleted && cur_links == links {
            if cur.source_path != save.source_path || cur.source_hash != save.source_hash {
                self.conn
                    .prepare_cached(
                        "UPDATE posts SET source_path = ?1, source_hash = ?2 WHERE id = ?3",
                    )?
                    .execute(params![save.source_path, save.source_hash, id])?;
            }
            return Ok(Outcome::Unchanged(id));
        }
        let before = (!cur.deleted).then_some((
            cur_fields.status,
            cur_fields.title.as_str(),
            cur_fields.content.as_str(),
        ));
        self.queue_event(id, before, f)?;
        if save.history == History::KeepPrevious
            && (cur_fields.title != f.title
                || cur_fields.content != f.content
                || cur_fields.excerpt != f.excerpt
                || cur_fields.cover_image != f.cover_image)
        {
            let kept = versions::State::from(cur_fields);
            versions::append(
                self.conn,
                id,
                &kept,
                VersionStatus::Approved,
                cur.author_id,
                self.now,
            )?;
        }
        let values = saved_values(save, &extra);
        let more: [&dyn ToSql; 3] = [&self.now, &save.content_hash, &id];
        self.conn
            .prepare_cached(&self.sql.update)?
            .execute(params_from_iter(values.iter().chain(&more)))?;
        if cur_links != links {
            self.write_links(id, &links, &std::mem::take(&mut cur_links))?;
            if let Some(h) = &self.held {
                h.note(self.conn, id)?;
            }
        }
        Ok(Outcome::Updated(id))
    }

    /// Queues the webhook event the write of `f` over `before` (status, title, markdown of a
    /// live post) causes, if any, in this transaction.
    fn queue_event(
        &self,
        id: i64,
        before: Option<(PostStatus, &str, &str)>,
        f: &PostFields,
    ) -> rusqlite::Result<()> {
        let after = (f.status, f.title.as_str(), f.content.as_str());
        if let Some(event) = super::webhooks::post_event(before, after) {
            let p = super::webhooks::PostEvent {
                id,
                slug: &f.slug,
                title: &f.title,
                status: f.status,
                published_at: f.published_at,
            };
            self.hooks.queue_post(self.conn, event, &p, self.now)?;
        }
        Ok(())
    }

    fn current(&self, id: i64) -> rusqlite::Result<Row> {
        self.conn
            .prepare_cached(&self.sql.select)?
            .query_row([id], |r| {
                Ok(Row {
                    fields: read_fields(r, 0)?,
                    author_id: r.get(14)?,
                    source_path: r.get(15)?,
                    source_hash: r.get(16)?,
                    deleted: r.get(17)?,
                })
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
        // (delete, insert, new ids, old ids) of each link table.
        let tables: [(&str, &str, &Vec<i64>, &Vec<i64>); 3] = [
            (
                "DELETE FROM post_categories WHERE post_id = ?1",
                "INSERT INTO post_categories (post_id, category_id) VALUES (?1, ?2)",
                &new.categories,
                &old.categories,
            ),
            (
                "DELETE FROM post_tags WHERE post_id = ?1",
                "INSERT INTO post_tags (post_id, tag_id) VALUES (?1, ?2)",
                &new.tags,
                &old.tags,
            ),
            (
                "DELETE FROM post_files WHERE post_id = ?1",
                "INSERT INTO post_files (post_id, file_id) VALUES (?1, ?2)",
                &new.files,
                &old.files,
            ),
        ];
        for (delete, insert, new, old) in tables {
            if new == old {
                continue;
            }
            if !old.is_empty() {
                c.prepare_cached(delete)?.execute([id])?;
            }
            let mut ins = c.prepare_cached(insert)?;
            for linked in new {
                ins.execute([id, *linked])?;
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

    /// The one audit row of an import (no user: the files did it); `counts` is a JSON
    /// object.
    pub fn audit(&self, counts: &serde_json::Value) -> rusqlite::Result<()> {
        audit::append(
            self.conn,
            &audit::NewEntry {
                user_id: None,
                action: "import",
                resource_type: "post",
                resource_id: None,
                old_values: None,
                new_values: Some(counts),
                at: self.now,
                client: None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2024-06-01 12:00:00";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        (dir, store)
    }

    fn fields(title: &str, categories: &[&str], tags: &[&str]) -> PostFields {
        PostFields {
            title: title.to_string(),
            slug: "post".to_string(),
            content: format!("{title} body"),
            status: PostStatus::Published,
            published_at: Some("2024-05-01 08:00:00".parse::<Timestamp>().unwrap()),
            categories: categories.iter().map(|c| CategoryPath::from(*c)).collect(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..PostFields::default()
        }
    }

    fn save(target: Option<i64>, fields: &PostFields, history: History) -> Save<'_> {
        Save {
            target,
            fields,
            author_id: None,
            source_path: None,
            source_hash: None,
            content_hash: crate::store::content_hash(&fields.content),
            files: None,
            history,
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_saved_post_reads_back_typed() {
        let (_d, mut s) = store();
        let mut w = Writer::new(&s.conn, now()).unwrap();
        let f = fields("One", &["Tech/Rust"], &["Intro"]);
        let id = w.save(&save(None, &f, History::Caller)).unwrap().id();
        drop(w);
        let back = s
            .read(|tx| crate::store::content::posts::load(tx, id))
            .unwrap();
        assert_eq!(back.fields.status, PostStatus::Published);
        assert_eq!(back.fields.published_at, f.published_at);
        assert_eq!(back.fields.categories, f.categories);
        assert_eq!(back.fields.tags, f.tags);
        assert_eq!(back.created_at.to_string(), NOW);
    }

    #[test]
    fn one_resolver_matches_category_paths_and_tags_by_slug() {
        let (_d, s) = store();
        let mut w = Writer::new(&s.conn, now()).unwrap();
        let a = w.category(&CategoryPath::from("Tech/Rust")).unwrap();
        let b = w.category(&CategoryPath::from("tech / RUST")).unwrap();
        assert_eq!(a, b);
        // A second `Rust` under another parent takes `parent-own`.
        w.category(&CategoryPath::from("Games/Rust")).unwrap();
        let slugs: Vec<String> = s
            .conn
            .prepare("SELECT slug FROM categories ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(slugs, ["tech", "rust", "games", "games-rust"]);
        assert_eq!(w.tag("C Sharp").unwrap(), w.tag("c-sharp").unwrap());
        assert_eq!(w.tag("!!!").unwrap(), None);
    }

    #[test]
    fn history_says_who_records_versions() {
        let (_d, s) = store();
        let mut w = Writer::new(&s.conn, now()).unwrap();
        let id = w
            .save(&save(None, &fields("One", &[], &[]), History::Caller))
            .unwrap()
            .id();
        let edited = fields("Two", &[], &[]);
        let o = w.save(&save(Some(id), &edited, History::Caller)).unwrap();
        assert_eq!(o, Outcome::Updated(id));
        assert_eq!(count(&s.conn, "SELECT COUNT(*) FROM post_versions"), 0);
        let again = fields("Three", &[], &[]);
        w.save(&save(Some(id), &again, History::KeepPrevious))
            .unwrap();
        let (title, status): (String, VersionStatus) = s
            .conn
            .query_row("SELECT title, status FROM post_versions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((title.as_str(), status), ("Two", VersionStatus::Approved));
        // The same fields again change nothing, and keep the media links they do not name.
        s.conn
            .execute_batch(
                "INSERT INTO files (id, filename, original_name, file_path, file_size, mime_type)
                 VALUES (1, 'a.png', 'a.png', 'media/a.png', 1, 'image/png');
                 INSERT INTO post_files (post_id, file_id) VALUES (1, 1);",
            )
            .unwrap();
        let o = w.save(&save(Some(id), &again, History::Caller)).unwrap();
        assert_eq!(o, Outcome::Unchanged(id));
        assert_eq!(count(&s.conn, "SELECT COUNT(*) FROM post_files"), 1);
    }
}
