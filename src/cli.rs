//! The command line as the user types it (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd;

/// A static site generator whose content store is SQLite.
#[derive(Debug, Parser)]
#[command(name = "bloggo", version, about, propagate_version = true)]
pub struct Cli {
    /// The site folder (holds bloggo.toml, the store, content/, static/).
    #[arg(long, global = true, default_value = ".", env = "BLOGGO_SITE")]
    pub site: PathBuf,

    /// Print only errors and the final summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new site: config, folders and a migrated store.
    Init(cmd::init::Args),
    /// Show, apply or roll back schema migrations.
    #[command(subcommand)]
    Migrate(cmd::migrate::Args),
    /// Check or salvage the store.
    #[command(subcommand)]
    Db(cmd::db::Args),
    /// Bring a folder of markdown (Jekyll, Hugo, Zola, plain) into the store.
    Import(cmd::import::Args),
    /// Render the published site into the output folder, atomically.
    Build(cmd::build::Args),
    /// Preview the site locally with live reload and page-view analytics.
    Serve(cmd::serve::Args),
    /// Page views per post, devices and referrers.
    Stats(cmd::stats::Args),
    /// Count page views from the web server's access logs of a deployed site.
    #[command(subcommand)]
    Views(cmd::views::Args),
    /// Online, verified, compressed backups with retention.
    #[command(subcommand)]
    Backup(cmd::backup::Args),
    /// Find, edit, publish and review posts.
    #[command(subcommand)]
    Post(cmd::post::Args),
    /// Manage the category tree.
    #[command(subcommand)]
    Category(cmd::category::Args),
    /// Manage tags.
    #[command(subcommand)]
    Tag(cmd::tag::Args),
    /// Manage users and their roles.
    #[command(subcommand)]
    User(cmd::user::Args),
    /// Show the audit log.
    Audit(cmd::audit::Args),
    /// Write every post back out as markdown.
    Export(cmd::export::Args),
    /// Register, test and deliver webhooks (post.published, post.updated, build.finished).
    #[command(subcommand)]
    Webhook(cmd::webhook::Args),
}
