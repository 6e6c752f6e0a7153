//! Post versions: snapshots of title, body, excerpt and cover, and their review state.
//!
//! A version holds a state the post has had. `record` appends one whenever the post's current
//! state differs from its newest version, so calling it before a change (keeping a state that
//! was never recorded, e.g. a post inserted by SQL) and after it (the new state) leaves a
//! history with no gaps and no duplicates, whatever wrote the earlier rows.

use crate::store::Tx;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use crate::model::{PostFields, Timestamp, VersionStatus};

/// One row of `post_versions`, with user emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: i64,
    pub version: i64,
    /// What the version keeps (`version.title` reads through to it).
    pub state: State,
    pub status: VersionStatus,
    pub author: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Version {
    /// The versioned fields, for comparing states.
    pub fn state(&self) -> State {
        self.state.clone()
    }
}

impl std::ops::Deref for Version {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

/// The fields a version keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub title: String,
    pub content: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
}

impl State {
    /// `fields` with this state's title, body, excerpt and cover.
    pub fn applied_to(self, fields: PostFields) -> PostFields {
        PostFields {
            title: self.title,
            content: self.content,
            excerpt: self.excerpt,
            cover_image: self.cover_image,
            ..fields
        }
    }
}

impl From<PostFields> for State {
    /// The versioned part of a post's fields.
    fn from(f: PostFields) -> State {
        State {
            title: f.title,
            content: f.content,
            excerpt: f.excerpt,
            cover_image: f.cover_image,
        }
    }
}

const SELECT: &str =
    "SELECT v.id, v.version, v.title, v.content, v.excerpt, v.cover_image, v.status,
        a.email, b.email, v.approved_at, v.created_at
     FROM post_versions v LEFT JOIN users a ON a.id = v.author_id
                          LEFT JOIN users b ON b.id = v.approved_by";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: r.get(0)?,
        version: r.get(1)?,
        state: State {
            title: r.get(2)?,
            content: r.get(3)?,
            excerpt: r.get(4)?,
            cover_image: r.get(5)?,
        },
        status: r.get(6)?,
        author: r.get(7)?,
        approved_by: r.get(8)?,
        approved_at: r.get(9)?,
        created_at: r.get(10)?,
    })
}

/// Every version of a post, oldest first.
pub fn list(conn: &Tx, post_id: i64) -> Result<Vec<Version>> {
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE v.post_id = ?1 ORDER BY v.version"))?;
    let rows = stmt.query_map([post_id], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One version of a post, or an error naming the versions there are.
pub fn get(conn: &Tx, post_id: i64, slug: &str, version: i64) -> Result<Version> {
    let found = conn
        .query_row(
            &format!("{SELECT} WHERE v.post_id = ?1 AND v.version = ?2"),
            params![post_id, version],
            row,
        )
        .optional()?;
    match found {
        Some(v) => Ok(v),
        None => {
            let n = latest(conn, post_id)?.map(|v| v.version).unwrap_or(0);
            anyhow::bail!(
                "the post {slug:?} has no version {version} (it has {}); `bloggo post history {slug}` lists them",
                if n == 0 { "none".to_string() } else { format!("1 to {n}") }
            )
        }
    }
}

/// The newest version of a post.
pub fn latest(conn: &Tx, post_id: i64) -> Result<Option<Version>> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE v.post_id = ?1 ORDER BY v.version DESC LIMIT 1"),
            [post_id],
            row,
        )
        .optional()?)
}

/// Appends a version of a post holding `state`: the one place `post_versions` rows are
/// written (import keeps a post's previous state through it, the commands its new ones).
/// Returns the version's number (one more than the post's newest).
pub(in crate::store) fn append(
    conn: &rusqlite::Connection,
    post_id: i64,
    state: &State,
    status: VersionStatus,
    author: Option<i64>,
    at: Timestamp,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO post_versions (post_id, version, title, content, excerpt, cover_image,
                                    status, author_id, created_at)
         SELECT ?1, COALESCE(MAX(version), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
         FROM post_versions WHERE post_id = ?1
         RETURNING version",
    )?
    .query_row(
        params![
            post_id,
            state.title,
            state.content,
            state.excerpt,
            state.cover_image,
            status,
            author,
            at
        ],
        |r| r.get(0),
    )
}

/// The post's current versioned fields.
pub fn current(conn: &Tx, post_id: i64) -> Result<State> {
    Ok(conn.query_row(
        "SELECT title, content, excerpt, cover_image FROM posts WHERE id = ?1",
        [post_id],
        |r| {
            Ok(State {
                title: r.get(0)?,
                content: r.get(1)?,
                excerpt: r.get(2)?,
                cover_image: r.get(3)?,
            })
        },
    )?)
}

/// Appends a version holding the post's current state unless its newest version already
/// does. `author` and `at` default to the post's author and last update (for a state that
/// was never recorded). Returns the version number that holds the current state.
pub fn record(conn: &Tx, post_id: i64, author: Option<i64>, at: Option<Timestamp>) -> Result<i64> {
    let cur = current(conn, post_id)?;
    if let Some(v) = latest(conn, post_id)? {
        if v.state() == cur {
            return Ok(v.version);
        }
    }
    let (post_author, updated_at): (Option<i64>, Timestamp) = conn.query_row(
        "SELECT author_id, updated_at FROM posts WHERE id = ?1",
        [post_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(append(
        conn.conn(),
        post_id,
        &cur,
        VersionStatus::Draft,
        author.or(post_author),
        at.unwrap_or(updated_at),
    )?)
}

/// Keeps the post's state before a change, when no version holds it yet.
pub fn keep_before_change(conn: &Tx, post_id: i64) -> Result<i64> {
    record(conn, post_id, None, None)
}

/// Records the post's state after a change by `author`, now.
pub fn record_change(conn: &Tx, post_id: i64, author: i64) -> Result<i64> {
    record(conn, post_id, Some(author), Some(Timestamp::now()))
}

/// Sets the review state of a version (`approved_by`/`approved_at` for approve and reject).
pub fn set_review(
    conn: &Tx,
    post_id: i64,
    version: i64,
    status: VersionStatus,
    reviewer: Option<i64>,
) -> Result<()> {
    let at = reviewer.map(|_| Timestamp::now());
    conn.execute(
        "UPDATE post_versions SET status = ?1, approved_by = ?2, approved_at = ?3
         WHERE post_id = ?4 AND version = ?5",
        params![status, reviewer, at, post_id, version],
    )?;
    Ok(())
}

/// Lines added and removed from one text to another.
pub fn line_changes(old: &str, new: &str) -> (usize, usize) {
    let diff = similar::TextDiff::from_lines(old, new);
    let (mut add, mut del) = (0, 0);
    for c in diff.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Insert => add += 1,
            similar::ChangeTag::Delete => del += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (add, del)
}
