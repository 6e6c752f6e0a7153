//! The change log a delta build reads: which posts changed since a build's last read.
//!
//! Triggers (migration 4) add a `site_changes` row for every change to what a build reads,
//! whoever makes it (bloggo's import and commands, the sqlite3 shell). A build raises the
//! watermark ([`watch`]), opens its read transaction, notes where the log stands ([`mark`]) and
//! keeps that mark with its snapshot; the next build asks what changed since it ([`since`]):
//! posts above the mark's watermark are new, the log names the others. After a good build the
//! log is trimmed ([`prune`]).
//!
//! The watermark keeps the log small: rows and links of a post above it are not logged, as
//! every build finds such a post by its id. A post's deletion is logged whatever its id (a
//! build may have shown a post inserted between [`watch`] and its read).
//!
//! A trigger costs every row it could fire for, whatever its `WHEN`: SQLite opens a statement
//! journal for each statement of a table with triggers and foreign keys. An import of new
//! posts therefore holds off the per-row insert triggers in its own transaction
//! ([`hold_inserts`]), logs what they would have logged itself ([`HeldInserts::note`]) and
//! creates them again once it committed ([`HeldInserts::restore`]). Should that last step not
//! happen (a crash right after the commit), [`since`] reads everything while a trigger is
//! missing and the next [`watch`] creates it again.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::model::Timestamp;

/// Every trigger of the change log (migrations 4 and 7). [`since`] reads everything while one is
/// missing (a migration that rebuilds a table drops its triggers: it must create them again).
pub const TRIGGERS: &[&str] = &[
    "site_changes_posts_insert",
    "site_changes_posts_update",
    "site_changes_posts_id",
    "site_changes_posts_delete",
    "site_changes_post_categories_insert",
    "site_changes_post_categories_delete",
    "site_changes_post_categories_update",
    "site_changes_post_tags_insert",
    "site_changes_post_tags_delete",
    "site_changes_post_tags_update",
    "site_changes_post_aliases_insert",
    "site_changes_post_aliases_delete",
    "site_changes_post_aliases_update",
    "site_changes_post_files_insert",
    "site_changes_post_files_delete",
    "site_changes_post_files_update",
    "site_changes_files_update",
    "site_changes_files_delete",
    "site_changes_users_update",
    "site_changes_users_delete",
    "site_changes_categories_update",
    "site_changes_categories_delete",
    "site_changes_tags_update",
    "site_changes_tags_delete",
    "site_changes_sections_insert",
    "site_changes_sections_update",
    "site_changes_sections_delete",
];

/// The triggers that fire for each inserted post or link, which [`hold_inserts`] holds off.
const INSERT_TRIGGERS: &[&str] = &[
    "site_changes_posts_insert",
    "site_changes_post_categories_insert",
    "site_changes_post_tags_insert",
    "site_changes_post_aliases_insert",
    "site_changes_post_files_insert",
];

/// How many log entries up to a build's mark are kept before [`prune`] deletes them: builds
/// of other output folders may still read them.
pub const KEEP: i64 = 10_000;

/// Where a build's read of the store stands in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeMark {
    /// The newest log entry the read saw.
    pub seq: i64,
    /// The watermark the read saw: posts above it were not logged.
    pub watched: i64,
}

/// What changed since a mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// The change log cannot say what changed since that mark (it was pruned past it, or a
    /// user, category or tag row changed, or a published post's date came due between the two
    /// instants, or more than `limit` posts changed, or the store is older than the mark): the
    /// caller rebuilds from scratch. The string says why (printed with BLOGGO_TIMINGS).
    Everything(String),
    /// Ids of every post whose row or links changed since the mark, or that was inserted or
    /// deleted: sorted, deduplicated. Includes every post with id > mark.watched. May include
    /// posts the build does not show (drafts...): the caller re-reads them.
    Posts(Vec<i64>),
}

impl super::Store {
    /// Raises the change log's watermark before a build's read (see [`watch`]).
    pub fn watch_changes(&self) -> rusqlite::Result<()> {
        watch(&self.conn)
    }

    /// Trims the change log after a good build that read up to `through` (see [`prune`]).
    pub fn prune_changes(&self, through: i64) -> rusqlite::Result<()> {
        prune(&self.conn, through)
    }
}

/// Raises the watermark to max(posts.id) when it is lower; writes nothing otherwise. The
/// build calls it just before its read transaction (outside any transaction).
///
/// It also mends the log when something took it apart: a missing state row or trigger is put
/// back, with a log entry that makes every earlier mark read everything (nothing was logged
/// meanwhile).
pub fn watch(conn: &Connection) -> rusqlite::Result<()> {
    let (watched, top, triggers): (Option<i64>, i64, i64) = conn
        .prepare_cached(
            "SELECT (SELECT watched FROM site_changes_state WHERE id = 1),
                    (SELECT COALESCE(max(id), 0) FROM posts),
                    (SELECT count(*) FROM sqlite_master
                     WHERE type = 'trigger' AND name LIKE 'site_changes%')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if watched.is_some_and(|w| w >= top) && triggers == TRIGGERS.len() as i64 {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let missing = missing_triggers(&tx)?;
    for name in &missing {
        tx.execute_batch(
            migration_sql(name)
                .ok_or_else(|| misuse(format!("no CREATE TRIGGER {name} in the migrations")))?,
        )?;
    }
    if !missing.is_empty() {
        log_everything(&tx, "the change log's triggers were missing")?;
    }
    let lost_state = tx.execute(
        "INSERT OR IGNORE INTO site_changes_state (id, watched)
         SELECT 1, COALESCE(max(id), 0) FROM posts",
        [],
    )?;
    if lost_state > 0 {
        log_everything(&tx, "the change log's state row was lost")?;
    }
    tx.execute(
        "UPDATE site_changes_state
         SET watched = max(watched, (SELECT COALESCE(max(id), 0) FROM posts))
         WHERE id = 1",
        [],
    )?;
    tx.commit()
}

/// A log entry that is no post's: every mark before it reads everything, saying `why`.
fn log_everything(conn: &Connection, why: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO site_changes (post_id, source) VALUES (NULL, ?1)",
        [why],
    )?;
    Ok(())
}

/// The log's triggers the store lacks.
fn missing_triggers(conn: &Connection) -> rusqlite::Result<Vec<&'static str>> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1)",
    )?;
    let mut missing = Vec::new();
    for name in TRIGGERS {
        if !stmt.query_row([name], |r| r.get::<_, bool>(0))? {
            missing.push(*name);
        }
    }
    Ok(missing)
}

/// The `CREATE TRIGGER` statement of one of the log's triggers, as the newest migration that
/// makes it has it (migration 4, or a later one that rebuilt its table).
fn migration_sql(name: &str) -> Option<&'static str> {
    let head = format!("CREATE TRIGGER {name}");
    super::migrate::MIGRATIONS.iter().rev().find_map(|m| {
        let up = m.up;
        let start = up
            .match_indices(&head)
            .map(|(i, _)| i)
            .find(|&i| up[i + head.len()..].starts_with(char::is_whitespace))?;
        let end = start + up[start..].find("\nEND;")? + "\nEND;".len();
        Some(&up[start..end])
    })
}

fn misuse(why: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some(why),
    )
}

/// Inside the build's read transaction: the newest seq and the watermark.
pub fn mark(conn: &Connection) -> rusqlite::Result<ChangeMark> {
    let s = state(conn)?;
    Ok(ChangeMark {
        seq: s.top.max(s.pruned),
        watched: s.watched,
    })
}

/// The log's newest entry and its state row (zeros when it is missing).
struct State {
    top: i64,
    watched: i64,
    pruned: i64,
}

fn state(conn: &Connection) -> rusqlite::Result<State> {
    conn.prepare_cached(
        "SELECT (SELECT COALESCE(max(seq), 0) FROM site_changes),
                COALESCE((SELECT watched FROM site_changes_state WHERE id = 1), 0),
                COALESCE((SELECT pruned FROM site_changes_state WHERE id = 1), 0)",
    )?
    .query_row([], |r| {
        Ok(State {
            top: r.get(0)?,
            watched: r.get(1)?,
            pruned: r.get(2)?,
        })
    })
}

/// Published, live posts whose date (`COALESCE(published_at, created_at)`) is in (?1, ?2]. Two
/// halves so each one is a range of `idx_posts_status_published`.
const DUE: &str = "SELECT id FROM posts
     WHERE status = 'published' AND published_at > ?1 AND published_at <= ?2
       AND deleted_at IS NULL
     UNION ALL
     SELECT id FROM posts
     WHERE status = 'published' AND published_at IS NULL
       AND created_at > ?1 AND created_at <= ?2 AND deleted_at IS NULL";

/// What changed since `mark` (read in the same read transaction as the new mark). `then` and
/// `now` are the two builds' instants: a post with status
/// 'published', not deleted, whose COALESCE(published_at, created_at) is in (then, now] went
/// live in between, which is Everything unless that post is among the changed ones (the caller
/// re-reads those anyway).
pub fn since(
    conn: &Connection,
    mark: &ChangeMark,
    then: Timestamp,
    now: Timestamp,
    limit: usize,
) -> rusqlite::Result<Changes> {
    let everything = |why: String| Ok(Changes::Everything(why));
    let s = state(conn)?;
    if mark.seq < s.pruned {
        return everything(format!(
            "the change log was pruned past the last build's mark (seq {} < {})",
            mark.seq, s.pruned
        ));
    }
    if s.top.max(s.pruned) < mark.seq || s.watched < mark.watched {
        return everything(format!(
            "the store is older than the last build's mark (seq {} < {} or watermark {} < {}): \
             it was replaced or restored",
            s.top.max(s.pruned),
            mark.seq,
            s.watched,
            mark.watched
        ));
    }
    if now < then {
        return everything(format!("the clock went back from {then} to {now}"));
    }
    let present: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({})",
            vec!["?"; TRIGGERS.len()].join(", ")
        ))?
        .query_row(rusqlite::params_from_iter(TRIGGERS), |r| r.get(0))?;
    if present != TRIGGERS.len() as i64 {
        return everything(format!(
            "{} of the change log's {} triggers are missing (the next build puts them back)",
            TRIGGERS.len() as i64 - present,
            TRIGGERS.len()
        ));
    }
    let too_many = || {
        everything(format!(
            "more than {limit} posts changed since the last build"
        ))
    };

    let mut ids = BTreeSet::new();
    let mut stmt = conn
        .prepare_cached("SELECT post_id, source FROM site_changes WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = stmt.query([mark.seq])?;
    while let Some(r) = rows.next()? {
        match r.get::<_, Option<i64>>(0)? {
            Some(id) => {
                ids.insert(id);
                if ids.len() > limit {
                    return too_many();
                }
            }
            None => {
                // A table's name, or a sentence.
                let source: String = r.get(1)?;
                return everything(if source.contains(' ') {
                    source
                } else {
                    format!("a row of {source} changed")
                });
            }
        }
    }

    let mut stmt = conn.prepare_cached("SELECT id FROM posts WHERE id > ?1 ORDER BY id")?;
    let mut rows = stmt.query([mark.watched])?;
    while let Some(r) = rows.next()? {
        ids.insert(r.get(0)?);
        if ids.len() > limit {
            return too_many();
        }
    }

    let mut stmt = conn.prepare_cached(DUE)?;
    let mut rows = stmt.query(params![then, now])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if !ids.contains(&id) {
            return everything(format!("post {id} went live between {then} and {now}"));
        }
    }
    Ok(Changes::Posts(ids.into_iter().collect()))
}

/// After a successful build: deletes the log's entries up to `through` (the build's mark)
/// once more than [`KEEP`] of them are there, recording the highest one deleted in `pruned`
/// (a mark before it then reads [`Changes::Everything`]). The log's newest entry always stays,
/// so a new entry never reuses a seq. Runs its own write transaction: call it outside any.
pub fn prune(conn: &Connection, through: i64) -> rusqlite::Result<()> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM site_changes WHERE seq <= ?1")?
        .query_row([through], |r| r.get(0))?;
    if n <= KEEP {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let last: Option<i64> = tx
        .query_row(
            "SELECT max(seq) FROM site_changes
             WHERE seq <= ?1 AND seq < (SELECT max(seq) FROM site_changes)",
            [through],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(last) = last {
        tx.execute("DELETE FROM site_changes WHERE seq <= ?1", [last])?;
        tx.execute(
            "UPDATE site_changes_state SET pruned = max(pruned, ?1) WHERE id = 1",
            [last],
        )?;
    }
    tx.commit()
}

/// How far [`forget`] moves the log's seq on: past any mark a replaced history could have
/// given out.
const FORGET_JUMP: i64 = 1 << 32;

/// Makes every earlier mark read everything: for a store whose history was replaced (a
/// restored backup, a recovered copy), whose log does not hold what changed since a build's
/// mark, and whose seqs may even repeat the old ones. Adds one entry far past the newest
/// (see [`FORGET_JUMP`]), which every mark before it reads as "everything".
pub fn forget(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO site_changes (seq, post_id, source)
         SELECT max(COALESCE((SELECT max(seq) FROM site_changes), 0),
                    COALESCE((SELECT pruned FROM site_changes_state WHERE id = 1), 0)) + ?1,
                NULL, 'the store was replaced (a restored backup or a recovered copy)'",
        [FORGET_JUMP],
    )?;
    Ok(())
}

/// The per-row insert triggers of the change log, dropped inside a writer's transaction
/// while it inserts many posts and links. The writer notes each post whose row or links it
/// inserted ([`HeldInserts::note`]) and, once its transaction committed, creates the triggers
/// again ([`HeldInserts::restore`]); a rollback puts them back by itself.
#[derive(Debug)]
pub struct HeldInserts {
    /// (name, `CREATE TRIGGER` statement as the store had it).
    sql: Vec<(&'static str, String)>,
    watched: i64,
    /// `PRAGMA data_version` in the holder's transaction: it moves when another connection
    /// commits.
    data_version: i64,
}

/// Drops the per-row insert triggers of the change log in the transaction open on `tx`
/// (refused outside one). No other connection can write until that transaction ends, so
/// only the holder's own inserts go unlogged, and it notes those itself.
pub fn hold_inserts(tx: &Connection) -> rusqlite::Result<HeldInserts> {
    if tx.is_autocommit() {
        return Err(misuse(
            "holding the change log's triggers needs an open transaction".to_string(),
        ));
    }
    let mut sql = Vec::with_capacity(INSERT_TRIGGERS.len());
    {
        let mut stmt =
            tx.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1")?;
        for name in INSERT_TRIGGERS {
            if let Some(s) = stmt.query_row([name], |r| r.get(0)).optional()? {
                sql.push((*name, s));
            }
        }
    }
    for (name, _) in &sql {
        tx.execute_batch(&format!("DROP TRIGGER {name}"))?;
    }
    let watched = tx.query_row(
        "SELECT COALESCE((SELECT watched FROM site_changes_state WHERE id = 1), 0)",
        [],
        |r| r.get(0),
    )?;
    let data_version = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok(HeldInserts {
        sql,
        watched,
        data_version,
    })
}

impl HeldInserts {
    /// Logs `post_id` when it is at or below the watermark, as the held triggers would have:
    /// call it for every post the holder inserted, or inserted links of.
    pub fn note(&self, tx: &Connection, post_id: i64) -> rusqlite::Result<()> {
        if post_id <= self.watched {
            tx.prepare_cached("INSERT INTO site_changes (post_id, source) VALUES (?1, 'import')")?
                .execute([post_id])?;
        }
        Ok(())
    }

    /// Creates the held triggers again. Call it once the holder's transaction has ended: after
    /// a rollback they are back already and this writes nothing. (Inside that transaction it
    /// works too, but SQLite then rewrites the checksum of every WAL frame the transaction wrote
    /// after the first page it wrote twice, a second pass over a large import at commit.) When
    /// another connection committed in between, its inserts went unlogged: every earlier mark
    /// then reads everything.
    pub fn restore(self, conn: &Connection) -> rusqlite::Result<()> {
        let missing = missing_triggers(conn)?;
        if !self.sql.iter().any(|(name, _)| missing.contains(name)) {
            return Ok(());
        }
        let tx = match conn.is_autocommit() {
            true => Some(Transaction::new_unchecked(
                conn,
                TransactionBehavior::Immediate,
            )?),
            false => None,
        };
        let data_version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if tx.is_some() && data_version != self.data_version {
            log_everything(
                conn,
                "another program wrote while an import held the change log's insert triggers",
            )?;
        }
        for name in missing_triggers(conn)? {
            if let Some((_, sql)) = self.sql.iter().find(|(n, _)| *n == name) {
                conn.execute_batch(sql)?;
            }
        }
        match tx {
            Some(tx) => tx.commit(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    const T0: &str = "2024-01-01 00:00:00";
    const T1: &str = "2024-06-01 00:00:00";
    const T2: &str = "2025-01-01 00:00:00";

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    /// A store with three published posts (the second tagged `rust`, the third with a file),
    /// as of T0.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO posts (id, title, slug, status, published_at, content) VALUES
                   (1, 'One', 'one', 'published', '2023-01-01 00:00:00', 'one'),
                   (2, 'Two', 'two', 'published', '2023-02-01 00:00:00', 'two'),
                   (3, 'Three', 'three', 'published', '2023-03-01 00:00:00', 'three');
                 INSERT INTO tags (id, name, slug) VALUES (1, 'Rust', 'rust'), (2, 'Go', 'go');
                 INSERT INTO post_tags (post_id, tag_id) VALUES (2, 1);
                 INSERT INTO files (id, filename, original_name, file_path, file_size, mime_type)
                 VALUES (1, 'a.png', 'a.png', 'media/a.png', 1, 'image/png');
                 INSERT INTO post_files (post_id, file_id) VALUES (3, 1);",
            )
            .unwrap();
        (dir, store)
    }

    /// What a build does before its read: raise the watermark, then mark.
    fn build(conn: &Connection) -> ChangeMark {
        watch(conn).unwrap();
        mark(conn).unwrap()
    }

    fn changed(conn: &Connection, m: &ChangeMark) -> Changes {
        since(conn, m, at(T0), at(T0), 100).unwrap()
    }

    /// What a build marked just before `sql` ran sees changed.
    fn after(conn: &Connection, sql: &str) -> Changes {
        let m = build(conn);
        conn.execute_batch(sql).unwrap();
        changed(conn, &m)
    }

    fn posts(ids: &[i64]) -> Changes {
        Changes::Posts(ids.to_vec())
    }

    fn everything_because(c: Changes, why: &str) {
        match c {
            Changes::Everything(s) => assert!(s.contains(why), "{s}"),
            other => panic!("expected Everything ({why}), got {other:?}"),
        }
    }

    fn log_len(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM site_changes", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_fresh_mark_sees_nothing_changed() {
        let (_d, s) = store();
        let m = build(&s.conn);
        assert_eq!(m.watched, 3);
        assert_eq!(changed(&s.conn, &m), posts(&[]));
    }

    #[test]
    fn an_update_of_the_content_logs_the_post() {
        let (_d, s) = store();
        assert_eq!(
            after(&s.conn, "UPDATE posts SET content = 'new' WHERE id = 2"),
            posts(&[2])
        );
        assert_eq!(
            after(&s.conn, "UPDATE posts SET status = 'draft' WHERE id = 1"),
            posts(&[1])
        );
    }

    #[test]
    fn an_update_to_the_same_values_logs_nothing() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute(
                "UPDATE posts SET title = title, content = content, slug = slug,
                                  published_at = published_at, deleted_at = deleted_at",
                [],
            )
            .unwrap();
        assert_eq!(log_len(&s.conn), 0);
        assert_eq!(changed(&s.conn, &m), posts(&[]));
        // The same statement with one real change logs just that post.
        s.conn
            .execute(
                "UPDATE posts SET title = title || CASE id WHEN 3 THEN '!' ELSE '' END",
                [],
            )
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[3]));
    }

    #[test]
    fn an_update_of_columns_the_build_does_not_read_logs_nothing() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute_batch(
                "UPDATE posts SET view_count = view_count + 1, source_path = 'x.md',
                                  source_hash = 'h' WHERE id = 1;
                 UPDATE tags SET created_at = '2020-01-01 00:00:00';
                 UPDATE users SET email = 'new@localhost', updated_at = '2020-01-01 00:00:00';
                 UPDATE files SET file_size = 2;
                 INSERT INTO tags (name, slug) VALUES ('New', 'new');
                 INSERT INTO categories (name, slug) VALUES ('New', 'new');",
            )
            .unwrap();
        assert_eq!(log_len(&s.conn), 0);
        assert_eq!(changed(&s.conn, &m), posts(&[]));
        s.conn
            .execute("UPDATE posts SET extra = '{\"a\":1}' WHERE id = 1", [])
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[1]));
    }

    #[test]
    fn tag_links_inserted_deleted_or_moved_log_their_posts() {
        let (_d, s) = store();
        assert_eq!(
            after(
                &s.conn,
                "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 2)"
            ),
            posts(&[1])
        );
        assert_eq!(
            after(&s.conn, "DELETE FROM post_tags WHERE post_id = 2"),
            posts(&[2])
        );
        assert_eq!(
            after(
                &s.conn,
                "UPDATE post_tags SET post_id = 3 WHERE post_id = 1"
            ),
            posts(&[1, 3])
        );
    }

    #[test]
    fn every_link_table_logs_its_inserts_updates_and_deletes() {
        let (_d, s) = store();
        s.conn
            .execute_batch(
                "INSERT INTO categories (id, name, slug) VALUES (1, 'C', 'c'), (2, 'D', 'd');
                 INSERT INTO tags (id, name, slug) VALUES (3, 'Zig', 'zig');
                 INSERT INTO files (id, filename, original_name, file_path, file_size, mime_type)
                 VALUES (2, 'b.png', 'b.png', 'media/b.png', 1, 'image/png'),
                        (3, 'c.png', 'c.png', 'media/c.png', 1, 'image/png');",
            )
            .unwrap();
        for (table, column, a, b) in [
            ("post_categories", "category_id", "1", "2"),
            ("post_tags", "tag_id", "2", "3"),
            ("post_aliases", "path", "'/x/'", "'/y/'"),
            ("post_files", "file_id", "2", "3"),
        ] {
            let step = |sql: String, ids: &[i64]| {
                let m = build(&s.conn);
                s.conn.execute(&sql, []).unwrap();
                assert_eq!(changed(&s.conn, &m), posts(ids), "{sql}");
            };
            step(
                format!("INSERT INTO {table} (post_id, {column}) VALUES (1, {a})"),
                &[1],
            );
            step(
                format!("UPDATE {table} SET post_id = 2 WHERE post_id = 1"),
                &[1, 2],
            );
            step(
                format!("UPDATE {table} SET {column} = {b} WHERE {column} = {a}"),
                &[2],
            );
            step(format!("DELETE FROM {table} WHERE {column} = {b}"), &[2]);
        }
    }

    #[test]
    fn deleting_a_post_logs_it_and_its_cascaded_links() {
        let (_d, s) = store();
        assert_eq!(
            after(&s.conn, "DELETE FROM posts WHERE id = 2"),
            posts(&[2])
        );
        // SQLite fires the link table's triggers for the rows ON DELETE CASCADE removes.
        let sources: Vec<String> = s
            .conn
            .prepare("SELECT source FROM site_changes ORDER BY source")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(sources, ["post_tags", "posts"]);
    }

    #[test]
    fn a_renamed_or_moved_file_logs_the_posts_that_show_it() {
        let (_d, s) = store();
        assert_eq!(
            after(&s.conn, "UPDATE files SET file_path = 'media/b.png'"),
            posts(&[3])
        );
        // Deleted with foreign keys off (the sqlite3 shell's default) its link stays, and the
        // post that showed it is logged.
        let m = build(&s.conn);
        s.conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF; DELETE FROM files; PRAGMA foreign_keys = ON;",
            )
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[3]));
    }

    #[test]
    fn a_tag_category_or_user_change_is_everything() {
        let (_d, s) = store();
        s.conn
            .execute_batch(
                "INSERT INTO categories (id, name, slug) VALUES (1, 'C', 'c'), (2, 'D', 'd');
                 INSERT INTO users (id, name, email, role_id) VALUES (2, 'B', 'b@x', 3);",
            )
            .unwrap();
        for (sql, table) in [
            ("UPDATE tags SET name = 'Rust lang' WHERE id = 1", "tags"),
            ("DELETE FROM tags WHERE id = 2", "tags"),
            (
                "UPDATE categories SET parent_id = 1 WHERE id = 2",
                "categories",
            ),
            ("DELETE FROM categories WHERE id = 2", "categories"),
            ("UPDATE users SET bio = 'Writes.' WHERE id = 1", "users"),
            ("DELETE FROM users WHERE id = 2", "users"),
        ] {
            everything_because(after(&s.conn, sql), &format!("a row of {table} changed"));
        }
    }

    #[test]
    fn new_posts_above_the_watermark_are_not_logged_but_are_changes() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute_batch(
                "INSERT INTO posts (id, title, slug) VALUES (4, 'Four', 'four'), (5, 'Five', 'five');
                 INSERT INTO post_tags (post_id, tag_id) VALUES (4, 1), (5, 1);
                 INSERT INTO post_aliases (post_id, path) VALUES (4, '/four/');
                 UPDATE posts SET content = 'x' WHERE id = 5;",
            )
            .unwrap();
        assert_eq!(log_len(&s.conn), 0);
        assert_eq!(changed(&s.conn, &m), posts(&[4, 5]));
        // The next build watches them: from then on they are logged.
        let m = build(&s.conn);
        assert_eq!(m.watched, 5);
        s.conn
            .execute("DELETE FROM post_tags WHERE post_id = 5", [])
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[5]));
    }

    #[test]
    fn a_post_inserted_below_the_watermark_is_logged() {
        let (_d, s) = store();
        s.conn
            .execute("DELETE FROM posts WHERE id = 2", [])
            .unwrap();
        let m = build(&s.conn);
        s.conn
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (2, 'Again', 'again')",
                [],
            )
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[2]));
    }

    #[test]
    fn a_post_read_above_the_watermark_then_deleted_is_logged() {
        let (_d, s) = store();
        watch(&s.conn).unwrap();
        // Another writer inserts a post between the build's watch and its read.
        s.conn
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (4, 'Four', 'four')",
                [],
            )
            .unwrap();
        let m = mark(&s.conn).unwrap();
        assert_eq!(m.watched, 3);
        s.conn
            .execute("DELETE FROM posts WHERE id = 4", [])
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[4]));
    }

    #[test]
    fn a_changed_post_id_logs_both_ids() {
        let (_d, s) = store();
        assert_eq!(
            after(&s.conn, "UPDATE posts SET id = 7 WHERE id = 1"),
            posts(&[1, 7])
        );
    }

    #[test]
    fn watch_writes_only_when_there_are_new_posts() {
        let (_d, s) = store();
        watch(&s.conn).unwrap();
        let before = s.conn.total_changes();
        watch(&s.conn).unwrap();
        assert_eq!(s.conn.total_changes(), before);
        s.conn
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (9, 'Nine', 'nine')",
                [],
            )
            .unwrap();
        watch(&s.conn).unwrap();
        assert_eq!(mark(&s.conn).unwrap().watched, 9);
    }

    #[test]
    fn a_lost_state_row_comes_back_and_earlier_marks_read_everything() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute("DELETE FROM site_changes_state", [])
            .unwrap();
        everything_because(changed(&s.conn, &m), "older than the last build's mark");
        // Nothing is logged while it is gone.
        s.conn
            .execute("UPDATE posts SET content = 'x' WHERE id = 1", [])
            .unwrap();
        let m2 = build(&s.conn);
        assert_eq!(m2.watched, 3);
        everything_because(changed(&s.conn, &m), "the change log's state row was lost");
        assert_eq!(changed(&s.conn, &m2), posts(&[]));
    }

    #[test]
    fn pruning_past_a_mark_is_everything_for_it() {
        let (_d, s) = store();
        let old = build(&s.conn);
        // KEEP + 1 entries: one per alias of post 1.
        s.conn
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= ?1)
                 INSERT INTO post_aliases (post_id, path) SELECT 1, '/a/' || i || '/' FROM n",
                [KEEP],
            )
            .unwrap();
        assert_eq!(log_len(&s.conn), KEEP + 1);
        let m = build(&s.conn);
        // Up to KEEP entries before a mark stay.
        prune(&s.conn, m.seq - 1).unwrap();
        assert_eq!(log_len(&s.conn), KEEP + 1);
        prune(&s.conn, m.seq).unwrap();
        // The newest entry stays, so seqs keep growing.
        assert_eq!(log_len(&s.conn), 1);
        everything_because(changed(&s.conn, &old), "pruned past the last build's mark");
        assert_eq!(changed(&s.conn, &m), posts(&[]));
        s.conn
            .execute("UPDATE posts SET content = 'x' WHERE id = 2", [])
            .unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[2]));
        assert!(mark(&s.conn).unwrap().seq > m.seq);
    }

    #[test]
    fn a_post_coming_due_between_the_builds_is_everything() {
        let (_d, s) = store();
        s.conn
            .execute_batch(
                "INSERT INTO posts (id, title, slug, status, published_at)
                 VALUES (4, 'Later', 'later', 'published', '2024-06-01 00:00:00');
                 INSERT INTO posts (id, title, slug, status, created_at)
                 VALUES (5, 'Undated', 'undated', 'published', '2024-09-01 00:00:00');",
            )
            .unwrap();
        let m = build(&s.conn);
        assert_eq!(since(&s.conn, &m, at(T0), at(T0), 100).unwrap(), posts(&[]));
        everything_because(
            since(&s.conn, &m, at(T0), at(T1), 100).unwrap(),
            "post 4 went live between",
        );
        // A post without published_at goes live on its created_at.
        everything_because(
            since(&s.conn, &m, at(T1), at(T2), 100).unwrap(),
            "post 5 went live between",
        );
        // A post that changed anyway is re-read: no need to read everything for it.
        s.conn
            .execute("UPDATE posts SET title = 'Later!' WHERE id = 4", [])
            .unwrap();
        assert_eq!(
            since(&s.conn, &m, at(T0), at(T1), 100).unwrap(),
            posts(&[4])
        );
        // A draft, or a deleted post, does not go live.
        s.conn
            .execute("UPDATE posts SET status = 'draft' WHERE id = 5", [])
            .unwrap();
        assert_eq!(
            since(&s.conn, &m, at(T1), at(T2), 100).unwrap(),
            posts(&[4, 5])
        );
        let m = build(&s.conn);
        assert_eq!(since(&s.conn, &m, at(T1), at(T2), 100).unwrap(), posts(&[]));
        everything_because(
            since(&s.conn, &m, at(T2), at(T1), 100).unwrap(),
            "clock went back",
        );
    }

    #[test]
    fn more_than_limit_posts_is_everything() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute("UPDATE posts SET content = content || '!'", [])
            .unwrap();
        s.conn
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (4, 'Four', 'four')",
                [],
            )
            .unwrap();
        assert_eq!(
            since(&s.conn, &m, at(T0), at(T0), 4).unwrap(),
            posts(&[1, 2, 3, 4])
        );
        everything_because(
            since(&s.conn, &m, at(T0), at(T0), 3).unwrap(),
            "more than 3 posts",
        );
        everything_because(
            since(&s.conn, &m, at(T0), at(T0), 2).unwrap(),
            "more than 2 posts",
        );
    }

    #[test]
    fn triggers_lists_every_trigger_of_the_log() {
        let (_d, s) = store();
        let names: Vec<String> = s
            .conn
            .prepare(
                "SELECT name FROM sqlite_master
                 WHERE type = 'trigger' AND name LIKE 'site_changes%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut listed: Vec<&str> = TRIGGERS.to_vec();
        listed.sort();
        assert_eq!(names, listed);
    }

    #[test]
    fn a_missing_trigger_is_everything() {
        let (_d, s) = store();
        everything_because(
            after(&s.conn, "DROP TRIGGER site_changes_post_tags_insert"),
            "1 of the change log's 27 triggers",
        );
    }

    fn fields(title: &str, slug: &str, tag: &str) -> crate::model::PostFields {
        crate::model::PostFields {
            title: title.to_string(),
            slug: slug.to_string(),
            content: format!("{title} text"),
            status: crate::model::PostStatus::Published,
            published_at: Some("2023-05-01 00:00:00".parse().unwrap()),
            read_time: 1,
            tags: vec![tag.to_string()],
            ..Default::default()
        }
    }

    fn save(
        target: Option<i64>,
        fields: &crate::model::PostFields,
    ) -> crate::store::posts::Save<'_> {
        crate::store::posts::Save {
            target,
            fields,
            author_id: Some(1),
            source_path: Some(format!("{}.md", fields.slug)),
            source_hash: Some("h".to_string()),
            content_hash: crate::store::content_hash(&fields.content),
            files: Some(Vec::new()),
            history: crate::store::posts::History::KeepPrevious,
        }
    }

    /// The import's writer holds the insert triggers off from its first new post, logs the
    /// posts they would have logged, and puts them back.
    #[test]
    fn an_import_logs_what_its_held_triggers_would_have() {
        use crate::store::posts::Writer;
        let (_d, mut s) = store();
        // Post 3 goes after a build watched it: the next new post takes its id, at the
        // watermark.
        build(&s.conn);
        s.conn
            .execute("DELETE FROM posts WHERE id = 3", [])
            .unwrap();
        let m = build(&s.conn);
        assert_eq!(m.watched, 3);
        let before = log_len(&s.conn);
        let tx = s.conn.transaction().unwrap();
        let mut w = Writer::bulk(&tx, T0.parse().unwrap()).unwrap();
        let new = |w: &mut Writer, title: &str, slug: &str| match w
            .save(&save(None, &fields(title, slug, "Rust")))
            .unwrap()
        {
            crate::store::posts::Outcome::New(id) => id,
            other => panic!("{other:?}"),
        };
        assert_eq!(new(&mut w, "Again", "again"), 3);
        assert_eq!(new(&mut w, "Four", "four"), 4);
        // Post 1 gains a tag while the triggers are held.
        w.save(&save(Some(1), &fields("One", "one", "Go"))).unwrap();
        let held: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'site_changes_post_tags_insert'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(held, 0);
        let held = w.finish().unwrap();
        tx.commit().unwrap();
        held.restore(&s.conn).unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[1, 3, 4]));
        // Only the posts at or below the watermark were logged, once each.
        let logged: Vec<(i64, String)> = s
            .conn
            .prepare("SELECT post_id, source FROM site_changes WHERE seq > ?1 ORDER BY seq")
            .unwrap()
            .query_map([m.seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(log_len(&s.conn), before + logged.len() as i64);
        assert!(logged.contains(&(3, "import".to_string())), "{logged:?}");
        assert!(logged.contains(&(1, "import".to_string())), "{logged:?}");
        assert!(!logged.iter().any(|(id, _)| *id == 4), "{logged:?}");
        // The triggers are back.
        assert_eq!(
            after(
                &s.conn,
                "INSERT INTO post_tags (post_id, tag_id) VALUES (4, 2)"
            ),
            posts(&[4])
        );
    }

    #[test]
    fn holding_the_triggers_needs_a_transaction_and_a_rollback_restores_them() {
        let (_d, mut s) = store();
        assert!(hold_inserts(&s.conn).is_err());
        let m = build(&s.conn);
        {
            let tx = s.conn.transaction().unwrap();
            let held = hold_inserts(&tx).unwrap();
            tx.rollback().unwrap();
            let before = s.conn.total_changes();
            held.restore(&s.conn).unwrap();
            assert_eq!(s.conn.total_changes(), before, "nothing to restore");
        }
        assert_eq!(changed(&s.conn, &m), posts(&[]));
    }

    #[test]
    fn triggers_held_past_a_commit_are_everything_until_put_back() {
        let (_d, mut s) = store();
        let m = build(&s.conn);
        let tx = s.conn.transaction().unwrap();
        let held = hold_inserts(&tx).unwrap();
        tx.commit().unwrap();
        everything_because(changed(&s.conn, &m), "5 of the change log's 27 triggers");
        // Put back with no other writer in between: the log is whole.
        held.restore(&s.conn).unwrap();
        assert_eq!(changed(&s.conn, &m), posts(&[]));

        // Another connection writes while they are held: what it wrote may not be logged.
        let m = build(&s.conn);
        let tx = s.conn.transaction().unwrap();
        let held = hold_inserts(&tx).unwrap();
        tx.commit().unwrap();
        let other = Store::connect(s.path()).unwrap();
        other
            .execute("INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1)", [])
            .unwrap();
        held.restore(&s.conn).unwrap();
        everything_because(changed(&s.conn, &m), "another program wrote");

        // Never put back (a crash after the commit): the next build's watch does it.
        let m = build(&s.conn);
        let tx = s.conn.transaction().unwrap();
        hold_inserts(&tx).unwrap();
        tx.commit().unwrap();
        s.conn
            .execute("INSERT INTO post_tags (post_id, tag_id) VALUES (3, 1)", [])
            .unwrap();
        let m2 = build(&s.conn);
        everything_because(
            changed(&s.conn, &m),
            "the change log's triggers were missing",
        );
        assert_eq!(
            after(
                &s.conn,
                "INSERT INTO post_tags (post_id, tag_id) VALUES (3, 2)"
            ),
            posts(&[3])
        );
        assert_eq!(changed(&s.conn, &m2), posts(&[3]));
    }

    #[test]
    fn the_trigger_sql_of_migration_4_is_found_by_name() {
        for name in TRIGGERS {
            let sql = migration_sql(name).unwrap();
            assert!(sql.starts_with(&format!("CREATE TRIGGER {name}")), "{sql}");
            assert!(sql.ends_with("END;"), "{sql}");
            assert_eq!(sql.matches("CREATE TRIGGER").count(), 1, "{sql}");
        }
        assert_eq!(migration_sql("site_changes_posts"), None);
    }

    #[test]
    fn a_restored_store_is_everything_for_the_marks_it_does_not_know() {
        let (_d, s) = store();
        let m = build(&s.conn);
        s.conn
            .execute("UPDATE posts SET content = 'x' WHERE id = 1", [])
            .unwrap();
        let later = build(&s.conn);
        // A backup taken at `m` comes back: `later` saw more of the log than there is.
        s.conn
            .execute_batch(
                "UPDATE posts SET content = 'one' WHERE id = 1; DELETE FROM site_changes;",
            )
            .unwrap();
        everything_because(changed(&s.conn, &later), "older than the last build's mark");
        assert_eq!(changed(&s.conn, &m), posts(&[]));
        s.conn
            .execute("UPDATE site_changes_state SET watched = 2", [])
            .unwrap();
        everything_because(changed(&s.conn, &m), "watermark 2 < 3");
        s.conn
            .execute("UPDATE site_changes_state SET watched = 3", [])
            .unwrap();
        // Edited past `later`'s seq, the log would name too few posts for `later` (post 1
        // went back): a restore calls forget().
        s.conn
            .execute_batch(
                "UPDATE posts SET title = 'A' WHERE id = 2; UPDATE posts SET title = 'B' WHERE id = 2;
                 UPDATE posts SET title = 'C' WHERE id = 2;",
            )
            .unwrap();
        assert_eq!(changed(&s.conn, &later), posts(&[2]));
        forget(&s.conn).unwrap();
        for old in [m, later] {
            everything_because(changed(&s.conn, &old), "the store was replaced");
        }
        // Marks after it read the log as before.
        assert_eq!(
            after(&s.conn, "UPDATE posts SET title = 'D' WHERE id = 2"),
            posts(&[2])
        );
    }
}
