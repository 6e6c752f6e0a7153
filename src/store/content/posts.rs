//! Posts: finding, listing, loading (`StoredPost`), creating and editing (through the one
//! post writer, `store::posts::Writer::save`), changing status, soft delete and purge.

use crate::store::Tx;
use anyhow::{bail, Context, Result};
use rusqlite::{params, OptionalExtension};

use super::{taxonomy, ContentError};
use crate::model::{AuthorRef, PostFields, PostStatus, Timestamp};
use crate::store::posts::{field_columns, read_fields, History, Outcome, Save, WriteError, Writer};

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

/// A post as the store holds it: its editable fields and what the store keeps beside them.
/// It derefs to its `PostFields` (`post.title`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPost {
    pub id: i64,
    /// `fields.authors` holds the author, named as the user is.
    pub fields: PostFields,
    pub author: Option<Author>,
    pub view_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub source_path: Option<String>,
    pub source_hash: Option<String>,
    pub files: Vec<PostFile>,
}

impl std::ops::Deref for StoredPost {
    type Target = PostFields;
    fn deref(&self) -> &PostFields {
        &self.fields
    }
}

/// The name the commands know it by.
pub type Post = StoredPost;

/// One line of `post list`: a listing row, not a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub status: PostStatus,
    pub published_at: Option<Timestamp>,
    pub views: i64,
    pub deleted_at: Option<Timestamp>,
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

/// Posts matching a filter, newest first (by published date, then creation).
pub fn list(conn: &Tx, f: &Filter, now: Timestamp) -> Result<Vec<Summary>> {
    let (status, scheduled) = match f.status.as_deref() {
        Some("scheduled") => (Some(PostStatus::Published), true),
        Some(s) => {
            let st: PostStatus = s.parse().map_err(anyhow::Error::msg)?;
            (Some(st), false)
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
                status: r.get(3)?,
                published_at: r.get(4)?,
                views: r.get(5)?,
                deleted_at: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The id of the post a command names (deleted ones included), or a typed error: `#42` (its
/// id), or its slug when no other post has that slug (two posts may share one when their
/// URLs differ; the error then lists them by id).
pub fn id_of(conn: &Tx, name: &str) -> Result<i64> {
    let name = name.trim();
    if let Some(id) = name.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
        return conn
            .query_row("SELECT id FROM posts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| ContentError::NoPost(name.to_string()).into());
    }
    let mut stmt = conn.prepare(
        "SELECT id, COALESCE(source_path, title) FROM posts WHERE slug = ?1 ORDER BY id",
    )?;
    let found: Vec<(i64, String)> = stmt
        .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    match found.as_slice() {
        [] => Err(ContentError::NoPost(name.to_string()).into()),
        [(id, _)] => Ok(*id),
        [(first, _), ..] => Err(ContentError::AmbiguousSlug {
            slug: name.to_string(),
            candidates: found
                .iter()
                .map(|(id, what)| format!("#{id} ({what})"))
                .collect(),
            first: *first,
        }
        .into()),
    }
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
pub fn load(conn: &Tx, id: i64) -> Result<StoredPost> {
    let mut post = conn
        .query_row(
            &format!(
                "SELECT p.id, {}, u.id, u.name, u.email,
                        MAX(p.view_count, COALESCE(s.view_count, 0)), p.created_at, p.updated_at,
                        p.deleted_at, p.source_path, p.source_hash
                 FROM posts p LEFT JOIN users u ON u.id = p.author_id
                              LEFT JOIN post_statistics s ON s.post_id = p.id
                 WHERE p.id = ?1",
                field_columns("p")
            ),
            [id],
            |r| {
                let author = match r.get::<_, Option<i64>>(15)? {
                    Some(id) => Some(Author {
                        id,
                        name: r.get(16)?,
                        email: r.get(17)?,
                    }),
                    None => None,
                };
                Ok(StoredPost {
                    id: r.get(0)?,
                    fields: read_fields(r, 1)?,
                    author,
                    view_count: r.get(18)?,
                    created_at: r.get(19)?,
                    updated_at: r.get(20)?,
                    deleted_at: r.get(21)?,
                    source_path: r.get(22)?,
                    source_hash: r.get(23)?,
                    files: Vec::new(),
                })
            },
        )
        .with_context(|| format!("loading post {id}"))?;
    post.fields.authors = post
        .author
        .iter()
        .map(|a| AuthorRef {
            name: a.name.clone(),
            email: Some(a.email.clone()),
        })
        .collect();
    post.fields.categories = taxonomy::post_category_paths(conn, id)?;
    post.fields.tags = taxonomy::post_tag_names(conn, id)?;
    let mut stmt =
        conn.prepare("SELECT path FROM post_aliases WHERE post_id = ?1 ORDER BY path")?;
    post.fields.aliases = stmt
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

/// Whether a post (deleted ones included) has this slug.
pub fn slug_taken(conn: &Tx, slug: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM posts WHERE slug = ?1)",
        [slug],
        |r| r.get(0),
    )?)
}

/// A post by slug or `#id` (see [`id_of`]).
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

/// Checks what the commands require of a post's fields: a title, and a slug that is one.
fn check_fields(f: &PostFields) -> Result<PostFields> {
    if f.title.trim().is_empty() {
        bail!("a post needs a title");
    }
    let slug = f.slug.trim();
    if slug.is_empty() || slug != slug::slugify(slug) {
        bail!("{slug:?} is not a slug: use lowercase letters, digits and hyphens");
    }
    Ok(PostFields {
        title: f.title.trim().to_string(),
        slug: slug.to_string(),
        ..f.clone()
    })
}

/// Adds a post (through the one post writer) by `author_id`, and returns its id. Versions
/// are the caller's: see `versions::record`.
pub fn create(conn: &Tx, fields: &PostFields, author_id: i64) -> Result<i64> {
    let fields = check_fields(fields)?;
    if slug_taken(conn, &fields.slug)? {
        bail!("another post already has the slug {:?}", fields.slug);
    }
    let outcome = save(conn, None, &fields, Some(author_id), (None, None))
        .with_context(|| format!("adding the post {:?}", fields.slug))?;
    Ok(outcome.id())
}

/// Writes edited fields (row, categories, tags, aliases) and author onto a post, through the
/// one post writer. Versions are the caller's: see `versions::record`.
pub fn apply(
    conn: &Tx,
    post: &StoredPost,
    fields: &PostFields,
    author_id: Option<i64>,
) -> Result<()> {
    let mut fields = check_fields(fields)?;
    // The folder of its file decides a post's section, not an edit of its document.
    fields.section = post.fields.section.clone();
    // A slug it already has may be shared (imported posts whose URLs differ); a new one may not.
    let taken: bool = fields.slug != post.slug
        && conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM posts WHERE slug = ?1 AND id <> ?2)",
            params![fields.slug, post.id],
            |r| r.get(0),
        )?;
    if taken {
        bail!("another post already has the slug {:?}", fields.slug);
    }
    let source = (post.source_path.clone(), post.source_hash.clone());
    save(conn, Some(post.id), &fields, author_id, source)?;
    Ok(())
}

fn save(
    conn: &Tx,
    target: Option<i64>,
    fields: &PostFields,
    author_id: Option<i64>,
    (source_path, source_hash): (Option<String>, Option<String>),
) -> Result<Outcome> {
    let mut w = Writer::new(conn.conn(), Timestamp::now())?;
    let saved = w.save(&Save {
        target,
        fields,
        author_id,
        source_path,
        source_hash,
        content_hash: crate::store::content_hash(&fields.content),
        files: None,
        history: History::Caller,
    });
    match saved {
        Ok(o) => Ok(o),
        Err(WriteError::AliasTaken { path, other }) => {
            bail!("the alias {path:?} already belongs to the post {other:?}")
        }
        Err(WriteError::Sql(e)) => Err(e.into()),
    }
}

/// Sets status and publication date.
pub fn set_status(
    conn: &Tx,
    id: i64,
    status: PostStatus,
    published_at: Option<Timestamp>,
) -> Result<()> {
    crate::store::webhooks::queue_status_change(conn, id, status, published_at, Timestamp::now())?;
    conn.execute(
        "UPDATE posts SET status = ?1, published_at = ?2, updated_at = ?3 WHERE id = ?4",
        params![status, published_at, crate::store::now_text(), id],
    )?;
    Ok(())
}

/// Soft-deletes (`deleted_at` = now) or restores (`None`) a post.
pub fn set_deleted(conn: &Tx, id: i64, deleted_at: Option<Timestamp>) -> Result<()> {
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
pub fn purgeable(conn: &Tx, cutoff: Timestamp) -> Result<Vec<(i64, String, String, Timestamp)>> {
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

/// A post's view statistics (`post_statistics`), when it has been viewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub desktop_views: i64,
    pub mobile_views: i64,
    pub tablet_views: i64,
    pub last_viewed_at: Option<Timestamp>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_shared_slug_names_no_post_and_an_id_names_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        let ids = store
            .write(|tx| {
                let mut ids = Vec::new();
                for (title, source) in [("One", "a/meetup.md"), ("Two", "b/meetup.md")] {
                    let fields = PostFields {
                        title: title.into(),
                        slug: "meetup".into(),
                        content: title.into(),
                        ..PostFields::default()
                    };
                    let o = save(tx, None, &fields, None, (Some(source.into()), None))?;
                    ids.push(o.id());
                }
                Ok::<_, anyhow::Error>(ids)
            })
            .unwrap();
        store
            .read(|tx| {
                let e = id_of(tx, "meetup").unwrap_err();
                let msg = e.to_string();
                assert!(
                    msg.contains("2 posts")
                        && msg.contains(&format!("#{} (a/meetup.md)", ids[0]))
                        && msg.contains(&format!("#{} (b/meetup.md)", ids[1])),
                    "{msg}"
                );
                assert!(matches!(
                    e.downcast_ref::<ContentError>(),
                    Some(ContentError::AmbiguousSlug { .. })
                ));
                assert_eq!(id_of(tx, &format!("#{}", ids[1]))?, ids[1]);
                assert!(id_of(tx, "#999").is_err());
                assert!(slug_taken(tx, "meetup")?);
                Ok::<_, anyhow::Error>(())
            })
            .unwrap();
        // Editing one keeps its shared slug; taking another post's slug is refused.
        store
            .write(|tx| {
                let two = load(tx, ids[1])?;
                let retitled = PostFields {
                    title: "Two, again".into(),
                    ..two.fields.clone()
                };
                apply(tx, &two, &retitled, None)?;
                let other = save(
                    tx,
                    None,
                    &PostFields {
                        title: "Other".into(),
                        slug: "other".into(),
                        ..PostFields::default()
                    },
                    None,
                    (None, None),
                )
                .map(|o| load(tx, o.id()))??;
                let renamed = PostFields {
                    slug: "meetup".into(),
                    ..other.fields.clone()
                };
                let e = apply(tx, &other, &renamed, None).unwrap_err();
                assert!(e.to_string().contains("already has the slug"), "{e}");
                Ok::<_, anyhow::Error>(())
            })
            .unwrap();
    }
}
