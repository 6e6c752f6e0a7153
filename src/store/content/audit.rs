//! The audit log: one row per change made through the commands, and one per import.

use crate::store::Tx;
use anyhow::Result;
use rusqlite::params;
use serde_json::Value;

use crate::model::Timestamp;

/// One audit row with the acting user's email.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub created_at: Timestamp,
    pub user: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<i64>,
    pub old_values: Option<String>,
    pub new_values: Option<String>,
}

/// An audit row to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// `None` for what no user did (an import: the files did it).
    pub user_id: Option<i64>,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<i64>,
    pub old_values: Option<&'a Value>,
    pub new_values: Option<&'a Value>,
    /// A store timestamp.
    pub at: Timestamp,
}

/// Appends an audit row: the one place `audit_logs` rows are written.
pub(in crate::store) fn append(conn: &rusqlite::Connection, e: &NewEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_logs (user_id, action, resource_type, resource_id, old_values, new_values, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.user_id,
        e.action,
        e.resource_type,
        e.resource_id,
        e.old_values.map(Value::to_string),
        e.new_values.map(Value::to_string),
        e.at
    ])?;
    Ok(())
}

/// Appends an audit row for a user's change, now (`action` such as `post.publish`, values
/// as JSON).
pub fn write(
    conn: &Tx,
    user_id: i64,
    action: &str,
    resource_type: &str,
    resource_id: Option<i64>,
    old_values: Option<&Value>,
    new_values: Option<&Value>,
) -> Result<()> {
    append(
        conn.conn(),
        &NewEntry {
            user_id: Some(user_id),
            action,
            resource_type,
            resource_id,
            old_values,
            new_values,
            at: Timestamp::now(),
        },
    )?;
    Ok(())
}

/// Audit rows at or after `since` (a store timestamp), oldest first, at most `limit`
/// (the newest ones).
pub fn list(conn: &Tx, since: Option<Timestamp>, limit: usize) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT * FROM (
            SELECT a.id, a.created_at, u.email, a.action, a.resource_type, a.resource_id,
                   a.old_values, a.new_values
            FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
            WHERE ?1 IS NULL OR a.created_at >= ?1
            ORDER BY a.created_at DESC, a.id DESC LIMIT ?2)
         ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map(params![since, limit as i64], |r| {
        Ok(Entry {
            id: r.get(0)?,
            created_at: r.get(1)?,
            user: r.get(2)?,
            action: r.get(3)?,
            resource_type: r.get(4)?,
            resource_id: r.get(5)?,
            old_values: r.get(6)?,
            new_values: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
