//! Standalone pages and the menu (issue 17): a Jekyll `layout: page` file is a page at its
//! own URL, out of the listings, feeds, archive and taxonomies, in the sitemap and the search
//! index; `[[menu]]` links are in the default theme's nav; a Zola file holding only
//! `template` is skipped with a warning.

use std::path::Path;

use crate::harness::Site;

/// A Jekyll-shaped folder: two posts, an `about.md` page, a Zola-style template placeholder.
fn jekyll_folder(dir: &Path) {
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "about.md",
        "---\nlayout: page\ntitle: About me\ntags: [rust]\n---\nI write about Rust.\n",
    );
    write(
        "_posts/2024-01-02-first.md",
        "---\ntitle: First post\ncategories: [notes]\ntags: [rust]\n---\nHello.\n",
    );
    write(
        "_posts/2024-02-03-second.md",
        "---\ntitle: Second post\ncategories: [notes]\ntags: [rust]\n---\nAgain.\n",
    );
    write("contact.md", "+++\ntemplate = \"contact.html\"\n+++\n");
}

const MENU: &str = r#"
[[menu]]
name = "Source"
url = "https://git.example/me"
weight = 3

[[menu]]
name = "About"
url = "/about/"
weight = 1

[[menu]]
name = "Now"
url = "/now/"
weight = 2
"#;

#[test]
fn a_jekyll_page_is_at_its_url_out_of_listings_and_feeds_and_the_menu_links_it() {
    let site = Site::new();
    let cfg = site.read("bloggo.toml");
    site.write("bloggo.toml", &format!("{cfg}\n{MENU}"));
    let src = site.tmp.path().join("jekyll");
    jekyll_folder(&src);
    let r = site.run(&["import", src.to_str().unwrap()]).ok();
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains("contact.md"),
        "the skipped file is named: {out}"
    );
    assert!(out.contains("template"), "{out}");
    assert_eq!(
        site.rows("SELECT slug, kind FROM posts ORDER BY slug"),
        [["about", "page"], ["first", "post"], ["second", "post"]]
    );
    site.run(&["build"]).ok();

    let page = site.read("public/about/index.html");
    assert!(page.contains("I write about Rust."), "{page}");
    assert!(page.contains("<article class=\"page\">"), "{page}");
    assert!(!page.contains("min read"), "no post meta on a page: {page}");
    assert!(!page.contains("rel=\"next\"") && !page.contains("Related posts"));

    // Out of every listing and feed; "About me" is the page's title, the menu says "About".
    for rel in [
        "public/index.html",
        "public/atom.xml",
        "public/rss.xml",
        "public/archive/index.html",
        "public/tags/rust/index.html",
        "public/tags/rust/atom.xml",
        "public/tags/index.html",
        "public/posts/first/index.html",
        "public/posts/second/index.html",
    ] {
        let text = site.read(rel);
        assert!(!text.contains("About me"), "{rel} shows the page:\n{text}");
    }
    // The two posts are each other's neighbours; the page is no one's.
    let second = site.read("public/posts/second/index.html");
    assert!(second.contains("First post"), "{second}");
    assert!(site.read("public/tags/index.html").contains("rust"));
    assert!(
        !site.path("public/categories/notes/index.html").exists() || {
            let c = site.read("public/categories/notes/index.html");
            !c.contains("About me")
        }
    );
    // In the sitemap and the search index.
    assert!(site.read("public/sitemap.xml").contains("/about/</loc>"));
    assert!(site.read("public/search.json").contains("About me"));
    // Nothing was made of the template placeholder.
    assert!(!site.path("public/contact").exists());

    // The menu, in weight order, before the theme's own links; external links get noopener.
    let home = site.read("public/index.html");
    let at = |s: &str| home.find(s).unwrap_or_else(|| panic!("{s} not in\n{home}"));
    assert!(at(">About</a>") < at(">Now</a>"));
    assert!(at(">Now</a>") < at(">Source</a>"));
    assert!(at(">Source</a>") < at(">Archive</a>"));
    assert!(home.contains(r#"<a href="https://git.example/me" rel="noopener">Source</a>"#));
    assert!(home.contains(r#"<a href="/about/">About</a>"#));
}

#[test]
fn a_post_that_becomes_a_page_leaves_the_listings_in_the_next_build() {
    let site = Site::new();
    let src = site.tmp.path().join("jekyll");
    jekyll_folder(&src);
    site.run(&["import", src.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    assert!(site.read("public/index.html").contains("Second post"));

    std::fs::write(
        src.join("_posts/2024-02-03-second.md"),
        "---\ntitle: Second post\nkind: page\ntags: [rust]\n---\nAgain.\n",
    )
    .unwrap();
    site.run(&["import", src.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    assert!(site.read("public/second/index.html").contains("Again."));
    for rel in [
        "public/index.html",
        "public/atom.xml",
        "public/archive/index.html",
        "public/tags/rust/index.html",
        "public/posts/first/index.html",
    ] {
        let text = site.read(rel);
        assert!(!text.contains("Second post"), "{rel}:\n{text}");
    }

    // And back: a post again, listed again.
    std::fs::write(
        src.join("_posts/2024-02-03-second.md"),
        "---\ntitle: Second post\ntags: [rust]\n---\nAgain.\n",
    )
    .unwrap();
    site.run(&["import", src.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    assert!(site.read("public/index.html").contains("Second post"));
    assert!(site
        .read("public/posts/first/index.html")
        .contains("Second post"));
}

#[test]
fn export_writes_pages_back_as_pages() {
    let site = Site::new();
    let src = site.tmp.path().join("jekyll");
    jekyll_folder(&src);
    site.run(&["import", src.to_str().unwrap()]).ok();
    let out = site.tmp.path().join("out");
    site.run(&["export", out.to_str().unwrap(), "--format", "jekyll"])
        .ok();
    let about = std::fs::read_to_string(out.join("about.md")).unwrap();
    assert!(about.contains("layout: page"), "{about}");

    // Re-imported into another site, it is a page again.
    let again = Site::new();
    again.run(&["import", out.to_str().unwrap()]).ok();
    assert_eq!(
        again.rows("SELECT slug, kind FROM posts ORDER BY slug"),
        [["about", "page"], ["first", "post"], ["second", "post"]]
    );
}

#[test]
fn a_bad_menu_entry_is_refused_naming_it() {
    let site = Site::new();
    let cfg = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &format!("{cfg}\n[[menu]]\nname = \"About\"\nurl = \"about\"\n"),
    );
    let r = site.run(&["build"]).fails();
    assert!(r.stderr.contains("[[menu]] \"About\""), "{}", r.stderr);
}

#[test]
fn an_edit_that_only_adds_kind_page_makes_the_post_a_page_and_syncs_it() {
    let site = Site::new();
    site.run(&["post", "new", "About"]).ok();
    let editor = site.tmp.path().join("ed.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nset -e\nsed -i 's/^title: About$/title: About\\nkind: page/' \"$1\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tmp = site.tmp.path().to_str().unwrap();
    site.run_env(
        &["post", "edit", "about"],
        &[
            ("EDITOR", editor.to_str().unwrap()),
            ("VISUAL", ""),
            ("TMPDIR", tmp),
        ],
    )
    .ok();
    assert_eq!(site.rows("SELECT kind FROM posts"), [["page"]]);
    assert!(site.read("content/about.md").contains("kind: page"));
    let shown = site.run(&["post", "show", "about"]).ok().stdout;
    assert!(shown.contains("kind: page"), "{shown}");
}

#[test]
fn post_new_page_makes_a_page_that_is_published_at_its_slug() {
    let site = Site::new();
    site.run(&["post", "new", "Colophon", "--page", "--no-edit"])
        .ok();
    assert_eq!(
        site.rows("SELECT kind, status FROM posts"),
        [["page", "draft"]]
    );
    assert!(site.read("content/colophon.md").contains("kind: page"));
    site.run(&["post", "publish", "colophon"]).ok();
    site.run(&["post", "new", "A post", "--no-edit"]).ok();
    site.run(&["post", "publish", "a-post"]).ok();
    site.run(&["build", "--quiet"]).ok();
    assert!(site.path("public/colophon/index.html").is_file());
    let index = site.read("public/index.html");
    assert!(
        index.contains("A post") && !index.contains("Colophon"),
        "{index}"
    );
}
