//! Scheduled posts (issue 19): `bloggo build` says when the next one comes due, and
//! `bloggo serve` rebuilds by itself at that moment, with no command run and no file touched.

use std::time::{Duration, Instant};

use crate::harness::Site;

#[test]
fn a_post_scheduled_a_few_seconds_ahead_goes_live_under_serve_by_itself() {
    let site = Site::new();
    let due = chrono::Utc::now() + chrono::Duration::seconds(5);
    site.write(
        "content/later.md",
        &format!(
            "---\ntitle: Later\ndate: {}\n---\nNot yet.\n",
            due.format("%Y-%m-%dT%H:%M:%SZ")
        ),
    );
    let built = site.run(&["build"]).ok();
    assert!(
        built.stdout.contains("next scheduled post: later at"),
        "{}",
        built.stdout
    );
    assert!(!site.path("public/posts/later/index.html").exists());

    let mut s = site.serve(&[]);
    s.wait_for_line("built in", 30);
    // Until the start-up build is live, pages not written yet answer "building…" (503).
    let mut first = s.get("/posts/later/", &[]).status;
    while first == 503 {
        std::thread::sleep(Duration::from_millis(20));
        first = s.get("/posts/later/", &[]).status;
    }
    assert_eq!(first, 404);
    // The store keeps seconds: the post is live from its second on.
    let live_from = due.with_timezone(&chrono::Utc).timestamp();
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        if s.get("/posts/later/", &[]).status == 200 {
            break chrono::Utc::now();
        }
        assert!(
            Instant::now() < deadline,
            "the scheduled post never went live"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let late = seen.timestamp_millis() - live_from * 1000;
    assert!(
        late <= 2000,
        "live {late} ms after it came due (at most 2 s allowed)"
    );
    assert!(late >= -1000, "live {late} ms before it came due");
    assert_eq!(s.terminate(), 0);
}
