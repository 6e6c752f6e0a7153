//! Page views: the SQL of `post_views`, `post_statistics`, `posts.view_count` and `bloggo stats`.
//!
//! `bloggo serve` records views through one writer thread that calls [`Store::record_views`] with a
//! batch; each batch is one short transaction, so a batch is either fully counted or not at all.

use crate::model::Timestamp;
use std::collections::HashMap;

use rusqlite::params;

use super::{Store, StoreError};

/// The device class a view is counted under (bots are never recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
}

/// One view to record. `ip` is already anonymised; raw addresses never reach the store.
#[derive(Debug, Clone)]
pub struct NewView {
    pub post_id: i64,
    pub ip: String,
    pub user_agent: String,
    pub referrer: Option<String>,
    /// UTC, in the store's timestamp format.
    pub viewed_at: Timestamp,
    pub device: DeviceClass,
}

/// The views a report reads: `since <= viewed_at < until`, both UTC in the store's timestamp
/// format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub since: String,
    pub until: String,
}

/// One line of the "views per post" report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostViews {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub views: i64,
}

impl Store {
    /// A handle for `serve`'s view writer. Views are appended: a small page cache and no
    /// memory map keep the writer's memory flat however large `post_views` grows (the
    /// defaults suit builds, not a server).
    pub fn attach_view_writer(path: &std::path::Path) -> Result<Store, StoreError> {
        let store = Store::attach(path)?;
        store
            .conn
            .execute_batch("PRAGMA cache_size = -2048; PRAGMA mmap_size = 0;")?;
        Ok(store)
    }

    /// Records a batch of views in one transaction: one `post_views` row each, and per post one
    /// update of `post_statistics` (view and device counts, last view) and of `posts.view_count`.
    ///
    /// A view of a post that is no longer in the store (purged by another program after the view
    /// was served) is skipped: its rows would go with the post anyway, and one such view must not
    /// fail the whole batch. Returns how many views were skipped.
    pub fn record_views(&mut self, views: &[NewView]) -> Result<usize, StoreError> {
        if views.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction()?;
        let skipped = record_in(&tx, views)?;
        tx.commit()?;
        Ok(skipped.len())
    }

    /// Slug → id of the posts a served site shows: published ones, and with `drafts` every post
    /// that is not deleted.
    pub fn post_ids_by_slug(&self, drafts: bool) -> Result<HashMap<String, i64>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare(
            "SELECT slug, id FROM posts
             WHERE deleted_at IS NULL AND (?1 OR status = 'published')",
        )?;
        let rows = stmt.query_map([drafts], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A short text that changes whenever the content a site is built from changes (posts,
    /// categories, tags, users and their links), but not when views are recorded: `serve` compares
    /// it after `PRAGMA data_version` moved, to tell another program's edit from its own writes.
    pub fn content_fingerprint(&self) -> Result<String, StoreError> {
        let conn = &self.conn;
        Ok(conn.query_row(
            "SELECT
                (SELECT count(*) || '/' || ifnull(max(id), 0) || '/' || ifnull(max(updated_at), '')
                        || '/' || ifnull(total(length(content) + length(title) + length(slug)), 0)
                        || '/' || ifnull(group_concat(status, ''), '')
                   FROM posts)
             || '|' || (SELECT count(*) || '/' || ifnull(total(length(name) + length(slug)), 0) FROM categories)
             || '|' || (SELECT count(*) || '/' || ifnull(total(length(name) + length(slug)), 0) FROM tags)
             || '|' || (SELECT count(*) || '/' || ifnull(max(updated_at), '') FROM users)
             || '|' || (SELECT count(*) FROM post_categories)
             || '|' || (SELECT count(*) FROM post_tags)",
            [],
            |r| r.get(0),
        )?)
    }

    /// `PRAGMA data_version`: changes when another connection commits to the store.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        let conn = &self.conn;
        Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Posts by views in a span, most viewed first.
    pub fn views_per_post(&self, span: &Span, top: usize) -> Result<Vec<PostViews>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare(
            "SELECT p.id, p.slug, p.title, count(*) AS n
               FROM post_views v JOIN posts p ON p.id = v.post_id
              WHERE v.viewed_at >= ?1 AND v.viewed_at < ?2
              GROUP BY v.post_id
              ORDER BY n DESC, p.slug
              LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![span.since, span.until, top as i64], |r| {
            Ok(PostViews {
                id: r.get(0)?,
                slug: r.get(1)?,
                title: r.get(2)?,
                views: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Total views in a span.
    pub fn total_views(&self, span: &Span) -> Result<i64, StoreError> {
        let conn = &self.conn;
        Ok(conn.query_row(
            "SELECT count(*) FROM post_views WHERE viewed_at >= ?1 AND viewed_at < ?2",
            params![span.since, span.until],
            |r| r.get(0),
        )?)
    }

    /// Views per UTC day (`YYYY-MM-DD`) in a span, days without views left out, oldest first.
    pub fn views_per_day(&self, span: &Span) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare(
            "SELECT substr(viewed_at, 1, 10) AS day, count(*) FROM post_views
              WHERE viewed_at >= ?1 AND viewed_at < ?2
              GROUP BY day ORDER BY day",
        )?;
        let rows = stmt.query_map(params![span.since, span.until], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One post's views per UTC day in a span, as [`Store::views_per_day`].
    pub fn post_views_per_day(
        &self,
        post_id: i64,
        span: &Span,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare_cached(
            "SELECT substr(viewed_at, 1, 10) AS day, count(*) FROM post_views
              WHERE post_id = ?1 AND viewed_at >= ?2 AND viewed_at < ?3
              GROUP BY day ORDER BY day",
        )?;
        let rows = stmt.query_map(params![post_id, span.since, span.until], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Views in a span grouped by user agent (the caller classifies each agent once).
    pub fn views_by_user_agent(&self, span: &Span) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare(
            "SELECT ifnull(user_agent, ''), count(*) FROM post_views
              WHERE viewed_at >= ?1 AND viewed_at < ?2 GROUP BY 1",
        )?;
        let rows = stmt.query_map(params![span.since, span.until], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// All-time device counts from `post_statistics`: (desktop, mobile, tablet).
    pub fn device_totals(&self) -> Result<(i64, i64, i64), StoreError> {
        let conn = &self.conn;
        Ok(conn.query_row(
            "SELECT ifnull(sum(desktop_views), 0), ifnull(sum(mobile_views), 0), ifnull(sum(tablet_views), 0)
               FROM post_statistics",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// The most frequent referrers in a span (views without a referrer are left out).
    pub fn top_referrers(&self, span: &Span, top: usize) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = &self.conn;
        let mut stmt = conn.prepare(
            "SELECT referrer, count(*) AS n FROM post_views
              WHERE viewed_at >= ?1 AND viewed_at < ?2 AND referrer IS NOT NULL AND referrer <> ''
              GROUP BY referrer ORDER BY n DESC, referrer LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![span.since, span.until, top as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Records views within a transaction the caller commits (see [`Store::record_views`]); a view
/// of a post no longer in the store is skipped. Returns the indices of the views skipped.
pub(super) fn record_in(
    tx: &rusqlite::Transaction,
    views: &[NewView],
) -> Result<Vec<usize>, StoreError> {
    let mut skipped = Vec::new();
    #[derive(Default)]
    struct Sums {
        total: i64,
        desktop: i64,
        mobile: i64,
        tablet: i64,
        last: Option<Timestamp>,
    }
    let mut per_post: HashMap<i64, Sums> = HashMap::new();
    {
        // Whether each post is still there, asked once per post: a plain one-row INSERT
        // needs no statement journal (an INSERT ... SELECT does, which cost a fifth of a
        // large ingest's time).
        let mut exists = tx.prepare_cached("SELECT 1 FROM posts WHERE id = ?1")?;
        let mut present: HashMap<i64, bool> = HashMap::new();
        let mut insert = tx.prepare_cached(
            "INSERT INTO post_views (post_id, ip_address, user_agent, referrer, viewed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (i, v) in views.iter().enumerate() {
            let there = match present.get(&v.post_id) {
                Some(there) => *there,
                None => {
                    let there = exists.exists([v.post_id])?;
                    present.insert(v.post_id, there);
                    there
                }
            };
            if !there {
                skipped.push(i);
                continue;
            }
            insert.execute(params![
                v.post_id,
                v.ip,
                v.user_agent,
                v.referrer,
                v.viewed_at
            ])?;
            let s = per_post.entry(v.post_id).or_default();
            s.total += 1;
            match v.device {
                DeviceClass::Desktop => s.desktop += 1,
                DeviceClass::Mobile => s.mobile += 1,
                DeviceClass::Tablet => s.tablet += 1,
            }
            if s.last.is_none_or(|last| v.viewed_at > last) {
                s.last = Some(v.viewed_at);
            }
        }
        let mut stats = tx.prepare_cached(
                "INSERT INTO post_statistics
                     (post_id, view_count, desktop_views, mobile_views, tablet_views, last_viewed_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (post_id) DO UPDATE SET
                     view_count = view_count + excluded.view_count,
                     desktop_views = desktop_views + excluded.desktop_views,
                     mobile_views = mobile_views + excluded.mobile_views,
                     tablet_views = tablet_views + excluded.tablet_views,
                     last_viewed_at = max(ifnull(last_viewed_at, ''), excluded.last_viewed_at),
                     updated_at = excluded.updated_at",
            )?;
        let mut count =
            tx.prepare_cached("UPDATE posts SET view_count = view_count + ?2 WHERE id = ?1")?;
        for (post_id, s) in &per_post {
            stats.execute(params![
                post_id, s.total, s.desktop, s.mobile, s.tablet, s.last
            ])?;
            count.execute(params![post_id, s.total])?;
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_posts() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO posts (id, title, slug, status) VALUES
                   (1, 'One', 'one', 'published'), (2, 'Two', 'two', 'published'),
                   (3, 'Draft', 'draft', 'draft');",
            )
            .unwrap();
        (dir, store)
    }

    fn view(post_id: i64, device: DeviceClass, at: &str, referrer: Option<&str>) -> NewView {
        NewView {
            post_id,
            ip: "k:00".into(),
            user_agent: "ua".into(),
            referrer: referrer.map(str::to_string),
            viewed_at: at.parse().unwrap(),
            device,
        }
    }

    #[test]
    fn a_batch_updates_rows_statistics_and_post_counts() {
        let (_d, mut store) = store_with_posts();
        let batch = [
            view(
                1,
                DeviceClass::Desktop,
                "2026-01-01 10:00:00",
                Some("https://a.example/"),
            ),
            view(1, DeviceClass::Mobile, "2026-01-01 10:00:02", None),
            view(
                2,
                DeviceClass::Tablet,
                "2026-01-01 10:00:01",
                Some("https://a.example/"),
            ),
        ];
        store.record_views(&batch).unwrap();
        store.record_views(&batch[..1]).unwrap();
        let c = &store.conn;
        let stats: (i64, i64, i64, i64, String) = c
            .query_row(
                "SELECT view_count, desktop_views, mobile_views, tablet_views, last_viewed_at
                   FROM post_statistics WHERE post_id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(stats, (3, 2, 1, 0, "2026-01-01 10:00:02".to_string()));
        let counts: Vec<i64> = c
            .prepare("SELECT view_count FROM posts ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(counts, vec![3, 1, 0]);
        assert_eq!(
            store
                .total_views(&span("2026-01-01 10:00:01", "9999-01-01 00:00:00"))
                .unwrap(),
            2
        );
        let all = span("2000-01-01 00:00:00", "9999-01-01 00:00:00");
        let top = store.views_per_post(&all, 1).unwrap();
        assert_eq!(top[0].slug, "one");
        assert_eq!(top.len(), 1);
        assert_eq!(
            store.top_referrers(&all, 5).unwrap(),
            vec![("https://a.example/".to_string(), 3)]
        );
        assert_eq!(store.device_totals().unwrap(), (2, 1, 1));
    }

    fn span(since: &str, until: &str) -> Span {
        Span {
            since: since.into(),
            until: until.into(),
        }
    }

    /// Per day and per post and day, the end of a span excluded.
    #[test]
    fn views_per_day_count_utc_days_within_the_span() {
        let (_d, mut store) = store_with_posts();
        let batch = [
            view(1, DeviceClass::Desktop, "2026-01-01 00:00:00", None),
            view(1, DeviceClass::Desktop, "2026-01-01 23:59:59", None),
            view(2, DeviceClass::Mobile, "2026-01-01 12:00:00", None),
            view(1, DeviceClass::Mobile, "2026-01-03 08:00:00", None),
            view(2, DeviceClass::Mobile, "2026-01-04 00:00:00", None),
        ];
        store.record_views(&batch).unwrap();
        let s = span("2026-01-01 00:00:00", "2026-01-04 00:00:00");
        let days = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(d, n)| (d.to_string(), *n)).collect()
        };
        assert_eq!(
            store.views_per_day(&s).unwrap(),
            days(&[("2026-01-01", 3), ("2026-01-03", 1)])
        );
        assert_eq!(
            store.post_views_per_day(1, &s).unwrap(),
            days(&[("2026-01-01", 2), ("2026-01-03", 1)])
        );
        assert_eq!(
            store.post_views_per_day(2, &s).unwrap(),
            days(&[("2026-01-01", 1)])
        );
        assert_eq!(store.total_views(&s).unwrap(), 4);
        let top = store.views_per_post(&s, 10).unwrap();
        assert_eq!((top[0].id, top[0].views, top[1].views), (1, 3, 1));
    }

    #[test]
    fn slugs_hide_drafts_unless_asked() {
        let (_d, store) = store_with_posts();
        assert_eq!(store.post_ids_by_slug(false).unwrap().len(), 2);
        assert_eq!(store.post_ids_by_slug(true).unwrap()["draft"], 3);
    }

    #[test]
    fn the_fingerprint_ignores_views_but_not_edits() {
        let (_d, mut store) = store_with_posts();
        let before = store.content_fingerprint().unwrap();
        store
            .record_views(&[view(1, DeviceClass::Desktop, "2026-01-01 10:00:00", None)])
            .unwrap();
        assert_eq!(store.content_fingerprint().unwrap(), before);
        store
            .conn
            .execute("UPDATE posts SET content = 'new words' WHERE id = 2", [])
            .unwrap();
        assert_ne!(store.content_fingerprint().unwrap(), before);
    }
}
