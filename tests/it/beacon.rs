//! The view beacon of a deployed site: the theme's script (`[analytics] beacon`) and
//! `bloggo serve --public`, the collector that answers it and nothing else.

use crate::harness::Site;
use crate::serve::{Serving, DESKTOP};

const BEACON: &str = "https://stats.example.org/_bloggo/view";

/// A site with a post `hello` and a standalone page `about`, imported, not built;
/// `[analytics] beacon` set when `beacon` is.
fn site(beacon: Option<&str>) -> Site {
    let site = Site::new();
    if let Some(url) = beacon {
        let cfg = site.read("bloggo.toml");
        site.write(
            "bloggo.toml",
            &format!("{cfg}\n[analytics]\nbeacon = \"{url}\"\n"),
        );
    }
    site.write(
        "old-blog/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-02\nslug: hello\n---\nHi.\n",
    );
    site.write(
        "old-blog/about.md",
        "---\ntitle: About\nkind: page\n---\nMe.\n",
    );
    let dir = site.path("old-blog");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site
}

#[test]
fn post_pages_carry_the_beacon_script_only_when_it_is_set() {
    let on = site(Some(BEACON));
    on.run(&["build", "--quiet"]).ok();
    let post = on.read("public/posts/hello/index.html");
    assert!(
        post.contains(&format!(
            "<script data-beacon=\"{BEACON}\" data-slug=\"hello\">"
        )),
        "{post}"
    );
    assert!(post.contains("doNotTrack") && post.contains("globalPrivacyControl"));
    assert!(post.contains("keepalive:true"), "{post}");
    let page = on.read("public/about/index.html");
    assert!(page.contains("data-slug=\"about\""), "{page}");
    assert!(!on.read("public/index.html").contains("data-beacon"));

    let off = site(None);
    off.run(&["build", "--quiet"]).ok();
    for page in ["public/posts/hello/index.html", "public/about/index.html"] {
        let text = off.read(page);
        assert!(!text.contains("<script"), "{page}: {text}");
    }
}

#[test]
fn a_beacon_that_is_not_a_url_or_a_site_path_is_refused() {
    let site = site(None);
    let cfg = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &format!("{cfg}\n[analytics]\nbeacon = \"stats.example.org/v\"\n"),
    );
    let run = site.run(&["build"]).fails();
    assert!(run.stderr.contains("[analytics] beacon"), "{}", run.stderr);
}

fn views(site: &Site) -> i64 {
    site.count("SELECT count(*) FROM post_views")
}

fn beacon(s: &Serving, headers: &[(&str, &str)]) -> u16 {
    let mut all = vec![("User-Agent", DESKTOP)];
    all.extend_from_slice(headers);
    s.get("/_bloggo/view?slug=hello", &all).status
}

#[test]
fn the_public_collector_answers_the_beacon_only_and_respects_dnt_and_gpc() {
    let site = site(None);
    site.run(&["build", "--quiet"]).ok();
    let mut s = site.serve(&["--public"]);
    let r = s.get("/_bloggo/view?slug=hello", &[("User-Agent", DESKTOP)]);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Asked not to be tracked: answered the same, recorded nothing.
    assert_eq!(beacon(&s, &[("DNT", "1")]), 204);
    assert_eq!(beacon(&s, &[("Sec-GPC", "1")]), 204);
    // Nothing else is served: the site, live reload, the admin API, the stats page.
    for path in [
        "/",
        "/posts/hello/",
        "/style.css",
        "/_bloggo/livereload",
        "/_bloggo/api/health",
        "/_bloggo/stats",
    ] {
        assert_eq!(
            s.get(path, &[("User-Agent", DESKTOP)]).status,
            404,
            "{path}"
        );
    }
    assert_eq!(
        s.get("/_bloggo/view?slug=nope", &[("User-Agent", DESKTOP)])
            .status,
        404
    );
    // The same address and post again within the window: not counted twice.
    assert_eq!(beacon(&s, &[]), 204);
    // Behind a reverse proxy on this machine, readers are told apart by the address it adds.
    for xff in ["203.0.113.7", "198.51.100.1, 203.0.113.8", "203.0.113.8"] {
        assert_eq!(beacon(&s, &[("X-Forwarded-For", xff)]), 204);
    }
    assert_eq!(s.terminate(), 0);
    assert_eq!(views(&site), 3);
    assert_eq!(
        site.count(
            "SELECT count(*) FROM post_views v JOIN posts p ON p.id = v.post_id
             WHERE p.slug = 'hello'"
        ),
        3
    );
    assert_eq!(
        site.count("SELECT count(DISTINCT ip_address) FROM post_views"),
        3
    );
}

#[test]
fn preview_serve_counts_no_page_view_for_dnt_or_gpc() {
    let site = site(None);
    let mut s = site.serve(&[]);
    s.wait_for_line("built in", 60);
    assert_eq!(
        s.get("/posts/hello/", &[("User-Agent", DESKTOP), ("DNT", "1")])
            .status,
        200
    );
    assert_eq!(beacon(&s, &[("Sec-GPC", "1")]), 204);
    assert_eq!(s.terminate(), 0);
    assert_eq!(views(&site), 0);
}

#[test]
fn public_needs_an_explicit_bind() {
    let site = site(None);
    let run = site.run(&["serve", "--public", "--port", "0"]).fails();
    assert!(
        run.stderr.contains("--public needs an explicit --bind"),
        "{}",
        run.stderr
    );
}
