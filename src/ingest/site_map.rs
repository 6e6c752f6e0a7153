//! Request paths of the deployed site → posts: the pages of the live site's snapshot (the
//! same [`PostPages`] `bloggo serve` counts views with), its alias and moved-post redirect
//! pages, and the site's root path under `base_url`, which a log names and the output folder
//! does not.

use crate::serve::pages::PostPages;
use crate::snapshot::Snapshot;

/// What a request path is on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// A post's or standalone page's own page.
    Post(i64),
    /// A redirect page (an alias, an earlier URL) leading to this post: the reader's browser
    /// asks for the post's page next, and that request counts.
    Redirect(i64),
    /// A file that is not a page (a stylesheet, an image, a feed).
    Asset,
    /// A page of no post (a listing, a missing page), or a path outside the site's root.
    Other,
}

/// The page map of one site.
#[derive(Debug, Clone, Default)]
pub struct SiteMap {
    posts: PostPages,
    redirects: PostPages,
    /// The path of `base_url` without its trailing slash (`""` for a site at the root).
    root: String,
}

impl SiteMap {
    /// The pages of a snapshot of the site deployed at `base_url`.
    pub fn of(snap: &Snapshot, base_url: &str) -> SiteMap {
        SiteMap {
            posts: PostPages::of(snap),
            redirects: snap
                .aliases
                .iter()
                .filter_map(|a| Some((a.file.clone(), snap.posts.get(a.post)?.row.id)))
                .collect(),
            root: root_path(base_url).to_string(),
        }
    }

    /// What a request path (without its query) is.
    pub fn page(&self, path: &str) -> Page {
        let Some(path) = path.strip_prefix(self.root.as_str()) else {
            return Page::Other;
        };
        let path = if path.is_empty() { "/" } else { path };
        if !path.starts_with('/') {
            return Page::Other;
        }
        if is_asset(path) {
            return Page::Asset;
        }
        if let Some(id) = self.posts.post_at(path) {
            return Page::Post(id);
        }
        match self.redirects.post_at(path) {
            Some(id) => Page::Redirect(id),
            None => Page::Other,
        }
    }
}

/// The path part of a base URL, without its trailing slash: `https://ex.org/blog/` →
/// `/blog`, `https://ex.org` → ``, `/blog/` → `/blog`.
fn root_path(base_url: &str) -> &str {
    let path = match base_url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => base_url,
    };
    path.trim_end_matches('/')
}

/// A path whose last segment has an extension other than `.html` or `.htm`.
fn is_asset(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    match last.rsplit_once('.') {
        Some((_, ext)) => !ext.eq_ignore_ascii_case("html") && !ext.eq_ignore_ascii_case("htm"),
        None => false,
    }
}

/// A small map for the tests of this module and of the judging.
#[cfg(test)]
pub(super) mod tests_support {
    use super::*;

    /// `/posts/a/` (post 1, also at the alias `/old/a/`) and `/about/` (post 2).
    pub fn map() -> SiteMap {
        at("")
    }

    /// [`map`] for a site whose root path is `root`.
    pub fn at(root: &str) -> SiteMap {
        SiteMap {
            posts: [
                ("posts/a/index.html".to_string(), 1),
                ("about/index.html".to_string(), 2),
            ]
            .into_iter()
            .collect(),
            redirects: [("old/a/index.html".to_string(), 1)].into_iter().collect(),
            root: root.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::at as map;
    use super::*;

    #[test]
    fn paths_are_posts_redirects_assets_or_other() {
        let m = map("");
        assert_eq!(m.page("/posts/a/"), Page::Post(1));
        assert_eq!(m.page("/posts/a/index.html"), Page::Post(1));
        assert_eq!(m.page("/about/"), Page::Post(2));
        assert_eq!(m.page("/old/a/"), Page::Redirect(1));
        assert_eq!(m.page("/style.css"), Page::Asset);
        assert_eq!(m.page("/posts/a/cover.PNG"), Page::Asset);
        assert_eq!(m.page("/"), Page::Other);
        assert_eq!(m.page("/posts/b/"), Page::Other);
        assert_eq!(m.page("*"), Page::Other);
    }

    #[test]
    fn the_root_path_of_the_base_url_is_stripped() {
        assert_eq!(root_path("https://ex.org/blog/"), "/blog");
        assert_eq!(root_path("https://ex.org"), "");
        assert_eq!(root_path("http://ex.org/"), "");
        assert_eq!(root_path("/blog/"), "/blog");
        let m = map("/blog");
        assert_eq!(m.page("/blog/posts/a/"), Page::Post(1));
        assert_eq!(m.page("/posts/a/"), Page::Other);
        assert_eq!(m.page("/blogposts/a/"), Page::Other);
        assert_eq!(m.page("/blog"), Page::Other);
    }
}
