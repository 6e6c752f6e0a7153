//! Import: markdown folders (Jekyll, Hugo, Zola, plain notes) → the store.
//!
//! The pipeline: walk the folder (`media::discover`) → read and hash every file and parse the
//! changed ones in parallel (`parse_file`, pure) → one writer in one transaction
//! (`store::posts::Writer`) → media installed → commit. Any problem in any file stops the
//! import before anything is written, with every problem listed as `path:line: what`.
//!
//! `sync_content` runs the same pipeline on the site's `content/` folder at the start of
//! `build` and `serve`.
//!
//! With `ImportOptions::report`, the writer also keeps a row per post added or changed (its
//! URL and what set it, where its date came from, …) for `import --report` (see `report`).

mod constructs;
pub mod media;
pub mod report;
pub mod sections;
pub mod site;
mod sync;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::{Settings, Timezone};
use crate::frontmatter::{ParseContext, Problem};
use crate::model::{AuthorRef, PostFields, PostKind, PostStatus, Timestamp};
use crate::store::posts::{
    FileRecord, History, ImportTx, IndexedPost, Outcome, Save, WriteError, Writer,
};
use crate::store::Store;

pub use sync::sync_content;

/// An import refused because of bad files; the store was left as it was.
#[derive(Debug, thiserror::Error)]
pub struct ImportError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} found; nothing was imported (fix the files and run the import again):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Work out and report every change, then roll back (and copy no media).
    pub dry_run: bool,
    /// Soft-delete posts whose source file (under the imported folder) is gone.
    pub prune: bool,
    /// Give every imported post this status.
    pub status: Option<PostStatus>,
    /// Show a progress bar (drawn only when stderr is a terminal).
    pub progress: bool,
    /// Only these top-level folders of the imported folder (a Jekyll site's `_posts` and
    /// `_drafts`); all of it when empty. Pruning looks at them alone too.
    pub only: Vec<String>,
    /// How the folder's sections are found (see [`sections::Rules`]).
    pub sections: sections::Rules,
    /// The files at the top of the folder are standalone pages (a Hugo site's content root).
    pub root_pages: bool,
    /// Slugs made from file names lose their dots, as Zola's do (see `ParseContext`).
    pub dotless_slugs: bool,
    /// A multilingual Hugo or Zola site's languages: other languages' translation files
    /// (`post.de.md`) are left out, the default language's (`post.en.md`) are the post
    /// `post`. `None` for any other folder, whose names are taken as they are.
    pub languages: Option<media::Languages>,
    /// Gather a [`report::PostReport`] per post added or changed (`import --report`).
    pub report: bool,
}

/// One markdown file, read: everything the store needs, nothing resolved to ids yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPost {
    pub source_path: String,
    pub fields: PostFields,
    /// Things read with a fallback (printed, never silent).
    pub warnings: Vec<Problem>,
    /// Where the date came from.
    pub date_source: crate::frontmatter::DateSource,
    /// The key that gave the post its own URL (`path`, `permalink`, `url`), if one did.
    pub path_key: Option<&'static str>,
    /// The constructs bloggo does not run, left as text (named in a warning too).
    pub left_as_text: Vec<String>,
}

/// Parses one markdown file: front matter (YAML or TOML), the derived fields, every problem.
/// Pure (no IO), so it can be fuzzed; `rel_path` names the file in problems and gives the
/// slug and date when the front matter has none.
pub fn parse_file(
    rel_path: &str,
    bytes: &[u8],
    ctx: &ParseContext,
) -> Result<ParsedPost, Vec<Problem>> {
    let read = crate::frontmatter::read(rel_path, bytes, ctx)?;
    let mut warnings = read.warnings;
    let found = constructs::scan(bytes, &read.fields.content);
    warnings.extend(constructs::warning(rel_path, &found));
    Ok(ParsedPost {
        source_path: rel_path.to_string(),
        fields: read.fields,
        warnings,
        date_source: read.date_source,
        path_key: read.path_key,
        left_as_text: found.into_iter().map(|(name, _)| name).collect(),
    })
}

/// What kind of change an import made to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    New,
    Updated,
    Deleted,
}

/// One post an import added, changed or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// The source file (as stored in `posts.source_path`).
    pub path: String,
}

/// Counts of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
    /// Of the skipped files, the translations left out, per language code.
    pub translations: BTreeMap<String, usize>,
    pub deleted: usize,
    pub seconds: f64,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub warnings: Vec<Problem>,
    /// The sections the import wrote (new or changed), by key.
    pub sections: Vec<String>,
    /// Sections deleted by `--prune` (their `_index.md` is gone).
    pub sections_deleted: Vec<String>,
    /// With [`ImportOptions::report`]: how each post added or changed was mapped.
    pub report: Vec<report::PostReport>,
}

impl ImportSummary {
    /// True when the store was (or, in a dry run, would be) changed.
    pub fn changed(&self) -> bool {
        self.new + self.updated + self.deleted > 0
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} new, {} updated, {} unchanged, {} skipped",
            self.new, self.updated, self.unchanged, self.skipped
        )?;
        if !self.translations.is_empty() {
            let per: Vec<String> = self
                .translations
                .iter()
                .map(|(lang, n)| format!("{n} {lang}"))
                .collect();
            write!(f, " (translations left out: {})", per.join(", "))?;
        }
        if self.deleted > 0 {
            write!(f, ", {} deleted", self.deleted)?;
        }
        write!(f, " in {:.2} s", self.seconds)?;
        if self.dry_run {
            f.write_str(" (dry run: nothing was written)")?;
        }
        Ok(())
    }
}

/// Imports a folder of markdown into the store in one transaction (see the module docs).
/// Problems in files come back as an `ImportError` (downcast to list them); warnings are
/// printed to stderr and kept in the summary.
pub fn import_dir(
    settings: &Settings,
    store: &mut Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary> {
    if !path.is_dir() {
        bail!(
            "{}: not a folder; give the folder that holds the markdown posts (a Jekyll site's _posts, a Hugo or Zola content/)",
            path.display()
        );
    }
    run(settings, store, path, opts, true)
}

/// Imports what `path` holds: a Jekyll, Hugo or Zola site's root (recognised by its config,
/// see [`site::detect`]) brings in its posts folder; any other folder is imported as it is.
/// A site's settings are then taken over into `bloggo.toml` where the writer has not chosen
/// their own (nothing is written on a dry run).
pub fn import_path(
    settings: &Settings,
    store: &mut Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<SiteImport> {
    let profile = if path.is_dir() {
        site::detect(path)?
    } else {
        None
    };
    let folder = profile.as_ref().map_or(path, |p| p.posts.as_path());
    if profile.is_some() && !folder.is_dir() {
        bail!(
            "{}: the site's posts folder is missing; import the folder that holds its posts instead",
            folder.display()
        );
    }
    // What the import takes over below, where bloggo.toml has none: the site's time zone (its
    // dates without an offset, and its permalinks' dates, are read in it) and its URL
    // patterns (what URLs must be unique is checked with them).
    let adopted;
    let settings = match &profile {
        Some(p) => {
            adopted = adopt(settings, p);
            &adopted
        }
        None => settings,
    };
    // One import, all or nothing: a Jekyll site's `_posts` and `_drafts` together (a draft's
    // folder makes it a draft). A Hugo site's top-level folders are sections, and its other
    // languages are left out; a folder that is no site's root may be one section's folder
    // (see `sections::Rules`).
    let mut run_opts = opts.clone();
    match &profile {
        Some(p) => {
            if !p.only.is_empty() {
                run_opts.only = p.only.clone();
            }
            run_opts.languages = p.languages.clone();
            // Zola and Hugo both place a top-level folder's posts under its name; Hugo's
            // files beside those folders are its standalone pages (`about.md`).
            run_opts.sections.top_level = p.generator != site::Generator::Jekyll;
            run_opts.sections.folders_in_urls = p.generator != site::Generator::Jekyll;
            run_opts.sections.named = p.collections.clone();
            run_opts.root_pages = p.generator == site::Generator::Hugo;
            run_opts.dotless_slugs = p.generator == site::Generator::Zola;
        }
        None => run_opts.sections.root_section = section_key_of(folder),
    }
    let opts = &run_opts;
    let mut summary = import_dir(settings, store, folder, opts)?;
    // The report names files relative to `path` (a site's `content/blog/x.md`).
    if let Ok(below) = folder.strip_prefix(path) {
        let prefix: Vec<String> = below
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if !prefix.is_empty() {
            for r in &mut summary.report {
                r.source = format!("{}/{}", prefix.join("/"), r.source);
            }
        }
    }
    let taken_over = match &profile {
        Some(p) => crate::config_edit::take_over(&settings.root, &p.settings(), opts.dry_run)?,
        None => Vec::new(),
    };
    Ok(SiteImport {
        profile,
        summary,
        taken_over,
    })
}

/// `settings` with what a site's profile brings where `bloggo.toml` sets nothing: its time
/// zone and URL patterns (as `config_edit::take_over` will write them).
fn adopt(settings: &Settings, profile: &site::SiteProfile) -> Settings {
    let mut out = settings.clone();
    if let Some(zone) = profile.timezone.as_deref() {
        if settings.config.timezone.is_none() {
            if let Ok(t) = Timezone::parse(zone) {
                out.timezone = t;
            }
        }
    }
    for (key, text) in &profile.permalinks {
        let Ok(pattern) = crate::permalinks::Pattern::parse(text) else {
            continue;
        };
        let c = &settings.config;
        if key == "posts" {
            if c.permalinks.posts.is_some() || c.urls.posts.is_some() {
                continue;
            }
            out.post_pattern = pattern.clone();
        }
        out.section_patterns.entry(key.clone()).or_insert(pattern);
    }
    out
}

/// The section key a folder would have as a lone section (see `sections::Rules`): its path
/// below the content folder of the site it is in (`content/sub-blog/rust` of a Zola site →
/// `sub-blog/rust`), else its name; `None` for a site's content folder itself.
fn section_key_of(folder: &Path) -> Option<String> {
    let folder = std::fs::canonicalize(folder).ok()?;
    for content in folder.ancestors() {
        let Some(root) = content.parent() else { break };
        let is_content = matches!(site::detect(root), Ok(Some(p))
            if std::fs::canonicalize(&p.posts).is_ok_and(|c| c == content));
        if is_content {
            let rel = folder.strip_prefix(content).ok()?;
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            return (!key.is_empty()).then(|| key.join("/"));
        }
    }
    folder.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// What [`import_path`] did.
#[derive(Debug)]
pub struct SiteImport {
    /// The site's profile, when `path` was a site's root.
    pub profile: Option<site::SiteProfile>,
    pub summary: ImportSummary,
    /// The settings taken over into `bloggo.toml` (or kept).
    pub taken_over: Vec<crate::config_edit::Outcome>,
}

/// How posts' `source_path` begins for files under `root`: relative to the site folder when
/// inside it (`content/`), else the folder's absolute path.
pub(super) fn source_scope(settings: &Settings, root: &Path) -> Result<String> {
    let root_abs =
        std::fs::canonicalize(root).with_context(|| format!("{}: cannot read", root.display()))?;
    let site_abs = std::fs::canonicalize(&settings.root)
        .with_context(|| format!("{}: cannot read", settings.root.display()))?;
    let prefix = match root_abs.strip_prefix(&site_abs) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => root_abs.to_string_lossy().into_owned(),
    };
    Ok(if prefix.is_empty() || prefix.ends_with('/') {
        prefix
    } else {
        format!("{prefix}/")
    })
}

/// A file after the parallel stage.
enum Staged {
    Unchanged {
        /// The output file of its page.
        url: String,
    },
    Parsed {
        post: Box<ParsedPost>,
        hash: String,
        /// `store::content_hash` of the post's markdown, worked out here, off the writer.
        content_hash: String,
    },
    Failed(Vec<Problem>),
    /// Not a post (a Zola file holding only `template = "…"`): counted as skipped, with a
    /// warning naming the file.
    Skipped(Problem),
}

/// Why a parsed file is not imported: a Zola placeholder whose front matter names a template
/// and whose body is empty would be an empty published post.
fn not_a_post(post: &ParsedPost) -> Option<Problem> {
    let f = &post.fields;
    let template = f.extra.get("template")?.as_str()?;
    f.content.trim().is_empty().then(|| {
        Problem::at(
            &post.source_path,
            None,
            format!(
                "skipped: it holds only `template = {template:?}` and no text (a page of the old site's theme, not a post); add a body to import it as a page"
            ),
        )
    })
}

/// Reads, hashes and (when changed) parses one file.
fn stage(
    settings: &Settings,
    file: &media::SourceFile,
    (section, folder): (Option<&str>, Option<String>),
    known: Option<&&IndexedPost>,
    ctx: &ParseContext,
) -> Staged {
    use std::io::Read;
    let fail = |msg: String| Staged::Failed(vec![Problem::at(&file.rel, None, msg)]);
    // One open: the size check, the modification time and the bytes all come from it.
    let mut handle = match std::fs::File::open(&file.abs) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    let meta = match handle.metadata() {
        Ok(m) => m,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    if meta.len() > ctx.max_file_size {
        return Staged::Failed(vec![Problem::new(
            &file.rel,
            1,
            format!(
                "the file is {} bytes, more than [content] max_file_size = {}; split it or raise the limit in bloggo.toml",
                meta.len(),
                ctx.max_file_size
            ),
        )]);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    if let Err(e) = handle.read_to_end(&mut bytes) {
        return fail(format!("cannot read: {e}"));
    }
    drop(handle);
    // A bundle's hash covers its media too, so a changed image re-imports the post.
    let hash = if file.media.is_empty() {
        crate::fsx::sha256_hex(&bytes)
    } else {
        let mut h = Sha256::new();
        h.update(&bytes);
        for m in &file.media {
            match std::fs::read(&m.abs) {
                Ok(b) => {
                    h.update(m.rel.as_bytes());
                    h.update([0]);
                    h.update(Sha256::digest(&b));
                }
                Err(e) => return fail(format!("cannot read the bundle file {}: {e}", m.rel)),
            }
        }
        crate::fsx::hex(&h.finalize())
    };
    if let Some(p) = known {
        let same_status = ctx.forced_status.is_none_or(|s| s == p.status);
        // A post deleted in the store stays deleted while its file is unchanged (prune clears
        // the hash, so a file that comes back restores its post).
        // A post whose folder became (or stopped being) a section moves: it is written again.
        let same_section = p.section.as_deref() == section;
        if p.source_hash.as_deref() == Some(hash.as_str()) && same_status && same_section {
            return Staged::Unchanged {
                url: indexed_file(settings, p),
            };
        }
    }
    let mut ctx = ctx.clone();
    ctx.file_time = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)
        .and_then(|d| chrono::DateTime::from_timestamp(d.timestamp(), 0));
    match parse_file(&file.rel, &bytes, &ctx) {
        Ok(mut post) => match not_a_post(&post) {
            Some(why) => Staged::Skipped(why),
            None => Staged::Parsed {
                content_hash: {
                    put_in_section(settings, &mut post.fields, section, folder);
                    crate::store::content_hash(&post.fields.content)
                },
                post: Box::new(post),
                hash,
            },
        },
        Err(problems) => Staged::Failed(problems),
    }
}

/// Puts a post read from a file in its section; a post whose URL keeps folders its section's
/// pattern does not give (Zola's and Hugo's `blog/2020/x.md` in the section `blog`) gets them
/// as its own path, `/blog/2020/:slug/`, unless a `[permalinks]` pattern of its section (or
/// its own `path`) places it.
fn put_in_section(
    settings: &Settings,
    f: &mut PostFields,
    section: Option<&str>,
    folder: Option<String>,
) {
    f.section = section.map(str::to_string);
    let patterned = settings
        .section_patterns
        .contains_key(section.unwrap_or("posts"));
    if let Some(folder) = folder {
        if f.path.is_none() && f.kind == PostKind::Post && !patterned {
            f.path = Some(format!("/{folder}/:slug/"));
        }
    }
}

/// Where the page of a post read from a file goes (URLs are compared by its output file:
/// `/a/` and `/a/index.html` are one page), and, when `with_source` (an import report), what
/// put it there (`None`: its own path).
fn fields_place(
    settings: &Settings,
    f: &PostFields,
    with_source: bool,
) -> (crate::permalinks::Location, Option<report::UrlSource>) {
    let date = f.published_at.unwrap_or_else(Timestamp::now);
    let cats = crate::permalinks::categories_value(
        f.categories
            .iter()
            .map(|c| c.names().iter().map(String::as_str)),
    );
    let keys = keys(
        settings,
        &f.slug,
        &f.title,
        date,
        &cats,
        f.section.as_deref(),
    );
    let own = f.path.as_deref();
    let source = if with_source {
        url_source(settings, &keys, own, f.kind)
    } else {
        None
    };
    (location(settings, &keys, own, f.kind), source)
}

/// The output file of the page of a post in the store.
fn indexed_file(settings: &Settings, p: &IndexedPost) -> String {
    let cats = crate::permalinks::categories_value(
        p.categories.iter().map(|c| c.iter().map(String::as_str)),
    );
    let keys = keys(
        settings,
        &p.slug,
        &p.title,
        p.date,
        &cats,
        p.section.as_deref(),
    );
    page_file(settings, &keys, p.path.as_deref(), p.kind)
}

/// What a post gives the URL patterns.
fn keys<'a>(
    settings: &Settings,
    slug: &'a str,
    title: &'a str,
    date: Timestamp,
    categories: &'a str,
    section: Option<&'a str>,
) -> crate::permalinks::Keys<'a> {
    crate::permalinks::Keys {
        date: crate::permalinks::local_date(date.utc(), &settings.timezone),
        slug,
        title,
        categories,
        section: section.unwrap_or(""),
    }
}

fn page_file(
    settings: &Settings,
    keys: &crate::permalinks::Keys,
    own: Option<&str>,
    kind: PostKind,
) -> String {
    location(settings, keys, own, kind).file
}

/// The section of `keys` (`None` for a post in none).
fn section_of<'a>(keys: &crate::permalinks::Keys<'a>) -> Option<&'a str> {
    Some(keys.section).filter(|s| !s.is_empty())
}

/// Where a post goes: `permalinks::locate` with the pattern of its kind and section. What
/// every import computes for every post (the store's too, for the URL check), so it borrows
/// the site's pattern and builds nothing for the report.
fn location(
    settings: &Settings,
    keys: &crate::permalinks::Keys,
    own: Option<&str>,
    kind: PostKind,
) -> crate::permalinks::Location {
    match kind {
        PostKind::Post => {
            let pattern = crate::permalinks::pattern_of(
                &settings.post_pattern,
                &settings.section_patterns,
                section_of(keys),
            );
            crate::permalinks::locate(&pattern, own, keys)
        }
        PostKind::Page => crate::permalinks::locate(&crate::snapshot::page_pattern(), own, keys),
    }
}

/// What puts a post where [`location`] puts it, for the import report: `None` for its own
/// path, else the pattern's source (bloggo's default when the pattern leaves no path, as
/// `permalinks::locate` falls back).
fn url_source(
    settings: &Settings,
    keys: &crate::permalinks::Keys,
    own: Option<&str>,
    kind: PostKind,
) -> Option<report::UrlSource> {
    use crate::permalinks::Pattern;
    use report::UrlSource;
    if own
        .and_then(|text| Pattern::parse(text).ok()?.expand(keys))
        .is_some()
    {
        return None;
    }
    let section = section_of(keys);
    let (pattern, source) = match kind {
        PostKind::Post => {
            let pattern = crate::permalinks::pattern_of(
                &settings.post_pattern,
                &settings.section_patterns,
                section,
            );
            let text = pattern.to_string();
            let default = crate::permalinks::default_pattern(
                settings.config.urls.posts.as_deref().unwrap_or("posts"),
            );
            let source = match section {
                Some(s) if settings.section_patterns.contains_key(s) => UrlSource::Permalinks {
                    key: s.to_string(),
                    pattern: text,
                },
                Some(_) => UrlSource::SectionDefault { pattern: text },
                None if settings.config.permalinks.posts.is_some() || *pattern != default => {
                    UrlSource::Permalinks {
                        key: "posts".into(),
                        pattern: text,
                    }
                }
                None => UrlSource::Default { pattern: text },
            };
            (pattern.into_owned(), source)
        }
        PostKind::Page => {
            let pattern = crate::snapshot::page_pattern();
            let text = pattern.to_string();
            (pattern, UrlSource::Default { pattern: text })
        }
    };
    Some(match pattern.expand(keys) {
        Some(_) => source,
        None => UrlSource::Default {
            pattern: crate::permalinks::default_pattern("posts").to_string(),
        },
    })
}

/// Where a post goes and what put it there (see [`location`] and [`url_source`]).
#[cfg(test)]
fn place(
    settings: &Settings,
    keys: &crate::permalinks::Keys,
    own: Option<&str>,
    kind: PostKind,
) -> (crate::permalinks::Location, Option<report::UrlSource>) {
    (
        location(settings, keys, own, kind),
        url_source(settings, keys, own, kind),
    )
}

/// The URL path (below the site root) of a page's output file, for messages.
fn url_of(file: &str) -> String {
    match file.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{file}"),
    }
}

/// Files parsed together while the writer stores the previous batch.
const BATCH: usize = 256;

/// The writer's side of an import: one file at a time, in file-name order.
struct Apply<'a, 'c> {
    settings: &'a Settings,
    shown: &'a dyn Fn(&str) -> String,
    by_path: &'a HashMap<&'a str, &'a IndexedPost>,
    /// Posts by the output file of their page (see `page_file`).
    by_url: &'a HashMap<String, &'a IndexedPost>,
    default_author: Option<AuthorRef>,
    w: Writer<'c>,
    summary: ImportSummary,
    problems: Vec<Problem>,
    /// The output file of a page → the file whose post it is (duplicates name both files).
    urls: HashMap<String, &'a str>,
    copies: Vec<(std::path::PathBuf, std::path::PathBuf)>,
    /// Gather a report row per post added or changed.
    report: bool,
}

impl<'a, 'c> Apply<'a, 'c> {
    fn file(&mut self, f: &'a media::SourceFile, key: &str, staged: Staged) -> Result<()> {
        let shown = self.shown;
        let mut row = None;
        let url = match &staged {
            Staged::Failed(ps) => {
                self.problems.extend(ps.iter().map(|p| Problem {
                    path: shown(&p.path),
                    ..p.clone()
                }));
                return Ok(());
            }
            Staged::Skipped(why) => {
                self.summary.skipped += 1;
                self.summary.warnings.push(Problem {
                    path: shown(&why.path),
                    ..why.clone()
                });
                return Ok(());
            }
            Staged::Unchanged { url } => url.clone(),
            Staged::Parsed { post, .. } => {
                self.summary
                    .warnings
                    .extend(post.warnings.iter().map(|p| Problem {
                        path: shown(&p.path),
                        ..p.clone()
                    }));
                let (at, source) = fields_place(self.settings, &post.fields, self.report);
                row = self.report.then(|| report::PostReport {
                    source: f.rel.clone(),
                    change: ChangeKind::New,
                    url: format!("/{}", at.url),
                    url_source: source.unwrap_or(report::UrlSource::OwnKey {
                        key: post.path_key.unwrap_or("path"),
                    }),
                    section: post.fields.section.clone(),
                    kind: post.fields.kind,
                    date_source: post.date_source,
                    aliases: post.fields.aliases.len(),
                    left_as_text: post.left_as_text.clone(),
                });
                at.file
            }
        };
        if let Some(other) = self.urls.insert(url.clone(), &f.rel) {
            self.problems.push(Problem::new(
                &shown(&f.rel),
                1,
                format!(
                    "its URL {} is also the URL of {}; give one of them another `slug:` or `path:`",
                    url_of(&url),
                    shown(other)
                ),
            ));
        }
        match staged {
            Staged::Parsed {
                post,
                hash,
                content_hash,
            } if self.problems.is_empty() => {
                let change = self.write(f, key, *post, hash, &content_hash, &url)?;
                if let (Some(change), Some(row)) = (change, row) {
                    self.summary
                        .report
                        .push(report::PostReport { change, ..row });
                }
                Ok(())
            }
            Staged::Unchanged { .. } => {
                self.summary.unchanged += 1;
                Ok(())
            }
            // After a problem nothing more is written (it will be rolled back anyway).
            _ => Ok(()),
        }
    }

    /// Writes one parsed post; the change it made, if any.
    fn write(
        &mut self,
        f: &media::SourceFile,
        key: &str,
        post: ParsedPost,
        hash: String,
        content_hash: &str,
        url: &str,
    ) -> Result<Option<ChangeKind>> {
        let shown = self.shown;
        let fields = &post.fields;
        // The post of this file, else the post at this URL (the same post imported from
        // another folder); never a post that merely shares the slug.
        let target = match (self.by_path.get(key), self.by_url.get(url)) {
            (Some(a), Some(b)) if a.id != b.id => {
                self.problems.push(Problem::new(
                    &shown(&f.rel),
                    1,
                    format!(
                        "its URL {} is taken by another post ({}); give this one another `slug:` or `path:`",
                        url_of(url),
                        b.source_path.as_deref().unwrap_or("made in the store")
                    ),
                ));
                return Ok(None);
            }
            (a, b) => a.or(b).map(|p| p.id),
        };
        let w = &mut self.w;
        let mut author_id = None;
        for a in fields.authors.iter().chain(
            self.default_author
                .iter()
                .filter(|_| fields.authors.is_empty()),
        ) {
            let id = w.author(&a.name, a.email.as_deref())?;
            author_id = author_id.or(Some(id));
        }
        let mut files = Vec::with_capacity(f.media.len());
        // Media wait under `media/<slug>/`; when slugs need not be unique (a pattern of its
        // own, a post's own path), under the folder of the post's URL, which is.
        let folder = if self.settings.config.permalinks.posts.is_none()
            && fields.path.is_none()
            && fields.section.is_none()
        {
            fields.slug.clone()
        } else {
            let stem = url.strip_suffix("/index.html");
            stem.or_else(|| url.strip_suffix(".html"))
                .unwrap_or(url)
                .to_string()
        };
        for m in &f.media {
            let dest = self.settings.media.join(&folder).join(&m.rel);
            let file_path = match dest.strip_prefix(&self.settings.root) {
                Ok(p) => p
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
                Err(_) => dest.display().to_string(),
            };
            let size = std::fs::metadata(&m.abs)
                .with_context(|| format!("{}: cannot read", m.abs.display()))?
                .len();
            let rec = FileRecord {
                filename: m.rel.rsplit('/').next().unwrap_or(&m.rel).to_string(),
                original_name: m.rel.clone(),
                file_path,
                file_size: size as i64,
                mime_type: mime_guess::from_path(&m.abs)
                    .first_or_octet_stream()
                    .to_string(),
                uploaded_by: author_id,
            };
            files.push(w.file(&rec)?);
            self.copies.push((m.abs.clone(), dest));
        }
        let save = Save {
            target,
            fields,
            author_id,
            source_path: Some(key.to_string()),
            source_hash: Some(hash),
            content_hash: content_hash.to_string(),
            files: Some(files),
            history: History::KeepPrevious,
        };
        let change = |kind| Change {
            kind,
            path: key.to_string(),
        };
        match w.save(&save) {
            Ok(Outcome::New(_)) => {
                self.summary.new += 1;
                self.summary.changes.push(change(ChangeKind::New));
                Ok(Some(ChangeKind::New))
            }
            Ok(Outcome::Updated(_)) => {
                self.summary.updated += 1;
                self.summary.changes.push(change(ChangeKind::Updated));
                Ok(Some(ChangeKind::Updated))
            }
            Ok(Outcome::Unchanged(_)) => {
                self.summary.unchanged += 1;
                Ok(None)
            }
            Err(WriteError::AliasTaken { path, other }) => {
                self.problems.push(Problem::new(
                    &shown(&f.rel),
                    1,
                    format!("the alias {path} already belongs to the post {other:?}; remove it from one of them"),
                ));
                Ok(None)
            }
            Err(WriteError::Sql(e)) => {
                Err(e).with_context(|| format!("{}: cannot write the post", shown(&f.rel)))
            }
        }
    }
}

/// The shared pipeline of `import_dir` and `sync_content`. `audit_always`: write the audit
/// row even when nothing changed (an explicit import does; a sync at build start does not).
///
/// Batches of files are read, hashed and parsed in parallel (rayon) on a helper thread while
/// this thread writes the previous batch in the open transaction; any problem anywhere rolls
/// the whole transaction back.
fn run(
    settings: &Settings,
    store: &mut Store,
    root: &Path,
    opts: &ImportOptions,
    audit_always: bool,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let timings = std::env::var_os("BLOGGO_TIMINGS").is_some();
    let phase = |name: &str| {
        if timings {
            eprintln!("{:>8.3} s  {name}", started.elapsed().as_secs_f64());
        }
    };
    let scope = source_scope(settings, root)?;
    let found = media::discover(root, &opts.only, opts.languages.as_ref());
    phase("folder walked");
    let shown = |rel: &str| root.join(rel).display().to_string();
    let sections =
        match sections::plan(&found.sections, &found.files, &opts.sections, &scope, |f| {
            std::fs::read(&f.abs)
        }) {
            Ok(plan) => plan,
            Err(problems) => {
                let problems = problems
                    .into_iter()
                    .map(|p| Problem {
                        path: shown(&p.path),
                        ..p
                    })
                    .collect();
                return Err(ImportError { problems }.into());
            }
        };

    let store_path = store.path().to_path_buf();
    let tx = ImportTx::begin(store).with_context(|| {
        format!(
            "{}: cannot start a write transaction on the store (another program may be writing it)",
            store_path.display()
        )
    })?;
    // The disk writes the WAL while the files are parsed, and the database file during the
    // checkpoint after the commit, instead of all of it in the fsyncs at the end. A dry run
    // commits nothing, so it has no fsync to shorten and its pages need not reach the disk.
    let _writeback =
        (!opts.dry_run).then(|| crate::store::writeback::Writeback::start(&store_path));
    // A post's categories only matter to its URL when its pattern shows them: 10,000 posts'
    // category paths are megabytes an import would hold for nothing.
    let site_shows = settings.post_pattern.uses_categories();
    let index = tx
        .index(|p| {
            site_shows
                || p.path.as_deref().is_some_and(|own| {
                    crate::permalinks::Pattern::parse(own).is_ok_and(|o| o.uses_categories())
                })
        })
        .context("cannot read the posts")?;
    let by_path: HashMap<&str, &IndexedPost> = index
        .iter()
        .filter_map(|p| p.source_path.as_deref().map(|s| (s, p)))
        .collect();
    let by_url: HashMap<String, &IndexedPost> = index
        .iter()
        .map(|p| (indexed_file(settings, p), p))
        .collect();
    phase("store index read");

    let mut ctx = ParseContext::for_site(settings);
    ctx.forced_status = opts.status;
    ctx.root_pages = opts.root_pages;
    ctx.dotless_slugs = opts.dotless_slugs;
    ctx.default_language = opts.languages.as_ref().map(|l| l.default.clone());
    let bar = if opts.progress {
        indicatif::ProgressBar::new(found.files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let keys: Vec<String> = found
        .files
        .iter()
        .map(|f| format!("{scope}{}", f.rel))
        .collect();
    let mut apply = Apply {
        settings,
        shown: &shown,
        by_path: &by_path,
        by_url: &by_url,
        default_author: AuthorRef::new(Some(settings.config.author.clone()), None),
        w: tx
            .writer(Timestamp::now())
            .context("cannot read the store")?,
        summary: ImportSummary {
            skipped: found.skipped + sections.skipped,
            translations: found.translations.clone(),
            dry_run: opts.dry_run,
            ..Default::default()
        },
        problems: found.problems.clone(),
        urls: HashMap::with_capacity(found.files.len()),
        copies: Vec::new(),
        report: opts.report,
    };

    // Sections first: a post's section must be there when the post is written.
    for (section, _) in &sections.sections {
        use crate::store::sections::Written;
        match apply
            .w
            .section(section)
            .with_context(|| format!("{}: cannot write the section", section.path))?
        {
            Written::New | Written::Updated => apply.summary.sections.push(section.path.clone()),
            Written::Unchanged => {}
        }
    }
    let parse = |range: std::ops::Range<usize>| -> Vec<Staged> {
        found.files[range.clone()]
            .par_iter()
            .zip(keys[range].par_iter())
            .map(|(f, key)| {
                let placed = (sections.section_of(&f.rel), sections.folder_of_post(&f.rel));
                let s = stage(settings, f, placed, by_path.get(key.as_str()), &ctx);
                bar.inc(1);
                s
            })
            .collect()
    };
    let n = found.files.len();
    let batches: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(BATCH)
        .map(|s| s..(s + BATCH).min(n))
        .collect();
    let mut waited = std::time::Duration::ZERO;
    std::thread::scope(|sc| -> Result<()> {
        let parse = &parse;
        let mut next = batches.first().cloned().map(|r| sc.spawn(move || parse(r)));
        for (i, range) in batches.iter().enumerate() {
            let wait = Instant::now();
            let staged = match next.take().map(|h| h.join()) {
                Some(Ok(s)) => s,
                _ => bail!("a parser thread failed; nothing was imported"),
            };
            waited += wait.elapsed();
            next = batches
                .get(i + 1)
                .cloned()
                .map(|r| sc.spawn(move || parse(r)));
            for (j, s) in range.clone().zip(staged) {
                apply.file(&found.files[j], &keys[j], s)?;
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    phase(&format!(
        "files read, parsed and written (the writer waited {:.3} s for the parsers)",
        waited.as_secs_f64()
    ));

    let Apply {
        w,
        mut summary,
        mut problems,
        copies,
        ..
    } = apply;
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    if opts.prune && problems.is_empty() {
        let present: HashSet<&str> = keys.iter().map(String::as_str).collect();
        for p in &index {
            let Some(sp) = p.source_path.as_deref() else {
                continue;
            };
            let under = sp.strip_prefix(scope.as_str()).is_some_and(|rel| {
                opts.only.is_empty()
                    || opts.only.iter().any(|d| {
                        rel.strip_prefix(d.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                    })
            });
            if under && !present.contains(sp) && !p.deleted && w.soft_delete(p.id)? {
                summary.deleted += 1;
                summary.changes.push(Change {
                    kind: ChangeKind::Deleted,
                    path: sp.to_string(),
                });
            }
        }
        if opts.only.is_empty() {
            let indexes: Vec<String> = sections
                .sections
                .iter()
                .filter_map(|(s, _)| s.source_path.clone())
                .chain(found.sections.iter().map(|f| format!("{scope}{}", f.rel)))
                .collect();
            let present: HashSet<&str> = indexes.iter().map(String::as_str).collect();
            summary.sections_deleted = w
                .delete_sections_gone(&scope, &present)
                .context("cannot delete the sections whose _index.md is gone")?;
        }
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        return Err(ImportError { problems }.into());
    }
    if audit_always || summary.changed() {
        let counts = serde_json::json!({
            "source": root.display().to_string(),
            "new": summary.new,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "skipped": summary.skipped,
            "deleted": summary.deleted,
        });
        w.audit(&counts)?;
    }
    let held = w.finish();
    if opts.dry_run {
        tx.rollback()?;
    } else {
        for (src, dest) in &copies {
            media::install(src, dest).with_context(|| {
                format!(
                    "cannot copy {} to {}; nothing was imported",
                    src.display(),
                    dest.display()
                )
            })?;
        }
        phase("media installed");
        tx.commit()
            .with_context(|| format!("{}: cannot commit the import", store_path.display()))?;
        phase("committed");
    }
    if let Some(held) = held {
        // After the commit: created inside the import's transaction they would cost its
        // commit a second pass over the WAL (see `store::changes::HeldInserts::restore`).
        crate::store::posts::restore_held(store, held).with_context(|| {
            format!(
                "{}: imported, but cannot put the change log's triggers back (the next build does)",
                store_path.display()
            )
        })?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::report::UrlSource;
    use super::*;

    fn settings(toml_text: &str) -> Settings {
        let config = toml::from_str(&format!("title='a'\nbase_url='/'\n{toml_text}")).unwrap();
        Settings::from_config(Path::new("/site"), config).unwrap()
    }

    /// Where a post goes and what put it there, as `(url, source)`.
    fn placed(
        s: &Settings,
        own: Option<&str>,
        section: &str,
        kind: PostKind,
    ) -> (String, Option<UrlSource>) {
        let date = Timestamp::from(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let k = keys(
            s,
            "x",
            "X",
            date,
            "",
            Some(section).filter(|s| !s.is_empty()),
        );
        let (at, source) = place(s, &k, own, kind);
        assert_eq!(at.file, page_file(s, &k, own, kind));
        (at.url, source)
    }

    #[test]
    fn a_posts_place_says_what_put_it_there() {
        let s = settings("[permalinks]\nnotes = '/n/:year/:slug/'\n");
        assert_eq!(
            placed(&s, Some("/2021/06/17/x/"), "blog", PostKind::Post),
            ("2021/06/17/x/".into(), None)
        );
        assert_eq!(
            placed(&s, None, "notes", PostKind::Post),
            (
                "n/2023/x/".into(),
                Some(UrlSource::Permalinks {
                    key: "notes".into(),
                    pattern: "/n/:year/:slug/".into()
                })
            )
        );
        assert_eq!(
            placed(&s, None, "blog", PostKind::Post),
            (
                "blog/x/".into(),
                Some(UrlSource::SectionDefault {
                    pattern: "/blog/:slug/".into()
                })
            )
        );
        assert_eq!(
            placed(&s, None, "", PostKind::Post),
            (
                "posts/x/".into(),
                Some(UrlSource::Default {
                    pattern: "/posts/:slug/".into()
                })
            )
        );
        assert_eq!(
            placed(&s, None, "", PostKind::Page),
            (
                "x/".into(),
                Some(UrlSource::Default {
                    pattern: "/:slug/".into()
                })
            )
        );
        // `[permalinks] posts`, even when it spells bloggo's default.
        for pattern in ["/:year/:slug/", "/posts/:slug/"] {
            let s = settings(&format!("[permalinks]\nposts = '{pattern}'\n"));
            let (_, source) = placed(&s, None, "", PostKind::Post);
            assert_eq!(
                source,
                Some(UrlSource::Permalinks {
                    key: "posts".into(),
                    pattern: pattern.into()
                })
            );
        }
        // `[urls] posts` moves bloggo's default.
        let s = settings("[urls]\nposts = 'blog'\n");
        assert_eq!(
            placed(&s, None, "", PostKind::Post),
            (
                "blog/x/".into(),
                Some(UrlSource::Default {
                    pattern: "/blog/:slug/".into()
                })
            )
        );
    }
}
