//! One file per subcommand: arguments → settings → library calls, then prompts and printing.
//! `main.rs` dispatches the parsed command line (`cli.rs`) to these.

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
pub mod signin;
pub mod stats;
pub mod tag;
pub mod user;
pub mod views;
pub mod webhook;

use anyhow::Result;

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
