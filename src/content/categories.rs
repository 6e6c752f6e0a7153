//! The category tree: add, move, rename and remove categories (the `categories.manage`
//! permission), each with its audit row.

use anyhow::Result;
use serde_json::json;

use crate::content::ActAs;
use crate::store::content::taxonomy::{self, Category};
use crate::store::content::{audit, Permission};
use crate::store::Store;

const PERM: Permission = Permission::CategoriesManage;
const ACTION: &str = "manage categories";

fn cat_json(c: &Category) -> serde_json::Value {
    json!({"name": c.name, "slug": c.slug, "parent_id": c.parent_id})
}

/// Every category (the tree is in `parent_id`), with its number of posts.
pub fn list(store: &mut Store) -> Result<Vec<Category>> {
    store.read(taxonomy::categories)
}

/// A category after a change, and its path (`Parent/Child`).
#[derive(Debug, Clone)]
pub struct Placed {
    pub category: Category,
    pub path: String,
}

/// Adds a category under `parent` (a slug or path), or at the root.
pub fn add(
    store: &mut Store,
    act: &ActAs,
    name: &str,
    parent: Option<&str>,
    slug: Option<&str>,
    description: &str,
) -> Result<Placed> {
    store.write(|tx| {
        let actor = act.require(tx, PERM, ACTION)?;
        let parent = parent.map(|p| taxonomy::category(tx, p)).transpose()?;
        let id = taxonomy::add(tx, name, parent.as_ref().map(|p| p.id), slug, description)?;
        let all = taxonomy::categories(tx)?;
        let added = all.iter().find(|c| c.id == id).expect("just added");
        audit::write(
            tx,
            actor.id,
            "category.add",
            "category",
            Some(id),
            None,
            Some(&cat_json(added)),
        )?;
        Ok(Placed {
            category: added.clone(),
            path: taxonomy::path_of(&all, id),
        })
    })
}

/// Moves a category (with its posts and subcategories) under `to`, or to the root.
pub fn move_to(store: &mut Store, act: &ActAs, slug: &str, to: Option<&str>) -> Result<Placed> {
    store.write(|tx| {
        let actor = act.require(tx, PERM, ACTION)?;
        let cat = taxonomy::category(tx, slug)?;
        let parent = to.map(|p| taxonomy::category(tx, p)).transpose()?;
        taxonomy::move_to(tx, &cat, parent.as_ref())?;
        let all = taxonomy::categories(tx)?;
        let moved = all.iter().find(|c| c.id == cat.id).expect("still there");
        audit::write(
            tx,
            actor.id,
            "category.move",
            "category",
            Some(cat.id),
            Some(&cat_json(&cat)),
            Some(&cat_json(moved)),
        )?;
        Ok(Placed {
            category: moved.clone(),
            path: taxonomy::path_of(&all, cat.id),
        })
    })
}

/// Renames a category; its slug (and so its URL) changes only with `new_slug`. Returns the
/// category before and after.
pub fn rename(
    store: &mut Store,
    act: &ActAs,
    slug: &str,
    name: &str,
    new_slug: Option<&str>,
) -> Result<(Category, Category)> {
    store.write(|tx| {
        let actor = act.require(tx, PERM, ACTION)?;
        let cat = taxonomy::category(tx, slug)?;
        taxonomy::rename(tx, &cat, name, new_slug)?;
        let renamed = taxonomy::category(
            tx,
            new_slug.map(slug::slugify).as_deref().unwrap_or(&cat.slug),
        )?;
        audit::write(
            tx,
            actor.id,
            "category.rename",
            "category",
            Some(cat.id),
            Some(&cat_json(&cat)),
            Some(&cat_json(&renamed)),
        )?;
        Ok((cat, renamed))
    })
}

/// What a removal did: the category removed, and where its posts went and how many.
#[derive(Debug, Clone)]
pub struct Removed {
    pub category: Category,
    pub reassigned_to: Option<Category>,
    pub moved: usize,
}

/// Removes a category: its subcategories move up, its posts go to `reassign` (needed when
/// it has posts).
pub fn remove(
    store: &mut Store,
    act: &ActAs,
    slug: &str,
    reassign: Option<&str>,
) -> Result<Removed> {
    store.write(|tx| {
        let actor = act.require(tx, PERM, ACTION)?;
        let cat = taxonomy::category(tx, slug)?;
        let to = reassign.map(|r| taxonomy::category(tx, r)).transpose()?;
        let moved = taxonomy::remove(tx, &cat, to.as_ref())?;
        audit::write(
            tx,
            actor.id,
            "category.remove",
            "category",
            Some(cat.id),
            Some(&cat_json(&cat)),
            to.as_ref()
                .map(|t| json!({"posts_to": t.slug, "posts": moved}))
                .as_ref(),
        )?;
        Ok(Removed {
            category: cat,
            reassigned_to: to,
            moved,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::fixture::{by, site, AUTHOR, EDITOR};
    use crate::store::content::ContentError;

    #[test]
    fn editors_manage_categories_and_authors_do_not() {
        let mut s = site();
        let err = add(&mut s.store, &by(AUTHOR), "Tech", None, None, "").unwrap_err();
        assert!(matches!(
            err.downcast_ref::<ContentError>(),
            Some(ContentError::Forbidden { permission, .. }) if permission == "categories.manage"
        ));
        add(&mut s.store, &by(EDITOR), "Tech", None, None, "").unwrap();
        let rust = add(&mut s.store, &by(EDITOR), "Rust", Some("tech"), None, "").unwrap();
        assert_eq!(rust.path, "Tech/Rust");
        let moved = move_to(&mut s.store, &by(EDITOR), "rust", None).unwrap();
        assert_eq!(moved.path, "Rust");
        let log = crate::content::audit::list(&mut s.store, None, 1).unwrap();
        assert_eq!(log[0].action, "category.move");
    }
}
