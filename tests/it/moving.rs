//! Moving a real blog in (issue 17's "Done when"), at the size and in the shapes of the blogs
//! the issue was found with: a Zola blog of 250 posts in sections with `path` keys, dates only
//! in paths, nested folders, aliases of every shape and `@/` links; a Hugo site of 120 posts
//! with `[permalinks]`, yearly posts sharing a slug, a section without a pattern and
//! standalone pages. Every URL, alias and date must survive the import and the build, and no
//! internal link may break.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::*;

fn write_tree(root: &Path, files: &[(String, String)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// A generated site: its files, what each post must become (by file), and its aliases (as
/// written, the URL each must lead to).
type Generated = (
    Vec<(String, String)>,
    BTreeMap<String, Expect>,
    Vec<(String, String)>,
);

/// What a generated post must become: its URL path and its date.
struct Expect {
    url: String,
    date: String,
}

fn zola_blog() -> Generated {
    let mut files = vec![
        (
            "config.toml".to_string(),
            "base_url = \"https://zola.example\"\ntitle = \"A Zola blog\"\ntaxonomies = [{name = \"tags\"}]\n".to_string(),
        ),
        ("content/_index.md".into(), "+++\ntitle = \"Home\"\n+++\n".into()),
        (
            "content/sub-blog/_index.md".into(),
            "+++\ntitle = \"Sub blog\"\ndescription = \"Another team's posts\"\n+++\n".into(),
        ),
        (
            "content/releases/_index.md".into(),
            "+++\ntitle = \"Releases\"\ngenerate_feeds = true\n+++\nEvery release.\n".into(),
        ),
    ];
    let mut expect = BTreeMap::new();
    // (alias as written, the URL it must lead to)
    let mut aliases = Vec::new();
    for i in 0..250usize {
        let folder = zola_folder(i);
        let slug = zola_slug(i);
        let (y, m, d) = (2015 + (i % 9), 1 + (i % 12), 1 + (i % 28));
        let date = format!("{y:04}-{m:02}-{d:02} 00:00:00");
        let mut fm = format!("+++\ntitle = \"Post {i}\"\n");
        let url = if i % 5 != 4 && i % 7 != 0 {
            // A `path` key with the date in it, in the shapes Zola accepts; the date only there.
            let p = format!("{folder}{y:04}/{m:02}/{d:02}/{slug}");
            let written = match i % 3 {
                0 => format!("{p}/"),
                1 => format!("/{p}"),
                _ => p.clone(),
            };
            fm += &format!("path = \"{written}\"\n");
            format!("/{p}/")
        } else {
            fm += &format!("date = {y:04}-{m:02}-{d:02}\n");
            format!("/{folder}{slug}/")
        };
        if i % 6 == 0 {
            let alias = match i % 4 {
                0 => format!("old/{slug}.html"),
                1 => format!("/old/{slug}/"),
                2 => format!("releases/1.{i}"),
                _ => format!("/legacy/{slug}"),
            };
            fm += &format!("aliases = [\"{alias}\"]\n");
            aliases.push((alias, url.clone()));
        }
        fm += "[taxonomies]\ntags = [\"zola\"]\n+++\n";
        let mut body = format!("Text of post {i}.\n\n## Details\n\nMore.\n");
        if i >= 5 {
            // A link to an earlier post by its file, with a fragment.
            let j = i - 5;
            let target = format!("{}{}.md", zola_folder(j), zola_slug(j));
            body += &format!("\nSee [post {j}](@/{target}#details).\n");
        }
        files.push((format!("content/{folder}{slug}.md"), fm + &body));
        expect.insert(
            format!("{folder}{slug}.md"),
            Expect {
                url,
                date: date.clone(),
            },
        );
    }
    (files, expect, aliases)
}

/// The folder (below `content/`) of the generated Zola post `i`: two in five in the main
/// blog, two in the sub-blog, one in the releases (half of them in a folder of their own).
fn zola_folder(i: usize) -> &'static str {
    match i % 5 {
        0 | 1 => "",
        2 | 3 => "sub-blog/",
        _ if i % 10 == 4 => "releases/",
        _ => "releases/archive/",
    }
}

/// The slug of the generated Zola post `i`: `meetup-N` in both the main blog and the
/// sub-blog, so the same file name is in two sections.
fn zola_slug(i: usize) -> String {
    if i.is_multiple_of(25) || i % 25 == 2 {
        format!("meetup-{}", i / 25)
    } else {
        format!("post-{i}")
    }
}

/// The output file of a URL path.
fn file_of(url: &str) -> String {
    let rel = url.trim_start_matches('/');
    if rel.ends_with(".html") {
        rel.to_string()
    } else {
        format!("{rel}index.html")
    }
}

#[test]
fn a_zola_blog_keeps_every_path_alias_date_section_and_link() {
    let site = Site::new();
    let src = site.tmp.path().join("zola");
    let (files, expect, aliases) = zola_blog();
    write_tree(&src, &files);
    let out = site.run(&["import", src.to_str().unwrap(), "--quiet"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let built = site.run(&["build"]).ok();
    assert!(!built.stderr.contains("warning"), "{}", built.stderr);

    let scope = std::fs::canonicalize(src.join("content")).unwrap();
    let stored: BTreeMap<String, (String, String)> = site
        .rows("SELECT source_path, published_at, slug FROM posts")
        .into_iter()
        .map(|r| {
            let rel = Path::new(&r[0])
                .strip_prefix(&scope)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, (r[1].clone(), r[2].clone()))
        })
        .collect();
    assert_eq!(stored.len(), expect.len());
    let mut lost = Vec::new();
    for (file, e) in &expect {
        if !site.path("public").join(file_of(&e.url)).is_file() {
            lost.push(format!("{file}: no page at {}", e.url));
        }
        if stored[file].0 != e.date {
            lost.push(format!("{file}: dated {} not {}", stored[file].0, e.date));
        }
    }
    for (alias, url) in &aliases {
        let page = site
            .path("public")
            .join(file_of(&format!("/{}", alias.trim_start_matches('/'))));
        let page = if alias.ends_with('/') || alias.ends_with(".html") {
            page
        } else {
            // `releases/1.16`: a folder with an index page, as a server finds it.
            site.path("public")
                .join(alias.trim_start_matches('/'))
                .join("index.html")
        };
        match std::fs::read_to_string(&page) {
            Ok(html) if html.contains(&format!("https://zola.example{url}")) => {}
            Ok(_) => lost.push(format!("alias {alias}: does not lead to {url}")),
            Err(_) => lost.push(format!("alias {alias}: no redirect page")),
        }
    }
    assert!(lost.is_empty(), "{} lost:\n{}", lost.len(), lost.join("\n"));

    // Each section has its page and its feed, listing its own posts (`releases/archive/` has
    // no `_index.md`: its posts are the section `releases`'s, at their folder's URLs).
    for (section, n) in [("sub-blog", 100), ("releases", 50)] {
        let feed = site.read(&format!("public/{section}/atom.xml"));
        assert!(feed.contains("<entry>"), "{section}");
        let listing = site.read(&format!("public/{section}/index.html"));
        assert!(listing.contains("<h1>"), "{section}");
        assert_eq!(
            site.count(&format!(
                "SELECT count(*) FROM posts WHERE section = '{section}'"
            )),
            n,
            "{section}"
        );
    }
    let broken = crate::linkcheck::broken_links(&site.path("public"), "https://zola.example");
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn a_hugo_site_keeps_its_permalinks_shared_slugs_sections_and_pages() {
    let site = Site::new();
    let src = site.tmp.path().join("hugo");
    let mut files: Vec<(String, String)> = vec![
        (
            "hugo.toml".into(),
            "baseURL = \"https://hugo.example/\"\ntitle = \"A Hugo site\"\n[permalinks]\npost = \"/:year/:month/:day/:slug/\"\n".into(),
        ),
        ("content/about.md".into(), "---\ntitle: About\n---\nWho we are.\n".into()),
        ("content/contact.md".into(), "---\ntitle: Contact\nurl: /contact-us/\n---\nWrite.\n".into()),
        ("content/docs/_index.md".into(), "---\ntitle: Docs\n---\n".into()),
        ("content/docs/install.md".into(), "---\ntitle: Install\ndate: 2020-01-01\n---\nRun it.\n".into()),
        ("content/docs/guide/usage.md".into(), "---\ntitle: Usage\ndate: 2020-01-02\n---\nUse it.\n".into()),
    ];
    let mut expect: Vec<(String, String)> = vec![
        ("about".into(), "/about/".into()),
        ("contact".into(), "/contact-us/".into()),
        ("install".into(), "/docs/install/".into()),
        ("usage".into(), "/docs/guide/usage/".into()),
    ];
    for i in 0..120usize {
        let (y, m, d) = (2012 + i % 12, 1 + i % 12, 1 + i % 28);
        // Three yearly reports share a slug; their dated URLs keep them apart.
        let slug = if i < 3 {
            "legal-transparency-report".to_string()
        } else {
            format!("post-{i}")
        };
        files.push((
            format!("content/post/{y}/{slug}.md"),
            format!(
                "---\ntitle: Post {i}\ndate: {y:04}-{m:02}-{d:02}T10:00:00Z\ntags: [hugo]\n---\nText {i}.\n"
            ),
        ));
        expect.push((slug, format!("/{y:04}/{m:02}/{d:02}/{}/", expect_slug(i))));
    }
    write_tree(&src, &files);
    site.run(&["import", src.to_str().unwrap(), "--quiet"]).ok();
    site.run(&["build", "--quiet"]).ok();
    let missing: Vec<&(String, String)> = expect
        .iter()
        .filter(|(_, url)| !site.path("public").join(file_of(url)).is_file())
        .collect();
    assert!(missing.is_empty(), "{missing:#?}");
    // Pages: at their URL, in the sitemap, out of the listings and feeds.
    assert_eq!(
        site.rows("SELECT slug FROM posts WHERE kind = 'page' ORDER BY slug"),
        [["about"], ["contact"]]
    );
    for listing in [
        "public/index.html",
        "public/atom.xml",
        "public/rss.xml",
        "public/archive/index.html",
    ] {
        let text = site.read(listing);
        assert!(
            !text.contains("/about/") && !text.contains("/contact-us/"),
            "{listing}"
        );
    }
    let sitemap = site.read("public/sitemap.xml");
    assert!(sitemap.contains("https://hugo.example/about/"), "{sitemap}");
    assert!(site
        .read("public/docs/index.html")
        .contains("<h1>Docs</h1>"));
    let broken = crate::linkcheck::broken_links(&site.path("public"), "https://hugo.example");
    assert!(broken.is_empty(), "{broken:#?}");
}

fn expect_slug(i: usize) -> String {
    if i < 3 {
        "legal-transparency-report".into()
    } else {
        format!("post-{i}")
    }
}
