//! Which served pages `bloggo serve` counts a view of: the page of each post and standalone
//! page of the build being served, found by its output file (a post at its own `path`, posts
//! that share a slug, a pattern without `:slug`), and nothing else (redirect pages of aliases
//! and moved posts, listings, assets).

use crate::harness::Site;
use crate::serve::{Serving, DESKTOP};

/// A site whose posts are at `/:year/:month/:day/:slug/`: two posts sharing the slug `same`
/// (one with an alias), one at its own `path`, a standalone page; imported, not built.
fn site() -> Site {
    let site = Site::new();
    let cfg = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &format!("{cfg}\n[permalinks]\nposts = \"/:year/:month/:day/:slug/\"\n"),
    );
    for (file, text) in [
        (
            "a.md",
            "---\ntitle: Same A\ndate: 2024-01-02\nslug: same\naliases:\n  - /old-same/\n---\nA.\n",
        ),
        (
            "b.md",
            "---\ntitle: Same B\ndate: 2024-02-03\nslug: same\n---\nB.\n",
        ),
        (
            "own.md",
            "---\ntitle: Own Path\ndate: 2021-06-17\npath: /2021/06/17/some-post/\n---\nOwn.\n",
        ),
        ("about.md", "---\ntitle: About\nkind: page\n---\nMe.\n"),
    ] {
        site.write(&format!("old-blog/{file}"), text);
    }
    let dir = site.path("old-blog");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site
}

/// GETs `path` as a person's browser; the status.
fn view(s: &Serving, path: &str) -> u16 {
    s.get(path, &[("User-Agent", DESKTOP)]).status
}

/// Views per post title (every post, with 0 for none).
fn views_by_title(site: &Site) -> Vec<Vec<String>> {
    site.rows(
        "SELECT p.title, (SELECT count(*) FROM post_views v WHERE v.post_id = p.id)
         FROM posts p ORDER BY p.title",
    )
}

fn counts(list: &[(&str, u32)]) -> Vec<Vec<String>> {
    list.iter()
        .map(|(t, n)| vec![t.to_string(), n.to_string()])
        .collect()
}

#[test]
fn each_post_page_of_the_build_counts_for_its_own_post_and_redirects_and_assets_do_not() {
    let site = site();
    let mut s = site.serve(&[]);
    s.wait_for_line("built in", 30);
    // Its own path; twice more as the same page (index.html, a query string).
    assert_eq!(view(&s, "/2021/06/17/some-post/"), 200);
    assert_eq!(view(&s, "/2021/06/17/some-post/index.html"), 200);
    assert_eq!(view(&s, "/2021/06/17/some-post/?utm_source=x"), 200);
    // Two posts sharing a slug, each at its dated URL.
    assert_eq!(view(&s, "/2024/01/02/same/"), 200);
    assert_eq!(view(&s, "/2024/02/03/same/"), 200);
    assert_eq!(view(&s, "/2024/02/03/same/index.html"), 200);
    // A standalone page counts as posts do.
    assert_eq!(view(&s, "/about/"), 200);
    // An alias: the redirect page counts nothing (the page it leads to counts).
    let alias = s.get("/old-same/", &[("User-Agent", DESKTOP)]);
    assert_eq!(alias.status, 200);
    assert!(
        alias.text().contains("/2024/01/02/same/"),
        "{}",
        alias.text()
    );
    // Listings, assets, a folder without its slash (a redirect), a missing page.
    for path in ["/", "/archive/", "/style.css", "/rss.xml", "/sitemap.xml"] {
        assert_eq!(view(&s, path), 200, "{path}");
    }
    assert_eq!(view(&s, "/2024/01/02/same"), 301);
    assert_eq!(view(&s, "/2024/01/02/other/"), 404);
    assert_eq!(s.terminate(), 0);
    assert_eq!(
        views_by_title(&site),
        counts(&[("About", 1), ("Own Path", 3), ("Same A", 1), ("Same B", 2)])
    );
    assert_eq!(
        site.count("SELECT sum(view_count) FROM post_statistics"),
        7,
        "post_statistics agrees"
    );
    let out = site
        .run(&["stats", "--since", "1d", "--top", "5"])
        .ok()
        .stdout;
    assert!(out.contains(": 7\n"), "{out}");
}

/// `--no-build` serves the folder the last build made, with that build's pages (not where
/// the settings would put them now): here under a pattern without `:slug` (`:slugified_title`), the earlier dated
/// pages now redirects to the moved posts.
#[test]
fn a_folder_served_as_it_is_counts_the_pages_of_the_build_that_made_it() {
    let site = site();
    site.run(&["build"]).ok();
    let dated = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &dated.replace("/:year/:month/:day/:slug/", "/:year/:slugified_title/"),
    );
    site.run(&["build"]).ok();
    // Edited back, not built: the served folder is still the one of the titles.
    site.write("bloggo.toml", &dated);
    let mut s = site.serve(&["--no-build"]);
    assert_eq!(view(&s, "/2024/same-a/"), 200);
    assert_eq!(view(&s, "/2024/same-b/"), 200);
    assert_eq!(view(&s, "/2021/06/17/some-post/"), 200);
    // Where the posts were before: redirect pages now, no views.
    let moved = s.get("/2024/01/02/same/", &[("User-Agent", DESKTOP)]);
    assert_eq!(moved.status, 200);
    assert!(moved.text().contains("/2024/same-a/"), "{}", moved.text());
    assert_eq!(view(&s, "/old-same/"), 200);
    assert_eq!(s.terminate(), 0);
    assert_eq!(
        views_by_title(&site),
        counts(&[("About", 0), ("Own Path", 1), ("Same A", 1), ("Same B", 1)])
    );
}
