//! Snapshot → page jobs → rendered pages. Pure: no IO, no locks, no store reads.
//!
//! `jobs` lists every page of the site; `Renderer::render` turns one job into bytes. The
//! caller runs jobs in parallel (rayon) and streams each page to the output as it comes.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::import::dates;
use crate::markdown::{self, Rendered};
use crate::snapshot::{Post, Snapshot};
use crate::templates::{escape, xml_text, TemplateContext as Context, Templates};

/// Whose posts a listing or feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    Home,
    Category(usize),
    Tag(usize),
    Author(usize),
}

/// One page of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// A page (1-based) of a paginated listing.
    Listing(Scope, usize),
    Post(usize),
    Categories,
    Tags,
    Archive,
    /// Atom feed of the site, a category or a tag.
    Atom(Scope),
    Rss,
    Sitemap,
    Robots,
    NotFound,
    Search,
    Alias(usize),
}

/// A rendered page: its file under the output root and its bytes.
#[derive(Debug, Clone)]
pub struct Page {
    pub file: String,
    pub bytes: Vec<u8>,
}

/// A page that failed: its route and the whole cause (template, line, chain).
#[derive(Debug, Clone)]
pub struct PageError {
    pub route: String,
    pub message: String,
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.route, self.message)
    }
}

/// Every page of a snapshot, posts first (the most expensive jobs start early).
pub fn jobs(snap: &Snapshot) -> Vec<Job> {
    let per = snap.site.paginate;
    let pages = |n: usize| n.div_ceil(per).max(1);
    let mut v: Vec<Job> = (0..snap.posts.len()).map(Job::Post).collect();
    for p in 1..=pages(snap.posts.len()) {
        v.push(Job::Listing(Scope::Home, p));
    }
    for (i, c) in snap.categories.iter().enumerate() {
        for p in 1..=pages(c.posts.len()) {
            v.push(Job::Listing(Scope::Category(i), p));
        }
        v.push(Job::Atom(Scope::Category(i)));
    }
    for (i, t) in snap.tags.iter().enumerate() {
        for p in 1..=pages(t.posts.len()) {
            v.push(Job::Listing(Scope::Tag(i), p));
        }
        v.push(Job::Atom(Scope::Tag(i)));
    }
    for (i, a) in snap.authors.iter().enumerate() {
        for p in 1..=pages(a.posts.len()) {
            v.push(Job::Listing(Scope::Author(i), p));
        }
    }
    v.extend([
        Job::Categories,
        Job::Tags,
        Job::Archive,
        Job::Atom(Scope::Home),
        Job::Rss,
        Job::Sitemap,
        Job::Robots,
        Job::NotFound,
        Job::Search,
    ]);
    v.extend((0..snap.aliases.len()).map(Job::Alias));
    v
}

/// Everything a render job reads: the snapshot, rendered bodies, templates.
pub struct Renderer<'a> {
    pub snap: &'a Snapshot,
    pub templates: &'a Templates,
    /// What each post's rendered markdown is made from (content, markdown options, link base):
    /// see `build::body_key`. Same order as `snap.posts`.
    body_keys: Vec<[u8; 32]>,
    /// Rendered markdown of the posts whose pages (or cards) are made this build; see
    /// [`Renderer::needs`] and [`Renderer::set_bodies`].
    bodies: Vec<Option<Rendered>>,
    /// Each post's card (what listings show), made once when first needed.
    cards: Vec<std::sync::OnceLock<Value>>,
    base: Context,
    /// Digest of what every page sees (templates, site settings); `None` when templates use
    /// something that changes from build to build (`now()`...), so every page is made again.
    global: Option<blake3::Hash>,
    d: Digests,
}

/// What pages are made from, digested per post and per listing before anything is rendered
/// (see [`Renderer::plan`]). A build keeps them for the next one (see `build::state`), which
/// refreshes only the posts that changed ([`Renderer::refresh`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Digests {
    /// Plain-text excerpts derived from the markdown, for posts that store none.
    derived_excerpts: Vec<Option<String>>,
    /// Per post, a digest of what site-wide pages (archive, search, sitemap) show of it: its
    /// row, author, tags and categories, not its rendered markdown.
    #[serde(with = "crate::output::digest_list")]
    meta: Vec<Digest>,
    /// Per post, a digest of its card: the meta digest and the summary from its markdown.
    #[serde(with = "crate::output::digest_list")]
    card: Vec<Digest>,
    /// Per post, a digest of its page and feed entry: the card and the whole markdown.
    #[serde(with = "crate::output::digest_list")]
    page: Vec<Digest>,
    /// Per listing scope (in [`Renderer::scope_slot`] order), a digest of its title,
    /// description and object.
    #[serde(with = "crate::output::digest_list")]
    scopes: Vec<Digest>,
    /// Digest of every post's meta digest and of the taxonomies, for the site-wide pages.
    everything: Digest,
}

type Digest = crate::output::Digest;

/// The digests of some posts, and the site-wide digest, after [`Renderer::refresh`]: what a
/// build that changed only those posts adds to the kept state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestsPatch {
    posts: Vec<(usize, Option<String>, Digest, Digest, Digest)>,
    everything: Digest,
}

impl Digests {
    /// These posts' digests and the site-wide one.
    pub fn patch(&self, posts: &[usize]) -> DigestsPatch {
        DigestsPatch {
            posts: posts
                .iter()
                .map(|&i| {
                    let excerpt = self.derived_excerpts[i].clone();
                    (i, excerpt, self.meta[i], self.card[i], self.page[i])
                })
                .collect(),
            everything: self.everything,
        }
    }

    /// Applies a patch made by [`Digests::patch`]; `false` (and nothing changed) when it
    /// names a post these digests do not have.
    pub fn apply(&mut self, patch: DigestsPatch) -> bool {
        let n = self.meta.len();
        if patch.posts.iter().any(|p| p.0 >= n) {
            return false;
        }
        for (i, excerpt, meta, card, page) in patch.posts {
            self.derived_excerpts[i] = excerpt;
            self.meta[i] = meta;
            self.card[i] = card;
            self.page[i] = page;
        }
        self.everything = patch.everything;
        true
    }

    /// Whether these can be a snapshot's digests: one of each per post and per listing scope.
    pub fn fit(&self, snap: &Snapshot) -> bool {
        let n = snap.posts.len();
        let scopes = 1 + snap.categories.len() + snap.tags.len() + snap.authors.len();
        [
            self.derived_excerpts.len(),
            self.meta.len(),
            self.card.len(),
            self.page.len(),
        ]
        .iter()
        .all(|&l| l == n)
            && self.scopes.len() == scopes
    }
}

/// A post's plain-text excerpt from its markdown, when it stores none and its markdown was read.
fn derived_excerpt(p: &Post) -> Option<String> {
    match (&p.excerpt, &p.content) {
        (None, Some(c)) => markdown::excerpt_text(c),
        _ => None,
    }
}

/// Moves a value into a template context (`Context::insert` would copy it once more).
fn give(ctx: &mut Context, key: &str, value: Value) {
    let mut m = serde_json::Map::new();
    m.insert(key.to_string(), value);
    if let Ok(c) = Context::from_value(Value::Object(m)) {
        ctx.extend(c);
    }
}

/// The parts of a digest, each length-prefixed (so parts never run together), hashed at once
/// (one BLAKE3 call per digest instead of one per part: these digests are made tens of
/// thousands of times per build).
#[derive(Default)]
struct Parts(Vec<u8>);

impl Parts {
    fn finalize(&self) -> blake3::Hash {
        blake3::hash(&self.0)
    }
}

/// Adds one length-prefixed part to a digest.
fn put(h: &mut Parts, part: &[u8]) {
    h.0.extend_from_slice(&(part.len() as u64).to_le_bytes());
    h.0.extend_from_slice(part);
}

/// Makes relative `href`/`src` attributes of an HTML fragment absolute against `base` (a URL
/// path ending in `/`).
pub fn rebase_links(html: &str, base: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r#"\b(href|src)="([^"]*)""#).expect("valid regex"));
    re.replace_all(html, |c: &regex::Captures| {
        let v = &c[2];
        let absolute = v.is_empty()
            || v.starts_with('/')
            || v.starts_with('#')
            || v.starts_with('?')
            || v.split_once(':').is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch))
            });
        if absolute {
            c[0].to_string()
        } else {
            format!("{}=\"{base}{}\"", &c[1], v.trim_start_matches("./"))
        }
    })
    .into_owned()
}

/// At most `max` characters, cut at a word, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

#[derive(Serialize)]
struct Paginator {
    current: usize,
    total_pages: usize,
    per_page: usize,
    total_posts: usize,
    first: String,
    last: String,
    prev: Option<String>,
    next: Option<String>,
}

impl<'a> Renderer<'a> {
    /// A renderer without digests yet.
    fn bare(snap: &'a Snapshot, templates: &'a Templates, body_keys: Vec<[u8; 32]>) -> Self {
        let s = &snap.site;
        let u = &s.urls;
        let site = json!({
            "title": s.title,
            "description": s.description,
            "author": s.author,
            "language": s.language,
            "base_url": s.base_url,
            "root": s.root,
            "extra": s.extra,
            "drafts": snap.drafts,
            "generated_at": s.local(snap.built_at).to_rfc3339(),
            "urls": {
                "home": s.root,
                "archive": s.path(&format!("{}/", u.archive)),
                "categories": s.path(&format!("{}/", u.categories)),
                "tags": s.path(&format!("{}/", u.tags)),
                "atom": s.path("atom.xml"),
                "rss": s.path("rss.xml"),
                "sitemap": s.path("sitemap.xml"),
                "search": s.path("search.json"),
                "style": s.path("style.css"),
                "syntax": s.path("syntax.css"),
            },
            "counts": {
                "posts": snap.posts.len(),
                "categories": snap.categories.len(),
                "tags": snap.tags.len(),
                "authors": snap.authors.len(),
            },
        });
        let mut base = Context::new();
        base.insert("config", &site);
        base.insert("site", &site);
        let n = snap.posts.len();
        let mut r = Renderer {
            snap,
            templates,
            body_keys,
            bodies: (0..n).map(|_| None).collect(),
            cards: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
            base,
            global: None,
            d: Digests::default(),
        };
        r.global = r.global_digest(&site);
        r
    }

    /// A renderer whose digests are all computed from the snapshot. `body_keys` say what each
    /// post's rendered markdown is made from, `summaries` what its card shows of it (see
    /// `markdown::cache::summary_digest`); both in `snap.posts` order.
    pub fn new(
        snap: &'a Snapshot,
        templates: &'a Templates,
        body_keys: Vec<[u8; 32]>,
        summaries: &[[u8; 32]],
    ) -> Self {
        let mut r = Renderer::bare(snap, templates, body_keys);
        let n = snap.posts.len();
        r.d.derived_excerpts = snap.posts.par_iter().map(derived_excerpt).collect();
        r.d.meta = (0..n)
            .into_par_iter()
            .map(|i| *r.meta_digest(i).as_bytes())
            .collect();
        r.d.card = (0..n).map(|i| r.card_digest(i, &summaries[i])).collect();
        r.d.page = (0..n).map(|i| r.page_digest(i)).collect();
        let scopes = std::iter::once(Scope::Home)
            .chain((0..snap.categories.len()).map(Scope::Category))
            .chain((0..snap.tags.len()).map(Scope::Tag))
            .chain((0..snap.authors.len()).map(Scope::Author));
        r.d.scopes = scopes.map(|scope| r.scope_digest(scope)).collect();
        r.d.everything = r.everything_digest();
        r
    }

    /// A renderer with the digests an earlier build made of this snapshot: the caller
    /// vouches that they are its digests, but for the posts it then passes to
    /// [`Renderer::refresh`].
    pub fn with_digests(
        snap: &'a Snapshot,
        templates: &'a Templates,
        body_keys: Vec<[u8; 32]>,
        digests: Digests,
    ) -> Self {
        let mut r = Renderer::bare(snap, templates, body_keys);
        r.d = digests;
        r
    }

    /// Digests the changed posts again, given the summary of each (see [`Renderer::new`]), and
    /// the site-wide digest over every post. Only their own rows, markdown or summaries may
    /// have changed, not which posts there are or how they are linked (their order, tags,
    /// categories, author): that changes other posts' digests too.
    pub fn refresh(&mut self, changed: &[(usize, [u8; 32])]) {
        for &(i, ref summary) in changed {
            self.d.derived_excerpts[i] = derived_excerpt(&self.snap.posts[i]);
            self.d.meta[i] = *self.meta_digest(i).as_bytes();
            self.d.card[i] = self.card_digest(i, summary);
            self.d.page[i] = self.page_digest(i);
        }
        self.d.everything = self.everything_digest();
    }

    /// The digests, to keep for the next build.
    pub fn digests(&self) -> &Digests {
        &self.d
    }

    /// The digest of what every page sees; `None` when pages must always be made.
    pub fn global(&self) -> Option<Digest> {
        self.global.map(|g| *g.as_bytes())
    }

    fn card_digest(&self, i: usize, summary: &[u8; 32]) -> Digest {
        let mut h = Parts::default();
        put(&mut h, &self.d.meta[i]);
        put(&mut h, summary);
        *h.finalize().as_bytes()
    }

    fn page_digest(&self, i: usize) -> Digest {
        let mut h = Parts::default();
        put(&mut h, &self.d.card[i]);
        put(&mut h, &self.body_keys[i]);
        *h.finalize().as_bytes()
    }

    fn scope_digest(&self, scope: Scope) -> Digest {
        let (kind, template, title, desc, key, obj) = self.scope_info(scope);
        let mut h = Parts::default();
        for part in [kind, template, &title, &desc, key] {
            put(&mut h, part.as_bytes());
        }
        put(&mut h, &serde_json::to_vec(&obj).unwrap_or_default());
        *h.finalize().as_bytes()
    }

    /// Where a listing scope's digest is in [`Digests::scopes`].
    fn scope_slot(&self, scope: Scope) -> usize {
        let (c, t) = (self.snap.categories.len(), self.snap.tags.len());
        match scope {
            Scope::Home => 0,
            Scope::Category(i) => 1 + i,
            Scope::Tag(i) => 1 + c + i,
            Scope::Author(i) => 1 + c + t + i,
        }
    }

    /// A digest of what [`Renderer::card`] reads of a post but its rendered markdown: its row
    /// (and its markdown's hash when the excerpt is derived from it), its author, tags and
    /// categories with their parents.
    fn meta_digest(&self, i: usize) -> blake3::Hash {
        let snap = self.snap;
        let p = self.post(i);
        let mut h = Parts::default();
        let text = |h: &mut Parts, s: &str| put(h, s.as_bytes());
        let opt = |h: &mut Parts, s: &Option<String>| match s {
            Some(s) => put(h, s.as_bytes()),
            None => put(h, b"\0none"),
        };
        if p.excerpt.is_none() {
            put(&mut h, p.content_hash.as_bytes());
        }
        put(&mut h, &p.id.to_le_bytes());
        for s in [&p.title, &p.slug, &p.path, p.state()] {
            text(&mut h, s);
        }
        for s in [&p.subtitle, &p.cover_image, &p.excerpt] {
            opt(&mut h, s);
        }
        put(&mut h, &p.date.timestamp().to_le_bytes());
        put(
            &mut h,
            &p.updated.map_or(i64::MIN, |u| u.timestamp()).to_le_bytes(),
        );
        put(&mut h, &p.read_time.to_le_bytes());
        text(&mut h, &p.extra.to_string());
        if let Some(a) = p.author {
            let a = &snap.authors[a];
            for s in [&a.name, &a.slug, &a.path] {
                text(&mut h, s);
            }
        }
        put(&mut h, b"tags");
        for &t in &p.tags {
            let t = &snap.tags[t];
            for s in [&t.name, &t.slug, &t.path] {
                text(&mut h, s);
            }
        }
        for &c in &p.categories {
            put(&mut h, b"category");
            let mut at = Some(c);
            while let Some(k) = at {
                let cat = &snap.categories[k];
                for s in [&cat.name, &cat.slug, &cat.path] {
                    text(&mut h, s);
                }
                at = cat.parent;
            }
        }
        h.finalize()
    }

    /// The posts whose rendered markdown a job reads (through their cards or content); the
    /// build loads exactly these before rendering the job.
    pub fn needs(&self, job: Job, out: &mut Vec<usize>) {
        match job {
            Job::Post(i) => {
                let p = self.post(i);
                out.push(i);
                out.extend(p.newer);
                out.extend(p.older);
                out.extend(&p.related);
            }
            Job::Listing(scope, n) => {
                let list = self.scope_posts(scope);
                let per = self.snap.site.paginate;
                let lo = ((n - 1) * per).min(list.len());
                let hi = (n * per).min(list.len());
                out.extend((lo..hi).map(|k| list.get(k)));
            }
            Job::Atom(_) | Job::Rss => {
                let scope = match job {
                    Job::Atom(scope) => scope,
                    _ => Scope::Home,
                };
                let list = self.scope_posts(scope);
                let n = list.len().min(self.snap.site.feed_limit);
                out.extend((0..n).map(|k| list.get(k)));
            }
            Job::Alias(a) => out.push(self.snap.aliases[a].post),
            Job::Categories
            | Job::Tags
            | Job::Archive
            | Job::Sitemap
            | Job::Robots
            | Job::NotFound
            | Job::Search => {}
        }
    }

    /// Hands over the rendered markdown of (at least) the posts the jobs to render need.
    pub fn set_bodies(&mut self, bodies: Vec<Option<Rendered>>) {
        debug_assert_eq!(bodies.len(), self.snap.posts.len());
        self.bodies = bodies;
    }

    /// A post's rendered markdown, when it was loaded.
    pub fn body_of(&self, i: usize) -> Option<&Rendered> {
        self.bodies[i].as_ref()
    }

    fn body(&self, i: usize) -> &Rendered {
        self.bodies[i]
            .as_ref()
            .expect("a job's bodies are loaded before it renders (see Renderer::needs)")
    }

    fn global_digest(&self, site: &Value) -> Option<blake3::Hash> {
        let t = self.templates;
        if ["now(", "get_random", "get_env"]
            .iter()
            .any(|w| t.mention(w))
        {
            return None;
        }
        let mut site = site.clone();
        if let Some(m) = site.as_object_mut() {
            // Left out unless a template shows them, so they do not remake every page.
            for key in ["generated_at", "counts"] {
                if !t.mention(key) {
                    m.remove(key);
                }
            }
        }
        let mut h = Parts::default();
        put(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        put(&mut h, t.digest().as_bytes());
        put(&mut h, &serde_json::to_vec(&site).unwrap_or_default());
        put(&mut h, format!("{:?}", self.snap.site).as_bytes());
        put(&mut h, &[self.snap.drafts as u8]);
        Some(h.finalize())
    }

    fn everything_digest(&self) -> Digest {
        let snap = self.snap;
        let mut h = Parts::default();
        for c in &self.d.meta {
            put(&mut h, c);
        }
        for c in &snap.categories {
            let line = format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {}",
                c.name,
                c.slug,
                c.description,
                c.dir,
                c.path,
                c.parent,
                c.children,
                c.depth,
                c.posts.len()
            );
            put(&mut h, line.as_bytes());
        }
        put(&mut h, format!("{:?}", snap.roots).as_bytes());
        for t in &snap.tags {
            let line = format!(
                "{:?} {:?} {:?} {:?} {}",
                t.name,
                t.slug,
                t.dir,
                t.path,
                t.posts.len()
            );
            put(&mut h, line.as_bytes());
        }
        for a in &snap.authors {
            let line = format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {}",
                a.name,
                a.slug,
                a.dir,
                a.path,
                a.avatar,
                a.bio,
                a.posts.len()
            );
            put(&mut h, line.as_bytes());
        }
        *h.finalize().as_bytes()
    }

    /// Every job whose fingerprint reads a digest of post `i` (see [`Renderer::fingerprint`]):
    /// its page, its neighbours' and the pages listing it as related, the listing pages and
    /// feeds it is on, its aliases and the site-wide pages. When only some posts' digests
    /// changed, no other job's fingerprint did.
    pub fn jobs_reading(&self, i: usize) -> Vec<Job> {
        let snap = self.snap;
        let p = self.post(i);
        let per = snap.site.paginate;
        let mut v = vec![Job::Post(i)];
        v.extend(p.newer.map(Job::Post));
        v.extend(p.older.map(Job::Post));
        v.extend(
            snap.posts
                .iter()
                .enumerate()
                .filter(|(_, o)| o.related.contains(&i))
                .map(|(j, _)| Job::Post(j)),
        );
        let mut scopes = vec![Scope::Home];
        scopes.extend(
            (0..snap.categories.len())
                .filter(|&c| snap.categories[c].posts.binary_search(&i).is_ok())
                .map(Scope::Category),
        );
        scopes.extend(p.tags.iter().map(|&t| Scope::Tag(t)));
        scopes.extend(p.author.map(Scope::Author));
        for scope in scopes {
            if let Some(at) = self.scope_posts(scope).position(i) {
                v.push(Job::Listing(scope, at / per + 1));
            }
            if !matches!(scope, Scope::Author(_)) {
                v.push(Job::Atom(scope));
            }
        }
        v.push(Job::Rss);
        v.extend(
            snap.aliases
                .iter()
                .enumerate()
                .filter(|(_, a)| a.post == i)
                .map(|(a, _)| Job::Alias(a)),
        );
        v.extend([
            Job::Categories,
            Job::Tags,
            Job::Archive,
            Job::Sitemap,
            Job::Search,
        ]);
        v
    }

    /// A job's output file and a digest of everything its page is made from: two builds that
    /// give a job the same fingerprint make the same bytes, so the second may reuse the
    /// first's file. No fingerprint when the page must always be made.
    pub fn plan(&self, job: Job) -> (String, Option<crate::output::Digest>) {
        let (file, path) = self.route(job);
        let f = self.fingerprint(job, &file, &path);
        (file, f)
    }

    fn fingerprint(&self, job: Job, file: &str, path: &str) -> Option<crate::output::Digest> {
        let mut h = Parts::default();
        put(&mut h, self.global?.as_bytes());
        put(&mut h, file.as_bytes());
        put(&mut h, path.as_bytes());
        match job {
            Job::Post(i) => {
                let p = self.post(i);
                put(&mut h, b"post");
                put(&mut h, &self.d.page[i]);
                for k in [p.newer, p.older] {
                    put(&mut h, k.map_or(&[][..], |k| &self.d.card[k]));
                }
                for &k in &p.related {
                    put(&mut h, &self.d.card[k]);
                }
            }
            Job::Listing(scope, n) => {
                put(&mut h, b"listing");
                put(&mut h, self.d.scopes.get(self.scope_slot(scope))?);
                let list = self.scope_posts(scope);
                let per = self.snap.site.paginate;
                for x in [n, per, list.len()] {
                    put(&mut h, &(x as u64).to_le_bytes());
                }
                let lo = ((n - 1) * per).min(list.len());
                let hi = (n * per).min(list.len());
                for k in lo..hi {
                    put(&mut h, &self.d.card[list.get(k)]);
                }
            }
            Job::Atom(_) | Job::Rss => {
                let scope = match job {
                    Job::Atom(scope) => scope,
                    _ => Scope::Home,
                };
                put(&mut h, if job == Job::Rss { b"rss" } else { b"atom" });
                put(&mut h, self.d.scopes.get(self.scope_slot(scope))?);
                let list = self.scope_posts(scope);
                let n = list.len().min(self.snap.site.feed_limit);
                if n == 0 {
                    // An empty feed is dated with the build.
                    return None;
                }
                for k in 0..n {
                    put(&mut h, &self.d.page[list.get(k)]);
                }
            }
            Job::Alias(a) => {
                put(&mut h, b"alias");
                put(&mut h, &self.d.card[self.snap.aliases[a].post]);
            }
            Job::Categories | Job::Tags | Job::Archive | Job::Sitemap | Job::Search => {
                put(&mut h, format!("{job:?}").as_bytes());
                put(&mut h, &self.d.everything);
            }
            Job::Robots | Job::NotFound => put(&mut h, format!("{job:?}").as_bytes()),
        }
        Some(*h.finalize().as_bytes())
    }

    fn post(&self, i: usize) -> &Post {
        &self.snap.posts[i]
    }

    /// Plain-text excerpt of a post, for meta descriptions and search.
    pub fn excerpt(&self, i: usize) -> &str {
        self.post(i)
            .excerpt
            .as_deref()
            .or(self.d.derived_excerpts[i].as_deref())
            .unwrap_or("")
    }

    fn summary_html(&self, i: usize) -> String {
        if let Some(s) = &self.body(i).summary_html {
            // Listings show the summary away from the post's folder: relative links and
            // images (raw HTML included) must point into it.
            return rebase_links(s, &self.post(i).path);
        }
        let e = self.excerpt(i);
        if e.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", escape(&clip(e, 300)))
        }
    }

    fn media_url(&self, p: &Post, v: &str) -> String {
        if v.contains("://") || v.starts_with("data:") {
            v.to_string()
        } else if v.starts_with('/') {
            self.snap.site.path(v)
        } else {
            format!("{}{}", p.path, v.trim_start_matches("./"))
        }
    }

    /// What listings, feeds and neighbours show of a post (made once, when first needed).
    fn card(&self, i: usize) -> &Value {
        self.cards[i].get_or_init(|| self.make_card(i))
    }

    fn make_card(&self, i: usize) -> Value {
        let s = &self.snap.site;
        let p = self.post(i);
        let local = s.local(p.date);
        let author = p.author.map(|a| {
            let a = &self.snap.authors[a];
            json!({"name": a.name, "slug": a.slug, "path": a.path})
        });
        let tags: Vec<Value> = p
            .tags
            .iter()
            .map(|&t| {
                let t = &self.snap.tags[t];
                json!({"name": t.name, "slug": t.slug, "path": t.path})
            })
            .collect();
        let categories: Vec<Value> = p
            .categories
            .iter()
            .map(|&c| {
                // The category with its parents, outermost first.
                let mut trail = Vec::new();
                let mut at = Some(c);
                while let Some(k) = at {
                    let cat = &self.snap.categories[k];
                    trail.push(json!({"name": cat.name, "slug": cat.slug, "path": cat.path}));
                    at = cat.parent;
                }
                trail.reverse();
                let cat = &self.snap.categories[c];
                json!({"name": cat.name, "slug": cat.slug, "path": cat.path, "trail": trail})
            })
            .collect();
        let updated = p.updated.filter(|u| *u > p.date).map(|u| s.local(u));
        json!({
            "id": p.id,
            "title": p.title,
            "subtitle": p.subtitle,
            "slug": p.slug,
            "path": p.path,
            "permalink": s.permalink(&p.path),
            "date": local.to_rfc3339(),
            "date_display": local.format("%-d %B %Y").to_string(),
            "year": local.format("%Y").to_string(),
            "updated": updated.map(|u| u.to_rfc3339()),
            "updated_display": updated.map(|u| u.format("%-d %B %Y").to_string()),
            "summary": self.summary_html(i),
            "description": clip(self.excerpt(i), 160),
            "has_more": self.body(i).summary_html.is_some(),
            "author": author,
            "tags": tags,
            "categories": categories,
            "status": p.state(),
            "is_draft": p.state() != "published",
            "read_time": p.read_time,
            "cover_image": p.cover_image.as_deref().map(|c| self.media_url(p, c)),
            "extra": p.extra,
        })
    }

    /// The site-relative file and URL path of a listing page.
    fn listing_dir(&self, scope: Scope) -> String {
        match scope {
            Scope::Home => String::new(),
            Scope::Category(c) => self.snap.categories[c].dir.clone(),
            Scope::Tag(t) => self.snap.tags[t].dir.clone(),
            Scope::Author(a) => self.snap.authors[a].dir.clone(),
        }
    }

    fn page_dir(&self, scope: Scope, page: usize) -> String {
        let d = self.listing_dir(scope);
        match (page, d.is_empty()) {
            (1, _) => d,
            (n, true) => format!("{}/{n}", self.snap.site.urls.page),
            (n, false) => format!("{d}/{}/{n}", self.snap.site.urls.page),
        }
    }

    fn scope_posts(&self, scope: Scope) -> ListRef<'_> {
        match scope {
            Scope::Home => ListRef::All(self.snap.posts.len()),
            Scope::Category(c) => ListRef::Some(&self.snap.categories[c].posts),
            Scope::Tag(t) => ListRef::Some(&self.snap.tags[t].posts),
            Scope::Author(a) => ListRef::Some(&self.snap.authors[a].posts),
        }
    }

    /// The output file and URL path of a job.
    pub fn route(&self, job: Job) -> (String, String) {
        let s = &self.snap.site;
        let dir_page = |d: String| {
            let file = if d.is_empty() {
                "index.html".to_string()
            } else {
                format!("{d}/index.html")
            };
            let path = if d.is_empty() {
                s.root.clone()
            } else {
                s.path(&format!("{d}/"))
            };
            (file, path)
        };
        let plain = |f: String| (f.clone(), s.path(&f));
        match job {
            Job::Listing(scope, n) => dir_page(self.page_dir(scope, n)),
            Job::Post(i) => dir_page(self.post(i).dir.clone()),
            Job::Categories => dir_page(s.urls.categories.clone()),
            Job::Tags => dir_page(s.urls.tags.clone()),
            Job::Archive => dir_page(s.urls.archive.clone()),
            Job::Atom(scope) => {
                let d = self.listing_dir(scope);
                plain(if d.is_empty() {
                    "atom.xml".into()
                } else {
                    format!("{d}/atom.xml")
                })
            }
            Job::Rss => plain("rss.xml".into()),
            Job::Sitemap => plain("sitemap.xml".into()),
            Job::Robots => plain("robots.txt".into()),
            Job::NotFound => plain("404.html".into()),
            Job::Search => plain("search.json".into()),
            Job::Alias(a) => plain(self.snap.aliases[a].file.clone()),
        }
    }

    fn page_ctx(&self, kind: &str, title: &str, description: &str, path: &str) -> Context {
        let s = &self.snap.site;
        let mut ctx = self.base.clone();
        let full_title = if title.is_empty() || title == s.title {
            s.title.clone()
        } else {
            format!("{title} · {}", s.title)
        };
        let description = if description.is_empty() {
            &s.description
        } else {
            description
        };
        ctx.insert(
            "page",
            &json!({
                "kind": kind,
                "title": title,
                "full_title": full_title,
                "description": description,
                "path": path,
                "permalink": s.permalink(path),
                "feed_path": s.path("atom.xml"),
            }),
        );
        ctx
    }

    fn cards_of(&self, list: &ListRef, range: std::ops::Range<usize>) -> Vec<&Value> {
        range.map(|k| self.card(list.get(k))).collect()
    }

    /// Renders one job.
    pub fn render(&self, job: Job) -> Result<Page, PageError> {
        let (file, path) = self.route(job);
        let fail = |message: String| PageError {
            route: path.clone(),
            message,
        };
        let mut needs = Vec::new();
        self.needs(job, &mut needs);
        if let Some(&i) = needs.iter().find(|&&i| self.bodies[i].is_none()) {
            return Err(fail(format!(
                "the markdown of post {:?} was not loaded for this page (a bug in bloggo: \
                 please report it; `bloggo build --clean` works around it)",
                self.post(i).slug
            )));
        }
        let bytes = match job {
            Job::Robots => format!(
                "User-agent: *\nAllow: /\n\nSitemap: {}\n",
                self.snap
                    .site
                    .permalink(&self.snap.site.path("sitemap.xml"))
            )
            .into_bytes(),
            Job::Search => self.search().map_err(|e| fail(e.to_string()))?,
            _ => {
                let (template, ctx) = self.context(job, &path);
                let text = self.templates.render(template, &ctx).map_err(fail)?;
                // Every XML file of the site is made here (feeds, sitemap, an alias ending in
                // .xml): characters XML 1.0 forbids are taken out of the whole of it, whatever
                // field or template they came from.
                if file.ends_with(".xml") {
                    match xml_text(&text) {
                        Cow::Borrowed(_) => text,
                        Cow::Owned(clean) => clean,
                    }
                } else {
                    text
                }
                .into_bytes()
            }
        };
        Ok(Page { file, bytes })
    }

    fn context(&self, job: Job, path: &str) -> (&'static str, Context) {
        let snap = self.snap;
        let s = &snap.site;
        match job {
            Job::Post(i) => {
                let p = self.post(i);
                let mut ctx = self.page_ctx(
                    "post",
                    &p.title,
                    self.card(i)["description"].as_str().unwrap_or(""),
                    path,
                );
                let mut post = self.card(i).clone();
                post["content"] = Value::String(self.body(i).html.clone());
                post["toc"] = serde_json::to_value(&self.body(i).toc).unwrap_or(Value::Null);
                post["newer"] = p.newer.map(|k| self.card(k).clone()).into();
                post["older"] = p.older.map(|k| self.card(k).clone()).into();
                post["related"] =
                    Value::Array(p.related.iter().map(|&k| self.card(k).clone()).collect());
                give(&mut ctx, "post", post);
                ("post.html", ctx)
            }
            Job::Listing(scope, n) => {
                let list = self.scope_posts(scope);
                let per = s.paginate;
                let total = list.len();
                let pages = total.div_ceil(per).max(1);
                let lo = ((n - 1) * per).min(total);
                let hi = (n * per).min(total);
                let url = |k: usize| s.path(&format!("{}/", self.page_dir(scope, k)));
                let paginator = Paginator {
                    current: n,
                    total_pages: pages,
                    per_page: per,
                    total_posts: total,
                    first: url(1),
                    last: url(pages),
                    prev: (n > 1).then(|| url(n - 1)),
                    next: (n < pages).then(|| url(n + 1)),
                };
                let (kind, template, title, desc, key, obj) = self.scope_info(scope);
                let title = if n > 1 {
                    format!("{title} (page {n})")
                } else {
                    title
                };
                let mut ctx = self.page_ctx(kind, &title, &clip(&desc, 160), path);
                if !key.is_empty() {
                    ctx.insert(key, &obj);
                }
                ctx.insert("posts", &self.cards_of(&list, lo..hi));
                ctx.insert("paginator", &paginator);
                (template, ctx)
            }
            Job::Categories => {
                let mut ctx = self.page_ctx("categories", "Categories", "", path);
                let tree: Vec<Value> = snap.roots.iter().map(|&c| self.cat_tree(c)).collect();
                ctx.insert("categories", &tree);
                ("categories.html", ctx)
            }
            Job::Tags => {
                let mut ctx = self.page_ctx("tags", "Tags", "", path);
                let tags: Vec<Value> = snap
                    .tags
                    .iter()
                    .map(|t| json!({"name": t.name, "slug": t.slug, "path": t.path, "count": t.posts.len()}))
                    .collect();
                ctx.insert("tags", &tags);
                ("tags.html", ctx)
            }
            Job::Archive => {
                let mut ctx = self.page_ctx("archive", "Archive", "", path);
                let mut years: Vec<Value> = Vec::new();
                let mut cur: Option<(String, String)> = None;
                for p in &snap.posts {
                    let d = s.local(p.date);
                    let y = d.format("%Y").to_string();
                    let m = d.format("%m").to_string();
                    let entry = json!({"title": p.title, "path": p.path, "date": d.to_rfc3339(),
                        "date_display": d.format("%-d %B").to_string(), "status": p.state(),
                        "is_draft": p.state() != "published"});
                    if cur.as_ref().map(|c| &c.0) != Some(&y) {
                        years.push(json!({"year": y, "months": []}));
                    }
                    let months = years.last_mut().unwrap()["months"].as_array_mut().unwrap();
                    if cur.as_ref() != Some(&(y.clone(), m.clone())) {
                        months.push(
                            json!({"month": m, "name": d.format("%B").to_string(), "posts": []}),
                        );
                    }
                    months.last_mut().unwrap()["posts"]
                        .as_array_mut()
                        .unwrap()
                        .push(entry);
                    cur = Some((y, m));
                }
                give(&mut ctx, "years", Value::Array(years));
                ("archive.html", ctx)
            }
            Job::Atom(scope) => self.feed(scope, path, "atom.xml"),
            Job::Rss => self.feed(Scope::Home, path, "rss.xml"),
            Job::Sitemap => {
                let mut ctx = self.page_ctx("sitemap", "Sitemap", "", path);
                give(&mut ctx, "entries", Value::Array(self.sitemap()));
                ("sitemap.xml", ctx)
            }
            Job::NotFound => ("404.html", self.page_ctx("404", "Page not found", "", path)),
            Job::Alias(a) => {
                let al = &snap.aliases[a];
                let p = self.post(al.post);
                let mut ctx = self.page_ctx("alias", &p.title, "", path);
                ctx.insert("target", &s.permalink(&p.path));
                ctx.insert("post", self.card(al.post));
                ("alias.html", ctx)
            }
            Job::Robots | Job::Search => unreachable!("rendered without a template"),
        }
    }

    /// A listing's kind, template, title, description, context key and object.
    #[allow(clippy::type_complexity)]
    fn scope_info(
        &self,
        scope: Scope,
    ) -> (
        &'static str,
        &'static str,
        String,
        String,
        &'static str,
        Value,
    ) {
        let snap = self.snap;
        let s = &snap.site;
        match scope {
            Scope::Home => (
                "index",
                "index.html",
                s.title.clone(),
                s.description.clone(),
                "",
                Value::Null,
            ),
            Scope::Category(c) => {
                let c = &snap.categories[c];
                let desc = if c.description.is_empty() {
                    format!("Posts in {}", c.name)
                } else {
                    c.description.clone()
                };
                let trail: Vec<Value> = {
                    let mut v = Vec::new();
                    let mut at = c.parent;
                    while let Some(k) = at {
                        let p = &snap.categories[k];
                        v.push(json!({"name": p.name, "path": p.path}));
                        at = p.parent;
                    }
                    v.reverse();
                    v
                };
                let children: Vec<Value> = c
                    .children
                    .iter()
                    .map(|&k| {
                        let k = &snap.categories[k];
                        json!({"name": k.name, "path": k.path, "count": k.posts.len()})
                    })
                    .collect();
                let obj = json!({"name": c.name, "slug": c.slug, "description": c.description,
                    "path": c.path, "count": c.posts.len(), "parents": trail, "children": children,
                    "feed_path": s.path(&format!("{}/atom.xml", c.dir))});
                (
                    "category",
                    "category.html",
                    c.name.clone(),
                    desc,
                    "category",
                    obj,
                )
            }
            Scope::Tag(t) => {
                let t = &snap.tags[t];
                let obj = json!({"name": t.name, "slug": t.slug, "path": t.path, "count": t.posts.len(),
                    "feed_path": s.path(&format!("{}/atom.xml", t.dir))});
                (
                    "tag",
                    "tag.html",
                    format!("#{}", t.name),
                    format!("Posts tagged {}", t.name),
                    "tag",
                    obj,
                )
            }
            Scope::Author(a) => {
                let a = &snap.authors[a];
                let obj = json!({"name": a.name, "slug": a.slug, "path": a.path, "count": a.posts.len(),
                    "bio": a.bio, "avatar": a.avatar});
                let desc = a
                    .bio
                    .clone()
                    .unwrap_or_else(|| format!("Posts by {}", a.name));
                ("author", "author.html", a.name.clone(), desc, "author", obj)
            }
        }
    }

    fn cat_tree(&self, c: usize) -> Value {
        let cat = &self.snap.categories[c];
        json!({
            "name": cat.name, "slug": cat.slug, "path": cat.path, "description": cat.description,
            "count": cat.posts.len(), "depth": cat.depth,
            "children": cat.children.iter().map(|&k| self.cat_tree(k)).collect::<Vec<_>>(),
        })
    }

    fn feed(&self, scope: Scope, path: &str, template: &'static str) -> (&'static str, Context) {
        let s = &self.snap.site;
        let list = self.scope_posts(scope);
        let n = list.len().min(s.feed_limit);
        let (title, alternate) = match scope {
            Scope::Home => (s.title.clone(), s.root.clone()),
            Scope::Category(c) => {
                let c = &self.snap.categories[c];
                (format!("{} · {}", c.name, s.title), c.path.clone())
            }
            Scope::Tag(t) => {
                let t = &self.snap.tags[t];
                (format!("#{} · {}", t.name, s.title), t.path.clone())
            }
            Scope::Author(a) => {
                let a = &self.snap.authors[a];
                (format!("{} · {}", a.name, s.title), a.path.clone())
            }
        };
        // A post dated outside the years feeds can write (put into the store by hand; import
        // refuses such dates) is left out: the snapshot warns about it.
        let shown: Vec<usize> = (0..n)
            .map(|k| list.get(k))
            .filter(|&i| self.feedable(i))
            .collect();
        let entries: Vec<Value> = shown
            .iter()
            .map(|&i| {
                let p = self.post(i);
                let mut e = self.card(i).clone();
                e["content"] = Value::String(self.body(i).html.clone());
                let upd = p.updated.filter(|u| *u > p.date).unwrap_or(p.date);
                e["updated_utc"] = Value::String(upd.to_rfc3339());
                e["date_rfc2822"] = Value::String(s.local(p.date).to_rfc2822());
                e
            })
            .collect();
        let updated = shown
            .iter()
            .map(|&i| {
                let p = self.post(i);
                p.updated.filter(|u| *u > p.date).unwrap_or(p.date)
            })
            .max()
            .unwrap_or(self.snap.built_at);
        let mut ctx = self.page_ctx("feed", &title, "", path);
        ctx.insert(
            "feed",
            &json!({
                "title": title,
                "id": s.permalink(path),
                "url": s.permalink(path),
                "alternate": s.permalink(&alternate),
                "updated": updated.to_rfc3339(),
                "updated_rfc2822": updated.to_rfc2822(),
                "origin": s.origin,
            }),
        );
        give(&mut ctx, "posts", Value::Array(entries));
        (template, ctx)
    }

    /// Whether a post's dates can be written in a feed (see `import::dates::YEARS`).
    fn feedable(&self, i: usize) -> bool {
        let p = self.post(i);
        let tz = &self.snap.site.timezone;
        dates::writable(p.date, tz) && p.updated.is_none_or(|u| dates::writable(u, tz))
    }

    fn sitemap(&self) -> Vec<Value> {
        let snap = self.snap;
        let s = &snap.site;
        let newest = snap
            .posts
            .first()
            .map(|p| p.updated.unwrap_or(p.date).max(p.date));
        let mut out = Vec::new();
        for job in jobs(snap) {
            let lastmod = match job {
                Job::Post(i) => {
                    let p = self.post(i);
                    Some(p.updated.unwrap_or(p.date).max(p.date))
                }
                Job::Listing(scope, n) => {
                    let list = self.scope_posts(scope);
                    let k = (n - 1) * s.paginate;
                    (k < list.len()).then(|| self.post(list.get(k)).date)
                }
                Job::Categories | Job::Tags | Job::Archive => newest,
                _ => continue,
            };
            // A date the sitemap's format (four-digit years) cannot carry is left out.
            let lastmod = lastmod.filter(|d| dates::writable(*d, &s.timezone));
            let (_, path) = self.route(job);
            out.push(json!({
                "loc": s.permalink(&path),
                "lastmod": lastmod.map(|d| d.format("%Y-%m-%d").to_string()),
            }));
        }
        out
    }

    fn search(&self) -> serde_json::Result<Vec<u8>> {
        let items: Vec<Value> = self
            .snap
            .posts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "title": p.title,
                    "url": p.path,
                    "date": self.snap.site.local(p.date).to_rfc3339(),
                    "tags": p.tags.iter().map(|&t| &self.snap.tags[t].name).collect::<Vec<_>>(),
                    "excerpt": clip(self.excerpt(i), 300),
                })
            })
            .collect();
        serde_json::to_vec(&items)
    }
}

/// A list of post indexes: every post, or some.
enum ListRef<'a> {
    All(usize),
    Some(&'a [usize]),
}

impl ListRef<'_> {
    fn len(&self) -> usize {
        match self {
            ListRef::All(n) => *n,
            ListRef::Some(v) => v.len(),
        }
    }
    fn get(&self, k: usize) -> usize {
        match self {
            ListRef::All(_) => k,
            ListRef::Some(v) => v[k],
        }
    }
    /// Where post `i` is in the list (lists are in the posts' order).
    fn position(&self, i: usize) -> Option<usize> {
        match self {
            ListRef::All(n) => (i < *n).then_some(i),
            ListRef::Some(v) => v.binary_search(&i).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_links_are_rebased() {
        assert_eq!(
            rebase_links(
                r##"<img src="cat.png"><a href="/x/">x</a><a href="#f">f</a><a href="https://a">a</a><a href="./b.pdf">b</a>"##,
                "/posts/p/"
            ),
            r##"<img src="/posts/p/cat.png"><a href="/x/">x</a><a href="#f">f</a><a href="https://a">a</a><a href="/posts/p/b.pdf">b</a>"##
        );
    }

    #[test]
    fn clip_cuts_at_a_word() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("one two three four", 12), "one two…");
    }
}
