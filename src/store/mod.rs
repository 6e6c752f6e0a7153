//! The content store: the only module that talks SQL.
//!
//! `Store::open` checks the file is a SQLite database that this bloggo can use, sets the
//! connection pragmas and brings the schema up to date. Query modules for each area of the
//! blog live beside this file. The connection never leaves `store/`: a unit of work is a
//! closure run by `Store::write` or `Store::read` (`tx.rs`), and the query functions take
//! its `Tx`.

pub mod check;
pub mod migrate;
mod tx;

pub use tx::Tx;

// Query modules, one per area: import (posts), build (site snapshot), serve (views),
// backup (online copy, audit rows), content management (content); the change log a delta
// build reads (changes); what bloggo remembers between runs (kv); webhooks and their delivery
// queue (webhooks).
pub mod backup;
pub mod changes;
pub mod content;
pub mod ingest;
pub mod kv;
pub mod maintenance;
pub mod posts;
pub mod sections;
pub mod site;
mod types;
pub mod views;
pub mod webhooks;
pub mod writeback;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use thiserror::Error;

/// Errors opening or migrating a store, typed because callers (and tests) branch on them.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: not a SQLite database (the file exists but its header is not SQLite's); point --site at the right folder or move the file away")]
    NotADatabase { path: PathBuf },
    #[error("{path}: written by a newer bloggo (schema version {found}, this bloggo knows up to {known}); upgrade bloggo to use this store")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path}: applied migration {version} ({name}) has changed since it was applied; never edit an applied migration, add a new one instead")]
    TamperedMigration {
        path: PathBuf,
        version: i64,
        name: String,
    },
    #[error("{path}: cannot write here ({reason}); make the file and its folder writable, or work on a copy")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("{path}: no store here; run `bloggo init` to create a site, or pass --site DIR")]
    Missing { path: PathBuf },
    #[error("{path}: cannot write ({reason}); the disk may be full or failing: free some space and try again")]
    Disk { path: PathBuf, reason: String },
    #[error("migration {version} ({name}) failed")]
    Migration {
        version: i64,
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How long a connection waits for another writer before giving up, unless
/// `BLOGGO_BUSY_TIMEOUT` says otherwise (see [`busy_timeout`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long every connection of this process waits for another writer: [`BUSY_TIMEOUT`], or
/// the seconds in the `BLOGGO_BUSY_TIMEOUT` environment variable (e.g. `2`, `0.5`, `60`), for
/// scripts that would rather fail fast, or wait longer behind a slow writer. Read once.
pub fn busy_timeout() -> Duration {
    static TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var("BLOGGO_BUSY_TIMEOUT")
            .ok()
            .and_then(|v| parse_seconds(&v))
            .unwrap_or(BUSY_TIMEOUT)
    })
}

/// A number of seconds (`2`, `0.5`) as a duration; `None` for anything else.
fn parse_seconds(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// Whether an error, or any cause under it, is SQLite's `SQLITE_FULL` (the disk holding the
/// store, or its temporary files, is full).
pub fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let full = |q: &rusqlite::Error| q.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(q) = c.downcast_ref::<rusqlite::Error>() {
            return full(q);
        }
        if let Some(StoreError::Sqlite(q)) = c.downcast_ref::<StoreError>() {
            return full(q);
        }
        cause = c.source();
    }
    false
}

/// An open, migrated store. Its connection stays inside `store/`: callers go through
/// `write`/`read` (see `tx.rs`) and the store's methods.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What `posts.content_hash` holds for a post's markdown: its BLAKE3, in hex. Writers store it
/// with the content so a build can tell which posts changed without reading their markdown.
pub fn content_hash(content: &str) -> String {
    blake3::hash(content.as_bytes()).to_hex().to_string()
}

/// The pragmas every read-write connection runs with (after its busy timeout is set).
fn apply_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32768;
         PRAGMA mmap_size = 268435456;",
    )?;
    // journal_mode returns a row; a read-only database keeps its mode.
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    Ok(())
}

/// Checks, through SQLite, that the file at `path` is a database SQLite can read (an empty
/// file is a new database). Run it first on every new connection.
///
/// The header is never read with `std::fs`: SQLite's POSIX locks belong to the process, and
/// closing *any* descriptor of the database file drops every lock this process holds on it
/// ("How To Corrupt An SQLite Database File", 2.2). Another process would then think nobody
/// uses the store, checkpoint it and delete the WAL that our open connections still write.
fn check_database(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|_| ())
    .map_err(|e| classify(path, e))
}

/// Refuses a store (or, when it does not exist yet, its folder) that cannot be written.
///
/// Write bits are checked rather than access(2), so a store marked read-only is refused for
/// every user, root included; a read-only mount is caught when SQLite first writes.
pub fn check_writable(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let read_only = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().readonly())
            .unwrap_or(false)
    };
    if !dir.exists() {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: format!("its folder {} does not exist", dir.display()),
        });
    }
    if read_only(dir) {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: format!("its folder {} is read-only", dir.display()),
        });
    }
    if path.exists() && read_only(path) {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: "the file is read-only".to_string(),
        });
    }
    Ok(())
}

impl Store {
    /// Opens an existing store, or creates it when `create` is set, and migrates it.
    pub fn open(path: &Path, create: bool) -> Result<Store, StoreError> {
        if !create && !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        check_writable(path)?;
        let mut conn = Self::connect(path)?;
        migrate::up(&mut conn, path, None).map_err(|e| match e {
            StoreError::Sqlite(e) => classify(path, e),
            other => other,
        })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing store and checks its migrations, without applying any
    /// (for `migrate` itself, which decides what to apply).
    pub fn open_unmigrated(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        check_writable(path)?;
        let conn = Self::connect(path)?;
        migrate::status(&conn, path).map_err(|e| match e {
            StoreError::Sqlite(e) => classify(path, e),
            other => other,
        })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A second connection to the same store (a writer thread, a read snapshot).
    pub fn connect(path: &Path) -> Result<Connection, StoreError> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        conn.busy_timeout(busy_timeout())?;
        check_database(&conn, path)?;
        apply_pragmas(&conn).map_err(|e| classify(path, e))?;
        // A write transaction takes the write lock when it begins, and waits its busy timeout
        // for it there. A deferred one would read first and then fail to upgrade
        // ("cannot promote read transaction") when another process wrote meanwhile. Reads
        // that want one snapshot ask for `TransactionBehavior::Deferred` themselves.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        Ok(conn)
    }

    /// A read-only connection that never creates or migrates anything.
    pub fn connect_read_only(path: &Path) -> Result<Connection, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        conn.busy_timeout(busy_timeout())?;
        check_database(&conn, path)?;
        Ok(conn)
    }

    /// Another handle on an existing store, already migrated by whoever opened it first: for
    /// a thread of its own (the view writer) or a read snapshot beside a writer.
    pub fn attach(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            conn: Self::connect(path)?,
            path: path.to_path_buf(),
        })
    }

    /// A read-only handle that never creates or migrates anything.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            conn: Self::connect_read_only(path)?,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks the store's change log as untrustworthy for a delta build (the store was
    /// replaced by a restored backup or a recovered copy).
    pub fn forget_changes(&self) -> Result<(), StoreError> {
        Ok(changes::forget(&self.conn)?)
    }

    /// The connection itself, for unit tests' fixtures and checks only: the program goes
    /// through the store's functions.
    #[cfg(test)]
    pub(crate) fn test_conn(&self) -> &Connection {
        &self.conn
    }
}

/// Turns SQLite's "file is not a database" into the typed error.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::NotADatabase {
            return StoreError::NotADatabase {
                path: path.to_path_buf(),
            };
        }
        if f.code == rusqlite::ErrorCode::ReadOnly || f.code == rusqlite::ErrorCode::CannotOpen {
            return StoreError::ReadOnly {
                path: path.to_path_buf(),
                reason: e.to_string(),
            };
        }
        if f.code == rusqlite::ErrorCode::DiskFull || f.code == rusqlite::ErrorCode::SystemIoFailure
        {
            return StoreError::Disk {
                path: path.to_path_buf(),
                reason: e.to_string(),
            };
        }
    }
    StoreError::Sqlite(e)
}

/// The current UTC time in the store's timestamp format.
pub fn now_text() -> String {
    crate::model::Timestamp::now().to_string()
}

/// `YYYY-MM-DD HH:MM:SS`, UTC: the format of every timestamp column (`model::Timestamp`).
pub const TIMESTAMP_FORMAT: &str = crate::model::Timestamp::FORMAT;

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_disk_is_told_apart_from_a_busy_store() {
        let full = anyhow::Error::new(sqlite(rusqlite::ffi::SQLITE_FULL)).context("importing");
        assert!(is_disk_full(full.as_ref()));
        let busy = anyhow::Error::new(sqlite(rusqlite::ffi::SQLITE_BUSY)).context("importing");
        assert!(!is_disk_full(busy.as_ref()));
        let wrapped = StoreError::Sqlite(sqlite(rusqlite::ffi::SQLITE_FULL));
        assert!(is_disk_full(&wrapped));
    }

    #[test]
    fn busy_timeout_seconds_parse() {
        assert_eq!(parse_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_seconds(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("soon"), None);
    }
}
