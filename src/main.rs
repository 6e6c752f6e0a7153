use std::process::ExitCode;

use anyhow::Result;
use bloggo::cli::{Cli, Command};
use bloggo::cmd::{self, Ctx};
use clap::Parser;

/// mimalloc instead of glibc's malloc: import frees a file's bytes and strings of several KB
/// from parser threads while the writer allocates, and glibc spent ~8% of the import's CPU
/// in malloc, free and their consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`bloggo post list | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line and returns the process exit code.
fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Ctx {
        site: cli.site,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init(a) => cmd::init::run(&ctx, a),
        Command::Migrate(a) => cmd::migrate::run(&ctx, a),
        Command::Db(a) => cmd::db::run(&ctx, a),
        Command::Import(a) => cmd::import::run(&ctx, a),
        Command::Build(a) => cmd::build::run(&ctx, a),
        Command::Serve(a) => cmd::serve::run(&ctx, a),
        Command::Stats(a) => cmd::stats::run(&ctx, a),
        Command::Backup(a) => cmd::backup::run(&ctx, a),
        Command::Post(a) => cmd::post::run(&ctx, a),
        Command::Category(a) => cmd::category::run(&ctx, a),
        Command::Tag(a) => cmd::tag::run(&ctx, a),
        Command::User(a) => cmd::user::run(&ctx, a),
        Command::Audit(a) => cmd::audit::run(&ctx, a),
        Command::Export(a) => cmd::export::run(&ctx, a),
        Command::Webhook(a) => cmd::webhook::run(&ctx, a),
    }
}
