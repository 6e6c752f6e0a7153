//! Versioned schema migrations, embedded at compile time from `migrations/`.
//!
//! Each migration is a pair of files `NNNN_name.up.sql` / `NNNN_name.down.sql`. Applied
//! versions are recorded in `schema_migrations` with the SHA-256 of their up SQL; an applied
//! migration whose file changed since is refused (add a new migration instead).

use crate::model::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use super::{Store, StoreError};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            up: include_str!(concat!("../../migrations/", $name, ".up.sql")),
            down: include_str!(concat!("../../migrations/", $name, ".down.sql")),
        }
    };
}

/// Every migration this bloggo knows, in order. A test checks this list against the folder.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_initial"),
    migration!(2, "0002_import_metadata"),
    migration!(3, "0003_post_layout"),
    migration!(4, "0004_site_changes"),
    migration!(5, "0005_post_paths"),
    migration!(6, "0006_post_kinds"),
    migration!(7, "0007_sections"),
    migration!(8, "0008_webhook_delivery_state"),
    migration!(9, "0009_token_families"),
    migration!(10, "0010_ingested_views"),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

impl Migration {
    pub fn checksum(&self) -> String {
        crate::fsx::sha256_hex(self.up.as_bytes())
    }
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    pub applied_at: Timestamp,
}

/// Applied and pending migrations, as `migrate status` shows them.
#[derive(Debug, Clone)]
pub struct Status {
    pub applied: Vec<Applied>,
    pub pending: Vec<Migration>,
}

impl Status {
    pub fn current_version(&self) -> i64 {
        self.applied.iter().map(|a| a.version).max().unwrap_or(0)
    }
}

fn ensure_table(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
        )",
    )
}

/// Reads `schema_migrations` without creating it (works on a read-only connection).
pub fn applied(conn: &Connection) -> Result<Vec<Applied>, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Applied {
            version: r.get(0)?,
            name: r.get(1)?,
            checksum: r.get(2)?,
            applied_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Compares what the store has applied with what this build knows.
/// Errors when the store is newer than this bloggo or an applied migration was edited.
pub fn status(conn: &Connection, path: &std::path::Path) -> Result<Status, StoreError> {
    let applied = applied(conn)?;
    for a in &applied {
        match MIGRATIONS.iter().find(|m| m.version == a.version) {
            None => {
                return Err(StoreError::NewerSchema {
                    path: path.to_path_buf(),
                    found: a.version,
                    known: latest_version(),
                })
            }
            Some(m) if m.checksum() != a.checksum => {
                return Err(StoreError::TamperedMigration {
                    path: path.to_path_buf(),
                    version: a.version,
                    name: a.name.clone(),
                })
            }
            Some(_) => {}
        }
    }
    let pending = MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .copied()
        .collect();
    Ok(Status { applied, pending })
}

impl Store {
    /// The store's applied and pending migrations (`migrate status`).
    pub fn migration_status(&self) -> Result<Status, StoreError> {
        status(&self.conn, &self.path)
    }

    /// Applies pending migrations up to `to` (all when `None`); see [`up`].
    pub fn migrate_up(&mut self, to: Option<i64>) -> Result<Vec<Migration>, StoreError> {
        up(&mut self.conn, &self.path, to)
    }

    /// Rolls back applied migrations newer than `to`; see [`down`].
    pub fn migrate_down(&mut self, to: i64) -> Result<Vec<Migration>, StoreError> {
        down(&mut self.conn, &self.path, to)
    }
}

/// Applies pending migrations up to `to` (all when `None`), each in its own transaction.
/// Returns the migrations applied.
pub fn up(
    conn: &mut Connection,
    path: &std::path::Path,
    to: Option<i64>,
) -> Result<Vec<Migration>, StoreError> {
    ensure_table(conn)?;
    let st = status(conn, path)?;
    register_functions(conn)?;
    let mut done = Vec::new();
    for m in st.pending {
        if to.is_some_and(|t| m.version > t) {
            break;
        }
        let ran = run_step(conn, &m, m.up, false, |tx| {
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
                params![m.version, m.name, m.checksum()],
            )
        })?;
        if ran {
            done.push(m);
        }
    }
    Ok(done)
}

/// Runs one step's SQL and records it, in one transaction. Steps may rebuild tables (new
/// table, copy, drop, rename) or drop columns: foreign keys must not fire mid-way (dropping
/// the old table would cascade), so they are off during the step and checked before commit.
///
/// The step runs only when, inside its write transaction, migration `m` is still applied
/// (`applied`) or not: two commands started together on an old store both see it pending,
/// the second waits for the first's transaction and then finds the work done. Returns whether
/// it ran.
fn run_step(
    conn: &mut Connection,
    m: &Migration,
    sql: &str,
    applied: bool,
    record: impl FnOnce(&Connection) -> rusqlite::Result<usize>,
) -> Result<bool, StoreError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = (|| -> Result<bool, StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let is_applied: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [m.version],
            |r| r.get(0),
        )?;
        if is_applied != applied {
            return Ok(false);
        }
        tx.execute_batch(sql).map_err(|e| StoreError::Migration {
            version: m.version,
            name: m.name.to_string(),
            source: e,
        })?;
        check_foreign_keys(&tx, m)?;
        record(&tx)?;
        tx.commit()?;
        Ok(true)
    })();
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

/// SQL functions the migrations use (registered on the migrating connection only).
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "bloggo_content_hash",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(super::content_hash(&ctx.get::<String>(0)?)),
    )
}

/// Refuses to commit a step that left a row pointing at nothing.
fn check_foreign_keys(tx: &Connection, m: &Migration) -> Result<(), StoreError> {
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    match broken {
        None => Ok(()),
        Some(table) => Err(StoreError::Migration {
            version: m.version,
            name: m.name.to_string(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "table {table} has rows whose foreign key points at nothing; \
                 nothing was changed (run `bloggo db check`)"
                )),
            ),
        }),
    }
}

/// Rolls back applied migrations newer than `to`, newest first, each in its own transaction.
pub fn down(
    conn: &mut Connection,
    path: &std::path::Path,
    to: i64,
) -> Result<Vec<Migration>, StoreError> {
    ensure_table(conn)?;
    let st = status(conn, path)?;
    let mut done = Vec::new();
    for a in st.applied.iter().rev().filter(|a| a.version > to) {
        let m = *MIGRATIONS
            .iter()
            .find(|m| m.version == a.version)
            .expect("status() checked every applied version is known");
        let ran = run_step(conn, &m, m.down, true, |tx| {
            tx.execute(
                "DELETE FROM schema_migrations WHERE version = ?1",
                [m.version],
            )
        })?;
        if ran {
            done.push(m);
        }
    }
    Ok(done)
}
