//! Several processes on one store: `bloggo serve` running while other commands, the sqlite3
//! shell and this test process read and write the same SQLite file.
//!
//! SQLite's POSIX locks belong to the process: closing any descriptor of the database file
//! drops them all, after which another process believes nobody has the store open,
//! checkpoints it and deletes the WAL that serve still writes into (issue #15). These tests
//! run real processes side by side; each numbered case of the issue is one test here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::Site;
use crate::serve::Serving;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// The sqlite3 shell, when installed (`.ci/setup` installs it); None says why in the output.
pub fn sqlite3() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("sqlite3"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("SKIP: the sqlite3 shell is not installed (run .ci/setup); its part of this test did not run");
    }
    found
}

/// Runs one statement in the sqlite3 shell as a separate process; returns what it printed.
fn shell(sqlite3: &Path, store: &Path, sql: &str) -> String {
    let out = Command::new(sqlite3)
        .arg(store)
        .arg(sql)
        .output()
        .expect("run sqlite3");
    assert!(
        out.status.success(),
        "sqlite3 {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `-wal` beside the store.
fn wal(store: &Path) -> PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// A site with three published posts, built.
fn site_with_posts() -> Site {
    let site = Site::new();
    for i in 1..=3 {
        site.run(&["post", "new", &format!("Post {i}"), "--no-edit"])
            .ok();
        site.run(&["post", "publish", &format!("post-{i}")]).ok();
    }
    site.run(&["build"]).ok();
    site
}

/// A folder of `n` markdown posts named `{prefix}-{i}`, for `bloggo import`.
fn posts_folder(site: &Site, name: &str, prefix: &str, n: usize) -> PathBuf {
    let dir = site.tmp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("2026-01-{:02}-{prefix}-{i}.md", i + 1)),
            format!("---\ntitle: \"{prefix} {i}\"\ndate: 2026-01-{:02} 10:00:00\n---\n\nBody {i} of {prefix}.\n", i + 1),
        )
        .unwrap();
    }
    dir
}

/// One GET of a post page with a browser's user agent, on its own connection; the status.
fn view(addr: SocketAddr, slug: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "GET /posts/{slug}/ HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {BROWSER}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return 0;
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Sends `n` views of a post; all must be answered 200.
fn views(serving: &Serving, slug: &str, n: usize) {
    for i in 0..n {
        assert_eq!(view(serving.addr, slug), 200, "view {i} of /posts/{slug}/");
    }
}

/// The store is whole: integrity_check ok, `db check` healthy, `build` works.
fn assert_whole(site: &Site) {
    let check: String = site
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let db = site.run(&["db", "check"]);
    assert!(
        db.code == 0 && db.stdout.contains("healthy"),
        "db check: {db:?}"
    );
    site.run(&["build"]).ok();
}

/// Waits for serve's line that reports the views it recorded; returns the count.
fn views_recorded(serving: &mut Serving) -> u64 {
    assert_eq!(serving.terminate(), 0, "serve exits 0 after SIGTERM");
    let lines: Vec<String> = serving.lines.try_iter().collect();
    let line = lines
        .iter()
        .find(|l| l.contains("views recorded"))
        .unwrap_or_else(|| panic!("no summary line in {lines:?}"));
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// Case 4: a plain read in the sqlite3 shell while serve runs. Before the fix the shell's
/// close found no other process holding the store (serve's start-up build had dropped its
/// locks), checkpointed and deleted the WAL, and every later view went into a deleted file.
#[test]
fn serve_keeps_every_view_when_the_sqlite3_shell_reads_the_store() {
    let Some(sqlite3) = sqlite3() else { return };
    let site = site_with_posts();
    let store = site.store_path();
    let mut serving = site.serve(&[]);
    views(&serving, "post-1", 10);
    assert_eq!(shell(&sqlite3, &store, "SELECT count(*) FROM posts"), "3");
    assert!(
        wal(&store).exists(),
        "the sqlite3 shell deleted the WAL serve has open: serve had lost its locks"
    );
    views(&serving, "post-1", 10);
    assert_eq!(views_recorded(&mut serving), 20);
    assert_eq!(site.count("SELECT count(*) FROM post_views"), 20);
    assert_whole(&site);
}

/// Cases 1 and 2: `post new`, 20 views, `import` of 6 posts, 20 views, SIGTERM.
fn views_survive_post_new_and_import(watch: bool) {
    let site = site_with_posts();
    let folder = posts_folder(&site, "incoming", "imported", 6);
    let mut serving = site.serve(if watch { &[] } else { &["--no-watch"] });
    site.run(&["post", "new", "During serve", "--no-edit"]).ok();
    views(&serving, "post-2", 20);
    site.run(&["import", folder.to_str().unwrap()]).ok();
    views(&serving, "post-2", 20);
    assert_eq!(views_recorded(&mut serving), 40);
    assert_eq!(site.count("SELECT count(*) FROM post_views"), 40);
    assert_eq!(
        site.count("SELECT view_count FROM post_statistics WHERE post_id = (SELECT id FROM posts WHERE slug = 'post-2')"),
        40
    );
    assert_eq!(site.count("SELECT count(*) FROM posts"), 3 + 1 + 6);
    assert_whole(&site);
}

#[test]
fn serve_without_watching_keeps_the_store_whole_beside_post_new_and_import() {
    views_survive_post_new_and_import(false);
}

#[test]
fn serve_watching_keeps_every_view_beside_post_new_and_import() {
    views_survive_post_new_and_import(true);
}

/// Views of one post, sent one after another until `stop`, each answered 200 counted.
fn viewer(
    addr: SocketAddr,
    slug: &'static str,
    stop: Arc<AtomicBool>,
    per_second: u64,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut ok, mut other) = (0, 0);
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if view(addr, slug) == 200 {
                ok += 1;
            } else {
                other += 1;
            }
            // Paced: the n-th view goes out at n / per_second.
            let due = Duration::from_millis((ok + other) * 1000 / per_second);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        (ok, other)
    })
}

/// Case 3, short: views at 40 a second while other processes loop `import`, `post publish`
/// and `unpublish`, `backup create`, `build` and sqlite3 reads. Every view answered 200 is in
/// the store and the store is whole. `benches/processes.sh` runs the same for longer.
#[test]
fn serve_keeps_every_view_and_the_store_whole_under_other_processes() {
    let sqlite3 = sqlite3();
    let site = site_with_posts();
    let store = site.store_path();
    let mut serving = site.serve(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let viewing = viewer(serving.addr, "post-1", stop.clone(), 40);
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(8) {
        let folder = posts_folder(&site, &format!("batch-{rounds}"), &format!("r{rounds}"), 2);
        site.run(&["import", folder.to_str().unwrap()]).ok();
        site.run(&["post", "publish", "post-3"]).ok();
        site.run(&["post", "unpublish", "post-3"]).ok();
        site.run(&["backup", "create"]).ok();
        site.run(&["build"]).ok();
        if let Some(sqlite3) = &sqlite3 {
            shell(sqlite3, &store, "SELECT count(*) FROM posts");
            assert!(
                wal(&store).exists(),
                "round {rounds}: the WAL was deleted under serve"
            );
        }
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let (answered, failed) = viewing.join().unwrap();
    assert_eq!(failed, 0, "every view of a published post is answered 200");
    assert!(answered > 100, "only {answered} views in 8 s");
    assert_eq!(views_recorded(&mut serving), answered);
    assert_eq!(
        site.count("SELECT count(*) FROM post_views") as u64,
        answered,
        "{rounds} rounds of other commands"
    );
    assert_whole(&site);
}

/// Case 5: kill -9 of serve after a `post new` in another process loses at most the views of
/// the last flush interval (250 ms by default; the README's bound), not everything since.
#[test]
fn a_killed_serve_loses_only_the_views_of_its_last_flush_interval() {
    let site = site_with_posts();
    let serving = site.serve(&[]);
    let addr = serving.addr;
    let stop = Arc::new(AtomicBool::new(false));
    // Each view's answer time, in ms since `t0`.
    let t0 = Instant::now();
    let answered_at: Arc<std::sync::Mutex<Vec<u64>>> = Arc::default();
    let sent = Arc::new(AtomicU64::new(0));
    let client = {
        let (stop, answered_at, sent) = (stop.clone(), answered_at.clone(), sent.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                if view(addr, "post-1") == 200 {
                    answered_at
                        .lock()
                        .unwrap()
                        .push(t0.elapsed().as_millis() as u64);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1000));
    site.run(&["post", "new", "During serve", "--no-edit"]).ok();
    std::thread::sleep(Duration::from_millis(2000));
    // SIGKILL (Serving's drop) while views are still coming.
    let killed_at = t0.elapsed().as_millis() as u64;
    drop(serving);
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    let answered = answered_at.lock().unwrap().clone();
    let stored = site.count("SELECT count(*) FROM post_views") as usize;
    // Allowed to be lost: views answered within the flush interval before the kill, plus the
    // commit of that batch (margin for a loaded CI machine).
    let bound_ms = 250 + 500;
    let must_be_stored = answered
        .iter()
        .filter(|&&at| at + bound_ms < killed_at)
        .count();
    assert!(
        must_be_stored > 50,
        "too few views answered to judge: {}",
        answered.len()
    );
    assert!(
        stored >= must_be_stored && stored <= answered.len(),
        "{stored} views stored; {} answered, {must_be_stored} of them more than {bound_ms} ms before the kill",
        answered.len()
    );
    assert_whole(&site);
}

/// `backup restore` writes into the live store through SQLite: a process that has the store
/// open sees the restored posts and keeps a whole store. Before, the file was renamed over and
/// its WAL deleted, so that process went on reading (and writing) the old, unlinked file.
#[test]
fn a_restore_is_seen_by_a_process_that_has_the_store_open() {
    let site = site_with_posts();
    site.run(&["backup", "create"]).ok();
    let id = site
        .run(&["backup", "list"])
        .ok()
        .stdout
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
        .expect("a backup listed");
    site.run(&["post", "new", "After the backup", "--no-edit"])
        .ok();
    let held = site.conn();
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&held), 4);
    site.run(&["backup", "restore", &id, "--yes"]).ok();
    assert_eq!(
        count(&held),
        3,
        "the open connection sees the restored store"
    );
    assert_eq!(count(&site.conn()), 3);
    held.execute("UPDATE posts SET title = 'Kept' WHERE slug = 'post-1'", [])
        .unwrap();
    drop(held);
    assert_eq!(
        site.count("SELECT count(*) FROM posts WHERE title = 'Kept'"),
        1,
        "a write after the restore lands in the store"
    );
    assert_whole(&site);
}

/// The rule behind all of the above, checked in one process: with a connection open (as
/// serve's view writer has), every way bloggo opens the store in-process must keep this
/// process's locks, so another process that opens and closes the store leaves the WAL alone.
#[test]
fn opening_the_store_again_in_a_process_keeps_its_locks() {
    use bloggo::config::Settings;
    let site = site_with_posts();
    let store = site.store_path();
    let held = bloggo::store::Store::connect(&store).unwrap();
    held.execute("UPDATE posts SET title = title WHERE id = 1", [])
        .unwrap();
    assert!(wal(&store).exists());
    let settings = Settings::load(&site.root).unwrap();
    // Every in-process way of opening the store that serve, build, backup and the content
    // commands use.
    drop(bloggo::store::Store::open(&store, false).unwrap());
    drop(bloggo::store::Store::open_unmigrated(&store).unwrap());
    drop(bloggo::store::Store::connect_read_only(&store).unwrap());
    bloggo::store::check::check(&store);
    bloggo::store::backup::readable(&store).unwrap();
    bloggo::backup::create(&settings, &test_actor(), None, chrono::Utc::now()).unwrap();
    bloggo::pipeline::build_site(
        &settings,
        &bloggo::pipeline::BuildOptions {
            out: None,
            drafts: false,
            base_url: None,
            clean: true,
            quiet: true,
        },
    )
    .unwrap();
    // Another process opens the store read-write and closes it.
    site.run(&["post", "list"]).ok();
    if let Some(sqlite3) = sqlite3() {
        shell(&sqlite3, &store, "SELECT count(*) FROM posts");
    }
    assert!(
        wal(&store).exists(),
        "another process checkpointed and deleted the WAL: this process's locks were dropped"
    );
    held.execute("UPDATE posts SET title = 'Held' WHERE id = 1", [])
        .unwrap();
    assert_eq!(
        site.count("SELECT count(*) FROM posts WHERE title = 'Held'"),
        1
    );
}

/// A lint over the sources: a line that opens, reads, copies, renames or removes a file and
/// names the store must say why it is safe (`lock-safe:` on that line or the one above).
#[test]
fn no_source_opens_the_store_file_outside_sqlite() {
    let fs_call = regex::Regex::new(
        r"File::open|File::create|OpenOptions|fs::read|fs::write|fs::copy|fs::rename|fs::remove_file|\.persist\(|hard_link",
    )
    .unwrap();
    let names_store = regex::Regex::new(r"(?i)\bstore(_path)?\b|\.store\b|bloggo\.sqlite").unwrap();
    let mut offenders = Vec::new();
    for entry in walkdir::WalkDir::new(crate::harness::repo().join("src")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if fs_call.is_match(code) && names_store.is_match(code) {
                let marked =
                    line.contains("lock-safe:") || (i > 0 && lines[i - 1].contains("lock-safe:"));
                if !marked {
                    offenders.push(format!(
                        "{}:{}: {}",
                        entry.path().display(),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these lines touch the store's file outside SQLite; go through SQLite, or say why it is safe with a `lock-safe:` comment:\n{}",
        offenders.join("\n")
    );
}

/// Commands that write at the same moment wait for each other (`BEGIN IMMEDIATE` and the
/// busy timeout) instead of failing with "database is locked" or "cannot promote read
/// transaction" (SQLite error 517).
#[test]
fn concurrent_writers_wait_for_each_other() {
    let site = site_with_posts();
    let mut children = Vec::new();
    for round in 0..4 {
        for args in [
            vec![
                "post".to_string(),
                "new".into(),
                format!("Concurrent {round}"),
                "--no-edit".into(),
            ],
            vec!["post".into(), "unpublish".into(), "post-3".into()],
            vec!["post".into(), "publish".into(), "post-3".into()],
            vec![
                "post".into(),
                "new".into(),
                format!("Second {round}"),
                "--no-edit".into(),
            ],
        ] {
            children.push((
                args.join(" "),
                Command::new(crate::harness::bin())
                    .arg("--site")
                    .arg(&site.root)
                    .args(&args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap(),
            ));
        }
    }
    let mut failures = Vec::new();
    for (what, child) in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // publish and unpublish race: finding the post already in the wanted state is fine.
        if !out.status.success() && !err.contains("already") {
            failures.push(format!("{what}: {err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(site.count("SELECT count(*) FROM posts"), 3 + 8);
    assert_whole(&site);
}

/// What is refused beside a running serve: a restore and a schema downgrade (serve writes views
/// with the schema it started with). Everything else runs beside it.
#[test]
fn restore_and_migrate_down_are_refused_while_serve_runs() {
    let site = site_with_posts();
    site.run(&["backup", "create"]).ok();
    let mut serving = site.serve(&["--no-watch"]);
    let down = site.run(&["migrate", "down", "--to", "0"]).fails();
    assert!(
        down.stderr.contains("refusing to roll migrations back")
            && down.stderr.contains("running `bloggo serve`"),
        "{}",
        down.stderr
    );
    let id = site.run(&["backup", "list"]).ok().stdout;
    let id = id
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    let restore = site.run(&["backup", "restore", id, "--yes"]).fails();
    assert!(
        restore.stderr.contains("bloggo serve"),
        "{}",
        restore.stderr
    );
    views(&serving, "post-1", 3);
    assert_eq!(views_recorded(&mut serving), 3);
    assert_eq!(
        site.count("SELECT max(version) FROM schema_migrations"),
        bloggo::store::migrate::latest_version()
    );
}

/// Who acts in backups the tests take through the library.
fn test_actor() -> bloggo::backup::Actor {
    bloggo::backup::Actor {
        email: None,
        via: "test",
    }
}
