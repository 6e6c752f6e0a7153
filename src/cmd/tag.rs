//! `bloggo tag ...`

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::content::tags;
use crate::content::{open_store, ActAs};

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
    let (_settings, mut store) = open_store(&ctx.site)?;
    let mut out = std::io::stdout().lock();
    let msg = match args {
        Args::List => {
            let all = tags::list(&mut store)?;
            writeln!(out, "{:<32} {:<32} {:>5}", "tag", "slug", "posts")?;
            for t in all {
                writeln!(out, "{:<32} {:<32} {:>5}", t.name, t.slug, t.posts)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Args::Rename { tag, name, act } => {
            let (t, new_slug) = tags::rename(&mut store, &act, &tag, &name)?;
            format!("renamed {} to {:?} ({new_slug})", t.slug, name.trim())
        }
        Args::Merge { a, b, act } => {
            let (from, into, n) = tags::merge(&mut store, &act, &a, &b)?;
            format!("merged {} into {} ({n} post(s))", from.slug, into.slug)
        }
    };
    if !ctx.quiet {
        writeln!(out, "{msg}")?;
    }
    Ok(ExitCode::SUCCESS)
}
