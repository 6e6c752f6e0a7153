//! `bloggo webhook ...`

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::content::{open_store, ActAs};
use crate::store::content::Permission;
use crate::webhooks;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Register a URL to be sent the events named (signed with a secret).
    #[command(
        after_help = "Example:\n  bloggo webhook add https://deploy.example.com/hook --events build.finished --secret \"$SECRET\"\n\nEvents: post.published, post.updated, build.finished. Without --secret (or BLOGGO_WEBHOOK_SECRET), a secret is made and printed once."
    )]
    Add {
        /// Where to POST the events (http:// or https://).
        url: String,
        /// Comma-separated: post.published, post.updated, build.finished.
        #[arg(long, required = true)]
        events: String,
        /// The key of the X-Bloggo-Signature HMAC.
        #[arg(long, env = webhooks::SECRET_ENV, hide_env_values = true)]
        secret: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// Every webhook with its events and deliveries (never its secret).
    #[command(after_help = "Example:\n  bloggo webhook list")]
    List {
        #[command(flatten)]
        act: ActAs,
    },
    /// Remove a webhook and its deliveries.
    #[command(after_help = "Example:\n  bloggo webhook remove 2")]
    Remove {
        id: i64,
        #[command(flatten)]
        act: ActAs,
    },
    /// Send a `ping` to a webhook now and show its answer.
    #[command(after_help = "Example:\n  bloggo webhook test 2")]
    Test {
        id: i64,
        #[command(flatten)]
        act: ActAs,
    },
    /// Send every delivery that is due, once (for cron; `bloggo serve` does it by itself).
    #[command(
        after_help = "Example (crontab):\n  * * * * * bloggo --site /srv/blog webhook deliver --quiet"
    )]
    Deliver,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (settings, mut store) = open_store(&ctx.site)?;
    let mut out = std::io::stdout().lock();
    // Webhooks hold secrets and send the site's events out: an administrator's business.
    // `deliver` only sends what is queued (cron runs it as the site's owner).
    if let Args::Add { act, .. }
    | Args::List { act }
    | Args::Remove { act, .. }
    | Args::Test { act, .. } = &args
    {
        store.read(|tx| act.require(tx, Permission::SystemAdmin, "manage webhooks"))?;
    }
    match args {
        Args::Add {
            url,
            events,
            secret,
            ..
        } => {
            let events = webhooks::parse_events(&events)?;
            let (secret, made) = match secret {
                Some(s) => (s, false),
                None => (webhooks::new_secret()?, true),
            };
            let id = webhooks::add(&mut store, &url, &events, &secret)?;
            writeln!(out, "added webhook {id}: {url} ({})", events.join(", "))?;
            if made {
                writeln!(out, "secret: {secret}")?;
                writeln!(
                    out,
                    "(shown this once: give it to the receiver to check X-Bloggo-Signature)"
                )?;
            }
        }
        Args::List { .. } => {
            let all = webhooks::list(&mut store)?;
            writeln!(
                out,
                "{:>4}  {:<44} {:<42} {:>7} {:>9} {:>6}",
                "id", "url", "events", "pending", "delivered", "failed"
            )?;
            for l in all {
                let h = &l.hook;
                let url = if h.active {
                    h.url.clone()
                } else {
                    format!("{} (inactive)", h.url)
                };
                writeln!(
                    out,
                    "{:>4}  {:<44} {:<42} {:>7} {:>9} {:>6}",
                    h.id,
                    url,
                    h.events.join(","),
                    l.pending,
                    l.delivered,
                    l.failed
                )?;
            }
        }
        Args::Remove { id, .. } => {
            let h = webhooks::remove(&mut store, id)?;
            if !ctx.quiet {
                writeln!(out, "removed webhook {id} ({})", h.url)?;
            }
        }
        Args::Test { id, .. } => {
            let d = webhooks::ping(&mut store, &settings, id)?;
            writeln!(out, "ping → {}", d.url)?;
            let a = &d.attempt;
            if let Some(code) = a.status_code {
                writeln!(out, "HTTP {code}")?;
            }
            if let Some(body) = a.response_body.as_deref().filter(|b| !b.is_empty()) {
                writeln!(out, "{body}")?;
            }
            if let Some(e) = &a.error {
                anyhow::bail!("webhook {id} did not accept the ping: {e}");
            }
        }
        Args::Deliver => {
            let report = webhooks::deliver_due(&mut store, &settings, settings.webhook_retry)?;
            for d in &report.attempts {
                if d.attempt.error.is_some() {
                    eprintln!("{d}");
                } else if !ctx.quiet {
                    writeln!(out, "{d}")?;
                }
            }
            if !ctx.quiet {
                writeln!(
                    out,
                    "{} deliveries sent, {} failed",
                    report.attempts.len(),
                    report.failed()
                )?;
            }
            if report.failed() > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
