//! The patching plan: when the store can say which posts changed since the last build of this
//! output (see `store::changes`) and none of them changed how the site is put together, the
//! kept snapshot (see `state`) is patched with their rows, only their digests are made again,
//! only the pages whose fingerprint changed are rendered, and only those files are replaced in
//! the live site (see `output::Patch`). Nothing in it grows with the number of posts but the
//! kept state's read and write.
//!
//! It stops ([`Stop::Whole`]), and the whole plan runs, whenever it cannot vouch for the
//! result: other settings, templates, static files or media; a live site another build made;
//! a post that appeared, went away, moved (date, slug, status, post or page) or changed author, tags,
//! categories, aliases or media; a user, category or tag row that changed; a scheduled post
//! that came due. Its pages are the ones a whole build would make: the same snapshot, the same
//! digests, the same fingerprints.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;

use super::links;
use super::stages::{self, Run, Task};
use super::state::{self, BuildState, StatePatch};
use super::{BuildSummary, Stop};
use crate::config::Settings;
use crate::markdown::cache::{body_key, summary_digest, MarkdownCache};
use crate::markdown::{self, Rendered};
use crate::model::Timestamp;
use crate::output::Patch;
use crate::render::{self, Planner};
use crate::snapshot::{alias_file, categories_of, media_of, Post, SiteInfo, Snapshot};
use crate::store::changes::{ChangeMark, Changes};
use crate::store::site::{SiteQuery, SiteRows};

/// More changed posts than this and the whole build is as quick.
const MOST_POSTS: usize = 64;

/// The changed posts' rows, ids and markdown, read in one transaction.
type Changed = (SiteRows, Vec<i64>, HashMap<i64, String>);

/// Patches the live site: snapshot (the kept one, patched) → plan (the pages reading the
/// changed posts) → render → commit (the changed files) → keep (a record appended to the
/// state). Nothing was changed when it stops with [`Stop::Whole`].
pub(super) fn build(run: &mut Run, kept: BuildState) -> Result<BuildSummary, Stop> {
    let Run {
        settings,
        opts,
        ref md,
        ref out,
        ref cache_dir,
        ..
    } = *run;
    if kept.inputs != run.inputs {
        return Err(Stop::Whole("settings, templates or bloggo changed".into()));
    }
    let cannot_read = run.cannot_read();
    let store_now = run.store_now();
    // Snapshot: the live site, the store and the caches are read side by side.
    let (read, (patch, cache)) = std::thread::scope(|sc| -> anyhow::Result<_> {
        let output = sc.spawn(|| -> anyhow::Result<_> {
            let patch = Patch::begin(out, false)?;
            let cache = MarkdownCache::open(cache_dir);
            Ok((patch, cache))
        });
        let read = read_changes(&mut run.store, opts.drafts, store_now, &kept, &cannot_read);
        let output = output
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((read?, output?))
    })?;
    let (changed_rows, mark) = read;
    run.clock.phase("store changes and live site read");
    let Some(patch) = patch else {
        return Err(Stop::Whole(
            "the output folder has no manifest of this version".into(),
        ));
    };
    if patch.live_digest() != kept.site {
        return Err(Stop::Whole(
            "the live site is not the one the last build made".into(),
        ));
    }
    let (rows, ids, contents) = changed_rows.map_err(Stop::Whole)?;

    let BuildState {
        snapshot: mut snap,
        mut keys,
        mut summaries,
        digests,
        global,
        assets: kept_assets,
        patches,
        ..
    } = kept;
    snap.site = SiteInfo::new(settings, &run.base_url);
    snap.built_at = run.now;
    run.templates.set_origin(&snap.site.origin);
    let changed = patch_posts(settings, &mut snap, rows, &ids, run.now).map_err(Stop::Whole)?;
    let assets = stages::assets(settings, &snap)?;
    let stamps = state::stamps(&assets);
    if stamps != kept_assets {
        return Err(Stop::Whole("static files or media changed".into()));
    }
    run.clock.phase("snapshot patched");

    // Plan: the changed posts' markdown (from the cache, or rendered: its summary decides
    // which cards change), their digests, and the pages whose fingerprint changed.
    let n = snap.posts.len();
    let mut bodies: Vec<Option<Rendered>> = (0..n).map(|_| None).collect();
    let mut made = Vec::new();
    let mut link_warnings = Vec::new();
    for &i in &changed {
        let p = &snap.posts[i];
        let before = keys[i];
        let base = body_key(&p.row.content_hash, md, p.base());
        let known = cache.links(&base);
        keys[i] = known.map_or(base, |l| links::key(&snap, i, &base, l));
        summaries[i] = match cache.summary(&keys[i]) {
            Some(s) => {
                let known = known.unwrap_or_default();
                link_warnings.extend(links::warnings(settings, &snap, [(i, known)]));
                s
            }
            None => {
                // The code blocks an edit left alone are not highlighted again.
                if let Some(old) = cache.get(&before) {
                    markdown::remember_code(&old);
                }
                let body = stages::render_post(&snap, i, &contents, md);
                keys[i] = links::key(&snap, i, &base, &body.links);
                link_warnings.extend(links::warnings(settings, &snap, [(i, &body.links[..])]));
                let s = summary_digest(&body);
                bodies[i] = Some(body);
                made.push((i, base));
                s
            }
        };
    }
    let refreshed: Vec<(usize, [u8; 32])> = changed.iter().map(|&i| (i, summaries[i])).collect();
    let planner = Planner::patched(&snap, &run.templates, keys.clone(), digests, &refreshed);
    if planner.global().is_none() || planner.global() != global {
        return Err(Stop::Whole(
            "the templates show something that changes every build".into(),
        ));
    }
    let tasks = plan(&planner, &changed, &patch)?;
    run.clock.phase("fingerprints");
    let lost = stages::gather_bodies(&planner, &tasks, &mut bodies, &cache, &keys);
    if let Some(&i) = lost.first() {
        return Err(Stop::Whole(format!(
            "no rendered markdown kept for post {}",
            snap.posts[i].row.id
        )));
    }
    let renderer = planner.with_bodies(bodies);

    // Render: the pages are kept in memory until every one is made, so a page that fails
    // leaves the stage as it was.
    let todo = tasks.len();
    let pages = stages::render(
        &renderer,
        tasks,
        &indicatif::ProgressBar::hidden(),
        |_, _| Ok(None),
        |page, fingerprint| Ok((page, fingerprint)),
    );
    if !pages.errors.is_empty() {
        return Err(Stop::Failed(anyhow::anyhow!(
            "{} of {} pages failed; {} was not changed:\n  {}",
            pages.errors.len(),
            todo,
            out.display(),
            pages.errors.join("\n  ")
        )));
    }
    run.clock.phase("pages rendered");

    // Commit: the changed files replace the live site's.
    let rendered = pages.rendered;
    let pages_total = render::jobs(&snap).len();
    let committed = if pages.pages.is_empty() {
        None
    } else {
        let mut patch = patch;
        for (page, fingerprint) in &pages.pages {
            patch.put(&page.file, &page.bytes, *fingerprint)?;
        }
        Some(patch.commit()?)
    };
    (run.live)(&snap);
    run.clock.phase("committed");

    // Keep: what the next build starts from.
    let site = committed.as_ref().map_or(kept.site, |c| c.manifest);
    stages::save_markdown(cache, &keys, &made, &renderer, cache_dir);
    let mut warnings = snap.warnings.clone();
    warnings.extend(link_warnings);
    if patches < state::MOST_PATCHES {
        let record = StatePatch {
            site,
            seq: mark.seq,
            watched: mark.watched,
            now: store_now,
            posts: changed
                .iter()
                .map(|&i| (i, snap.posts[i].clone(), keys[i], summaries[i]))
                .collect(),
            digests: renderer.planner().digests().patch(&changed),
        };
        if let Err(e) = record.append(&run.state_file) {
            // A state that lacks this build's record names a live site that is gone: the next
            // build is whole.
            eprintln!("warning: {e:#}");
        }
        drop(renderer);
    } else {
        let digests = renderer.planner().digests().clone();
        drop(renderer);
        let next = BuildState {
            inputs: run.inputs,
            site,
            seq: mark.seq,
            watched: mark.watched,
            now: store_now,
            snapshot: snap,
            keys,
            summaries,
            digests,
            global,
            assets: stamps,
            patches: 0,
        };
        stages::keep_state(&next, &run.state_file);
        std::thread::spawn(move || drop(next));
    }
    run.prune_change_log(mark.seq);
    run.clock.phase("state kept");
    let (written, unchanged) = match &committed {
        Some(c) => (c.written, c.unchanged),
        None => (0, pages_total + assets.len()),
    };
    Ok(BuildSummary {
        pages: pages_total,
        rendered,
        written,
        unchanged,
        removed: 0,
        seconds: 0.0,
        out: out.clone(),
        warnings,
        next_scheduled: None,
    })
}

/// The pages to make: those that read a changed post's digests (see
/// `Planner::jobs_reading`) and whose fingerprint the live site's manifest does not have.
fn plan(planner: &Planner, changed: &[usize], patch: &Patch) -> Result<Vec<Task>, Stop> {
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    for job in changed.iter().flat_map(|&i| planner.jobs_reading(i)) {
        if !seen.insert(job) {
            continue;
        }
        let (file, fingerprint) = planner.plan(job);
        match patch.live_fingerprint(&file) {
            None => return Err(Stop::Whole(format!("{file} is not in the live site"))),
            Some(live) if live.is_some() && live == fingerprint => {}
            Some(_) => tasks.push(Task {
                job,
                file,
                fingerprint,
                keep: false,
            }),
        }
    }
    if !tasks.is_empty() && !patch.can_commit() {
        return Err(Stop::Whole(
            "the stage beside the output folder is not one bloggo can patch".into(),
        ));
    }
    Ok(tasks)
}

/// Asks the store what changed since the kept state: the rows of the changed posts the site
/// shows, their ids and markdown, or why that cannot be told.
fn read_changes(
    store: &mut crate::store::Store,
    drafts: bool,
    now: Timestamp,
    kept: &BuildState,
    cannot_read: &str,
) -> anyhow::Result<(Result<Changed, String>, ChangeMark)> {
    let reader = store
        .site_reader()
        .with_context(|| cannot_read.to_string())?;
    let mark = reader
        .change_mark()
        .with_context(|| cannot_read.to_string())?;
    let since = ChangeMark {
        seq: kept.seq,
        watched: kept.watched,
    };
    let rows = match reader
        .changes_since(&since, kept.now, now, MOST_POSTS)
        .with_context(|| cannot_read.to_string())?
    {
        Changes::Everything(why) => Err(why),
        Changes::Posts(ids) => {
            let q = SiteQuery { drafts, now };
            let rows = reader
                .rows_of(&q, &ids)
                .with_context(|| cannot_read.to_string())?;
            // Their markdown now, in the same read: a post changed after it would not
            // match the row's content hash.
            let shown: Vec<i64> = rows.posts.iter().map(|p| p.id).collect();
            let contents = reader
                .contents(&shown)
                .with_context(|| cannot_read.to_string())?;
            Ok((rows, ids, contents))
        }
    };
    Ok((rows, mark))
}

/// Puts the changed posts' rows into the snapshot, or says why the site's shape changed.
/// Returns the changed posts (snapshot indexes).
fn patch_posts(
    settings: &Settings,
    snap: &mut Snapshot,
    mut rows: SiteRows,
    ids: &[i64],
    now: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<Vec<usize>, String> {
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    let at: HashMap<i64, usize> = snap
        .posts
        .iter()
        .enumerate()
        .filter(|(_, p)| wanted.contains(&p.row.id))
        .map(|(i, p)| (p.row.id, i))
        .collect();
    let wpm = settings.config.content.words_per_minute.max(1) as usize;
    let mut changed = Vec::new();
    let ids_of = |pairs: &[(i64, i64)], id: i64| -> Vec<i64> {
        let mut v: Vec<i64> = pairs
            .iter()
            .filter(|(p, _)| *p == id)
            .map(|(_, x)| *x)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for row in std::mem::take(&mut rows.posts) {
        let id = row.id;
        let Some(&i) = at.get(&id) else {
            return Err(format!("post {id} now shows on the site"));
        };
        let mut p = Post::new(row, &snap.site, now);
        p.derive_read_time(wpm);
        let old = &snap.posts[i];
        // Its categories are checked unchanged below: their `:categories` value too.
        let categories = categories_of(&snap.categories, &old.categories);
        if p.place(&snap.site, &categories).is_some() {
            return Err(format!("post {id} has a path that cannot be used"));
        }
        let moved = p.row.slug != old.row.slug
            || p.dir != old.dir
            || p.file != old.file
            || p.path != old.path
            || p.row.status != old.row.status
            || p.row.kind != old.row.kind
            || p.row.section != old.row.section
            || p.scheduled != old.scheduled
            || p.row.date != old.row.date
            || p.row.source_path != old.row.source_path;
        if moved {
            return Err(format!(
                "post {id} moved (date, slug, status, kind, section or source file)"
            ));
        }
        let old_author = old.author.map(|a| snap.authors[a].id);
        let mut old_tags: Vec<i64> = old.tags.iter().map(|&t| snap.tags[t].id).collect();
        old_tags.sort_unstable();
        let mut old_cats: Vec<i64> = old
            .categories
            .iter()
            .map(|&c| snap.categories[c].id)
            .collect();
        old_cats.sort_unstable();
        if old_author != p.row.author_id
            || old_tags != ids_of(&rows.post_tags, id)
            || old_cats != ids_of(&rows.post_categories, id)
        {
            return Err(format!("post {id} changed author, tags or categories"));
        }
        // Redirects from pages it had before (`Snapshot::moved`) are not the store's aliases.
        let old_aliases: Vec<&str> = snap
            .aliases
            .iter()
            .filter(|a| a.post == i && !snap.moved.iter().any(|m| m.file == a.file))
            .map(|a| a.file.as_str())
            .collect();
        let new_aliases: Vec<std::result::Result<String, String>> = rows
            .aliases
            .iter()
            .filter(|(p, _)| *p == id)
            .map(|(_, path)| alias_file(path))
            .collect();
        if new_aliases.len() != old_aliases.len()
            || new_aliases
                .iter()
                .zip(&old_aliases)
                .any(|(n, o)| n.as_deref() != Ok(*o))
        {
            return Err(format!("post {id} changed its aliases"));
        }
        let old_media: Vec<(&Path, &str)> = snap
            .media
            .iter()
            .filter(|m| m.post == i)
            .map(|m| (m.source.as_path(), m.file.as_str()))
            .collect();
        let new_media: Vec<_> = rows
            .files
            .iter()
            .filter(|f| f.post_id == id)
            .map(|f| media_of(&settings.root, &p, f))
            .collect();
        if new_media.len() != old_media.len()
            || new_media
                .iter()
                .zip(&old_media)
                .any(|(n, o)| n.as_ref().map(|(s, f)| (s.as_path(), f.as_str())) != Ok(*o))
        {
            return Err(format!("post {id} changed its media"));
        }
        p.author = old.author;
        p.tags = old.tags.clone();
        p.categories = old.categories.clone();
        p.section = old.section;
        p.newer = old.newer;
        p.older = old.older;
        p.related = old.related.clone();
        snap.posts[i] = p;
        changed.push(i);
    }
    // A changed post the store no longer shows (deleted, unpublished) left the site.
    if at.len() != changed.len() {
        return Err("a post left the site".into());
    }
    Ok(changed)
}
