//! `bloggo init [DIR]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::Ctx;
use crate::config::{starter_config, Settings, CONFIG_FILE};
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  bloggo init my-blog && bloggo --site my-blog build")]
pub struct Args {
    /// Folder to create the site in (default: the --site folder).
    pub dir: Option<PathBuf>,
    /// The site's title.
    #[arg(long, default_value = crate::config::STARTER_TITLE)]
    pub title: String,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| ctx.site.clone());
    let settings = init_site(&dir, &args.title)?;
    if !ctx.quiet {
        println!(
            "created a bloggo site in {}\n  store: {}\nnext: write markdown in {} and run `bloggo --site {} build`",
            dir.display(),
            settings.store.display(),
            settings.content.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the folders, `bloggo.toml` and a migrated store. Refuses to touch an existing site.
pub fn init_site(dir: &std::path::Path, title: &str) -> Result<Settings> {
    let config_path = dir.join(CONFIG_FILE);
    if config_path.exists() {
        bail!(
            "{}: a site already exists here; nothing was changed",
            config_path.display()
        );
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the site folder", dir.display()))?;
    let text = starter_config(title);
    let config = toml::from_str(&text).context("the starter config does not parse")?;
    let settings = Settings::from_config(dir, config)?;
    if settings.store.exists() {
        bail!(
            "{}: a store already exists here; nothing was changed",
            settings.store.display()
        );
    }
    for d in [&settings.content, &settings.static_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    Store::open(&settings.store, true)?;
    // The config is written last: a site folder with bloggo.toml is always complete.
    let tmp = dir.join(".bloggo.toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &config_path)
        .with_context(|| format!("{}: cannot write", config_path.display()))?;
    Ok(settings)
}
