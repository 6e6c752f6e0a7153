use std::process::ExitCode;

use anyhow::Result;
use bloggo::cli::{Cli, Command};
use bloggo::cmd::{self, Ctx};
use clap::{CommandFactory, FromArgMatches};

/// mimalloc instead of glibc's malloc: import frees a file's bytes and strings of several KB
/// from parser threads while the writer allocates, and glibc spent ~8% of the import's CPU
/// in malloc, free and their consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, acting_email(&matches)) {
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

/// The user a content command acts as (`--as EMAIL` or `BLOGGO_USER`, else a reviewer's
/// `--by EMAIL`, which then names the acting user), whichever subcommand names it.
fn acting_email(matches: &clap::ArgMatches) -> Option<String> {
    let mut m = matches;
    loop {
        for id in ["as_user", "by"] {
            if let Ok(Some(email)) = m.try_get_one::<String>(id) {
                if !email.trim().is_empty() {
                    return Some(email.trim().to_string());
                }
            }
        }
        m = m.subcommand()?.1;
    }
}

/// Runs a parsed command line and returns the process exit code. A command acting as a user
/// with a passphrase runs only once it is given (`cmd::signin`).
fn run(cli: Cli, acting: Option<String>) -> Result<ExitCode> {
    let ctx = Ctx {
        site: cli.site,
        quiet: cli.quiet,
    };
    if let Some(email) = &acting {
        cmd::signin::confirm_acting(&ctx, email)?;
    }
    match cli.command {
        Command::Init(a) => cmd::init::run(&ctx, a),
        Command::Migrate(a) => cmd::migrate::run(&ctx, a),
        Command::Db(a) => cmd::db::run(&ctx, a),
        Command::Import(a) => cmd::import::run(&ctx, a),
        Command::Build(a) => cmd::build::run(&ctx, a),
        Command::Serve(a) => cmd::serve::run(&ctx, a),
        Command::Stats(a) => cmd::stats::run(&ctx, a),
        Command::Views(a) => cmd::views::run(&ctx, a),
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
