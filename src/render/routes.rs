//! The site's pages and where each goes: the page jobs of a snapshot, the output file and URL
//! path of each, the posts a listing or feed shows, and which aliases give way to a page. Add
//! a page kind here first (a [`Job`] variant, its place in [`jobs`] and its [`route`]), then
//! its fingerprint (`fingerprint.rs`) and its template context (`context.rs`).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::snapshot::Snapshot;

/// Whose posts a listing or feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    Home,
    Category(usize),
    Tag(usize),
    Author(usize),
    Section(usize),
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
    /// Atom feed of the site, a category, a tag or a section.
    Atom(Scope),
    Rss,
    Sitemap,
    Robots,
    NotFound,
    Search,
    Alias(usize),
}

/// Every page of a snapshot, posts first (the most expensive jobs start early).
pub fn jobs(snap: &Snapshot) -> Vec<Job> {
    let per = snap.site.paginate;
    let pages = |n: usize| n.div_ceil(per).max(1);
    let mut v: Vec<Job> = (0..snap.posts.len()).map(Job::Post).collect();
    for p in 1..=pages(snap.listed()) {
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
    for (i, sec) in snap.sections.iter().enumerate() {
        for p in 1..=pages(sec.posts.len()) {
            v.push(Job::Listing(Scope::Section(i), p));
        }
        v.push(Job::Atom(Scope::Section(i)));
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

/// Takes out the aliases that would stand where another page of the site is: on its file, on
/// a folder it is in (`atom.xml/index.html` over the feed `atom.xml`), or with a folder of
/// theirs on a page's file. The page wins, and the snapshot's warnings name the post and the
/// page. (An alias on a post's address or on another alias is already out: see
/// `snapshot::Snapshot::build`.) The last step of making a snapshot, before its jobs are
/// planned.
pub fn drop_aliases_over_pages(snap: &mut Snapshot) {
    let pages: HashSet<String> = jobs(snap)
        .into_iter()
        .filter(|j| !matches!(j, Job::Alias(_)))
        .map(|j| route(snap, j).0)
        .collect();
    let mut folders: HashMap<&str, &str> = HashMap::new();
    for f in &pages {
        for (i, _) in f.match_indices('/') {
            folders.entry(&f[..i]).or_insert(f);
        }
    }
    let clash = |file: &str| -> Option<String> {
        if pages.contains(file) {
            return Some(file.to_string());
        }
        if let Some(page) = folders.get(file) {
            return Some((*page).to_string());
        }
        file.match_indices('/')
            .map(|(i, _)| &file[..i])
            .find(|dir| pages.contains(*dir))
            .map(str::to_string)
    };
    let mut warnings = Vec::new();
    let mut kept = Vec::with_capacity(snap.aliases.len());
    for a in std::mem::take(&mut snap.aliases) {
        match clash(&a.file) {
            Some(page) => warnings.push(format!(
                "alias {} of post {:?} skipped: the site's page {page} is there",
                a.file, snap.posts[a.post].row.slug
            )),
            None => kept.push(a),
        }
    }
    snap.aliases = kept;
    snap.warnings.extend(warnings);
}

/// The site-relative folder of a listing's first page.
fn listing_dir(snap: &Snapshot, scope: Scope) -> String {
    match scope {
        Scope::Home => String::new(),
        Scope::Category(c) => snap.categories[c].dir.clone(),
        Scope::Tag(t) => snap.tags[t].dir.clone(),
        Scope::Author(a) => snap.authors[a].dir.clone(),
        Scope::Section(i) => snap.sections[i].dir.clone(),
    }
}

/// The site-relative folder of a page of a listing.
pub(super) fn page_dir(snap: &Snapshot, scope: Scope, page: usize) -> String {
    let d = listing_dir(snap, scope);
    match (page, d.is_empty()) {
        (1, _) => d,
        (n, true) => format!("{}/{n}", snap.site.urls.page),
        (n, false) => format!("{d}/{}/{n}", snap.site.urls.page),
    }
}

/// The posts a listing or feed shows, in the posts' order (never a standalone page).
pub(super) fn scope_posts(snap: &Snapshot, scope: Scope) -> ListRef<'_> {
    match scope {
        Scope::Home => ListRef::All(snap.listed()),
        Scope::Category(c) => ListRef::Some(&snap.categories[c].posts),
        Scope::Tag(t) => ListRef::Some(&snap.tags[t].posts),
        Scope::Author(a) => ListRef::Some(&snap.authors[a].posts),
        Scope::Section(i) => ListRef::Some(&snap.sections[i].posts),
    }
}

/// The posts (`lo..hi` positions in its list) a page of a listing shows.
pub(super) fn listing_range(
    snap: &Snapshot,
    list: &ListRef,
    page: usize,
) -> std::ops::Range<usize> {
    let per = snap.site.paginate;
    ((page - 1) * per).min(list.len())..(page * per).min(list.len())
}

/// The output file and URL path of a job.
pub fn route(snap: &Snapshot, job: Job) -> (String, String) {
    let s = &snap.site;
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
        Job::Listing(scope, n) => dir_page(page_dir(snap, scope, n)),
        Job::Post(i) => (snap.posts[i].file.clone(), snap.posts[i].path.clone()),
        Job::Categories => dir_page(s.urls.categories.clone()),
        Job::Tags => dir_page(s.urls.tags.clone()),
        Job::Archive => dir_page(s.urls.archive.clone()),
        Job::Atom(scope) => {
            let d = listing_dir(snap, scope);
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
        Job::Alias(a) => plain(snap.aliases[a].file.clone()),
    }
}

/// A list of post indexes: every post, or some.
pub(super) enum ListRef<'a> {
    All(usize),
    Some(&'a [usize]),
}

impl ListRef<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            ListRef::All(n) => *n,
            ListRef::Some(v) => v.len(),
        }
    }
    pub(super) fn get(&self, k: usize) -> usize {
        match self {
            ListRef::All(_) => k,
            ListRef::Some(v) => v[k],
        }
    }
    /// Where post `i` is in the list (lists are in the posts' order).
    pub(super) fn position(&self, i: usize) -> Option<usize> {
        match self {
            ListRef::All(n) => (i < *n).then_some(i),
            ListRef::Some(v) => v.binary_search(&i).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{drop_aliases_over_pages, jobs, page_dir, route, Job, Scope};
    use crate::snapshot::{Alias, Post, Snapshot};

    fn site(root: &str, paginate: usize) -> Snapshot {
        let mut snap = Snapshot::default();
        snap.site.root = root.into();
        snap.site.paginate = paginate;
        snap.site.urls = Default::default();
        snap
    }

    #[test]
    fn every_page_has_one_file_and_a_path_under_the_root() {
        let snap = site("/blog/", 10);
        let all = jobs(&snap);
        // An empty site still has its home page, taxonomies, feeds and the rest.
        assert!(all.contains(&Job::Listing(Scope::Home, 1)));
        assert!(all.contains(&Job::Search));
        let files: std::collections::HashSet<String> =
            all.iter().map(|&j| route(&snap, j).0).collect();
        assert_eq!(files.len(), all.len(), "no two pages share a file");
        assert_eq!(
            route(&snap, Job::Listing(Scope::Home, 1)),
            ("index.html".into(), "/blog/".into())
        );
        assert_eq!(
            route(&snap, Job::Archive),
            ("archive/index.html".into(), "/blog/archive/".into())
        );
        assert_eq!(
            route(&snap, Job::Atom(Scope::Home)),
            ("atom.xml".into(), "/blog/atom.xml".into())
        );
    }

    #[test]
    fn later_listing_pages_go_under_the_page_segment() {
        let snap = site("/", 10);
        assert_eq!(page_dir(&snap, Scope::Home, 1), "");
        assert_eq!(page_dir(&snap, Scope::Home, 3), "page/3");
        assert_eq!(
            route(&snap, Job::Listing(Scope::Home, 2)),
            ("page/2/index.html".into(), "/page/2/".into())
        );
    }

    #[test]
    fn aliases_over_other_pages_are_dropped_with_a_warning() {
        let mut snap = site("/", 10);
        let row = crate::store::site::PostRow {
            title: "A".into(),
            ..crate::store::site::PostRow::for_test(1, "a")
        };
        snap.posts
            .push(Post::new(row, &snap.site, chrono::DateTime::UNIX_EPOCH));
        snap.aliases = [
            "atom.xml/index.html",           // a folder over the feed's file
            "tags/index.html",               // the tags page's own file
            "old/index.html",                // free: kept
            "posts/index.html",              // the folder the post's page is in: free, kept
            "archive/index.html/index.html", // a folder over a page's file
            "releases/1.16/index.html",      // free: kept
        ]
        .map(|f| Alias {
            post: 0,
            file: f.into(),
        })
        .into();
        drop_aliases_over_pages(&mut snap);
        let kept: Vec<&str> = snap.aliases.iter().map(|a| a.file.as_str()).collect();
        assert_eq!(
            kept,
            [
                "old/index.html",
                "posts/index.html",
                "releases/1.16/index.html"
            ]
        );
        assert_eq!(
            snap.warnings,
            [
                "alias atom.xml/index.html of post \"a\" skipped: the site's page atom.xml is there",
                "alias tags/index.html of post \"a\" skipped: the site's page tags/index.html is there",
                "alias archive/index.html/index.html of post \"a\" skipped: the site's page \
                 archive/index.html is there",
            ]
        );
        // A page inside the alias's would-be file (`x.html` over `x.html/index.html`).
        snap.aliases = vec![Alias {
            post: 0,
            file: "posts/a".into(),
        }];
        drop_aliases_over_pages(&mut snap);
        assert!(snap.aliases.is_empty());
    }
}
