//! The build's read of the store: one read transaction that loads everything a site shows.
//!
//! Rows come back as plain structs; `snapshot` resolves them (tree, indexes, URLs). A post's
//! markdown is read up front only when something derived from it is missing from its row (the
//! content hash, excerpt or read time); the build asks for the rest with
//! [`SiteReader::contents`], in the same transaction, once it knows which pages it must make.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::changes::{self, ChangeMark, Changes};

/// Which posts a build shows.
#[derive(Debug, Clone)]
pub struct SiteQuery {
    /// Also drafts, pending and scheduled (future) posts.
    pub drafts: bool,
    /// Posts published after this UTC instant (`TIMESTAMP_FORMAT`) are scheduled.
    pub now: String,
}

#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: i64,
    pub title: String,
    pub subtitle: Option<String>,
    pub slug: String,
    /// The markdown, when it was read with the row (see [`SiteReader::rows`]).
    pub content: Option<String>,
    /// BLAKE3 (hex) of the markdown: the stored one, or computed from `content` when the row
    /// had none.
    pub content_hash: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    pub author_id: Option<i64>,
    pub status: String,
    pub published_at: Option<String>,
    pub created_at: String,
    pub modified_at: Option<String>,
    pub updated_at: String,
    pub read_time: i64,
    pub extra: String,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub slug: Option<String>,
    pub avatar: Option<String>,
    pub bio: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub post_id: i64,
    pub filename: String,
    pub file_path: String,
}

/// Everything one build reads, consistent as of one moment.
#[derive(Debug, Clone, Default)]
pub struct SiteRows {
    pub posts: Vec<PostRow>,
    pub users: Vec<UserRow>,
    pub categories: Vec<CategoryRow>,
    pub tags: Vec<TagRow>,
    /// (post_id, category_id) of the selected posts.
    pub post_categories: Vec<(i64, i64)>,
    /// (post_id, tag_id) of the selected posts.
    pub post_tags: Vec<(i64, i64)>,
    /// (post_id, path) of the selected posts.
    pub aliases: Vec<(i64, String)>,
    pub files: Vec<FileRow>,
}

/// The posts a build shows: never soft-deleted or archived; published ones only once their
/// date has come, unless drafts are asked for (then drafts, pending and scheduled too).
const SELECTED: &str = "deleted_at IS NULL AND (
        (status = 'published' AND COALESCE(published_at, created_at) <= ?1)
        OR (?2 AND status IN ('draft', 'pending', 'published')))";

/// One read transaction over the store: every read a build makes sees the same moment, so a
/// concurrent writer never shows half a change.
pub struct SiteReader<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl super::Store {
    /// Opens the build's read transaction (see [`SiteReader`]).
    pub fn site_reader(&mut self) -> rusqlite::Result<SiteReader<'_>> {
        SiteReader::begin(&mut self.conn)
    }
}

impl<'c> SiteReader<'c> {
    fn begin(conn: &'c mut Connection) -> rusqlite::Result<SiteReader<'c>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
        Ok(SiteReader { tx })
    }

    /// Where this read stands in the store's change log (see [`changes::mark`]).
    pub fn change_mark(&self) -> rusqlite::Result<ChangeMark> {
        changes::mark(&self.tx)
    }

    /// What changed since an earlier read's mark (see [`changes::since`]).
    pub fn changes_since(
        &self,
        mark: &ChangeMark,
        then: &str,
        now: &str,
        limit: usize,
    ) -> rusqlite::Result<Changes> {
        changes::since(&self.tx, mark, then, now, limit)
    }

    /// Everything the site shows, without the markdown of posts whose derived values (content
    /// hash, excerpt, read time) are all stored.
    pub fn rows(&self, q: &SiteQuery) -> rusqlite::Result<SiteRows> {
        read_all(&self.tx, q)
    }

    /// The rows of these posts the site shows (others are left out), with their links: what
    /// [`SiteReader::rows`] would give for them. Users, categories and tags are not read.
    pub fn rows_of(&self, q: &SiteQuery, ids: &[i64]) -> rusqlite::Result<SiteRows> {
        let mut rows = SiteRows::default();
        let mut stmt = self
            .tx
            .prepare_cached(&format!("{POST_COLUMNS} WHERE id = ?3 AND {SELECTED}"))?;
        for &id in ids {
            if let Some(r) = stmt
                .query_row(params![q.now, q.drafts, id], post_row)
                .optional()?
            {
                rows.posts.push(r);
            }
        }
        let pairs = |sql: &str, id: i64, out: &mut Vec<(i64, i64)>| -> rusqlite::Result<()> {
            let mut stmt = self.tx.prepare_cached(sql)?;
            let mut it = stmt.query([id])?;
            while let Some(r) = it.next()? {
                out.push((r.get(0)?, r.get(1)?));
            }
            Ok(())
        };
        for p in &rows.posts {
            pairs(
                "SELECT post_id, category_id FROM post_categories WHERE post_id = ?1
                 ORDER BY category_id",
                p.id,
                &mut rows.post_categories,
            )?;
            pairs(
                "SELECT post_id, tag_id FROM post_tags WHERE post_id = ?1 ORDER BY tag_id",
                p.id,
                &mut rows.post_tags,
            )?;
            let mut stmt = self.tx.prepare_cached(
                "SELECT post_id, path FROM post_aliases WHERE post_id = ?1 ORDER BY path",
            )?;
            for a in stmt.query_map([p.id], |r| Ok((r.get(0)?, r.get(1)?)))? {
                rows.aliases.push(a?);
            }
            let mut stmt = self.tx.prepare_cached(FILES)?;
            for f in stmt.query_map([p.id], file_row)? {
                rows.files.push(f?);
            }
        }
        Ok(rows)
    }

    /// The markdown of these posts, by id.
    pub fn contents(&self, ids: &[i64]) -> rusqlite::Result<HashMap<i64, String>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT content FROM posts WHERE id = ?1")?;
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            if let Some(c) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.insert(id, c);
            }
        }
        Ok(out)
    }
}

/// A post's columns, `content` only when something derived from it is missing. `content` is
/// the table's last column: the other columns are read without touching the markdown's
/// overflow pages.
const POST_COLUMNS: &str =
    "SELECT id, title, subtitle, slug, excerpt, cover_image, author_id, status,
            published_at, created_at, modified_at, updated_at, read_time, extra, content_hash,
            CASE WHEN content_hash IS NULL OR excerpt IS NULL OR trim(excerpt) = ''
                      OR read_time = 0 THEN content END
     FROM posts";

fn post_row(r: &rusqlite::Row) -> rusqlite::Result<PostRow> {
    let content: Option<String> = r.get(15)?;
    let content_hash = match r.get::<_, Option<String>>(14)? {
        Some(h) => h,
        None => super::content_hash(content.as_deref().unwrap_or_default()),
    };
    Ok(PostRow {
        id: r.get(0)?,
        title: r.get(1)?,
        subtitle: r.get(2)?,
        slug: r.get(3)?,
        content,
        content_hash,
        excerpt: r.get(4)?,
        cover_image: r.get(5)?,
        author_id: r.get(6)?,
        status: r.get(7)?,
        published_at: r.get(8)?,
        created_at: r.get(9)?,
        modified_at: r.get(10)?,
        updated_at: r.get(11)?,
        read_time: r.get(12)?,
        extra: r.get(13)?,
    })
}

/// The media files of posts.
const FILES_ALL: &str = "SELECT pf.post_id, f.filename, f.file_path FROM post_files pf
     JOIN files f ON f.id = pf.file_id";
/// The media files of one post.
const FILES: &str = "SELECT pf.post_id, f.filename, f.file_path FROM post_files pf
     JOIN files f ON f.id = pf.file_id WHERE pf.post_id = ?1 ORDER BY f.filename";

fn file_row(r: &rusqlite::Row) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        post_id: r.get(0)?,
        filename: r.get(1)?,
        file_path: r.get(2)?,
    })
}

fn read_all(tx: &Connection, q: &SiteQuery) -> rusqlite::Result<SiteRows> {
    let p = params![q.now, q.drafts];
    let mut rows = SiteRows::default();

    let mut stmt = tx.prepare(&format!("{POST_COLUMNS} WHERE {SELECTED} ORDER BY id"))?;
    rows.posts = stmt
        .query_map(p, post_row)?
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare("SELECT id, name, slug, avatar, bio FROM users ORDER BY id")?;
    rows.users = stmt
        .query_map([], |r| {
            Ok(UserRow {
                id: r.get(0)?,
                name: r.get(1)?,
                slug: r.get(2)?,
                avatar: r.get(3)?,
                bio: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare(
        "SELECT id, name, slug, description, parent_id FROM categories ORDER BY name, id",
    )?;
    rows.categories = stmt
        .query_map([], |r| {
            Ok(CategoryRow {
                id: r.get(0)?,
                name: r.get(1)?,
                slug: r.get(2)?,
                description: r.get(3)?,
                parent_id: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare("SELECT id, name, slug FROM tags ORDER BY name, id")?;
    rows.tags = stmt
        .query_map([], |r| {
            Ok(TagRow {
                id: r.get(0)?,
                name: r.get(1)?,
                slug: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;

    // The links of every post, kept for the selected ones: one scan of each table in key
    // order, cheaper than asking SQLite to filter them by a subquery on posts.
    let selected: Vec<i64> = rows.posts.iter().map(|p| p.id).collect();
    let shown = |id: i64| selected.binary_search(&id).is_ok();
    let pairs = |sql: &str| -> rusqlite::Result<Vec<(i64, i64)>> {
        let mut stmt = tx.prepare(sql)?;
        let mut v = Vec::new();
        let mut it = stmt.query([])?;
        while let Some(r) = it.next()? {
            let pair: (i64, i64) = (r.get(0)?, r.get(1)?);
            if shown(pair.0) {
                v.push(pair);
            }
        }
        Ok(v)
    };
    rows.post_categories =
        pairs("SELECT post_id, category_id FROM post_categories ORDER BY post_id, category_id")?;
    rows.post_tags = pairs("SELECT post_id, tag_id FROM post_tags ORDER BY post_id, tag_id")?;

    let mut stmt = tx.prepare("SELECT post_id, path FROM post_aliases ORDER BY path")?;
    rows.aliases = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .filter(|r| r.as_ref().map_or(true, |(id, _)| shown(*id)))
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare(&format!("{FILES_ALL} ORDER BY pf.post_id, f.filename"))?;
    rows.files = stmt
        .query_map([], file_row)?
        .filter(|r| r.as_ref().map_or(true, |f| shown(f.post_id)))
        .collect::<rusqlite::Result<_>>()?;

    Ok(rows)
}
