//! What every page is made from, digested before anything is rendered: the [`Planner`] holds
//! the digests of each post (its row, card and page) and listing, and gives each page job its
//! fingerprint (two builds that give a job the same fingerprint make the same bytes) and the
//! posts whose rendered markdown it needs. A build keeps the digests for the next one (see
//! `pipeline::state`), which digests again only the posts that changed
//! ([`Planner::patched`]). Pure: no IO.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{listing_info, site_view};
use super::routes::{listing_range, route, scope_posts, Job, Scope};
use super::Renderer;
use crate::digest::Digest;
use crate::markdown::{self, Rendered};
use crate::snapshot::{Post, Snapshot};
use crate::templates::Templates;

/// What pages are made from, digested per post and per listing before anything is rendered
/// (see [`Planner::plan`]). A build keeps them for the next one (see `pipeline::state`), which
/// refreshes only the posts that changed ([`Planner::patched`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Digests {
    /// Plain-text excerpts derived from the markdown, for posts that store none.
    derived_excerpts: Vec<Option<String>>,
    /// Per post, a digest of what site-wide pages (archive, search, sitemap) show of it: its
    /// row, author, tags and categories, not its rendered markdown.
    #[serde(with = "crate::digest::digest_list")]
    meta: Vec<Digest>,
    /// Per post, a digest of its card: the meta digest and the summary from its markdown.
    #[serde(with = "crate::digest::digest_list")]
    card: Vec<Digest>,
    /// Per post, a digest of its page and feed entry: the card and the whole markdown.
    #[serde(with = "crate::digest::digest_list")]
    page: Vec<Digest>,
    /// Per listing scope (in [`Planner::scope_slot`] order), a digest of its title,
    /// description and object.
    #[serde(with = "crate::digest::digest_list")]
    scopes: Vec<Digest>,
    /// Digest of every post's meta digest and of the taxonomies, for the site-wide pages.
    everything: Digest,
}

/// The digests of some posts, and the site-wide digest, after [`Planner::patched`]: what a
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
        let scopes =
            1 + snap.categories.len() + snap.tags.len() + snap.authors.len() + snap.sections.len();
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
    match (&p.row.excerpt, &p.row.content) {
        (None, Some(c)) => markdown::excerpt_text(c),
        _ => None,
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

/// The first stage of rendering a snapshot: its digests, each page's fingerprint and the
/// posts each page needs. [`Planner::with_bodies`] then gives the [`Renderer`], which makes
/// pages, once the rendered markdown those pages need is loaded.
pub struct Planner<'a> {
    pub(super) snap: &'a Snapshot,
    pub(super) templates: &'a Templates,
    /// What every page sees of the site (`site` and `config` in templates).
    pub(super) site: Value,
    /// What each post's rendered markdown is made from (content, markdown options, link base):
    /// see `markdown::cache::body_key`. Same order as `snap.posts`.
    body_keys: Vec<[u8; 32]>,
    /// Digest of what every page sees (templates, site settings); `None` when templates use
    /// something that changes from build to build (`now()`...), so every page is made again.
    global: Option<blake3::Hash>,
    pub(super) d: Digests,
}

impl<'a> Planner<'a> {
    /// A planner with the given digests.
    fn with(
        snap: &'a Snapshot,
        templates: &'a Templates,
        body_keys: Vec<[u8; 32]>,
        d: Digests,
    ) -> Self {
        let site = site_view(snap);
        let mut p = Planner {
            snap,
            templates,
            site,
            body_keys,
            global: None,
            d,
        };
        p.global = p.global_digest();
        p
    }

    /// A planner whose digests are all computed from the snapshot. `body_keys` say what each
    /// post's rendered markdown is made from, `summaries` what its card shows of it (see
    /// `markdown::cache::summary_digest`); both in `snap.posts` order.
    pub fn new(
        snap: &'a Snapshot,
        templates: &'a Templates,
        body_keys: Vec<[u8; 32]>,
        summaries: &[[u8; 32]],
    ) -> Self {
        let mut r = Planner::with(snap, templates, body_keys, Digests::default());
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
            .chain((0..snap.authors.len()).map(Scope::Author))
            .chain((0..snap.sections.len()).map(Scope::Section));
        r.d.scopes = scopes.map(|scope| r.scope_digest(scope)).collect();
        r.d.everything = r.everything_digest();
        r
    }

    /// A planner with the digests an earlier build made of this snapshot, but for the
    /// `changed` posts (snapshot index, summary digest: see [`Planner::new`]), digested again
    /// with the site-wide digest over every post. The caller vouches that only their own rows,
    /// markdown or summaries changed, not which posts there are or how they are linked (their
    /// order, tags, categories, author): that changes other posts' digests too.
    pub fn patched(
        snap: &'a Snapshot,
        templates: &'a Templates,
        body_keys: Vec<[u8; 32]>,
        digests: Digests,
        changed: &[(usize, [u8; 32])],
    ) -> Self {
        let mut r = Planner::with(snap, templates, body_keys, digests);
        for &(i, ref summary) in changed {
            r.d.derived_excerpts[i] = derived_excerpt(&r.snap.posts[i]);
            r.d.meta[i] = *r.meta_digest(i).as_bytes();
            r.d.card[i] = r.card_digest(i, summary);
            r.d.page[i] = r.page_digest(i);
        }
        r.d.everything = r.everything_digest();
        r
    }

    /// The renderer of this plan, given the rendered markdown of (at least) the posts the
    /// jobs it will render need (see [`Planner::needs`]), in `snap.posts` order.
    pub fn with_bodies(self, bodies: Vec<Option<Rendered>>) -> Renderer<'a> {
        Renderer::new(self, bodies)
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
        let l = listing_info(self.snap, scope);
        let mut h = Parts::default();
        for part in [l.kind, l.template, &l.title, &l.description, l.key] {
            put(&mut h, part.as_bytes());
        }
        put(&mut h, &serde_json::to_vec(&l.object).unwrap_or_default());
        *h.finalize().as_bytes()
    }

    /// Where a listing scope's digest is in [`Digests::scopes`].
    fn scope_slot(&self, scope: Scope) -> usize {
        let (c, t) = (self.snap.categories.len(), self.snap.tags.len());
        let a = self.snap.authors.len();
        match scope {
            Scope::Home => 0,
            Scope::Category(i) => 1 + i,
            Scope::Tag(i) => 1 + c + i,
            Scope::Author(i) => 1 + c + t + i,
            Scope::Section(i) => 1 + c + t + a + i,
        }
    }

    /// A digest of what [`Renderer::card`] reads of a post but its rendered markdown: its row
    /// (and its markdown's hash when the excerpt is derived from it), its author, tags and
    /// categories with their parents.
    fn meta_digest(&self, i: usize) -> blake3::Hash {
        let snap = self.snap;
        let p = self.post(i);
        let row = &p.row;
        let mut h = Parts::default();
        let text = |h: &mut Parts, s: &str| put(h, s.as_bytes());
        let opt = |h: &mut Parts, s: &Option<String>| match s {
            Some(s) => put(h, s.as_bytes()),
            None => put(h, b"\0none"),
        };
        if row.excerpt.is_none() {
            put(&mut h, row.content_hash.as_bytes());
        }
        put(&mut h, &row.id.to_le_bytes());
        for s in [&row.title, &row.slug, &p.path, p.state(), row.kind.as_str()] {
            text(&mut h, s);
        }
        for s in [&row.subtitle, &row.cover_image, &row.excerpt] {
            opt(&mut h, s);
        }
        put(&mut h, &row.date.utc().timestamp().to_le_bytes());
        put(
            &mut h,
            &row.updated
                .map_or(i64::MIN, |u| u.utc().timestamp())
                .to_le_bytes(),
        );
        put(&mut h, &row.read_time.to_le_bytes());
        text(&mut h, &row.extra.to_string());
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
        if let Some(k) = p.section {
            let sec = &snap.sections[k];
            put(&mut h, b"section");
            for s in [&sec.title, &sec.key, &sec.path] {
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
                let list = scope_posts(self.snap, scope);
                out.extend(listing_range(self.snap, &list, n).map(|k| list.get(k)));
            }
            Job::Atom(_) | Job::Rss => {
                let scope = match job {
                    Job::Atom(scope) => scope,
                    _ => Scope::Home,
                };
                let list = scope_posts(self.snap, scope);
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

    fn global_digest(&self) -> Option<blake3::Hash> {
        let t = self.templates;
        if ["now(", "get_random", "get_env"]
            .iter()
            .any(|w| t.mention(w))
        {
            return None;
        }
        let mut site = self.site.clone();
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

    /// Every job whose fingerprint reads a digest of post `i` (see [`Planner::fingerprint`]):
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
        scopes.extend(p.section.map(Scope::Section));
        for scope in scopes {
            if let Some(at) = scope_posts(self.snap, scope).position(i) {
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
    pub fn plan(&self, job: Job) -> (String, Option<Digest>) {
        let (file, path) = route(self.snap, job);
        let f = self.fingerprint(job, &file, &path);
        (file, f)
    }

    fn fingerprint(&self, job: Job, file: &str, path: &str) -> Option<Digest> {
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
                let list = scope_posts(self.snap, scope);
                let per = self.snap.site.paginate;
                for x in [n, per, list.len()] {
                    put(&mut h, &(x as u64).to_le_bytes());
                }
                for k in listing_range(self.snap, &list, n) {
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
                let list = scope_posts(self.snap, scope);
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
            .row
            .excerpt
            .as_deref()
            .or(self.d.derived_excerpts[i].as_deref())
            .unwrap_or("")
    }
}
