//! Crash tests: the real binary on a real site, killed with SIGKILL after a seeded random delay,
//! then the invariants checked (issue 9).
//!
//! The normal suite runs a few kills per command (`BLOGGO_CRASH_RUNS`, default 5);
//! `benches/crash.sh` runs the full matrix (50+ per command). `BLOGGO_CRASH_SEED` repeats a run.
//! Every kill's delay is drawn from `[0, 1.1 × T]`, where T is the time one complete run of the
//! same command took on this machine just before, so kills land in every phase on fast and
//! slow machines alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{bin, Site};

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing assertion
/// never leaves a bloggo running.
pub struct Killable(pub std::process::Child);

impl Killable {
    pub fn spawn(cmd: &mut Command) -> Killable {
        Killable(cmd.spawn().expect("start bloggo"))
    }

    /// SIGKILL (std's `kill` sends SIGKILL on Unix); true when the process had already exited.
    pub fn kill(&mut self) -> bool {
        let finished = matches!(self.0.try_wait(), Ok(Some(_)));
        let _ = self.0.kill();
        let _ = self.0.wait();
        finished
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small seeded generator (SplitMix64): repeatable kill delays without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay uniform in `[0, max]`.
    pub fn delay(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % (micros + 1))
    }
}

/// Kills per command: `BLOGGO_CRASH_RUNS`, default 5 (the quick run of the normal suite).
pub fn runs() -> usize {
    std::env::var("BLOGGO_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// The seed of this run: `BLOGGO_CRASH_SEED`, default fixed so the suite is repeatable.
pub fn seed(command: &str) -> u64 {
    let base = std::env::var("BLOGGO_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_B1066u64);
    command
        .bytes()
        .fold(base, |h, b| h.rotate_left(7) ^ u64::from(b))
}

/// Writes `n` posts of a few hundred words with front matter into `dir`, named `prefix-N`.
pub fn write_posts(dir: &Path, prefix: &str, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let words = [
        "store", "crash", "sqlite", "page", "render", "atomic", "writer", "kill", "disk", "build",
        "index", "feed", "tag", "theme", "post", "draft",
    ];
    for i in 0..n {
        let mut body = String::new();
        for p in 0..6 {
            body.push_str(&format!("\n## Part {p}\n\n"));
            for w in 0..70 {
                body.push_str(words[(i * 7 + p * 3 + w) % words.len()]);
                body.push(' ');
            }
            body.push('\n');
        }
        let text = format!(
            "---\ntitle: \"{prefix} post {i}\"\ndate: 2024-{:02}-{:02} 10:00:00\ntags: [t{}, t{}]\ncategories: [\"c{}/d{}\"]\n---\nIntro of {prefix} {i}.\n{body}",
            1 + i % 12,
            1 + i % 28,
            i % 9,
            i % 4,
            i % 3,
            i % 2
        );
        std::fs::write(dir.join(format!("{prefix}-{i}.md")), text).unwrap();
    }
}

/// `PRAGMA integrity_check` and `foreign_key_check` of a store file, opened read-only.
pub fn assert_store_sound(path: &Path, what: &str) {
    let c =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
    let ic: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok", "{what}: integrity_check of {}", path.display());
    let fk: i64 = c
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "{what}: foreign_key_check of {}", path.display());
}

/// A consistent copy of the store (`VACUUM INTO`), to put back before each kill.
pub fn snapshot_store(site: &Site, to: &Path) {
    let _ = std::fs::remove_file(to);
    site.conn()
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Replaces the site's store (and its WAL/SHM) with a snapshot.
pub fn restore_store(site: &Site, from: &Path) {
    let store = site.store_path();
    for ext in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{ext}", store.display()));
    }
    std::fs::copy(from, &store).unwrap();
}

/// Starts `bloggo --site ROOT ARGS`, output discarded.
pub fn start(site: &Site, args: &[&str]) -> Killable {
    Killable::spawn(
        Command::new(bin())
            .arg("--site")
            .arg(&site.root)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Runs the command to completion and returns how long it took.
fn timed(site: &Site, args: &[&str]) -> Duration {
    let t = Instant::now();
    site.run(args).ok();
    t.elapsed()
}

/// What the kills of one command saw, printed for the README (benches/crash.sh collects it).
#[derive(Default, Debug)]
pub struct Tally {
    pub runs: usize,
    /// The process had already finished when the kill came.
    pub finished: usize,
    /// Killed mid-run, and the state was the one before.
    pub old: usize,
    /// Killed mid-run, and the state was the complete new one.
    pub new: usize,
    /// Temp files a kill left behind (never listed or used; cleaned up later).
    pub leftovers: usize,
}

impl Tally {
    pub fn report(&self, command: &str, seed: u64) {
        eprintln!(
            "crash-result {command}: {} runs (seed {seed}), {} killed with the old state, {} killed with the new state, {} finished before the kill, {} temp leftovers; invariants held in all",
            self.runs, self.old, self.new, self.finished, self.leftovers
        );
    }
}

/// `import` of a large folder killed at random: the store holds none or all of it, passes its
/// checks, and a re-run completes it.
#[test]
fn import_killed_leaves_none_or_all_and_rerun_completes() {
    let site = Site::new();
    let base = site.tmp.path().join("base");
    let big = site.tmp.path().join("big");
    write_posts(&base, "base", 5);
    write_posts(&big, "big", 300);
    site.run(&["import", base.to_str().unwrap()]).ok();
    let before = site.count("SELECT count(*) FROM posts");
    let audits = site.count("SELECT count(*) FROM audit_logs");
    let snap = site.tmp.path().join("before.sqlite");
    snapshot_store(&site, &snap);

    let full = timed(&site, &["import", big.to_str().unwrap()]);
    let after = site.count("SELECT count(*) FROM posts");
    assert_eq!(after, before + 300);

    let seed = seed("import");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for run in 0..runs() {
        restore_store(&site, &snap);
        let delay = rng.delay(full.mul_f64(1.1));
        let mut child = start(&site, &["import", big.to_str().unwrap()]);
        std::thread::sleep(delay);
        let finished = child.kill();
        let what = format!("import run {run} (seed {seed}, killed after {delay:?})");
        assert_store_sound(&site.store_path(), &what);
        let posts = site.count("SELECT count(*) FROM posts");
        let logs = site.count("SELECT count(*) FROM audit_logs");
        let tagged = site.count("SELECT count(DISTINCT post_id) FROM post_tags");
        if posts == before {
            assert_eq!(logs, audits, "{what}: an audit row without its posts");
            assert!(!finished, "{what}: the import finished but left nothing");
            tally.old += 1;
        } else {
            assert_eq!(posts, after, "{what}: a partial import ({posts} posts)");
            assert_eq!(logs, audits + 1, "{what}: posts without their audit row");
            assert_eq!(tagged, after, "{what}: posts without their tags");
            if finished {
                tally.finished += 1;
            } else {
                tally.new += 1;
            }
        }
        tally.runs += 1;
        site.run(&["import", big.to_str().unwrap()]).ok();
        assert_eq!(
            site.count("SELECT count(*) FROM posts"),
            after,
            "{what}: re-run"
        );
        site.run(&["db", "check"]).ok();
    }
    tally.report("import", seed);
}

/// Every file of an output folder with its BLAKE3 hash, the manifest aside.
pub fn output_files(out: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(out) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(out)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel != bloggo::output::MANIFEST {
                let bytes = std::fs::read(e.path()).unwrap();
                files.insert(rel, blake3::hash(&bytes).to_hex().to_string());
            }
        }
    }
    files
}

/// The manifest of an output folder (file → hash).
fn manifest(out: &Path) -> BTreeMap<String, String> {
    bloggo::output::manifest_files(out)
        .unwrap_or_else(|| panic!("{}: no sound manifest", out.display()))
        .into_iter()
        .collect()
}

/// Every internal link (`href="/..."`) of a page that must exist in the output.
fn internal_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let url = &part[..part.find('"').unwrap_or(0)];
        // The starter site's base_url.
        let path = url.strip_prefix("http://127.0.0.1:4000").unwrap_or(url);
        if path.starts_with('/') && !path.starts_with("//") {
            links.push(path.split(['#', '?']).next().unwrap().to_string());
        }
    }
    links
}

/// Asserts an output folder is one complete site: its files are exactly its manifest's, and
/// every internal link of the index resolves.
pub fn assert_complete_site(out: &Path, what: &str) -> BTreeMap<String, String> {
    let files = output_files(out);
    let listed = manifest(out);
    assert_eq!(files, listed, "{what}: the files are not the manifest's");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    for link in internal_links(&index) {
        let rel = link.trim_start_matches('/');
        let target: PathBuf = if rel.is_empty() || rel.ends_with('/') {
            out.join(rel).join("index.html")
        } else {
            out.join(rel)
        };
        assert!(
            target.is_file() || out.join(rel).join("index.html").is_file(),
            "{what}: the index links to {link}, which is missing"
        );
    }
    listed
}

/// `build` killed at random while replacing site A with site B: the output is always all of A
/// or all of B, and a re-run gives B.
#[test]
fn build_killed_leaves_a_complete_old_or_new_site() {
    let site = Site::new();
    let posts = site.tmp.path().join("posts");
    write_posts(&posts, "post", 60);
    site.run(&["import", posts.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let out = site.path("public");
    let site_a = assert_complete_site(&out, "site A");
    let saved_a = site.tmp.path().join("public-a");
    crate::harness::copy_dir(&out, &saved_a);

    // Site B: every title changed and 12 more posts, so many pages differ and some are new.
    site.conn()
        .execute("UPDATE posts SET title = title || ' (v2)'", [])
        .unwrap();
    let more = site.tmp.path().join("more");
    write_posts(&more, "more", 12);
    site.run(&["import", more.to_str().unwrap()]).ok();
    let full = timed(&site, &["build"]);
    let site_b = assert_complete_site(&out, "site B");
    assert_ne!(site_a, site_b);

    let seed = seed("build");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let parent = site.root.clone();
    for run in 0..runs() {
        std::fs::remove_dir_all(&out).unwrap();
        crate::harness::copy_dir(&saved_a, &out);
        let _ = std::fs::remove_dir_all(site.path(".bloggo-cache"));
        let delay = rng.delay(full.mul_f64(1.1));
        let mut child = start(&site, &["build"]);
        std::thread::sleep(delay);
        let finished = child.kill();
        let what = format!("build run {run} (seed {seed}, killed after {delay:?})");
        let got = assert_complete_site(&out, &what);
        if got == site_a {
            assert!(!finished, "{what}: the build finished but left site A");
            tally.old += 1;
        } else {
            assert_eq!(got, site_b, "{what}: neither site A nor site B");
            if finished {
                tally.finished += 1;
            } else {
                tally.new += 1;
            }
        }
        tally.runs += 1;
        site.run(&["build"]).ok();
        assert_eq!(assert_complete_site(&out, &what), site_b, "{what}: re-run");
        // A killed build may leave its staging folder; it must never be taken for the site.
        for e in std::fs::read_dir(&parent).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(".public.building-") {
                std::fs::remove_dir_all(parent.join(&name)).unwrap();
                tally.leftovers += 1;
            }
        }
    }
    assert_store_sound(&site.store_path(), "after the build kills");
    tally.report("build", seed);
}

/// A site with posts and enough views that a backup takes a while (a few MB of store).
fn site_with_views(posts: usize, views: usize) -> Site {
    let site = Site::new();
    let dir = site.tmp.path().join("posts");
    write_posts(&dir, "post", posts);
    site.run(&["import", dir.to_str().unwrap()]).ok();
    site.conn()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO post_views (post_id, ip_address, user_agent, referrer, viewed_at)
             SELECT p.id, '10.0.' || (i % 250) || '.0', 'Mozilla/5.0 crash-test ' || i,
                    'https://example.com/from/' || (i % 97), '2026-01-01 00:00:00'
             FROM n JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM posts) p
               ON p.k = n.i % ?2",
            [views as i64, posts as i64],
        )
        .unwrap();
    site
}

/// What a store holds, in a few numbers that change with any write.
fn digest(site: &Site) -> Vec<Vec<String>> {
    site.rows(
        "SELECT (SELECT count(*) FROM posts), (SELECT max(id) FROM posts),
                (SELECT group_concat(title, '|') FROM (SELECT title FROM posts ORDER BY id)),
                (SELECT count(*) FROM post_views), (SELECT max(id) FROM post_views)",
    )
}

/// `backup create` killed at random: the store is untouched, no backup listed as good is
/// partial, `verify` flags whatever the kill left, `prune` removes its temp files, and a
/// re-run succeeds.
#[test]
fn backup_create_killed_never_lists_a_partial_backup() {
    let site = site_with_views(40, 20_000);
    let settings = bloggo::config::Settings::load(&site.root).unwrap();
    let before = digest(&site);
    let full = timed(&site, &["backup", "create"]);

    let seed = seed("backup create");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for run in 0..runs() {
        let delay = rng.delay(full.mul_f64(1.1));
        let good_before = bloggo::backup::list(&settings)
            .unwrap()
            .iter()
            .filter(|b| b.is_good())
            .count();
        let mut child = start(&site, &["backup", "create"]);
        std::thread::sleep(delay);
        let finished = child.kill();
        let what = format!("backup create run {run} (seed {seed}, killed after {delay:?})");
        assert_store_sound(&site.store_path(), &what);
        assert_eq!(digest(&site), before, "{what}: the store changed");
        let all = bloggo::backup::list(&settings).unwrap();
        let mut bad = 0;
        for b in &all {
            let verdict = bloggo::backup::verify::verify_file(b, &Default::default()).unwrap();
            if b.is_good() {
                assert!(
                    verdict.ok,
                    "{what}: {} is listed as good but {:?}",
                    b.tier_id(),
                    verdict.problems
                );
            }
            if !verdict.ok {
                bad += 1;
            }
        }
        let verify = site.run(&["backup", "verify"]);
        assert_eq!(
            verify.code != 0,
            bad > 0,
            "{what}: verify must fail exactly when a backup is bad\n{}",
            verify.stdout
        );
        let good_after = all.iter().filter(|b| b.is_good()).count();
        if good_after > good_before {
            if finished {
                tally.finished += 1;
            } else {
                tally.new += 1;
            }
        } else {
            tally.old += 1;
        }
        tally.runs += 1;
        // Clear what the kill left (broken backups by hand, temp files by prune), then re-run.
        for b in all.iter().filter(|b| {
            !bloggo::backup::verify::verify_file(b, &Default::default())
                .unwrap()
                .ok
        }) {
            std::fs::remove_file(&b.path).unwrap();
            let _ = std::fs::remove_file(b.sidecar_path());
        }
        // Temp files are never listed; prune removes them once a day old (a running backup
        // may still be writing a newer one), so age them as a day passing would.
        let day_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
        for e in walkdir::WalkDir::new(&settings.backup_dir) {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let f = std::fs::File::options().write(true).open(e.path()).unwrap();
                f.set_modified(day_ago).unwrap();
                tally.leftovers += 1;
            }
        }
        site.run(&["backup", "prune"]).ok();
        for e in walkdir::WalkDir::new(&settings.backup_dir) {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "{what}: prune left {name}");
        }
        // The re-run verifies its own backup; keep only it so each run verifies little.
        site.run(&["backup", "create"]).ok();
        let all = bloggo::backup::list(&settings).unwrap();
        for b in &all[..all.len() - 1] {
            std::fs::remove_file(&b.path).unwrap();
            std::fs::remove_file(b.sidecar_path()).unwrap();
        }
    }
    tally.report("backup create", seed);
}

/// `backup restore` killed at random: the store is the old one or the restored one, each
/// passing its checks, and a re-run restores it.
#[test]
fn backup_restore_killed_leaves_the_old_or_the_restored_store() {
    let site = site_with_views(30, 20_000);
    let out = site.run(&["backup", "create"]).ok();
    let settings = bloggo::config::Settings::load(&site.root).unwrap();
    let id = bloggo::backup::list(&settings).unwrap()[0].id.clone();
    let restored = digest(&site);
    // The current store: other titles and more views.
    site.conn()
        .execute_batch(
            "UPDATE posts SET title = title || ' (edited)';
             INSERT INTO post_views (post_id, viewed_at) SELECT id, '2026-02-02 00:00:00' FROM posts;",
        )
        .unwrap();
    let current = digest(&site);
    assert_ne!(current, restored, "{}", out.stdout);
    let snap = site.tmp.path().join("current.sqlite");
    snapshot_store(&site, &snap);
    let full = timed(&site, &["backup", "restore", &id, "--yes"]);
    assert_eq!(digest(&site), restored);

    let seed = seed("backup restore");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    for run in 0..runs() {
        restore_store(&site, &snap);
        let delay = rng.delay(full.mul_f64(1.1));
        let mut child = start(&site, &["backup", "restore", &id, "--yes"]);
        std::thread::sleep(delay);
        let finished = child.kill();
        let what = format!("restore run {run} (seed {seed}, killed after {delay:?})");
        assert_store_sound(&site.store_path(), &what);
        let got = digest(&site);
        if got == current {
            assert!(
                !finished,
                "{what}: the restore finished but left the old store"
            );
            tally.old += 1;
        } else {
            assert_eq!(
                got, restored,
                "{what}: neither the old nor the restored store"
            );
            if finished {
                tally.finished += 1;
            } else {
                tally.new += 1;
            }
        }
        tally.runs += 1;
        site.run(&["db", "check"]).ok();
        // A kill may leave the decompressed copy beside the store; never the store itself.
        for e in std::fs::read_dir(&site.root).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(".bloggo-restore-") {
                std::fs::remove_file(site.root.join(&name)).unwrap();
                tally.leftovers += 1;
            }
        }
        site.run(&["backup", "restore", &id, "--yes"]).ok();
        assert_eq!(digest(&site), restored, "{what}: re-run");
    }
    tally.report("backup restore", seed);
}

/// A running `bloggo serve --port 0 --no-build` and the address it printed.
pub struct Served {
    pub child: Killable,
    pub addr: std::net::SocketAddr,
}

/// Starts the server on the site's built output and waits for its URL.
pub fn serve(site: &Site, extra: &[&str]) -> Served {
    use std::io::BufRead;
    let mut child = Killable::spawn(
        Command::new(bin())
            .arg("--site")
            .arg(&site.root)
            .args(["serve", "--port", "0", "--bind", "127.0.0.1", "--no-build"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut reader = std::io::BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    // Keep reading: a closed pipe would make the server's next print fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = first
        .trim()
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix('/'))
        .unwrap_or_else(|| panic!("serve did not print its URL: {first:?}"))
        .parse()
        .unwrap();
    Served { child, addr }
}

/// One keep-alive HTTP/1.1 connection: sends GETs, reads status and body.
pub struct Conn {
    reader: std::io::BufReader<std::net::TcpStream>,
}

impl Conn {
    pub fn open(addr: std::net::SocketAddr) -> std::io::Result<Conn> {
        let s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: std::io::BufReader::new(s),
        })
    }

    /// `GET path` with extra header lines; the status code (a broken connection is an error).
    pub fn get(&mut self, path: &str, headers: &str) -> std::io::Result<u16> {
        use std::io::{BufRead, Read, Write};
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n{headers}\r\n");
        self.reader.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        let mut status = 0;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if status == 0 {
                status = l
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// `serve` under view load killed at random: the store passes its checks, every stored view
/// was sent, the statistics match the rows, and only views acknowledged within the last flush
/// interval (plus one commit) can be missing. Reports the most views one kill lost and how old
/// the oldest lost view was.
#[test]
fn serve_killed_under_view_load_loses_at_most_the_unflushed_batch() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let site = Site::new();
    let posts = site.tmp.path().join("posts");
    write_posts(&posts, "post", 8);
    site.run(&["import", posts.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let slugs: Vec<String> = site
        .rows("SELECT slug FROM posts ORDER BY id")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    // The flush interval the server runs with (the default of [serve] flush_interval_ms).
    let flush = Duration::from_millis(250);
    // A loaded machine delays the writer thread too; views older than this must be stored.
    let bound = flush + Duration::from_millis(1500);

    let seed = seed("serve");
    let mut rng = Rng::new(seed);
    let (mut max_lost, mut max_age, mut acked_total) = (0usize, Duration::ZERO, 0usize);
    for run in 0..runs() {
        let served = serve(&site, &[]);
        let mut child = served.child;
        let stop = Arc::new(AtomicBool::new(false));
        // (referrer, acknowledged at)
        let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let sent: Arc<Mutex<BTreeMap<String, ()>>> = Arc::default();
        let clients: Vec<_> = (0..3)
            .map(|t| {
                let (stop, acked, sent, slugs) =
                    (stop.clone(), acked.clone(), sent.clone(), slugs.clone());
                let addr = served.addr;
                std::thread::spawn(move || {
                    let Ok(mut c) = Conn::open(addr) else { return };
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let r = format!("http://load.test/v/{run}-{t}-{n}");
                        sent.lock().unwrap().insert(r.clone(), ());
                        let path = format!("/posts/{}/", slugs[n % slugs.len()]);
                        match c.get(&path, &format!("Referer: {r}\r\n")) {
                            Ok(200) => acked.lock().unwrap().push((r, Instant::now())),
                            Ok(s) => panic!("GET {path}: {s}"),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        let delay = Duration::from_millis(300) + rng.delay(Duration::from_millis(1500));
        std::thread::sleep(delay);
        let killed_at = Instant::now();
        child.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let what = format!("serve run {run} (seed {seed}, killed after {delay:?})");
        assert_store_sound(&site.store_path(), &what);
        let stored: Vec<String> = site
            .rows(&format!(
                "SELECT referrer FROM post_views WHERE referrer LIKE 'http://load.test/v/{run}-%'"
            ))
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let sent = sent.lock().unwrap();
        for r in &stored {
            assert!(sent.contains_key(r), "{what}: a view nobody sent: {r}");
        }
        let stored: std::collections::HashSet<String> = stored.into_iter().collect();
        let acked = acked.lock().unwrap();
        let lost: Vec<&(String, Instant)> =
            acked.iter().filter(|(r, _)| !stored.contains(r)).collect();
        for (r, at) in &lost {
            let age = killed_at.saturating_duration_since(*at);
            assert!(
                age <= bound,
                "{what}: view {r} acknowledged {age:?} before the kill was lost"
            );
            max_age = max_age.max(age);
        }
        max_lost = max_lost.max(lost.len());
        assert!(
            acked.len() > 50,
            "{what}: only {} views acknowledged",
            acked.len()
        );
        acked_total += acked.len();
        let mismatched = site.count(
            "SELECT count(*) FROM posts p
             LEFT JOIN post_statistics s ON s.post_id = p.id
             WHERE coalesce(s.view_count, 0) != (SELECT count(*) FROM post_views v WHERE v.post_id = p.id)
                OR p.view_count != (SELECT count(*) FROM post_views v WHERE v.post_id = p.id)",
        );
        assert_eq!(
            mismatched, 0,
            "{what}: statistics differ from the view rows"
        );
    }
    // A server starts again on the killed one's site (its lock is not held by a dead process).
    let again = serve(&site, &[]);
    let mut c = Conn::open(again.addr).unwrap();
    assert_eq!(c.get(&format!("/posts/{}/", slugs[0]), "").unwrap(), 200);
    eprintln!(
        "serve-views: {} kills (seed {seed}), {acked_total} views acknowledged, at most {max_lost} lost by one kill, the oldest lost acknowledged {max_age:?} before the kill (flush interval {flush:?})",
        runs()
    );
}
