//! `bloggo build`: store → snapshot → render (parallel) → output (atomic, incremental).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

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
    settings.root.join(".bloggo-cache").join("markdown.bin")
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
    // Markdown, cached by content hash across builds.
    let cache_file = cache_path(settings);
    let mut cache = if opts.clean {
        MarkdownCache::default()
    } else {
        MarkdownCache::load(&cache_file)
    };
    phase("markdown cache load");
    // Word counts (for read times) by the markdown's hash: a full parse of every post otherwise.
    let words: Vec<([u8; 32], Option<u64>)> = rows
        .posts
        .par_iter()
        .map(|r| {
            let h = *blake3::hash(r.content.as_bytes()).as_bytes();
            let w = if r.read_time > 0 {
                None
            } else {
                Some(
                    cache
                        .words
                        .get(&h)
                        .copied()
                        .unwrap_or_else(|| markdown::word_count(&r.content) as u64),
                )
            };
            (h, w)
        })
        .collect();
    let new_words: Vec<([u8; 32], u64)> = words
        .iter()
        .filter_map(|&(h, w)| Some((h, w?)))
        .filter(|(h, w)| cache.words.get(h) != Some(w))
        .collect();
    let counts: Vec<Option<usize>> = words.iter().map(|(_, w)| w.map(|w| w as usize)).collect();
    let fresh_words: HashMap<[u8; 32], u64> = words
        .into_iter()
        .filter_map(|(h, w)| Some((h, w?)))
        .collect();
    let snap = Snapshot::build(settings, rows, &counts, &base_url, opts.drafts, now)?;
    templates.set_origin(&snap.site.origin);
    phase("snapshot");

    let md = MarkdownOptions {
        smart_punctuation: settings.config.markdown.smart_punctuation,
        highlight: settings.config.markdown.highlight,
        highlight_theme: settings.config.markdown.highlight_theme.clone(),
        link_base: None,
    };
    let keys: Vec<[u8; 32]> = snap
        .posts
        .par_iter()
        .map(|p| cache_key(&p.content, &md, &p.path))
        .collect();
    let cached: Vec<Option<Rendered>> = keys.iter().map(|k| cache.take(k)).collect();
    // Nothing to save when every post came from the cache and no entry went unused.
    let hits: Vec<bool> = cached.iter().map(Option::is_some).collect();
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
    let fresh: Vec<([u8; 32], &Rendered)> = keys.into_iter().zip(&bodies).collect();
    let new_bodies: Vec<([u8; 32], &Rendered)> = fresh
        .iter()
        .zip(&hits)
        .filter(|(_, hit)| !**hit)
        .map(|(e, _)| *e)
        .collect();
    // The JSON cache of earlier versions is not read any more.
    let _ = std::fs::remove_file(cache_file.with_file_name("markdown.json"));
    let live = fresh_words.len() + fresh.len();
    let added = new_words.len() + new_bodies.len();
    let saved = if cache.appendable && cache.records + added <= 2 * live {
        if added == 0 {
            Ok(())
        } else {
            MarkdownCache::append(&cache_file, &new_words, &new_bodies)
        }
    } else {
        let all_words: Vec<([u8; 32], u64)> = fresh_words.into_iter().collect();
        MarkdownCache::save(&cache_file, &all_words, &fresh)
    };
    if let Err(e) = saved {
        // The cache only saves time: a build that cannot write it still succeeded.
        eprintln!(
            "warning: {}: cannot write the markdown cache: {e:#}",
            cache_file.display()
        );
    }
    if timings {
        eprintln!(
            "{:>8.3} s  markdown cache saved ({added} new records)",
            started.elapsed().as_secs_f64()
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

fn cache_key(content: &str, md: &MarkdownOptions, link_base: &str) -> [u8; 32] {
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
    *h.finalize().as_bytes()
}

/// Rendered markdown and word counts from earlier builds: bodies by [`cache_key`], word
/// counts by the BLAKE3 of the markdown. Stored as one file of length-prefixed binary records
/// (fast to read whole, no parsing of escaped text). A build that renders a few posts appends
/// their records (a later record wins); the file is rewritten with only the site's entries
/// when it holds more stale records than live ones, or was damaged.
#[derive(Default)]
struct MarkdownCache {
    entries: HashMap<[u8; 32], Rendered>,
    words: HashMap<[u8; 32], u64>,
    /// Records in the file.
    records: usize,
    /// The file was read and is sound (so records may be appended to it).
    appendable: bool,
}

const WORDS_RECORD: u8 = 1;
const BODY_RECORD: u8 = 2;

const CACHE_MAGIC: &[u8] = b"bloggo-markdown-cache-3\n";

/// Reads the cache file's records; `None` on any damage (the cache is then rebuilt).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn key(&mut self) -> Option<[u8; 32]> {
        self.bytes(32)?.try_into().ok()
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.u64()?).ok()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
}

impl MarkdownCache {
    fn load(path: &Path) -> MarkdownCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| MarkdownCache::parse(&b))
            .unwrap_or_default()
    }

    /// The records of a cache file; `None` when it is not one. Records after a damaged one
    /// (an append cut short) are dropped, and the file is then rewritten on the next save.
    fn parse(b: &[u8]) -> Option<MarkdownCache> {
        let mut r = Reader(b.strip_prefix(CACHE_MAGIC)?);
        let mut c = MarkdownCache {
            appendable: true,
            ..MarkdownCache::default()
        };
        while !r.0.is_empty() {
            if c.read_record(&mut r).is_none() {
                c.appendable = false;
                break;
            }
            c.records += 1;
        }
        Some(c)
    }

    fn read_record(&mut self, r: &mut Reader) -> Option<()> {
        let tag = r.bytes(1)?[0];
        let key = r.key()?;
        match tag {
            WORDS_RECORD => {
                let words = r.u64()?;
                self.words.insert(key, words);
            }
            BODY_RECORD => {
                let html = r.string()?;
                let summary_html = match r.bytes(1)?[0] {
                    0 => None,
                    _ => Some(r.string()?),
                };
                let mut toc = Vec::new();
                for _ in 0..r.u64()? {
                    let level = r.bytes(1)?[0];
                    toc.push(TocEntry {
                        level,
                        id: r.string()?,
                        title: r.string()?,
                    });
                }
                let body = Rendered {
                    html,
                    toc,
                    summary_html,
                };
                self.entries.insert(key, body);
            }
            _ => return None,
        }
        Some(())
    }

    fn encode(
        out: &mut impl std::io::Write,
        words: &[([u8; 32], u64)],
        bodies: &[([u8; 32], &Rendered)],
    ) -> std::io::Result<()> {
        fn text(out: &mut impl std::io::Write, s: &str) -> std::io::Result<()> {
            out.write_all(&(s.len() as u64).to_le_bytes())?;
            out.write_all(s.as_bytes())
        }
        for (k, w) in words {
            out.write_all(&[WORDS_RECORD])?;
            out.write_all(k)?;
            out.write_all(&w.to_le_bytes())?;
        }
        for (k, r) in bodies {
            out.write_all(&[BODY_RECORD])?;
            out.write_all(k)?;
            text(out, &r.html)?;
            match &r.summary_html {
                None => out.write_all(&[0])?,
                Some(s) => {
                    out.write_all(&[1])?;
                    text(out, s)?;
                }
            }
            out.write_all(&(r.toc.len() as u64).to_le_bytes())?;
            for t in &r.toc {
                out.write_all(&[t.level])?;
                text(out, &t.id)?;
                text(out, &t.title)?;
            }
        }
        Ok(())
    }

    fn take(&mut self, key: &[u8; 32]) -> Option<Rendered> {
        self.entries.remove(key)
    }

    /// Keeps exactly this build's entries (so the cache never grows past the site).
    fn save(
        path: &Path,
        words: &[([u8; 32], u64)],
        bodies: &[([u8; 32], &Rendered)],
    ) -> Result<()> {
        let dir = path.parent().context("cache path has no folder")?;
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut out = std::io::BufWriter::new(tmp.as_file_mut());
            std::io::Write::write_all(&mut out, CACHE_MAGIC)?;
            MarkdownCache::encode(&mut out, words, bodies)?;
            std::io::Write::flush(&mut out)?;
        }
        tmp.persist(path)?;
        Ok(())
    }

    /// Adds records to the end of the file, in one write.
    fn append(
        path: &Path,
        words: &[([u8; 32], u64)],
        bodies: &[([u8; 32], &Rendered)],
    ) -> Result<()> {
        let mut out = Vec::new();
        MarkdownCache::encode(&mut out, words, bodies)?;
        let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
        std::io::Write::write_all(&mut f, &out)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_cache_round_trips_and_a_damaged_one_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("c/markdown.bin");
        let body = Rendered {
            html: "<p>é</p>".into(),
            toc: vec![TocEntry {
                level: 2,
                id: "a".into(),
                title: "A".into(),
            }],
            summary_html: Some("<p>s</p>".into()),
        };
        let plain = Rendered {
            html: String::new(),
            toc: Vec::new(),
            summary_html: None,
        };
        MarkdownCache::save(&path, &[([7; 32], 42)], &[([1; 32], &body)]).unwrap();
        MarkdownCache::append(&path, &[([7; 32], 43)], &[([2; 32], &plain)]).unwrap();
        let mut c = MarkdownCache::load(&path);
        assert_eq!(c.words, HashMap::from([([7; 32], 43)]));
        assert!(c.appendable);
        assert_eq!(c.records, 4);
        let got = c.take(&[1; 32]).unwrap();
        assert_eq!(
            (got.html, got.toc, got.summary_html),
            (body.html, body.toc, body.summary_html)
        );
        assert!(c.take(&[2; 32]).unwrap().summary_html.is_none());
        // An append cut short loses only its own record, and the file is then rewritten.
        let bytes = std::fs::read(&path).unwrap();
        let cut = MarkdownCache::parse(&bytes[..bytes.len() - 1]).unwrap();
        assert!(!cut.appendable);
        assert_eq!(cut.records, 3);
        assert!(cut.entries.contains_key(&[1; 32]) && !cut.entries.contains_key(&[2; 32]));
        assert!(MarkdownCache::parse(b"{}").is_none());
    }
}
