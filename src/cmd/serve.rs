//! `bloggo serve`

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use super::Ctx;
use crate::config::{parse_bind, Settings};
use crate::lock::ServeLock;
use crate::pipeline::{build_site_then, kept_snapshot, live_snapshot, BuildOptions};
use crate::serve::pages::PostPages;
use crate::serve::rebuild::{rebuild_once, spawn_rebuilds, RebuildFn, Rebuilt};
use crate::serve::watcher::{self, WatchSet};
use crate::serve::{backups, http::Limits, webhooks, ServeOptions, Server, ServerHandle};
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  bloggo --site my-blog serve --port 0 --open")]
pub struct Args {
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long)]
    pub bind: Option<String>,
    /// Port (0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Include drafts, pending and scheduled posts.
    #[arg(long)]
    pub drafts: bool,
    /// Do not watch for changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Serve the output folder as it is: no build at start, no watching (views are still
    /// recorded).
    #[arg(long, conflicts_with = "drafts")]
    pub no_build: bool,
    /// Open the site in a browser.
    #[arg(long)]
    pub open: bool,
    /// Run as a small production collector: answer only the view beacon (/_bloggo/view),
    /// nothing else (no site, no live reload, no admin API); needs --bind.
    #[arg(long, conflicts_with_all = ["drafts", "no_watch", "no_build", "open"])]
    pub public: bool,
}

/// How often the store is checked for changes made by other programs.
const STORE_POLL: Duration = Duration::from_secs(1);
/// The watcher's debounce; the rebuild loop then waits for a quiet period (`rebuild::QUIET`),
/// so a burst of saves closer together than that is one rebuild.
const DEBOUNCE: Duration = Duration::from_millis(50);

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    if args.public && args.bind.is_none() {
        anyhow::bail!(
            "--public needs an explicit --bind ADDRESS: the collector listens only where you say \
             (e.g. --bind 127.0.0.1 behind a reverse proxy, or --bind 0.0.0.0 for every network)"
        );
    }
    let settings = ctx.settings()?;
    let cfg = &settings.config.serve;
    let bind: IpAddr = match &args.bind {
        Some(text) => parse_bind(text).context("--bind")?,
        None => settings.serve_bind,
    };
    // Held while serving: `backup restore` refuses to replace the store under us.
    let _lock = ServeLock::acquire(&settings)?;
    // Creates or migrates the store (as build does), so the writer and the build see the
    // current schema.
    Store::open(&settings.store, true)?;
    // Signals are caught before the URL is printed: whoever reads it may stop us at once.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot handle Ctrl-C")?;
    }
    if args.public {
        return run_public(ctx, &settings, bind, args.port.unwrap_or(cfg.port), &stop);
    }

    let drafts_dir = if args.drafts {
        Some(tempfile::tempdir().context("cannot create a folder for the drafts preview")?)
    } else {
        None
    };
    let output = drafts_dir
        .as_ref()
        .map_or_else(|| settings.output.clone(), |d| d.path().join("site"));
    // Which served file is which post's page: each build hands over its own as its site goes
    // live. Until then the folder is the one an earlier build made: its pages are those that
    // build kept (the start-up build's own snapshot comes soon after, so the store is not read
    // for them); a folder served as it is falls back to where the store places its posts.
    let post_pages = if args.drafts {
        PostPages::default()
    } else if args.no_build {
        match live_snapshot(&settings, &output) {
            Ok(snap) => PostPages::of(&snap),
            Err(e) => {
                eprintln!("warning: views of post pages are not recorded: {e:#}");
                PostPages::default()
            }
        }
    } else {
        kept_snapshot(&settings, &output)
            .map(|snap| PostPages::of(&snap))
            .unwrap_or_default()
    };
    let opts = ServeOptions {
        bind,
        port: args.port.unwrap_or(cfg.port),
        workers: cfg.workers,
        output: output.clone(),
        store: settings.store.clone(),
        post_pages,
        record_views: cfg.record_views,
        flush_interval: settings.flush_interval,
        drafts: args.drafts,
        live_reload: !args.no_build,
        start_up_build: !args.no_build,
        limits: Limits::default(),
        api: Some(settings.clone()),
        public: false,
    };
    let server = Server::start(&opts)?;
    let url = server.url();
    // The first line on stdout is the URL (scripts and tests read it).
    println!("{url}");
    if !bind.is_loopback() {
        eprintln!("warning: listening on {bind}: other machines can read this site");
        eprintln!(
            "warning: the admin API ({}) is reachable too, and its passphrases and tokens travel \
             in clear text: expose it only behind TLS (a reverse proxy that terminates HTTPS)",
            crate::serve::api::PREFIX
        );
    }
    if !ctx.quiet {
        println!(
            "serving {} (Ctrl-C stops; views are recorded in {})",
            output.display(),
            settings.store.display()
        );
    }

    let fingerprint: watcher::Fingerprint = Arc::new(Mutex::new(None));
    let mut background = Vec::new();
    let mut watching = None;
    let (wake, deliveries) =
        webhooks::spawn_deliveries(webhooks::EVERY, deliverer(&settings), stop.clone())?;
    background.push(deliveries);
    if !args.no_build {
        // Pages link to the address actually served (the port may have been picked).
        let mut build = site_builder(
            server.handle(),
            &settings,
            args.drafts,
            drafts_dir.as_ref().map(|_| output.clone()),
            url.trim_end_matches('/').to_string(),
            wake,
        );
        // Meanwhile, pages not written yet get a "building…" page (503) that reloads after.
        let due = rebuild_once(&server.handle(), &mut build, None, &fingerprint)
            .ok()
            .flatten();
        server.handle().start_up_done();
        if !args.no_watch {
            let (tx, rx) = mpsc::channel();
            let set = WatchSet::for_site(&settings, &output);
            watching = Some(watcher::watch(set, DEBOUNCE, tx.clone())?);
            background.push(watcher::poll_store(
                settings.store.clone(),
                STORE_POLL,
                fingerprint.clone(),
                tx,
                stop.clone(),
            )?);
            background.push(spawn_rebuilds(
                server.handle(),
                rx,
                build,
                fingerprint,
                due,
            )?);
        }
    }
    if let Some(interval) = settings.backup_interval {
        let (newest, create) = backup_hooks(&settings);
        background.push(backups::spawn_backups(
            interval,
            newest,
            create,
            stop.clone(),
        )?);
    }
    if args.open {
        open_browser(&url);
    }

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stop watching first (the rebuild thread ends when its senders are gone), then serving.
    drop(watching);
    let report = server.shutdown();
    for h in background {
        let _ = h.join();
    }
    // A long session's queries taught SQLite which statistics are stale: refresh them as
    // the store is closed, as SQLite advises.
    if let Err(e) = Store::open(&settings.store, false).and_then(|s| Ok(s.optimize_on_close()?)) {
        eprintln!(
            "warning: {}: PRAGMA optimize failed ({e}); run `bloggo db optimize`",
            settings.store.display()
        );
    }
    Ok(stopped(ctx, report))
}

/// How often the public collector re-reads which slugs are posts (a build or an import on
/// the same store adds some).
const PUBLIC_REFRESH: Duration = Duration::from_secs(10);

/// `serve --public`: the view beacon only, until a signal.
fn run_public(
    ctx: &Ctx,
    settings: &Settings,
    bind: IpAddr,
    port: u16,
    stop: &AtomicBool,
) -> Result<ExitCode> {
    let cfg = &settings.config.serve;
    let server = Server::start(&ServeOptions {
        bind,
        port,
        workers: cfg.workers,
        output: settings.output.clone(),
        store: settings.store.clone(),
        post_pages: PostPages::default(),
        record_views: cfg.record_views,
        flush_interval: settings.flush_interval,
        drafts: false,
        live_reload: false,
        start_up_build: false,
        limits: Limits::default(),
        api: None,
        public: true,
    })?;
    let url = server.url();
    println!("{url}");
    if !ctx.quiet {
        println!(
            "collecting views at {}{} only (Ctrl-C stops; views are recorded in {})",
            url.trim_end_matches('/'),
            crate::serve::BEACON_PATH,
            settings.store.display()
        );
    }
    let mut refreshed = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if refreshed.elapsed() >= PUBLIC_REFRESH {
            if let Err(e) = server.handle().refresh_posts() {
                eprintln!("serve: cannot re-read the posts' slugs: {e:#}");
            }
            refreshed = std::time::Instant::now();
        }
    }
    Ok(stopped(ctx, server.shutdown()))
}

/// Says what the view writer did; a failure when views were lost.
fn stopped(ctx: &Ctx, report: crate::serve::views::WriterReport) -> ExitCode {
    if !ctx.quiet {
        println!(
            "stopped; {} views recorded in {} transactions",
            report.recorded, report.batches
        );
        if report.skipped > 0 {
            println!(
                "{} views of posts deleted from the store meanwhile were not counted",
                report.skipped
            );
        }
    }
    if report.lost > 0 {
        eprintln!(
            "error: {} views could not be recorded (see above)",
            report.lost
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The rebuild action: `build_site` into the served folder. It syncs content/ into the store
/// through the import code first (a file that cannot be imported fails the rebuild, so the
/// last good site stays served), and bloggo.toml is read again each time so its edits apply.
/// The server learns the new site's post pages as soon as it is live; the webhook deliverer
/// is woken for the events the build and its sync queued.
fn site_builder(
    server: ServerHandle,
    settings: &Settings,
    drafts: bool,
    out: Option<std::path::PathBuf>,
    base_url: String,
    wake: webhooks::Wake,
) -> RebuildFn {
    let root = settings.root.clone();
    Box::new(move || {
        let settings = Settings::load(&root)?;
        let opts = BuildOptions {
            out: out.clone(),
            drafts,
            base_url: Some(base_url.clone()),
            clean: false,
            quiet: true,
        };
        let built = build_site_then(&settings, &opts, &|snap| {
            server.set_post_pages(PostPages::of(snap));
        });
        wake.wake();
        let summary = built?;
        for w in &summary.warnings {
            eprintln!("warning: {w}");
        }
        Ok(Rebuilt {
            summary: summary.to_string(),
            changed: summary.written + summary.removed > 0,
            next_due: summary.next_scheduled.as_ref().map(|(at, _)| at.utc()),
        })
    })
}

/// Serve's webhook deliverer: a pass over the due deliveries (through the webhooks code),
/// each attempt reported on the terminal.
fn deliverer(settings: &Settings) -> webhooks::DeliverFn {
    let settings = settings.clone();
    let mut store: Option<Store> = None;
    Box::new(move || {
        if store.is_none() {
            match Store::attach(&settings.store) {
                Ok(s) => store = Some(s),
                Err(e) => return eprintln!("webhooks: cannot open the store: {e}"),
            }
        }
        let Some(store) = store.as_mut() else { return };
        match crate::webhooks::deliver_due(store, &settings, settings.webhook_retry) {
            Ok(report) => {
                for d in &report.attempts {
                    println!("webhook {d}");
                }
            }
            Err(e) => eprintln!("webhooks: {e:#}"),
        }
    })
}

/// How serve learns when the last backup was taken (the store's key-value entry, or the newest
/// good file) and takes one (through the backup code).
fn backup_hooks(settings: &Settings) -> (backups::NewestFn, backups::CreateFn) {
    let for_newest = settings.clone();
    let newest: backups::NewestFn = Box::new(move || {
        Ok(crate::backup::record::last_taken(&for_newest)?.map(std::time::SystemTime::from))
    });
    let for_create = settings.clone();
    let create: backups::CreateFn = Box::new(move || {
        let c = crate::backup::create::create(
            &for_create,
            &crate::backup::Actor::scheduled(),
            Some("scheduled by bloggo serve"),
            chrono::Utc::now(),
            &mut |_, _| {},
        )?;
        // The backup is taken: a failed off-site copy is retried with the next one, not by
        // taking another backup at once.
        let off_site = match &c.off_site {
            Some(Ok(o)) => format!(", {} files off-site", o.uploaded.len()),
            Some(Err(e)) => {
                eprintln!("warning: {e}; the next backup sends it");
                String::new()
            }
            None => String::new(),
        };
        Ok(format!(
            "{} ({} bytes) → {}{off_site}",
            c.info.tier_id(),
            c.info.file_size(),
            crate::backup::shown(&for_create, &c.info.path)
        ))
    });
    (newest, create)
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(cmd)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("cannot open a browser ({cmd}: {e}); open {url} yourself");
    }
}
