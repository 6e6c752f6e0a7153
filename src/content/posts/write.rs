//! Writing posts: create, edit, publish and unpublish, archive, revert, and review (submit,
//! approve, reject). Each change checks who acts, records a version where the text changed,
//! writes its audit row and keeps a synced file in `content/` in step, in one transaction.

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::{audit_post, live_post, read_time, status_json};
use crate::config::Settings;
use crate::content::access::{self, PostAction};
use crate::content::sync::{sync_source_file, write_source_file};
use crate::content::ActAs;
use crate::frontmatter::dates;
use crate::model::{
    AuthorRef, CategoryPath, PostFields, PostKind, PostStatus, Timestamp, VersionStatus,
};
use crate::store::content::posts::{self, Post};
use crate::store::content::users::{self, User};
use crate::store::content::{versions, Permission};
use crate::store::Store;

/// A draft to create.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub title: String,
    /// The slug; from the title when `None`.
    pub slug: Option<String>,
    /// Category paths (`Parent/Child`), created when missing.
    pub categories: Vec<String>,
    /// Tag names, created when missing.
    pub tags: Vec<String>,
    /// A standalone page (no date in listings, out of feeds) rather than a post.
    pub kind: PostKind,
    /// The section (its folder of `content/`: `notes`, `blog/rust`).
    pub section: Option<String>,
}

/// Creates a draft by the acting user (and its file in `content/` when the site syncs one).
pub fn create(store: &mut Store, settings: &Settings, act: &ActAs, new: &NewPost) -> Result<Post> {
    let title = new.title.trim();
    let mut written = Vec::new();
    let created = store.write(|tx| {
        let actor = act.require(tx, Permission::PostsCreate, "create posts")?;
        if title.is_empty() {
            bail!("a post needs a title");
        }
        if let Some(s) = &new.section {
            if !crate::permalinks::is_section_path(s) {
                bail!("--section {s:?}: a section is a folder of content/ such as `notes` or `blog/rust` (no leading or trailing `/`, spaces or `..`)");
            }
        }
        let slug = match &new.slug {
            Some(s) => {
                let s = slug::slugify(s);
                if posts::slug_taken(tx, &s)? {
                    bail!("a post with the slug {s:?} already exists; pick another --slug");
                }
                s
            }
            None => posts::free_slug(tx, title)?,
        };
        let fields = PostFields {
            title: title.to_string(),
            slug: slug.clone(),
            categories: new
                .categories
                .iter()
                .map(|c| CategoryPath::from(c.as_str()))
                .collect(),
            tags: new.tags.clone(),
            kind: new.kind,
            section: new.section.clone(),
            ..PostFields::default()
        };
        let id = posts::create(tx, &fields, actor.id)?;
        versions::record_change(tx, id, actor.id)?;
        let created = json!({
            "title": title,
            "slug": slug,
            "categories": new.categories,
            "tags": new.tags,
            "kind": new.kind.as_str(),
            "section": new.section,
        });
        audit_post(tx, &actor, "post.create", id, None, Some(created))?;
        if settings.config.content.sync {
            let folder = match &new.section {
                Some(s) => settings.content.join(s),
                None => settings.content.clone(),
            };
            // A section is a folder with an `_index.md`: without one, the next sync would
            // take the post out of it.
            if let Some(s) = &new.section {
                let index = folder.join("_index.md");
                if !index.exists() {
                    let title = crate::store::sections::folder_title(s);
                    std::fs::create_dir_all(&folder)
                        .with_context(|| format!("{}: cannot create", folder.display()))?;
                    crate::fsx::write_atomic(
                        &index,
                        format!("---\ntitle: {title:?}\n---\n").as_bytes(),
                        crate::fsx::Durability::Atomic,
                    )
                    .with_context(|| format!("{}: cannot write", index.display()))?;
                    written.push(index);
                }
            }
            let path = folder.join(format!("{slug}.md"));
            if path.exists() {
                bail!(
                    "{}: a file with this name already exists in content/; import it, or pick another --slug",
                    path.display()
                );
            }
            write_source_file(tx, settings, id, &path)?;
            written.push(path);
        }
        Ok(id)
    });
    let id = match created {
        Ok(id) => id,
        Err(e) => {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    store.read(|tx| posts::load(tx, id))
}

/// The post to edit, refused before an editor opens when the acting user may not edit it,
/// so nobody writes an edit that cannot be saved.
pub fn open_for_edit(store: &mut Store, act: &ActAs, slug: &str) -> Result<Post> {
    store.read(|tx| {
        let post = live_post(tx, slug)?;
        access::check(tx, &act.user(tx)?, PostAction::Edit, &post)?;
        Ok(post)
    })
}

/// Reads an edited document with import's own parser, so an edit means exactly what the
/// same text in a `content/` file means to sync. Returns the post's fields and the author
/// named.
fn read_document(
    settings: &Settings,
    before: &Post,
    text: &str,
) -> Result<(PostFields, Option<AuthorRef>)> {
    let ctx = crate::frontmatter::ParseContext::for_site(settings);
    let p = crate::import::parse_file(&format!("{}.md", before.slug), text.as_bytes(), &ctx)
        .map_err(|problems| {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| match p.line {
                    Some(l) => format!("line {l}: {}", p.message),
                    None => p.message.clone(),
                })
                .collect();
            anyhow::anyhow!("the edited post: {}", lines.join("; "))
        })?;
    let author = p.fields.authors.first().cloned();
    Ok((p.fields, author))
}

/// The fields that differ between two states of a post, as an edit reports them.
fn changed_fields(a: &PostFields, b: &PostFields) -> Vec<&'static str> {
    let mut c = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            c.push(name);
        }
    };
    check("title", a.title == b.title);
    check("subtitle", a.subtitle == b.subtitle);
    check("slug", a.slug == b.slug);
    check("body", a.content == b.content);
    check("excerpt", a.excerpt == b.excerpt);
    check("cover", a.cover_image == b.cover_image);
    check("status", a.status == b.status);
    check("date", a.published_at == b.published_at);
    check("updated", a.modified_at == b.modified_at);
    check("extra", a.extra == b.extra);
    check("categories", a.categories == b.categories);
    check("tags", a.tags == b.tags);
    check("aliases", a.aliases == b.aliases);
    check("path", a.path == b.path);
    check("kind", a.kind == b.kind);
    c
}

/// Parses an edited document (`before` as `open_for_edit` gave it) and applies it, all or
/// nothing. Returns the names of the fields that changed (none: nothing was written).
pub fn save_edit(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    before: &Post,
    text: &str,
) -> Result<Vec<&'static str>> {
    let (edit, author) = read_document(settings, before, text)?;
    store.write(|tx| {
        // The post may have changed while the editor was open: refuse to overwrite that.
        let now_post = posts::load(tx, before.id)?;
        if now_post.updated_at != before.updated_at {
            bail!(
                "{} changed in the store while you were editing; edit it again",
                before.slug
            );
        }
        let old = &before.fields;
        let actor = act.user(tx)?;
        access::check(tx, &actor, PostAction::Edit, &now_post)?;
        if edit.status != old.status || edit.published_at != old.published_at {
            access::check(tx, &actor, PostAction::ChangeStatus, &now_post)?;
        }
        let mut changed = changed_fields(old, &edit);
        let author_id = match author {
            Some(a)
                if before
                    .author
                    .as_ref()
                    .is_none_or(|b| b.name != a.name && Some(&b.email) != a.email.as_ref()) =>
            {
                let known = match &a.email {
                    Some(e) => users::find(tx, e)?,
                    None => None,
                };
                let u = match known {
                    Some(u) => u,
                    None => users::find(tx, &a.name)?.ok_or_else(|| {
                        anyhow::anyhow!(
                            "the edited post: no user named {:?}; add them with `bloggo user add`",
                            a.name
                        )
                    })?,
                };
                access::check_reassign(tx, &actor, &now_post, &u)?;
                changed.push("author");
                Some(u.id)
            }
            _ => None,
        };
        if changed.is_empty() {
            return Ok(changed);
        }
        versions::keep_before_change(tx, before.id)?;
        let author_id = author_id.or(now_post.author.as_ref().map(|a| a.id));
        posts::apply(tx, &now_post, &edit, author_id)?;
        let v = versions::record_change(tx, before.id, actor.id)?;
        audit_post(
            tx,
            &actor,
            "post.edit",
            before.id,
            None,
            Some(json!({"slug": edit.slug, "changed": changed, "version": v})),
        )?;
        sync_source_file(tx, settings, before.id)?;
        Ok(changed)
    })
}

/// When a publish takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Now,
    /// Scheduled for this store timestamp, in the future.
    Scheduled(Timestamp),
}

/// Publishes a post now, or at `at` (RFC 3339, or `YYYY-MM-DD HH:MM` in the site's zone; a
/// future time schedules it). Without `at`, a date the post already has in the past stays.
pub fn publish(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    slug: &str,
    at: Option<&str>,
) -> Result<Published> {
    store.write(|tx| {
        let actor = act.user(tx)?;
        let post = live_post(tx, slug)?;
        access::check(tx, &actor, PostAction::Publish, &post)?;
        let now = Timestamp::now();
        let when = match at {
            Some(t) => dates::parse_time(t, &settings.timezone)?,
            None => match post.published_at {
                Some(d) if d <= now => d,
                _ => now,
            },
        };
        posts::set_status(tx, post.id, PostStatus::Published, Some(when))?;
        let after = posts::load(tx, post.id)?;
        let scheduled = when > now;
        audit_post(
            tx,
            &actor,
            if scheduled {
                "post.schedule"
            } else {
                "post.publish"
            },
            post.id,
            Some(status_json(&post)),
            Some(status_json(&after)),
        )?;
        sync_source_file(tx, settings, post.id)?;
        Ok(if scheduled {
            Published::Scheduled(when)
        } else {
            Published::Now
        })
    })
}

/// Back to draft (the post leaves the site at the next build).
pub fn unpublish(store: &mut Store, settings: &Settings, act: &ActAs, slug: &str) -> Result<()> {
    set_status(
        store,
        settings,
        act,
        slug,
        PostStatus::Draft,
        PostAction::Unpublish,
    )
}

/// Archives a post.
pub fn archive(store: &mut Store, settings: &Settings, act: &ActAs, slug: &str) -> Result<()> {
    set_status(
        store,
        settings,
        act,
        slug,
        PostStatus::Archived,
        PostAction::Archive,
    )
}

fn set_status(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    slug: &str,
    status: PostStatus,
    action: PostAction,
) -> Result<()> {
    store.write(|tx| {
        let actor = act.user(tx)?;
        let post = live_post(tx, slug)?;
        access::check(tx, &actor, action, &post)?;
        posts::set_status(tx, post.id, status, post.published_at)?;
        let after = posts::load(tx, post.id)?;
        audit_post(
            tx,
            &actor,
            &format!("post.{}", action.verb()),
            post.id,
            Some(status_json(&post)),
            Some(status_json(&after)),
        )?;
        sync_source_file(tx, settings, post.id)
    })
}

/// Makes version `to` current again, recorded as a new version; returns its number.
pub fn revert(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    slug: &str,
    to: i64,
) -> Result<i64> {
    store.write(|tx| {
        let actor = act.user(tx)?;
        let post = live_post(tx, slug)?;
        access::check(tx, &actor, PostAction::Revert, &post)?;
        let target = versions::get(tx, post.id, slug, to)?;
        if versions::current(tx, post.id)? == target.state() {
            bail!("{slug} already has the text of version {to}; nothing to revert");
        }
        versions::keep_before_change(tx, post.id)?;
        let mut e = target.state.applied_to(post.fields.clone());
        e.read_time = read_time(settings, &e.content);
        posts::apply(tx, &post, &e, post.author.as_ref().map(|a| a.id))?;
        let v = versions::record_change(tx, post.id, actor.id)?;
        audit_post(
            tx,
            &actor,
            "post.revert",
            post.id,
            None,
            Some(json!({"to": to, "version": v})),
        )?;
        sync_source_file(tx, settings, post.id)?;
        Ok(v)
    })
}

/// A step of the review of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// The post goes to review (status pending).
    Submit,
    /// Its version is marked approved and the post published.
    Approve,
    /// Its version is marked rejected and the post goes back to draft.
    Reject,
}

/// Submits, approves or rejects a post; returns the version concerned. The reviewer of an
/// approve or reject is the acting user: `by` may repeat it, never name someone else.
pub fn review(
    store: &mut Store,
    settings: &Settings,
    act: &ActAs,
    slug: &str,
    step: Review,
    by: Option<&str>,
) -> Result<i64> {
    store.write(|tx| {
        let post = live_post(tx, slug)?;
        let (actor, status, version_status, action): (User, _, _, _) = match step {
            Review::Submit => {
                let actor = act.user(tx)?;
                access::check(tx, &actor, PostAction::Submit, &post)?;
                if post.status == PostStatus::Published {
                    bail!("{slug} is already published; unpublish it first to send it to review");
                }
                (
                    actor,
                    PostStatus::Pending,
                    VersionStatus::Pending,
                    "post.submit",
                )
            }
            Review::Approve | Review::Reject => {
                let reviewer = access::reviewer(tx, act.named(), by)?;
                let action = if step == Review::Approve {
                    PostAction::Approve
                } else {
                    PostAction::Reject
                };
                access::check(tx, &reviewer, action, &post)?;
                if post.status != PostStatus::Pending {
                    bail!(
                        "{slug} is {}, not pending review; `bloggo post submit {slug}` first",
                        post.status
                    );
                }
                if step == Review::Approve {
                    (
                        reviewer,
                        PostStatus::Published,
                        VersionStatus::Approved,
                        "post.approve",
                    )
                } else {
                    (
                        reviewer,
                        PostStatus::Draft,
                        VersionStatus::Rejected,
                        "post.reject",
                    )
                }
            }
        };
        let v = versions::keep_before_change(tx, post.id)?;
        let reviewer = (step != Review::Submit).then_some(actor.id);
        versions::set_review(tx, post.id, v, version_status, reviewer)?;
        let published_at = match status {
            PostStatus::Published => Some(post.published_at.unwrap_or_else(Timestamp::now)),
            _ => post.published_at,
        };
        posts::set_status(tx, post.id, status, published_at)?;
        audit_post(
            tx,
            &actor,
            action,
            post.id,
            Some(status_json(&post)),
            Some(
                json!({"status": status.as_str(), "version": v, "review": version_status.as_str()}),
            ),
        )?;
        sync_source_file(tx, settings, post.id)?;
        Ok(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::access::Refusal;
    use crate::content::fixture::{by, site, Site, ADMIN, AUTHOR, EDITOR, OTHER_AUTHOR};
    use crate::frontmatter::write::{document, Format};
    use crate::store::content::ContentError;

    fn draft(s: &mut Site, author: &str, title: &str) -> Post {
        let new = NewPost {
            title: title.into(),
            ..NewPost::default()
        };
        create(&mut s.store, &s.settings, &by(author), &new).unwrap()
    }

    fn submit(s: &mut Site, who: &str, slug: &str) -> Result<i64> {
        review(
            &mut s.store,
            &s.settings,
            &by(who),
            slug,
            Review::Submit,
            None,
        )
    }

    /// The refusal an operation failed with.
    fn refusal<T: std::fmt::Debug>(r: Result<T>) -> Refusal {
        r.unwrap_err()
            .downcast::<Refusal>()
            .unwrap_or_else(|e| panic!("not a refusal: {e:#}"))
    }

    #[test]
    fn an_author_writes_and_submits_their_own_post_but_does_not_publish_it() {
        let mut s = site();
        let post = draft(&mut s, AUTHOR, "Mine");
        assert_eq!(post.author.as_ref().unwrap().email, AUTHOR);
        let v = submit(&mut s, AUTHOR, "mine");
        assert_eq!(v.unwrap(), 1);
        let r = refusal(publish(
            &mut s.store,
            &s.settings,
            &by(AUTHOR),
            "mine",
            None,
        ));
        assert_eq!(r.missing, Some("posts.publish"));
        assert_eq!(r.owner, None, "the author's own post");
        assert_eq!(r.roles, ["editor", "admin"]);
    }

    #[test]
    fn an_author_may_not_touch_another_authors_post() {
        let mut s = site();
        draft(&mut s, OTHER_AUTHOR, "Theirs");
        let r = refusal(submit(&mut s, AUTHOR, "theirs"));
        assert_eq!(r.missing, None, "the role may edit, just not this post");
        assert_eq!(r.owner, Some(Some(OTHER_AUTHOR.to_string())));
        assert!(r.to_string().contains("owned by 'bob@example.org'"), "{r}");
        let r = refusal(open_for_edit(&mut s.store, &by(AUTHOR), "theirs"));
        assert_eq!(r.what, format!("edit post {} 'Theirs'", 1));
    }

    #[test]
    fn an_editor_publishes_and_reviews_anyones_post() {
        let mut s = site();
        draft(&mut s, AUTHOR, "Hers");
        submit(&mut s, AUTHOR, "hers").unwrap();
        let v = review(
            &mut s.store,
            &s.settings,
            &by(EDITOR),
            "hers",
            Review::Approve,
            Some(EDITOR),
        )
        .unwrap();
        assert_eq!(v, 1);
        let post = open_for_edit(&mut s.store, &by(EDITOR), "hers").unwrap();
        assert_eq!(post.status, PostStatus::Published);
        unpublish(&mut s.store, &s.settings, &by(EDITOR), "hers").unwrap();
        let at = publish(
            &mut s.store,
            &s.settings,
            &by(EDITOR),
            "hers",
            Some("2999-01-01 09:00"),
        );
        assert_eq!(
            at.unwrap(),
            Published::Scheduled("2999-01-01 09:00:00".parse().unwrap())
        );
    }

    #[test]
    fn a_reviewer_named_with_by_must_be_the_acting_user() {
        let mut s = site();
        draft(&mut s, AUTHOR, "Pending");
        submit(&mut s, AUTHOR, "pending").unwrap();
        let err = review(
            &mut s.store,
            &s.settings,
            &by(AUTHOR),
            "pending",
            Review::Approve,
            Some(EDITOR),
        )
        .unwrap_err();
        assert!(matches!(
            err.downcast_ref::<ContentError>(),
            Some(ContentError::NotTheActor { .. })
        ));
        // Refused as a whole: the post is still pending.
        let post = open_for_edit(&mut s.store, &by(AUTHOR), "pending").unwrap();
        assert_eq!(post.status, PostStatus::Pending);
    }

    #[test]
    fn an_authors_edit_may_change_the_text_but_not_the_status() {
        let mut s = site();
        let before = draft(&mut s, AUTHOR, "Draft");
        let doc = document(&before, &s.settings.timezone, Format::Plain).unwrap();
        let retitled = doc.replace("title: Draft", "title: Better");
        let changed = save_edit(&mut s.store, &s.settings, &by(AUTHOR), &before, &retitled);
        assert_eq!(changed.unwrap(), ["title"]);
        let before = open_for_edit(&mut s.store, &by(AUTHOR), "draft").unwrap();
        let doc = document(&before, &s.settings.timezone, Format::Plain).unwrap();
        let published = doc.replace("draft: true", "draft: false");
        assert_ne!(published, doc);
        let r = refusal(save_edit(
            &mut s.store,
            &s.settings,
            &by(AUTHOR),
            &before,
            &published,
        ));
        assert_eq!(r.missing, Some("posts.publish"));
        assert!(r.what.starts_with("change the status or date of post"));
    }

    #[test]
    fn a_change_is_audited_and_written_back_to_its_file() {
        let mut s = site();
        let post = draft(&mut s, ADMIN, "Synced");
        let file = s.settings.root.join(post.source_path.as_deref().unwrap());
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .contains("draft: true"));
        publish(&mut s.store, &s.settings, &by(ADMIN), "synced", None).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("date: ") && !text.contains("draft: true"),
            "{text}"
        );
        let log = crate::content::audit::list(&mut s.store, None, 10).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions[actions.len() - 2..],
            ["post.create", "post.publish"]
        );
    }

    #[test]
    fn a_deleted_post_is_refused_until_restored() {
        let mut s = site();
        draft(&mut s, ADMIN, "Gone");
        crate::content::posts::trash::delete(&mut s.store, &s.settings, &by(ADMIN), "gone")
            .unwrap();
        let err = publish(&mut s.store, &s.settings, &by(ADMIN), "gone", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gone is deleted; `bloggo post restore gone` first"
        );
    }
}
