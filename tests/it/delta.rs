//! `bloggo build` patching the last build (see `src/pipeline/delta.rs`): which changes it takes
//! and which send it down the whole road, and that either way the site is the one a clean
//! build makes.

use std::path::PathBuf;

use crate::build::{assert_same_as_a_clean_build, small_blog, P};
use crate::harness::{Run, Site};

/// How a build went: patched from the kept state, or whole (and why).
#[derive(Debug, PartialEq, Eq)]
enum Road {
    Patched,
    Whole(String),
}

/// Builds with timings on; the road it took and the files it rendered.
fn build(site: &Site) -> (Road, Vec<String>, Run) {
    let run = site
        .run_env(&["build"], &[("BLOGGO_TIMINGS", "files")])
        .ok();
    let road = match run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("whole build: "))
    {
        Some(why) => Road::Whole(why.to_string()),
        None => {
            assert!(run.stderr.contains("patched: "), "{}", run.stderr);
            Road::Patched
        }
    };
    let rendered = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("rendered "))
        .map(str::to_string)
        .collect();
    (road, rendered, run)
}

fn whole(road: &Road, why: &str) {
    match road {
        Road::Whole(w) => assert!(w.contains(why), "whole build for {w:?}, not {why:?}"),
        Road::Patched => panic!("patched, but a whole build ({why}) was expected"),
    }
}

fn blog() -> Site {
    let site = small_blog();
    for k in 1..=12 {
        site.add(&P {
            slug: &format!("filler-{k:02}"),
            tags: if k % 2 == 0 { &["notes"] } else { &[] },
            ..P::published("", &format!("2022-01-{k:02} 10:00:00"))
        });
    }
    let (road, ..) = build(&site);
    whole(&road, "nothing kept");
    site
}

fn sql(site: &Site, sql: &str) {
    site.conn().execute_batch(sql).unwrap();
}

fn state_file(site: &Site) -> PathBuf {
    let settings = bloggo::config::Settings::load(&site.root).unwrap();
    let f = bloggo::pipeline::state_file(&settings, &settings.output);
    assert!(f.is_file(), "{}", f.display());
    f
}

#[test]
fn edits_of_a_posts_text_and_card_are_patched_in_and_equal_a_clean_build() {
    let site = blog();

    // Nothing changed: nothing rendered, nothing written.
    let (road, rendered, run) = build(&site);
    assert_eq!((road, rendered), (Road::Patched, vec![]));
    assert!(run.stdout.contains(" 0 written"), "{}", run.stdout);

    // Text below the summary: the post's page and the feeds it is in. (A post whose excerpt
    // and read time the store holds: derived ones come from its whole text.)
    sql(
        &site,
        "UPDATE posts SET excerpt = 'A summary of its own.', read_time = 3
         WHERE slug = 'filler-06'",
    );
    assert_eq!(build(&site).0, Road::Patched);
    sql(
        &site,
        "UPDATE posts SET content = content || '\n\nA new last paragraph.' WHERE slug = 'filler-06'",
    );
    let (road, rendered, _) = build(&site);
    assert_eq!(road, Road::Patched);
    assert!(rendered.contains(&"posts/filler-06/index.html".to_string()));
    assert!(
        rendered
            .iter()
            .all(|f| f == "posts/filler-06/index.html" || f.ends_with(".xml")),
        "{rendered:?}"
    );
    assert!(site
        .read("public/posts/filler-06/index.html")
        .contains("A new last paragraph."));
    assert_same_as_a_clean_build(&site);

    // A new title: its card changes, so its neighbours, listings and site-wide pages too.
    sql(
        &site,
        "UPDATE posts SET title = 'A brand new title' WHERE slug = 'filler-06'",
    );
    let (road, rendered, _) = build(&site);
    assert_eq!(road, Road::Patched);
    for f in [
        "posts/filler-05/index.html",
        "posts/filler-07/index.html",
        "tags/notes/index.html",
        "archive/index.html",
        "search.json",
    ] {
        assert!(rendered.iter().any(|r| r == f), "{f} not in {rendered:?}");
    }
    assert!(site
        .read("public/search.json")
        .contains("A brand new title"));
    assert_same_as_a_clean_build(&site);

    // Code the edit left alone, an excerpt, a read time, a subtitle.
    sql(
        &site,
        "UPDATE posts SET content = 'Intro.\n\n```rust\nfn main() {}\n```\n' WHERE slug = 'plain';",
    );
    build(&site);
    sql(
        &site,
        "UPDATE posts SET content = content || '\nMore.\n', excerpt = 'Hand-made excerpt',
                read_time = 9, subtitle = 'Sub' WHERE slug = 'plain'",
    );
    let (road, ..) = build(&site);
    assert_eq!(road, Road::Patched);
    let page = site.read("public/posts/plain/index.html");
    assert!(page.contains("fn") && page.contains("More."), "{page}");
    assert_same_as_a_clean_build(&site);

    // A change made by another SQLite client without the content hash bloggo keeps.
    sql(
        &site,
        "UPDATE posts SET content = 'Edited in the sqlite3 shell.' WHERE slug = 'older'",
    );
    let (road, ..) = build(&site);
    assert_eq!(road, Road::Patched);
    assert!(site
        .read("public/posts/older/index.html")
        .contains("Edited in the sqlite3 shell."));
    assert_same_as_a_clean_build(&site);

    // A new draft shows nowhere: nothing to render.
    site.add(&P {
        status: "draft",
        ..P::published("a-draft", "2024-05-01 10:00:00")
    });
    let (road, rendered, _) = build(&site);
    assert_eq!((road, rendered), (Road::Patched, vec![]));
    assert_same_as_a_clean_build(&site);
}

#[test]
fn changes_to_how_the_site_is_put_together_build_it_whole() {
    let site = blog();
    let steps: &[(&str, &str)] = &[
        (
            "INSERT INTO post_tags SELECT id, 1 FROM posts WHERE slug = 'filler-03'",
            "tags or categories",
        ),
        (
            "UPDATE posts SET published_at = '2022-02-20 10:00:00' WHERE slug = 'filler-03'",
            "moved",
        ),
        (
            "UPDATE posts SET slug = 'renamed' WHERE slug = 'filler-04'",
            "moved",
        ),
        (
            "UPDATE tags SET name = 'Notebook' WHERE slug = 'notes'",
            "tags",
        ),
        (
            "UPDATE posts SET deleted_at = '2024-06-01 00:00:00' WHERE slug = 'filler-05'",
            "left the site",
        ),
        (
            "INSERT INTO posts(title, slug, content, status, published_at, author_id)
             VALUES ('New', 'new-post', 'Hello.', 'published', '2023-01-01 00:00:00', 2)",
            "shows on the site",
        ),
        (
            "DELETE FROM post_aliases WHERE path = '/old/async/'",
            "aliases",
        ),
        ("UPDATE users SET name = 'Zoë W.' WHERE id = 2", "users"),
    ];
    for (change, why) in steps {
        sql(&site, change);
        let (road, ..) = build(&site);
        whole(&road, why);
        assert_same_as_a_clean_build(&site);
        // The whole build kept its state: the next one patches again.
        assert_eq!(build(&site).0, Road::Patched, "after {change}");
    }

    // Templates and static files are not in the store.
    site.write("templates/404.html", "{% extends \"base.html\" %}");
    whole(&build(&site).0, "templates");
    site.write("static/CNAME-ish.txt", "changed static file");
    whole(&build(&site).0, "static files");
    assert_eq!(site.read("public/CNAME-ish.txt"), "changed static file");
    assert_same_as_a_clean_build(&site);
}

#[test]
fn a_scheduled_post_coming_due_builds_the_site_whole() {
    let site = blog();
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    site.add(&P {
        slug: "soon",
        ..P::published("", &due.format("%Y-%m-%d %H:%M:%S").to_string())
    });
    assert_eq!(build(&site).0, Road::Patched);
    assert!(!site.root.join("public/posts/soon").exists());
    while chrono::Utc::now() < due + chrono::Duration::seconds(1) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    whole(&build(&site).0, "went live");
    assert!(site.root.join("public/posts/soon/index.html").is_file());
    assert_same_as_a_clean_build(&site);
}

#[test]
fn a_damaged_or_stale_kept_state_is_never_trusted() {
    let site = blog();
    let edit = |n: usize| {
        sql(
            &site,
            &format!("UPDATE posts SET content = 'Edit {n}.' WHERE slug = 'filler-02'"),
        )
    };

    // Many patching builds append to the state, until it is written whole again.
    for n in 0..40 {
        edit(n);
        assert_eq!(build(&site).0, Road::Patched, "edit {n}");
    }
    assert_same_as_a_clean_build(&site);

    // A damaged state is not read.
    let state = state_file(&site);
    let mut bytes = std::fs::read(&state).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&state, &bytes).unwrap();
    edit(100);
    whole(&build(&site).0, "nothing kept");
    assert_same_as_a_clean_build(&site);

    // A cut last record: the state is as of the build before, whose site is gone.
    edit(101);
    assert_eq!(build(&site).0, Road::Patched);
    let bytes = std::fs::read(&state).unwrap();
    std::fs::write(&state, &bytes[..bytes.len() - 3]).unwrap();
    edit(102);
    whole(&build(&site).0, "not the one the last build made");
    assert_same_as_a_clean_build(&site);

    // Another build made the live site (with drafts): its state is not this one.
    site.add(&P {
        status: "draft",
        ..P::published("a-draft", "2024-05-01 10:00:00")
    });
    site.build(&["--drafts"]).ok();
    assert!(site.root.join("public/posts/a-draft").exists());
    edit(103);
    whole(&build(&site).0, "");
    assert_same_as_a_clean_build(&site);
    assert!(!site.root.join("public/posts/a-draft").exists());
}
