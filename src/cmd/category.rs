//! `bloggo category ...`: the category tree.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::user::{open_store, ActAs};
use super::Ctx;
use crate::store::content::taxonomy::{self, Category};
use crate::store::content::{audit, Permission};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// The category tree with each category's slug and number of posts.
    #[command(after_help = "Example:\n  bloggo category list")]
    List,
    /// Add a category (under --parent, or at the root).
    #[command(
        after_help = "Examples:\n  bloggo category add Tech\n  bloggo category add Rust --parent tech --description \"Posts about Rust\""
    )]
    Add {
        name: String,
        /// The parent category's slug or path.
        #[arg(long)]
        parent: Option<String>,
        /// The slug (default: from the name).
        #[arg(long)]
        slug: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Move a category (with its posts and subcategories) under another, or to the root.
    #[command(
        after_help = "Examples:\n  bloggo category move rust --to programming\n  bloggo category move rust --root"
    )]
    Move {
        slug: String,
        /// The new parent's slug or path.
        #[arg(
            long,
            value_name = "PARENT",
            conflicts_with = "root",
            required_unless_present = "root"
        )]
        to: Option<String>,
        /// Make it a top-level category.
        #[arg(long)]
        root: bool,
        #[command(flatten)]
        act: ActAs,
    },
    /// Rename a category (the slug, and so its URL, changes only with --slug).
    #[command(
        after_help = "Example:\n  bloggo category rename tech \"Technology\" --slug technology"
    )]
    Rename {
        slug: String,
        name: String,
        #[arg(long = "slug", value_name = "NEW_SLUG")]
        new_slug: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Remove a category; its subcategories move up, its posts need --reassign.
    #[command(after_help = "Example:\n  bloggo category remove old-stuff --reassign misc")]
    Remove {
        slug: String,
        /// Move the category's posts to this category (needed when it has posts).
        #[arg(long, value_name = "OTHER")]
        reassign: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
}

fn write_tree(
    out: &mut impl Write,
    all: &[Category],
    parent: Option<i64>,
    depth: usize,
) -> Result<()> {
    for c in all.iter().filter(|c| c.parent_id == parent) {
        let label = format!("{}{}", "  ".repeat(depth), c.name);
        writeln!(out, "{label:<32} {:<28} {:>5}", c.slug, c.posts)?;
        if depth < all.len() {
            write_tree(out, all, Some(c.id), depth + 1)?;
        }
    }
    Ok(())
}

fn cat_json(all_or_one: &Category) -> serde_json::Value {
    json!({"name": all_or_one.name, "slug": all_or_one.slug, "parent_id": all_or_one.parent_id})
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(ctx)?;
    let tx = store.conn.transaction()?;
    let mut out = std::io::stdout().lock();
    let perm = Permission::CategoriesManage;
    let msg = match args {
        Args::List => {
            let all = taxonomy::categories(&tx)?;
            writeln!(out, "{:<32} {:<28} {:>5}", "category", "slug", "posts")?;
            write_tree(&mut out, &all, None, 0)?;
            return Ok(ExitCode::SUCCESS);
        }
        Args::Add {
            name,
            parent,
            slug,
            description,
            act,
        } => {
            let actor = act.require(&tx, perm, "manage categories")?;
            let parent = parent
                .as_deref()
                .map(|p| taxonomy::category(&tx, p))
                .transpose()?;
            let id = taxonomy::add(
                &tx,
                &name,
                parent.as_ref().map(|p| p.id),
                slug.as_deref(),
                &description,
            )?;
            let all = taxonomy::categories(&tx)?;
            let added = all.iter().find(|c| c.id == id).expect("just added");
            audit::write(
                &tx,
                actor.id,
                "category.add",
                "category",
                Some(id),
                None,
                Some(&cat_json(added)),
            )?;
            format!("added {} ({})", taxonomy::path_of(&all, id), added.slug)
        }
        Args::Move {
            slug,
            to,
            root,
            act,
        } => {
            let actor = act.require(&tx, perm, "manage categories")?;
            let cat = taxonomy::category(&tx, &slug)?;
            let parent = match (to, root) {
                (Some(p), false) => Some(taxonomy::category(&tx, &p)?),
                _ => None,
            };
            taxonomy::move_to(&tx, &cat, parent.as_ref())?;
            let all = taxonomy::categories(&tx)?;
            let moved = all.iter().find(|c| c.id == cat.id).expect("still there");
            audit::write(
                &tx,
                actor.id,
                "category.move",
                "category",
                Some(cat.id),
                Some(&cat_json(&cat)),
                Some(&cat_json(moved)),
            )?;
            format!("moved {} to {}", cat.slug, taxonomy::path_of(&all, cat.id))
        }
        Args::Rename {
            slug,
            name,
            new_slug,
            act,
        } => {
            let actor = act.require(&tx, perm, "manage categories")?;
            let cat = taxonomy::category(&tx, &slug)?;
            taxonomy::rename(&tx, &cat, &name, new_slug.as_deref())?;
            let renamed = taxonomy::category(
                &tx,
                new_slug
                    .as_deref()
                    .map(slug::slugify)
                    .as_deref()
                    .unwrap_or(&cat.slug),
            )?;
            audit::write(
                &tx,
                actor.id,
                "category.rename",
                "category",
                Some(cat.id),
                Some(&cat_json(&cat)),
                Some(&cat_json(&renamed)),
            )?;
            format!(
                "renamed {} to {:?} ({})",
                cat.slug, renamed.name, renamed.slug
            )
        }
        Args::Remove {
            slug,
            reassign,
            act,
        } => {
            let actor = act.require(&tx, perm, "manage categories")?;
            let cat = taxonomy::category(&tx, &slug)?;
            let to = reassign
                .as_deref()
                .map(|r| taxonomy::category(&tx, r))
                .transpose()?;
            let moved = taxonomy::remove(&tx, &cat, to.as_ref())?;
            audit::write(
                &tx,
                actor.id,
                "category.remove",
                "category",
                Some(cat.id),
                Some(&cat_json(&cat)),
                to.as_ref()
                    .map(|t| json!({"posts_to": t.slug, "posts": moved}))
                    .as_ref(),
            )?;
            match to {
                Some(t) => format!("removed {}; {moved} post(s) moved to {}", cat.slug, t.slug),
                None => format!("removed {}", cat.slug),
            }
        }
    };
    tx.commit()?;
    if !ctx.quiet {
        writeln!(out, "{msg}")?;
    }
    Ok(ExitCode::SUCCESS)
}
