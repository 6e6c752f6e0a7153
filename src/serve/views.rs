//! The view writer: one thread owns the store connection for views and commits them in short
//! batched transactions, so request threads only put a view on a channel.
//!
//! A view waits at most `flush_interval` before its batch is committed. A batch that cannot be
//! committed yet (another process holds the store's write lock beyond the busy timeout, a full
//! disk) is retried until it can be: the queue behind it fills and requests wait for room, but
//! no view that was answered is dropped while the server runs. When every sender is dropped
//! (the server stopped accepting and its workers finished), the writer commits what is left,
//! retrying for at most [`SHUTDOWN_RETRY`], and returns, so a clean shutdown loses nothing
//! that was queued.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::store::views::NewView;
use crate::store::Store;

/// Most views per transaction.
const MAX_BATCH: usize = 4096;
/// Most views queued before request threads wait for the writer: four batches, a few MB. A
/// deeper queue only grows memory (and what a kill loses) when views arrive faster than the
/// store takes them; a full queue slows the requests down to the writer's pace instead.
const QUEUE: usize = 4 * MAX_BATCH;

/// How long a stopping server keeps retrying the views it could not commit yet.
const SHUTDOWN_RETRY: Duration = Duration::from_secs(60);
/// The longest pause between two tries of a batch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Where request threads send views.
#[derive(Clone)]
pub struct ViewSender(SyncSender<NewView>);

impl ViewSender {
    /// Queues a view; fails only when the writer is gone.
    pub fn send(&self, view: NewView) -> bool {
        self.0.send(view).is_ok()
    }

    /// Queues a view if there is room: `Err(view)` back when the queue is full (an async
    /// caller then waits with [`ViewSender::send`] off its event loop), `Ok(false)` when the
    /// writer is gone.
    pub fn try_send(&self, view: NewView) -> Result<bool, NewView> {
        match self.0.try_send(view) {
            Ok(()) => Ok(true),
            Err(std::sync::mpsc::TrySendError::Full(v)) => Err(v),
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => Ok(false),
        }
    }
}

/// What the writer did, returned when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterReport {
    pub recorded: u64,
    pub batches: u64,
    /// Views that could not be written even after retries (reported on stderr).
    pub lost: u64,
    /// Views of posts another program deleted from the store before they were written.
    pub skipped: u64,
}

/// Starts the writer thread on its own connection.
pub fn spawn_writer(
    store: Store,
    flush_interval: Duration,
) -> std::io::Result<(ViewSender, JoinHandle<WriterReport>)> {
    let (tx, rx) = sync_channel(QUEUE);
    let handle = std::thread::Builder::new()
        .name("bloggo-views".into())
        .spawn(move || writer_loop(store, rx, flush_interval))?;
    Ok((ViewSender(tx), handle))
}

fn writer_loop(mut store: Store, rx: Receiver<NewView>, flush: Duration) -> WriterReport {
    let mut report = WriterReport::default();
    let mut batch: Vec<NewView> = Vec::with_capacity(MAX_BATCH);
    let mut open = true;
    while open {
        // Wait for the first view of a batch, then gather more until the flush deadline.
        match rx.recv() {
            Ok(v) => batch.push(v),
            Err(_) => break,
        }
        let deadline = Instant::now() + flush;
        while batch.len() < MAX_BATCH {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(v) => batch.push(v),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if open {
            commit(&mut store, &mut batch, &mut report, None);
        }
    }
    // Senders are gone: whatever is still queued is the last batch.
    let give_up = Instant::now() + SHUTDOWN_RETRY;
    batch.extend(rx.try_iter());
    while !batch.is_empty() {
        let rest = batch.split_off(batch.len().min(MAX_BATCH));
        commit(&mut store, &mut batch, &mut report, Some(give_up));
        batch = rest;
    }
    report
}

/// Commits a batch, retrying while it cannot be written (a busy store, a full disk being
/// freed): until it is written, or until `give_up` when the server is stopping.
fn commit(
    store: &mut Store,
    batch: &mut Vec<NewView>,
    report: &mut WriterReport,
    give_up: Option<Instant>,
) {
    if batch.is_empty() {
        return;
    }
    let mut pause = Duration::from_millis(100);
    for attempt in 1u64.. {
        match store.record_views(batch) {
            Ok(skipped) => {
                report.recorded += (batch.len() - skipped) as u64;
                report.skipped += skipped as u64;
                report.batches += 1;
                batch.clear();
                return;
            }
            Err(e) if give_up.is_some_and(|t| Instant::now() + pause > t) => {
                eprintln!(
                    "views: {} views could not be recorded ({e}); they are dropped",
                    batch.len()
                );
                report.lost += batch.len() as u64;
                batch.clear();
                return;
            }
            Err(e) => {
                // Said once, then every tenth try, so a long wait does not flood the terminal.
                if attempt % 10 == 1 {
                    eprintln!(
                        "views: cannot record {} views yet ({e}); they stay queued and are retried",
                        batch.len()
                    );
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::views::DeviceClass;

    #[test]
    fn every_queued_view_is_written_when_senders_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let store = Store::open(&path, true).unwrap();
        store
            .test_conn()
            .execute(
                "INSERT INTO posts (id, title, slug) VALUES (1, 'A', 'a')",
                [],
            )
            .unwrap();
        let (tx, handle) =
            spawn_writer(Store::attach(&path).unwrap(), Duration::from_secs(60)).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for _ in 0..2500 {
                        assert!(tx.send(NewView {
                            post_id: 1,
                            ip: "h:0".into(),
                            user_agent: "ua".into(),
                            referrer: None,
                            viewed_at: "2026-01-01 00:00:00".parse().unwrap(),
                            device: DeviceClass::Mobile,
                        }));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(tx);
        let report = handle.join().unwrap();
        assert_eq!(report.recorded, 10_000);
        assert_eq!(report.lost, 0);
        let n: i64 = store
            .test_conn()
            .query_row("SELECT mobile_views FROM post_statistics", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 10_000);
    }

    #[test]
    fn a_view_of_a_post_deleted_meanwhile_does_not_lose_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let store = Store::open(&path, true).unwrap();
        store
            .test_conn()
            .execute_batch(
                "INSERT INTO posts (id, title, slug) VALUES (1, 'A', 'a'), (2, 'B', 'b')",
            )
            .unwrap();
        let (tx, handle) =
            spawn_writer(Store::attach(&path).unwrap(), Duration::from_secs(60)).unwrap();
        let view = |post_id| NewView {
            post_id,
            ip: "h:0".into(),
            user_agent: "ua".into(),
            referrer: None,
            viewed_at: "2026-01-01 00:00:00".parse().unwrap(),
            device: DeviceClass::Desktop,
        };
        assert!(tx.send(view(1)));
        assert!(tx.send(view(2)));
        assert!(tx.send(view(1)));
        // Purged by another program before the batch is written.
        store
            .test_conn()
            .execute("DELETE FROM posts WHERE id = 2", [])
            .unwrap();
        drop(tx);
        let report = handle.join().unwrap();
        assert_eq!((report.recorded, report.skipped, report.lost), (2, 1, 0));
        let n: i64 = store
            .test_conn()
            .query_row(
                "SELECT count(*) FROM post_views WHERE post_id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }
}
