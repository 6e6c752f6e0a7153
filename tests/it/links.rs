//! Links between imported posts (issue 17): Zola's `@/` links, Hugo's `ref`/`relref` and
//! Jekyll's `post_url`/`site.baseurl` resolved at build time by the targets' source files,
//! an unresolved one named with its file and line by the build, and the shortcodes and Liquid
//! tags bloggo leaves as text named by the import.

use crate::build::assert_same_as_a_clean_build;
use crate::harness::{copy_dir, repo, Run, Site};

impl Site {
    /// The page of a post: Zola's `blog/` folder has an `_index.md`, so its posts are in the
    /// section `blog`; the others are at bloggo's default URLs.
    fn page_of(&self, slug: &str) -> String {
        let section = format!("public/blog/{slug}/index.html");
        if self.path(&section).is_file() {
            self.read(&section)
        } else {
            self.read(&format!("public/posts/{slug}/index.html"))
        }
    }

    /// Builds; the build's output, and why it was whole (`None`: it patched the last one).
    fn build_road(&self) -> (Run, Option<String>) {
        let run = self.run_env(&["build"], &[("BLOGGO_TIMINGS", "1")]).ok();
        let whole = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("whole build: "))
            .map(str::to_string);
        (run, whole)
    }
}

#[track_caller]
fn has(page: &str, needles: &[&str]) {
    for n in needles {
        assert!(page.contains(n), "{n} missing in\n{page}");
    }
}

#[test]
fn links_between_imported_zola_jekyll_and_hugo_posts_resolve_at_build_time() {
    let site = Site::new();
    let config = site.read("bloggo.toml");
    let base = "base_url = \"http://127.0.0.1:4000\"";
    assert!(config.contains(base), "{config}");
    site.write(
        "bloggo.toml",
        &config.replace(base, "base_url = \"https://example.org/blog/\""),
    );
    let src = site.tmp.path().join("links");
    copy_dir(&repo().join("tests/fixtures/import/links"), &src);
    let import = |part: &str| {
        site.run(&["import", src.join(part).to_str().unwrap()])
            .ok()
            .stderr
    };
    let mut warned = String::new();
    for part in ["zola/content", "jekyll/_posts", "hugo/content"] {
        warned += &import(part);
    }
    for w in [
        "zola-first.md:10: bloggo does not run these, so they are shown as text: \
         Zola shortcode `youtube()` (line 10)",
        "2010-07-21-jekyll-one.md:10: bloggo does not run these, so they are shown as text: \
         Liquid tag `{% include %}` (line 10)",
        "hugo-one.md:10: bloggo does not run these, so they are shown as text: \
         Hugo shortcode `youtube` (line 10)",
    ] {
        assert!(warned.contains(w), "{w} missing in\n{warned}");
    }
    assert_eq!(warned.matches("warning:").count(), 3, "{warned}");

    let (built, _) = site.build_road();
    has(
        &site.page_of("zola-first"),
        &[
            r#"href="/blog/blog/zola-second/""#,
            r#"href="/blog/posts/zola-meetup/#agenda""#,
            r#"href="@/blog/zola-gone.md""#,
            // In code, as written (highlighted).
            r#"<span class="hl-markup hl-underline hl-link hl-markdown">@/blog/zola-second.md<"#,
        ],
    );
    has(
        &site.page_of("zola-second"),
        &[r#"href="/blog/blog/zola-first/""#],
    );
    has(
        &site.page_of("jekyll-one"),
        &[
            r#"href="/blog/posts/jekyll-two/""#,
            r#"src="/blog/assets/logo.png""#,
        ],
    );
    has(
        &site.page_of("jekyll-two"),
        &[r#"href="/blog/posts/jekyll-one/""#],
    );
    has(
        &site.page_of("hugo-one"),
        &[
            r#"href="/blog/posts/hugo-two/""#,
            r#"href="/blog/posts/hugo-two/#details""#,
            r#"<code>{{&lt; ref "hugo-two" &gt;}}</code>"#,
        ],
    );
    has(
        &site.page_of("hugo-two"),
        &[r#"href="/blog/posts/hugo-one/""#],
    );
    let unresolved = "zola-first.md:8: the link @/blog/zola-gone.md names no post the site \
                      shows; it is left as written";
    assert!(built.stderr.contains(unresolved), "{}", built.stderr);
    assert_eq!(
        built.stderr.matches("the link").count(),
        1,
        "{}",
        built.stderr
    );

    // The target moves: the page linking to it is made again (its kept markdown is not used).
    let second = src.join("zola/content/blog/zola-second.md");
    let text = std::fs::read_to_string(&second).unwrap();
    std::fs::write(
        &second,
        text.replace("title =", "slug = \"zola-second-moved\"\ntitle ="),
    )
    .unwrap();
    import("zola/content");
    let (_, whole) = site.build_road();
    assert!(
        whole.as_deref().is_some_and(|w| w.contains("moved")),
        "{whole:?}"
    );
    let first = site.page_of("zola-first");
    has(&first, &[r#"href="/blog/blog/zola-second-moved/""#]);
    assert!(!first.contains("/blog/zola-second/"), "{first}");

    // The missing post appears: the link resolves, and the warning goes.
    std::fs::write(
        src.join("zola/content/blog/zola-gone.md"),
        "+++\ntitle = \"Zola gone\"\ndate = 2021-06-19\n+++\n\nHere after all.\n",
    )
    .unwrap();
    import("zola/content");
    let (built, _) = site.build_road();
    has(
        &site.page_of("zola-first"),
        &[r#"href="/blog/blog/zola-gone/""#],
    );
    assert!(!built.stderr.contains("the link"), "{}", built.stderr);

    // A patching build of the linking post alone resolves its links the same way.
    let first = src.join("zola/content/blog/zola-first.md");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, text.replace("Read ", "Now read ")).unwrap();
    import("zola/content");
    let (_, whole) = site.build_road();
    assert_eq!(whole, None, "a patching build was expected");
    has(
        &site.page_of("zola-first"),
        &[
            "Now read",
            r#"href="/blog/blog/zola-second-moved/""#,
            r#"href="/blog/blog/zola-gone/""#,
        ],
    );
    assert_same_as_a_clean_build(&site);
}
