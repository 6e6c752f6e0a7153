//! Tags: rename and merge (the `tags.manage` permission), each with its audit row.

use anyhow::Result;
use serde_json::json;

use crate::content::ActAs;
use crate::store::content::taxonomy::{self, Tag};
use crate::store::content::{audit, Permission};
use crate::store::Store;

/// Every tag with its number of posts.
pub fn list(store: &mut Store) -> Result<Vec<Tag>> {
    store.read(taxonomy::tags)
}

/// Renames a tag (its slug follows the new name). Returns the tag before and the new slug.
pub fn rename(store: &mut Store, act: &ActAs, tag: &str, name: &str) -> Result<(Tag, String)> {
    store.write(|tx| {
        let actor = act.require(tx, Permission::TagsManage, "manage tags")?;
        let t = taxonomy::tag(tx, tag)?;
        taxonomy::rename_tag(tx, &t, name)?;
        let new_slug = slug::slugify(name.trim());
        audit::write(
            tx,
            actor.id,
            "tag.rename",
            "tag",
            Some(t.id),
            Some(&json!({"name": t.name, "slug": t.slug})),
            Some(&json!({"name": name.trim(), "slug": new_slug})),
        )?;
        Ok((t, new_slug))
    })
}

/// Merges tag `a` into tag `b`: `a`'s posts get `b`, then `a` is removed. Returns both tags
/// and the number of posts that got `b`.
pub fn merge(store: &mut Store, act: &ActAs, a: &str, b: &str) -> Result<(Tag, Tag, usize)> {
    store.write(|tx| {
        let actor = act.require(tx, Permission::TagsManage, "manage tags")?;
        let from = taxonomy::tag(tx, a)?;
        let into = taxonomy::tag(tx, b)?;
        let n = taxonomy::merge_tags(tx, &from, &into)?;
        audit::write(
            tx,
            actor.id,
            "tag.merge",
            "tag",
            Some(into.id),
            Some(&json!({"name": from.name, "slug": from.slug, "posts": from.posts})),
            Some(&json!({"into": into.slug})),
        )?;
        Ok((from, into, n))
    })
}
