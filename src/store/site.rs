//! The build's read of the store: one read transaction that loads everything a site shows.
//!
//! Rows come back as typed structs (a post's status and dates parsed once, here); `snapshot`
//! resolves them (tree, indexes, URLs) and keeps a post's row as it is. A post's
//! markdown is read up front only when something derived from it is missing from its row (the
//! content hash, excerpt or read time); the build asks for the rest with
//! [`SiteReader::contents`], in the same transaction, once it knows which pages it must make.

use std::collections::HashMap;

use rusqlite::types::FromSql;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::changes::{self, ChangeMark, Changes};
use crate::model::{PostKind, PostStatus, Timestamp};

/// Which posts a build shows.
#[derive(Debug, Clone)]
pub struct SiteQuery {
    /// Also drafts, pending and scheduled (future) posts.
    pub drafts: bool,
    /// Posts published after this instant are scheduled.
    pub now: Timestamp,
}

/// A post as the site shows it, typed: the part of `snapshot::Post` the store gives (the
/// snapshot adds what other rows and the site's settings decide: URLs, author, tags,
/// categories, neighbours). Blank optional texts read as `None`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostRow {
    pub id: i64,
    pub title: String,
    pub subtitle: Option<String>,
    /// As stored; the snapshot makes it a usable URL path segment.
    pub slug: String,
    /// The post's own URL path or pattern (`posts.path`), when it has one.
    pub path: Option<String>,
    /// A dated post or a standalone page.
    pub kind: PostKind,
    /// Its section's path (`posts.section`), when it is in one.
    pub section: Option<String>,
    /// The markdown, when it was read with the row (see [`SiteReader::rows`]); the build reads
    /// the others' when it renders them (see [`SiteReader::contents`]).
    pub content: Option<String>,
    /// BLAKE3 (hex) of the markdown: the stored one, or computed from `content` when the row
    /// had none. What tells two versions of a post's text apart.
    pub content_hash: String,
    /// The excerpt stored with the post (plain text), if any.
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    /// The author's user id.
    pub author_id: Option<i64>,
    pub status: PostStatus,
    /// `published_at`, or `created_at` for a post that has none.
    pub date: Timestamp,
    /// The writer's "updated" date (`modified_at`).
    pub updated: Option<Timestamp>,
    /// Minutes to read; 0 when none is stored (the snapshot derives one from the markdown).
    pub read_time: u32,
    /// Front matter keys bloggo does not know (`null` when the column is not JSON).
    #[serde(with = "json_text")]
    pub extra: serde_json::Value,
    /// The file the post was imported from (`posts.source_path`): what links to it name.
    pub source_path: Option<String>,
}

#[cfg(test)]
impl PostRow {
    /// A published post dated at the epoch, with nothing else set: tests change what they need
    /// with `PostRow { title: …, ..PostRow::for_test(1, "a") }`.
    pub fn for_test(id: i64, slug: &str) -> PostRow {
        PostRow {
            kind: crate::model::PostKind::Post,
            id,
            title: slug.into(),
            subtitle: None,
            slug: slug.into(),
            path: None,
            section: None,
            source_path: None,
            content: None,
            content_hash: String::new(),
            excerpt: None,
            cover_image: None,
            author_id: None,
            status: crate::model::PostStatus::Published,
            date: crate::model::Timestamp::from_utc(chrono::DateTime::UNIX_EPOCH),
            updated: None,
            read_time: 1,
            extra: serde_json::Value::Null,
        }
    }
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
    /// (post_id, output file) of every page earlier builds published the selected posts at.
    pub pages: Vec<(i64, String)>,
    pub files: Vec<FileRow>,
    /// Every section, by path.
    pub sections: Vec<super::sections::Section>,
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
        then: Timestamp,
        now: Timestamp,
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
            let mut stmt = self.tx.prepare_cached(
                "SELECT post_id, file FROM post_pages WHERE post_id = ?1 ORDER BY file",
            )?;
            for page in stmt.query_map([p.id], |r| Ok((r.get(0)?, r.get(1)?)))? {
                rows.pages.push(page?);
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

impl super::Store {
    /// The first published post dated after `now` (a scheduled post: its date and slug), so a
    /// build can say when the site changes next and `serve` can rebuild then. Soft-deleted and
    /// archived posts never come due.
    pub fn next_scheduled(&self, now: Timestamp) -> rusqlite::Result<Option<(Timestamp, String)>> {
        self.conn
            .prepare_cached(
                // Two ranges of idx_posts_status_published (a post dated by its publication,
                // and one dated by its creation): not a scan of every published post, which
                // every build would pay.
                "SELECT at, slug FROM (
                     SELECT published_at AS at, slug, id FROM posts
                     WHERE status = 'published' AND published_at > ?1 AND deleted_at IS NULL
                     UNION ALL
                     SELECT created_at, slug, id FROM posts
                     WHERE status = 'published' AND published_at IS NULL AND created_at > ?1
                       AND deleted_at IS NULL)
                 ORDER BY at, id LIMIT 1",
            )?
            .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }

    /// Records the pages a build published posts at (post id, output file), so later builds
    /// keep a redirect at each should a post's URL change (see `SiteRows::pages`).
    pub fn remember_pages(&self, pages: &[(i64, String)]) -> rusqlite::Result<()> {
        if pages.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO post_pages (post_id, file)
                 SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?1)",
            )?;
            for (id, file) in pages {
                stmt.execute(params![id, file])?;
            }
        }
        tx.commit()
    }
}

/// A post's columns, `content` only when something derived from it is missing. `content` is
/// the table's last column: the other columns are read without touching the markdown's
/// overflow pages.
const POST_COLUMNS: &str =
    "SELECT id, title, subtitle, slug, excerpt, cover_image, author_id, status,
            COALESCE(published_at, created_at), modified_at, read_time, extra, content_hash,
            source_path, path, kind, section,
            CASE WHEN content_hash IS NULL OR excerpt IS NULL OR trim(excerpt) = ''
                      OR read_time = 0 THEN content END
     FROM posts";

fn post_row(r: &rusqlite::Row) -> rusqlite::Result<PostRow> {
    let id: i64 = r.get(0)?;
    let slug: String = r.get(3)?;
    let content: Option<String> = r.get(17)?;
    let content_hash = match r.get::<_, Option<String>>(12)? {
        Some(h) => h,
        None => super::content_hash(content.as_deref().unwrap_or_default()),
    };
    let nonblank = |i: usize| -> rusqlite::Result<Option<String>> {
        Ok(r.get::<_, Option<String>>(i)?
            .filter(|s| !s.trim().is_empty()))
    };
    Ok(PostRow {
        title: r.get(1)?,
        subtitle: nonblank(2)?,
        excerpt: nonblank(4)?,
        cover_image: nonblank(5)?,
        author_id: r.get(6)?,
        status: typed(r, 7, id, &slug)?,
        date: typed(r, 8, id, &slug)?,
        updated: typed(r, 9, id, &slug)?,
        read_time: u32::try_from(r.get::<_, i64>(10)?.max(0)).unwrap_or(u32::MAX),
        extra: serde_json::from_str(r.get_ref(11)?.as_str()?).unwrap_or_default(),
        source_path: r.get(13)?,
        path: nonblank(14)?,
        kind: typed(r, 15, id, &slug)?,
        section: r.get(16)?,
        id,
        slug,
        content,
        content_hash,
    })
}

/// A typed column of post `id`'s row; a value its type refuses (a status or date written
/// into the store by hand) is an error naming the post and how to fix it.
fn typed<T: FromSql>(r: &rusqlite::Row, i: usize, id: i64, slug: &str) -> rusqlite::Result<T> {
    r.get(i).map_err(|e| match e {
        rusqlite::Error::FromSqlConversionFailure(i, ty, why) => {
            rusqlite::Error::FromSqlConversionFailure(
                i,
                ty,
                format!("post {id} ({slug}): {why}; fix it with `bloggo post edit {slug}`").into(),
            )
        }
        e => e,
    })
}

/// A JSON value kept as its text: the compact binary encoding of the kept build state
/// (`pipeline::state`) cannot describe a value whose shape it does not know.
mod json_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &serde_json::Value, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
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

    let mut stmt = tx.prepare("SELECT post_id, file FROM post_pages ORDER BY post_id, file")?;
    rows.pages = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .filter(|r| r.as_ref().map_or(true, |(id, _)| shown(*id)))
        .collect::<rusqlite::Result<_>>()?;

    let mut stmt = tx.prepare(&format!("{FILES_ALL} ORDER BY pf.post_id, f.filename"))?;
    rows.files = stmt
        .query_map([], file_row)?
        .filter(|r| r.as_ref().map_or(true, |f| shown(f.post_id)))
        .collect::<rusqlite::Result<_>>()?;

    rows.sections = super::sections::all(tx)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store(sql: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        store.conn.execute_batch(sql).unwrap();
        (dir, store)
    }

    fn query(now: &str, drafts: bool) -> SiteQuery {
        SiteQuery {
            drafts,
            now: now.parse().unwrap(),
        }
    }

    #[test]
    fn a_post_row_comes_typed() {
        let (_dir, mut store) = store(
            "INSERT INTO posts (id, title, slug, status, published_at, created_at, modified_at,
                                subtitle, excerpt, read_time, extra, content_hash, content)
             VALUES (1, 'One', 'one', 'published', '2024-01-02 03:04:05', '2023-01-01 00:00:00',
                     '2024-02-01 00:00:00', ' ', 'Short.', 4, '{\"mood\": \"fine\"}', 'h1', 'Body'),
                    (2, 'Two', 'two', 'draft', NULL, '2023-05-06 07:08:09', NULL,
                     'Sub', NULL, 0, '{}', NULL, 'Two words');",
        );
        let reader = store.site_reader().unwrap();
        let rows = reader.rows(&query("2024-06-01 00:00:00", true)).unwrap();
        let [one, two] = &rows.posts[..] else {
            panic!("{:?}", rows.posts)
        };
        assert_eq!(one.status, PostStatus::Published);
        assert_eq!(one.date.to_string(), "2024-01-02 03:04:05");
        assert_eq!(
            one.updated.map(|u| u.to_string()).as_deref(),
            Some("2024-02-01 00:00:00")
        );
        assert_eq!(
            (one.subtitle.as_deref(), one.excerpt.as_deref()),
            (None, Some("Short."))
        );
        assert_eq!((one.read_time, one.content.as_deref()), (4, None));
        assert_eq!(one.extra["mood"], "fine");
        assert_eq!(one.content_hash, "h1");
        // A draft's date is its creation; its markdown comes with the row (no read time, no
        // stored hash).
        assert_eq!(two.status, PostStatus::Draft);
        assert_eq!(
            (two.date.to_string(), two.updated),
            ("2023-05-06 07:08:09".into(), None)
        );
        assert_eq!(two.content.as_deref(), Some("Two words"));
        assert_eq!(two.content_hash, crate::store::content_hash("Two words"));
        assert_eq!(
            reader
                .rows(&query("2024-06-01 00:00:00", false))
                .unwrap()
                .posts
                .len(),
            1
        );
        assert!(reader
            .rows(&query("2024-01-01 00:00:00", false))
            .unwrap()
            .posts
            .is_empty());
    }

    #[test]
    fn a_date_the_store_cannot_read_names_the_post() {
        let (_dir, mut store) = store(
            "INSERT INTO posts (id, title, slug, status, published_at, content)
             VALUES (7, 'Seven', 'seven', 'published', '2024-01-02', 'x');",
        );
        let reader = store.site_reader().unwrap();
        let e = reader
            .rows(&query("2024-06-01 00:00:00", false))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("post 7 (seven)") && e.contains("bloggo post edit seven"),
            "{e}"
        );
        assert!(e.contains("\"2024-01-02\" is not a store timestamp"), "{e}");
    }
}
