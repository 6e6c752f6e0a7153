//! Early writeback of a store's files during a long write transaction.
//!
//! A large import appends tens of megabytes to the write-ahead log before it commits, and the
//! checkpoint that follows the commit copies as much again into the database file. SQLite
//! (synchronous = NORMAL) syncs the WAL and then the database file only during that
//! checkpoint, so by default the kernel writes everything to disk then, while the importer
//! waits. `Writeback` asks the kernel, every few milliseconds, to start writing what is
//! already in those files (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`: start the writes,
//! wait for none of them), so the disk works while the import still reads, parses and
//! writes. It is a hint only: durability still comes from SQLite's own fsyncs, which this
//! neither skips nor reorders (the kernel may write dirty pages at any time anyway). Linux
//! only; elsewhere it does nothing.
//!
//! None of the store's files is opened or closed here: SQLite holds POSIX locks on the database
//! file, and closing any descriptor of it in this process would release them (the rule holds
//! for the WAL too, so nothing here depends on which file SQLite locks). The writeback goes
//! through the descriptors SQLite already has open, found in `/proc/self/fd` and checked to
//! still be those files (device and inode) before every use; they are borrowed, never closed.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often new pages are handed to the disk.
const PERIOD: Duration = Duration::from_millis(20);

/// Runs until dropped. Drop it before the connection that writes the store is closed.
pub struct Writeback {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The WAL of the store at `db`: SQLite names it after the database, plus `-wal`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

impl Writeback {
    /// Starts the writeback of the store at `db` (its WAL and its database file, while this
    /// process has them open through SQLite).
    pub fn start(db: &Path) -> Writeback {
        let idle = Writeback {
            stop: None,
            thread: None,
        };
        if !cfg!(target_os = "linux") {
            return idle;
        }
        let wal = wal_path(db);
        let db = db.to_path_buf();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("store-writeback".into())
            .spawn(move || {
                let db_fd = sys::open_descriptor_of(&db);
                // SQLite opens the WAL with the first write: look for it until it is there.
                let mut wal_fd = None;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(PERIOD) {
                    if wal_fd.is_none() {
                        wal_fd = sys::open_descriptor_of(&wal);
                    }
                    for fd in [&wal_fd, &db_fd].into_iter().flatten() {
                        fd.start_writeback();
                    }
                }
            });
        match thread {
            Ok(t) => Writeback {
                stop: Some(stop),
                thread: Some(t),
            },
            // Without the thread the import is as it was, only slower to commit.
            Err(_) => idle,
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::fd::RawFd;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    /// Starts writing the file's dirty pages (offset 0, length 0: the whole file). The result
    /// is ignored on purpose: a failed hint leaves the writes to SQLite's fsync, as before.
    fn start(fd: RawFd) {
        // SAFETY: sync_file_range reads no memory of ours; on a descriptor that is not open
        // it fails with EBADF.
        unsafe {
            libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }

    /// A descriptor this process already has open on a file, borrowed (never closed).
    pub struct Borrowed {
        fd: RawFd,
        pub(in super::super) dev: u64,
        pub(in super::super) ino: u64,
    }

    impl Borrowed {
        /// Starts the writeback when the descriptor still refers to the same file.
        pub fn start_writeback(&self) {
            // SAFETY: a zeroed `stat` is a valid value of that plain C struct.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // dev_t and ino_t are not u64 on every Linux target.
            #[allow(clippy::unnecessary_cast)]
            // SAFETY: fstat writes only into `st`; a descriptor that is not open gives EBADF.
            let same = unsafe { libc::fstat(self.fd, &mut st) } == 0
                && st.st_dev as u64 == self.dev
                && st.st_ino as u64 == self.ino;
            if same {
                start(self.fd);
            }
        }
    }

    /// The first descriptor of this process open on `path`'s file (same device and inode).
    pub fn open_descriptor_of(path: &Path) -> Option<Borrowed> {
        let want = std::fs::metadata(path).ok()?;
        for entry in std::fs::read_dir("/proc/self/fd").ok()? {
            let Ok(entry) = entry else { continue };
            let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // Following the link stats the open file itself, deleted or renamed or not.
            let Ok(m) = std::fs::metadata(entry.path()) else {
                continue;
            };
            if m.dev() == want.dev() && m.ino() == want.ino() {
                return Some(Borrowed {
                    fd,
                    dev: want.dev(),
                    ino: want.ino(),
                });
            }
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::path::Path;

    pub struct Borrowed;

    impl Borrowed {
        pub fn start_writeback(&self) {}
    }

    pub fn open_descriptor_of(_path: &Path) -> Option<Borrowed> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_is_named_after_the_database() {
        assert_eq!(
            wal_path(Path::new("site/bloggo.sqlite")),
            PathBuf::from("site/bloggo.sqlite-wal")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_the_descriptor_sqlite_has_open_and_only_that_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.sqlite");
        let other = dir.path().join("other.sqlite");
        std::fs::write(&other, b"").unwrap();
        assert!(sys::open_descriptor_of(&db).is_none(), "no such file yet");
        assert!(sys::open_descriptor_of(&other).is_none(), "not open here");
        let conn = crate::store::Store::connect(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let fd = sys::open_descriptor_of(&db).expect("SQLite has the file open");
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&db).unwrap();
        assert_eq!((fd.dev, fd.ino), (m.dev(), m.ino()));
        assert!(
            sys::open_descriptor_of(&wal_path(&db)).is_some(),
            "SQLite has the WAL open: it is borrowed, never opened here"
        );
        // Runs and stops while the connection writes.
        let wb = Writeback::start(&db);
        conn.execute_batch("INSERT INTO t VALUES (2);").unwrap();
        drop(wb);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
