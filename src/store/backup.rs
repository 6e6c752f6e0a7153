//! The SQL side of backups: the online copy, checking a copy, and salvaging a damaged store.
//!
//! Files, compression, sidecars and retention live in `crate::backup`; everything that talks
//! to SQLite for them is here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::check::{check_conn, Report, MAIN_TABLES};
use super::{busy_timeout, migrate, Store, StoreError};

/// Pages copied per backup step (4 MiB with SQLite's default 4 KiB pages).
pub const PAGES_PER_STEP: i32 = 1024;

/// Copies the store at `src` into a new database file at `dst` with SQLite's online backup API.
///
/// The copy runs in steps from a read-only connection that holds one read transaction for the
/// whole copy, so the copy is one consistent snapshot and (the store being in WAL mode) writers
/// such as a running `bloggo serve` go on committing meanwhile. `progress(done, total)` is called
/// after every step, in pages. The copy is left in rollback-journal mode, a self-contained file.
pub fn online_copy(
    src: &Path,
    dst: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), StoreError> {
    let from = Store::connect_read_only(src)?;
    // Pin one snapshot: the backup steps read inside this transaction instead of starting
    // (and being restarted by) a new one at every step.
    from.execute_batch("BEGIN")?;
    let _: i64 = from.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let mut to = Connection::open(dst)?;
    // The copy is a temp file that is compressed (and fsync'd) afterwards: no journal, no syncs.
    to.execute_batch("PRAGMA synchronous = OFF")?;
    let _: String = to.query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0))?;
    {
        let backup = Backup::new(&from, &mut to)?;
        loop {
            let step = backup.step(PAGES_PER_STEP)?;
            let p = backup.progress();
            let total = p.pagecount.max(0) as u64;
            progress(total.saturating_sub(p.remaining.max(0) as u64), total);
            match step {
                StepResult::Done => break,
                StepResult::More => {}
                // Another connection holds a lock we need: wait a little and go on.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    from.execute_batch("COMMIT")?;
    let _: String = to.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    to.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// What checking a database copy found.
#[derive(Debug, Clone, Default)]
pub struct CopyCheck {
    /// Empty when the copy is a good bloggo store.
    pub problems: Vec<String>,
    pub schema_version: i64,
    /// Rows of each of `check::MAIN_TABLES`.
    pub rows: BTreeMap<String, i64>,
    /// The size of the database file.
    pub size: u64,
}

/// Checks a standalone database file (a decompressed backup, a restored store) without
/// changing it: integrity_check, foreign_key_check, the expected tables, schema version and
/// row counts. A copy of an older schema is fine (restore migrates it).
pub fn check_copy(path: &Path) -> CopyCheck {
    let mut out = CopyCheck {
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        ..CopyCheck::default()
    };
    let conn = match Store::connect_read_only(path) {
        Ok(c) => c,
        Err(e) => {
            out.problems.push(format!("cannot open: {e}"));
            return out;
        }
    };
    // A large cache and memory-mapped reads make integrity_check several times faster.
    if let Err(e) = conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824;")
    {
        out.problems.push(format!("cannot read: {e}"));
        return out;
    }
    let mut report = Report::new(out.size);
    if let Err(e) = check_conn(&conn, path, &mut report) {
        out.problems.push(e.to_string());
        return out;
    }
    if report.integrity != ["ok"] {
        let mut lines = report.integrity.clone();
        lines.truncate(3);
        out.problems
            .push(format!("integrity_check failed: {}", lines.join("; ")));
        return out;
    }
    if !report.foreign_key_violations.is_empty() {
        out.problems.push(format!(
            "foreign_key_check: {} violation(s), first: {}",
            report.foreign_key_violations.len(),
            report.foreign_key_violations[0]
        ));
    }
    out.schema_version = report.schema_version;
    out.rows = report.row_counts.iter().cloned().collect();
    // check_conn stops early (and says why) when the migrations table is unusable.
    for p in &report.problems {
        if report.row_counts.is_empty() || p.contains("is missing") {
            out.problems.push(p.clone());
        }
    }
    for t in MAIN_TABLES {
        if !out.rows.contains_key(*t) && !out.problems.iter().any(|p| p.contains(t)) {
            out.problems.push(format!("table {t} is missing"));
        }
    }
    out
}

/// Whether the store at `path` can be read at all (opens and passes `quick_check`): decides
/// whether restore can take a safety backup of it.
pub fn readable(path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Err("there is no store".into());
    }
    let conn = Store::connect_read_only(path).map_err(|e| e.to_string())?;
    let lines: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(|e| e.to_string())?;
    if lines == ["ok"] {
        Ok(())
    } else {
        Err(format!("quick_check: {}", lines.join("; ")))
    }
}

/// Replaces the whole content of the store at `store` with the database at `copy`, through
/// SQLite's backup API writing into the live store: one write transaction under SQLite's own
/// locks. Other processes that have the store open (a build, the sqlite3 shell) are never
/// pulled from under: they wait for the write lock like any writer, readers keep their
/// snapshot, and each sees the restored content from its next transaction on. No file of the
/// store is removed, renamed or opened outside SQLite, and the store stays in WAL mode. On
/// failure the transaction rolls back and the store is as it was.
pub fn restore_into(copy: &Path, store: &Path) -> Result<(), StoreError> {
    let from = Store::connect_read_only(copy)?;
    let mut to = Store::connect(store)?;
    let deadline = std::time::Instant::now() + busy_timeout();
    let backup = Backup::new(&from, &mut to)?;
    loop {
        match backup.step(-1)? {
            StepResult::Done => break,
            StepResult::More => {}
            // Another process holds the store's write lock: wait for it as a writer would.
            _ if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!(
                        "another program kept the store's write lock for {}s",
                        busy_timeout().as_secs()
                    )),
                )))
            }
        }
    }
    Ok(())
}

/// What `db recover` saved from one table.
#[derive(Debug, Clone)]
pub struct TableSalvage {
    pub table: String,
    pub rows: u64,
    /// Damaged stretches that were skipped (each lost an unknown number of rows).
    pub damaged_ranges: u64,
    /// The first read error met, if any.
    pub first_error: Option<String>,
}

impl TableSalvage {
    fn new(table: &str) -> TableSalvage {
        TableSalvage {
            table: table.to_string(),
            rows: 0,
            damaged_ranges: 0,
            first_error: None,
        }
    }
}

/// What `db recover` saved.
#[derive(Debug, Clone, Default)]
pub struct Salvage {
    pub tables: Vec<TableSalvage>,
    /// Tables of the damaged store that the current schema does not have.
    pub skipped_tables: Vec<String>,
    /// Foreign-key violations left in the salvaged store (rows whose parent was lost).
    pub foreign_key_violations: u64,
    pub schema_version_found: Option<i64>,
}

/// Reads every readable row of every table of the damaged store at `damaged` into a new store
/// at `out` (which must not exist) that has the current schema. The damaged file is only read.
///
/// Rowid tables are read in rowid ranges: a read that hits a damaged page is restarted past it
/// (probing further ahead until reads succeed again), so rows after a bad page are saved too.
/// WITHOUT ROWID tables are read forwards until an error and then backwards from the end.
pub fn recover(damaged: &Path, out: &Path) -> Result<Salvage, StoreError> {
    let src = Connection::open_with_flags(
        damaged,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(busy_timeout())?;
    // Detect damaged cells early instead of reading garbage from them.
    src.execute_batch("PRAGMA cell_size_check = ON")?;
    let found: Vec<(String, String)> = {
        let mut stmt = src.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut salvage = Salvage {
        schema_version_found: src
            .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
                r.get(0)
            })
            .ok()
            .flatten(),
        ..Salvage::default()
    };

    let mut store = Store::open(out, true)?;
    let dst = &mut store.conn;
    dst.execute_batch("PRAGMA foreign_keys = OFF")?;
    let current: Vec<String> = {
        let mut stmt = dst.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for (table, sql) in &found {
        if table == "schema_migrations" {
            continue;
        }
        if !current.contains(table) {
            salvage.skipped_tables.push(table.clone());
            continue;
        }
        let cols = common_columns(&src, dst, table)?;
        if cols.is_empty() {
            salvage.skipped_tables.push(table.clone());
            continue;
        }
        let without_rowid = sql.to_ascii_uppercase().contains("WITHOUT ROWID");
        let tx = dst.transaction()?;
        let t = if without_rowid {
            salvage_by_scan(&src, &tx, table, &cols)?
        } else {
            salvage_by_rowid(&src, &tx, table, &cols)?
        };
        tx.commit()?;
        salvage.tables.push(t);
    }
    salvage.foreign_key_violations = dst
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |_| Ok(()))?
        .count() as u64;
    dst.execute_batch("PRAGMA foreign_keys = ON")?;
    // A delta build's mark from the damaged store must not trust the salvaged change log.
    super::changes::forget(dst)?;
    Ok(salvage)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Column names present in the table of both stores (the damaged one may be older).
fn common_columns(
    src: &Connection,
    dst: &Connection,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    let names = |c: &Connection| -> rusqlite::Result<Vec<String>> {
        let mut stmt = c.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(1))?;
        rows.collect()
    };
    let theirs = names(src)?;
    Ok(names(dst)?
        .into_iter()
        .filter(|c| theirs.contains(c))
        .collect())
}

fn insert_sql(table: &str, cols: &[String], with_rowid: bool) -> String {
    let mut names: Vec<String> = cols.iter().map(|c| quote(c)).collect();
    if with_rowid {
        names.insert(0, "rowid".into());
    }
    let marks = vec!["?"; names.len()].join(", ");
    format!(
        "INSERT OR REPLACE INTO {} ({}) VALUES ({marks})",
        quote(table),
        names.join(", ")
    )
}

/// Reads rows with rowid >= `start` in order, inserting each; stops at the end or at the first
/// error. Returns (rows saved, last rowid read, error).
fn read_from(
    src: &Connection,
    insert: &mut rusqlite::Statement<'_>,
    select: &str,
    start: i64,
    ncols: usize,
) -> Result<(u64, Option<i64>, Option<rusqlite::Error>), StoreError> {
    let mut stmt = match src.prepare_cached(select) {
        Ok(s) => s,
        Err(e) => return Ok((0, None, Some(e))),
    };
    let mut rows = match stmt.query([start]) {
        Ok(r) => r,
        Err(e) => return Ok((0, None, Some(e))),
    };
    let mut saved = 0;
    let mut last = None;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let values: rusqlite::Result<Vec<Value>> =
                    (0..=ncols).map(|i| row.get(i)).collect();
                match values {
                    Ok(v) => {
                        if let Value::Integer(rowid) = v[0] {
                            last = Some(rowid);
                        }
                        insert.execute(rusqlite::params_from_iter(v))?;
                        saved += 1;
                    }
                    Err(e) => return Ok((saved, last, Some(e))),
                }
            }
            Ok(None) => return Ok((saved, last, None)),
            Err(e) => return Ok((saved, last, Some(e))),
        }
    }
}

fn salvage_by_rowid(
    src: &Connection,
    dst: &Connection,
    table: &str,
    cols: &[String],
) -> Result<TableSalvage, StoreError> {
    let select = format!(
        "SELECT rowid, {} FROM {} WHERE rowid >= ?1 ORDER BY rowid",
        cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
        quote(table)
    );
    let probe = format!(
        "SELECT rowid FROM {} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1",
        quote(table)
    );
    let mut insert = dst.prepare(&insert_sql(table, cols, true))?;
    let mut t = TableSalvage::new(table);
    let mut start = i64::MIN;
    loop {
        let (saved, last, err) = read_from(src, &mut insert, &select, start, cols.len())?;
        t.rows += saved;
        let Some(err) = err else { break };
        t.first_error.get_or_insert_with(|| err.to_string());
        t.damaged_ranges += 1;
        // The read failed after `failed_at`: find the nearest start past the damage from which
        // a read works, probing ahead in growing steps and then narrowing down.
        let failed_at = last.map_or(start, |l| l.saturating_add(1));
        let works = |s: i64| -> bool {
            src.prepare_cached(&probe)
                .and_then(|mut st| {
                    st.query_row([s], |_| Ok(())).or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(()),
                        e => Err(e),
                    })
                })
                .is_ok()
        };
        let mut bad = failed_at;
        let mut step: i64 = 1;
        let mut good = None;
        while let Some(s) = failed_at.checked_add(step) {
            if works(s) {
                good = Some(s);
                break;
            }
            bad = s;
            step = step.saturating_mul(2);
            if step == i64::MAX {
                break;
            }
        }
        let Some(mut good) = good else { break };
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if works(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        // Start from the first row past the damage (probe it again to skip an unreadable row).
        start = good;
        if let Some(l) = last {
            if start <= l {
                start = l + 1;
            }
        }
    }
    Ok(t)
}

fn salvage_by_scan(
    src: &Connection,
    dst: &Connection,
    table: &str,
    cols: &[String],
) -> Result<TableSalvage, StoreError> {
    let list = cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let pk: Vec<String> = {
        let mut stmt = src.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?;
        let mut pk: Vec<(String, i64)> = rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|(_, k)| *k > 0)
            .collect();
        pk.sort_by_key(|(_, k)| *k);
        pk.into_iter().map(|(n, _)| quote(&n)).collect()
    };
    // Forwards by primary key, then backwards to reach the rows past a damaged page.
    let keys: Vec<String> = if pk.is_empty() {
        cols.iter().map(|c| quote(c)).collect()
    } else {
        pk
    };
    let order = keys.join(", ");
    let desc = keys
        .iter()
        .map(|c| format!("{c} DESC"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut insert = dst.prepare(&insert_sql(table, cols, false))?;
    let mut t = TableSalvage::new(table);
    let mut seen = std::collections::HashSet::new();
    for dir in [order, desc] {
        let sql = format!("SELECT {list} FROM {} ORDER BY {dir}", quote(table));
        let mut stmt = match src.prepare(&sql) {
            Ok(s) => s,
            Err(e) => {
                t.first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        let mut rows = match stmt.query([]) {
            Ok(r) => r,
            Err(e) => {
                t.first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    let v: rusqlite::Result<Vec<Value>> =
                        (0..cols.len()).map(|i| row.get(i)).collect();
                    let Ok(v) = v else { break };
                    let key = format!("{v:?}");
                    if seen.insert(key) {
                        insert.execute(rusqlite::params_from_iter(v))?;
                        t.rows += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    t.first_error.get_or_insert_with(|| e.to_string());
                    t.damaged_ranges = 1;
                    break;
                }
            }
        }
        if t.first_error.is_none() {
            break;
        }
    }
    Ok(t)
}

/// Schema version and row counts of the main tables of a database copy (tables it lacks are
/// left out; `check_copy` reports them).
pub fn summary(path: &Path) -> Result<(i64, BTreeMap<String, i64>), StoreError> {
    let conn = Store::connect_read_only(path)?;
    let version = migrate::applied(&conn)?
        .iter()
        .map(|a| a.version)
        .max()
        .unwrap_or(0);
    let mut rows = BTreeMap::new();
    for t in MAIN_TABLES {
        let exists: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get(0),
        )?;
        if exists > 0 {
            let n: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {}", quote(t)), [], |r| {
                    r.get(0)
                })?;
            rows.insert(t.to_string(), n);
        }
    }
    Ok((version, rows))
}

/// Appends the audit row of a backup operation (`backup.create`, `backup.verify`,
/// `backup.restore`, `backup.prune`; resource `backup`), with what was done as JSON. The
/// acting user is looked up by email in this store (after a restore the store is the
/// backup's, whose user IDs may differ); `None` when no user acted (scheduled by `serve`) or
/// the email is not a user here, the email staying in the JSON.
pub fn audit(
    tx: &super::Tx,
    by_email: Option<&str>,
    action: &str,
    details: &serde_json::Value,
) -> rusqlite::Result<()> {
    use rusqlite::OptionalExtension;
    let user_id: Option<i64> = match by_email {
        Some(email) => tx
            .query_row(
                "SELECT id FROM users WHERE lower(email) = lower(?1)",
                [email.trim()],
                |r| r.get(0),
            )
            .optional()?,
        None => None,
    };
    super::content::audit::append(
        tx.conn(),
        &super::content::audit::NewEntry {
            user_id,
            action,
            resource_type: "backup",
            resource_id: None,
            old_values: None,
            new_values: Some(details),
            at: crate::model::Timestamp::now(),
            client: None,
        },
    )
}
