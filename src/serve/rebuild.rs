//! Runs rebuilds for a running server: one at a time, a burst of changes coalesced into one,
//! the time from the saved file to the reload event printed, and a failed rebuild reported
//! (terminal and browser overlay) while the last good site keeps being served.

use std::io::Write;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::watcher::{Change, Fingerprint};
use super::ServerHandle;
use crate::store::Store;

/// How long the rebuild loop waits for more changes before it starts a rebuild. The watcher's
/// debouncer emits each event once it is old enough, so one save can come in several reports a
/// tick apart; this quiet period makes them (and a burst of saves) one rebuild.
pub const QUIET: Duration = Duration::from_millis(150);

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// A one-line summary.
    pub summary: String,
    /// Whether any served file was written or removed.
    pub changed: bool,
    /// When the next scheduled post comes due: the site changes then with no edit, so the
    /// rebuild loop wakes for it.
    pub next_due: Option<DateTime<Utc>>,
}

impl std::fmt::Display for Rebuilt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

/// Builds the site into the served folder.
pub type RebuildFn = Box<dyn FnMut() -> Result<Rebuilt> + Send>;

/// A rebuild that failed; the error was reported (terminal and browser overlay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed;

/// Runs one rebuild and tells the server and the browsers about it. Returns when the next
/// scheduled post comes due (`Ok(None)`: none is), or [`Failed`].
pub fn rebuild_once(
    server: &ServerHandle,
    rebuild: &mut RebuildFn,
    change: Option<&Change>,
    fingerprint: &Fingerprint,
) -> Result<Option<DateTime<Utc>>, Failed> {
    let started = Instant::now();
    // The store poller waits on this lock while the rebuild (and its sync) writes, then finds
    // the fingerprint taken after it, so this rebuild's writes never count as another
    // program's.
    let mut known = fingerprint.lock().unwrap();
    let result = rebuild();
    if let Ok(store) = Store::open_read_only(server.store()) {
        if let Ok(fp) = store.content_fingerprint() {
            *known = Some(fp);
        }
    }
    drop(known);
    match result {
        Ok(summary) => {
            if let Err(e) = server.refresh_posts() {
                eprintln!("serve: cannot re-read the posts' slugs: {e:#}");
            }
            // A rebuild that changed no file (a save split into two events, a touch) sends no
            // reload, unless it clears an error shown in the browser.
            let changed = summary.changed;
            let mut reload_sent = false;
            if let Some(live) = server.live() {
                if changed || live.showing_error() {
                    live.reloaded();
                    reload_sent = true;
                }
            }
            let built = started.elapsed().as_millis();
            let mut out = std::io::stdout().lock();
            let _ = match change {
                Some(c) if reload_sent => writeln!(
                    out,
                    "rebuilt after a change to {} in {built} ms ({summary}); saved → reload sent: {} ms",
                    c.what,
                    c.at.elapsed().as_millis()
                ),
                Some(c) => writeln!(
                    out,
                    "rebuilt after a change to {} in {built} ms ({summary}); no page changed, no reload",
                    c.what
                ),
                None => writeln!(out, "built in {built} ms ({summary})"),
            };
            let _ = out.flush();
            Ok(summary.next_due)
        }
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("rebuild failed: {message}\n  still serving the last good site; fix the error and save again");
            if let Some(live) = server.live() {
                live.failed(&message);
            }
            Err(Failed)
        }
    }
}

/// The longest the rebuild loop sleeps before it looks at the clock again while a scheduled
/// post is due later (a suspended machine or a clock set forward wakes it in time).
const DUE_CHECK: Duration = Duration::from_secs(30);

/// The next change, or a scheduled post coming due (a change of its own); `None` once every
/// change sender is gone.
fn next_change(changes: &Receiver<Change>, due: &mut Option<DateTime<Utc>>) -> Option<Change> {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        let Some(at) = *due else {
            return changes.recv().ok();
        };
        let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        // The store keeps seconds and a post is live once its second has begun.
        match changes.recv_timeout(left.min(DUE_CHECK) + Duration::from_millis(20)) {
            Ok(change) => return Some(change),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) if Utc::now() >= at => {
                *due = None;
                return Some(Change {
                    at: Instant::now(),
                    what: "a scheduled post coming due".into(),
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Starts the thread that rebuilds on each change, and when a scheduled post comes due
/// (`due`, then whatever each rebuild says), until every change sender is dropped.
pub fn spawn_rebuilds(
    server: ServerHandle,
    changes: Receiver<Change>,
    mut rebuild: RebuildFn,
    fingerprint: Fingerprint,
    mut due: Option<DateTime<Utc>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bloggo-rebuild".into())
        .spawn(move || {
            while let Some(first) = next_change(&changes, &mut due) {
                // Changes that came while the last rebuild ran, or come within QUIET of each
                // other (a watcher may report one save in two parts), are folded into this one.
                let mut change = first;
                while let Ok(more) = changes.recv_timeout(QUIET) {
                    if more.at < change.at {
                        change.at = more.at;
                    }
                    if !change.what.split(", ").any(|w| w == more.what) {
                        change.what = format!("{}, {}", change.what, more.what);
                    }
                }
                if let Ok(next) = rebuild_once(&server, &mut rebuild, Some(&change), &fingerprint) {
                    due = next;
                }
            }
        })
}
