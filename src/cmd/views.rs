//! `bloggo views ingest FILE…`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Count the page views in web server access logs (nginx/Apache combined or common,
    /// CloudFront standard logs; plain or gzip). Lines counted before are not counted again.
    #[command(
        after_help = "Examples:\n  bloggo views ingest /var/log/nginx/access.log /var/log/nginx/access.log.1\n  bloggo views ingest /var/log/nginx/access.log.*.gz"
    )]
    Ingest(IngestArgs),
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Log files, read in the order given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    match args {
        Args::Ingest(a) => ingest(ctx, a),
    }
}

fn ingest(ctx: &Ctx, args: IngestArgs) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let progress = !ctx.quiet && std::io::stderr().is_terminal();
    let summary = crate::ingest::ingest(&settings, &args.files, progress)?;
    print!("{summary}");
    Ok(ExitCode::SUCCESS)
}
