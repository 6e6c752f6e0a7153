//! `bloggo build`: store → snapshot → render (parallel) → output (atomic, incremental).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::markdown::{self, MarkdownOptions, Rendered, TocEntry};
use crate::output::{Record, Writer};
use crate::render::{self, Job, Renderer};
use crate::snapshot::Snapshot;
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

/// Where the rendered-markdown cache lives.
pub fn cache_path(settings: &Settings) -> PathBuf {
    settings.root.join(".bloggo-cache").join("markdown.json")
}

/// Builds the site: one store snapshot, every page rendered in parallel, written atomically.
pub fn build_site(settings: &Settings, opts: &BuildOptions) -> Result<BuildSummary> {
    let started = Instant::now();
    let timings = std::env::var_os("BLOGGO_TIMINGS").is_some();
    let phase = |name: &str| {
        if timings {
            eprintln!("{:>8.3} s  {name}", started.elapsed().as_secs_f64());
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

    // Templates first: a broken template fails before anything is read or written.
    let mut templates = Templates::load(settings)?;

    let mut store = Store::open(&settings.store, true)?;
    if settings.config.content.sync {
        let synced = crate::import::sync_content(settings, &mut store)
            .context("syncing content/ into the store")?;
        if !opts.quiet && synced.changed() {
            eprintln!("content: {synced}");
        }
    }
    let now = chrono::Utc::now();
    let rows = crate::store::site::load_site(
        &store.conn,
        &crate::store::site::SiteQuery {
            drafts: opts.drafts,
            now: now.format(crate::store::TIMESTAMP_FORMAT).to_string(),
        },
    )
    .with_context(|| format!("{}: cannot read the site", settings.store.display()))?;
    drop(store);
    phase("store read");
    let snap = Snapshot::build(settings, rows, &base_url, opts.drafts, now)?;
    templates.set_origin(&snap.site.origin);
    phase("snapshot");

    // Markdown, cached by content hash across builds.
    let cache_file = cache_path(settings);
    let mut cache = if opts.clean {
        MarkdownCache::default()
    } else {
        MarkdownCache::load(&cache_file)
    };
    let md = MarkdownOptions {
        smart_punctuation: settings.config.markdown.smart_punctuation,
        highlight: settings.config.markdown.highlight,
        highlight_theme: settings.config.markdown.highlight_theme.clone(),
        link_base: None,
    };
    let keys: Vec<String> = snap
        .posts
        .iter()
        .map(|p| cache_key(&p.content, &md, &p.path))
        .collect();
    phase("markdown cache load");
    let cached: Vec<Option<Rendered>> = keys.iter().map(|k| cache.take(k)).collect();
    // Nothing to save when every post came from the cache and no entry went unused.
    let cache_current = cached.iter().all(Option::is_some) && cache.entries.is_empty();
    let bodies: Vec<Rendered> = snap
        .posts
        .par_iter()
        .zip(cached)
        .map(|(p, c)| {
            c.unwrap_or_else(|| {
                let opts = MarkdownOptions {
                    link_base: Some(p.path.clone()),
                    ..md.clone()
                };
                markdown::render(&p.content, &opts)
            })
        })
        .collect();

    // Render every page and stream it into the new output folder.
    phase("markdown");
    let renderer = Renderer::new(&snap, &bodies, &templates);
    let jobs = render::jobs(&snap);
    let assets = assets(settings, &snap)?;
    phase("renderer (cards)");
    let writer = Writer::begin(&out, opts.clean)?;
    let bar = progress(jobs.len() + assets.len(), opts.quiet);
    let page_results: Vec<Result<(Record, bool), String>> = jobs
        .par_iter()
        .map(|&job| {
            let r = render_one(&renderer, &writer, job);
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
        drop(writer);
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
    let committed = writer.commit(&records)?;

    phase("committed");
    drop(renderer);
    let fresh: HashMap<String, Rendered> = keys.into_iter().zip(bodies).collect();
    if cache_current {
    } else if let Err(e) = MarkdownCache::save(&cache_file, fresh) {
        // The cache only saves time: a build that cannot write it still succeeded.
        eprintln!(
            "warning: {}: cannot write the markdown cache: {e:#}",
            cache_file.display()
        );
    }

    if timings {
        eprintln!("{rendered} of {} pages rendered", jobs.len());
    }
    Ok(BuildSummary {
        pages: jobs.len(),
        rendered,
        written: committed.written,
        unchanged: committed.unchanged,
        removed: committed.removed,
        seconds: started.elapsed().as_secs_f64(),
        out,
        warnings: snap.warnings.clone(),
    })
}

/// Renders and writes one page, or carries it over from the previous output when its
/// fingerprint is unchanged; `true` when it was rendered.
fn render_one(r: &Renderer, w: &Writer, job: Job) -> Result<(Record, bool), String> {
    let fingerprint = r.fingerprint(job);
    if let Some(f) = &fingerprint {
        let (file, _) = r.route(job);
        if let Some(rec) = w.reuse(&file, f).map_err(|e| format!("{file}: {e:#}"))? {
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
    let bytes = match src {
        StaticSource::Embedded(b) => std::borrow::Cow::Borrowed(*b),
        StaticSource::File(p) => std::borrow::Cow::Owned(std::fs::read(p).map_err(|e| {
            format!(
                "{}: cannot read ({e}); restore the file or remove it from the store",
                p.display()
            )
        })?),
    };
    w.put(file, &bytes).map_err(|e| format!("{file}: {e:#}"))
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

/// Bumped when the markdown renderer's output changes in a way old cache entries must not hide.
const CACHE_VERSION: &str = "md1";

fn cache_key(content: &str, md: &MarkdownOptions, link_base: &str) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        CACHE_VERSION,
        env!("CARGO_PKG_VERSION"),
        &md.smart_punctuation.to_string(),
        &md.highlight.to_string(),
        &md.highlight_theme,
        link_base,
        content,
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

#[derive(Serialize, Deserialize)]
struct CachedBody {
    html: String,
    toc: Vec<(u8, String, String)>,
    summary_html: Option<String>,
}

/// Rendered markdown from the previous build, by content hash.
#[derive(Default)]
struct MarkdownCache {
    entries: HashMap<String, CachedBody>,
}

impl MarkdownCache {
    fn load(path: &Path) -> MarkdownCache {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        MarkdownCache { entries }
    }

    fn take(&mut self, key: &str) -> Option<Rendered> {
        self.entries.remove(key).map(|c| Rendered {
            html: c.html,
            toc: c
                .toc
                .into_iter()
                .map(|(level, id, title)| TocEntry { level, id, title })
                .collect(),
            summary_html: c.summary_html,
        })
    }

    /// Keeps exactly this build's entries (so the cache never grows past the site).
    fn save(path: &Path, fresh: HashMap<String, Rendered>) -> Result<()> {
        let entries: HashMap<String, CachedBody> = fresh
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    CachedBody {
                        html: r.html,
                        toc: r
                            .toc
                            .into_iter()
                            .map(|t| (t.level, t.id, t.title))
                            .collect(),
                        summary_html: r.summary_html,
                    },
                )
            })
            .collect();
        let dir = path.parent().context("cache path has no folder")?;
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), &entries)?;
        tmp.persist(path)?;
        Ok(())
    }
}
