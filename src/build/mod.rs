//! `bloggo build`: store → snapshot → render (parallel) → output (atomic, incremental).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

mod delta;
mod state;

use crate::config::Settings;
use crate::markdown::cache::{body_key, summary_digest, MarkdownCache};
use crate::markdown::{self, MarkdownOptions, Rendered};
use crate::output::{Committed, Digest, Record, Writer};
use crate::render::{self, Job, Renderer};
use crate::snapshot::{RelatedLists, Snapshot};
use crate::store::site::{SiteQuery, SiteReader};
use crate::store::Store;
use crate::templates::{self, StaticSource, Templates};

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

/// Builds the site: one store snapshot, every page rendered in parallel, written atomically.
///
/// Incremental by construction: every page has a fingerprint of what it is made from (see
/// `Renderer::fingerprint`); a page whose fingerprint the live site's manifest already has is
/// carried over without being made, and only the markdown of the pages that are made is read
/// from the store (or from the rendered-markdown cache).
pub fn build_site(settings: &Settings, opts: &BuildOptions) -> Result<BuildSummary> {
    let started = Instant::now();
    let timings = std::env::var_os("BLOGGO_TIMINGS").is_some();
    let phase = |name: &str| {
        if timings {
            let peak =
                peak_memory().map_or(String::new(), |kb| format!(" (peak {} MB)", kb / 1024));
            eprintln!("{:>8.3} s  {name}{peak}", started.elapsed().as_secs_f64());
        }
    };
    let base_url = opts
        .base_url
        .clone()
        .unwrap_or_else(|| settings.config.base_url.clone());
    if !(base_url.starts_with("http://")
        || base_url.starts_with("https://")
        || base_url.starts_with('/'))
    {
        bail!("base URL {base_url:?} must start with http://, https:// or /");
    }
    let out = opts.out.clone().unwrap_or_else(|| settings.output.clone());
    let dir = cache_dir(settings);
    let state_file = state_file(settings, &out);
    // What the last build of this output kept, read while the templates load.
    let kept = (!opts.clean).then(|| {
        let f = state_file.clone();
        std::thread::spawn(move || state::BuildState::read(&f))
    });

    // Templates first: a broken template fails before anything is read or written.
    let mut templates = Templates::load(settings)?;
    phase("templates");
    let md = MarkdownOptions {
        smart_punctuation: settings.config.markdown.smart_punctuation,
        highlight: settings.config.markdown.highlight,
        highlight_theme: settings.config.markdown.highlight_theme.clone(),
        link_base: None,
    };
    let inputs = state::inputs_digest(settings, &base_url, opts.drafts, &md, &templates);
    // Both roads start from the store with content/ synced into it (while the kept state
    // is still being read).
    let mut store = open_store(settings, opts)?;
    phase("store opened, content synced");
    let now = chrono::Utc::now();
    let kept = kept.and_then(|t| t.join().ok().flatten());
    if kept.is_none() && timings && !opts.clean {
        eprintln!(
            "whole build: nothing kept from an earlier build of {}",
            out.display()
        );
    }
    if let Some(kept) = kept {
        phase("kept state read");
        let req = delta::Request {
            settings,
            opts,
            base_url: &base_url,
            out: &out,
            md: &md,
            inputs,
            state_file: &state_file,
            cache_dir: &dir,
            now,
            phase: &phase,
        };
        match delta::patch(&req, &mut templates, &mut store, kept)? {
            Ok(mut summary) => {
                summary.seconds = started.elapsed().as_secs_f64();
                if timings {
                    eprintln!(
                        "patched: {} of {} pages rendered",
                        summary.rendered, summary.pages
                    );
                }
                return Ok(summary);
            }
            Err(why) => {
                if timings {
                    eprintln!("whole build: {why}");
                }
            }
        }
    }

    if settings.config.markdown.highlight {
        markdown::warm_up_highlighter();
    }
    let related_file = dir.join("related.bin");
    let cannot_read = || format!("{}: cannot read the site", settings.store.display());
    // The output folder, the caches and the store are read side by side.
    let (reader, rows, mark, output) = std::thread::scope(|sc| {
        let output = sc.spawn(|| -> Result<_> {
            let writer = Writer::begin(&out, opts.clean)?;
            let cache = if opts.clean {
                MarkdownCache::empty(&dir)
            } else {
                MarkdownCache::open(&dir)
            };
            let known = if opts.clean {
                None
            } else {
                std::fs::read(&related_file)
                    .ok()
                    .and_then(|b| RelatedLists::decode(&b))
            };
            Ok((writer, cache, known))
        });
        let read = read_site(settings, &mut store, opts, now);
        phase("store read");
        let output = output
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        read.map(|(reader, rows, mark)| (reader, rows, mark, output))
    })?;
    let (writer, cache, known) = output?;
    phase("output manifests and caches read");
    let known_key = known.as_ref().map(|k| k.key);
    let snap = Snapshot::build(settings, rows, &base_url, opts.drafts, now, known)?;
    templates.set_origin(&snap.site.origin);
    phase("snapshot");

    let keys: Vec<[u8; 32]> = snap
        .posts
        .iter()
        .map(|p| body_key(&p.content_hash, &md, &p.path))
        .collect();
    // Markdown the cache does not have is rendered first: what its summary turns out to be
    // decides whether the pages showing the post's card change.
    let n = snap.posts.len();
    let mut bodies: Vec<Option<Rendered>> = (0..n).map(|_| None).collect();
    let mut made: Vec<usize> = Vec::new();
    let unknown: Vec<usize> = (0..n)
        .filter(|&i| cache.summary(&keys[i]).is_none())
        .collect();
    let make = |which: &[usize]| -> Result<Vec<(usize, Rendered)>> {
        let unread: Vec<i64> = which
            .iter()
            .map(|&i| &snap.posts[i])
            .filter(|p| p.content.is_none())
            .map(|p| p.id)
            .collect();
        let read = reader.contents(&unread).with_context(cannot_read)?;
        Ok(which
            .par_iter()
            .map(|&i| (i, render_post(&snap.posts[i], &read, &md)))
            .collect())
    };
    for (i, body) in make(&unknown)? {
        made.push(i);
        bodies[i] = Some(body);
    }
    let summaries: Vec<[u8; 32]> = (0..n)
        .map(|i| match &bodies[i] {
            Some(b) => summary_digest(b),
            None => cache.summary(&keys[i]).unwrap_or_default(),
        })
        .collect();
    phase("new markdown rendered");
    let mut renderer = Renderer::new(&snap, &templates, keys.clone(), &summaries);
    let jobs = render::jobs(&snap);
    phase("digests");
    // Which pages can be carried over from the live site, and which must be made.
    let plan: Vec<(String, Option<Digest>, bool)> = jobs
        .par_iter()
        .map(|&job| {
            let (file, f) = renderer.plan(job);
            let keep = f.as_ref().is_some_and(|f| writer.reusable(&file, f));
            (file, f, keep)
        })
        .collect();
    phase("fingerprints");

    // The rendered markdown those pages need: from the cache (or made, if its record is gone).
    let mut needed = vec![false; n];
    let mut list = Vec::new();
    for (&job, (_, _, keep)) in jobs.iter().zip(&plan) {
        if !keep {
            list.clear();
            renderer.needs(job, &mut list);
            for &i in &list {
                needed[i] = true;
            }
        }
    }
    let from_cache: Vec<Option<Rendered>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if needed[i] && bodies[i].is_none() {
                cache.get(&keys[i])
            } else {
                None
            }
        })
        .collect();
    for (i, b) in from_cache.into_iter().enumerate() {
        if b.is_some() {
            bodies[i] = b;
        }
    }
    let lost: Vec<usize> = (0..n)
        .filter(|&i| needed[i] && bodies[i].is_none())
        .collect();
    for (i, body) in make(&lost)? {
        made.push(i);
        bodies[i] = Some(body);
    }
    drop(reader);
    renderer.set_bodies(bodies);
    phase("markdown read");

    // Make every page that changed and stream it into the new output folder.
    let assets = assets(settings, &snap)?;
    // Nothing to make, copy or remove, and every file still there: the live site already is
    // this build's, and is left as it is (no stage is filled and swapped).
    let nothing_new = !opts.clean
        && plan.iter().all(|(_, _, keep)| *keep)
        && jobs.len() + assets.len() == writer.live_files()
        && writer.live_files_present()
        && assets.par_iter().all(|(file, src)| {
            source_bytes(src)
                .is_ok_and(|b| writer.live_hash(file) == Some(*blake3::hash(&b).as_bytes()))
        });
    let (committed, rendered) = if nothing_new {
        let c = Committed {
            unchanged: jobs.len() + assets.len(),
            manifest: writer.live_digest(),
            ..Committed::default()
        };
        drop(writer);
        (c, 0)
    } else {
        write_site(&renderer, writer, &jobs, plan, &assets, opts, &out, &phase)?
    };

    if known_key != Some(snap.related.key) {
        if let Err(e) = crate::fsx::write_atomic(
            &related_file,
            &snap.related.encode(),
            crate::fsx::Durability::Atomic,
        ) {
            eprintln!("warning: {}: cannot write: {e:#}", related_file.display());
        }
    }
    // Caches of earlier versions are not read any more.
    let _ = std::fs::remove_file(dir.join("markdown.json"));
    let saved = save_markdown(cache, &keys, &made, &renderer, &dir);
    phase(&format!("markdown cache saved ({saved} new records)"));
    if timings {
        eprintln!("{rendered} of {} pages rendered", jobs.len());
    }
    let digests = renderer.digests().clone();
    let global = renderer.global();
    drop(renderer);
    let warnings = snap.warnings.clone();
    let pages = jobs.len();
    let next = state::BuildState {
        inputs,
        site: committed.manifest,
        seq: mark.seq,
        watched: mark.watched,
        now: store_time(now),
        snapshot: snap,
        keys,
        summaries,
        digests,
        global,
        assets: state::stamps(&assets),
        patches: 0,
    };
    keep_state(&next, &state_file);
    prune_change_log(&store, mark.seq);
    drop(store);
    phase("state kept");
    let summary = BuildSummary {
        pages,
        rendered,
        written: committed.written,
        unchanged: committed.unchanged,
        removed: committed.removed,
        seconds: started.elapsed().as_secs_f64(),
        out,
        warnings,
    };
    // Freeing the snapshot and the page list takes milliseconds nobody needs to wait for.
    std::thread::spawn(move || drop((next, jobs, templates)));
    Ok(summary)
}

/// A post's markdown rendered: its text as the snapshot holds it, or as read from the store
/// (`read`, by post id) in the build's read transaction.
fn render_post(
    p: &crate::snapshot::Post,
    read: &std::collections::HashMap<i64, String>,
    md: &MarkdownOptions,
) -> Rendered {
    let content = p
        .content
        .as_deref()
        .or_else(|| read.get(&p.id).map(String::as_str))
        .unwrap_or("");
    let opts = MarkdownOptions {
        link_base: Some(p.path.clone()),
        ..md.clone()
    };
    markdown::render(content, &opts)
}

/// The process's peak resident memory so far, in KB (Linux; for `BLOGGO_TIMINGS`).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Records the markdown this build rendered (`made`, by post) in the cache and forgets what
/// the site no longer has; returns how many records were new. The cache only saves time: a
/// build that cannot write it still succeeded.
fn save_markdown(
    cache: MarkdownCache,
    keys: &[[u8; 32]],
    made: &[usize],
    renderer: &Renderer,
    dir: &std::path::Path,
) -> usize {
    let live: std::collections::HashSet<[u8; 32]> = keys.iter().copied().collect();
    let new_bodies: Vec<([u8; 32], &Rendered)> = made
        .iter()
        .filter_map(|&i| Some((keys[i], renderer.body_of(i)?)))
        .collect();
    if let Err(e) = cache.save(&live, &new_bodies) {
        eprintln!(
            "warning: {}: cannot write the markdown cache: {e:#}",
            dir.display()
        );
    }
    new_bodies.len()
}

/// Lets the store forget the change log up to what this build read (see
/// `store::changes::prune`); a log that stays long only costs space.
fn prune_change_log(store: &Store, seq: i64) {
    if let Err(e) = crate::store::changes::prune(store.raw_conn(), seq) {
        eprintln!("warning: cannot prune the store's change log: {e}");
    }
}

/// Keeps a build's state for the next build of the same output. It only saves time: a build
/// that cannot write it still succeeded, and one that cannot read it builds the whole site.
fn keep_state(s: &state::BuildState, path: &std::path::Path) {
    if let Err(e) = s.write(path) {
        eprintln!("warning: {}: cannot write: {e:#}", path.display());
    }
}

/// Renders the pages the plan says changed, carries the others over from the live site,
/// copies static files and media, and commits the new output. Returns what the commit did
/// and how many pages were rendered.
#[allow(clippy::too_many_arguments)]
fn write_site(
    renderer: &Renderer,
    writer: Writer,
    jobs: &[Job],
    plan: Vec<(String, Option<Digest>, bool)>,
    assets: &[(String, StaticSource)],
    opts: &BuildOptions,
    out: &std::path::Path,
    phase: &dyn Fn(&str),
) -> Result<(Committed, usize)> {
    let bar = progress(jobs.len() + assets.len(), opts.quiet);
    let page_results: Vec<Result<(Record, bool), String>> = jobs
        .par_iter()
        .zip(plan)
        .map(|(&job, (file, fingerprint, keep))| {
            let r = render_one(renderer, &writer, job, &file, fingerprint, keep);
            bar.inc(1);
            r
        })
        .collect();
    let list_rendered = std::env::var("BLOGGO_TIMINGS").is_ok_and(|v| v == "files");
    let mut rendered = 0;
    let page_results: Vec<Result<Record, String>> = page_results
        .into_iter()
        .map(|r| {
            r.map(|(rec, made)| {
                if made {
                    rendered += 1;
                    if list_rendered {
                        eprintln!("rendered {}", rec.file);
                    }
                }
                rec
            })
        })
        .collect();
    let asset_results: Vec<Result<Record, String>> = assets
        .par_iter()
        .map(|(file, src)| {
            let r = copy_one(&writer, file, src);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();

    let mut records = Vec::with_capacity(page_results.len() + asset_results.len());
    let mut errors = Vec::new();
    for r in page_results.into_iter().chain(asset_results) {
        match r {
            Ok(rec) => records.push(rec),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        // The stage goes; a full disk is one error, not one line per file it stopped.
        if let Some(full) = writer.abandon() {
            return Err(full);
        }
        bail!(
            "{} of {} files failed; {} was not changed:\n  {}",
            errors.len(),
            jobs.len() + assets.len(),
            out.display(),
            errors.join("\n  ")
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        if !seen.insert(r.file.as_str()) {
            bail!(
                "two things want to be {} in the output (a page, a static file, media or an alias); \
                 rename one; {} was not changed",
                r.file,
                out.display()
            );
        }
    }
    phase("pages rendered and written");
    let committed = writer.commit(records)?;
    phase("committed");
    Ok((committed, rendered))
}

/// Opens the store, syncs `content/` into it when the site asks for it, and raises the change
/// log's watermark (see `store::changes::watch`): what both roads of a build start from.
fn open_store(settings: &Settings, opts: &BuildOptions) -> Result<Store> {
    let mut store = Store::open(&settings.store, true)?;
    if settings.config.content.sync {
        let synced = crate::import::sync_content(settings, &mut store)
            .context("syncing content/ into the store")?;
        if !opts.quiet && synced.changed() {
            eprintln!("content: {synced}");
        }
    }
    crate::store::changes::watch(store.raw_conn())
        .with_context(|| format!("{}: cannot read the site", settings.store.display()))?;
    Ok(store)
}

/// Reads the site's rows in a read transaction that stays open for the markdown the build
/// reads later, with where that read stands in the store's change log.
fn read_site<'s>(
    settings: &Settings,
    store: &'s mut Store,
    opts: &BuildOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(
    SiteReader<'s>,
    crate::store::site::SiteRows,
    crate::store::changes::ChangeMark,
)> {
    let cannot_read = || format!("{}: cannot read the site", settings.store.display());
    let reader = SiteReader::begin(store.raw_conn_mut()).with_context(cannot_read)?;
    let mark = crate::store::changes::mark(reader.conn()).with_context(cannot_read)?;
    let rows = reader
        .rows(&SiteQuery {
            drafts: opts.drafts,
            now: store_time(now),
        })
        .with_context(cannot_read)?;
    Ok((reader, rows, mark))
}

/// An instant as the store writes it (`TIMESTAMP_FORMAT`, UTC).
fn store_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format(crate::store::TIMESTAMP_FORMAT).to_string()
}

/// Carries a page over from the live site when the plan says it can (`keep`), else renders
/// and writes it; `true` when it was rendered.
fn render_one(
    r: &Renderer,
    w: &Writer,
    job: Job,
    file: &str,
    fingerprint: Option<Digest>,
    keep: bool,
) -> Result<(Record, bool), String> {
    if let (true, Some(f)) = (keep, &fingerprint) {
        if let Some(rec) = w.reuse(file, f).map_err(|e| format!("{file}: {e:#}"))? {
            return Ok((rec, false));
        }
    }
    let page = r.render(job).map_err(|e| e.to_string())?;
    let mut rec = w
        .put(&page.file, &page.bytes)
        .map_err(|e| format!("{}: {e:#}", page.file))?;
    rec.fingerprint = fingerprint;
    Ok((rec, true))
}

fn copy_one(w: &Writer, file: &str, src: &StaticSource) -> Result<Record, String> {
    let bytes = source_bytes(src)?;
    w.put(file, &bytes).map_err(|e| format!("{file}: {e:#}"))
}

fn source_bytes(src: &StaticSource) -> Result<std::borrow::Cow<'_, [u8]>, String> {
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

/// Static files of the theme and site, then post media.
fn assets(settings: &Settings, snap: &Snapshot) -> Result<Vec<(String, StaticSource)>> {
    let mut v: Vec<(String, StaticSource)> =
        templates::static_files(settings)?.into_iter().collect();
    v.extend(
        snap.media
            .iter()
            .map(|m| (m.file.clone(), StaticSource::File(m.source.clone()))),
    );
    Ok(v)
}

fn progress(len: usize, quiet: bool) -> indicatif::ProgressBar {
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
