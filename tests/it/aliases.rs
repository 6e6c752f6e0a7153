//! Aliases (issue 17): old addresses of every shape, imported from `aliases` and
//! `redirect_from`, become redirect pages that keep the `#fragment`, and `bloggo serve` reaches
//! them with and without the trailing slash.

use crate::harness::Site;

/// A site with the posts `one` and `two` imported from markdown, their aliases in every shape
/// (and some that clash), built.
fn imported_with_aliases() -> (Site, crate::harness::Run) {
    let site = Site::new();
    let cfg = site
        .read("bloggo.toml")
        .replace("http://127.0.0.1:4000", "https://blog.example.org");
    site.write("bloggo.toml", &cfg);
    site.write(
        "old-blog/one.md",
        "---\ntitle: Post One\ndate: 2024-01-02\naliases:\n  - /x.html\n  - /x\n  - y/\n  \
         - /releases/1.16\n  - /a/b.htm\n  - /feed.xml\n  - https://old.example/full/url/\n  \
         - /caf%C3%A9/\n  - /atom.xml\n  - /tags/\n---\n## Part\n\nText.\n",
    );
    site.write(
        "old-blog/two.md",
        "---\ntitle: Post Two\ndate: 2024-01-03\nredirect_from:\n  - /2019/01/two.html\n  \
         - /two-old\n  - /x/\n  - /posts/one/\n---\nText.\n",
    );
    let dir = site.path("old-blog");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    let run = site.run(&["build"]).ok();
    (site, run)
}

#[test]
fn aliases_of_every_shape_become_redirect_pages_that_keep_the_fragment() {
    let (site, run) = imported_with_aliases();
    let out = site.path("public");
    for (file, target) in [
        ("x.html", "one"),
        ("x/index.html", "one"),
        ("y/index.html", "one"),
        ("releases/1.16/index.html", "one"),
        ("a/b.htm", "one"),
        ("feed.xml/index.html", "one"),
        ("full/url/index.html", "one"),
        ("café/index.html", "one"),
        ("2019/01/two.html", "two"),
        ("two-old/index.html", "two"),
    ] {
        let page =
            std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let url = format!("https://blog.example.org/posts/{target}/");
        for needle in [
            format!(r#"<link rel="canonical" href="{url}">"#),
            r#"<meta name="robots" content="noindex">"#.to_string(),
            r#"<script>location.replace(document.querySelector('link[rel="canonical"]').href + location.hash);</script>"#.to_string(),
            format!(r#"<noscript><meta http-equiv="refresh" content="0; url={url}"></noscript>"#),
            format!(r#"<a href="{url}">"#),
        ] {
            assert!(page.contains(&needle), "{file} lacks {needle}:\n{page}");
        }
        // The script runs before the refresh could: the fragment is not lost to a race.
        assert!(page.find("<script>") < page.find("http-equiv"), "{page}");
    }
    // No file without an extension stands where a folder should.
    assert!(out.join("releases/1.16").is_dir());
    assert!(out.join("x").is_dir() && out.join("x.html").is_file());
    // The site's own pages win over aliases on them: the feed stays a file.
    assert!(std::fs::read_to_string(out.join("atom.xml"))
        .unwrap()
        .contains("<feed"));
    assert!(std::fs::read_to_string(out.join("tags/index.html"))
        .unwrap()
        .contains("Tags"));
    // The posts' own pages are untouched by the alias that names one of them.
    assert!(std::fs::read_to_string(out.join("posts/one/index.html"))
        .unwrap()
        .contains("Post One"));

    // Clashes are skipped with a warning naming both posts; the build goes on.
    for needle in [
        r#"warning: alias "/x/" of post "two" skipped: it is written as x/index.html, as the alias "/x" of post "one" is"#,
        r#"warning: alias "/posts/one/" of post "two" skipped: it is the address of post "one""#,
        r#"warning: alias atom.xml/index.html of post "one" skipped: the site's page atom.xml is there"#,
        r#"warning: alias tags/index.html of post "one" skipped: the site's page tags/index.html is there"#,
    ] {
        assert!(run.stderr.contains(needle), "{needle}\n{}", run.stderr);
    }
}

#[test]
fn serve_redirects_an_alias_folder_to_its_slash_form_and_serves_it_as_html() {
    let (site, _) = imported_with_aliases();
    // A page someone copied in without an extension is HTML too.
    site.write(
        "public/legacy/2.0",
        "<!DOCTYPE html>\n<html><body>legacy</body></html>",
    );
    let s = site.serve(&["--no-build"]);
    for (path, to) in [
        ("/releases/1.16", "/releases/1.16/"),
        ("/x", "/x/"),
        ("/feed.xml", "/feed.xml/"),
        ("/releases/1.16?from=old", "/releases/1.16/?from=old"),
        ("/caf%C3%A9", "/caf%C3%A9/"),
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 301, "{path}");
        assert_eq!(r.header("location"), Some(to), "{path}");
    }
    for path in [
        "/releases/1.16/",
        "/x/",
        "/x.html",
        "/a/b.htm",
        "/feed.xml/",
        "/caf%C3%A9/",
        "/legacy/2.0",
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
    }
    let r = s.get("/releases/1.16/", &[]);
    assert!(
        r.text()
            .contains(r#"<link rel="canonical" href="https://blog.example.org/posts/one/">"#),
        "{}",
        r.text()
    );
}

/// A static file where an alias needs a folder fails the build, naming both, instead of one
/// silently replacing the other.
#[test]
fn an_alias_folder_over_a_static_file_fails_the_build_naming_both() {
    let site = Site::new();
    site.write(
        "old-blog/one.md",
        "---\ntitle: Post One\ndate: 2024-01-02\naliases: [/legacy.xml]\n---\nText.\n",
    );
    let dir = site.path("old-blog");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.write("static/legacy.xml", "<rss/>");
    let run = site.run(&["build"]).fails();
    assert!(
        run.stderr.contains(
            "legacy.xml is a file in the output and also the folder of legacy.xml/index.html"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !site.path("public/index.html").exists(),
        "nothing was swapped in"
    );
}
