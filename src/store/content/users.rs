//! Users, roles and the permission check.

use crate::model::Timestamp;
use anyhow::{bail, Context, Result};
use rusqlite::{params, OptionalExtension};

use super::{ContentError, Permission};
use crate::store::Tx;

/// A user as the commands show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub slug: Option<String>,
    pub role: String,
    pub has_passphrase: bool,
    pub posts: i64,
    pub created_at: Timestamp,
}

const SELECT: &str = "SELECT u.id, u.name, u.email, u.slug, r.name, u.passphrase_hash IS NOT NULL,
        (SELECT COUNT(*) FROM posts p WHERE p.author_id = u.id), u.created_at
     FROM users u JOIN roles r ON r.id = u.role_id";

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        slug: r.get(3)?,
        role: r.get(4)?,
        has_passphrase: r.get(5)?,
        posts: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Every user, by id.
pub fn list(conn: &Tx) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY u.id"))?;
    let rows = stmt.query_map([], user_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn by_id(conn: &Tx, id: i64) -> Result<Option<User>> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE u.id = ?1"), [id], user_row)
        .optional()?)
}

/// A user by email (case-insensitive), or a typed error naming it.
pub fn by_email(conn: &Tx, email: &str) -> Result<User> {
    conn.query_row(
        &format!("{SELECT} WHERE lower(u.email) = lower(?1)"),
        [email.trim()],
        user_row,
    )
    .optional()?
    .ok_or_else(|| ContentError::NoUser(email.to_string()).into())
}

/// The users whose role is `admin`, by id.
pub fn admins(conn: &Tx) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE r.name = 'admin' ORDER BY u.id"))?;
    let rows = stmt.query_map([], user_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A user by email, name or slug (for `post list --author`).
pub fn find(conn: &Tx, who: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!(
                "{SELECT} WHERE lower(u.email) = lower(?1) OR lower(u.name) = lower(?1) OR u.slug = ?1
                 ORDER BY u.id LIMIT 1"
            ),
            [who.trim()],
            user_row,
        )
        .optional()?)
}

/// The id of a role by name (`admin`, `editor`, `author`).
pub fn role_id(conn: &Tx, role: &str) -> Result<i64> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM roles WHERE name = ?1", [role.trim()], |r| {
            r.get(0)
        })
        .optional()?;
    match id {
        Some(id) => Ok(id),
        None => {
            let mut stmt = conn.prepare("SELECT name FROM roles ORDER BY id")?;
            let names: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            bail!("{role:?} is not a role: use one of {}", names.join(", "))
        }
    }
}

/// Whether the user's role grants the permission (via `role_permissions`).
pub fn has_permission(conn: &Tx, user_id: i64, perm: Permission) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users u
            JOIN role_permissions rp ON rp.role_id = u.role_id
            JOIN permissions p ON p.id = rp.permission_id
          WHERE u.id = ?1 AND p.name = ?2)",
        params![user_id, perm.as_str()],
        |r| r.get(0),
    )?)
}

/// The roles whose permissions include all of `perms`, least powerful (fewest
/// permissions) first.
pub fn roles_with(conn: &Tx, perms: &[Permission]) -> Result<Vec<String>> {
    let names: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    let list = serde_json::to_string(&names)?;
    let mut stmt = conn.prepare(
        "SELECT r.name FROM roles r
         WHERE (SELECT COUNT(*) FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
                WHERE rp.role_id = r.id AND p.name IN (SELECT value FROM json_each(?1)))
               = (SELECT COUNT(DISTINCT value) FROM json_each(?1))
         ORDER BY (SELECT COUNT(*) FROM role_permissions rp WHERE rp.role_id = r.id), r.name",
    )?;
    let rows = stmt.query_map(params![list], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A slug for a user's author page that no other user has.
pub fn free_slug(conn: &Tx, name: &str, except: Option<i64>) -> Result<String> {
    let base = match slug::slugify(name) {
        s if s.is_empty() => "author".to_string(),
        s => s,
    };
    let mut candidate = base.clone();
    let mut n = 2;
    loop {
        let taken: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE slug = ?1 AND id IS NOT ?2)",
            params![candidate, except],
            |r| r.get(0),
        )?;
        if !taken {
            return Ok(candidate);
        }
        candidate = format!("{base}-{n}");
        n += 1;
    }
}

/// Adds a user; the email must be new.
pub fn add(
    conn: &Tx,
    name: &str,
    email: &str,
    role: &str,
    passphrase_hash: Option<&str>,
) -> Result<i64> {
    let name = name.trim();
    let email = email.trim();
    if name.is_empty() {
        bail!("a user needs a name");
    }
    if !email.contains('@') {
        bail!("{email:?} is not an email address");
    }
    if find_email(conn, email)?.is_some() {
        bail!("a user with email {email} already exists; `bloggo user list` shows them");
    }
    let role_id = role_id(conn, role)?;
    let slug = free_slug(conn, name, None)?;
    let now = crate::store::now_text();
    conn.execute(
        "INSERT INTO users (name, email, passphrase_hash, role_id, slug, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![name, email, passphrase_hash, role_id, slug, now],
    )
    .with_context(|| format!("adding user {email}"))?;
    Ok(conn.last_insert_rowid())
}

fn find_email(conn: &Tx, email: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM users WHERE lower(email) = lower(?1)",
            [email],
            |r| r.get(0),
        )
        .optional()?)
}

fn admin_count(conn: &Tx) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'admin'",
        [],
        |r| r.get(0),
    )?)
}

/// Changes a user's role; the last admin keeps theirs.
pub fn set_role(conn: &Tx, user: &User, role: &str) -> Result<()> {
    let role_id = role_id(conn, role)?;
    if user.role == "admin" && role != "admin" && admin_count(conn)? <= 1 {
        bail!(
            "{} is the last admin; make another user admin first",
            user.email
        );
    }
    conn.execute(
        "UPDATE users SET role_id = ?1, updated_at = ?2 WHERE id = ?3",
        params![role_id, crate::store::now_text(), user.id],
    )?;
    Ok(())
}

/// Removes a user. Their posts and versions go to `reassign` when given; without it a user
/// who wrote posts is refused (the posts would lose their author).
pub fn remove(conn: &Tx, user: &User, reassign: Option<&User>) -> Result<()> {
    if user.role == "admin" && admin_count(conn)? <= 1 {
        bail!("{} is the last admin and cannot be removed", user.email);
    }
    match reassign {
        Some(to) => {
            if to.id == user.id {
                bail!("cannot reassign {}'s posts to themselves", user.email);
            }
            conn.execute(
                "UPDATE posts SET author_id = ?1 WHERE author_id = ?2",
                params![to.id, user.id],
            )?;
            conn.execute(
                "UPDATE post_versions SET author_id = ?1 WHERE author_id = ?2",
                params![to.id, user.id],
            )?;
        }
        None if user.posts > 0 => bail!(
            "{} is the author of {} post(s); pass --reassign EMAIL to give them to another user",
            user.email,
            user.posts
        ),
        None => {}
    }
    conn.execute("DELETE FROM users WHERE id = ?1", [user.id])?;
    Ok(())
}

/// An argon2id PHC string for a passphrase.
pub fn hash_passphrase(passphrase: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher;
    let hash = argon2::Argon2::default()
        .hash_password(passphrase.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing the passphrase: {e}"))?;
    Ok(hash.to_string())
}

/// The argon2 PHC string of a user's passphrase (`None`: they have none).
pub fn passphrase_hash(conn: &Tx, user_id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT passphrase_hash FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Whether `passphrase` matches `hash` (argon2's own verification, which compares the
/// derived keys in constant time). Without a hash a fixed one is checked and the answer is
/// false, so a sign-in as a user who does not exist (or has no passphrase) costs the same
/// time as a wrong passphrase and tells nothing by its timing.
pub fn verify_passphrase(hash: Option<&str>, passphrase: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    static STAND_IN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let checked = match hash {
        Some(h) => h,
        None => {
            STAND_IN.get_or_init(|| hash_passphrase("bloggo: no such user").unwrap_or_default())
        }
    };
    let ok = argon2::Argon2::default()
        .verify_password(passphrase.as_bytes(), checked)
        .is_ok();
    ok && hash.is_some()
}

#[cfg(test)]
mod passphrase_tests {
    use super::*;

    #[test]
    fn a_passphrase_verifies_against_its_hash_only() {
        let hash = hash_passphrase("correct horse").unwrap();
        assert!(verify_passphrase(Some(&hash), "correct horse"));
        assert!(!verify_passphrase(Some(&hash), "correct horsE"));
        assert!(!verify_passphrase(None, "bloggo: no such user"));
        assert!(!verify_passphrase(Some("not a PHC string"), "x"));
    }
}
