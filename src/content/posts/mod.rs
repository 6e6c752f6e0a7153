//! Post operations: reading (`read`), writing and reviewing (`write`), and the trash
//! (`trash`: delete, restore, purge). Each takes the store, the site's settings where a
//! synced file is written, and who acts.

pub mod read;
pub mod trash;
pub mod write;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::config::Settings;
use crate::store::content::audit;
use crate::store::content::posts::{self, Post};
use crate::store::content::users::User;
use crate::store::Tx;

/// Loads a post for a change: refuses a soft-deleted one.
fn live_post(tx: &Tx, slug: &str) -> Result<Post> {
    let post = posts::by_slug(tx, slug)?;
    if post.deleted_at.is_some() {
        bail!("{slug} is deleted; `bloggo post restore {slug}` first");
    }
    Ok(post)
}

/// Appends the audit row of a change to a post by `actor` (`action` such as `post.publish`).
fn audit_post(
    tx: &Tx,
    actor: &User,
    action: &str,
    post_id: i64,
    old: Option<Value>,
    new: Option<Value>,
) -> Result<()> {
    audit::write(
        tx,
        actor.id,
        action,
        "post",
        Some(post_id),
        old.as_ref(),
        new.as_ref(),
    )
}

/// A post's status and date, as status changes record them in the audit log.
fn status_json(p: &Post) -> serde_json::Value {
    json!({"status": p.status.as_str(), "published_at": p.published_at})
}

/// Minutes to read a body at the site's reading speed.
fn read_time(settings: &Settings, content: &str) -> i64 {
    let words = crate::markdown::word_count(content) as i64;
    let wpm = i64::from(settings.config.content.words_per_minute.max(1));
    (words + wpm - 1) / wpm
}
