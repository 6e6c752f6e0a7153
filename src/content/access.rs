//! Who may do what to a post: the one place the content operations ask.
//!
//! A user may do an action to a post when their role has the action's permission (in the
//! store's `role_permissions` table) and either the post is theirs or their role acts on
//! every post. A role acts on every post when the table gives it `posts.publish`: reviewing
//! (approve, reject, publish) is acting on other users' work, so the roles the table lets
//! review are the editorial ones. As seeded, admins and editors act on every post and an
//! author on their own only.
//!
//! The acting user is whoever the command names (`--as`, `BLOGGO_USER`), else the store's
//! only admin: see `actor::acting`. A reviewer named with `--by` must be that same user.

use std::fmt;

use anyhow::Result;

use super::actor::acting;
use crate::store::content::posts::Post;
use crate::store::content::users::{self, User};
use crate::store::content::{ContentError, Permission};
use crate::store::Tx;

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

/// Why a user may not act on a post, and whom to ask instead (the error a refused
/// operation fails with).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

/// Whether the user's role acts on posts other users own.
pub fn acts_on_every_post(tx: &Tx, user: &User) -> Result<bool> {
    users::has_permission(tx, user.id, EVERY_POST)
}

/// Whether the post is the user's.
fn owns(user: &User, post: &Post) -> bool {
    post.author.as_ref().is_some_and(|a| a.id == user.id)
}

fn refusal(
    tx: &Tx,
    user: &User,
    what: String,
    post: &Post,
    missing: Option<Permission>,
    needs: Vec<Permission>,
) -> Result<()> {
    Err(Refusal {
        user: user.email.clone(),
        role: user.role.clone(),
        what,
        owner: (!owns(user, post)).then(|| post.author.as_ref().map(|a| a.email.clone())),
        missing: missing.map(Permission::as_str),
        roles: users::roles_with(tx, &needs)?,
        needs: needs.iter().map(|p| p.as_str()).collect(),
    }
    .into())
}

/// Refuses, naming the user, the post, its owner and whom to ask, unless `user` may do
/// `action` to `post`.
pub fn check(tx: &Tx, user: &User, action: PostAction, post: &Post) -> Result<()> {
    let perm = action.permission();
    let has = users::has_permission(tx, user.id, perm)?;
    let own = owns(user, post);
    if has && (own || acts_on_every_post(tx, user)?) {
        return Ok(());
    }
    let mut needs = vec![perm];
    if !own && perm != EVERY_POST {
        needs.push(EVERY_POST);
    }
    let what = format!("{} post {} '{}'", action.verb(), post.id, post.title);
    refusal(tx, user, what, post, (!has).then_some(perm), needs)
}

/// Refuses unless `user` may give `post` to `to`: only a role that acts on every post
/// changes who owns one (an author may not give their post away, nor take another's).
pub fn check_reassign(tx: &Tx, user: &User, post: &Post, to: &User) -> Result<()> {
    if post.author.as_ref().is_some_and(|a| a.id == to.id) || acts_on_every_post(tx, user)? {
        return Ok(());
    }
    let what = format!("give post {} '{}' to '{}'", post.id, post.title, to.email);
    refusal(
        tx,
        user,
        what,
        post,
        None,
        vec![Permission::PostsEdit, EVERY_POST],
    )
}

/// The reviewer of an approve or reject, who is the acting user: `named` (from `--as` or
/// `BLOGGO_USER`) or, without it, `by`, or else the default of `actor::acting`. A `by`
/// naming someone other than `named` is refused: a user cannot act as someone else.
pub fn reviewer(tx: &Tx, named: Option<&str>, by: Option<&str>) -> Result<User> {
    match (named, by) {
        (named, None) => acting(tx, named),
        (None, Some(by)) => users::by_email(tx, by),
        (Some(named), Some(by)) => {
            let actor = users::by_email(tx, named)?;
            let reviewer = users::by_email(tx, by)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(owner: Option<Option<&str>>, roles: &[&str]) -> Refusal {
        Refusal {
            user: "ann@example.org".into(),
            role: "author".into(),
            what: "publish post 3 'Hi'".into(),
            owner: owner.map(|o| o.map(String::from)),
            missing: Some("posts.publish"),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            needs: vec!["posts.publish"],
        }
    }

    #[test]
    fn a_refusal_names_the_owner_the_missing_permission_and_whom_to_ask() {
        assert_eq!(
            refusal(Some(Some("bob@example.org")), &["editor", "admin"]).to_string(),
            "user 'ann@example.org' (author) may not publish post 3 'Hi' (owned by 'bob@example.org'): \
             the author role lacks posts.publish; ask an editor or an admin"
        );
        assert_eq!(
            refusal(Some(None), &[]).to_string(),
            "user 'ann@example.org' (author) may not publish post 3 'Hi' (it has no author): \
             the author role lacks posts.publish; no role may: an admin can grant posts.publish \
             in the store's role_permissions table"
        );
        assert!(!refusal(None, &["editor"]).to_string().contains("owned"));
    }

    #[test]
    fn each_action_needs_its_permission() {
        assert_eq!(PostAction::Submit.permission(), Permission::PostsEdit);
        assert_eq!(PostAction::ChangeStatus.permission(), EVERY_POST);
        assert_eq!(PostAction::Purge.permission(), Permission::PostsDelete);
    }
}
