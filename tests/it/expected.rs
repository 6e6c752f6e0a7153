//! Whole-output checks: key pages of the built example site, byte for byte, against the files
//! in `tests/expected/example-site/`. They catch any change to what readers get, wherever in
//! the pipeline it comes from.
//!
//! After an intended change to the output, `BLOGGO_BLESS=1 cargo test --test it expected`
//! rewrites the expected files; review their diff before committing it.

use std::path::Path;

use crate::harness::{repo, Site};

/// The pages checked: the front page, a post with code, footnotes and a table, a paginated
/// listing, a tag, a category, the archive, the feeds and the sitemap.
const PAGES: &[&str] = &[
    "index.html",
    "page/2/index.html",
    "posts/rayon-and-the-render-loop/index.html",
    "posts/tables-footnotes-and-task-lists/index.html",
    "tags/rust/index.html",
    "categories/programming/index.html",
    "archive/index.html",
    "tags/privacy/atom.xml",
    "rss.xml",
    "sitemap.xml",
    "404.html",
];

#[test]
fn the_example_sites_key_pages_are_as_expected() {
    let site = Site::copy_of(&repo().join("example-site"));
    site.run(&["build", "--quiet"]).ok();
    let expected = repo().join("tests/expected/example-site");
    let bless = std::env::var_os("BLOGGO_BLESS").is_some();
    let mut differ = Vec::new();
    for page in PAGES {
        let got = std::fs::read_to_string(site.path("public").join(page))
            .unwrap_or_else(|e| panic!("public/{page}: {e}"));
        let want_file = expected.join(page);
        if bless {
            std::fs::create_dir_all(want_file.parent().unwrap()).unwrap();
            std::fs::write(&want_file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&want_file)
            .unwrap_or_else(|e| panic!("{}: {e} (BLOGGO_BLESS=1 writes it)", want_file.display()));
        if got != want {
            differ.push(first_difference(page, &want, &got));
        }
    }
    assert!(
        differ.is_empty(),
        "pages differ from tests/expected/example-site (if intended: BLOGGO_BLESS=1 cargo test \
         --test it expected, then review the diff):\n{}",
        differ.join("\n")
    );
}

/// `page:LINE` with the expected and the actual line.
fn first_difference(page: &str, want: &str, got: &str) -> String {
    let (mut w, mut g) = (want.lines(), got.lines());
    for n in 1.. {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => {
                return format!(
                    "{page}:{n}\n  expected: {}\n  actual:   {}",
                    a.unwrap_or("(end)"),
                    b.unwrap_or("(end)")
                )
            }
        }
    }
    unreachable!()
}

#[test]
fn the_expected_pages_exist_in_the_repository() {
    let expected = repo().join("tests/expected/example-site");
    for page in PAGES {
        assert!(
            Path::new(&expected.join(page)).is_file(),
            "tests/expected/example-site/{page} is missing"
        );
    }
}
