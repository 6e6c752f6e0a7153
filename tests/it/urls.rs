//! Post URLs (issue 17): `[permalinks]` patterns, a post's own `path`/`permalink`/`url`, URLs
//! instead of slugs as what must be unique, and dates read from a post's path.

use std::path::PathBuf;

use crate::harness::{repo, Site};

/// A fixture folder of `tests/fixtures/urls/`.
fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/urls").join(name)
}

impl Site {
    /// Appends a table to `bloggo.toml`.
    fn configure(&self, toml: &str) {
        let cfg = self.read("bloggo.toml");
        self.write("bloggo.toml", &format!("{cfg}\n{toml}\n"));
    }

    fn published(&self, rel: &str) -> bool {
        self.path("public").join(rel).is_file()
    }
}

#[test]
fn a_dated_pattern_keeps_hugo_urls_and_lets_three_posts_share_a_slug() {
    let site = Site::new();
    site.configure("[permalinks]\nposts = \"/:year/:month/:day/:slug/\"");
    let dir = fixture("hugo-dated");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    assert_eq!(
        site.count("SELECT COUNT(*) FROM posts WHERE slug = 'legal-transparency-report'"),
        3
    );
    site.run(&["build"]).ok();
    for y in ["2019", "2020", "2021"] {
        let page = format!("{y}/05/02/legal-transparency-report/index.html");
        assert!(site.published(&page), "{page}");
        assert!(site
            .read(&format!("public/{page}"))
            .contains(&format!("Report {y}")));
    }
    // A post's own `url` wins over the pattern.
    assert!(site.published("about/index.html"));
    assert!(!site.path("public/posts").exists());
    let sitemap = site.read("public/sitemap.xml");
    assert!(
        sitemap.contains("/2020/05/02/legal-transparency-report/"),
        "{sitemap}"
    );
    let feed = site.read("public/atom.xml");
    assert!(
        feed.contains("/2021/05/02/legal-transparency-report/"),
        "{feed}"
    );

    // A shared slug names no post; `#id` does.
    let e = site
        .run(&["post", "show", "legal-transparency-report"])
        .fails();
    assert!(
        e.stderr.contains("is the slug of 3 posts") && e.stderr.contains("#1"),
        "{}",
        e.stderr
    );
    let id = site.rows("SELECT id FROM posts WHERE title LIKE '%2020'")[0][0].clone();
    let shown = site.run(&["post", "show", &format!("#{id}")]).ok();
    assert!(shown.stdout.contains("Report 2020"), "{}", shown.stdout);

    // Importing again changes nothing: each file finds its own post.
    let again = site.run(&["import", dir.to_str().unwrap()]).ok();
    assert!(
        again.stdout.contains("0 new, 0 updated"),
        "{}",
        again.stdout
    );
}

#[test]
fn zola_paths_are_kept_date_their_posts_and_keep_sections_apart() {
    let site = Site::new();
    let dir = fixture("zola");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    for page in [
        "2021/06/17/some-post/index.html",
        "2021/03/01/meetup/index.html",
        "sub-blog/2019/11/05/meetup/index.html",
        "sub-blog/2020/08/24/another-post/index.html",
    ] {
        assert!(site.published(page), "{page}");
    }
    // The date is the front matter's, else the one in the path.
    let date = |slug: &str| {
        site.rows(&format!(
            "SELECT published_at FROM posts WHERE slug = '{slug}' ORDER BY id"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect::<Vec<_>>()
    };
    assert_eq!(date("some-post"), ["2021-06-17 00:00:00"]);
    assert_eq!(date("another-post"), ["2020-08-24 00:00:00"]);
    assert_eq!(
        date("meetup"),
        ["2021-03-01 00:00:00", "2019-11-05 00:00:00"]
    );
    assert_eq!(
        site.rows("SELECT path FROM posts WHERE slug = 'some-post'")[0][0],
        "/2021/06/17/some-post/"
    );

    // One section imported again on its own overwrites nobody.
    site.run(&["import", dir.join("sub-blog").to_str().unwrap()])
        .ok();
    let titles = site.rows("SELECT title FROM posts WHERE slug = 'meetup' ORDER BY title");
    assert_eq!(titles, [["Meetup"], ["Sub-blog meetup"]]);
    assert_eq!(
        site.count("SELECT COUNT(*) FROM post_aliases WHERE path = '/meetup.html'"),
        1
    );

    // Export writes the path back (Zola's own key, relative) and gives both meetups a file:
    // each in its section's folder.
    let out = site.tmp.path().join("export");
    site.run(&["export", out.to_str().unwrap(), "--format", "zola"])
        .ok();
    let some = std::fs::read_to_string(out.join("content/some-post.md")).unwrap();
    assert!(some.contains("path = \"2021/06/17/some-post/\""), "{some}");
    let main = std::fs::read_to_string(out.join("content/meetup.md")).unwrap();
    assert!(main.contains("title = \"Meetup\""), "{main}");
    let sub = std::fs::read_to_string(out.join("content/sub-blog/meetup.md")).unwrap();
    assert!(sub.contains("title = \"Sub-blog meetup\""), "{sub}");
    assert!(out.join("content/sub-blog/_index.md").is_file());
}

#[test]
fn a_pattern_ending_in_html_publishes_files() {
    let site = Site::new();
    site.configure("[permalinks]\nposts = \"/:categories/:year/:month/:day/:title:output_ext\"");
    site.write(
        "import/_posts/2024-05-01-hello.md",
        "---\ntitle: Hello World\ncategory: release\n---\n\n![map](map.png)\n",
    );
    site.write(
        "import/_posts/2024-05-02-plain.md",
        "---\ntitle: Plain\n---\n\nNo category.\n",
    );
    site.run(&["import", site.path("import/_posts").to_str().unwrap()])
        .ok();
    site.run(&["build"]).ok();
    // `:title` is the slug (Jekyll's meaning): the file's name, not the title "Hello World".
    assert!(site.published("release/2024/05/01/hello.html"));
    assert!(site.published("2024/05/02/plain.html"));
    let index = site.read("public/index.html");
    assert!(
        index.contains("href=\"/release/2024/05/01/hello.html\""),
        "{index}"
    );
}

#[test]
fn a_jekyll_permalink_copied_into_bloggo_toml_gives_jekylls_urls() {
    let site = Site::new();
    site.configure("[permalinks]\nposts = \"/:categories/:year/:month/:day/:title:output_ext\"");
    site.write(
        "import/_posts/2024-05-01-hello-world.md",
        "---\ntitle: \"Hello, World: again\"\ncategories: [news]\n---\n\nText.\n",
    );
    site.run(&["import", site.path("import/_posts").to_str().unwrap()])
        .ok();
    site.run(&["build"]).ok();
    assert!(site.published("news/2024/05/01/hello-world.html"));
    assert!(!site.published("news/2024/05/01/hello-world-again.html"));

    // The title slugified, as Hugo's `:title`, is `:slugified_title`.
    let hugo = Site::new();
    hugo.configure("[permalinks]\nposts = \"/:year/:slugified_title/\"");
    hugo.write(
        "import/_posts/2024-05-01-hello-world.md",
        "---\ntitle: \"Hello, World: again\"\ncategories: [news]\n---\n\nText.\n",
    );
    hugo.run(&["import", hugo.path("import/_posts").to_str().unwrap()])
        .ok();
    hugo.run(&["build"]).ok();
    assert!(hugo.published("2024/hello-world-again/index.html"));
}

#[test]
fn two_posts_with_one_url_are_refused_naming_both_files() {
    let site = Site::new();
    site.write(
        "import/a.md",
        "+++\ntitle = \"A\"\npath = \"2021/01/01/same/\"\n+++\n",
    );
    site.write(
        "import/b.md",
        "+++\ntitle = \"B\"\npath = \"/2021/01/01/same\"\n+++\n",
    );
    let r = site
        .run(&["import", site.path("import").to_str().unwrap()])
        .fails();
    assert!(
        r.stderr.contains("b.md") && r.stderr.contains("a.md"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("/2021/01/01/same/"), "{}", r.stderr);
    assert_eq!(site.count("SELECT COUNT(*) FROM posts"), 0);
}

#[test]
fn a_post_dated_by_its_file_time_is_warned_about() {
    let site = Site::new();
    site.write("import/undated.md", "---\ntitle: Undated\n---\n\nText.\n");
    let r = site
        .run(&["import", site.path("import").to_str().unwrap()])
        .ok();
    assert!(
        r.stderr.contains("undated.md") && r.stderr.contains("modification time"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_pattern_is_refused_naming_the_file_key_and_placeholder() {
    let site = Site::new();
    site.configure("[permalinks]\nposts = \"/:yaer/:slug/\"");
    let r = site.run(&["build"]).fails();
    assert!(
        r.stderr.contains("bloggo.toml")
            && r.stderr.contains("[permalinks] posts")
            && r.stderr.contains(":yaer"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_new_pattern_keeps_the_old_urls_as_redirects() {
    let site = Site::new();
    site.write(
        "import/hello.md",
        "---\ntitle: Hello\ndate: 2024-05-01\n---\n\nText.\n",
    );
    site.run(&["import", site.path("import").to_str().unwrap()])
        .ok();
    site.run(&["build"]).ok();
    assert!(site.published("posts/hello/index.html"));
    site.configure("[permalinks]\nposts = \"/:year/:slug/\"");
    for round in 0..2 {
        site.run(&["build"]).ok();
        assert!(site.published("2024/hello/index.html"), "round {round}");
        let old = site.read("public/posts/hello/index.html");
        assert!(
            old.contains("/2024/hello/") && !old.contains("Text."),
            "round {round}: {old}"
        );
    }
    // The store remembers the pages: a clean build makes the same redirect.
    let clean = site.path("clean");
    site.run(&["build", "--clean", "--out", clean.to_str().unwrap()])
        .ok();
    assert!(clean.join("posts/hello/index.html").is_file());
    assert_eq!(site.count("SELECT COUNT(*) FROM post_pages"), 2);
}

/// Migration 5 adds `posts.path` and lets slugs repeat; going down refuses while two posts
/// share a slug, and otherwise keeps every row. The change log watches the new column.
#[test]
fn the_post_paths_migration_goes_both_ways() {
    let site = Site::new();
    let dir = fixture("zola");
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let id = site.rows("SELECT id FROM posts WHERE slug = 'some-post'")[0][0].clone();
    let logged = |site: &Site| {
        site.count(&format!(
            "SELECT COUNT(*) FROM site_changes WHERE post_id = {id}"
        ))
    };
    let before = logged(&site);
    site.conn()
        .execute(
            &format!("UPDATE posts SET path = '/moved/' WHERE id = {id}"),
            [],
        )
        .unwrap();
    assert_eq!(logged(&site), before + 1);

    let r = site.run(&["migrate", "down", "--to", "4"]).fails();
    assert!(r.stderr.contains("UNIQUE"), "{}", r.stderr);
    site.conn()
        .execute(
            "UPDATE posts SET slug = 'sub-meetup' WHERE title = 'Sub-blog meetup'",
            [],
        )
        .unwrap();
    let rows = |site: &Site| site.rows("SELECT id, title, slug, content FROM posts ORDER BY id");
    let kept = rows(&site);
    site.run(&["migrate", "down", "--to", "4"]).ok();
    assert_eq!(rows(&site), kept);
    assert_eq!(
        site.count("SELECT COUNT(*) FROM pragma_table_info('posts') WHERE name = 'path'"),
        0
    );
    site.run(&["migrate", "up"]).ok();
    assert_eq!(rows(&site), kept);
    assert_eq!(
        site.count("SELECT COUNT(*) FROM posts WHERE path IS NOT NULL"),
        0
    );
    site.run(&["db", "check"]).ok();
}

/// The Jekyll project's own posts under Jekyll's `date` permalink style, written into
/// bloggo's config: each is published where Jekyll publishes it,
/// `/<categories>/<year>/<month>/<day>/<title>.html` — the categories lower-cased and joined,
/// `:title` the file name's slug, and the day that of the front matter's `date` in the site's
/// time zone (Jekyll reads every date into the build's zone: `Utils.parse_date` is
/// `Time.parse(…).localtime`), else the file name's. Jekyll keeps dots in `:title`
/// (`jekyll-sass-converter-3.0-released`) where bloggo's slugs have none: such a post is at
/// `…3-0-released.html`, so at least 99% rather than all are asserted, and the misses are
/// printed.
#[test]
#[ignore = "needs the real posts in ../shared/corpora/jekyll-posts (run by .ci/run when present)"]
fn corpus_jekyll_posts_keep_their_urls_under_jekylls_date_permalink() {
    let corpus = crate::harness::shared_corpus("jekyll-posts");
    let site = Site::new();
    site.configure("[permalinks]\nposts = \"/:categories/:year/:month/:day/:title:output_ext\"");
    site.run(&["import", corpus.to_str().unwrap(), "--quiet"])
        .ok();
    site.run(&["build", "--quiet"]).ok();
    let mut total = 0;
    let mut missed = Vec::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((stem, _)) = name.rsplit_once('.') else {
            continue;
        };
        if stem.len() < 11 {
            continue;
        }
        let (file_date, title) = stem.split_at(10);
        let title = title.trim_start_matches('-');
        let text = std::fs::read_to_string(&path).unwrap();
        let front = text.split("\n---").next().unwrap_or("");
        let mut cats: Vec<String> = Vec::new();
        let mut date = file_date.to_string();
        for line in front.lines() {
            if let Some(v) = line
                .strip_prefix("category:")
                .or_else(|| line.strip_prefix("categories:"))
            {
                let v = v.trim().trim_matches(['[', ']']);
                cats.extend(
                    v.split([',', ' '])
                        .map(|c| c.trim().trim_matches(['"', '\'']).to_lowercase())
                        .filter(|c| !c.is_empty()),
                );
            }
            if let Some(v) = line.strip_prefix("date:") {
                let v = v.trim().trim_matches(['"', '\'']);
                if let Ok(d) = chrono::DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S %z") {
                    date = d.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string();
                }
            }
        }
        let mut url = String::new();
        for c in &cats {
            url += &format!("{c}/");
        }
        url += &format!("{}/{title}.html", date.replace('-', "/"));
        total += 1;
        if !site.published(&url) {
            missed.push(url);
        }
    }
    assert!(total >= 100, "{total} posts read");
    let kept = (total - missed.len()) as f64 / total as f64;
    eprintln!(
        "{} of {total} Jekyll URLs kept; not at Jekyll's URL: {missed:?}",
        total - missed.len()
    );
    assert!(kept >= 0.99, "{kept:.3} kept; missed: {missed:#?}");
}
