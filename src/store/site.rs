//! The build's read of the store: one read transaction that loads everything a site shows.
//!
//! Rows come back as plain structs; `snapshot` resolves them (tree, indexes, URLs).

use rusqlite::{params, Connection};

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
    pub content: String,
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

/// Loads the site in one read transaction, so a concurrent writer never shows half a change.
pub fn load_site(conn: &Connection, q: &SiteQuery) -> rusqlite::Result<SiteRows> {
    let tx = conn.unchecked_transaction()?;
    let rows = read_all(&tx, q)?;
    tx.commit()?;
    Ok(rows)
}

fn read_all(tx: &Connection, q: &SiteQuery) -> rusqlite::Result<SiteRows> {
    let p = params![q.now, q.drafts];
    let mut rows = SiteRows::default();

    let mut stmt = tx.prepare(&format!(
        "SELECT id, title, subtitle, slug, content, excerpt, cover_image, author_id, status,
                published_at, created_at, modified_at, updated_at, read_time, extra
         FROM posts WHERE {SELECTED} ORDER BY id"
    ))?;
    rows.posts = stmt
        .query_map(p, |r| {
            Ok(PostRow {
                id: r.get(0)?,
                title: r.get(1)?,
                subtitle: r.get(2)?,
                slug: r.get(3)?,
                content: r.get(4)?,
                excerpt: r.get(5)?,
                cover_image: r.get(6)?,
                author_id: r.get(7)?,
                status: r.get(8)?,
                published_at: r.get(9)?,
                created_at: r.get(10)?,
                modified_at: r.get(11)?,
                updated_at: r.get(12)?,
                read_time: r.get(13)?,
                extra: r.get(14)?,
            })
        })?
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

    let pairs = |sql: &str| -> rusqlite::Result<Vec<(i64, i64)>> {
        let mut stmt = tx.prepare(sql)?;
        let v = stmt
            .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(v)
    };
    rows.post_categories = pairs(&format!(
        "SELECT post_id, category_id FROM post_categories
         WHERE post_id IN (SELECT id FROM posts WHERE {SELECTED}) ORDER BY post_id, category_id"
    ))?;
    rows.post_tags = pairs(&format!(
        "SELECT post_id, tag_id FROM post_tags
         WHERE post_id IN (SELECT id FROM posts WHERE {SELECTED}) ORDER BY post_id, tag_id"
    ))?;

    let mut stmt = tx.prepare(&format!(
        "SELECT post_id, path FROM post_aliases
         WHERE post_id IN (SELECT id FROM posts WHERE {SELECTED}) ORDER BY path"
    ))?;
    rows.aliases = stmt
        .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare(&format!(
        "SELECT pf.post_id, f.filename, f.file_path FROM post_files pf
         JOIN files f ON f.id = pf.file_id
         WHERE pf.post_id IN (SELECT id FROM posts WHERE {SELECTED})
         ORDER BY pf.post_id, f.filename"
    ))?;
    rows.files = stmt
        .query_map(p, |r| {
            Ok(FileRow {
                post_id: r.get(0)?,
                filename: r.get(1)?,
                file_path: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;

    Ok(rows)
}
