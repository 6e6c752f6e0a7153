//! Refresh tokens (`refresh_tokens`): stored as their SHA-256, grouped in families (the
//! tokens descended from one sign-in), rotated on use, revoked by family, user or all.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use crate::model::Timestamp;
use crate::store::Tx;

/// A stored refresh token (its hash is all the store knows of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub family_id: i64,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub rotated_at: Option<Timestamp>,
}

/// A live sign-in as `bloggo user sessions` lists it: its newest, unused token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The id of the live token (what `bloggo user revoke ID` takes).
    pub id: i64,
    pub family_id: i64,
    pub email: String,
    /// When the family began (the sign-in).
    pub signed_in_at: Timestamp,
    /// When the live token was issued (the last refresh).
    pub refreshed_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Stores a new token's hash; `family` is the family it continues, `None` for a new sign-in
/// (whose family is the new token's own id). Returns the token's id and family.
pub fn insert(
    conn: &Tx,
    user_id: i64,
    hash: &str,
    expires_at: Timestamp,
    family: Option<i64>,
    now: Timestamp,
) -> Result<(i64, i64)> {
    conn.execute(
        "INSERT INTO refresh_tokens (user_id, token_hash, expires_at, family_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, hash, expires_at, family, now],
    )?;
    let id = conn.last_insert_rowid();
    let family = match family {
        Some(f) => f,
        None => {
            conn.execute(
                "UPDATE refresh_tokens SET family_id = id WHERE id = ?1",
                [id],
            )?;
            id
        }
    };
    Ok((id, family))
}

/// The token with this hash, if the store has it.
pub fn by_hash(conn: &Tx, hash: &str) -> Result<Option<Token>> {
    Ok(conn
        .query_row(
            "SELECT id, user_id, family_id, expires_at, revoked_at, rotated_at
             FROM refresh_tokens WHERE token_hash = ?1",
            [hash],
            |r| {
                Ok(Token {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    family_id: r.get(2)?,
                    expires_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                    rotated_at: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Marks a token used (exchanged for its successor).
pub fn mark_rotated(conn: &Tx, id: i64, now: Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE refresh_tokens SET rotated_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    Ok(())
}

/// Revokes every token of a family not revoked yet; how many.
pub fn revoke_family(conn: &Tx, family_id: i64, now: Timestamp) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
        params![now, family_id],
    )?)
}

/// Revokes every token of a user (`None`: of every user) not revoked yet; how many.
pub fn revoke_user(conn: &Tx, user_id: Option<i64>, now: Timestamp) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?1
         WHERE (?2 IS NULL OR user_id = ?2) AND revoked_at IS NULL",
        params![now, user_id],
    )?)
}

/// The family and user of the token with this id.
pub fn family_of(conn: &Tx, id: i64) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .query_row(
            "SELECT family_id, user_id FROM refresh_tokens WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Whether a family still has a token that can be used: not revoked, not rotated, not
/// expired at `now` (an access token of a revoked or reused sign-in is refused).
pub fn family_live(conn: &Tx, family_id: i64, now: Timestamp) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = ?1
            AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > ?2)",
        params![family_id, now],
        |r| r.get(0),
    )?)
}

/// The live sign-ins (of one user, or all), oldest first.
pub fn live(conn: &Tx, user_id: Option<i64>, now: Timestamp) -> Result<Vec<Session>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.family_id, u.email,
                (SELECT MIN(f.created_at) FROM refresh_tokens f WHERE f.family_id = t.family_id),
                t.created_at, t.expires_at
         FROM refresh_tokens t JOIN users u ON u.id = t.user_id
         WHERE (?1 IS NULL OR t.user_id = ?1)
           AND t.revoked_at IS NULL AND t.rotated_at IS NULL AND t.expires_at > ?2
         ORDER BY t.family_id",
    )?;
    let rows = stmt.query_map(params![user_id, now], |r| {
        Ok(Session {
            id: r.get(0)?,
            family_id: r.get(1)?,
            email: r.get(2)?,
            signed_in_at: r.get(3)?,
            refreshed_at: r.get(4)?,
            expires_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
