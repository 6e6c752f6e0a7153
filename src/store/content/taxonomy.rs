//! Categories (a tree) and tags: listing, adding, moving, renaming, merging, and reading a
//! post's. A post's links are written by the one post writer (`store::posts::Writer`), whose
//! category path and tag resolvers are the only ones.

use crate::store::Tx;
use anyhow::{bail, Result};
use rusqlite::{params, OptionalExtension};

use super::ContentError;
use crate::model::CategoryPath;

/// A category with how many posts link to it directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub parent_id: Option<i64>,
    pub posts: i64,
}

/// A tag with how many posts carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub posts: i64,
}

/// The separator of category paths (`Parent/Child`), as import and export write them.
pub const PATH_SEP: char = CategoryPath::SEP;

const CATEGORY_SELECT: &str = "SELECT c.id, c.name, c.slug, c.description, c.parent_id,
        (SELECT COUNT(*) FROM post_categories pc WHERE pc.category_id = c.id)
     FROM categories c";

fn category_row(r: &rusqlite::Row) -> rusqlite::Result<Category> {
    Ok(Category {
        id: r.get(0)?,
        name: r.get(1)?,
        slug: r.get(2)?,
        description: r.get(3)?,
        parent_id: r.get(4)?,
        posts: r.get(5)?,
    })
}

/// Every category, by name.
pub fn categories(conn: &Tx) -> Result<Vec<Category>> {
    let mut stmt = conn.prepare(&format!("{CATEGORY_SELECT} ORDER BY c.name, c.id"))?;
    let rows = stmt.query_map([], category_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A category by slug, or by its `Parent/Child` path of names.
pub fn category(conn: &Tx, key: &str) -> Result<Category> {
    let by_slug = conn
        .query_row(
            &format!("{CATEGORY_SELECT} WHERE c.slug = ?1"),
            [key.trim()],
            category_row,
        )
        .optional()?;
    if let Some(c) = by_slug {
        return Ok(c);
    }
    let all = categories(conn)?;
    all.iter()
        .find(|c| path_of(&all, c.id).eq_ignore_ascii_case(key.trim()))
        .cloned()
        .ok_or_else(|| ContentError::NoCategory(key.to_string()).into())
}

/// The `Parent/Child` path of names of a category.
pub fn path_of(all: &[Category], id: i64) -> String {
    category_path(all, id).to_string()
}

/// The path of names from the root to a category.
pub fn category_path(all: &[Category], id: i64) -> CategoryPath {
    let mut names = Vec::new();
    let mut at = Some(id);
    while let Some(cur) = at {
        match all.iter().find(|c| c.id == cur) {
            Some(c) if names.len() <= all.len() => {
                names.push(c.name.as_str());
                at = c.parent_id;
            }
            _ => break,
        }
    }
    names.reverse();
    CategoryPath(names.into_iter().map(str::to_string).collect())
}

fn check_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        bail!("a category needs a name");
    }
    if name.contains(PATH_SEP) {
        bail!("{name:?}: a category name cannot contain '/' (it separates parent and child in paths); add the parent first and use --parent");
    }
    Ok(name)
}

/// A category slug no other category has: the name's, then prefixed by the parent's.
fn free_category_slug(conn: &Tx, name: &str, parent: Option<i64>) -> Result<String> {
    let base = match slug::slugify(name) {
        s if s.is_empty() => "category".to_string(),
        s => s,
    };
    let taken = |s: &str| -> Result<bool> {
        Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM categories WHERE slug = ?1)",
            [s],
            |r| r.get(0),
        )?)
    };
    if !taken(&base)? {
        return Ok(base);
    }
    if let Some(p) = parent {
        let pslug: String =
            conn.query_row("SELECT slug FROM categories WHERE id = ?1", [p], |r| {
                r.get(0)
            })?;
        let prefixed = format!("{pslug}-{base}");
        if !taken(&prefixed)? {
            return Ok(prefixed);
        }
    }
    let mut n = 2;
    loop {
        let s = format!("{base}-{n}");
        if !taken(&s)? {
            return Ok(s);
        }
        n += 1;
    }
}

/// Adds a category under `parent` (a root when none). A sibling with the same name is refused.
pub fn add(
    conn: &Tx,
    name: &str,
    parent: Option<i64>,
    slug: Option<&str>,
    description: &str,
) -> Result<i64> {
    let name = check_name(name)?;
    if child_named(conn, parent, name)?.is_some() {
        bail!(
            "a category named {name:?} already exists there; `bloggo category list` shows the tree"
        );
    }
    let slug = match slug {
        Some(s) => {
            let s = slug::slugify(s);
            if conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM categories WHERE slug = ?1)",
                [&s],
                |r| r.get::<_, bool>(0),
            )? {
                bail!("the category slug {s:?} is taken");
            }
            s
        }
        None => free_category_slug(conn, name, parent)?,
    };
    conn.execute(
        "INSERT INTO categories (name, slug, description, parent_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, slug, description, parent, crate::store::now_text()],
    )?;
    Ok(conn.last_insert_rowid())
}

fn child_named(conn: &Tx, parent: Option<i64>, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM categories WHERE parent_id IS ?1 AND lower(name) = lower(?2)",
            params![parent, name],
            |r| r.get(0),
        )
        .optional()?)
}

/// Moves a category (with its posts and children) under `new_parent`, or to the root.
pub fn move_to(conn: &Tx, cat: &Category, new_parent: Option<&Category>) -> Result<()> {
    if let Some(p) = new_parent {
        // Walk up from the new parent: meeting the category itself would make a cycle.
        let all = categories(conn)?;
        let mut at = Some(p.id);
        let mut steps = 0;
        while let Some(cur) = at {
            if cur == cat.id {
                bail!(
                    "cannot move {} under {}: it is {} itself or one of its descendants",
                    cat.slug,
                    p.slug,
                    cat.slug
                );
            }
            at = all.iter().find(|c| c.id == cur).and_then(|c| c.parent_id);
            steps += 1;
            if steps > all.len() {
                break;
            }
        }
    }
    let parent_id = new_parent.map(|p| p.id);
    if let Some(other) = child_named(conn, parent_id, &cat.name)? {
        if other != cat.id {
            bail!(
                "a category named {:?} already exists there; rename one of them first",
                cat.name
            );
        }
    }
    conn.execute(
        "UPDATE categories SET parent_id = ?1 WHERE id = ?2",
        params![parent_id, cat.id],
    )?;
    Ok(())
}

/// Renames a category; its slug changes too when `slug` is given.
pub fn rename(conn: &Tx, cat: &Category, name: &str, slug: Option<&str>) -> Result<()> {
    let name = check_name(name)?;
    if let Some(other) = child_named(conn, cat.parent_id, name)? {
        if other != cat.id {
            bail!("a sibling category is already named {name:?}");
        }
    }
    let slug = match slug {
        Some(s) => {
            let s = slug::slugify(s);
            let taken: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM categories WHERE slug = ?1 AND id <> ?2)",
                params![s, cat.id],
                |r| r.get(0),
            )?;
            if taken {
                bail!("the category slug {s:?} is taken");
            }
            s
        }
        None => cat.slug.clone(),
    };
    conn.execute(
        "UPDATE categories SET name = ?1, slug = ?2 WHERE id = ?3",
        params![name, slug, cat.id],
    )?;
    Ok(())
}

/// Removes a category. Its posts move to `reassign` (required when it has posts); its
/// children move up to its parent. Returns how many posts were moved.
pub fn remove(conn: &Tx, cat: &Category, reassign: Option<&Category>) -> Result<usize> {
    let moved = match reassign {
        Some(to) if to.id == cat.id => bail!("cannot reassign {} to itself", cat.slug),
        Some(to) => {
            conn.execute(
                "INSERT OR IGNORE INTO post_categories (post_id, category_id)
                 SELECT post_id, ?1 FROM post_categories WHERE category_id = ?2",
                params![to.id, cat.id],
            )?;
            cat.posts as usize
        }
        None if cat.posts > 0 => bail!(
            "category {} has {} post(s); pass --reassign OTHER_SLUG to move them first",
            cat.slug,
            cat.posts
        ),
        None => 0,
    };
    if let Some(to) = reassign {
        // Reassigning to a descendant: lift it out first so it survives the removal.
        let all = categories(conn)?;
        let mut at = to.parent_id;
        while let Some(cur) = at {
            if cur == cat.id {
                conn.execute(
                    "UPDATE categories SET parent_id = ?1 WHERE parent_id = ?2",
                    params![cat.parent_id, cat.id],
                )?;
                break;
            }
            at = all.iter().find(|c| c.id == cur).and_then(|c| c.parent_id);
        }
    }
    conn.execute(
        "UPDATE categories SET parent_id = ?1 WHERE parent_id = ?2",
        params![cat.parent_id, cat.id],
    )?;
    conn.execute("DELETE FROM categories WHERE id = ?1", [cat.id])?;
    Ok(moved)
}

/// Every tag, by name.
pub fn tags(conn: &Tx) -> Result<Vec<Tag>> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.name, t.slug, (SELECT COUNT(*) FROM post_tags pt WHERE pt.tag_id = t.id)
         FROM tags t ORDER BY lower(t.name), t.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Tag {
            id: r.get(0)?,
            name: r.get(1)?,
            slug: r.get(2)?,
            posts: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A tag by slug or name.
pub fn tag(conn: &Tx, key: &str) -> Result<Tag> {
    let key = key.trim();
    tags(conn)?
        .into_iter()
        .find(|t| t.slug == key || t.name.eq_ignore_ascii_case(key) || t.slug == slug::slugify(key))
        .ok_or_else(|| ContentError::NoTag(key.to_string()).into())
}

/// Renames a tag (and its slug). A name whose slug another tag has is refused: merge instead.
pub fn rename_tag(conn: &Tx, tag: &Tag, name: &str) -> Result<()> {
    let name = name.trim();
    let slug = slug::slugify(name);
    if slug.is_empty() {
        bail!("{name:?} is not a usable tag name");
    }
    let other: Option<String> = conn
        .query_row(
            "SELECT name FROM tags WHERE slug = ?1 AND id <> ?2",
            params![slug, tag.id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other {
        bail!(
            "the tag {other:?} already has the slug {slug:?}; use `bloggo tag merge {} {slug}`",
            tag.slug
        );
    }
    conn.execute(
        "UPDATE tags SET name = ?1, slug = ?2 WHERE id = ?3",
        params![name, slug, tag.id],
    )?;
    Ok(())
}

/// Gives every post of `from` the tag `into`, then removes `from`. Returns the posts moved.
pub fn merge_tags(conn: &Tx, from: &Tag, into: &Tag) -> Result<usize> {
    if from.id == into.id {
        bail!("cannot merge the tag {} into itself", from.slug);
    }
    conn.execute(
        "INSERT OR IGNORE INTO post_tags (post_id, tag_id) SELECT post_id, ?1 FROM post_tags WHERE tag_id = ?2",
        params![into.id, from.id],
    )?;
    conn.execute("DELETE FROM tags WHERE id = ?1", [from.id])?;
    Ok(from.posts as usize)
}

/// A post's category paths.
pub fn post_category_paths(conn: &Tx, post_id: i64) -> Result<Vec<CategoryPath>> {
    let all = categories(conn)?;
    let mut stmt = conn.prepare(
        "SELECT category_id FROM post_categories WHERE post_id = ?1 ORDER BY category_id",
    )?;
    let ids: Vec<i64> = stmt
        .query_map([post_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids.into_iter().map(|id| category_path(&all, id)).collect())
}

/// A post's tag names.
pub fn post_tag_names(conn: &Tx, post_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = ?1 ORDER BY t.id",
    )?;
    let names = stmt
        .query_map([post_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}
