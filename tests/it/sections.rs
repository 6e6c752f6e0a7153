//! Sections: Zola's and Hugo's `_index.md` folders (and Hugo's top-level folders) become
//! sections with a listing, a feed and a URL prefix; slugs need be unique only within one.

use std::path::Path;

use crate::harness::*;

fn import(site: &Site, path: &Path) -> Run {
    site.run(&["import", path.to_str().unwrap()])
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn zola_site(root: &Path) {
    write_tree(
        root,
        &[
            (
                "config.toml",
                "base_url = \"https://zola.example\"\ntitle = \"Zola Blog\"\n",
            ),
            ("content/_index.md", "+++\ntitle = \"Home\"\n+++\n"),
            (
                "content/meetup.md",
                "+++\ntitle = \"Meetup\"\ndate = 2021-06-17\n+++\nThe main blog's meetup. See [the other](@/sub-blog/meetup.md).\n",
            ),
            (
                "content/sub-blog/_index.md",
                "+++\ntitle = \"Sub Blog\"\ndescription = \"Another blog inside\"\nsort_by = \"date\"\n[extra]\nbanner = \"x.png\"\n+++\nWelcome to the **sub blog**.\n",
            ),
            (
                "content/sub-blog/meetup.md",
                "+++\ntitle = \"Sub meetup\"\ndate = 2020-08-24\naliases = [\"/old/sub-meetup.html\"]\n+++\nThe sub blog's meetup. Back to [the main one](@/meetup.md).\n",
            ),
            (
                "content/sub-blog/dated.md",
                "+++\ntitle = \"Dated\"\npath = \"sub-blog/2020/08/25/dated\"\n+++\nA post with its own path.\n",
            ),
            (
                "content/sub-blog/rust/_index.md",
                "+++\ntitle = \"Rust\"\n+++\n",
            ),
            (
                "content/sub-blog/rust/ownership.md",
                "+++\ntitle = \"Ownership\"\ndate = 2022-01-01\n+++\nBorrowing.\n",
            ),
        ],
    );
}

#[test]
fn a_zola_blog_keeps_its_sections_with_their_pages_feeds_and_urls() {
    let site = Site::new();
    let src = site.tmp.path().join("zola");
    zola_site(&src);
    let out = import(&site, &src).ok();
    assert!(out.stdout.contains("is a Zola site"), "{}", out.stdout);
    assert!(
        out.stdout.contains("sections: sub-blog, sub-blog/rust"),
        "{}",
        out.stdout
    );
    // Two posts share the slug `meetup`: their URLs differ, so both are kept.
    assert_eq!(
        site.rows("SELECT slug, COALESCE(section, '-') FROM posts ORDER BY section, slug"),
        [
            ["meetup", "-"],
            ["dated", "sub-blog"],
            ["meetup", "sub-blog"],
            ["ownership", "sub-blog/rust"]
        ]
    );
    assert_eq!(
        site.rows("SELECT path, title, description, content FROM sections ORDER BY path"),
        [
            [
                "sub-blog",
                "Sub Blog",
                "Another blog inside",
                "Welcome to the **sub blog**."
            ],
            ["sub-blog/rust", "Rust", "NULL", ""]
        ]
    );
    site.run(&["build", "--quiet"]).ok();
    for page in [
        "public/meetup/index.html",
        "public/sub-blog/meetup/index.html",
        "public/sub-blog/2020/08/25/dated/index.html",
        "public/sub-blog/rust/ownership/index.html",
        "public/old/sub-meetup.html",
    ] {
        assert!(site.path(page).is_file(), "{page}");
    }
    // The section's page: its title, description, text, subsection and posts (its own, not
    // the subsection's), and its feed.
    let listing = site.read("public/sub-blog/index.html");
    for part in [
        "<h1>Sub Blog</h1>",
        "Another blog inside",
        "<strong>sub blog</strong>",
        r#"<a href="/sub-blog/rust/">Rust</a> (1)"#,
        r#"href="/sub-blog/meetup/""#,
        r#"href="/sub-blog/2020/08/25/dated/""#,
        r#"href="/sub-blog/atom.xml""#,
    ] {
        assert!(listing.contains(part), "{part} in {listing}");
    }
    assert!(!listing.contains(r#"href="/sub-blog/rust/ownership/""#));
    let feed = site.read("public/sub-blog/atom.xml");
    assert!(feed.contains("<title>Sub meetup</title>"), "{feed}");
    assert!(!feed.contains("<title>Meetup</title>"), "{feed}");
    assert!(site.path("public/sub-blog/rust/atom.xml").is_file());
    // A post says which section it is in; links between the two meetups resolve.
    let sub = site.read("public/sub-blog/meetup/index.html");
    assert!(
        sub.contains(r#"in <a href="/sub-blog/">Sub Blog</a>"#),
        "{sub}"
    );
    assert!(sub.contains(r#"href="/meetup/""#), "{sub}");
    let main = site.read("public/meetup/index.html");
    assert!(main.contains(r#"href="/sub-blog/meetup/""#), "{main}");
    let broken = crate::linkcheck::broken_links(&site.path("public"), "https://zola.example");
    assert!(broken.is_empty(), "{broken:#?}");

    // Importing again changes nothing; a section whose `_index.md` is renamed keeps its posts
    // apart from the main blog's.
    let again = import(&site, &src).ok();
    assert!(
        again.stdout.contains("0 new, 0 updated"),
        "{}",
        again.stdout
    );
}

#[test]
fn one_section_imported_alone_is_the_same_section_and_overwrites_nothing() {
    let site = Site::new();
    let src = site.tmp.path().join("zola");
    zola_site(&src);
    // The sub-blog's folder alone, then the whole content folder: one post per file.
    import(&site, &src.join("content/sub-blog")).ok();
    assert_eq!(
        site.rows("SELECT slug, section FROM posts ORDER BY slug"),
        [
            ["dated", "sub-blog"],
            ["meetup", "sub-blog"],
            ["ownership", "sub-blog/rust"]
        ]
    );
    import(&site, &src.join("content")).ok();
    assert_eq!(
        site.rows("SELECT title, COALESCE(section, '-') FROM posts ORDER BY title"),
        [
            ["Dated", "sub-blog"],
            ["Meetup", "-"],
            ["Ownership", "sub-blog/rust"],
            ["Sub meetup", "sub-blog"]
        ]
    );
}

#[test]
fn a_hugo_site_keeps_section_patterns_and_its_root_files_are_pages() {
    let site = Site::new();
    let src = site.tmp.path().join("hugo");
    write_tree(
        &src,
        &[
            (
                "hugo.toml",
                "baseURL = \"https://hugo.example/\"\ntitle = \"Hugo\"\n[permalinks]\npost = \"/:year/:month/:day/:slug/\"\n",
            ),
            ("content/about.md", "---\ntitle: About\n---\nMe.\n"),
            (
                "content/post/2023/legal-transparency-report.md",
                "---\ntitle: Report 2023\ndate: 2023-02-01\n---\nA.\n",
            ),
            (
                "content/post/2024/legal-transparency-report.md",
                "---\ntitle: Report 2024\ndate: 2024-02-01\n---\nB.\n",
            ),
            (
                "content/notes/_index.md",
                "---\ntitle: Field notes\n---\n",
            ),
            (
                "content/notes/first.md",
                "---\ntitle: First\ndate: 2024-03-01\n---\nC.\n",
            ),
        ],
    );
    let out = import(&site, &src).ok();
    assert!(
        out.stdout
            .contains("set [permalinks] post = \"/:year/:month/:day/:slug/\""),
        "{}",
        out.stdout
    );
    site.run(&["build", "--quiet"]).ok();
    for page in [
        "public/about/index.html",
        "public/2023/02/01/legal-transparency-report/index.html",
        "public/2024/02/01/legal-transparency-report/index.html",
        "public/notes/first/index.html",
        "public/post/index.html",
        "public/notes/index.html",
        "public/post/atom.xml",
    ] {
        assert!(site.path(page).is_file(), "{page}");
    }
    // The page is in no listing or feed.
    assert_eq!(
        site.rows("SELECT kind FROM posts WHERE slug = 'about'"),
        [["page"]]
    );
    assert!(!site.read("public/atom.xml").contains("About"));
    assert!(site
        .read("public/notes/index.html")
        .contains("<h1>Field notes</h1>"));
    assert!(site
        .read("public/post/index.html")
        .contains("<h1>Post</h1>"));
}

#[test]
fn a_section_pattern_set_by_hand_places_its_posts_and_the_old_urls_redirect() {
    let site = Site::new();
    write_tree(
        &site.path("content"),
        &[
            ("notes/_index.md", "---\ntitle: Notes\n---\nShort ones.\n"),
            (
                "notes/tip.md",
                "---\ntitle: Tip\ndate: 2024-05-01\n---\nUse it.\n",
            ),
        ],
    );
    site.run(&["build", "--quiet"]).ok();
    assert!(site.path("public/notes/tip/index.html").is_file());
    let config = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &format!("{config}\n[permalinks]\nnotes = \"/notes/:year/:slug/\"\n"),
    );
    site.run(&["build", "--quiet"]).ok();
    assert!(site.path("public/notes/2024/tip/index.html").is_file());
    let old = site.read("public/notes/tip/index.html");
    assert!(old.contains("/notes/2024/tip/"), "{old}");
    // A bad key names itself.
    site.write(
        "bloggo.toml",
        &format!("{config}\n[permalinks]\n\"/notes\" = \"/n/:slug/\"\n"),
    );
    let bad = site.run(&["build", "--quiet"]).fails();
    assert!(
        bad.stderr
            .contains("[permalinks] \"/notes\": not a section"),
        "{}",
        bad.stderr
    );
}

#[test]
fn an_edit_to_a_post_of_a_section_patches_its_listing_and_feed_as_a_clean_build_would() {
    let site = Site::new();
    write_tree(
        &site.path("content"),
        &[
            ("notes/_index.md", "---\ntitle: Notes\n---\n"),
            (
                "notes/tip.md",
                "---\ntitle: Tip\ndate: 2024-05-01\n---\nUse it.\n",
            ),
        ],
    );
    site.run(&["build", "--quiet"]).ok();
    site.write(
        "content/notes/tip.md",
        "---\ntitle: Better tip\ndate: 2024-05-01\n---\nUse it well.\n",
    );
    let run = site.run_env(&["build"], &[("BLOGGO_TIMINGS", "1")]).ok();
    assert!(!run.stderr.contains("whole build:"), "{}", run.stderr);
    assert!(site.read("public/notes/index.html").contains("Better tip"));
    assert!(site.read("public/notes/atom.xml").contains("Better tip"));
    crate::build::assert_same_as_a_clean_build(&site);
    // A new section title is a change to the site: the next build is whole and shows it.
    site.write("content/notes/_index.md", "---\ntitle: Field notes\n---\n");
    let run = site.run_env(&["build"], &[("BLOGGO_TIMINGS", "1")]).ok();
    assert!(run.stderr.contains("whole build:"), "{}", run.stderr);
    assert!(site
        .read("public/notes/tip/index.html")
        .contains(r#"in <a href="/notes/">Field notes</a>"#));
    crate::build::assert_same_as_a_clean_build(&site);
}

#[test]
fn a_jekyll_collection_that_jekyll_publishes_is_a_section_at_its_permalink() {
    let site = Site::new();
    let src = site.tmp.path().join("jekyll");
    write_tree(
        &src,
        &[
            (
                "_config.yml",
                "title: Kitchen\ncollections:\n  recipes:\n    output: true\n  notes:\n    output: false\n",
            ),
            ("_posts/2024-05-01-hello.md", "---\ntitle: Hello\n---\nHi\n"),
            (
                "_recipes/pancakes.md",
                "---\ntitle: Pancakes\ndate: 2023-03-01\n---\nFlour, eggs, milk.\n",
            ),
            ("_notes/private.md", "---\ntitle: Private\n---\nNot published by Jekyll.\n"),
        ],
    );
    let out = import(&site, &src);
    assert!(
        out.stdout
            .contains("set [permalinks] recipes = \"/:section/:slug.html\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("collection notes: not published by Jekyll"),
        "{}",
        out.stdout
    );
    assert_eq!(
        site.rows("SELECT slug, COALESCE(section, '-') FROM posts ORDER BY slug"),
        [["hello", "-"], ["pancakes", "recipes"]]
    );
    site.run(&["build", "--quiet"]).ok();
    assert!(site.path("public/recipes/pancakes.html").is_file());
    assert!(site.path("public/2024/05/01/hello.html").is_file());
    let listing = site.read("public/recipes/index.html");
    assert!(listing.contains("<h1>Recipes</h1>"), "{listing}");
    assert!(
        listing.contains(r#"href="/recipes/pancakes.html""#),
        "{listing}"
    );
}

#[test]
fn post_new_in_a_section_writes_the_sections_folder_and_edits_keep_it_there() {
    let site = Site::new();
    let out = site
        .run(&[
            "post",
            "new",
            "Tip of the day",
            "--section",
            "notes",
            "--no-edit",
        ])
        .ok();
    assert!(
        out.stdout.contains("content/notes/tip-of-the-day.md"),
        "{}",
        out.stdout
    );
    assert!(site
        .read("content/notes/_index.md")
        .contains("title: \"Notes\""));
    site.run(&["post", "publish", "tip-of-the-day"]).ok();
    // An edit through $EDITOR writes the document again; the post stays in its section.
    site.run_env(
        &["post", "edit", "tip-of-the-day"],
        &[("EDITOR", "sed -i s/^title:.*/title:\\ Better\\ tip/")],
    )
    .ok();
    site.run(&["build", "--quiet"]).ok();
    assert_eq!(
        site.rows("SELECT title, section FROM posts"),
        [["Better tip", "notes"]]
    );
    assert!(site
        .path("public/notes/tip-of-the-day/index.html")
        .is_file());
    assert!(site.read("public/notes/index.html").contains("Better tip"));
    let bad = site
        .run(&["post", "new", "X", "--section", "/notes", "--no-edit"])
        .fails();
    assert!(
        bad.stderr.contains("--section \"/notes\""),
        "{}",
        bad.stderr
    );
}
