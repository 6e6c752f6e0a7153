//! The build that patches the last one: when the store can say which posts changed since the
//! last build of this output (see `store::changes`) and none of them changed how the site is
//! put together, the kept snapshot (see `state`) is patched with their rows, only their
//! digests are made again, only the pages whose fingerprint changed are rendered, and only
//! those files are replaced in the live site (see `output::Patch`). Nothing in it grows with
//! the number of posts but the kept state's read and write.
//!
//! It gives up, and the whole build runs, whenever it cannot vouch for the result: other
//! settings, templates, static files or media; a live site another build made; a post that
//! appeared, went away, moved (date, slug, status) or changed author, tags, categories,
//! aliases or media; a user, category, tag or file row that changed; a scheduled post that
//! came due. Its pages are the ones a whole build would make: the same snapshot, the same
//! digests, the same fingerprints.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::state::{self, BuildState, StatePatch};
use super::{BuildOptions, BuildSummary};
use crate::config::Settings;
use crate::markdown::cache::{body_key, summary_digest, MarkdownCache};
use crate::markdown::{self, MarkdownOptions, Rendered};
use crate::output::{Digest, Patch};
use crate::render::{Job, Renderer};
use crate::snapshot::{alias_file, media_of, Post, SiteInfo, Snapshot};
use crate::store::changes::{self, ChangeMark, Changes};
use crate::store::site::{SiteQuery, SiteReader, SiteRows};
use crate::store::Store;
use crate::templates::Templates;

/// More changed posts than this and the whole build is as quick.
const MOST_POSTS: usize = 64;

/// What a build brings to a patch.
pub(super) struct Request<'a> {
    pub settings: &'a Settings,
    pub opts: &'a BuildOptions,
    pub base_url: &'a str,
    pub out: &'a Path,
    pub md: &'a MarkdownOptions,
    pub inputs: Digest,
    pub state_file: &'a Path,
    pub cache_dir: &'a Path,
    pub now: chrono::DateTime<chrono::Utc>,
    pub phase: &'a dyn Fn(&str),
}

/// Patches the live site, or says why it cannot (`Ok(Err(why))`: the caller builds it whole;
/// nothing was changed). `Err` is a real failure (a store that cannot be read, a page that
/// fails to render, a file that cannot be written), reported as a whole build would.
pub(super) fn patch(
    req: &Request,
    templates: &mut Templates,
    store: &mut Store,
    kept: BuildState,
) -> Result<std::result::Result<BuildSummary, String>> {
    let Request {
        settings,
        opts,
        base_url,
        out,
        md,
        now,
        phase,
        ..
    } = *req;
    if kept.inputs != req.inputs {
        return Ok(Err("settings, templates or bloggo changed".into()));
    }
    // The live site, the store and the caches are read side by side.
    let started_output = std::thread::scope(|sc| -> Result<_> {
        let output = sc.spawn(|| -> Result<_> {
            let patch = Patch::begin(out, false)?;
            let cache = MarkdownCache::open(req.cache_dir);
            Ok((patch, cache))
        });
        let store = read_changes(settings, opts, store, now, &kept);
        let output = output
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((store?, output?))
    })?;
    let ((changed_rows, mark), (patch, cache)) = started_output;
    phase("store changes and live site read");
    let Some(mut patch) = patch else {
        return Ok(Err(
            "the output folder has no manifest of this version".into()
        ));
    };
    if patch.live_digest() != kept.site {
        return Ok(Err(
            "the live site is not the one the last build made".into()
        ));
    }
    let (rows, ids, contents) = match changed_rows {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };

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
    snap.site = SiteInfo::new(settings, base_url);
    snap.built_at = now;
    templates.set_origin(&snap.site.origin);
    let changed = match patch_posts(settings, &mut snap, rows, &ids, now) {
        Ok(c) => c,
        Err(why) => return Ok(Err(why)),
    };
    let assets = super::assets(settings, &snap)?;
    let stamps = state::stamps(&assets);
    if stamps != kept_assets {
        return Ok(Err("static files or media changed".into()));
    }
    phase("snapshot patched");

    // The changed posts' markdown: from the cache, or rendered (its summary decides which
    // cards change).
    let n = snap.posts.len();
    let mut bodies: Vec<Option<Rendered>> = (0..n).map(|_| None).collect();
    let mut made = Vec::new();
    for &i in &changed {
        let p = &snap.posts[i];
        let before = keys[i];
        keys[i] = body_key(&p.content_hash, md, &p.path);
        summaries[i] = match cache.summary(&keys[i]) {
            Some(s) => s,
            None => {
                // The code blocks an edit left alone are not highlighted again.
                if let Some(old) = cache.get(&before) {
                    markdown::remember_code(&old);
                }
                let body = super::render_post(&snap.posts[i], &contents, md);
                let s = summary_digest(&body);
                bodies[i] = Some(body);
                made.push(i);
                s
            }
        };
    }
    let mut renderer = Renderer::with_digests(&snap, templates, keys.clone(), digests);
    if renderer.global().is_none() || renderer.global() != global {
        return Ok(Err(
            "the templates show something that changes every build".into()
        ));
    }
    let refreshed: Vec<(usize, [u8; 32])> = changed.iter().map(|&i| (i, summaries[i])).collect();
    renderer.refresh(&refreshed);

    // The pages whose fingerprint changed.
    let mut jobs: Vec<Job> = changed
        .iter()
        .flat_map(|&i| renderer.jobs_reading(i))
        .collect();
    let mut seen = HashSet::new();
    jobs.retain(|j| seen.insert(*j));
    let mut todo = Vec::new();
    for job in jobs {
        let (file, f) = renderer.plan(job);
        match patch.live_fingerprint(&file) {
            None => return Ok(Err(format!("{file} is not in the live site"))),
            Some(live) if live.is_some() && live == f => {}
            Some(_) => todo.push((job, file, f)),
        }
    }
    phase("fingerprints");
    if !todo.is_empty() && !patch.can_commit() {
        return Ok(Err(
            "the stage beside the output folder is not one bloggo can patch".into(),
        ));
    }

    // Their markdown, then the pages.
    let mut needed = Vec::new();
    for &(job, _, _) in &todo {
        renderer.needs(job, &mut needed);
    }
    needed.sort_unstable();
    needed.dedup();
    for i in needed {
        if bodies[i].is_some() {
            continue;
        }
        match cache.get(&keys[i]) {
            Some(b) => bodies[i] = Some(b),
            None => {
                return Ok(Err(format!(
                    "no rendered markdown kept for post {}",
                    snap.posts[i].id
                )))
            }
        }
    }
    renderer.set_bodies(bodies);
    let pages: Vec<_> = todo
        .par_iter()
        .map(|&(job, ref file, f)| {
            renderer
                .render(job)
                .map(|page| (file.clone(), page.bytes, f))
        })
        .collect();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for p in pages {
        match p {
            Ok(p) => files.push(p),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "{} of {} pages failed; {} was not changed:\n  {}",
            errors.len(),
            todo.len(),
            out.display(),
            errors.join("\n  ")
        );
    }
    if std::env::var("BLOGGO_TIMINGS").is_ok_and(|v| v == "files") {
        for (file, ..) in &files {
            eprintln!("rendered {file}");
        }
    }
    phase("pages rendered");
    let rendered = files.len();
    let pages_total = crate::render::jobs(&snap).len();
    let committed = if files.is_empty() {
        None
    } else {
        for (file, bytes, f) in &files {
            patch.put(file, bytes, *f)?;
        }
        Some(patch.commit()?)
    };
    phase("committed");

    // What the next build starts from.
    let site = committed.as_ref().map_or(kept.site, |c| c.manifest);
    super::save_markdown(cache, &keys, &made, &renderer, req.cache_dir);
    let warnings = snap.warnings.clone();
    if patches < state::MOST_PATCHES {
        let record = StatePatch {
            site,
            seq: mark.seq,
            watched: mark.watched,
            now: super::store_time(now),
            posts: changed
                .iter()
                .map(|&i| (i, snap.posts[i].clone(), keys[i], summaries[i]))
                .collect(),
            digests: renderer.digests().patch(&changed),
        };
        if let Err(e) = record.append(req.state_file) {
            // A state that lacks this build's record names a live site that is gone: the next
            // build is whole.
            eprintln!("warning: {e:#}");
        }
        drop(renderer);
    } else {
        let digests = renderer.digests().clone();
        drop(renderer);
        let next = BuildState {
            inputs: req.inputs,
            site,
            seq: mark.seq,
            watched: mark.watched,
            now: super::store_time(now),
            snapshot: snap,
            keys,
            summaries,
            digests,
            global,
            assets: stamps,
            patches: 0,
        };
        super::keep_state(&next, req.state_file);
        std::thread::spawn(move || drop(next));
    }
    super::prune_change_log(store, mark.seq);
    phase("state kept");
    let (written, unchanged) = match &committed {
        Some(c) => (c.written, c.unchanged),
        None => (0, pages_total + assets.len()),
    };
    Ok(Ok(BuildSummary {
        pages: pages_total,
        rendered,
        written,
        unchanged,
        removed: 0,
        seconds: 0.0,
        out: out.to_path_buf(),
        warnings,
    }))
}

/// Asks the store what changed since the kept state: the rows of the changed posts the site
/// shows and their ids, or why that cannot be told.
#[allow(clippy::type_complexity)]
fn read_changes(
    settings: &Settings,
    opts: &BuildOptions,
    store: &mut Store,
    now: chrono::DateTime<chrono::Utc>,
    kept: &BuildState,
) -> Result<(
    std::result::Result<(SiteRows, Vec<i64>, HashMap<i64, String>), String>,
    ChangeMark,
)> {
    let cannot_read = || format!("{}: cannot read the site", settings.store.display());
    let reader = SiteReader::begin(store.raw_conn_mut()).with_context(cannot_read)?;
    let mark = changes::mark(reader.conn()).with_context(cannot_read)?;
    let since = ChangeMark {
        seq: kept.seq,
        watched: kept.watched,
    };
    let now_text = super::store_time(now);
    let rows = match changes::since(reader.conn(), &since, &kept.now, &now_text, MOST_POSTS)
        .with_context(cannot_read)?
    {
        Changes::Everything(why) => Err(why),
        Changes::Posts(ids) => {
            let q = SiteQuery {
                drafts: opts.drafts,
                now: now_text,
            };
            let rows = reader.rows_of(&q, &ids).with_context(cannot_read)?;
            // Their markdown now, in the same read: a post changed after it would not
            // match the row's content hash.
            let shown: Vec<i64> = rows.posts.iter().map(|p| p.id).collect();
            let contents = reader.contents(&shown).with_context(cannot_read)?;
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
        .filter(|(_, p)| wanted.contains(&p.id))
        .map(|(i, p)| (p.id, i))
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
        let author_id = row.author_id;
        let mut p = Post::from_row(row, &snap.site, now)
            .map_err(|e| format!("post {id} cannot be read: {e:#}"))?;
        p.derive_read_time(wpm);
        let old = &snap.posts[i];
        let moved = p.slug != old.slug
            || p.dir != old.dir
            || p.path != old.path
            || p.status != old.status
            || p.scheduled != old.scheduled
            || p.date != old.date;
        if moved {
            return Err(format!("post {id} moved (date, slug or status)"));
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
        if old_author != author_id
            || old_tags != ids_of(&rows.post_tags, id)
            || old_cats != ids_of(&rows.post_categories, id)
        {
            return Err(format!("post {id} changed author, tags or categories"));
        }
        let old_aliases: Vec<&str> = snap
            .aliases
            .iter()
            .filter(|a| a.post == i)
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
