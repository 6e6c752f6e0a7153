//! `bloggo category ...`: the category tree.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::content::categories;
use crate::content::{open_store, ActAs};
use crate::store::content::taxonomy::Category;

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

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(&ctx.site)?;
    let store = &mut store;
    let mut out = std::io::stdout().lock();
    let msg = match args {
        Args::List => {
            let all = categories::list(store)?;
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
            let added = categories::add(
                store,
                &act,
                &name,
                parent.as_deref(),
                slug.as_deref(),
                &description,
            )?;
            format!("added {} ({})", added.path, added.category.slug)
        }
        Args::Move {
            slug,
            to,
            root,
            act,
        } => {
            let to = if root { None } else { to };
            let moved = categories::move_to(store, &act, &slug, to.as_deref())?;
            format!("moved {} to {}", moved.category.slug, moved.path)
        }
        Args::Rename {
            slug,
            name,
            new_slug,
            act,
        } => {
            let (cat, renamed) =
                categories::rename(store, &act, &slug, &name, new_slug.as_deref())?;
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
            let removed = categories::remove(store, &act, &slug, reassign.as_deref())?;
            let cat = &removed.category;
            match &removed.reassigned_to {
                Some(t) => format!(
                    "removed {}; {} post(s) moved to {}",
                    cat.slug, removed.moved, t.slug
                ),
                None => format!("removed {}", cat.slug),
            }
        }
    };
    if !ctx.quiet {
        writeln!(out, "{msg}")?;
    }
    Ok(ExitCode::SUCCESS)
}
