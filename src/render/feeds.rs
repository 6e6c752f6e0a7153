//! The machine-read pages: Atom and RSS feeds, the sitemap and the search index.

use serde::Serialize;

use super::context::{clip, Card};
use super::routes::{jobs, route, scope_posts, Job, Scope};
use super::Renderer;
use crate::frontmatter::dates;
use crate::templates::TemplateContext as Context;

/// The `feed` variable of a feed.
#[derive(Serialize)]
struct FeedView<'a> {
    title: &'a str,
    id: String,
    url: String,
    alternate: String,
    updated: String,
    updated_rfc2822: String,
    origin: &'a str,
}

/// A post of a feed: its card, its content and its dates as feeds write them.
#[derive(Serialize)]
struct FeedEntry<'c, 'a> {
    #[serde(flatten)]
    card: &'c Card<'a>,
    content: &'c str,
    updated_utc: String,
    date_rfc2822: String,
}

/// A page of the sitemap.
#[derive(Serialize)]
pub(super) struct SitemapEntry {
    loc: String,
    lastmod: Option<String>,
}

/// A post of the search index (`search.json`). Its fields are written in this order.
#[derive(Serialize)]
struct SearchItem<'a> {
    date: String,
    excerpt: String,
    tags: Vec<&'a str>,
    title: &'a str,
    url: &'a str,
}

impl<'a> Renderer<'a> {
    /// A feed's template and context.
    pub(super) fn feed(
        &self,
        scope: Scope,
        path: &str,
        template: &'static str,
    ) -> (&'static str, Context) {
        let snap = self.plan.snap;
        let s = &snap.site;
        let list = scope_posts(snap, scope);
        let n = list.len().min(s.feed_limit);
        let (title, alternate) = match scope {
            Scope::Home => (s.title.clone(), s.root.clone()),
            Scope::Category(c) => {
                let c = &snap.categories[c];
                (format!("{} · {}", c.name, s.title), c.path.clone())
            }
            Scope::Tag(t) => {
                let t = &snap.tags[t];
                (format!("#{} · {}", t.name, s.title), t.path.clone())
            }
            Scope::Author(a) => {
                let a = &snap.authors[a];
                (format!("{} · {}", a.name, s.title), a.path.clone())
            }
            Scope::Section(i) => {
                let sec = &snap.sections[i];
                (format!("{} · {}", sec.title, s.title), sec.path.clone())
            }
        };
        // A post dated outside the years feeds can write (put into the store by hand; import
        // refuses such dates) is left out: the snapshot warns about it.
        let shown: Vec<usize> = (0..n)
            .map(|k| list.get(k))
            .filter(|&i| self.feedable(i))
            .collect();
        let entries: Vec<FeedEntry> = shown
            .iter()
            .map(|&i| {
                let p = self.post(i);
                FeedEntry {
                    card: self.card(i),
                    content: &self.body(i).html,
                    updated_utc: p.last_change().to_rfc3339(),
                    date_rfc2822: s.local(p.row.date.utc()).to_rfc2822(),
                }
            })
            .collect();
        let updated = shown
            .iter()
            .map(|&i| self.post(i).last_change())
            .max()
            .unwrap_or(snap.built_at);
        let mut ctx = self.page_ctx("feed", &title, "", path);
        ctx.insert(
            "feed",
            &FeedView {
                title: &title,
                id: s.permalink(path),
                url: s.permalink(path),
                alternate: s.permalink(&alternate),
                updated: updated.to_rfc3339(),
                updated_rfc2822: updated.to_rfc2822(),
                origin: &s.origin,
            },
        );
        ctx.insert("posts", &entries);
        (template, ctx)
    }

    /// Whether a post's dates can be written in a feed (see `frontmatter::dates::YEARS`).
    fn feedable(&self, i: usize) -> bool {
        let p = &self.post(i).row;
        let tz = &self.plan.snap.site.timezone;
        dates::writable(p.date.utc(), tz) && p.updated.is_none_or(|u| dates::writable(u.utc(), tz))
    }

    /// The sitemap's entries: every page made from posts, with the date it last changed.
    pub(super) fn sitemap(&self) -> Vec<SitemapEntry> {
        let snap = self.plan.snap;
        let s = &snap.site;
        let newest = snap.posts[..snap.listed()].first().map(|p| p.last_change());
        let mut out = Vec::new();
        for job in jobs(snap) {
            let lastmod = match job {
                Job::Post(i) => Some(self.post(i).last_change()),
                Job::Listing(scope, n) => {
                    let list = scope_posts(snap, scope);
                    let k = (n - 1) * s.paginate;
                    (k < list.len()).then(|| self.post(list.get(k)).row.date.utc())
                }
                Job::Categories | Job::Tags | Job::Archive => newest,
                _ => continue,
            };
            // A date the sitemap's format (four-digit years) cannot carry is left out.
            let lastmod = lastmod.filter(|d| dates::writable(*d, &s.timezone));
            let (_, path) = route(snap, job);
            out.push(SitemapEntry {
                loc: s.permalink(&path),
                lastmod: lastmod.map(|d| d.format("%Y-%m-%d").to_string()),
            });
        }
        out
    }

    /// `search.json`: every post's title, URL, date, tags and excerpt.
    pub(super) fn search(&self) -> serde_json::Result<Vec<u8>> {
        let snap = self.plan.snap;
        let items: Vec<SearchItem> = snap
            .posts
            .iter()
            .enumerate()
            .map(|(i, p)| SearchItem {
                title: &p.row.title,
                url: &p.path,
                date: snap.site.local(p.row.date.utc()).to_rfc3339(),
                tags: p.tags.iter().map(|&t| snap.tags[t].name.as_str()).collect(),
                excerpt: clip(self.plan.excerpt(i), 300),
            })
            .collect();
        serde_json::to_vec(&items)
    }
}
