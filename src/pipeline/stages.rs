//! The stages both plans go through: what a build starts from ([`Run`]), the rendered markdown
//! the pages to make need ([`gather_bodies`]), making those pages in parallel ([`render`]),
//! and what a build leaves for the next one (the markdown cache, the change log's trim).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::{cache_dir, state, BuildOptions};
use crate::config::Settings;
use crate::digest::Digest;
use crate::markdown::cache::{MarkdownCache, NewBody};
use crate::markdown::{self, MarkdownOptions, Rendered};
use crate::model::Timestamp;
use crate::render::{Job, Page, Planner, Renderer};
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::templates::{self, StaticSource, Templates};

/// What every build starts from: the settings and options resolved, the templates loaded, the
/// store opened with `content/` synced into it, and the state the last build of this output
/// kept (taken by the plan that patches it).
pub(super) struct Run<'a> {
    pub settings: &'a Settings,
    pub opts: &'a BuildOptions,
    pub base_url: String,
    pub out: PathBuf,
    pub md: MarkdownOptions,
    /// See [`state::inputs_digest`].
    pub inputs: Digest,
    pub templates: Templates,
    pub store: Store,
    pub now: chrono::DateTime<chrono::Utc>,
    pub cache_dir: PathBuf,
    pub state_file: PathBuf,
    pub kept: Option<state::BuildState>,
    pub clock: Clock,
    /// Told the build's snapshot once its site is live (see `pipeline::build_site_then`).
    pub live: &'a (dyn Fn(&Snapshot) + Sync),
}

/// The build's timings (printed with `BLOGGO_TIMINGS`).
pub(super) struct Clock {
    started: Instant,
    timings: bool,
}

impl<'a> Run<'a> {
    /// Resolves the options, loads the templates (a broken template fails before anything is
    /// read or written) and opens the store, while the kept state is read.
    pub fn start(
        settings: &'a Settings,
        opts: &'a BuildOptions,
        live: &'a (dyn Fn(&Snapshot) + Sync),
    ) -> Result<Run<'a>> {
        let started = Instant::now();
        let timings = std::env::var_os("BLOGGO_TIMINGS").is_some();
        let base_url = settings.build_base_url(opts.base_url.as_deref())?;
        let out = opts.out.clone().unwrap_or_else(|| settings.output.clone());
        let cache_dir = cache_dir(settings);
        let state_file = state::path(&cache_dir, &out);
        // What the last build of this output kept, read while the templates load.
        let kept = (!opts.clean).then(|| {
            let f = state_file.clone();
            std::thread::spawn(move || state::BuildState::read(&f))
        });
        let templates = Templates::load(settings)?;
        let mut run = Run {
            settings,
            opts,
            md: MarkdownOptions {
                smart_punctuation: settings.config.markdown.smart_punctuation,
                highlight: settings.config.markdown.highlight,
                highlight_theme: settings.config.markdown.highlight_theme.clone(),
                link_base: None,
            },
            inputs: [0; 32],
            base_url,
            out,
            templates,
            store: open_store(settings, opts)?,
            now: chrono::Utc::now(),
            cache_dir,
            state_file,
            kept: None,
            clock: Clock { started, timings },
            live,
        };
        run.clock
            .phase("templates loaded, store opened, content synced");
        run.inputs = state::inputs_digest(
            settings,
            &run.base_url,
            opts.drafts,
            &run.md,
            &run.templates,
        );
        run.kept = kept.and_then(|t| t.join().ok().flatten());
        if run.kept.is_none() && !opts.clean {
            run.clock.note(&format!(
                "whole build: nothing kept from an earlier build of {}",
                run.out.display()
            ));
        }
        Ok(run)
    }

    /// The error context of a store read.
    pub fn cannot_read(&self) -> String {
        format!("{}: cannot read the site", self.settings.store.display())
    }

    /// The build's instant as the store keeps it (to the second).
    pub fn store_now(&self) -> Timestamp {
        Timestamp::from_utc(self.now)
    }

    /// Records the pages this build published posts at (see `Store::remember_pages`), so a
    /// post whose URL changes later keeps a redirect at each. A failure only warns: the next
    /// build records them.
    pub fn remember_pages(&self, pages: &[(i64, String)]) {
        if let Err(e) = self.store.remember_pages(pages) {
            eprintln!("warning: cannot record the posts' pages in the store: {e}");
        }
    }

    /// Queues the `build.finished` webhooks of this build, in a transaction of their own once
    /// the site is live. A failure only warns: the site is built.
    pub fn build_finished(&mut self, summary: &super::BuildSummary) {
        if let Err(e) = crate::webhooks::build_finished(&mut self.store, &self.base_url, summary) {
            eprintln!("warning: cannot queue the build.finished webhooks: {e:#}");
        }
    }

    /// The next scheduled post after this build's instant (see `Store::next_scheduled`); a
    /// store that cannot say is a warning, not a failed build.
    pub fn next_scheduled(&self) -> Option<(crate::model::Timestamp, String)> {
        match self
            .store
            .next_scheduled(crate::model::Timestamp::from_utc(self.now))
        {
            Ok(next) => next,
            Err(e) => {
                eprintln!("warning: cannot read when the next scheduled post is due: {e}");
                None
            }
        }
    }

    /// Lets the store forget the change log up to what this build read (see
    /// `Store::prune_changes`); a log that stays long only costs space.
    pub fn prune_change_log(&self, seq: i64) {
        if let Err(e) = self.store.prune_changes(seq) {
            eprintln!("warning: cannot prune the store's change log: {e}");
        }
    }
}

impl Clock {
    /// Notes the end of a phase (with `BLOGGO_TIMINGS`).
    pub fn phase(&self, name: &str) {
        if self.timings {
            let peak =
                peak_memory().map_or(String::new(), |kb| format!(" (peak {} MB)", kb / 1024));
            eprintln!(
                "{:>8.3} s  {name}{peak}",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Says something about the build's road (with `BLOGGO_TIMINGS`).
    pub fn note(&self, what: &str) {
        if self.timings {
            eprintln!("{what}");
        }
    }

    /// Seconds since the build started.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Opens the store, syncs `content/` into it when the site asks for it, and raises the change
/// log's watermark (see `store::changes::watch`): what both plans start from.
fn open_store(settings: &Settings, opts: &BuildOptions) -> Result<Store> {
    let mut store = Store::open(&settings.store, true)?;
    if settings.config.content.sync {
        let synced = crate::import::sync_content(settings, &mut store)
            .context("syncing content/ into the store")?;
        if !opts.quiet && synced.changed() {
            eprintln!("content: {synced}");
        }
    }
    store
        .watch_changes()
        .with_context(|| format!("{}: cannot read the site", settings.store.display()))?;
    Ok(store)
}

/// One page of a plan: its job, output file and fingerprint, and whether the live site's file
/// can be carried over instead of being made (`keep`).
pub(super) struct Task {
    pub job: Job,
    pub file: String,
    pub fingerprint: Option<Digest>,
    pub keep: bool,
}

/// Fills `bodies` with the rendered markdown the tasks to make need, from the cache; returns
/// the posts needed that the cache does not have (their record is gone), in order.
pub(super) fn gather_bodies(
    planner: &Planner,
    tasks: &[Task],
    bodies: &mut [Option<Rendered>],
    cache: &MarkdownCache,
    keys: &[[u8; 32]],
) -> Vec<usize> {
    let wanted = wanted(planner, tasks, bodies);
    let found: Vec<Option<Rendered>> = wanted.par_iter().map(|&i| cache.get(&keys[i])).collect();
    let mut lost = Vec::new();
    for (i, b) in wanted.into_iter().zip(found) {
        match b {
            Some(b) => bodies[i] = Some(b),
            None => lost.push(i),
        }
    }
    lost
}

/// The posts whose rendered markdown the tasks to make need and `bodies` lacks, in order.
/// A few pages (a patch) list them; many (a whole build) mark them, one flag per post.
fn wanted(planner: &Planner, tasks: &[Task], bodies: &[Option<Rendered>]) -> Vec<usize> {
    let n = bodies.len();
    let to_make = tasks.iter().filter(|t| !t.keep);
    let mut list = Vec::new();
    if tasks.len() < n / 8 {
        for t in to_make {
            planner.needs(t.job, &mut list);
        }
        list.sort_unstable();
        list.dedup();
        list.retain(|&i| bodies[i].is_none());
        return list;
    }
    let mut needed = vec![false; n];
    for t in to_make {
        list.clear();
        planner.needs(t.job, &mut list);
        for &i in &list {
            needed[i] = true;
        }
    }
    (0..n)
        .filter(|&i| needed[i] && bodies[i].is_none())
        .collect()
}

/// What the render stage made of a plan's tasks.
pub(super) struct Made<R> {
    /// Per task, in order, what `keep` or `put` gave.
    pub pages: Vec<R>,
    /// Pages that failed, each with its file or route.
    pub errors: Vec<String>,
    /// How many pages were rendered (the others were carried over).
    pub rendered: usize,
}

/// Makes the tasks' pages in parallel: a task the plan keeps is carried over by `keep` when
/// it still can be (else made); every other page is rendered and handed to `put`.
pub(super) fn render<R: Send>(
    renderer: &Renderer,
    tasks: Vec<Task>,
    bar: &indicatif::ProgressBar,
    keep: impl Fn(&str, &Digest) -> Result<Option<R>> + Sync,
    put: impl Fn(Page, Option<Digest>) -> Result<R> + Sync,
) -> Made<R> {
    let results: Vec<(Result<R, String>, bool)> = tasks
        .par_iter()
        .map(|t| {
            let r = make_one(renderer, t, &keep, &put);
            bar.inc(1);
            match r {
                Ok((r, made)) => (Ok(r), made),
                Err(e) => (Err(e), false),
            }
        })
        .collect();
    let list_rendered = std::env::var("BLOGGO_TIMINGS").is_ok_and(|v| v == "files");
    let mut made = Made {
        pages: Vec::with_capacity(results.len()),
        errors: Vec::new(),
        rendered: 0,
    };
    for (t, (r, rendered)) in tasks.iter().zip(results) {
        match r {
            Ok(r) => made.pages.push(r),
            Err(e) => made.errors.push(e),
        }
        if rendered {
            made.rendered += 1;
            if list_rendered {
                eprintln!("rendered {}", t.file);
            }
        }
    }
    made
}

/// Carries a task's page over when the plan says it can, else renders it and puts it; `true`
/// when it was rendered.
fn make_one<R>(
    renderer: &Renderer,
    t: &Task,
    keep: &impl Fn(&str, &Digest) -> Result<Option<R>>,
    put: &impl Fn(Page, Option<Digest>) -> Result<R>,
) -> Result<(R, bool), String> {
    if let (true, Some(f)) = (t.keep, &t.fingerprint) {
        if let Some(r) = keep(&t.file, f).map_err(|e| format!("{}: {e:#}", t.file))? {
            return Ok((r, false));
        }
    }
    let page = renderer.render(t.job).map_err(|e| e.to_string())?;
    let file = page.file.clone();
    let r = put(page, t.fingerprint).map_err(|e| format!("{file}: {e:#}"))?;
    Ok((r, true))
}

/// Post `i`'s markdown rendered, its links to other posts resolved against the snapshot: its
/// text as the snapshot holds it, or as read from the store (`read`, by post id) in the
/// build's read transaction.
pub(super) fn render_post(
    snap: &Snapshot,
    i: usize,
    read: &HashMap<i64, String>,
    md: &MarkdownOptions,
) -> Rendered {
    let p = &snap.posts[i];
    let content = p
        .row
        .content
        .as_deref()
        .or_else(|| read.get(&p.row.id).map(String::as_str))
        .unwrap_or("");
    let opts = MarkdownOptions {
        link_base: Some(p.base().to_string()),
        ..md.clone()
    };
    markdown::render_linked(content, &opts, &snap.links_from(i))
}

/// Records the markdown this build rendered (`made`: post, `body_key`) in the cache and
/// forgets what the site no longer has; returns how many records were new. The cache only
/// saves time: a build that cannot write it still succeeded.
pub(super) fn save_markdown(
    cache: MarkdownCache,
    keys: &[[u8; 32]],
    made: &[(usize, [u8; 32])],
    renderer: &Renderer,
    dir: &Path,
) -> usize {
    let live: std::collections::HashSet<[u8; 32]> = keys.iter().copied().collect();
    let new_bodies: Vec<NewBody> = made
        .iter()
        .filter_map(|&(i, base)| Some((keys[i], base, renderer.body_of(i)?)))
        .collect();
    if let Err(e) = cache.save(&live, &new_bodies) {
        eprintln!(
            "warning: {}: cannot write the markdown cache: {e:#}",
            dir.display()
        );
    }
    new_bodies.len()
}

/// Keeps a build's state for the next build of the same output. It only saves time: a build
/// that cannot write it still succeeded, and one that cannot read it builds the whole site.
pub(super) fn keep_state(s: &state::BuildState, path: &Path) {
    if let Err(e) = s.write(path) {
        eprintln!("warning: {}: cannot write: {e:#}", path.display());
    }
}

/// Static files of the theme and site, then post media.
pub(super) fn assets(settings: &Settings, snap: &Snapshot) -> Result<Vec<(String, StaticSource)>> {
    let mut v: Vec<(String, StaticSource)> =
        templates::static_files(settings)?.into_iter().collect();
    v.extend(
        snap.media
            .iter()
            .map(|m| (m.file.clone(), StaticSource::File(m.source.clone()))),
    );
    Ok(v)
}

/// A static file's or media's bytes.
pub(super) fn source_bytes(src: &StaticSource) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    Ok(match src {
        StaticSource::Embedded(b) => std::borrow::Cow::Borrowed(*b),
        StaticSource::File(p) => std::borrow::Cow::Owned(std::fs::read(p).map_err(|e| {
            format!(
                "{}: cannot read ({e}); restore the file or remove it from the store",
                p.display()
            )
        })?),
    })
}

/// The progress bar of a build writing `len` files (hidden when quiet or not on a terminal).
pub(super) fn progress(len: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} building {bar:30} {pos}/{len} files")
    {
        bar.set_style(style);
    }
    bar
}

/// The process's peak resident memory so far, in KB (Linux; for `BLOGGO_TIMINGS`).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{render, Task};
    use crate::render::{Job, Planner};
    use crate::snapshot::Snapshot;
    use crate::templates::Templates;

    fn task(job: Job, file: &str, keep: bool) -> Task {
        Task {
            job,
            file: file.into(),
            fingerprint: Some([7; 32]),
            keep,
        }
    }

    #[test]
    fn kept_pages_are_carried_over_the_others_made_and_failures_collected() {
        let mut snap = Snapshot::default();
        snap.site.paginate = 10;
        let templates = Templates::from_sources(Default::default()).unwrap();
        let renderer = Planner::new(&snap, &templates, Vec::new(), &[]).with_bodies(Vec::new());
        let tasks = vec![
            task(Job::Robots, "robots.txt", false),
            // Kept: carried over when the live site still has it, else made.
            task(Job::Search, "search.json", true),
            task(Job::Sitemap, "sitemap.xml", true),
            // No template for it: fails, with its route.
            task(Job::NotFound, "404.html", false),
        ];
        let made = render(
            &renderer,
            tasks,
            &indicatif::ProgressBar::hidden(),
            |file, _| Ok((file == "search.json").then(|| format!("kept {file}"))),
            |page, fingerprint| {
                assert_eq!(fingerprint, Some([7; 32]));
                Ok(format!("made {}", page.file))
            },
        );
        assert_eq!(made.pages, ["made robots.txt", "kept search.json"]);
        assert_eq!(made.rendered, 1);
        assert_eq!(made.errors.len(), 2, "{:?}", made.errors);
        assert!(
            made.errors[0].starts_with("sitemap.xml"),
            "{:?}",
            made.errors
        );
        assert!(made.errors[1].starts_with("404.html"), "{:?}", made.errors);
    }
}
