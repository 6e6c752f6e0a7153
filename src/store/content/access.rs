//! Who may do what to a post: the one place the content operations (`crate::content`) ask.
//!
//! A user may do an action to a post when their role has the action's permission (in the
//! store's `role_permissions` table) and either the post is theirs or their role acts on
//! every post. A role acts on every post when the table gives it `posts.publish`: reviewing
//! (approve, reject, publish) is acting on other users' work, so the roles the table lets
//! review are the editorial ones. As seeded, admins and editors act on every post and an
//! author on their own only.
//!
//! The acting user is whoever the command names (`--as`, `BLOGGO_USER`), else the store's
//! only admin: see `users::acting`. A reviewer named with `--by` must be that same user.

use std::fmt;

use anyhow::Result;
use rusqlite::params;

use crate::store::Tx;

use super::posts::Post;
use super::users::{self, User};
use super::{ContentError, Permission};

/// The permission that lets a role act on posts other users own.
pub const EVERY_POST: Permission = Permission::PostsPublish;

/// What a user may try to do to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostAction {
    Edit,
    Revert,
    Submit,
    Publish,
    Unpublish,
    Archive,
    Approve,
    Reject,
    /// An edit that changes the status or the publication date.
    ChangeStatus,
    Delete,
    Restore,
    Purge,
}

impl PostAction {
    /// The permission the action needs (whoever owns the post).
    pub fn permission(self) -> Permission {
        use PostAction::*;
        match self {
            Edit | Revert | Submit => Permission::PostsEdit,
            Publish | Unpublish | Archive | Approve | Reject | ChangeStatus => {
                Permission::PostsPublish
            }
            Delete | Restore | Purge => Permission::PostsDelete,
        }
    }

    /// The action as a verb (`unpublish`), as refusals and audit rows name it.
    pub fn verb(self) -> &'static str {
        use PostAction::*;
        match self {
            Edit => "edit",
            Revert => "revert",
            Submit => "submit",
            Publish => "publish",
            Unpublish => "unpublish",
            Archive => "archive",
            Approve => "approve",
            Reject => "reject",
            ChangeStatus => "change the status or date of",
            Delete => "delete",
            Restore => "restore",
            Purge => "purge",
        }
    }
}

/// Why a user may not act on a post, and whom to ask instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub user: String,
    pub role: String,
    /// What was refused: `edit post 12 'Title'`.
    pub what: String,
    /// `None` for the user's own post; `Some(None)` for a post without an author.
    pub owner: Option<Option<String>>,
    /// The permission the user's role lacks, if that is (part of) the reason.
    pub missing: Option<&'static str>,
    /// The roles that may do it, least powerful first.
    pub roles: Vec<String>,
    /// Every permission the action needs here (for the hint when no role has them all).
    pub needs: Vec<&'static str>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user '{}' ({}) may not {}",
            self.user, self.role, self.what
        )?;
        match &self.owner {
            Some(Some(owner)) => write!(f, " (owned by '{owner}')")?,
            Some(None) => write!(f, " (it has no author)")?,
            None => {}
        }
        if let Some(p) = self.missing {
            write!(f, ": the {} role lacks {p}", self.role)?;
        }
        if self.roles.is_empty() {
            write!(
                f,
                "; no role may: an admin can grant {} in the store's role_permissions table",
                self.needs.join(" and ")
            )
        } else {
            let asks: Vec<String> = self.roles.iter().map(|r| with_article(r)).collect();
            write!(f, "; ask {}", asks.join(" or "))
        }
    }
}

/// `an editor`, `a reviewer`.
fn with_article(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// The roles whose permissions include all of `perms`, least powerful (fewest
/// permissions) first.
fn roles_with(conn: &Tx, perms: &[Permission]) -> Result<Vec<String>> {
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

/// Whether the user's role acts on posts other users own.
pub fn acts_on_every_post(conn: &Tx, user: &User) -> Result<bool> {
    users::has_permission(conn, user.id, EVERY_POST)
}

/// Whether the post is the user's.
fn owns(user: &User, post: &Post) -> bool {
    post.author.as_ref().is_some_and(|a| a.id == user.id)
}

fn refusal(
    conn: &Tx,
    user: &User,
    what: String,
    post: &Post,
    missing: Option<Permission>,
    needs: Vec<Permission>,
) -> Result<()> {
    Err(ContentError::Refused(Refusal {
        user: user.email.clone(),
        role: user.role.clone(),
        what,
        owner: (!owns(user, post)).then(|| post.author.as_ref().map(|a| a.email.clone())),
        missing: missing.map(Permission::as_str),
        roles: roles_with(conn, &needs)?,
        needs: needs.iter().map(|p| p.as_str()).collect(),
    })
    .into())
}

/// Refuses, naming the user, the post, its owner and whom to ask, unless `user` may do
/// `action` to `post`.
pub fn check(conn: &Tx, user: &User, action: PostAction, post: &Post) -> Result<()> {
    let perm = action.permission();
    let has = users::has_permission(conn, user.id, perm)?;
    let own = owns(user, post);
    if has && (own || acts_on_every_post(conn, user)?) {
        return Ok(());
    }
    let mut needs = vec![perm];
    if !own && perm != EVERY_POST {
        needs.push(EVERY_POST);
    }
    let what = format!("{} post {} '{}'", action.verb(), post.id, post.title);
    refusal(conn, user, what, post, (!has).then_some(perm), needs)
}

/// Refuses unless `user` may give `post` to `to`: only a role that acts on every post
/// changes who owns one (an author may not give their post away, nor take another's).
pub fn check_reassign(conn: &Tx, user: &User, post: &Post, to: &User) -> Result<()> {
    if post.author.as_ref().is_some_and(|a| a.id == to.id) || acts_on_every_post(conn, user)? {
        return Ok(());
    }
    let what = format!("give post {} '{}' to '{}'", post.id, post.title, to.email);
    refusal(
        conn,
        user,
        what,
        post,
        None,
        vec![Permission::PostsEdit, EVERY_POST],
    )
}

/// The reviewer of an approve or reject, who is the acting user: `named` (from `--as` or
/// `BLOGGO_USER`) or, without it, `by`, or else the default of `users::acting`. A `by`
/// naming someone other than `named` is refused: a user cannot act as someone else.
pub fn reviewer(conn: &Tx, named: Option<&str>, by: Option<&str>) -> Result<User> {
    match (named, by) {
        (named, None) => users::acting(conn, named),
        (None, Some(by)) => users::by_email(conn, by),
        (Some(named), Some(by)) => {
            let actor = users::by_email(conn, named)?;
            let reviewer = users::by_email(conn, by)?;
            if reviewer.id != actor.id {
                return Err(ContentError::NotTheActor {
                    by: reviewer.email,
                    actor: actor.email,
                }
                .into());
            }
            Ok(actor)
        }
    }
}
