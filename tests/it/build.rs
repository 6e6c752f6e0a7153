//! `bloggo build`: pages, visibility, pagination, feeds, links, atomic failure, incremental.
//!
//! Fixture sites are made with `bloggo init`, then rows are inserted straight into the store
//! so each test controls the exact state (drafts, scheduled, soft-deleted...).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::params;

use crate::harness::{Run, Site};
use crate::linkcheck::broken_links;

/// A post to insert.
pub(crate) struct P<'a> {
    pub slug: &'a str,
    pub status: &'a str,
    pub published_at: Option<&'a str>,
    pub deleted: bool,
    pub cats: &'a [&'a str],
    pub tags: &'a [&'a str],
    pub content: &'a str,
}

impl<'a> P<'a> {
    pub(crate) fn published(slug: &'a str, date: &'a str) -> P<'a> {
        P {
            slug,
            status: "published",
            published_at: Some(date),
            deleted: false,
            cats: &[],
            tags: &[],
            content: "Some text of the post.\n\n## Part one\n\nMore text.\n",
        }
    }
}

impl Site {
    /// A new site with `paginate` posts per page and an https base URL.
    pub(crate) fn blog(paginate: usize) -> Site {
        let site = Site::new();
        let cfg = site.read("bloggo.toml");
        let cfg = cfg
            .replace("paginate = 10", &format!("paginate = {paginate}"))
            .replace("http://127.0.0.1:4000", "https://blog.example.org");
        site.write("bloggo.toml", &cfg);
        let c = site.conn();
        c.execute_batch(
            "INSERT INTO categories(id, name, slug, parent_id) VALUES
                 (1, 'Rust', 'rust', NULL), (2, 'Async', 'async', 1), (3, 'Life', 'life', NULL);
             INSERT INTO tags(id, name, slug) VALUES (1, 'tokio', 'tokio'), (2, 'notes', 'notes');
             INSERT INTO users(id, name, email, role_id, slug) VALUES (2, 'Zoë Writer', 'z@x', 3, 'zoe');",
        )
        .unwrap();
        site
    }

    pub(crate) fn add(&self, p: &P) -> i64 {
        let c = self.conn();
        c.execute(
            "INSERT INTO posts(title, slug, content, status, published_at, author_id, deleted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 2, ?6)",
            params![
                format!("Title of {}", p.slug),
                p.slug,
                p.content,
                p.status,
                p.published_at,
                p.deleted.then_some("2024-01-01 00:00:00"),
            ],
        )
        .unwrap();
        let id = c.last_insert_rowid();
        for cat in p.cats {
            c.execute(
                "INSERT INTO post_categories SELECT ?1, id FROM categories WHERE slug = ?2",
                params![id, cat],
            )
            .unwrap();
        }
        for tag in p.tags {
            c.execute(
                "INSERT INTO post_tags SELECT ?1, id FROM tags WHERE slug = ?2",
                params![id, tag],
            )
            .unwrap();
        }
        id
    }

    pub(crate) fn build(&self, args: &[&str]) -> Run {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn out(&self, rel: &str) -> PathBuf {
        self.root.join("public").join(rel)
    }

    fn page(&self, rel: &str) -> String {
        let p = self.out(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}

/// (pages, written, unchanged) from the summary line.
fn counts(run: &Run) -> (usize, usize, usize) {
    let line = run.stdout.lines().last().unwrap_or("");
    let n: Vec<usize> = line
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(n.len() >= 3, "no summary in {line:?}");
    (n[0], n[1], n[2])
}

/// Every file of a folder, relative path → bytes.
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The small blog most tests use: three posts, one in rust/async, an alias and an image.
pub(crate) fn small_blog() -> Site {
    let site = Site::blog(10);
    let a = site.add(&P {
        cats: &["async"],
        tags: &["tokio"],
        content: "Intro with an image.\n\n![a cat](cat.png)\n\n<!-- more -->\n\n## Details\n\nSee [the other](/posts/plain/).\n",
        ..P::published("async-post", "2024-03-01 10:00:00")
    });
    site.add(&P {
        cats: &["life"],
        tags: &["notes", "tokio"],
        ..P::published("plain", "2024-02-01 10:00:00")
    });
    site.add(&P {
        cats: &["rust"],
        ..P::published("older", "2023-12-24 08:00:00")
    });
    site.write("media/async-post/cat.png", "not really a png");
    let c = site.conn();
    c.execute_batch(&format!(
        "INSERT INTO files(id, filename, original_name, file_path, file_size, mime_type)
             VALUES (1, 'cat.png', 'cat.png', 'media/async-post/cat.png', 16, 'image/png');
         INSERT INTO post_files VALUES ({a}, 1);
         INSERT INTO post_aliases VALUES ({a}, '/2024/03/async-post.html'), ({a}, '/old/async/');"
    ))
    .unwrap();
    site.write("static/CNAME-ish.txt", "static file");
    site
}

#[test]
fn can_build_every_page_of_a_small_blog() {
    let site = small_blog();
    let run = site.build(&[]).ok();
    assert!(run.stdout.contains("written"), "{}", run.stdout);
    for f in [
        "index.html",
        "posts/async-post/index.html",
        "posts/plain/index.html",
        "posts/older/index.html",
        "posts/async-post/cat.png",
        "categories/index.html",
        "categories/rust/index.html",
        "categories/rust/async/index.html",
        "categories/life/index.html",
        "categories/rust/atom.xml",
        "tags/index.html",
        "tags/tokio/index.html",
        "tags/tokio/atom.xml",
        "archive/index.html",
        "authors/zoe/index.html",
        "atom.xml",
        "rss.xml",
        "sitemap.xml",
        "robots.txt",
        "404.html",
        "search.json",
        "style.css",
        "CNAME-ish.txt",
        "2024/03/async-post.html",
        "old/async/index.html",
    ] {
        assert!(site.out(f).is_file(), "missing {f}");
    }
    // A post in rust/async is listed on the rust page, with its parents on the post page.
    let rust = site.page("categories/rust/index.html");
    assert!(rust.contains("Title of async-post"), "{rust}");
    assert!(rust.contains("Title of older"));
    assert!(!rust.contains("Title of plain"));
    let post = site.page("posts/async-post/index.html");
    for needle in [
        "<title>Title of async-post · My bloggo blog</title>",
        r#"<link rel="canonical" href="https://blog.example.org/posts/async-post/">"#,
        r#"<meta name="description" content="Intro with an image."#,
        r#"<meta property="og:type" content="article">"#,
        r#"href="/atom.xml""#,
        r#"<a href="/categories/rust/">Rust</a> › <a href="/categories/rust/async/">Async</a>"#,
        "Related posts",
        "Title of plain",
        "Zoë Writer",
    ] {
        assert!(post.contains(needle), "post page lacks {needle}:\n{post}");
    }
    let alias = site.page("old/async/index.html");
    assert!(
        alias.contains(r#"url=https://blog.example.org/posts/async-post/"#),
        "{alias}"
    );
    assert!(site
        .page("robots.txt")
        .contains("Sitemap: https://blog.example.org/sitemap.xml"));
    let search: serde_json::Value = serde_json::from_str(&site.page("search.json")).unwrap();
    assert_eq!(search.as_array().unwrap().len(), 3);
    assert_eq!(search[0]["url"], "/posts/async-post/");
    let cats = site.page("categories/index.html");
    assert!(
        cats.contains(r#"<a href="/categories/rust/">Rust</a> <span class="count">(2)</span>"#),
        "{cats}"
    );
}

#[test]
fn hidden_posts_are_absent_and_drafts_flag_shows_them_marked() {
    let site = Site::blog(10);
    site.add(&P::published("visible", "2024-01-01 00:00:00"));
    site.add(&P {
        status: "draft",
        published_at: None,
        ..P::published("a-draft", "")
    });
    site.add(&P {
        status: "pending",
        ..P::published("a-pending", "2024-01-02 00:00:00")
    });
    site.add(&P {
        status: "archived",
        ..P::published("an-archived", "2024-01-03 00:00:00")
    });
    site.add(&P {
        deleted: true,
        ..P::published("a-deleted", "2024-01-04 00:00:00")
    });
    site.add(&P::published("a-future", "2999-01-01 00:00:00"));

    site.build(&[]).ok();
    assert!(site.out("posts/visible/index.html").is_file());
    let everything: String = tree(&site.root.join("public"))
        .into_values()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    for hidden in [
        "a-draft",
        "a-pending",
        "an-archived",
        "a-deleted",
        "a-future",
    ] {
        assert!(
            !site.out(&format!("posts/{hidden}")).exists(),
            "{hidden} was built"
        );
        assert!(!everything.contains(hidden), "{hidden} is linked somewhere");
    }

    site.build(&["--drafts"]).ok();
    for (shown, badge) in [
        ("a-draft", "Draft"),
        ("a-pending", "Pending"),
        ("a-future", "Scheduled"),
    ] {
        let page = site.page(&format!("posts/{shown}/index.html"));
        assert!(
            page.contains(&format!(">{badge}</span>")),
            "{shown} not marked:\n{page}"
        );
    }
    assert!(!site.page("posts/visible/index.html").contains("badge"));
    for hidden in ["an-archived", "a-deleted"] {
        assert!(
            !site.out(&format!("posts/{hidden}")).exists(),
            "{hidden} built with --drafts"
        );
    }
    // Back to a normal build: the drafts disappear again.
    site.build(&[]).ok();
    assert!(!site.out("posts/a-draft").exists());
}

/// Number of post cards on a listing page.
fn cards(html: &str) -> usize {
    html.matches("<article class=\"card\">").count()
}

#[test]
fn pagination_is_right_at_the_edges() {
    let site = Site::blog(2);
    let pages_of = |site: &Site| {
        (2..6)
            .take_while(|n| site.out(&format!("page/{n}/index.html")).exists())
            .count()
            + 1
    };
    // 0 posts: one empty home page.
    site.build(&[]).ok();
    assert_eq!(cards(&site.page("index.html")), 0);
    assert_eq!(pages_of(&site), 1);
    assert!(
        !site.out("tags/tokio").exists(),
        "a tag without posts gets no page"
    );

    let days = [
        "2024-01-01 00:00:00",
        "2024-01-02 00:00:00",
        "2024-01-03 00:00:00",
    ];
    let slugs = ["p1", "p2", "p3"];
    for n in 1..=3 {
        site.add(&P {
            tags: &["tokio"],
            cats: &["async"],
            ..P::published(slugs[n - 1], days[n - 1])
        });
        site.build(&[]).ok();
        let expected_pages = if n <= 2 { 1 } else { 2 };
        assert_eq!(pages_of(&site), expected_pages, "{n} posts");
        assert_eq!(cards(&site.page("index.html")), n.min(2), "{n} posts");
        for listing in [
            "tags/tokio",
            "categories/rust",
            "categories/rust/async",
            "authors/zoe",
        ] {
            assert_eq!(
                cards(&site.page(&format!("{listing}/index.html"))),
                n.min(2),
                "{listing}"
            );
            assert_eq!(
                site.out(&format!("{listing}/page/2/index.html")).exists(),
                n > 2,
                "{listing} with {n} posts"
            );
        }
    }
    let last = site.page("page/2/index.html");
    assert_eq!(cards(&last), 1);
    assert!(
        last.contains("Title of p1"),
        "the oldest post is on the last page"
    );
    assert!(last.contains(r#"<a rel="prev" href="/">"#), "{last}");
    assert!(site
        .page("index.html")
        .contains(r#"<a rel="next" href="/page/2/">"#));
    assert!(site
        .page("tags/tokio/page/2/index.html")
        .contains("Title of p1"));
}

/// The text of every element named `name` in an XML document (which must parse).
fn xml_texts(xml: &str, name: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        match r
            .read_event()
            .unwrap_or_else(|e| panic!("bad XML: {e}\n{xml}"))
        {
            Event::Start(e) if AsRef::<str>::as_ref(&e.local_name()) == name => {
                inside = true;
                out.push(String::new());
            }
            Event::End(e) if AsRef::<str>::as_ref(&e.local_name()) == name => inside = false,
            Event::Text(t) if inside => {
                let s = t.into_inner().into_owned();
                out.last_mut().unwrap().push_str(&s);
            }
            Event::GeneralRef(g) if inside => {
                out.last_mut()
                    .unwrap()
                    .push_str(&format!("&{};", AsRef::<str>::as_ref(&g)));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn feeds_and_sitemap_parse_as_xml_with_the_right_entries() {
    let site = small_blog();
    site.add(&P {
        content: "Ampersands & <angle> brackets, \"quotes\" and ünïcödé.",
        ..P::published("tricky", "2024-01-15 00:00:00")
    });
    site.add(&P::published("scheduled", "2999-01-01 00:00:00"));
    site.build(&[]).ok();

    let atom = site.page("atom.xml");
    let ids = xml_texts(&atom, "id");
    assert_eq!(ids[0], "https://blog.example.org/atom.xml");
    assert_eq!(
        ids[1..],
        [
            "https://blog.example.org/posts/async-post/",
            "https://blog.example.org/posts/plain/",
            "https://blog.example.org/posts/tricky/",
            "https://blog.example.org/posts/older/",
        ]
    );
    assert_eq!(xml_texts(&atom, "content").len(), 4);

    let rss = site.page("rss.xml");
    assert_eq!(xml_texts(&rss, "item").len(), 4);
    assert_eq!(
        xml_texts(&rss, "guid")[0],
        "https://blog.example.org/posts/async-post/"
    );

    let rust_feed = site.page("categories/rust/atom.xml");
    assert_eq!(xml_texts(&rust_feed, "entry").len(), 2);
    let tag_feed = site.page("tags/notes/atom.xml");
    assert_eq!(xml_texts(&tag_feed, "entry").len(), 1);

    let sitemap = site.page("sitemap.xml");
    let locs = xml_texts(&sitemap, "loc");
    for must in [
        "https://blog.example.org/",
        "https://blog.example.org/posts/tricky/",
        "https://blog.example.org/categories/rust/async/",
        "https://blog.example.org/tags/tokio/",
        "https://blog.example.org/archive/",
        "https://blog.example.org/authors/zoe/",
    ] {
        assert!(
            locs.iter().any(|l| l == must),
            "sitemap lacks {must}: {locs:?}"
        );
    }
    assert!(!locs
        .iter()
        .any(|l| l.contains("scheduled") || l.contains("old/async")));
    assert_eq!(xml_texts(&sitemap, "lastmod").len(), locs.len());
}

#[test]
fn a_broken_template_fails_naming_it_and_leaves_the_old_output_byte_identical() {
    let site = small_blog();
    site.build(&[]).ok();
    let before = tree(&site.root.join("public"));

    // A syntax error: caught before anything is rendered.
    site.write(
        "templates/post.html",
        "{% extends \"base.html\" %}\n{% block content %}\n{% if %}\n{% endblock content %}\n",
    );
    let run = site.build(&[]).fails();
    assert!(run.stderr.contains("post.html"), "{}", run.stderr);
    assert!(run.stderr.contains("3:"), "no line in: {}", run.stderr);
    assert_eq!(tree(&site.root.join("public")), before);

    // A render error: every failing page is reported, with the template and line.
    site.write(
        "templates/post.html",
        "{% extends \"base.html\" %}\n{% block content %}\n<h1>{{ post.title }}</h1>\n{{ post.no_such_field | upper }}\n{% endblock content %}\n",
    );
    let run = site.build(&[]).fails();
    assert!(run.stderr.contains("3 of "), "{}", run.stderr);
    for slug in ["async-post", "plain", "older"] {
        assert!(
            run.stderr.contains(&format!("/posts/{slug}/")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("post.html line 4"), "{}", run.stderr);
    assert!(run.stderr.contains("no_such_field"), "{}", run.stderr);
    assert_eq!(tree(&site.root.join("public")), before);
    // A working override is used.
    site.write(
        "templates/post.html",
        "{% extends \"base.html\" %}{% block content %}<h1 class=\"mine\">{{ post.title }}</h1>{% endblock content %}",
    );
    site.build(&[]).ok();
    assert!(site
        .page("posts/plain/index.html")
        .contains("<h1 class=\"mine\">Title of plain</h1>"));
}

#[test]
fn every_internal_link_and_image_resolves_to_a_file() {
    let site = small_blog();
    for i in 0..13 {
        let slug = format!("filler-{i:02}");
        let date = format!("2022-01-{:02} 00:00:00", i + 1);
        site.add(&P {
            tags: &["notes"],
            cats: &["async"],
            ..P::published(&slug, &date)
        });
    }
    site.conn()
        .execute(
            "UPDATE posts SET cover_image = 'cat.png' WHERE slug = 'async-post'",
            [],
        )
        .unwrap();
    site.build(&[]).ok();
    let out = site.root.join("public");
    let broken = broken_links(&out, "https://blog.example.org");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
    // The walker does find links (it cannot pass on a site it fails to read).
    assert!(
        site.page("posts/async-post/index.html")
            .contains("src=\"/posts/async-post/cat.png\"")
            || site
                .page("posts/async-post/index.html")
                .contains("src=\"cat.png\"")
    );
    std::fs::remove_file(out.join("posts/plain/index.html")).unwrap();
    assert!(!broken_links(&out, "https://blog.example.org").is_empty());
}

#[test]
fn rebuilds_write_only_what_changed_and_drop_deleted_pages() {
    let site = small_blog();
    let first = site.build(&[]).ok();
    let (pages, written, unchanged) = counts(&first);
    assert!(
        pages > 20 && written > pages && unchanged == 0,
        "{}",
        first.stdout
    );

    let again = site.build(&[]).ok();
    let (_, written, unchanged) = counts(&again);
    assert_eq!(written, 0, "{}", again.stdout);
    assert!(unchanged > pages);

    // One post's body changes: its page, the listings showing its summary and the feeds.
    let before = tree(&site.root.join("public"));
    site.conn()
        .execute(
            "UPDATE posts SET content = 'A new first paragraph.' WHERE slug = 'older'",
            [],
        )
        .unwrap();
    let run = site.build(&[]).ok();
    let (_, written, _) = counts(&run);
    let after = tree(&site.root.join("public"));
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(changed
        .iter()
        .any(|f| f.as_str() == "posts/older/index.html"));
    assert!(!changed
        .iter()
        .any(|f| f.as_str() == "posts/plain/index.html" || f.as_str() == "style.css"));
    // The manifest itself is rewritten; every other changed file was counted as written.
    assert_eq!(written, changed.len() - 1, "{changed:?}");
    assert!(written < pages / 2, "{}", run.stdout);

    // A deleted post disappears, with its aliases and media.
    site.conn()
        .execute(
            "UPDATE posts SET deleted_at = '2024-06-01 00:00:00' WHERE slug = 'async-post'",
            [],
        )
        .unwrap();
    let run = site.build(&[]).ok();
    assert!(run.stdout.contains("removed"), "{}", run.stdout);
    for gone in [
        "posts/async-post",
        "old/async",
        "2024/03/async-post.html",
        "categories/rust/async",
    ] {
        assert!(!site.out(gone).exists(), "{gone} still there");
    }
    assert!(!site.page("index.html").contains("async-post"));
}

#[test]
fn a_site_without_a_store_gets_one_and_a_foreign_output_folder_is_refused() {
    let site = Site::blog(10);
    std::fs::remove_file(site.store_path()).unwrap();
    site.build(&[]).ok();
    assert!(site.store_path().is_file());
    assert!(site.out("index.html").is_file());

    let foreign = site.root.join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.txt"), "precious").unwrap();
    let run = site.build(&["--out", foreign.to_str().unwrap()]).fails();
    assert!(
        run.stderr.contains("not written by bloggo"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("thesis.txt")).unwrap(),
        "precious"
    );
}

#[test]
fn base_url_with_a_path_prefixes_every_link() {
    let site = small_blog();
    site.build(&["--base-url", "https://example.org/blog/", "--out", "sub"])
        .ok();
    let out = site.root.join("sub");
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(home.contains(r#"href="/blog/posts/async-post/""#), "{home}");
    assert!(
        home.contains(r#"href="https://example.org/blog/""#),
        "{home}"
    );
}

#[test]
fn the_example_site_builds_with_every_published_post_and_no_broken_links() {
    let site = Site::copy_of(&crate::harness::repo().join("example-site"));
    site.build(&[]).ok();
    let out = site.root.join("public");
    let published = site.count(
        "SELECT COUNT(*) FROM posts WHERE status = 'published' AND deleted_at IS NULL
         AND published_at <= strftime('%Y-%m-%d %H:%M:%S', 'now')",
    );
    let built = std::fs::read_dir(out.join("posts")).unwrap().count();
    assert!(
        published >= 25,
        "the example site should publish at least 25 posts"
    );
    assert_eq!(built as i64, published);
    for hidden in [
        "thoughts-on-comments",
        "letter-to-future-readers",
        "old-comment-policy",
        "guest-post-on-search",
        "notes-for-a-talk",
    ] {
        assert!(
            !out.join("posts").join(hidden).exists(),
            "{hidden} was published"
        );
    }
    let rust = site.page("categories/programming/rust/index.html");
    assert!(rust.contains("Cancel safety in plain words"), "{rust}");
    let broken = broken_links(&out, "http://127.0.0.1:4000");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
    for feed in ["atom.xml", "rss.xml", "sitemap.xml"] {
        xml_texts(&site.page(feed), "loc");
    }

    site.build(&["--drafts"]).ok();
    assert!(site.out("posts/thoughts-on-comments/index.html").is_file());
    assert!(!site.out("posts/old-comment-policy").exists());
}

#[test]
fn the_guide_builds_with_a_page_for_every_file_and_no_broken_links() {
    let repo = crate::harness::repo();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("guide");
    crate::harness::copy_dir(&repo.join("content"), &root.join("content"));
    std::fs::copy(repo.join("bloggo.toml"), root.join("bloggo.toml")).unwrap();
    let run = crate::harness::run_in(tmp.path(), &["--site", root.to_str().unwrap(), "build"]).ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let pages: Vec<_> = std::fs::read_dir(repo.join("content"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    assert!(pages.len() >= 8, "the guide has its pages");
    for p in &pages {
        let slug = p.file_stem().unwrap().to_str().unwrap();
        assert!(
            root.join("public/posts")
                .join(slug)
                .join("index.html")
                .is_file(),
            "no page for {}",
            p.display()
        );
    }
    let broken = broken_links(&root.join("public"), "http://guide.invalid");
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

/// What the incremental builds left is what a clean build makes.
pub(crate) fn assert_same_as_a_clean_build(site: &Site) {
    let clean = site.path("clean");
    site.build(&["--clean", "--out", clean.to_str().unwrap()])
        .ok();
    let mut a = tree(&site.root.join("public"));
    let mut b = tree(&clean);
    a.remove(bloggo::output::MANIFEST);
    b.remove(bloggo::output::MANIFEST);
    assert!(a == b, "incremental and clean builds differ");
}

/// The files a build rendered (the rest were carried over by fingerprint).
pub(crate) fn rendered(site: &Site, args: &[&str]) -> Vec<String> {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let run = site.run_env(&all, &[("BLOGGO_TIMINGS", "files")]).ok();
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("rendered "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_rebuild_renders_only_the_pages_whose_inputs_changed() {
    let site = small_blog();
    for k in 1..=12 {
        site.add(&P {
            slug: &format!("filler-{k:02}"),
            ..P::published("", &format!("2022-01-{k:02} 10:00:00"))
        });
    }
    let first = rendered(&site, &[]);
    assert!(first.len() > 20, "{first:?}");
    assert_eq!(rendered(&site, &[]), Vec::<String>::new());

    // One post's first paragraph changes: its page, the pages that show its card, the feeds
    // and the site-wide pages; not the far-away posts or listings.
    site.conn()
        .execute(
            "UPDATE posts SET content = 'A new first paragraph.' WHERE slug = 'older'",
            [],
        )
        .unwrap();
    let again = rendered(&site, &[]);
    for f in [
        "posts/older/index.html",
        "posts/plain/index.html",
        "index.html",
        "categories/rust/index.html",
        "atom.xml",
        "search.json",
    ] {
        assert!(again.iter().any(|r| r == f), "{f} not rendered: {again:?}");
    }
    for f in [
        "posts/filler-06/index.html",
        "page/2/index.html",
        "tags/notes/index.html",
        "404.html",
    ] {
        assert!(!again.iter().any(|r| r == f), "{f} rendered: {again:?}");
    }
    assert!(again.len() < first.len() / 2, "{again:?}");

    // What the incremental build left is what a clean build makes.
    assert_same_as_a_clean_build(&site);

    // A template change remakes every page.
    site.write("templates/404.html", "{% extends \"base.html\" %}");
    assert_eq!(rendered(&site, &[]).len(), first.len());
}

#[test]
fn an_edit_below_the_summary_remakes_only_the_post_and_its_feeds() {
    let site = small_blog();
    for k in 1..=12 {
        site.add(&P {
            slug: &format!("filler-{k:02}"),
            ..P::published("", &format!("2022-01-{k:02} 10:00:00"))
        });
    }
    site.conn()
        .execute(
            "UPDATE posts SET excerpt = 'A summary of its own.' WHERE slug = 'filler-06'",
            [],
        )
        .unwrap();
    rendered(&site, &[]);
    assert_eq!(rendered(&site, &[]), Vec::<String>::new());

    // Its neighbours, related posts, listings, archive, search and sitemap show only its card
    // (title, dates, excerpt, summary), which did not change.
    site.conn()
        .execute(
            "UPDATE posts SET content = content || '\n\nA new last paragraph.'
             WHERE slug = 'filler-06'",
            [],
        )
        .unwrap();
    let again = rendered(&site, &[]);
    assert!(
        again.iter().any(|f| f == "posts/filler-06/index.html"),
        "{again:?}"
    );
    for f in &again {
        assert!(
            f == "posts/filler-06/index.html" || (f.ends_with("atom.xml") || f == "rss.xml"),
            "{f} rendered: {again:?}"
        );
    }
    let page =
        std::fs::read_to_string(site.root.join("public/posts/filler-06/index.html")).unwrap();
    assert!(page.contains("A new last paragraph."));

    // A new summary (text before `<!-- more -->`) changes its card: the neighbours follow.
    site.conn()
        .execute(
            "UPDATE posts SET content = 'New teaser.\n\n<!-- more -->\n\nRest.'
             WHERE slug = 'filler-06'",
            [],
        )
        .unwrap();
    let again = rendered(&site, &[]);
    for f in ["posts/filler-05/index.html", "posts/filler-07/index.html"] {
        assert!(again.iter().any(|r| r == f), "{f} not rendered: {again:?}");
    }
    assert_same_as_a_clean_build(&site);
}

#[test]
fn a_build_with_nothing_new_leaves_the_site_alone_and_a_clean_one_puts_back_what_was_deleted() {
    let site = small_blog();
    site.build(&[]).ok();
    let stage = site.root.join(".public.bloggo-stage");
    let index = site.root.join("public/index.html");
    let before = std::fs::metadata(&index).unwrap().modified().unwrap();
    let stage_before = std::fs::metadata(&stage).unwrap().modified().unwrap();
    // Nothing changed: nothing is written, nothing is swapped.
    let run = site.build(&[]).ok();
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains(" 0 written"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::metadata(&index).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(
        std::fs::metadata(&stage).unwrap().modified().unwrap(),
        stage_before
    );
    // A page deleted by hand comes back with a clean build (an ordinary build trusts the
    // output's manifest, and carries what it lists).
    std::fs::remove_file(&index).unwrap();
    site.build(&["--clean"]).ok();
    assert!(index.is_file());
    assert_same_as_a_clean_build(&site);
}

/// Whether XML 1.0 allows a character (its `Char` production).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Panics unless the file is well-formed XML 1.0: every character is one XML allows (quick-xml
/// does not check that), character references name allowed characters, entities are the
/// predefined ones, attributes are sound, tags nest and close, and there is one root element.
pub(crate) fn assert_well_formed_xml(path: &Path) {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (n, line) in xml.lines().enumerate() {
        if let Some(c) = line.chars().find(|&c| !xml_char(c)) {
            panic!(
                "{}:{}: {c:?} is not allowed in XML 1.0:\n{line}",
                path.display(),
                n + 1
            );
        }
    }
    let mut r = quick_xml::Reader::from_str(&xml);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        let event = r
            .read_event()
            .unwrap_or_else(|e| panic!("{}: not well-formed: {e}", path.display()));
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                }
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                    assert!(v.chars().all(xml_char), "{}: {v:?}", path.display());
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth -= 1,
            Event::GeneralRef(g) => {
                match g
                    .resolve_char_ref()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                {
                    Some(c) => assert!(xml_char(c), "{}: &{:?};", path.display(), g),
                    None => {
                        let name: &str = g.as_ref();
                        assert!(
                            ["amp", "lt", "gt", "quot", "apos"].contains(&name),
                            "{}: unknown entity &{name};",
                            path.display()
                        );
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{}: unclosed elements", path.display());
    assert_eq!(roots, 1, "{}: one root element", path.display());
}

/// Every `.xml` file of a built site.
fn xml_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "xml"))
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn control_characters_in_a_title_or_body_never_reach_the_xml() {
    // One \x0c or \x01 made atom.xml, rss.xml and the term feeds not well-formed.
    let site = Site::blog(10);
    let dir = site.tmp.path().join("ctl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ctl.md"),
        "---\ntitle: \"Form\\x0cfeed and \\x01start\"\ndescription: \"Said \\x01 so\"\n\
         tags: [\"bell\\x07tag\"]\ncategories: [misc]\n---\n\
         Body with \x0c a form feed, \x01 a start of heading, \x1b escape and \u{FFFE}.\n",
    )
    .unwrap();
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.build(&[]).ok();
    let files = xml_files(&site.root.join("public"));
    for must in [
        "atom.xml",
        "rss.xml",
        "sitemap.xml",
        "categories/misc/atom.xml",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} missing: {files:?}"
        );
    }
    assert!(files.iter().any(|f| f.to_string_lossy().contains("/tags/")));
    for f in &files {
        assert_well_formed_xml(f);
    }
    // Form feed and vertical tab read as a space; the other controls are dropped.
    let atom = site.page("atom.xml");
    assert_eq!(xml_texts(&atom, "title")[1], "Form feed and start");
    assert!(
        atom.contains("a form feed,  a start of heading,  escape and ."),
        "{atom}"
    );
    // The HTML page still renders, with the post's words.
    let html = site.page("posts/ctl/index.html");
    assert!(html.contains("a start of heading"), "{html}");
    assert!(html.contains("feed and"), "{html}");
}

#[test]
fn a_stored_date_feeds_cannot_carry_builds_and_leaves_the_post_out_of_the_feeds() {
    // Written straight into the store (the sqlite3 shell can): it made build panic in
    // to_rfc2822. The build warns naming the post and keeps it out of the feeds.
    let site = small_blog();
    let far = site.add(&P {
        tags: &["tokio"],
        cats: &["rust"],
        ..P::published("far-future", "+10000-01-01 00:00:00")
    });
    let _ = far;
    let before_christ = site.add(&P::published("before-christ", "-0001-06-01 00:00:00"));
    let _ = before_christ;
    site.add(&P::published("far-update", "2024-04-01 00:00:00"));
    site.conn()
        .execute(
            "UPDATE posts SET modified_at = '+10000-01-01 00:00:00' WHERE slug = 'far-update'",
            [],
        )
        .unwrap();
    let r = site.build(&[]).ok();
    for slug in ["far-future", "before-christ", "far-update"] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with("warning: ") && l.contains(slug) && l.contains("1 to 9999")),
            "no warning for {slug}:\n{}",
            r.stderr
        );
    }
    let out = site.root.join("public");
    for f in xml_files(&out) {
        assert_well_formed_xml(&f);
        let text = std::fs::read_to_string(&f).unwrap();
        for slug in ["far-future", "before-christ", "far-update"] {
            if !f.ends_with("sitemap.xml") {
                assert!(!text.contains(slug), "{}: lists {slug}", f.display());
            }
        }
    }
    assert_eq!(xml_texts(&site.page("atom.xml"), "entry").len(), 3);
    assert_eq!(xml_texts(&site.page("rss.xml"), "item").len(), 3);
    // Every date the sitemap gives has four digits.
    for d in xml_texts(&site.page("sitemap.xml"), "lastmod") {
        assert!(
            d.len() == 10 && d.as_bytes()[4] == b'-' && d[..4].parse::<u32>().is_ok(),
            "{d}"
        );
    }
    // The posts' own pages are made.
    assert!(site
        .page("posts/far-future/index.html")
        .contains("Title of far-future"));
    // serve builds the same way: the same site, no panic.
    let r = site.build(&["--clean"]).ok();
    assert!(r.stderr.contains("far-future"), "{}", r.stderr);
}
