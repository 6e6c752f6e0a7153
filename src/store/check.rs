//! `bloggo db check`: integrity, foreign keys, migration status, size and row counts.

use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use super::{migrate, Store, StoreError};

/// The verdict of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Integrity and foreign keys are fine and the schema is current.
    Healthy,
    /// The data is intact but something needs attention (pending migrations, dangling references).
    Degraded,
    /// The file is damaged or not a usable store.
    Unhealthy,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        })
    }
}

/// What a check found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file_size: u64,
    pub integrity: Vec<String>,
    pub foreign_key_violations: Vec<String>,
    pub schema_version: i64,
    pub latest_version: i64,
    pub pending: Vec<String>,
    pub row_counts: Vec<(String, i64)>,
    pub problems: Vec<String>,
    pub health: Health,
}

/// The tables whose row counts a check (and a backup) reports.
pub const MAIN_TABLES: &[&str] = &[
    "posts",
    "post_versions",
    "categories",
    "tags",
    "users",
    "post_views",
    "post_statistics",
    "files",
    "audit_logs",
];

/// Checks a store file without changing it: never migrates, never writes.
pub fn check(path: &Path) -> Report {
    let file_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut report = Report::new(file_size);
    let conn = match Store::connect_read_only(path) {
        Ok(c) => c,
        Err(e) => {
            report.problems.push(e.to_string());
            report.health = Health::Unhealthy;
            return report;
        }
    };
    if let Err(e) = check_conn(&conn, path, &mut report) {
        report.problems.push(e.to_string());
        report.health = Health::Unhealthy;
    }
    report
}

/// Integrity, foreign keys, migrations and counts of an open connection (any database file
/// with bloggo's schema: the store, or a decompressed backup).
pub fn check_conn(conn: &Connection, path: &Path, report: &mut Report) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    report.integrity = lines;
    if report.integrity != ["ok"] {
        report.health = Health::Unhealthy;
        report
            .problems
            .push(format!("integrity_check: {}", report.integrity.join("; ")));
        return Ok(());
    }
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let fks: Vec<String> = stmt
        .query_map([], |r| {
            let table: String = r.get(0)?;
            let rowid: Option<i64> = r.get(1)?;
            let parent: String = r.get(2)?;
            Ok(format!(
                "{table} row {} points to a missing {parent} row",
                rowid.map(|i| i.to_string()).unwrap_or_else(|| "?".into())
            ))
        })?
        .collect::<Result<_, _>>()?;
    if !fks.is_empty() {
        report.health = Health::Degraded;
        report
            .problems
            .push(format!("{} foreign key violation(s)", fks.len()));
    }
    report.foreign_key_violations = fks;

    match migrate::status(conn, path) {
        Ok(st) => {
            report.schema_version = st.current_version();
            report.pending = st
                .pending
                .iter()
                .map(|m| format!("{} {}", m.version, m.name))
                .collect();
            if !report.pending.is_empty() {
                report.health = report.health.max_with(Health::Degraded);
                report.problems.push(format!(
                    "{} pending migration(s): run `bloggo migrate up`",
                    report.pending.len()
                ));
            }
        }
        Err(e) => {
            report.health = Health::Unhealthy;
            report.problems.push(e.to_string());
            return Ok(());
        }
    }
    for table in MAIN_TABLES {
        let exists: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !exists {
            report.health = Health::Unhealthy;
            report.problems.push(format!("table {table} is missing"));
            continue;
        }
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
            r.get(0)
        })?;
        report.row_counts.push((table.to_string(), n));
    }
    Ok(())
}

impl Report {
    /// An empty report of a file of this size, healthy until a check finds otherwise.
    pub fn new(file_size: u64) -> Report {
        Report {
            file_size,
            integrity: Vec::new(),
            foreign_key_violations: Vec::new(),
            schema_version: 0,
            latest_version: migrate::latest_version(),
            pending: Vec::new(),
            row_counts: Vec::new(),
            problems: Vec::new(),
            health: Health::Healthy,
        }
    }
}

impl Health {
    fn rank(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::Degraded => 1,
            Health::Unhealthy => 2,
        }
    }
    /// The worse of two verdicts.
    pub fn max_with(self, other: Health) -> Health {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}
