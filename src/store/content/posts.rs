//! Posts: finding, listing, creating, changing status, soft delete and purge.

use anyhow::{bail, Context, Result};
use rusqlite::{params, OptionalExtension};

use super::{taxonomy, ContentError};
use crate::model::PostStatus;
use crate::store::Tx;

/// A post's author as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// A media file of a post (`files` via `post_files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFile {
    pub filename: String,
    pub original_name: String,
    /// Relative to the site root (`media/slug/photo.jpg`).
    pub file_path: String,
    pub file_size: i64,
    pub mime_type: String,
}

/// Everything the store holds about one post.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: i64,
    pub title: String,
    pub subtitle: Option<String>,
    pub slug: String,
    pub content: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    pub author: Option<Author>,
    pub status: PostStatus,
    pub published_at: Option<String>,
    pub modified_at: Option<String>,
    pub view_count: i64,
    pub read_time: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub aliases: Vec<String>,
    pub files: Vec<PostFile>,
}

/// One line of `post list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub status: PostStatus,
    pub published_at: Option<String>,
    pub views: i64,
    pub deleted_at: Option<String>,
}

/// What `post list` filters on; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A status, or `scheduled` (published with a future date).
    pub status: Option<String>,
    pub tag: Option<i64>,
    /// A category id; its descendants count too.
    pub category: Option<i64>,
    pub author: Option<i64>,
    /// Only soft-deleted posts (otherwise they are hidden).
    pub deleted: bool,
}

fn parse_status(s: String) -> rusqlite::Result<PostStatus> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

/// Posts matching a filter, newest first (by published date, then creation).
pub fn list(conn: &Tx, f: &Filter, now: &str) -> Result<Vec<Summary>> {
    let (status, scheduled) = match f.status.as_deref() {
        Some("scheduled") => (Some("published".to_string()), true),
        Some(s) => {
            let st: PostStatus = s.parse().map_err(anyhow::Error::msg)?;
            (Some(st.as_str().to_string()), false)
        }
        None => (None, false),
    };
    let mut stmt = conn.prepare(
        "WITH RECURSIVE under(id) AS (
             SELECT ?4 WHERE ?4 IS NOT NULL
             UNION SELECT c.id FROM categories c JOIN under u ON c.parent_id = u.id)
         SELECT p.id, p.slug, p.title, p.status, p.published_at,
                MAX(p.view_count, COALESCE(s.view_count, 0)), p.deleted_at
         FROM posts p LEFT JOIN post_statistics s ON s.post_id = p.id
         WHERE (?1 IS NULL OR p.status = ?1)
           AND (?2 = 0 OR p.published_at > ?7)
           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag_id = ?3))
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM post_categories pc JOIN under ON under.id = pc.category_id WHERE pc.post_id = p.id))
           AND (?5 IS NULL OR p.author_id = ?5)
           AND ((?6 = 1) = (p.deleted_at IS NOT NULL))
         ORDER BY COALESCE(p.published_at, p.created_at) DESC, p.id DESC",
    )?;
    let rows = stmt.query_map(
        params![status, scheduled, f.tag, f.category, f.author, f.deleted, now],
        |r| {
            Ok(Summary {
                id: r.get(0)?,
                slug: r.get(1)?,
                title: r.get(2)?,
                status: parse_status(r.get(3)?)?,
                published_at: r.get(4)?,
                views: r.get(5)?,
                deleted_at: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The id of the post with this slug (deleted ones included), or a typed error.
pub fn id_of(conn: &Tx, slug: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM posts WHERE slug = ?1", [slug.trim()], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| ContentError::NoPost(slug.to_string()).into())
}

/// Every post id (deleted ones too when asked), oldest first.
pub fn all_ids(conn: &Tx, with_deleted: bool) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM posts WHERE ?1 OR deleted_at IS NULL ORDER BY COALESCE(published_at, created_at), id",
    )?;
    let ids = stmt
        .query_map([with_deleted], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Loads a post with its author, categories, tags, aliases and media.
pub fn load(conn: &Tx, id: i64) -> Result<Post> {
    let mut post = conn
        .query_row(
            "SELECT p.id, p.title, p.subtitle, p.slug, p.content, p.excerpt, p.cover_image,
                    u.id, u.name, u.email, p.status, p.published_at, p.modified_at,
                    MAX(p.view_count, COALESCE(s.view_count, 0)), p.read_time, p.created_at,
                    p.updated_at, p.deleted_at, p.extra, p.source_path, p.source_hash
             FROM posts p LEFT JOIN users u ON u.id = p.author_id
                          LEFT JOIN post_statistics s ON s.post_id = p.id
             WHERE p.id = ?1",
            [id],
            |r| {
                let author = match r.get::<_, Option<i64>>(7)? {
                    Some(id) => Some(Author {
                        id,
                        name: r.get(8)?,
                        email: r.get(9)?,
                    }),
                    None => None,
                };
                let extra: String = r.get(18)?;
                Ok(Post {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    subtitle: r.get(2)?,
                    slug: r.get(3)?,
                    content: r.get(4)?,
                    excerpt: r.get(5)?,
                    cover_image: r.get(6)?,
                    author,
                    status: parse_status(r.get(10)?)?,
                    published_at: r.get(11)?,
                    modified_at: r.get(12)?,
                    view_count: r.get(13)?,
                    read_time: r.get(14)?,
                    created_at: r.get(15)?,
                    updated_at: r.get(16)?,
                    deleted_at: r.get(17)?,
                    extra: serde_json::from_str(&extra).unwrap_or_default(),
                    source_path: r.get(19)?,
                    source_hash: r.get(20)?,
                    categories: Vec::new(),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                    files: Vec::new(),
                })
            },
        )
        .with_context(|| format!("loading post {id}"))?;
    post.categories = taxonomy::post_category_paths(conn, id)?;
    post.tags = taxonomy::post_tag_names(conn, id)?;
    let mut stmt =
        conn.prepare("SELECT path FROM post_aliases WHERE post_id = ?1 ORDER BY path")?;
    post.aliases = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT f.filename, f.original_name, f.file_path, f.file_size, f.mime_type
         FROM post_files pf JOIN files f ON f.id = pf.file_id WHERE pf.post_id = ?1 ORDER BY f.file_path",
    )?;
    post.files = stmt
        .query_map([id], |r| {
            Ok(PostFile {
                filename: r.get(0)?,
                original_name: r.get(1)?,
                file_path: r.get(2)?,
                file_size: r.get(3)?,
                mime_type: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(post)
}

/// A post by slug.
pub fn by_slug(conn: &Tx, slug: &str) -> Result<Post> {
    load(conn, id_of(conn, slug)?)
}

/// A slug from a title that no post has yet.
pub fn free_slug(conn: &Tx, title: &str) -> Result<String> {
    let base = match slug::slugify(title) {
        s if s.is_empty() => "post".to_string(),
        s => s,
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM posts WHERE slug = ?1)",
        [&candidate],
        |r| r.get::<_, bool>(0),
    )? {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Inserts a draft and returns its id.
pub fn insert_draft(
    conn: &Tx,
    title: &str,
    slug: &str,
    content: &str,
    author_id: i64,
    read_time: i64,
) -> Result<i64> {
    let now = crate::store::now_text();
    conn.execute(
        "INSERT INTO posts (title, slug, content, author_id, status, read_time, created_at, updated_at,
                            content_hash)
         VALUES (?1, ?2, ?3, ?4, 'draft', ?5, ?6, ?6, ?7)",
        params![title, slug, content, author_id, read_time, now, crate::store::content_hash(content)],
    )
    .with_context(|| format!("adding the post {slug:?}"))?;
    Ok(conn.last_insert_rowid())
}

/// The editable state of a post: what `post edit` reads back from the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub title: String,
    pub subtitle: Option<String>,
    pub slug: String,
    pub content: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    pub status: PostStatus,
    pub published_at: Option<String>,
    pub modified_at: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub aliases: Vec<String>,
}

impl Edit {
    pub fn of(p: &Post) -> Edit {
        Edit {
            title: p.title.clone(),
            subtitle: p.subtitle.clone(),
            slug: p.slug.clone(),
            content: p.content.clone(),
            excerpt: p.excerpt.clone(),
            cover_image: p.cover_image.clone(),
            status: p.status,
            published_at: p.published_at.clone(),
            modified_at: p.modified_at.clone(),
            extra: p.extra.clone(),
            categories: p.categories.clone(),
            tags: p.tags.clone(),
            aliases: p.aliases.clone(),
        }
    }
}

/// Writes an edited state onto the post (row, categories, tags, aliases). Versions are the
/// caller's: see `versions::record`.
pub fn apply(conn: &Tx, id: i64, e: &Edit, read_time: i64) -> Result<()> {
    if e.title.trim().is_empty() {
        bail!("a post needs a title");
    }
    let slug = e.slug.trim();
    if slug.is_empty() || slug != slug::slugify(slug) {
        bail!("{slug:?} is not a slug: use lowercase letters, digits and hyphens");
    }
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM posts WHERE slug = ?1 AND id <> ?2)",
        params![slug, id],
        |r| r.get(0),
    )?;
    if taken {
        bail!("another post already has the slug {slug:?}");
    }
    conn.execute(
        "UPDATE posts SET title = ?1, subtitle = ?2, slug = ?3, content = ?4, excerpt = ?5,
                cover_image = ?6, status = ?7, published_at = ?8, modified_at = ?9, extra = ?10,
                read_time = ?11, updated_at = ?12, content_hash = ?14
         WHERE id = ?13",
        params![
            e.title.trim(),
            e.subtitle,
            slug,
            e.content,
            e.excerpt,
            e.cover_image,
            e.status.as_str(),
            e.published_at,
            e.modified_at,
            serde_json::Value::Object(e.extra.clone()).to_string(),
            read_time,
            crate::store::now_text(),
            id,
            crate::store::content_hash(&e.content)
        ],
    )?;
    taxonomy::set_post_categories(conn, id, &e.categories)?;
    taxonomy::set_post_tags(conn, id, &e.tags)?;
    set_aliases(conn, id, &e.aliases)?;
    Ok(())
}

/// Replaces a post's aliases; an alias another post has is refused.
pub fn set_aliases(conn: &Tx, id: i64, aliases: &[String]) -> Result<()> {
    conn.execute("DELETE FROM post_aliases WHERE post_id = ?1", [id])?;
    for a in aliases {
        let owner: Option<String> = conn
            .query_row(
                "SELECT p.slug FROM post_aliases a JOIN posts p ON p.id = a.post_id WHERE a.path = ?1",
                [a],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(owner) = owner {
            bail!("the alias {a:?} already belongs to the post {owner:?}");
        }
        conn.execute(
            "INSERT INTO post_aliases (post_id, path) VALUES (?1, ?2)",
            params![id, a],
        )?;
    }
    Ok(())
}

/// Sets status and publication date.
pub fn set_status(
    conn: &Tx,
    id: i64,
    status: PostStatus,
    published_at: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE posts SET status = ?1, published_at = ?2, updated_at = ?3 WHERE id = ?4",
        params![status.as_str(), published_at, crate::store::now_text(), id],
    )?;
    Ok(())
}

/// Soft-deletes (`deleted_at` = now) or restores (`None`) a post.
pub fn set_deleted(conn: &Tx, id: i64, deleted_at: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE posts SET deleted_at = ?1, updated_at = ?2 WHERE id = ?3",
        params![deleted_at, crate::store::now_text(), id],
    )?;
    Ok(())
}

/// Records the file a post lives in (relative to the content folder) and its SHA-256.
pub fn set_source(conn: &Tx, id: i64, path: &str, hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE posts SET source_path = ?1, source_hash = ?2 WHERE id = ?3",
        params![path, hash, id],
    )?;
    Ok(())
}

/// Soft-deleted posts whose `deleted_at` is before `cutoff`: (id, slug, title, deleted_at).
pub fn purgeable(conn: &Tx, cutoff: &str) -> Result<Vec<(i64, String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, slug, title, deleted_at FROM posts
         WHERE deleted_at IS NOT NULL AND deleted_at <= ?1 ORDER BY deleted_at, id",
    )?;
    let rows = stmt
        .query_map([cutoff], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Physically deletes a post; versions, links, views and aliases go with it (cascade), and so
/// do the `files` rows of its media that no other post uses. Returns those files' paths
/// (relative to the site) so the caller can remove their bytes once the transaction commits.
pub fn purge(conn: &Tx, id: i64) -> Result<Vec<String>> {
    let orphans: Vec<(i64, String)> = conn
        .prepare(
            "SELECT f.id, f.file_path FROM post_files pf JOIN files f ON f.id = pf.file_id
             WHERE pf.post_id = ?1
               AND NOT EXISTS (SELECT 1 FROM post_files o
                               WHERE o.file_id = f.id AND o.post_id <> ?1)
             ORDER BY f.file_path",
        )?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    conn.execute("DELETE FROM posts WHERE id = ?1", [id])?;
    let mut delete = conn.prepare("DELETE FROM files WHERE id = ?1")?;
    for (file_id, _) in &orphans {
        delete.execute([file_id])?;
    }
    Ok(orphans.into_iter().map(|(_, path)| path).collect())
}

/// Gives a post another author.
pub fn set_author(conn: &Tx, id: i64, author_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE posts SET author_id = ?1 WHERE id = ?2",
        params![author_id, id],
    )?;
    Ok(())
}

/// A post's view statistics (`post_statistics`), when it has been viewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub desktop_views: i64,
    pub mobile_views: i64,
    pub tablet_views: i64,
    pub last_viewed_at: Option<String>,
}

pub fn stats(conn: &Tx, id: i64) -> Result<Option<Stats>> {
    Ok(conn
        .query_row(
            "SELECT desktop_views, mobile_views, tablet_views, last_viewed_at
             FROM post_statistics WHERE post_id = ?1",
            [id],
            |r| {
                Ok(Stats {
                    desktop_views: r.get(0)?,
                    mobile_views: r.get(1)?,
                    tablet_views: r.get(2)?,
                    last_viewed_at: r.get(3)?,
                })
            },
        )
        .optional()?)
}
