//! One file per subcommand: arguments → settings → library calls.

pub mod audit;
pub mod backup;
pub mod build;
pub mod category;
pub mod db;
pub mod export;
pub mod import;
pub mod init;
pub mod migrate;
pub mod post;
pub mod serve;
pub mod stats;
pub mod tag;
pub mod user;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Settings;

/// What every command gets: the site folder and the global flags.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub site: std::path::PathBuf,
    pub quiet: bool,
}

impl Ctx {
    /// Loads `bloggo.toml` of the site.
    pub fn settings(&self) -> Result<Settings> {
        Settings::load(&self.site)
    }
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Ctx {
        site: cli.site,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Migrate(a) => migrate::run(&ctx, a),
        Command::Db(a) => db::run(&ctx, a),
        Command::Import(a) => import::run(&ctx, a),
        Command::Build(a) => build::run(&ctx, a),
        Command::Serve(a) => serve::run(&ctx, a),
        Command::Stats(a) => stats::run(&ctx, a),
        Command::Backup(a) => backup::run(&ctx, a),
        Command::Post(a) => post::run(&ctx, a),
        Command::Category(a) => category::run(&ctx, a),
        Command::Tag(a) => tag::run(&ctx, a),
        Command::User(a) => user::run(&ctx, a),
        Command::Audit(a) => audit::run(&ctx, a),
        Command::Export(a) => export::run(&ctx, a),
    }
}
