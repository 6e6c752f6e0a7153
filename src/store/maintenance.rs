//! Keeping the store's file healthy: the query planner's statistics (`PRAGMA optimize`, and
//! `ANALYZE` on demand) and giving free pages back (`VACUUM`), with the sizes before and after.
//!
//! `bloggo db optimize` runs them; a long session (`bloggo serve`) runs `PRAGMA optimize` when
//! it closes the store, as SQLite advises for connections that live long.

use rusqlite::Connection;

/// The store file's size, as SQLite counts its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Bytes of the database (pages × page size), free pages included.
    pub bytes: i64,
    /// Bytes in pages that hold nothing (what `VACUUM` gives back).
    pub free: i64,
}

/// What [`super::Store::optimize`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Optimized {
    pub before: Size,
    pub after: Size,
    /// Tables whose statistics were gathered (`ANALYZE` ran for them).
    pub analyzed: bool,
    pub vacuumed: bool,
}

fn size(conn: &Connection) -> rusqlite::Result<Size> {
    let (pages, free, page): (i64, i64, i64) = conn.query_row(
        "SELECT (SELECT page_count FROM pragma_page_count()),
                (SELECT freelist_count FROM pragma_freelist_count()),
                (SELECT page_size FROM pragma_page_size())",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Size {
        bytes: pages * page,
        free: free * page,
    })
}

impl super::Store {
    /// Gathers the planner's statistics: all of them with `analyze` (`ANALYZE`), else those
    /// SQLite judges stale (`PRAGMA optimize`); with `vacuum`, rewrites the file without its
    /// free pages (`VACUUM`: it needs as much free disk as the store takes, and holds the
    /// write lock while it runs).
    pub fn optimize(&self, analyze: bool, vacuum: bool) -> rusqlite::Result<Optimized> {
        let before = size(&self.conn)?;
        if analyze {
            self.conn.execute_batch("ANALYZE")?;
        } else {
            self.conn.execute_batch("PRAGMA optimize")?;
        }
        if vacuum {
            self.conn.execute_batch("VACUUM")?;
            // The WAL holds the rewritten pages until a checkpoint puts them in the file.
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(Optimized {
            before,
            after: size(&self.conn)?,
            analyzed: analyze,
            vacuumed: vacuum,
        })
    }

    /// The audit row of a maintenance command (`migrate.reset`, `db.optimize`): no user (the
    /// site's operator ran it), `details` a JSON object.
    pub fn audit_maintenance(
        &self,
        action: &str,
        details: &serde_json::Value,
    ) -> rusqlite::Result<()> {
        super::content::audit::append(
            &self.conn,
            &super::content::audit::NewEntry {
                user_id: None,
                action,
                resource_type: "store",
                resource_id: None,
                old_values: None,
                new_values: Some(details),
                client: None,
                at: crate::model::Timestamp::now(),
            },
        )
    }

    /// `PRAGMA optimize`, as a long session closes the store; a failure is not worth more
    /// than a warning (the statistics are only a help to the planner).
    pub fn optimize_on_close(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("PRAGMA optimize")
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn optimize_gathers_statistics_and_vacuum_gives_free_pages_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        let body = "x".repeat(4000);
        for i in 0..200 {
            store
                .conn
                .execute(
                    "INSERT INTO posts (title, slug, content) VALUES (?1, ?1, ?2)",
                    rusqlite::params![format!("p{i}"), body],
                )
                .unwrap();
        }
        store.conn.execute("DELETE FROM posts", []).unwrap();
        let done = store.optimize(true, true).unwrap();
        assert!(done.before.free > 0, "{done:?}");
        assert_eq!(done.after.free, 0, "{done:?}");
        assert!(done.after.bytes < done.before.bytes, "{done:?}");
        let stats: i64 = store
            .conn
            .query_row("SELECT count(*) FROM sqlite_stat1", [], |r| r.get(0))
            .unwrap();
        assert!(stats > 0);
        let quick = store.optimize(false, false).unwrap();
        assert!(!quick.vacuumed && !quick.analyzed);
        store.optimize_on_close().unwrap();
    }
}
