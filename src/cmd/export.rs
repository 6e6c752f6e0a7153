//! `bloggo export DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::content::{open_store, posts};
use crate::export::{export, PERMALINKS_FILE};
use crate::frontmatter::write::Format;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bloggo export ../my-blog-markdown\n  bloggo export ../zola-site --format zola\n  bloggo export out --force   # write over files in a non-empty folder"
)]
pub struct Args {
    /// The folder to write into (must be empty or new unless --force).
    pub dir: PathBuf,
    /// Folder layout and front matter: plain, zola, hugo or jekyll.
    #[arg(long, default_value = "plain", value_parser = |s: &str| s.parse::<Format>())]
    pub format: Format,
    /// Write into a folder that is not empty (files with the same names are replaced).
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (settings, mut store) = open_store(&ctx.site)?;
    // One read transaction: the export is one consistent snapshot of the store.
    let (all, sections) = posts::read::all_live(&mut store)?;
    let report = export(
        &all,
        &sections,
        &settings,
        &args.dir,
        args.format,
        args.force,
    )?;
    if !ctx.quiet {
        let sections = match report.sections {
            0 => String::new(),
            n => format!(", {n} section(s)"),
        };
        println!(
            "exported {} post(s){sections} and {} media file(s) to {}",
            report.posts,
            report.files,
            args.dir.display()
        );
        if report.permalinks {
            println!(
                "the site's [permalinks] are in {}: copy them into the bloggo.toml of the site you import it into",
                args.dir.join(PERMALINKS_FILE).display()
            );
        }
        if report.sections > 0 && matches!(args.format, Format::Zola | Format::Hugo) {
            println!(
                "to import it again with its sections: bloggo import {}",
                args.dir.join("content").display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
