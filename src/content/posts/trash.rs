//! The trash: soft delete and restore (a synced post's file goes to `content/.trash` and
//! back), and purge, which removes posts deleted before a cutoff for good.
//!
//! A purge is two steps so that nobody is asked a question while the store is locked:
//! `plan_purge` reads what would go (and refuses a user who may not purge one of them), the
//! command asks, then `purge` removes, in its own transaction, those planned posts that are
//! still purgeable, checking the user again.

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::audit_post;

use crate::config::Settings;
use crate::content::access::{self, PostAction};
use crate::content::sync::{in_content, move_file, trash_path};
use crate::content::ActAs;
use crate::model::Timestamp;
use crate::store::content::posts;
use crate::store::content::Permission;
use crate::store::{Store, Tx};

/// Soft-deletes a post (`restore` brings it back; `purge` removes it for good).
pub fn delete(store: &mut Store, settings: &Settings, act: &ActAs, slug: &str) -> Result<()> {
    soft_delete(store, settings, act, slug, true)
}

/// Undeletes a soft-deleted post.
pub fn restore(store: &mut Store, settings: &Settings, act: &ActAs, slug: &str) -> Result<()> {
    soft_delete(store, settings, act, slug, false)
}

fn soft_delete(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    slug: &str,
    delete: bool,
) -> Result<()> {
    let action = if delete {
        PostAction::Delete
    } else {
        PostAction::Restore
    };
    let mut moved = None;
    let done = store.write(|tx| {
        let actor = act.user(tx)?;
        let post = posts::by_slug(tx, slug)?;
        access::check(tx, &actor, action, &post)?;
        match (delete, &post.deleted_at) {
            (true, Some(d)) => bail!("{slug} was already deleted at {d}"),
            (false, None) => bail!("{slug} is not deleted"),
            _ => {}
        }
        let now = Timestamp::now();
        posts::set_deleted(tx, post.id, delete.then_some(now))?;
        // A synced post's file goes to (or comes back from) content/.trash.
        if let Some((file, rel)) = post
            .source_path
            .as_deref()
            .and_then(|s| in_content(settings, s))
            .filter(|_| settings.config.content.sync)
        {
            let trash = trash_path(settings, &rel);
            let (from, to) = if delete { (file, trash) } else { (trash, file) };
            if !delete && to.exists() {
                bail!(
                    "{} exists again; the next sync brings the post back from it (or remove that file and restore)",
                    to.display()
                );
            }
            if from.is_file() {
                move_file(&from, &to)?;
                moved = Some((from, to));
            }
        }
        let (before, after) = (post.deleted_at, delete.then_some(now));
        audit_post(
            tx,
            &actor,
            &format!("post.{}", action.verb()),
            post.id,
            Some(json!({ "deleted_at": before })),
            Some(json!({ "deleted_at": after })),
        )
    });
    if done.is_err() {
        if let Some((from, to)) = moved {
            let _ = std::fs::rename(to, from);
        }
    }
    done
}

/// A post a purge would remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub deleted_at: Timestamp,
}

/// The posts soft-deleted before `cutoff` (a store timestamp), refused unless the acting user
/// may purge every one of them.
fn purgeable(
    tx: &Tx,
    act: &ActAs,
    cutoff: Timestamp,
) -> Result<(crate::store::content::users::User, Vec<Doomed>)> {
    let actor = act.require(tx, Permission::PostsDelete, "purge posts")?;
    let doomed: Vec<Doomed> = posts::purgeable(tx, cutoff)?
        .into_iter()
        .map(|(id, slug, title, deleted_at)| Doomed {
            id,
            slug,
            title,
            deleted_at,
        })
        .collect();
    for d in &doomed {
        access::check(tx, &actor, PostAction::Purge, &posts::load(tx, d.id)?)?;
    }
    Ok((actor, doomed))
}

/// What a purge of the posts deleted before `cutoff` would remove (nothing is changed).
pub fn plan_purge(store: &mut Store, act: &ActAs, cutoff: Timestamp) -> Result<Vec<Doomed>> {
    store.read(|tx| purgeable(tx, act, cutoff).map(|(_, doomed)| doomed))
}

/// Removes for good the planned posts that are still deleted before `cutoff` (one restored
/// since the plan stays), with their versions and media, and the files of synced posts that
/// would bring them back. Returns how many were removed.
pub fn purge(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    cutoff: Timestamp,
    plan: &[Doomed],
) -> Result<usize> {
    let mut files = Vec::new();
    let mut media = Vec::new();
    let purged = store.write(|tx| -> Result<usize> {
        let (actor, doomed) = purgeable(tx, act, cutoff)?;
        let mut purged = 0;
        for d in doomed.iter().filter(|d| plan.iter().any(|p| p.id == d.id)) {
            let post = posts::load(tx, d.id)?;
            // A synced post's unchanged file would bring it back at the next sync.
            if let (Some(source), Some(hash)) = (&post.source_path, &post.source_hash) {
                if let Some((file, rel)) = in_content(settings, source) {
                    for path in [file, trash_path(settings, &rel)] {
                        if std::fs::read(&path).is_ok_and(|b| crate::fsx::sha256_hex(&b) == *hash) {
                            files.push(path);
                        }
                    }
                }
            }
            media.extend(posts::purge(tx, d.id)?);
            audit_post(
                tx,
                &actor,
                "post.purge",
                d.id,
                Some(json!({"slug": d.slug, "title": d.title, "deleted_at": d.deleted_at})),
                None,
            )?;
            purged += 1;
        }
        Ok(purged)
    })?;
    for f in files {
        std::fs::remove_file(&f).with_context(|| {
            format!(
                "{}: the post was purged but its file could not be removed",
                f.display()
            )
        })?;
    }
    remove_media(settings, &media)?;
    Ok(purged)
}

/// Removes the bytes of purged media (site-relative paths from the store), only inside the
/// site's media folder, and the folders they leave empty there.
fn remove_media(settings: &Settings, media: &[String]) -> Result<()> {
    let Ok(root) = settings.media.canonicalize() else {
        return Ok(()); // no media folder: nothing to remove
    };
    for rel in media {
        let Ok(path) = settings.root.join(rel).canonicalize() else {
            continue; // already gone
        };
        if !path.starts_with(&root) || !path.is_file() {
            continue;
        }
        std::fs::remove_file(&path).with_context(|| {
            format!(
                "{}: the post was purged but its media file could not be removed; remove it by hand",
                path.display()
            )
        })?;
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| *d != root && d.starts_with(&root)) {
            if std::fs::remove_dir(d).is_err() {
                break; // not empty
            }
            dir = d.parent();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, Site, ADMIN, EDITOR};
    use crate::content::posts::write::{create, NewPost};
    use crate::store::content::ContentError;

    /// A cutoff after every deletion the test makes.
    fn later() -> Timestamp {
        "2999-01-01 00:00:00".parse().unwrap()
    }

    fn deleted(s: &mut Site, title: &str) -> crate::store::content::posts::Post {
        let new = NewPost {
            title: title.into(),
            ..NewPost::default()
        };
        let post = create(&mut s.store, &s.settings, &by(ADMIN), &new).unwrap();
        delete(&mut s.store, &s.settings, &by(ADMIN), &post.slug).unwrap();
        post
    }

    fn exists(s: &mut Site, slug: &str) -> bool {
        s.store
            .read(|tx| posts::by_slug(tx, slug).map(|_| ()))
            .is_ok()
    }

    #[test]
    fn delete_moves_a_synced_file_to_the_trash_and_restore_brings_it_back() {
        let mut s = site();
        let post = deleted(&mut s, "Away");
        let file = s.settings.root.join(post.source_path.as_deref().unwrap());
        let trashed = s.settings.content.join(".trash").join("away.md");
        assert!(!file.exists() && trashed.is_file());
        restore(&mut s.store, &s.settings, &by(ADMIN), "away").unwrap();
        assert!(file.is_file() && !trashed.exists());
        let err = restore(&mut s.store, &s.settings, &by(ADMIN), "away").unwrap_err();
        assert_eq!(err.to_string(), "away is not deleted");
    }

    #[test]
    fn purge_removes_what_was_planned_and_is_still_deleted() {
        let mut s = site();
        deleted(&mut s, "One");
        deleted(&mut s, "Two");
        let plan = plan_purge(&mut s.store, &by(ADMIN), later()).unwrap();
        let slugs: Vec<&str> = plan.iter().map(|d| d.slug.as_str()).collect();
        assert_eq!(slugs.len(), 2);
        assert!(slugs.contains(&"one") && slugs.contains(&"two"));
        // Planning changes nothing.
        assert!(exists(&mut s, "one") && exists(&mut s, "two"));

        // Restored between the plan and the purge (while the user was asked): it stays.
        restore(&mut s.store, &s.settings, &by(ADMIN), "two").unwrap();
        // Deleted after the plan: not what the user agreed to remove.
        deleted(&mut s, "Three");

        let n = purge(&mut s.store, &s.settings, &by(ADMIN), later(), &plan).unwrap();
        assert_eq!(n, 1);
        assert!(!exists(&mut s, "one"));
        assert!(exists(&mut s, "two") && exists(&mut s, "three"));
        assert!(!s.settings.content.join(".trash").join("one.md").exists());
        assert!(s.settings.content.join(".trash").join("three.md").is_file());
        let log = crate::content::audit::list(&mut s.store, None, 1).unwrap();
        assert_eq!(log[0].action, "post.purge");
    }

    #[test]
    fn nothing_deleted_before_the_cutoff_plans_nothing() {
        let mut s = site();
        deleted(&mut s, "Recent");
        let plan = plan_purge(
            &mut s.store,
            &by(ADMIN),
            "2000-01-01 00:00:00".parse().unwrap(),
        )
        .unwrap();
        assert!(plan.is_empty());
    }

    #[test]
    fn only_a_role_with_posts_delete_plans_or_purges() {
        let mut s = site();
        deleted(&mut s, "Old");
        let plan = plan_purge(&mut s.store, &by(ADMIN), later()).unwrap();
        for err in [
            plan_purge(&mut s.store, &by(EDITOR), later())
                .map(|_| 0)
                .unwrap_err(),
            purge(&mut s.store, &s.settings, &by(EDITOR), later(), &plan).unwrap_err(),
        ] {
            assert!(
                matches!(
                    err.downcast_ref::<ContentError>(),
                    Some(ContentError::Forbidden { permission, .. }) if permission == "posts.delete"
                ),
                "{err:#}"
            );
        }
        assert!(exists(&mut s, "old"));
    }
}
