//! The whole plan: every page of the site, from a snapshot of the whole store.
//!
//! Incremental all the same: every page has a fingerprint of what it is made from (see
//! `render::Planner::plan`); a page whose fingerprint the live site's manifest already has is
//! carried over without being made, and only the markdown of the pages that are made is read
//! from the store (or from the rendered-markdown cache). The new output is a whole new folder
//! swapped in (see `output::Writer`).

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use super::links;
use super::stages::{self, Made, Run, Task};
use super::state::{self, BuildState};
use super::BuildSummary;
use crate::markdown::cache::{body_key, summary_digest, MarkdownCache};
use crate::markdown::{self, Rendered};
use crate::model::Timestamp;
use crate::output::{Committed, Record, Writer};
use crate::render::{self, Planner, Renderer};
use crate::snapshot::{RelatedLists, Snapshot};
use crate::store::changes::ChangeMark;
use crate::store::site::{SiteQuery, SiteReader, SiteRows};
use crate::templates::StaticSource;

/// Builds the whole site: snapshot → plan → render → commit → keep.
pub(super) fn build(run: &mut Run) -> Result<BuildSummary> {
    let Run {
        settings,
        opts,
        ref md,
        ref out,
        ref cache_dir,
        ..
    } = *run;
    if settings.config.markdown.highlight {
        markdown::warm_up_highlighter();
    }
    let related_file = cache_dir.join("related.bin");
    let cannot_read = run.cannot_read();
    let store_now = run.store_now();
    // Snapshot: the output folder, the caches and the store are read side by side.
    let (reader, rows, mark, output) = std::thread::scope(|sc| {
        let output = sc.spawn(|| -> Result<_> {
            let writer = Writer::begin(out, opts.clean)?;
            let cache = if opts.clean {
                MarkdownCache::empty(cache_dir)
            } else {
                MarkdownCache::open(cache_dir)
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
        let read = read_site(&mut run.store, opts.drafts, store_now, &cannot_read);
        let output = output
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        read.map(|(reader, rows, mark)| (reader, rows, mark, output))
    })?;
    let (writer, cache, known) = output?;
    run.clock.phase("store, output manifests and caches read");
    let known_key = known.as_ref().map(|k| k.key);
    let mut snap = Snapshot::build(settings, rows, &run.base_url, opts.drafts, run.now, known);
    render::drop_aliases_over_pages(&mut snap);
    run.templates.set_origin(&snap.site.origin);
    run.clock.phase("snapshot");

    // Plan: markdown the cache does not have is rendered first (what its summary turns out to
    // be decides whether the pages showing the post's card change), then every page's
    // fingerprint says whether the live site's file can be kept.
    // A body that links to other posts is keyed by where its links lead too (its links are
    // in the cache's index; a body the cache does not have gets its key once rendered).
    let bases: Vec<[u8; 32]> = snap
        .posts
        .iter()
        .map(|p| body_key(&p.row.content_hash, md, p.base()))
        .collect();
    let mut keys: Vec<[u8; 32]> = (0..bases.len())
        .map(|i| match cache.links(&bases[i]) {
            Some(l) => links::key(&snap, i, &bases[i], l),
            None => bases[i],
        })
        .collect();
    let n = snap.posts.len();
    let mut bodies: Vec<Option<Rendered>> = (0..n).map(|_| None).collect();
    let mut made: Vec<(usize, [u8; 32])> = Vec::new();
    let unknown: Vec<usize> = (0..n)
        .filter(|&i| cache.summary(&keys[i]).is_none())
        .collect();
    let make = |which: &[usize]| -> Result<Vec<(usize, Rendered)>> {
        let unread: Vec<i64> = which
            .iter()
            .map(|&i| &snap.posts[i])
            .filter(|p| p.row.content.is_none())
            .map(|p| p.row.id)
            .collect();
        let read = reader
            .contents(&unread)
            .with_context(|| cannot_read.clone())?;
        Ok(which
            .par_iter()
            .map(|&i| (i, stages::render_post(&snap, i, &read, md)))
            .collect())
    };
    for (i, body) in make(&unknown)? {
        keys[i] = links::key(&snap, i, &bases[i], &body.links);
        made.push((i, bases[i]));
        bodies[i] = Some(body);
    }
    let link_warnings = links::warnings(
        settings,
        &snap,
        (0..n).filter_map(|i| match &bodies[i] {
            Some(b) => Some((i, &b.links[..])),
            None => cache.links(&bases[i]).map(|l| (i, l)),
        }),
    );
    let summaries: Vec<[u8; 32]> = (0..n)
        .map(|i| match &bodies[i] {
            Some(b) => summary_digest(b),
            None => cache.summary(&keys[i]).unwrap_or_default(),
        })
        .collect();
    run.clock.phase("new markdown rendered");
    let planner = Planner::new(&snap, &run.templates, keys.clone(), &summaries);
    let jobs = render::jobs(&snap);
    run.clock.phase("digests");
    let tasks: Vec<Task> = jobs
        .par_iter()
        .map(|&job| {
            let (file, fingerprint) = planner.plan(job);
            let keep = fingerprint
                .as_ref()
                .is_some_and(|f| writer.reusable(&file, f));
            Task {
                job,
                file,
                fingerprint,
                keep,
            }
        })
        .collect();
    run.clock.phase("fingerprints");

    // The rendered markdown the pages to make need: from the cache, or made again.
    let lost = stages::gather_bodies(&planner, &tasks, &mut bodies, &cache, &keys);
    for (i, body) in make(&lost)? {
        made.push((i, bases[i]));
        bodies[i] = Some(body);
    }
    drop(reader);
    let renderer = planner.with_bodies(bodies);
    run.clock.phase("markdown read");

    // Render and commit: every page that changed, streamed into the new output folder.
    let assets = stages::assets(settings, &snap)?;
    let pages = tasks.len();
    let (committed, rendered) = render_and_commit(&renderer, tasks, &assets, writer, run)?;
    (run.live)(&snap);

    // Keep: what the next build starts from.
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
    let _ = std::fs::remove_file(cache_dir.join("markdown.json"));
    let saved = stages::save_markdown(cache, &keys, &made, &renderer, cache_dir);
    run.clock
        .phase(&format!("markdown cache saved ({saved} new records)"));
    run.clock
        .note(&format!("{rendered} of {pages} pages rendered"));
    let digests = renderer.planner().digests().clone();
    let global = renderer.planner().global();
    drop(renderer);
    let mut warnings = snap.warnings.clone();
    warnings.extend(link_warnings);
    // A build with drafts shows pages readers never saw: they need no redirect later.
    let unrecorded = if opts.drafts {
        Vec::new()
    } else {
        snap.unrecorded.clone()
    };
    let next = BuildState {
        inputs: run.inputs,
        site: committed.manifest,
        seq: mark.seq,
        watched: mark.watched,
        now: run.store_now(),
        snapshot: snap,
        keys,
        summaries,
        digests,
        global,
        assets: state::stamps(&assets),
        patches: 0,
    };
    stages::keep_state(&next, &run.state_file);
    run.prune_change_log(mark.seq);
    run.remember_pages(&unrecorded);
    run.clock.phase("state kept");
    // Freeing the snapshot takes milliseconds nobody needs to wait for.
    std::thread::spawn(move || drop(next));
    Ok(BuildSummary {
        pages,
        rendered,
        written: committed.written,
        unchanged: committed.unchanged,
        removed: committed.removed,
        seconds: 0.0,
        out: out.clone(),
        warnings,
        next_scheduled: None,
    })
}

/// Renders the pages the plan says changed, carries the others over from the live site,
/// copies static files and media, and commits the new output. Returns what the commit did
/// and how many pages were rendered.
fn render_and_commit(
    renderer: &Renderer,
    tasks: Vec<Task>,
    assets: &[(String, StaticSource)],
    writer: Writer,
    run: &Run,
) -> Result<(Committed, usize)> {
    let pages = tasks.len();
    // Nothing to make, copy or remove, and every file still there: the live site already is
    // this build's, and is left as it is (no stage is filled and swapped).
    let nothing_new = !run.opts.clean
        && tasks.iter().all(|t| t.keep)
        && pages + assets.len() == writer.live_files()
        && writer.live_files_present()
        && assets.par_iter().all(|(file, src)| {
            stages::source_bytes(src)
                .is_ok_and(|b| writer.live_hash(file) == Some(*blake3::hash(&b).as_bytes()))
        });
    if nothing_new {
        let c = Committed {
            unchanged: pages + assets.len(),
            manifest: writer.live_digest(),
            ..Committed::default()
        };
        drop(writer);
        return Ok((c, 0));
    }
    let bar = stages::progress(pages + assets.len(), run.opts.quiet);
    let made_pages = stages::render(
        renderer,
        tasks,
        &bar,
        |file, f| writer.reuse(file, f),
        |page, fingerprint| {
            let mut rec = writer.put(&page.file, &page.bytes)?;
            rec.fingerprint = fingerprint;
            Ok(rec)
        },
    );
    let copied: Vec<Result<Record, String>> = assets
        .par_iter()
        .map(|(file, src)| {
            let r = stages::source_bytes(src)
                .and_then(|b| writer.put(file, &b).map_err(|e| format!("{file}: {e:#}")));
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let rendered = made_pages.rendered;
    Ok((swap_in(writer, made_pages, copied, run)?, rendered))
}

/// Swaps the new output in, unless a file failed (the stage goes, the live site stays) or
/// two things want the same file.
fn swap_in(
    writer: Writer,
    pages: Made<Record>,
    copied: Vec<Result<Record, String>>,
    run: &Run,
) -> Result<Committed> {
    let total = pages.pages.len() + pages.errors.len() + copied.len();
    let mut records = pages.pages;
    let mut errors = pages.errors;
    records.reserve(copied.len());
    for r in copied {
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
            total,
            run.out.display(),
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
                run.out.display()
            );
        }
    }
    // A file where another needs a folder (a static `feed.xml` and an alias's
    // `feed.xml/index.html`): one would silently replace the other.
    for r in &records {
        let file = r.file.as_str();
        if let Some(dir) = file
            .match_indices('/')
            .map(|(i, _)| &file[..i])
            .find(|d| seen.contains(d))
        {
            bail!(
                "{dir} is a file in the output and also the folder of {file} (a page, a static \
                 file, media or an alias); rename one; {} was not changed",
                run.out.display()
            );
        }
    }
    run.clock.phase("pages rendered and written");
    let committed = writer.commit(records)?;
    run.clock.phase("committed");
    Ok(committed)
}

/// Reads the site's rows in a read transaction that stays open for the markdown the build
/// reads later, with where that read stands in the store's change log.
fn read_site<'s>(
    store: &'s mut crate::store::Store,
    drafts: bool,
    now: Timestamp,
    cannot_read: &str,
) -> Result<(SiteReader<'s>, SiteRows, ChangeMark)> {
    let reader = store
        .site_reader()
        .with_context(|| cannot_read.to_string())?;
    let mark = reader
        .change_mark()
        .with_context(|| cannot_read.to_string())?;
    let rows = reader
        .rows(&SiteQuery { drafts, now })
        .with_context(|| cannot_read.to_string())?;
    Ok((reader, rows, mark))
}
