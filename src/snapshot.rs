//! Store rows → an immutable, resolved site: posts sorted newest first with their neighbours,
//! the category tree (counts include descendants), tag and author indexes, related posts, URLs.
//!
//! Built once per build, then shared read-only by every render job.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Settings, Timezone, UrlsConfig};
use crate::markdown::{RefKind, Resolve};
use crate::model::{PostKind, PostStatus};
use crate::permalinks::{Keys, Location, Pattern};
use crate::store::site::{FileRow, PostRow, SiteRows};

/// How many related posts each post lists.
pub const RELATED: usize = 5;
/// How far around a post (in a tag's or category's date order) related candidates are sought,
/// so a tag with thousands of posts stays linear.
const RELATED_WINDOW: usize = 60;

/// Site-wide values every page sees.
#[derive(Debug, Clone, Default)]
pub struct SiteInfo {
    pub title: String,
    pub description: String,
    pub author: String,
    pub language: String,
    /// `https://host/blog` (no trailing slash).
    pub base_url: String,
    /// `https://host` (scheme and host of base_url), empty for a path-only base_url.
    pub origin: String,
    /// The path part of base_url, always ending in `/` (`/` or `/blog/`).
    pub root: String,
    pub paginate: usize,
    pub feed_limit: usize,
    pub urls: UrlsConfig,
    /// Where posts go (see `permalinks`).
    pub post_pattern: Pattern,
    /// Where the posts of a section go, by the section's path (`[permalinks] <section>`).
    pub section_patterns: std::collections::BTreeMap<String, Pattern>,
    pub extra: serde_json::Value,
    pub timezone: Timezone,
    /// `[[menu]]`, resolved against `root`.
    pub menu: Vec<crate::menu::MenuLink>,
    /// `[analytics] beacon`: where post pages send a view (no script when `None`).
    pub beacon: Option<String>,
}

impl SiteInfo {
    /// The site-wide values of a build for `base_url`.
    pub fn new(settings: &Settings, base_url: &str) -> SiteInfo {
        let c = &settings.config;
        let (origin, root) = split_base(base_url);
        SiteInfo {
            title: c.title.clone(),
            description: c.description.clone(),
            author: c.author.clone(),
            language: c.language.clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
            origin,
            root: root.clone(),
            paginate: c.paginate.max(1),
            feed_limit: c.feed.limit,
            urls: c.urls.clone(),
            post_pattern: settings.post_pattern.clone(),
            section_patterns: settings.section_patterns.clone(),
            extra: serde_json::to_value(&c.extra).unwrap_or(serde_json::Value::Null),
            timezone: settings.timezone,
            menu: crate::menu::links(&settings.menu, &root),
            beacon: c.analytics.beacon.clone(),
        }
    }

    /// The URL path of a site-relative path (`posts/a/` → `/blog/posts/a/`).
    pub fn path(&self, rel: &str) -> String {
        format!("{}{}", self.root, rel.trim_start_matches('/'))
    }

    /// The absolute URL of a URL path made by [`SiteInfo::path`].
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    /// A UTC instant in the site's time zone.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.timezone.offset_at(at))
    }
}

/// A post of the site: its row as the store gives it, and what the snapshot resolves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Post {
    /// Title, slug (a usable URL segment), markdown, status, dates… (see [`PostRow`]).
    pub row: PostRow,
    /// Published, but dated in the future (only shown with `--drafts`).
    pub scheduled: bool,
    /// Index into `Snapshot::authors`.
    pub author: Option<usize>,
    /// Direct categories (indexes into `Snapshot::categories`).
    pub categories: Vec<usize>,
    pub tags: Vec<usize>,
    /// Its section (index into `Snapshot::sections`).
    pub section: Option<usize>,
    /// The page's folder relative to the site root (`posts/slug`, `2024/05/01` for a page
    /// `2024/05/01/slug.html`); its media go there.
    pub dir: String,
    /// The page's output file relative to the site root (`posts/slug/index.html`).
    pub file: String,
    /// URL path (`/posts/slug/`, `/2024/05/01/slug.html`).
    pub path: String,
    /// The next newer and older post.
    pub newer: Option<usize>,
    pub older: Option<usize>,
    pub related: Vec<usize>,
}

impl Post {
    /// A post from its row, as of `now`: everything but what comes from other posts and rows
    /// (author, categories, tags, neighbours and related posts, resolved by
    /// [`Snapshot::build`]) and, when the row has none, its read time (see
    /// [`Post::derive_read_time`]). Its URL is the one of a post without categories until
    /// [`Post::place`] is called with them.
    pub fn new(mut row: PostRow, site: &SiteInfo, now: DateTime<Utc>) -> Post {
        row.slug = segment(&row.slug, &row.title, row.id);
        let mut p = Post {
            scheduled: row.status == PostStatus::Published && row.date.utc() > now,
            row,
            author: None,
            categories: Vec::new(),
            tags: Vec::new(),
            section: None,
            dir: String::new(),
            file: String::new(),
            path: String::new(),
            newer: None,
            older: None,
            related: Vec::new(),
        };
        p.place(site, "");
        p
    }

    /// Sets where the post's page goes: its own path, or the site's pattern; `categories` is
    /// the `:categories` value (see `permalinks::categories_value`). A warning when its own
    /// path cannot be used (the site's pattern places it then).
    pub fn place(&mut self, site: &SiteInfo, categories: &str) -> Option<String> {
        let r = &self.row;
        let keys = Keys {
            date: crate::permalinks::local_date(r.date.utc(), &site.timezone),
            slug: &r.slug,
            title: &r.title,
            categories,
            section: r.section.as_deref().unwrap_or(""),
        };
        let mut warning = None;
        let own = r.path.as_deref().and_then(|text| {
            let at = Pattern::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|p| p.expand(&keys).ok_or_else(|| "it leaves no path".to_string()));
            match at {
                Ok(at) => Some(at),
                Err(why) => {
                    warning = Some(format!(
                        "post {:?} (id {}): its path {text:?} is not used ({why}); fix it with `bloggo post edit #{}`",
                        r.slug, r.id, r.id
                    ));
                    None
                }
            }
        });
        let at = if self.is_page() {
            own.or_else(|| page_pattern().expand(&keys))
        } else {
            own.or_else(|| {
                crate::permalinks::pattern_of(
                    &site.post_pattern,
                    &site.section_patterns,
                    r.section.as_deref(),
                )
                .expand(&keys)
            })
        }
        .or_else(|| crate::permalinks::default_pattern("posts").expand(&keys))
        .expect("the default pattern always gives a path");
        self.locate(site, at);
        warning
    }

    fn locate(&mut self, site: &SiteInfo, at: Location) {
        self.path = site.path(&at.url);
        self.dir = at.dir;
        self.file = at.file;
    }

    /// A standalone page: at its own URL, in the sitemap and the search index, out of the
    /// listings, feeds, archive, related posts and neighbours.
    pub fn is_page(&self) -> bool {
        self.row.kind == PostKind::Page
    }

    /// The URL path of the page's folder (`/posts/slug/`, `/2024/05/01/`): what relative
    /// links in the post point into.
    pub fn base(&self) -> &str {
        match self.path.rfind('/') {
            Some(i) => &self.path[..=i],
            None => &self.path,
        }
    }

    /// Sets a missing read time from the markdown's word count.
    pub fn derive_read_time(&mut self, words_per_minute: usize) {
        let row = &mut self.row;
        if row.read_time == 0 {
            let words = crate::markdown::word_count(row.content.as_deref().unwrap_or(""));
            row.read_time = words.div_ceil(words_per_minute.max(1)).max(1) as u32;
        }
    }

    /// When the post last changed: its updated date, when later than its date.
    pub fn last_change(&self) -> DateTime<Utc> {
        let r = &self.row;
        r.updated.map_or(r.date, |u| u.max(r.date)).utc()
    }

    /// `draft`, `pending`, `scheduled` or `published`.
    pub fn state(&self) -> &'static str {
        if self.scheduled {
            "scheduled"
        } else {
            self.row.status.as_str()
        }
    }
}

/// A section: a folder of posts with a listing and a feed of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Its folder below the content root (`blog`, `notes/rust`): its key.
    pub key: String,
    pub title: String,
    pub description: String,
    /// Markdown shown above its listing (from its `_index.md`).
    pub content: String,
    /// Its listing's folder relative to the site root (the key).
    pub dir: String,
    /// URL path (`/blog/`).
    pub path: String,
    /// The section it is in (`notes` for `notes/rust`), when that is a section too.
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Its dated posts, in the posts' order (its pages are in no listing).
    pub posts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub depth: usize,
    pub dir: String,
    pub path: String,
    /// Posts of this category and its descendants, newest first.
    pub posts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub dir: String,
    pub path: String,
    pub posts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub avatar: Option<String>,
    pub bio: Option<String>,
    pub dir: String,
    pub path: String,
    pub posts: Vec<usize>,
}

/// An old URL of a post: a redirect page written at `file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub post: usize,
    pub file: String,
}

/// A page a post had in an earlier build, before its URL changed (another `[permalinks]`
/// pattern, a new slug, date or path): a redirect page is written there, so old links keep
/// working (builds record the pages they publish in the store: `SiteRows::pages`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Moved {
    /// The post's id.
    pub id: i64,
    /// Its earlier page's output file (`posts/slug/index.html`).
    pub file: String,
}

/// A post's media file, copied from `source` to `file` (relative to the output root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub post: usize,
    pub source: PathBuf,
    pub file: String,
}

/// The whole site as one build sees it. What it keeps between builds (see `pipeline::state`) is
/// everything but the site-wide values and the instant, which come from each build.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(skip)]
    pub site: SiteInfo,
    #[serde(deserialize_with = "posts_exactly")]
    pub posts: Vec<Post>,
    /// Categories with at least one post, in tree order (parents before children).
    pub categories: Vec<Category>,
    pub roots: Vec<usize>,
    /// Every section, by key (a section with no post still has its page).
    pub sections: Vec<Section>,
    /// Tags with at least one post, by name.
    pub tags: Vec<Tag>,
    /// Authors with at least one post, by name.
    pub authors: Vec<Author>,
    pub aliases: Vec<Alias>,
    /// Earlier pages of posts whose URL changed; each is also in `aliases`.
    pub moved: Vec<Moved>,
    /// The pages of this snapshot the store has not recorded yet (post id, output file): the
    /// build records them once it committed (`Store::remember_pages`).
    #[serde(skip)]
    pub unrecorded: Vec<(i64, String)>,
    pub media: Vec<Media>,
    pub drafts: bool,
    #[serde(skip)]
    pub built_at: DateTime<Utc>,
    /// Things skipped with a reason (bad alias paths...), for the build to print.
    pub warnings: Vec<String>,
    /// Every post's related posts, with what they were computed from (to reuse next build).
    pub related: RelatedLists,
    /// The posts by the names links give their source files (see [`Snapshot::link_target`]),
    /// made the first time a post's markdown has such a link.
    #[serde(skip)]
    pub link_targets: OnceLock<LinkTargets>,
}

/// The posts of a kept snapshot read into a list of their exact length. Serde's own `Vec`
/// starts from at most a megabyte and doubles: with posts of ~500 bytes, 10,000 of them grew
/// through copies into room for 16,000. The length is the one bloggo wrote (the state's
/// records are checked by their BLAKE3); above `MOST` the list grows as it is read.
fn posts_exactly<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Post>, D::Error> {
    struct Posts;
    impl<'de> serde::de::Visitor<'de> for Posts {
        type Value = Vec<Post>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of posts")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Post>, A::Error> {
            const MOST: usize = 1 << 20;
            let mut posts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MOST));
            while let Some(p) = seq.next_element()? {
                posts.push(p);
            }
            Ok(posts)
        }
    }
    d.deserialize_seq(Posts)
}

/// Related posts of every post (indexes into `Snapshot::posts`), and a digest of what decides
/// them: the posts' order, their tags and categories, and the category tree. Computing them
/// is the costliest part of a snapshot, and they rarely change, so builds keep them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedLists {
    pub key: [u8; 32],
    pub lists: Vec<Vec<usize>>,
}

const RELATED_MAGIC: &[u8] = b"bloggo-related-1\n";

impl RelatedLists {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = RELATED_MAGIC.to_vec();
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&(self.lists.len() as u64).to_le_bytes());
        for l in &self.lists {
            out.push(l.len() as u8);
            for &p in l {
                out.extend_from_slice(&(p as u32).to_le_bytes());
            }
        }
        out
    }

    /// `None` unless `b` is a whole, sound encoding.
    pub fn decode(b: &[u8]) -> Option<RelatedLists> {
        let b = b.strip_prefix(RELATED_MAGIC)?;
        let key: [u8; 32] = b.get(..32)?.try_into().ok()?;
        let n = usize::try_from(u64::from_le_bytes(b.get(32..40)?.try_into().ok()?)).ok()?;
        let mut at = 40;
        let mut lists = Vec::with_capacity(n.min(b.len()));
        for _ in 0..n {
            let k = *b.get(at)? as usize;
            at += 1;
            let mut l = Vec::with_capacity(k);
            for _ in 0..k {
                let p = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
                if p >= n {
                    return None;
                }
                l.push(p);
                at += 4;
            }
            lists.push(l);
        }
        (at == b.len()).then_some(RelatedLists { key, lists })
    }
}

/// The `:categories` value of a post's categories (indexes into `cats`).
pub fn categories_of(cats: &[Category], direct: &[usize]) -> String {
    let trail = |c: usize| {
        let mut names = Vec::new();
        let mut at = Some(c);
        while let Some(k) = at {
            names.push(cats[k].name.as_str());
            at = cats[k].parent;
        }
        names.reverse();
        names
    };
    crate::permalinks::categories_value(direct.iter().map(|&c| trail(c)))
}

/// Gives a post whose page another post's page already has (two posts with one URL, which
/// import refuses but an edit in the store may make) its own: its id is added to the last
/// segment, with a warning. The post with the lower id keeps the URL.
fn unique_files(site: &SiteInfo, posts: &mut [Post], warnings: &mut Vec<String>) {
    let mut order: Vec<usize> = (0..posts.len()).collect();
    order.sort_by_key(|&i| posts[i].row.id);
    let mut taken: HashMap<String, usize> = HashMap::with_capacity(posts.len());
    for i in order {
        let Some(&first) = taken.get(&posts[i].file) else {
            taken.insert(posts[i].file.clone(), i);
            continue;
        };
        let p = &posts[i];
        let id = p.row.id;
        let at = match p.file.strip_suffix("/index.html") {
            Some(dir) => Location {
                dir: format!("{dir}-{id}"),
                file: format!("{dir}-{id}/index.html"),
                url: format!("{dir}-{id}/"),
            },
            None => {
                let stem = p.file.strip_suffix(".html").unwrap_or(&p.file);
                Location {
                    dir: p.dir.clone(),
                    file: format!("{stem}-{id}.html"),
                    url: format!("{stem}-{id}.html"),
                }
            }
        };
        warnings.push(format!(
            "post {:?} (id {id}) has the URL {} of post {:?} (id {}); it is published at {} instead: give one of them another slug or path",
            p.row.slug,
            p.path,
            posts[first].row.slug,
            posts[first].row.id,
            site.path(&at.url)
        ));
        posts[i].locate(site, at);
        taken.insert(posts[i].file.clone(), i);
    }
}

/// Where a standalone page without a path of its own goes: `/<slug>/` (import checks URLs
/// with it too).
pub fn page_pattern() -> Pattern {
    Pattern::parse("/:slug/").expect(":slug makes a pattern")
}

/// A slug usable as one URL path segment, or a slug made from `fallback`.
fn segment(slug: &str, fallback: &str, id: i64) -> String {
    let ok = !slug.is_empty()
        && slug != "."
        && slug != ".."
        && !slug.contains(['/', '\\', '?', '#', '%', ' ', '"', '<', '>']);
    if ok {
        return slug.to_string();
    }
    let s = slug::slugify(fallback);
    if s.is_empty() {
        format!("{id}")
    } else {
        s
    }
}

/// Splits a base URL into (origin, root path).
fn split_base(base_url: &str) -> (String, String) {
    let b = base_url.trim_end_matches('/');
    let (origin, path) = match b.find("://") {
        Some(i) => match b[i + 3..].find('/') {
            Some(j) => (&b[..i + 3 + j], &b[i + 3 + j..]),
            None => (b, ""),
        },
        None => ("", b),
    };
    (
        origin.to_string(),
        format!("{}/", path.trim_end_matches('/')),
    )
}

/// Where a post's media file is copied from (under the site folder `root`) and to, or why it
/// is skipped.
pub fn media_of(root: &Path, post: &Post, f: &FileRow) -> Result<(PathBuf, String), String> {
    let name = Path::new(&f.filename)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty() || name.starts_with('.') || f.file_path.contains("..") {
        return Err(format!(
            "media {:?} of post {:?} skipped: not a plain file name",
            f.filename, post.row.slug
        ));
    }
    let file = if post.dir.is_empty() {
        name
    } else {
        format!("{}/{name}", post.dir)
    };
    Ok((root.join(&f.file_path), file))
}

/// Where an alias path is written, or why it cannot be. A last segment ending in `.html` or
/// `.htm` is that file (`/2019/a.html` → `2019/a.html`); any other alias is a folder's
/// `index.html` (`/old`, `/old/`, `/releases/1.16`, `/feed.xml` → `…/index.html`), as Hugo and
/// Zola write them: a redirect page is HTML, and a folder is found with and without its
/// trailing slash on every static host. Segments are percent-decoded (a server decodes the
/// request path before it looks for the file); empty ones collapse.
pub fn alias_file(path: &str) -> Result<String, String> {
    let raw = path.trim();
    if raw.contains("://") || raw.contains('\\') {
        return Err("it is not a site path".into());
    }
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let mut segments = Vec::new();
    for s in raw.split('/').filter(|s| !s.is_empty()) {
        let s = percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map_err(|_| "it is not UTF-8 once decoded".to_string())?;
        if s == "." || s == ".." {
            return Err("it contains `.` or `..`".into());
        }
        if s.contains(['/', '\\', '\0']) {
            return Err("it has an encoded `/`, a backslash or a NUL byte".into());
        }
        segments.push(s.into_owned());
    }
    let Some(last) = segments.last() else {
        return Err("it is the site root".into());
    };
    let lower = last.to_ascii_lowercase();
    let is_page = !raw.ends_with('/') && (lower.ends_with(".html") || lower.ends_with(".htm"));
    let file = if is_page {
        segments.join("/")
    } else {
        format!("{}/index.html", segments.join("/"))
    };
    if file == "index.html" || file == "index.htm" {
        return Err("it is the site root".into());
    }
    Ok(file)
}

/// The aliases that can be written, each once, with a warning naming the post for each one
/// that cannot: a bad path; the address of another post (the post's page wins); the same file
/// as an alias of another post (the first by path wins). An alias that is its own post's
/// address, or the same file as another alias of the same post (`/old` and `/old/`), is left
/// out without a word: there is nothing to redirect.
fn resolve_aliases(
    rows: Vec<(i64, String)>,
    posts: &[Post],
    post_index: &HashMap<i64, usize>,
    warnings: &mut Vec<String>,
) -> Vec<Alias> {
    let pages: HashMap<String, usize> = posts
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{}/index.html", p.dir), i))
        .collect();
    let mut taken: HashMap<String, (usize, String)> = HashMap::new();
    let mut aliases = Vec::new();
    for (pid, path) in rows {
        let Some(&p) = post_index.get(&pid) else {
            continue;
        };
        let slug = &posts[p].row.slug;
        let file = match alias_file(&path) {
            Ok(file) => file,
            Err(why) => {
                warnings.push(format!("alias {path:?} of post {slug:?} skipped: {why}"));
                continue;
            }
        };
        if let Some(&owner) = pages.get(&file) {
            if owner != p {
                warnings.push(format!(
                    "alias {path:?} of post {slug:?} skipped: it is the address of post {:?}",
                    posts[owner].row.slug
                ));
            }
            continue;
        }
        match taken.get(&file) {
            Some((q, _)) if *q == p => {}
            Some((q, first)) => warnings.push(format!(
                "alias {path:?} of post {slug:?} skipped: it is written as {file}, as the \
                 alias {first:?} of post {:?} is",
                posts[*q].row.slug
            )),
            None => {
                taken.insert(file.clone(), (p, path));
                aliases.push(Alias { post: p, file });
            }
        }
    }
    aliases
}

impl Snapshot {
    /// How many of `posts` are dated posts: they come first, the standalone pages after them.
    /// What listings, feeds and the archive show.
    pub fn listed(&self) -> usize {
        self.posts.partition_point(|p| !p.is_page())
    }

    /// Resolves the rows of one store read. A post without a stored read time gets one from
    /// its markdown's word count.
    /// `known` are related posts an earlier build computed: used when they were computed from
    /// the same posts, tags and categories.
    pub fn build(
        settings: &Settings,
        mut rows: SiteRows,
        base_url: &str,
        drafts: bool,
        now: DateTime<Utc>,
        known: Option<RelatedLists>,
    ) -> Snapshot {
        let site = SiteInfo::new(settings, base_url);
        let urls = &site.urls;
        let wpm = settings.config.content.words_per_minute.max(1) as usize;
        let mut warnings = Vec::new();

        // Posts, newest first.
        let mut posts = Vec::with_capacity(rows.posts.len());
        for r in rows.posts {
            posts.push(Post::new(r, &site, now));
        }
        {
            use rayon::prelude::*;
            posts
                .par_iter_mut()
                .filter(|p| p.row.read_time == 0)
                .for_each(|p| p.derive_read_time(wpm));
        }
        // Posts newest first, then the standalone pages (see [`Snapshot::listed`]).
        posts.sort_by(|a, b| {
            (a.is_page().cmp(&b.is_page()))
                .then(b.row.date.cmp(&a.row.date))
                .then(b.row.id.cmp(&a.row.id))
        });
        // Dates feeds cannot write (put into the store by hand: import refuses them): the
        // render leaves such posts out of the feeds and their dates out of the sitemap.
        for p in posts.iter().map(|p| &p.row) {
            let far = [("date", Some(p.date)), ("updated date", p.updated)]
                .into_iter()
                .find_map(|(what, d)| {
                    d.map(|d| d.utc())
                        .filter(|d| !crate::frontmatter::dates::writable(*d, &site.timezone))
                        .map(|d| (what, d))
                });
            if let Some((what, d)) = far {
                let mut when = format!("{} UTC", d.format(crate::model::Timestamp::FORMAT));
                let local = site.local(d);
                if local.year() != d.year() {
                    when += &format!(
                        " ({} in the site's time zone)",
                        local.format("%Y-%m-%d %H:%M:%S %:z")
                    );
                }
                warnings.push(format!(
                    "post {:?} (id {}): its {what} {when} is outside the years 1 to 9999 that \
                     feeds can carry, so it is left out of the feeds; give it a real date with \
                     `bloggo post edit {}`",
                    p.slug, p.id, p.slug
                ));
            }
        }
        let n = posts.len();
        let listed = posts.partition_point(|p| !p.is_page());
        for (i, p) in posts.iter_mut().enumerate().take(listed) {
            p.newer = i.checked_sub(1);
            p.older = (i + 1 < listed).then_some(i + 1);
        }
        let post_index: HashMap<i64, usize> = posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.row.id, i))
            .collect();

        // Authors with posts, by name.
        let mut authors: Vec<Author> = Vec::new();
        let mut author_index: HashMap<i64, usize> = HashMap::new();
        let mut used_slugs = HashSet::new();
        for u in rows.users {
            let mut slug = segment(u.slug.as_deref().unwrap_or(""), &u.name, u.id);
            if !used_slugs.insert(slug.clone()) {
                slug = format!("{slug}-{}", u.id);
                used_slugs.insert(slug.clone());
            }
            let dir = format!("{}/{slug}", urls.authors);
            author_index.insert(u.id, authors.len());
            authors.push(Author {
                id: u.id,
                path: site.path(&format!("{dir}/")),
                name: u.name,
                slug,
                avatar: u.avatar.filter(|s| !s.is_empty()),
                bio: u.bio.filter(|s| !s.is_empty()),
                dir,
                posts: Vec::new(),
            });
        }
        for (i, p) in posts.iter_mut().enumerate() {
            p.author = p
                .row
                .author_id
                .and_then(|id| author_index.get(&id).copied());
            if let Some(a) = p.author.filter(|_| !p.is_page()) {
                authors[a].posts.push(i);
            }
        }

        // Categories: resolve parents (a cycle is cut), then keep the ones with posts.
        let cat_rows = rows.categories;
        let by_id: HashMap<i64, usize> = cat_rows
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let mut parent: Vec<Option<usize>> = cat_rows
            .iter()
            .map(|c| c.parent_id.and_then(|p| by_id.get(&p).copied()))
            .collect();
        for i in 0..cat_rows.len() {
            let mut seen = HashSet::from([i]);
            let mut at = parent[i];
            while let Some(p) = at {
                if !seen.insert(p) {
                    warnings.push(format!(
                        "category {:?} is its own ancestor; shown at the top level",
                        cat_rows[i].slug
                    ));
                    parent[i] = None;
                    break;
                }
                at = parent[p];
            }
        }
        let mut cat_posts: Vec<Vec<usize>> = vec![Vec::new(); cat_rows.len()];
        let mut direct: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (pid, cid) in &rows.post_categories {
            if let (Some(&p), Some(&c)) = (post_index.get(pid), by_id.get(cid)) {
                direct[p].push(c);
            }
        }
        // A page keeps its categories and tags but is in no listing of theirs.
        for (p, cats) in direct.iter().enumerate().take(listed) {
            for &c in cats {
                let mut at = Some(c);
                while let Some(k) = at {
                    if cat_posts[k].last() != Some(&p) {
                        cat_posts[k].push(p);
                    }
                    at = parent[k];
                }
            }
        }
        // Tree order: depth-first from the roots, children by name (rows are sorted by name).
        let mut kids: Vec<Vec<usize>> = vec![Vec::new(); cat_rows.len()];
        let mut top = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => kids[*p].push(i),
                None => top.push(i),
            }
        }
        let mut categories: Vec<Category> = Vec::new();
        let mut new_index: Vec<Option<usize>> = vec![None; cat_rows.len()];
        let mut stack: Vec<(usize, Option<usize>, usize, String)> = top
            .iter()
            .rev()
            .map(|&i| (i, None, 0, urls.categories.clone()))
            .collect();
        while let Some((i, par, depth, base)) = stack.pop() {
            if cat_posts[i].is_empty() {
                continue;
            }
            let r = &cat_rows[i];
            let dir = format!("{base}/{}", segment(&r.slug, &r.name, r.id));
            let me = categories.len();
            new_index[i] = Some(me);
            if let Some(p) = par {
                categories[p].children.push(me);
            }
            categories.push(Category {
                id: r.id,
                name: r.name.clone(),
                slug: r.slug.clone(),
                description: r.description.clone(),
                parent: par,
                children: Vec::new(),
                depth,
                path: site.path(&format!("{dir}/")),
                dir: dir.clone(),
                posts: std::mem::take(&mut cat_posts[i]),
            });
            for &k in kids[i].iter().rev() {
                stack.push((k, Some(me), depth + 1, dir.clone()));
            }
        }
        let roots = categories
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent.is_none())
            .map(|(i, _)| i)
            .collect();
        for (p, cats) in direct.into_iter().enumerate() {
            posts[p].categories = cats.into_iter().filter_map(|c| new_index[c]).collect();
        }
        for p in posts.iter_mut() {
            let value = categories_of(&categories, &p.categories);
            warnings.extend(p.place(&site, &value));
        }
        unique_files(&site, &mut posts, &mut warnings);

        // Tags with posts, by name.
        let tag_by_id: HashMap<i64, usize> = rows
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        let mut tag_posts: Vec<Vec<usize>> = vec![Vec::new(); rows.tags.len()];
        let mut post_tags: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (pid, tid) in &rows.post_tags {
            if let (Some(&p), Some(&t)) = (post_index.get(pid), tag_by_id.get(tid)) {
                if p < listed {
                    tag_posts[t].push(p);
                }
                post_tags[p].push(t);
            }
        }
        let mut tag_new: Vec<Option<usize>> = vec![None; rows.tags.len()];
        let mut tags = Vec::new();
        for (i, t) in rows.tags.into_iter().enumerate() {
            let mut ps = std::mem::take(&mut tag_posts[i]);
            if ps.is_empty() {
                continue;
            }
            ps.sort_unstable();
            ps.dedup();
            let slug = segment(&t.slug, &t.name, t.id);
            let dir = format!("{}/{slug}", urls.tags);
            tag_new[i] = Some(tags.len());
            tags.push(Tag {
                id: t.id,
                name: t.name,
                slug,
                path: site.path(&format!("{dir}/")),
                dir,
                posts: ps,
            });
        }
        for (p, ts) in post_tags.into_iter().enumerate() {
            posts[p].tags = ts.into_iter().filter_map(|t| tag_new[t]).collect();
        }

        // Authors with posts only, by name.
        let mut authors: Vec<Author> = authors.into_iter().collect();
        let mut keep: Vec<usize> = (0..authors.len())
            .filter(|&a| !authors[a].posts.is_empty())
            .collect();
        keep.sort_by(|&a, &b| authors[a].name.cmp(&authors[b].name));
        let mut remap = vec![None; authors.len()];
        for (new, &old) in keep.iter().enumerate() {
            remap[old] = Some(new);
        }
        for p in posts.iter_mut() {
            p.author = p.author.and_then(|a| remap[a]);
        }
        let mut slots: Vec<Option<Author>> = authors.drain(..).map(Some).collect();
        let authors: Vec<Author> = keep.iter().map(|&a| slots[a].take().unwrap()).collect();

        // Related posts: shared tags count twice, shared categories once.
        let key = related_key(&posts, &tags, &categories);
        let related = match known {
            Some(k) if k.key == key && k.lists.len() == n => k,
            _ => RelatedLists {
                key,
                lists: {
                    use rayon::prelude::*;
                    (0..n)
                        .into_par_iter()
                        .map_init(
                            || Scores::new(n),
                            |sc, i| {
                                if posts[i].is_page() {
                                    Vec::new()
                                } else {
                                    related_of(i, &posts, &tags, &categories, sc)
                                }
                            },
                        )
                        .collect()
                },
            },
        };
        for (p, r) in posts.iter_mut().zip(&related.lists) {
            p.related = r.clone();
        }

        let earlier_pages = std::mem::take(&mut rows.pages);

        // Aliases and media.
        let aliases = resolve_aliases(rows.aliases, &posts, &post_index, &mut warnings);
        let mut media = Vec::new();
        for f in rows.files {
            let Some(&p) = post_index.get(&f.post_id) else {
                continue;
            };
            match media_of(&settings.root, &posts[p], &f) {
                Ok((source, file)) => media.push(Media {
                    post: p,
                    source,
                    file,
                }),
                Err(why) => warnings.push(why),
            }
        }

        let sections = sections_of(&site, rows.sections, &mut posts, listed);
        let mut snap = Snapshot {
            site,
            posts,
            categories,
            roots,
            sections,
            tags,
            authors,
            aliases,
            moved: Vec::new(),
            unrecorded: Vec::new(),
            media,
            drafts,
            built_at: now,
            warnings,
            related,
            link_targets: OnceLock::new(),
        };
        snap.keep_earlier_pages(earlier_pages);
        snap
    }
}

/// The snapshot's sections from their rows, with each post's section set and each section's
/// dated posts listed (`listed`: how many of `posts` are dated posts).
fn sections_of(
    site: &SiteInfo,
    rows: Vec<crate::store::sections::Section>,
    posts: &mut [Post],
    listed: usize,
) -> Vec<Section> {
    let mut sections: Vec<Section> = rows
        .into_iter()
        .map(|r| Section {
            path: site.path(&format!("{}/", r.path)),
            dir: r.path.clone(),
            key: r.path,
            title: r.title,
            description: r.description.unwrap_or_default(),
            content: r.content,
            parent: None,
            children: Vec::new(),
            posts: Vec::new(),
        })
        .collect();
    let by_key: HashMap<String, usize> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.clone(), i))
        .collect();
    for i in 0..sections.len() {
        let key = sections[i].key.clone();
        let parent = key
            .rmatch_indices('/')
            .find_map(|(at, _)| by_key.get(&key[..at]).copied());
        if let Some(p) = parent {
            sections[i].parent = Some(p);
            sections[p].children.push(i);
        }
    }
    for (i, p) in posts.iter_mut().enumerate() {
        p.section = p
            .row
            .section
            .as_deref()
            .and_then(|k| by_key.get(k).copied());
        if let Some(s) = p.section.filter(|_| i < listed) {
            sections[s].posts.push(i);
        }
    }
    sections
}

/// Where a link to another post (or to the site) leads (see [`Snapshot::link_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A post (index into `Snapshot::posts`).
    Post(usize),
    /// The site's origin or path (`{{ site.url }}`, `{{ site.baseurl }}`).
    Site(String),
    /// No post the site shows has that source file.
    Missing,
    /// Several posts' source files end the same way, none nearer the root than the others.
    Ambiguous(Vec<usize>),
}

/// The posts by the names links give their source files: a file name (`a.md`), a file name
/// without its extension (`2010-07-21-a`: Jekyll's `post_url`, Hugo's `ref`) and a bundle's
/// folder name (`a` for `a/index.md`). Plain data, made once per build.
#[derive(Debug, Clone, Default)]
pub struct LinkTargets {
    by_name: HashMap<String, Vec<usize>>,
}

impl LinkTargets {
    /// The names of every post's source file.
    pub fn new(posts: &[Post]) -> LinkTargets {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in posts.iter().enumerate() {
            let Some(source) = &p.row.source_path else {
                continue;
            };
            for form in source_forms(source) {
                let name = form.rsplit('/').next().unwrap_or(&form).to_string();
                let list = by_name.entry(name).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        LinkTargets { by_name }
    }

    /// The post whose source file `path` names: a path equal to one of its forms (see
    /// [`source_forms`]) or ending like one at a `/`. When several do, the one nearest the
    /// root (`@/a.md` is `content/a.md`, not `content/sub/a.md`).
    fn find(&self, posts: &[Post], path: &str, exact: bool) -> LinkTarget {
        let path = normalise(path);
        let name = path.rsplit('/').next().unwrap_or(&path);
        let Some(candidates) = self.by_name.get(name) else {
            return LinkTarget::Missing;
        };
        let tail = format!("/{path}");
        let mut best: Vec<usize> = Vec::new();
        let mut depth = usize::MAX;
        for &i in candidates {
            let Some(source) = &posts[i].row.source_path else {
                continue;
            };
            let hit = source_forms(source)
                .iter()
                .any(|f| *f == path || (!exact && f.ends_with(&tail)));
            let d = source.split('/').filter(|s| !s.is_empty()).count();
            if hit && d <= depth {
                if d < depth {
                    best.clear();
                    depth = d;
                }
                best.push(i);
            }
        }
        match best[..] {
            [] => LinkTarget::Missing,
            [i] => LinkTarget::Post(i),
            _ => LinkTarget::Ambiguous(best),
        }
    }
}

/// The forms a source path is linked by: itself, without its extension, and for a bundle
/// (`a/index.md`) its folder; `/`-separated, without empty, `.` or leading segments.
fn source_forms(source: &str) -> Vec<String> {
    let path = normalise(source);
    let mut forms = vec![path.clone()];
    let name_at = path.rfind('/').map_or(0, |i| i + 1);
    if let Some(dot) = path[name_at..].rfind('.').filter(|&d| d > 0) {
        forms.push(path[..name_at + dot].to_string());
        if &path[name_at..name_at + dot] == "index" && name_at > 0 {
            forms.push(path[..name_at - 1].to_string());
        }
    }
    forms
}

/// A path with `\`, empty, `.` and `..` segments resolved, without a leading `/`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for s in path.split(['/', '\\']) {
        match s {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

impl Snapshot {
    /// The posts by the names links give their source files, made on first use.
    pub fn link_targets(&self) -> &LinkTargets {
        self.link_targets
            .get_or_init(|| LinkTargets::new(&self.posts))
    }

    /// Where a link of `kind` to `target` (without its `#anchor`) in post `from`'s markdown
    /// leads. Zola's `@/` paths are under the content folder; Hugo's `ref` paths are tried from
    /// the post's own folder, then from the root (a bare file name is found anywhere); Jekyll's
    /// `post_url` names a file without its extension; an empty Hugo target is the post itself.
    pub fn link_target(&self, from: usize, kind: RefKind, target: &str) -> LinkTarget {
        let targets = self.link_targets();
        match kind {
            RefKind::SiteUrl => LinkTarget::Site(self.site.origin.clone()),
            RefKind::BaseUrl => LinkTarget::Site(self.site.root.trim_end_matches('/').into()),
            RefKind::Ref | RefKind::Relref if target.is_empty() => LinkTarget::Post(from),
            RefKind::Ref | RefKind::Relref if !target.starts_with('/') => {
                let here = self.posts[from].row.source_path.as_deref().and_then(|s| {
                    let dir = s.rsplit_once('/').map_or("", |(d, _)| d);
                    match targets.find(&self.posts, &format!("{dir}/{target}"), true) {
                        LinkTarget::Post(i) => Some(i),
                        _ => None,
                    }
                });
                match here {
                    Some(i) => LinkTarget::Post(i),
                    None => targets.find(&self.posts, target, false),
                }
            }
            _ if target.trim_matches('/').is_empty() => LinkTarget::Missing,
            _ => targets.find(&self.posts, target, false),
        }
    }

    /// What the links in post `from`'s markdown resolve against (see
    /// `markdown::render_linked`).
    pub fn links_from(&self, from: usize) -> PostLinks<'_> {
        PostLinks { snap: self, from }
    }
}

/// The links of one post's markdown, resolved against the snapshot: a post's URL path, the
/// site's origin or path.
pub struct PostLinks<'a> {
    snap: &'a Snapshot,
    from: usize,
}

impl Resolve for PostLinks<'_> {
    fn resolve(&self, kind: RefKind, target: &str) -> Option<String> {
        match self.snap.link_target(self.from, kind, target) {
            LinkTarget::Post(i) => Some(self.snap.posts[i].path.clone()),
            LinkTarget::Site(s) => Some(s),
            LinkTarget::Missing | LinkTarget::Ambiguous(_) => None,
        }
    }
}

impl Snapshot {
    /// Turns the pages posts were published at by earlier builds (post id, output file) into
    /// redirects to them where they moved since, unless a page or alias of this snapshot is
    /// there now; notes the pages of this snapshot not among them (`unrecorded`).
    fn keep_earlier_pages(&mut self, earlier: Vec<(i64, String)>) {
        let at: HashMap<i64, usize> = self
            .posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.row.id, i))
            .collect();
        let mut recorded = vec![false; self.posts.len()];
        let mut taken: HashSet<String> = self.posts.iter().map(|p| p.file.clone()).collect();
        taken.extend(self.aliases.iter().map(|a| a.file.clone()));
        for (id, file) in earlier {
            let Some(&i) = at.get(&id) else {
                continue;
            };
            if self.posts[i].file == file {
                recorded[i] = true;
            } else if taken.insert(file.clone()) {
                self.aliases.push(Alias {
                    post: i,
                    file: file.clone(),
                });
                self.moved.push(Moved { id, file });
            }
        }
        self.unrecorded = self
            .posts
            .iter()
            .zip(recorded)
            .filter(|(_, r)| !r)
            .map(|(p, _)| (p.row.id, p.file.clone()))
            .collect();
    }
}

/// A digest of everything [`related_of`] reads: each post's id, tags and categories (in the
/// posts' order), the posts of each tag and category, and the parameters.
fn related_key(posts: &[Post], tags: &[Tag], cats: &[Category]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    let ints = |h: &mut blake3::Hasher, label: u64, v: &[usize]| {
        h.update(&label.to_le_bytes());
        h.update(&(v.len() as u64).to_le_bytes());
        for &x in v {
            h.update(&(x as u64).to_le_bytes());
        }
    };
    ints(&mut h, 0, &[RELATED, RELATED_WINDOW, posts.len()]);
    for p in posts {
        h.update(&p.row.id.to_le_bytes());
        h.update(p.row.kind.as_str().as_bytes());
        ints(&mut h, 1, &p.tags);
        ints(&mut h, 2, &p.categories);
    }
    for t in tags {
        ints(&mut h, 3, &t.posts);
    }
    for c in cats {
        ints(&mut h, 4, &c.posts);
    }
    *h.finalize().as_bytes()
}

/// A score per post, reset after each use by clearing only what was touched (a hash map per
/// post made related posts the most expensive part of a snapshot).
struct Scores {
    score: Vec<u32>,
    touched: Vec<usize>,
}

impl Scores {
    fn new(n: usize) -> Scores {
        Scores {
            score: vec![0; n],
            touched: Vec::new(),
        }
    }
}

fn related_of(
    i: usize,
    posts: &[Post],
    tags: &[Tag],
    cats: &[Category],
    sc: &mut Scores,
) -> Vec<usize> {
    let mut add = |list: &[usize], weight: u32| {
        let at = list.binary_search(&i).unwrap_or_else(|x| x);
        let lo = at.saturating_sub(RELATED_WINDOW);
        let hi = (at + RELATED_WINDOW + 1).min(list.len());
        for &o in &list[lo..hi] {
            if o != i {
                if sc.score[o] == 0 {
                    sc.touched.push(o);
                }
                sc.score[o] += weight;
            }
        }
    };
    for &t in &posts[i].tags {
        add(&tags[t].posts, 2);
    }
    for &c in &posts[i].categories {
        add(&cats[c].posts, 1);
    }
    // Best score first; among equals, the post nearest in time, then the newer (a total
    // order, so keeping the best few while scanning gives the same list as sorting them all).
    let better = |a: (usize, u32), b: (usize, u32)| {
        b.1.cmp(&a.1)
            .then(a.0.abs_diff(i).cmp(&b.0.abs_diff(i)))
            .then(a.0.cmp(&b.0))
            .is_lt()
    };
    let mut v: Vec<(usize, u32)> = Vec::with_capacity(RELATED + 1);
    for &o in &sc.touched {
        let cand = (o, sc.score[o]);
        sc.score[o] = 0;
        if v.len() == RELATED && !better(cand, v[RELATED - 1]) {
            continue;
        }
        let at = v.iter().position(|&x| better(cand, x)).unwrap_or(v.len());
        v.insert(at, cand);
        v.truncate(RELATED);
    }
    sc.touched.clear();
    v.into_iter().map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_split_into_origin_and_root() {
        assert_eq!(
            split_base("https://a.b"),
            ("https://a.b".into(), "/".into())
        );
        assert_eq!(
            split_base("https://a.b/blog/"),
            ("https://a.b".into(), "/blog/".into())
        );
        assert_eq!(split_base("/"), ("".into(), "/".into()));
    }

    #[test]
    fn alias_paths_become_files() {
        assert_eq!(alias_file("/old/post/").unwrap(), "old/post/index.html");
        assert_eq!(alias_file("/old/post").unwrap(), "old/post/index.html");
        assert_eq!(alias_file("/2019/a.html").unwrap(), "2019/a.html");
        assert!(alias_file("/../etc/x").is_err());
        assert!(alias_file("/").is_err());
    }

    fn post(id: i64, slug: &str, site: &SiteInfo) -> Post {
        let row = PostRow {
            title: slug.to_uppercase(),
            date: "2024-05-01 23:30:00".parse().unwrap(),
            ..PostRow::for_test(id, slug)
        };
        Post::new(row, site, Utc::now())
    }

    fn dated_site(pattern: &str) -> SiteInfo {
        SiteInfo {
            root: "/blog/".into(),
            post_pattern: Pattern::parse(pattern).unwrap(),
            timezone: Timezone::parse("+02:00").unwrap(),
            ..SiteInfo::default()
        }
    }

    #[test]
    fn pages_come_after_the_posts_out_of_every_list_at_their_slug_or_path() {
        let settings = Settings::from_config(
            Path::new("/tmp/x"),
            toml::from_str("title='t'\nbase_url='/blog/'").unwrap(),
        )
        .unwrap();
        let row = |id: i64, slug: &str, kind: PostKind, date: &str| {
            let mut r = post(id, slug, &SiteInfo::default()).row;
            r.kind = kind;
            r.author_id = Some(1);
            r.date = date.parse().unwrap();
            r
        };
        let mut about = row(3, "about", PostKind::Page, "2024-06-01 00:00:00");
        let mut colophon = row(4, "colophon", PostKind::Page, "2024-01-01 00:00:00");
        colophon.path = Some("/site/colophon/".into());
        about.subtitle = Some("me".into());
        let rows = SiteRows {
            posts: vec![
                about,
                row(1, "old", PostKind::Post, "2024-02-01 00:00:00"),
                colophon,
                row(2, "new", PostKind::Post, "2024-03-01 00:00:00"),
            ],
            users: vec![crate::store::site::UserRow {
                id: 1,
                name: "Ann".into(),
                slug: None,
                avatar: None,
                bio: None,
            }],
            categories: vec![crate::store::site::CategoryRow {
                id: 1,
                name: "Notes".into(),
                slug: "notes".into(),
                description: String::new(),
                parent_id: None,
            }],
            tags: vec![
                crate::store::site::TagRow {
                    id: 1,
                    name: "rust".into(),
                    slug: "rust".into(),
                },
                crate::store::site::TagRow {
                    id: 2,
                    name: "only-pages".into(),
                    slug: "only-pages".into(),
                },
            ],
            post_categories: vec![(1, 1), (2, 1), (3, 1)],
            post_tags: vec![(1, 1), (2, 1), (3, 1), (3, 2)],
            ..SiteRows::default()
        };
        let snap = Snapshot::build(&settings, rows, "/blog/", false, Utc::now(), None);
        let order: Vec<(&str, bool)> = snap
            .posts
            .iter()
            .map(|p| (p.row.slug.as_str(), p.is_page()))
            .collect();
        assert_eq!(
            order,
            [
                ("new", false),
                ("old", false),
                ("about", true),
                ("colophon", true)
            ]
        );
        assert_eq!(snap.listed(), 2);
        assert_eq!(snap.posts[2].path, "/blog/about/");
        assert_eq!(snap.posts[3].path, "/blog/site/colophon/");
        // Neighbours only among posts; pages have none, and no related posts.
        assert_eq!((snap.posts[1].newer, snap.posts[1].older), (Some(0), None));
        for p in &snap.posts[2..] {
            assert_eq!((p.newer, p.older), (None, None));
            assert!(p.related.is_empty());
        }
        assert!(snap.posts.iter().all(|p| !p.related.contains(&2)));
        // Listings hold posts only; a tag only pages have is no listing at all.
        assert_eq!(snap.categories.len(), 1);
        assert_eq!(snap.categories[0].posts, [0, 1]);
        let tags: Vec<(&str, &[usize])> = snap
            .tags
            .iter()
            .map(|t| (t.name.as_str(), t.posts.as_slice()))
            .collect();
        assert_eq!(tags, [("rust", &[0usize, 1][..])]);
        assert_eq!(snap.authors[0].posts, [0, 1]);
    }

    #[test]
    fn a_kept_snapshots_posts_are_read_into_a_list_of_their_length() {
        let site = dated_site("/:slug/");
        let snap = Snapshot {
            posts: (1..=5).map(|i| post(i, &format!("p{i}"), &site)).collect(),
            ..Snapshot::default()
        };
        let back: Snapshot = postcard::from_bytes(&postcard::to_stdvec(&snap).unwrap()).unwrap();
        let slugs: Vec<&str> = back.posts.iter().map(|p| p.row.slug.as_str()).collect();
        assert_eq!(slugs, ["p1", "p2", "p3", "p4", "p5"]);
        assert_eq!(back.posts.capacity(), 5);
    }

    #[test]
    fn posts_are_placed_by_the_pattern_in_the_sites_zone_or_their_own_path() {
        let site = dated_site("/:year/:month/:day/:slug.html");
        let mut p = post(1, "a", &site);
        // 23:30 UTC is the next day at +02:00.
        assert_eq!(
            (p.dir.as_str(), p.file.as_str(), p.path.as_str()),
            ("2024/05/02", "2024/05/02/a.html", "/blog/2024/05/02/a.html")
        );
        assert_eq!(p.base(), "/blog/2024/05/02/");
        p.row.path = Some("/:categories/:title/".into());
        assert_eq!(p.place(&site, "tech/rust"), None);
        assert_eq!(p.path, "/blog/tech/rust/a/");
        p.row.path = Some("/:nope/".into());
        let w = p.place(&site, "").unwrap();
        assert!(w.contains(":nope") && w.contains("post edit #1"), "{w}");
        assert_eq!(p.file, "2024/05/02/a.html");
    }

    #[test]
    fn two_posts_with_one_url_get_one_each_with_a_warning() {
        let site = dated_site("/:year/:slug/");
        let mut posts = vec![post(7, "same", &site), post(3, "same", &site)];
        let mut warnings = Vec::new();
        unique_files(&site, &mut posts, &mut warnings);
        assert_eq!(posts[1].file, "2024/same/index.html");
        assert_eq!(posts[0].file, "2024/same-7/index.html");
        assert_eq!(posts[0].path, "/blog/2024/same-7/");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("(id 7)"), "{warnings:?}");
    }

    #[test]
    fn earlier_pages_of_moved_posts_become_redirects() {
        let site = dated_site("/:year/:slug/");
        let mut snap = Snapshot {
            posts: vec![post(1, "a", &site), post(2, "b", &site)],
            aliases: vec![Alias {
                post: 1,
                file: "old/b/index.html".into(),
            }],
            ..Snapshot::default()
        };
        snap.keep_earlier_pages(vec![
            (1, "posts/a/index.html".into()),
            (1, "2024/a/index.html".into()),
            // Its own alias now, and a post not on the site: no redirect.
            (2, "old/b/index.html".into()),
            (3, "posts/gone/index.html".into()),
        ]);
        assert_eq!(
            snap.moved,
            [Moved {
                id: 1,
                file: "posts/a/index.html".into()
            }]
        );
        assert_eq!(snap.aliases.len(), 2);
        assert_eq!(snap.aliases[1].post, 0);
        assert_eq!(snap.unrecorded, [(2, "2024/b/index.html".to_string())]);
    }

    #[test]
    fn aliases_of_every_shape_are_html_files_or_folders() {
        for (alias, file) in [
            // A page name stays that file.
            ("/x.html", "x.html"),
            ("x.html", "x.html"),
            ("/a/b.htm", "a/b.htm"),
            ("/A/B.HTML", "A/B.HTML"),
            ("/old/index.html", "old/index.html"),
            // Everything else is a folder's index page, dots or not.
            ("/x", "x/index.html"),
            ("x", "x/index.html"),
            ("/x/", "x/index.html"),
            ("/releases/1.16", "releases/1.16/index.html"),
            ("/releases/1.16/", "releases/1.16/index.html"),
            ("/v1.2.3", "v1.2.3/index.html"),
            ("/feed.xml", "feed.xml/index.html"),
            ("/data.json", "data.json/index.html"),
            ("/img/cat.png", "img/cat.png/index.html"),
            ("/x.html/", "x.html/index.html"),
            ("/x.htmlx", "x.htmlx/index.html"),
            // Query and fragment are not part of the file; empty segments collapse.
            ("/old/?page=2", "old/index.html"),
            ("/old.html#top", "old.html"),
            ("//a//b", "a/b/index.html"),
            ("  /padded/  ", "padded/index.html"),
            // Percent-encoded segments are written as a server decodes them.
            ("/caf%C3%A9/", "café/index.html"),
            ("/café/", "café/index.html"),
            ("/a%20b.html", "a b.html"),
        ] {
            assert_eq!(alias_file(alias).as_deref(), Ok(file), "{alias:?}");
        }
    }

    #[test]
    fn aliases_that_cannot_be_written_say_why() {
        for (alias, why) in [
            ("/", "site root"),
            ("", "site root"),
            ("/?p=12", "site root"),
            ("/index.html", "site root"),
            ("/#top", "site root"),
            ("https://other.example/x/", "not a site path"),
            ("/a\\b", "not a site path"),
            ("/../etc/x", "`..`"),
            ("/a/./b", "`..`"),
            ("/%2e%2e/x", "`..`"),
            ("/a%2fb/", "encoded `/`"),
            ("/a%00b/", "NUL"),
            ("/%ff/", "UTF-8"),
        ] {
            let e = alias_file(alias).expect_err(alias);
            assert!(e.contains(why), "{alias:?}: {e}");
        }
    }

    fn alias_post(id: i64, slug: &str) -> Post {
        let row = PostRow::for_test(id, slug);
        Post::new(row, &SiteInfo::default(), DateTime::UNIX_EPOCH)
    }

    #[test]
    fn aliases_that_clash_are_kept_once_and_named() {
        let posts = vec![alias_post(1, "a"), alias_post(2, "b")];
        let index: HashMap<i64, usize> = [(1, 0), (2, 1)].into();
        let rows: Vec<(i64, String)> = [
            (1, "/old"),
            (1, "/old/"),           // the same folder, same post: once, silently
            (2, "/old/index.html"), // the same file, another post: the first wins
            (1, "/posts/a/"),       // its own address: nothing to redirect
            (2, "/posts/a"),        // another post's address: the page wins
            (2, "/bad/../x"),
            (3, "/deleted/"), // a post not in the snapshot
            (2, "/b-old.html"),
        ]
        .into_iter()
        .map(|(p, a)| (p, a.to_string()))
        .collect();
        let mut warnings = Vec::new();
        let aliases = resolve_aliases(rows, &posts, &index, &mut warnings);
        let got: Vec<(usize, &str)> = aliases.iter().map(|a| (a.post, a.file.as_str())).collect();
        assert_eq!(got, [(0, "old/index.html"), (1, "b-old.html")]);
        assert_eq!(
            warnings,
            [
                "alias \"/old/index.html\" of post \"b\" skipped: it is written as \
                 old/index.html, as the alias \"/old\" of post \"a\" is",
                "alias \"/posts/a\" of post \"b\" skipped: it is the address of post \"a\"",
                "alias \"/bad/../x\" of post \"b\" skipped: it contains `.` or `..`",
            ]
        );
    }

    fn with_sources(sources: &[Option<&str>]) -> Snapshot {
        let mut snap = Snapshot::default();
        snap.site.root = "/blog/".into();
        snap.site.origin = "https://x.org".into();
        for (i, source) in sources.iter().enumerate() {
            let row = PostRow {
                title: format!("Post {i}"),
                date: "2020-01-01 00:00:00".parse().unwrap(),
                source_path: source.map(String::from),
                ..PostRow::for_test(i as i64, &format!("p{i}"))
            };
            let mut p = Post::new(row, &snap.site, Utc::now());
            p.path = format!("/blog/p{i}/");
            snap.posts.push(p);
        }
        snap
    }

    #[test]
    fn links_find_posts_by_their_source_files() {
        let snap = with_sources(&[
            Some("zola/content/blog/a.md"),
            Some("zola/content/sub-blog/a.md"),
            Some("/abs/jekyll/_posts/2010-07-21-name.markdown"),
            Some("hugo/content/posts/bundle/index.md"),
            Some("hugo/content/posts/other.md"),
            Some("x/dup.md"),
            Some("y/dup.md"),
            None,
            Some("zola/content/a.md"),
        ]);
        let t = |from: usize, kind: RefKind, target: &str| snap.link_target(from, kind, target);
        use LinkTarget::*;
        use RefKind::*;
        assert_eq!(t(0, Zola, "blog/a.md"), Post(0));
        assert_eq!(t(0, Zola, "sub-blog/a.md"), Post(1));
        // The one nearest the root: `@/a.md` is content/a.md.
        assert_eq!(t(0, Zola, "a.md"), Post(8));
        assert_eq!(t(0, Zola, "content/blog/a.md"), Post(0));
        assert_eq!(t(0, Zola, "log/a.md"), Missing);
        assert_eq!(t(0, Zola, "blog/b.md"), Missing);
        assert_eq!(t(0, Zola, ""), Missing);
        assert_eq!(t(0, PostUrl, "2010-07-21-name"), Post(2));
        assert_eq!(t(0, PostUrl, "/2010-07-21-name"), Post(2));
        assert_eq!(t(0, PostUrl, "_posts/2010-07-21-name"), Post(2));
        assert_eq!(t(0, PostUrl, "2010-07-21-other"), Missing);
        // Hugo: a bundle by its folder, a path with or without extension, relative paths.
        assert_eq!(t(0, Ref, "bundle"), Post(3));
        assert_eq!(t(0, Relref, "posts/bundle/index.md"), Post(3));
        assert_eq!(t(0, Ref, "/posts/other"), Post(4));
        assert_eq!(t(3, Ref, "../other.md"), Post(4));
        assert_eq!(t(3, Ref, "other.md"), Post(4));
        assert_eq!(t(4, Ref, ""), Post(4));
        assert_eq!(t(0, Ref, "dup.md"), Ambiguous(vec![5, 6]));
        assert_eq!(t(0, SiteUrl, ""), Site("https://x.org".into()));
        assert_eq!(t(0, BaseUrl, ""), Site("/blog".into()));
        let links = snap.links_from(3);
        assert_eq!(
            links.resolve(Ref, "../other.md").as_deref(),
            Some("/blog/p4/")
        );
        assert_eq!(links.resolve(Ref, "dup.md"), None);
        assert_eq!(links.resolve(Zola, "nothing.md"), None);
    }

    #[test]
    fn related_lists_round_trip_and_damage_is_refused() {
        let r = RelatedLists {
            key: [7; 32],
            lists: vec![vec![1, 2], vec![], vec![0]],
        };
        let b = r.encode();
        assert_eq!(RelatedLists::decode(&b), Some(r));
        for cut in [0, 5, 40, b.len() - 1] {
            assert_eq!(RelatedLists::decode(&b[..cut]), None, "cut at {cut}");
        }
        let mut bad = b.clone();
        let last = bad.len() - 4;
        bad[last..].copy_from_slice(&9u32.to_le_bytes()); // a post that does not exist
        assert_eq!(RelatedLists::decode(&bad), None);
    }
}
