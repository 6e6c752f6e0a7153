//! The audit log: one row per change made through the commands, one per import, and one per
//! admin API call (with the client's address and user agent).

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
    /// Where an API call came from (`None` for the command line and imports).
    pub client: Option<&'a Client>,
}

/// The client of an API call, as its audit row records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Appends an audit row: the one place `audit_logs` rows are written.
pub(in crate::store) fn append(conn: &rusqlite::Connection, e: &NewEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_logs (user_id, action, resource_type, resource_id, old_values, new_values,
                                 created_at, ip_address, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.user_id,
        e.action,
        e.resource_type,
        e.resource_id,
        e.old_values.map(Value::to_string),
        e.new_values.map(Value::to_string),
        e.at,
        e.client.and_then(|c| c.ip_address.as_deref()),
        e.client.and_then(|c| c.user_agent.as_deref()),
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
            client: None,
        },
    )?;
    Ok(())
}

/// Appends an audit row for an API call or a sign-in, now: `user_id` is the acting user
/// (`None` when nobody signed in), `client` where the call came from.
pub fn write_from(
    conn: &Tx,
    user_id: Option<i64>,
    action: &str,
    resource_type: &str,
    resource_id: Option<i64>,
    new_values: Option<&Value>,
    client: &Client,
) -> Result<()> {
    append(
        conn.conn(),
        &NewEntry {
            user_id,
            action,
            resource_type,
            resource_id,
            old_values: None,
            new_values,
            at: Timestamp::now(),
            client: Some(client),
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
