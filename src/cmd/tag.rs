//! `bloggo tag ...`

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::user::{open_store, ActAs};
use super::Ctx;
use crate::store::content::{audit, taxonomy, Permission};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Every tag with its slug and number of posts.
    #[command(after_help = "Example:\n  bloggo tag list")]
    List,
    /// Rename a tag (its slug follows the new name).
    #[command(after_help = "Example:\n  bloggo tag rename rustlang \"Rust\"")]
    Rename {
        /// The tag's slug or name.
        tag: String,
        name: String,
        #[command(flatten)]
        act: ActAs,
    },
    /// Merge tag A into tag B: A's posts get B, then A is removed.
    #[command(after_help = "Example:\n  bloggo tag merge rustlang rust")]
    Merge {
        a: String,
        b: String,
        #[command(flatten)]
        act: ActAs,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(ctx)?;
    let tx = store.conn.transaction()?;
    let mut out = std::io::stdout().lock();
    let msg = match args {
        Args::List => {
            writeln!(out, "{:<32} {:<32} {:>5}", "tag", "slug", "posts")?;
            for t in taxonomy::tags(&tx)? {
                writeln!(out, "{:<32} {:<32} {:>5}", t.name, t.slug, t.posts)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Args::Rename { tag, name, act } => {
            let actor = act.require(&tx, Permission::TagsManage, "manage tags")?;
            let t = taxonomy::tag(&tx, &tag)?;
            taxonomy::rename_tag(&tx, &t, &name)?;
            let new_slug = slug::slugify(name.trim());
            audit::write(
                &tx,
                actor.id,
                "tag.rename",
                "tag",
                Some(t.id),
                Some(&json!({"name": t.name, "slug": t.slug})),
                Some(&json!({"name": name.trim(), "slug": new_slug})),
            )?;
            format!("renamed {} to {:?} ({new_slug})", t.slug, name.trim())
        }
        Args::Merge { a, b, act } => {
            let actor = act.require(&tx, Permission::TagsManage, "manage tags")?;
            let from = taxonomy::tag(&tx, &a)?;
            let into = taxonomy::tag(&tx, &b)?;
            let n = taxonomy::merge_tags(&tx, &from, &into)?;
            audit::write(
                &tx,
                actor.id,
                "tag.merge",
                "tag",
                Some(into.id),
                Some(&json!({"name": from.name, "slug": from.slug, "posts": from.posts})),
                Some(&json!({"into": into.slug})),
            )?;
            format!("merged {} into {} ({n} post(s))", from.slug, into.slug)
        }
    };
    tx.commit()?;
    if !ctx.quiet {
        writeln!(out, "{msg}")?;
    }
    Ok(ExitCode::SUCCESS)
}
