//! `bloggo build`: one pipeline, two plans.
//!
//! ```text
//!   Run::start: settings, templates, store (content/ synced), the state the last build kept
//!        │
//!        ├─ kept state ─▶ delta::build: the kept snapshot patched with the changed posts
//!        │                 │  (Stop::Whole(why) ─▶ the whole plan)
//!        └─────────────▶ whole::build: a snapshot of the whole store
//!                          │
//!   each: snapshot → plan (render::Planner: digests, fingerprints, tasks against the live
//!         manifest) → markdown gathered → render (stages::render, parallel) → commit
//!         (output::Writer swaps a new folder in; output::Patch replaces a few files) → keep
//!         (state, markdown cache, change log trimmed)
//! ```
//!
//! `stages.rs` holds what both plans share; `state.rs` what a build keeps for the next;
//! `live.rs` the snapshot of a live site no build of this process made (what `bloggo serve`
//! serves before its first build is live, or with `--no-build`).

use std::path::PathBuf;

use anyhow::Result;

mod delta;
mod links;
mod live;
mod stages;
mod state;
mod whole;

use crate::config::Settings;
use crate::snapshot::Snapshot;
pub use live::{kept_snapshot, live_snapshot, store_snapshot};
use stages::Run;

/// What the caller asks of a build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Output folder (default: the site's `public/`).
    pub out: Option<PathBuf>,
    /// Include drafts, pending and scheduled posts, marked as such.
    pub drafts: bool,
    /// Overrides `base_url`.
    pub base_url: Option<String>,
    /// Ignore caches and the previous output: render and write every file.
    pub clean: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// What a build did. `written` and `unchanged` count every file of the output (pages, static
/// files and media); `pages` counts the rendered pages.
#[derive(Debug, Clone, Default)]
pub struct BuildSummary {
    pub pages: usize,
    /// Pages made this build; the others were carried over from the previous output because
    /// nothing they are made from changed.
    pub rendered: usize,
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub seconds: f64,
    /// Where the site was written.
    pub out: PathBuf,
    /// Things skipped with a reason.
    pub warnings: Vec<String>,
    /// The next scheduled post (its date and slug): the site changes then without anyone
    /// touching the store (`serve` rebuilds at that moment; a deployed site needs a build).
    pub next_scheduled: Option<(crate::model::Timestamp, String)>,
}

impl std::fmt::Display for BuildSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pages, {} written, {} unchanged, in {:.2} s",
            self.pages, self.written, self.unchanged, self.seconds
        )
    }
}

/// Where the state a build of `out` keeps for the next one lives (see `state`).
pub fn state_file(settings: &Settings, out: &std::path::Path) -> PathBuf {
    state::path(&cache_dir(settings), out)
}

/// Where the rendered-markdown cache lives.
pub fn cache_dir(settings: &Settings) -> PathBuf {
    settings.root.join(".bloggo-cache")
}

/// Why the patching plan did not finish.
#[derive(Debug)]
enum Stop {
    /// It cannot vouch for the result (the reason, printed with `BLOGGO_TIMINGS`): nothing was
    /// changed, and the whole plan runs instead.
    Whole(String),
    /// A real failure (a store that cannot be read, a page that fails to render, a file that
    /// cannot be written), reported as a whole build would.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Stop {
        Stop::Failed(e)
    }
}

/// Builds the site: the patching plan when the last build of this output kept its state,
/// else (or when it stops) the whole plan; see the module's diagram.
pub fn build_site(settings: &Settings, opts: &BuildOptions) -> Result<BuildSummary> {
    build_site_then(settings, opts, &|_| {})
}

/// [`build_site`], calling `live` with the build's snapshot as soon as its site is the live
/// one (committed, or left as it was because nothing changed), before the build keeps what it
/// keeps for the next: `bloggo serve` learns which served file is which post's page then. It
/// is not called when the build fails. A build that changed the published site queues the
/// `build.finished` webhooks (see `webhooks::build_finished`).
pub fn build_site_then(
    settings: &Settings,
    opts: &BuildOptions,
    live: &(dyn Fn(&Snapshot) + Sync),
) -> Result<BuildSummary> {
    let mut run = Run::start(settings, opts, live)?;
    let mut summary = match run.kept.take() {
        Some(kept) => {
            run.clock.phase("kept state read");
            match delta::build(&mut run, kept) {
                Ok(summary) => {
                    run.clock.note(&format!(
                        "patched: {} of {} pages rendered",
                        summary.rendered, summary.pages
                    ));
                    summary
                }
                Err(Stop::Failed(e)) => return Err(e),
                Err(Stop::Whole(why)) => {
                    run.clock.note(&format!("whole build: {why}"));
                    whole::build(&mut run)?
                }
            }
        }
        None => whole::build(&mut run)?,
    };
    summary.seconds = run.clock.seconds();
    if !opts.drafts {
        summary.next_scheduled = run.next_scheduled();
    }
    // A deploy hook wants a site that changed, not a preview.
    if !opts.drafts && summary.written + summary.removed > 0 {
        run.build_finished(&summary);
    }
    Ok(summary)
}
