//! The SQL of `bloggo views ingest`: each batch of views read from access logs is recorded in
//! one transaction together with the keys of the lines they came from (`ingested_views`), and
//! a view whose key is already there (the same line read before) is left out.

use rusqlite::params;

use super::views::{record_in, DeviceClass, NewView};
use super::{Store, StoreError};

/// The key of a counted log line: its time and a hash of the line (see `ingest::dedupe`).
pub type LineKey = [u8; 16];

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestedBatch {
    /// Views recorded, by device class: desktop, mobile, tablet.
    pub recorded: [u64; 3],
    /// Views whose line was counted before (or twice in this batch).
    pub duplicates: u64,
    /// Views of posts deleted from the store meanwhile.
    pub gone: u64,
}

impl Store {
    /// A migrated store for the ingest's writer, with a page cache of 128 MB (a large log adds
    /// rows to five B-trees at once: `post_views`, its indexes, the keys) and a WAL
    /// checkpointed every 64 MB rather than every 4 MB (pages written by one batch and the
    /// next are copied into the store once).
    pub fn open_ingest_writer(path: &std::path::Path) -> Result<Store, StoreError> {
        let store = Store::open(path, false)?;
        store
            .conn
            .execute_batch("PRAGMA cache_size = -131072; PRAGMA wal_autocheckpoint = 16384;")?;
        Ok(store)
    }

    /// Records the views of a batch whose line keys are new, with their keys, in one
    /// transaction: either the whole batch is counted and remembered, or none of it.
    pub fn record_ingested(
        &mut self,
        views: &[(LineKey, NewView)],
    ) -> Result<IngestedBatch, StoreError> {
        let tx = self.conn.transaction()?;
        let mut fresh = Vec::with_capacity(views.len());
        {
            let mut remember =
                tx.prepare_cached("INSERT OR IGNORE INTO ingested_views (key) VALUES (?1)")?;
            for (key, view) in views {
                if remember.execute(params![&key[..]])? == 1 {
                    fresh.push(view.clone());
                }
            }
        }
        let gone = record_in(&tx, &fresh)?;
        tx.commit()?;
        let mut recorded = [0; 3];
        for (i, v) in fresh.iter().enumerate() {
            if !gone.contains(&i) {
                recorded[match v.device {
                    DeviceClass::Desktop => 0,
                    DeviceClass::Mobile => 1,
                    DeviceClass::Tablet => 2,
                }] += 1;
            }
        }
        Ok(IngestedBatch {
            recorded,
            duplicates: (views.len() - fresh.len()) as u64,
            gone: gone.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(post_id: i64) -> NewView {
        NewView {
            post_id,
            ip: "h:0".into(),
            user_agent: "ua".into(),
            referrer: None,
            viewed_at: "2026-01-01 00:00:00".parse().unwrap(),
            device: DeviceClass::Tablet,
        }
    }

    #[test]
    fn a_line_is_counted_once_however_often_it_comes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite"), true).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (1, 'A', 'a')",
                [],
            )
            .unwrap();
        let batch = [([1; 16], view(1)), ([2; 16], view(1)), ([1; 16], view(1))];
        let first = store.record_ingested(&batch).unwrap();
        assert_eq!((first.recorded, first.duplicates), ([0, 0, 2], 1));
        let again = store.record_ingested(&batch[..2]).unwrap();
        assert_eq!((again.recorded, again.duplicates), ([0; 3], 2));
        let one_gone = store.record_ingested(&[([3; 16], view(9))]).unwrap();
        assert_eq!((one_gone.recorded, one_gone.gone), ([0; 3], 1));
        let n: i64 = store
            .conn
            .query_row("SELECT tablet_views FROM post_statistics", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
