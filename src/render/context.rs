//! Template contexts: what each page's template sees, as typed views of the snapshot (`site`,
//! `page`, a post's card, listings, archive, taxonomies). A field a template may read is a
//! field of one of these structs; serialized, they are the template's variables.

use serde::Serialize;
use serde_json::Value;

use super::routes::{listing_range, page_dir, scope_posts, Job, ListRef, Scope};
use super::Renderer;
use crate::markdown::TocEntry;
use crate::snapshot::{Post, Snapshot};
use crate::templates::{escape, TemplateContext as Context};

/// What every page sees of the site (`site`, and `config` for older templates).
#[derive(Serialize)]
struct SiteView<'a> {
    title: &'a str,
    description: &'a str,
    author: &'a str,
    language: &'a str,
    base_url: &'a str,
    root: &'a str,
    extra: &'a Value,
    drafts: bool,
    generated_at: String,
    urls: SiteUrls,
    counts: SiteCounts,
    /// `[[menu]]` links, in order (empty when none is configured).
    menu: &'a [crate::menu::MenuLink],
    /// `[analytics] beacon` (null when unset: the theme adds no script).
    beacon: Option<&'a str>,
}

#[derive(Serialize)]
struct SiteUrls {
    home: String,
    archive: String,
    categories: String,
    tags: String,
    atom: String,
    rss: String,
    sitemap: String,
    search: String,
    style: String,
    syntax: String,
}

#[derive(Serialize)]
struct SiteCounts {
    posts: usize,
    categories: usize,
    tags: usize,
    authors: usize,
}

/// The `site` variable of every page, as a value (the planner digests it, leaving out what no
/// template shows; the renderer puts it into every context).
pub(super) fn site_view(snap: &Snapshot) -> Value {
    let s = &snap.site;
    let u = &s.urls;
    let site = SiteView {
        title: &s.title,
        description: &s.description,
        author: &s.author,
        language: &s.language,
        base_url: &s.base_url,
        root: &s.root,
        extra: &s.extra,
        drafts: snap.drafts,
        generated_at: s.local(snap.built_at).to_rfc3339(),
        urls: SiteUrls {
            home: s.root.clone(),
            archive: s.path(&format!("{}/", u.archive)),
            categories: s.path(&format!("{}/", u.categories)),
            tags: s.path(&format!("{}/", u.tags)),
            atom: s.path("atom.xml"),
            rss: s.path("rss.xml"),
            sitemap: s.path("sitemap.xml"),
            search: s.path("search.json"),
            style: s.path("style.css"),
            syntax: s.path("syntax.css"),
        },
        menu: &s.menu,
        beacon: s.beacon.as_deref(),
        counts: SiteCounts {
            posts: snap.listed(),
            categories: snap.categories.len(),
            tags: snap.tags.len(),
            authors: snap.authors.len(),
        },
    };
    serde_json::to_value(site).unwrap_or(Value::Null)
}

/// The `page` variable: what page this is.
#[derive(Serialize)]
struct PageView<'a> {
    kind: &'a str,
    title: &'a str,
    full_title: String,
    description: &'a str,
    path: &'a str,
    permalink: String,
    feed_path: String,
}

/// A name and where it is (an author, a tag, a category).
#[derive(Serialize)]
pub(super) struct Link<'a> {
    name: &'a str,
    slug: &'a str,
    path: &'a str,
}

/// A post's category, with its parents, outermost first.
#[derive(Serialize)]
pub(super) struct CategoryLink<'a> {
    name: &'a str,
    slug: &'a str,
    path: &'a str,
    trail: Vec<Link<'a>>,
}

/// What listings, feeds and neighbours show of a post (made once per build, when first needed).
#[derive(Serialize)]
pub(super) struct Card<'a> {
    id: i64,
    title: &'a str,
    subtitle: Option<&'a str>,
    slug: &'a str,
    path: &'a str,
    permalink: String,
    date: String,
    date_display: String,
    year: String,
    updated: Option<String>,
    updated_display: Option<String>,
    summary: String,
    pub(super) description: String,
    has_more: bool,
    author: Option<Link<'a>>,
    tags: Vec<Link<'a>>,
    categories: Vec<CategoryLink<'a>>,
    /// Its section (name, folder, path), when it is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<Link<'a>>,
    status: &'static str,
    is_draft: bool,
    read_time: u32,
    cover_image: Option<String>,
    extra: &'a Value,
}

/// The `post` variable of a post's page: its card, its content and its neighbours' cards.
#[derive(Serialize)]
struct PostView<'c, 'a> {
    #[serde(flatten)]
    card: &'c Card<'a>,
    content: &'c str,
    toc: &'c [TocEntry],
    newer: Option<&'c Card<'a>>,
    older: Option<&'c Card<'a>>,
    related: Vec<&'c Card<'a>>,
}

/// The `paginator` variable of a listing page.
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

#[derive(Serialize)]
struct TagView<'a> {
    name: &'a str,
    slug: &'a str,
    path: &'a str,
    count: usize,
}

/// A category of the categories page, with its subcategories.
#[derive(Serialize)]
struct CategoryTree<'a> {
    name: &'a str,
    slug: &'a str,
    path: &'a str,
    description: &'a str,
    count: usize,
    depth: usize,
    children: Vec<CategoryTree<'a>>,
}

#[derive(Serialize)]
struct ArchiveYear<'a> {
    year: String,
    months: Vec<ArchiveMonth<'a>>,
}

#[derive(Serialize)]
struct ArchiveMonth<'a> {
    month: String,
    name: String,
    posts: Vec<ArchiveEntry<'a>>,
}

#[derive(Serialize)]
struct ArchiveEntry<'a> {
    title: &'a str,
    path: &'a str,
    date: String,
    date_display: String,
    status: &'static str,
    is_draft: bool,
}

/// A category, tag or author a listing shows the posts of.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum ListingObject<'a> {
    Category {
        name: &'a str,
        slug: &'a str,
        description: &'a str,
        path: &'a str,
        count: usize,
        parents: Vec<PathLink<'a>>,
        children: Vec<ChildLink<'a>>,
        feed_path: String,
    },
    Tag {
        name: &'a str,
        slug: &'a str,
        path: &'a str,
        count: usize,
        feed_path: String,
    },
    Author {
        name: &'a str,
        slug: &'a str,
        path: &'a str,
        count: usize,
        bio: Option<&'a str>,
        avatar: Option<&'a str>,
    },
    Section {
        title: &'a str,
        /// Its folder (`blog`, `notes/rust`).
        key: &'a str,
        description: &'a str,
        /// Its `_index.md` text, as HTML.
        content: String,
        path: &'a str,
        count: usize,
        parents: Vec<PathLink<'a>>,
        children: Vec<ChildLink<'a>>,
        feed_path: String,
    },
}

#[derive(Serialize)]
pub(super) struct PathLink<'a> {
    name: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
pub(super) struct ChildLink<'a> {
    name: &'a str,
    path: &'a str,
    count: usize,
}

/// The links of a node of a tree (categories, sections): its parents, outermost first, from
/// `parent` up, and its `children`; `node` gives a node's name, path, parent and post count.
fn tree_links<'a, T>(
    nodes: &'a [T],
    parent: Option<usize>,
    children: &[usize],
    node: impl Fn(&'a T) -> (&'a String, &'a String, Option<usize>, usize),
) -> (Vec<PathLink<'a>>, Vec<ChildLink<'a>>) {
    let mut parents = Vec::new();
    let mut at = parent;
    while let Some(k) = at {
        let (name, path, up, _) = node(&nodes[k]);
        parents.push(PathLink { name, path });
        at = up;
    }
    parents.reverse();
    let children = children
        .iter()
        .map(|&k| {
            let (name, path, _, count) = node(&nodes[k]);
            ChildLink { name, path, count }
        })
        .collect();
    (parents, children)
}

/// What a listing is: its kind, template, title, description, and the object its template
/// sees under `key` (none for the home listing).
pub(super) struct ListingInfo<'a> {
    pub(super) kind: &'static str,
    pub(super) template: &'static str,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) key: &'static str,
    pub(super) object: Option<ListingObject<'a>>,
}

/// A listing scope's kind, template, title, description and object.
pub(super) fn listing_info(snap: &Snapshot, scope: Scope) -> ListingInfo<'_> {
    let s = &snap.site;
    match scope {
        Scope::Home => ListingInfo {
            kind: "index",
            template: "index.html",
            title: s.title.clone(),
            description: s.description.clone(),
            key: "",
            object: None,
        },
        Scope::Category(c) => {
            let c = &snap.categories[c];
            let description = if c.description.is_empty() {
                format!("Posts in {}", c.name)
            } else {
                c.description.clone()
            };
            let (parents, children) = tree_links(&snap.categories, c.parent, &c.children, |k| {
                (&k.name, &k.path, k.parent, k.posts.len())
            });
            ListingInfo {
                kind: "category",
                template: "category.html",
                title: c.name.clone(),
                description,
                key: "category",
                object: Some(ListingObject::Category {
                    name: &c.name,
                    slug: &c.slug,
                    description: &c.description,
                    path: &c.path,
                    count: c.posts.len(),
                    parents,
                    children,
                    feed_path: s.path(&format!("{}/atom.xml", c.dir)),
                }),
            }
        }
        Scope::Tag(t) => {
            let t = &snap.tags[t];
            ListingInfo {
                kind: "tag",
                template: "tag.html",
                title: format!("#{}", t.name),
                description: format!("Posts tagged {}", t.name),
                key: "tag",
                object: Some(ListingObject::Tag {
                    name: &t.name,
                    slug: &t.slug,
                    path: &t.path,
                    count: t.posts.len(),
                    feed_path: s.path(&format!("{}/atom.xml", t.dir)),
                }),
            }
        }
        Scope::Author(a) => {
            let a = &snap.authors[a];
            let description = a
                .bio
                .clone()
                .unwrap_or_else(|| format!("Posts by {}", a.name));
            ListingInfo {
                kind: "author",
                template: "author.html",
                title: a.name.clone(),
                description,
                key: "author",
                object: Some(ListingObject::Author {
                    name: &a.name,
                    slug: &a.slug,
                    path: &a.path,
                    count: a.posts.len(),
                    bio: a.bio.as_deref(),
                    avatar: a.avatar.as_deref(),
                }),
            }
        }
        Scope::Section(i) => {
            let sec = &snap.sections[i];
            let (parents, children) = tree_links(&snap.sections, sec.parent, &sec.children, |k| {
                (&k.title, &k.path, k.parent, k.posts.len())
            });
            let opts = crate::markdown::MarkdownOptions {
                link_base: Some(sec.path.clone()),
                ..Default::default()
            };
            ListingInfo {
                kind: "section",
                template: "section.html",
                title: sec.title.clone(),
                description: sec.description.clone(),
                key: "section",
                object: Some(ListingObject::Section {
                    title: &sec.title,
                    key: &sec.key,
                    description: &sec.description,
                    content: crate::markdown::render(&sec.content, &opts).html,
                    path: &sec.path,
                    count: sec.posts.len(),
                    parents,
                    children,
                    feed_path: s.path(&format!("{}/atom.xml", sec.dir)),
                }),
            }
        }
    }
}

/// Makes relative `href`/`src` attributes of an HTML fragment absolute against `base` (a URL
/// path ending in `/`); a fragment alone (`#notes`) points into `base`'s page, since the
/// fragment is shown on other pages (listings) where that anchor does not exist.
pub fn rebase_links(html: &str, base: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r#"\b(href|src)="([^"]*)""#).expect("valid regex"));
    re.replace_all(html, |c: &regex::Captures| {
        let v = &c[2];
        let absolute = v.is_empty()
            || v.starts_with('/')
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
pub(super) fn clip(s: &str, max: usize) -> String {
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

fn link<'a>(name: &'a str, slug: &'a str, path: &'a str) -> Link<'a> {
    Link { name, slug, path }
}

impl<'a> Renderer<'a> {
    /// What listings, feeds and neighbours show of a post (made once, when first needed).
    pub(super) fn card(&self, i: usize) -> &Card<'a> {
        self.cards[i].get_or_init(|| Box::new(self.make_card(i)))
    }

    fn make_card(&self, i: usize) -> Card<'a> {
        let snap: &'a Snapshot = self.plan.snap;
        let s = &snap.site;
        let p = &snap.posts[i];
        let row = &p.row;
        let local = s.local(row.date.utc());
        let author = p.author.map(|a| {
            let a = &snap.authors[a];
            link(&a.name, &a.slug, &a.path)
        });
        let tags = p
            .tags
            .iter()
            .map(|&t| {
                let t = &snap.tags[t];
                link(&t.name, &t.slug, &t.path)
            })
            .collect();
        let categories = p
            .categories
            .iter()
            .map(|&c| {
                // The category with its parents, outermost first.
                let mut trail = Vec::new();
                let mut at = Some(c);
                while let Some(k) = at {
                    let cat = &snap.categories[k];
                    trail.push(link(&cat.name, &cat.slug, &cat.path));
                    at = cat.parent;
                }
                trail.reverse();
                let cat = &snap.categories[c];
                CategoryLink {
                    name: &cat.name,
                    slug: &cat.slug,
                    path: &cat.path,
                    trail,
                }
            })
            .collect();
        let section = p.section.map(|k| {
            let sec = &snap.sections[k];
            link(&sec.title, &sec.key, &sec.path)
        });
        let updated = row
            .updated
            .filter(|u| *u > row.date)
            .map(|u| s.local(u.utc()));
        Card {
            id: row.id,
            title: &row.title,
            subtitle: row.subtitle.as_deref(),
            slug: &row.slug,
            path: &p.path,
            permalink: s.permalink(&p.path),
            date: local.to_rfc3339(),
            date_display: local.format("%-d %B %Y").to_string(),
            year: local.format("%Y").to_string(),
            updated: updated.map(|u| u.to_rfc3339()),
            updated_display: updated.map(|u| u.format("%-d %B %Y").to_string()),
            summary: self.summary_html(i),
            description: clip(self.plan.excerpt(i), 160),
            has_more: self.body(i).summary_html.is_some(),
            author,
            tags,
            categories,
            section,
            status: p.state(),
            is_draft: p.state() != "published",
            read_time: row.read_time,
            cover_image: row.cover_image.as_deref().map(|c| self.media_url(p, c)),
            extra: &row.extra,
        }
    }

    fn summary_html(&self, i: usize) -> String {
        if let Some(s) = &self.body(i).summary_html {
            // Listings show the summary away from the post's folder: relative links and
            // images (raw HTML included) must point into it.
            return rebase_links(s, self.post(i).base());
        }
        let e = self.plan.excerpt(i);
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
            self.plan.snap.site.path(v)
        } else {
            format!("{}{}", p.base(), v.trim_start_matches("./"))
        }
    }

    /// The context every page starts from: `site`, `config` and `page`.
    pub(super) fn page_ctx(
        &self,
        kind: &str,
        title: &str,
        description: &str,
        path: &str,
    ) -> Context {
        let s = &self.plan.snap.site;
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
            &PageView {
                kind,
                title,
                full_title,
                description,
                path,
                permalink: s.permalink(path),
                feed_path: s.path("atom.xml"),
            },
        );
        ctx
    }

    fn cards_of(&self, list: &ListRef, range: std::ops::Range<usize>) -> Vec<&Card<'a>> {
        range.map(|k| self.card(list.get(k))).collect()
    }

    /// The template of a page job (one rendered through a template) and its context.
    pub(super) fn context(&self, job: Job, path: &str) -> (&'static str, Context) {
        let snap = self.plan.snap;
        let s = &snap.site;
        match job {
            Job::Post(i) => {
                let p = self.post(i);
                let card = self.card(i);
                let kind = if p.is_page() { "page" } else { "post" };
                let mut ctx = self.page_ctx(kind, &p.row.title, &card.description, path);
                let body = self.body(i);
                let post = PostView {
                    card,
                    content: &body.html,
                    toc: &body.toc,
                    newer: p.newer.map(|k| self.card(k)),
                    older: p.older.map(|k| self.card(k)),
                    related: p.related.iter().map(|&k| self.card(k)).collect(),
                };
                ctx.insert("post", &post);
                // A standalone page has no neighbours or related posts (see `snapshot`).
                (
                    if p.is_page() {
                        "page.html"
                    } else {
                        "post.html"
                    },
                    ctx,
                )
            }
            Job::Listing(scope, n) => {
                let list = scope_posts(snap, scope);
                let per = s.paginate;
                let total = list.len();
                let pages = total.div_ceil(per).max(1);
                let url = |k: usize| s.path(&format!("{}/", page_dir(snap, scope, k)));
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
                let info = listing_info(snap, scope);
                let title = if n > 1 {
                    format!("{} (page {n})", info.title)
                } else {
                    info.title
                };
                let mut ctx = self.page_ctx(info.kind, &title, &clip(&info.description, 160), path);
                if let Some(object) = &info.object {
                    ctx.insert(info.key, object);
                }
                ctx.insert(
                    "posts",
                    &self.cards_of(&list, listing_range(snap, &list, n)),
                );
                ctx.insert("paginator", &paginator);
                (info.template, ctx)
            }
            Job::Categories => {
                let mut ctx = self.page_ctx("categories", "Categories", "", path);
                let tree: Vec<CategoryTree> =
                    snap.roots.iter().map(|&c| self.cat_tree(c)).collect();
                ctx.insert("categories", &tree);
                ("categories.html", ctx)
            }
            Job::Tags => {
                let mut ctx = self.page_ctx("tags", "Tags", "", path);
                let tags: Vec<TagView> = snap
                    .tags
                    .iter()
                    .map(|t| TagView {
                        name: &t.name,
                        slug: &t.slug,
                        path: &t.path,
                        count: t.posts.len(),
                    })
                    .collect();
                ctx.insert("tags", &tags);
                ("tags.html", ctx)
            }
            Job::Archive => {
                let mut ctx = self.page_ctx("archive", "Archive", "", path);
                ctx.insert("years", &self.archive());
                ("archive.html", ctx)
            }
            Job::Atom(scope) => self.feed(scope, path, "atom.xml"),
            Job::Rss => self.feed(Scope::Home, path, "rss.xml"),
            Job::Sitemap => {
                let mut ctx = self.page_ctx("sitemap", "Sitemap", "", path);
                ctx.insert("entries", &self.sitemap());
                ("sitemap.xml", ctx)
            }
            Job::NotFound => ("404.html", self.page_ctx("404", "Page not found", "", path)),
            Job::Alias(a) => {
                let al = &snap.aliases[a];
                let p = self.post(al.post);
                let mut ctx = self.page_ctx("alias", &p.row.title, "", path);
                ctx.insert("target", &s.permalink(&p.path));
                ctx.insert("post", self.card(al.post));
                ("alias.html", ctx)
            }
            Job::Robots | Job::Search => unreachable!("rendered without a template"),
        }
    }

    /// Every post by year and month, newest first.
    fn archive(&self) -> Vec<ArchiveYear<'a>> {
        let snap: &'a Snapshot = self.plan.snap;
        let s = &snap.site;
        let mut years: Vec<ArchiveYear> = Vec::new();
        for p in &snap.posts[..snap.listed()] {
            let d = s.local(p.row.date.utc());
            let y = d.format("%Y").to_string();
            let m = d.format("%m").to_string();
            let entry = ArchiveEntry {
                title: &p.row.title,
                path: &p.path,
                date: d.to_rfc3339(),
                date_display: d.format("%-d %B").to_string(),
                status: p.state(),
                is_draft: p.state() != "published",
            };
            if years.last().is_none_or(|last| last.year != y) {
                years.push(ArchiveYear {
                    year: y,
                    months: Vec::new(),
                });
            }
            let months = &mut years.last_mut().expect("a year was pushed").months;
            if months.last().is_none_or(|last| last.month != m) {
                months.push(ArchiveMonth {
                    month: m,
                    name: d.format("%B").to_string(),
                    posts: Vec::new(),
                });
            }
            months
                .last_mut()
                .expect("a month was pushed")
                .posts
                .push(entry);
        }
        years
    }

    fn cat_tree(&self, c: usize) -> CategoryTree<'a> {
        let snap: &'a Snapshot = self.plan.snap;
        let cat = &snap.categories[c];
        CategoryTree {
            name: &cat.name,
            slug: &cat.slug,
            path: &cat.path,
            description: &cat.description,
            count: cat.posts.len(),
            depth: cat.depth,
            children: cat.children.iter().map(|&k| self.cat_tree(k)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{clip, rebase_links};
    use crate::markdown::Rendered;
    use crate::model::PostStatus;
    use crate::render::Planner;
    use crate::snapshot::{Post, Snapshot};
    use crate::store::site::PostRow;
    use crate::templates::Templates;

    fn one_post() -> Snapshot {
        let mut snap = Snapshot::default();
        snap.site.root = "/".into();
        snap.site.origin = "https://a.example".into();
        snap.site.paginate = 10;
        snap.posts.push(Post {
            row: PostRow {
                kind: crate::model::PostKind::Post,
                id: 1,
                title: "Hello".into(),
                subtitle: None,
                slug: "hello".into(),
                path: None,
                section: None,
                content: None,
                content_hash: String::new(),
                excerpt: Some("An excerpt.".into()),
                cover_image: Some("cover.png".into()),
                author_id: None,
                status: PostStatus::Published,
                date: "2023-11-14 22:13:20".parse().unwrap(),
                updated: None,
                read_time: 3,
                extra: serde_json::json!({"mood": "fine"}),
                source_path: None,
            },
            scheduled: false,
            author: None,
            categories: Vec::new(),
            tags: Vec::new(),
            section: None,
            dir: "posts/hello".into(),
            file: "posts/hello/index.html".into(),
            path: "/posts/hello/".into(),
            newer: None,
            older: None,
            related: Vec::new(),
        });
        snap
    }

    /// The card is what templates read of a post in listings and feeds: its fields are the
    /// variables the themes use.
    #[test]
    fn a_card_shows_templates_every_field_they_read() {
        let snap = one_post();
        let templates = Templates::from_sources(Default::default()).unwrap();
        let renderer = Planner::new(&snap, &templates, vec![[0; 32]], &[[0; 32]])
            .with_bodies(vec![Some(Rendered::default())]);
        let card = serde_json::to_value(renderer.card(0)).unwrap();
        let keys: Vec<&str> = card
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "author",
                "categories",
                "cover_image",
                "date",
                "date_display",
                "description",
                "extra",
                "has_more",
                "id",
                "is_draft",
                "path",
                "permalink",
                "read_time",
                "slug",
                "status",
                "subtitle",
                "summary",
                "tags",
                "title",
                "updated",
                "updated_display",
                "year"
            ]
        );
        assert_eq!(card["permalink"], "https://a.example/posts/hello/");
        assert_eq!(card["cover_image"], "/posts/hello/cover.png");
        assert_eq!(card["summary"], "<p>An excerpt.</p>");
        assert_eq!(card["status"], "published");
        assert_eq!(card["extra"]["mood"], "fine");
        assert!(card["updated"].is_null() && card["author"].is_null());
    }

    #[test]
    fn summary_links_are_rebased() {
        assert_eq!(
            rebase_links(
                r##"<img src="cat.png"><a href="/x/">x</a><a href="#f">f</a><a href="https://a">a</a><a href="./b.pdf">b</a>"##,
                "/posts/p/"
            ),
            r##"<img src="/posts/p/cat.png"><a href="/x/">x</a><a href="/posts/p/#f">f</a><a href="https://a">a</a><a href="/posts/p/b.pdf">b</a>"##
        );
    }

    #[test]
    fn clip_cuts_at_a_word() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("one two three four", 12), "one two…");
    }
}
