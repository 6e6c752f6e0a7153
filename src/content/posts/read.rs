//! Reading posts: the listing, one post with its history and stats, and two states to diff.

use anyhow::Result;

use crate::model::{PostStatus, Timestamp};
use crate::store::content::posts::{self, Post, Stats, Summary};
use crate::store::content::versions::{self, State, Version};
use crate::store::content::{taxonomy, users};
use crate::store::sections::{self, Section};
use crate::store::{Store, Tx};

/// What `post list` filters on, as the user typed it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// draft, pending, published, archived or scheduled.
    pub status: Option<String>,
    /// A tag slug or name.
    pub tag: Option<String>,
    /// A category slug or path (its subcategories count too).
    pub category: Option<String>,
    /// An author's email, name or slug.
    pub author: Option<String>,
    /// Only soft-deleted posts.
    pub deleted: bool,
}

/// The status a listing shows: `scheduled` for a published post with a future date.
pub fn shown_status(status: PostStatus, published_at: Option<Timestamp>, now: Timestamp) -> String {
    match published_at {
        Some(d) if status == PostStatus::Published && d > now => "scheduled".into(),
        _ => status.as_str().into(),
    }
}

/// The posts the query names, newest first; `now` tells scheduled posts from published ones.
pub fn list(store: &mut Store, q: &ListQuery, now: Timestamp) -> Result<Vec<Summary>> {
    store.read(|tx| {
        let filter = posts::Filter {
            status: q.status.clone(),
            tag: q
                .tag
                .as_deref()
                .map(|t| taxonomy::tag(tx, t).map(|t| t.id))
                .transpose()?,
            category: q
                .category
                .as_deref()
                .map(|c| taxonomy::category(tx, c).map(|c| c.id))
                .transpose()?,
            author: match q.author.as_deref() {
                Some(who) => Some(
                    users::find(tx, who)?
                        .ok_or_else(|| {
                            anyhow::anyhow!("no user with email, name or slug {who:?}; `bloggo user list` shows them")
                        })?
                        .id,
                ),
                None => None,
            },
            deleted: q.deleted,
        };
        posts::list(tx, &filter, now)
    })
}

/// A post's versions, oldest first, and its current state (which may not be a version yet).
#[derive(Debug, Clone)]
pub struct History {
    pub versions: Vec<Version>,
    pub current: State,
}

/// One post as `post show` prints it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub post: Post,
    pub history: History,
    pub stats: Option<Stats>,
}

fn history_of(tx: &Tx, post_id: i64) -> Result<History> {
    Ok(History {
        versions: versions::list(tx, post_id)?,
        current: versions::current(tx, post_id)?,
    })
}

/// A post (deleted ones too) with its history and view stats, read in one snapshot.
pub fn show(store: &mut Store, slug: &str) -> Result<Shown> {
    store.read(|tx| {
        let post = posts::by_slug(tx, slug)?;
        Ok(Shown {
            history: history_of(tx, post.id)?,
            stats: posts::stats(tx, post.id)?,
            post,
        })
    })
}

/// A post's history.
pub fn history(store: &mut Store, slug: &str) -> Result<History> {
    store.read(|tx| history_of(tx, posts::by_slug(tx, slug)?.id))
}

/// Version `v1` of a post and version `v2` (the current state when `None`), to compare.
pub fn diff(store: &mut Store, slug: &str, v1: i64, v2: Option<i64>) -> Result<(State, State)> {
    store.read(|tx| {
        let id = posts::id_of(tx, slug)?;
        let a = versions::get(tx, id, slug, v1)?.state();
        let b = match v2 {
            Some(v) => versions::get(tx, id, slug, v)?.state(),
            None => versions::current(tx, id)?,
        };
        Ok((a, b))
    })
}

/// Every post that is not deleted, fully loaded, and every section, from one snapshot (for
/// `export`).
pub fn all_live(store: &mut Store) -> Result<(Vec<Post>, Vec<Section>)> {
    store.read(|tx| {
        let posts = posts::all_ids(tx, false)?
            .into_iter()
            .map(|id| posts::load(tx, id))
            .collect::<Result<_>>()?;
        Ok((posts, sections::all_in(tx)?))
    })
}
