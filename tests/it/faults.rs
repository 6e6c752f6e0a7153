//! Fault injection (issue 9): a full disk, a read-only store, a store locked by another writer,
//! a broken or unreadable theme, an output folder that cannot be written. Each must give a clear
//! error naming the file, a non-zero exit, and leave the store's rows and the output as they were.
//!
//! Tests run as root on the project's machines (and CI), where permission bits do not stop
//! writes: the faults are made with real mechanisms that stop root too (a small tmpfs filled up,
//! a tmpfs remounted read-only, a path whose parent is a regular file). A missing mechanism
//! (mounting refused) fails the test rather than skipping it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::crash::{assert_complete_site, assert_store_sound, output_files, write_posts};
use crate::harness::{run_in, Run, Site};

/// A tmpfs of a given size mounted on a fresh folder; unmounted when dropped.
struct TmpMount {
    dir: PathBuf,
}

impl TmpMount {
    fn new(dir: PathBuf, size: &str) -> TmpMount {
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the fault tests need to mount a tmpfs (run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TmpMount { dir }
    }

    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TmpMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A site whose whole folder (store, output) lives on a tmpfs of `size`.
fn site_on_tmpfs(size: &str) -> (Site, TmpMount) {
    let tmp = tempfile::tempdir().unwrap();
    let mount = TmpMount::new(tmp.path().join("disk"), size);
    let root = mount.dir.join("site");
    run_in(tmp.path(), &["init", root.to_str().unwrap()]).ok();
    (Site { tmp, root }, mount)
}

/// Everything a fault must not change: every row of the content tables.
fn store_rows(site: &Site) -> BTreeMap<&'static str, Vec<Vec<String>>> {
    [
        "posts",
        "post_versions",
        "categories",
        "tags",
        "post_tags",
        "post_categories",
        "users",
        "audit_logs",
    ]
    .into_iter()
    .map(|t| (t, site.rows(&format!("SELECT * FROM {t} ORDER BY 1, 2"))))
    .collect()
}

/// Fills the filesystem holding `dir` until a write fails for lack of space.
fn fill_disk(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match f.write_all(&block) {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                break;
            }
        }
    }
    path
}

#[track_caller]
fn assert_mentions(run: &Run, parts: &[&str]) {
    for p in parts {
        assert!(
            run.stderr.contains(p),
            "the error should mention {p:?}:\n{}",
            run.stderr
        );
    }
}

fn posts_dir(site: &Site, name: &str, n: usize) -> PathBuf {
    let dir = site.tmp.path().join(name);
    write_posts(&dir, name, n);
    dir
}

#[test]
fn full_disk_fails_import_and_build_without_damage() {
    // The store's disk fills up: import and build fail naming the store; nothing changes.
    let (site, mount) = site_on_tmpfs("3m");
    let base = posts_dir(&site, "base", 5);
    let big = posts_dir(&site, "big", 200);
    site.run(&["import", base.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let out = site.path("public");
    let files = output_files(&out);
    site.conn()
        .execute("UPDATE posts SET title = title || ' (changed)'", [])
        .unwrap();
    let rows = store_rows(&site);
    let filler = fill_disk(&mount.dir);
    let store = site.store_path();
    let run = site.run(&["import", big.to_str().unwrap()]).fails();
    assert_mentions(&run, &[store.to_str().unwrap(), "full"]);
    let run = site.run(&["build"]).fails();
    assert_mentions(&run, &[store.to_str().unwrap(), "full"]);
    assert_eq!(output_files(&out), files, "the output changed");
    std::fs::remove_file(filler).unwrap();
    assert_store_sound(&store, "after the full disk");
    assert_eq!(store_rows(&site), rows, "the store's rows changed");
    site.run(&["import", big.to_str().unwrap()]).ok();

    // Only the output's disk is full: the build fails naming it, the old site stays whole.
    let out_disk = TmpMount::new(site.tmp.path().join("out-disk"), "2m");
    let out = out_disk.dir.join("public");
    let small = Site::new();
    small.run(&["import", base.to_str().unwrap()]).ok();
    small.run(&["build", "--out", out.to_str().unwrap()]).ok();
    let files = output_files(&out);
    small
        .conn()
        .execute("UPDATE posts SET title = title || ' (changed)'", [])
        .unwrap();
    let rows = store_rows(&small);
    let filler = fill_disk(&out_disk.dir);
    let run = small
        .run(&["build", "--out", out.to_str().unwrap()])
        .fails();
    assert_mentions(&run, &[out_disk.dir.to_str().unwrap()]);
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert_eq!(output_files(&out), files, "the output changed");
    assert_complete_site(&out, "after a build on a full disk");
    // Beside the output only the filler and the build's lock may remain: the failed build's
    // stage is removed, and no other temp folder is left.
    assert_eq!(
        entries(&out_disk.dir),
        [".public.bloggo-lock", "filler", "public"],
        "a temp folder was left behind"
    );
    assert_eq!(store_rows(&small), rows, "the store's rows changed");
    std::fs::remove_file(filler).unwrap();
    small.run(&["build", "--out", out.to_str().unwrap()]).ok();
}

/// The names in a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Bytes in use on the filesystem holding `dir`.
fn used(dir: &Path) -> u64 {
    let s = fs4::statvfs(dir).unwrap();
    s.total_space() - s.free_space()
}

/// Every file under a folder (relative paths), sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn a_build_that_runs_out_of_space_removes_its_stage_and_names_the_full_folder() {
    // The build itself fills the output's disk (no filler): the stage it was filling must not
    // stay behind taking the space, the live site stays as it was, and the error says which
    // folder is full and what to do.
    let site = Site::new();
    let base = posts_dir(&site, "base", 6);
    site.run(&["import", base.to_str().unwrap()]).ok();
    let disk = TmpMount::new(site.tmp.path().join("out-disk"), "1m");
    let out = disk.dir.join("public");
    let big = |bytes: usize| {
        let noise: Vec<u8> = (0..bytes).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::create_dir_all(site.path("static")).unwrap();
        std::fs::write(site.path("static/big.bin"), noise).unwrap();
    };

    // A first build that does not fit: nothing is left but the lock.
    big(1_500_000);
    let run = site.run(&["build", "--out", out.to_str().unwrap()]).fails();
    assert_mentions(&run, &[disk.dir.to_str().unwrap(), "full", "--out"]);
    assert!(
        run.stderr.lines().count() <= 3,
        "one error, not one line per file:\n{}",
        run.stderr
    );
    assert_eq!(entries(&disk.dir), [".public.bloggo-lock"]);
    assert!(
        used(&disk.dir) < 64 * 1024,
        "{} bytes still used",
        used(&disk.dir)
    );

    // A site that fits, then a change that does not: the kept stage is not left filling the
    // disk, the live site is untouched, and once there is room the build goes through.
    std::fs::remove_file(site.path("static/big.bin")).unwrap();
    site.run(&["build", "--out", out.to_str().unwrap()]).ok();
    let files = assert_complete_site(&out, "the small site");
    let before = used(&disk.dir);
    big(900_000);
    let run = site.run(&["build", "--out", out.to_str().unwrap()]).fails();
    assert_mentions(&run, &[disk.dir.to_str().unwrap(), "full"]);
    assert_eq!(output_files(&out), files, "the live site changed");
    assert_complete_site(&out, "after the failed build");
    assert!(
        !entries(&disk.dir).contains(&".public.bloggo-stage".to_string()),
        "{:?}",
        entries(&disk.dir)
    );
    assert!(
        used(&disk.dir) <= before,
        "{} bytes used after the failed build, {before} before",
        used(&disk.dir)
    );
    big(300_000);
    site.run(&["build", "--out", out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap().len(), 300_000);
    let files = assert_complete_site(&out, "after freeing space");

    // A one-post change (the build that patches the live site) on a disk filled by someone
    // else: the same.
    site.conn()
        .execute(
            "UPDATE posts SET title = 'Changed on a full disk' WHERE id = (SELECT min(id) FROM posts)",
            [],
        )
        .unwrap();
    let filler = fill_disk(&disk.dir);
    let run = site.run(&["build", "--out", out.to_str().unwrap()]).fails();
    assert_mentions(&run, &[disk.dir.to_str().unwrap(), "full"]);
    assert_eq!(output_files(&out), files, "the live site changed");
    assert!(
        !entries(&disk.dir).contains(&".public.bloggo-stage".to_string()),
        "{:?}",
        entries(&disk.dir)
    );
    std::fs::remove_file(filler).unwrap();
    site.run(&["build", "--out", out.to_str().unwrap()]).ok();
    assert_complete_site(&out, "after the one-post change");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("Changed on a full disk"), "{index}");
}

#[test]
fn backup_create_on_a_full_disk_names_the_backup_folder_and_leaves_nothing_behind() {
    let site = Site::new();
    let base = posts_dir(&site, "base", 20);
    site.run(&["import", base.to_str().unwrap()]).ok();
    // About 4 MB of store that gzip halves (hex of random bytes).
    site.conn()
        .execute_batch(
            "UPDATE posts SET content = content || hex(randomblob(100000));
             UPDATE post_versions SET content = '';
             VACUUM;",
        )
        .unwrap();
    let store_size = std::fs::metadata(site.store_path()).unwrap().len();
    assert!(store_size > 3_500_000, "{store_size}");
    let rows = store_rows(&site);
    let disk = TmpMount::new(site.tmp.path().join("backup-disk"), "1m");
    let backups = disk.dir.join("backups");
    let cfg = site.read("bloggo.toml");
    site.write(
        "bloggo.toml",
        &cfg.replacen(
            "[backup]\n",
            &format!("[backup]\ndir = \"{}\"\n", backups.display()),
            1,
        ),
    );

    // The copy does not fit; then (5 MB) the copy fits but not the compressed file beside it.
    for size in ["1m", "5m"] {
        disk.remount(&format!("size={size}"));
        let run = site.run(&["backup", "create"]).fails();
        assert_mentions(&run, &[backups.to_str().unwrap(), "full", "[backup] dir"]);
        // At 5 MB the copy was taken: the compressed file is what did not fit.
        if size == "5m" {
            assert!(run.stderr.contains("os error 28"), "{}", run.stderr);
        }
        assert!(
            !run.stderr.contains("online backup failed"),
            "{size}: the store is not at fault:\n{}",
            run.stderr
        );
        assert_eq!(
            files_under(&backups),
            Vec::<String>::new(),
            "{size}: a half-written backup was left"
        );
        assert!(
            used(&disk.dir) < 64 * 1024,
            "{size}: {} bytes used",
            used(&disk.dir)
        );
        assert_eq!(store_rows(&site), rows, "{size}: the store changed");
        assert_store_sound(&site.store_path(), size);
    }
    // With room, the same command works.
    disk.remount("size=32m");
    site.run(&["backup", "create"]).ok();
    site.run(&["backup", "verify"]).ok();
}

#[test]
fn read_only_store_is_refused_without_damage() {
    // Marked read-only: refused up front, for root too (write bits are checked).
    let site = Site::new();
    let base = posts_dir(&site, "base", 3);
    let more = posts_dir(&site, "more", 3);
    site.run(&["import", base.to_str().unwrap()]).ok();
    let rows = store_rows(&site);
    let store = site.store_path();
    let mut perm = std::fs::metadata(&store).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&store, perm.clone()).unwrap();
    let run = site.run(&["import", more.to_str().unwrap()]).fails();
    assert_mentions(&run, &[store.to_str().unwrap(), "read-only"]);
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&store, perm).unwrap();
    assert_eq!(store_rows(&site), rows);

    // On a read-only mount: caught when SQLite first writes; store and output untouched.
    let (site, mount) = site_on_tmpfs("16m");
    site.run(&["import", base.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let rows = store_rows(&site);
    let files = output_files(&site.path("public"));
    mount.remount("ro");
    let store = site.store_path();
    let run = site.run(&["import", more.to_str().unwrap()]).fails();
    assert_mentions(&run, &[store.to_str().unwrap()]);
    assert!(
        run.stderr.contains("read-only") || run.stderr.contains("cannot write"),
        "{}",
        run.stderr
    );
    let run = site.run(&["build"]).fails();
    assert!(
        run.stderr.contains(site.root.to_str().unwrap()),
        "{}",
        run.stderr
    );
    mount.remount("rw");
    assert_store_sound(&store, "after the read-only mount");
    assert_eq!(store_rows(&site), rows);
    assert_eq!(output_files(&site.path("public")), files);
}

#[test]
fn store_locked_by_another_writer_fails_after_the_busy_timeout() {
    let site = Site::new();
    let base = posts_dir(&site, "base", 3);
    let more = posts_dir(&site, "more", 3);
    site.run(&["import", base.to_str().unwrap()]).ok();
    let rows = store_rows(&site);
    let holder = site.conn();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    // A short busy timeout (the default is 10 s) so the suite does not wait it out.
    let run = site
        .run_env(
            &["import", more.to_str().unwrap()],
            &[("BLOGGO_BUSY_TIMEOUT", "1.5")],
        )
        .fails();
    let waited = started.elapsed();
    holder.execute_batch("ROLLBACK").unwrap();
    let store = site.store_path();
    assert_mentions(&run, &[store.to_str().unwrap(), "locked"]);
    assert!(
        waited >= Duration::from_secs(1),
        "gave up at once ({waited:?}) instead of waiting for the other writer"
    );
    assert_eq!(store_rows(&site), rows);
    assert_store_sound(&store, "after the lock");
}

/// Makes `theme = "x"` the site's theme with the given templates.
fn use_theme(site: &Site, templates: &[(&str, &[u8])]) {
    let config = site.read("bloggo.toml");
    site.write("bloggo.toml", &format!("theme = \"x\"\n{config}"));
    std::fs::create_dir_all(site.path("themes/x/templates")).unwrap();
    for (name, bytes) in templates {
        std::fs::write(site.path(&format!("themes/x/templates/{name}")), bytes).unwrap();
    }
}

#[test]
fn broken_missing_or_unreadable_theme_fails_the_build_without_damage() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a [&'a str]);
    let cases: [Case; 3] = [
        (
            "broken template",
            &[(
                "index.html",
                b"{% extends \"base.html\" %}\n{% block content %}{% if %}{% endblock %}",
            )],
            &["themes/x/templates/index.html"],
        ),
        (
            "unreadable template (not UTF-8)",
            &[("post.html", b"\xff\xfe{{ page.title }}\x80")],
            &["themes/x/templates/post.html", "cannot read template"],
        ),
        ("missing theme folder", &[], &["themes/x", "no folder"]),
    ];
    for (what, templates, expect) in cases {
        let site = Site::new();
        let base = posts_dir(&site, "base", 4);
        site.run(&["import", base.to_str().unwrap()]).ok();
        site.run(&["build"]).ok();
        let rows = store_rows(&site);
        let files = output_files(&site.path("public"));
        use_theme(&site, templates);
        if templates.is_empty() {
            std::fs::remove_dir_all(site.path("themes/x")).unwrap();
        }
        let run = site.run(&["build"]).fails();
        for e in expect {
            assert!(
                run.stderr.contains(e),
                "{what}: {e:?} missing in:\n{}",
                run.stderr
            );
        }
        assert_eq!(output_files(&site.path("public")), files, "{what}");
        assert_eq!(store_rows(&site), rows, "{what}");
    }
}

#[test]
fn output_that_cannot_be_written_fails_the_build_without_damage() {
    let site = Site::new();
    let base = posts_dir(&site, "base", 4);
    site.run(&["import", base.to_str().unwrap()]).ok();
    site.run(&["build"]).ok();
    let rows = store_rows(&site);
    let files = output_files(&site.path("public"));

    // A parent that is a regular file stops root too.
    site.write("blocker", "a file, not a folder\n");
    let bad = site.path("blocker/public");
    let run = site.run(&["build", "--out", bad.to_str().unwrap()]).fails();
    assert_mentions(&run, &[site.path("blocker").to_str().unwrap()]);
    assert_eq!(site.read("blocker"), "a file, not a folder\n");

    // An output on a read-only mount: the previous site stays as it was.
    let mount = TmpMount::new(site.tmp.path().join("ro-out"), "16m");
    let out = mount.dir.join("public");
    site.run(&["build", "--out", out.to_str().unwrap()]).ok();
    let before = output_files(&out);
    mount.remount("ro");
    site.conn()
        .execute("UPDATE posts SET title = title || ' (changed)'", [])
        .unwrap();
    let rows_changed = store_rows(&site);
    let run = site.run(&["build", "--out", out.to_str().unwrap()]).fails();
    assert_mentions(&run, &[mount.dir.to_str().unwrap()]);
    assert!(
        run.stderr.contains("Read-only") || run.stderr.contains("read-only"),
        "{}",
        run.stderr
    );
    assert_eq!(output_files(&out), before);
    assert_eq!(output_files(&site.path("public")), files);
    assert_eq!(store_rows(&site), rows_changed);
    assert_ne!(rows, rows_changed);
}

/// Hostile HTTP on loopback: each abuse gets a 4xx or a closed connection, and the server
/// keeps answering other clients meanwhile.
mod hostile_http {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    use crate::crash::{serve, write_posts, Conn};
    use crate::harness::Site;

    /// A built site served with a small worker pool (so exhausting it is cheap to try).
    fn served_site(workers: usize) -> (Site, crate::crash::Served) {
        let site = Site::new();
        let posts = site.tmp.path().join("posts");
        write_posts(&posts, "post", 3);
        site.run(&["import", posts.to_str().unwrap()]).ok();
        let config = site.read("bloggo.toml");
        site.write(
            "bloggo.toml",
            &format!("{config}\n[serve]\nworkers = {workers}\n"),
        );
        site.run(&["build"]).ok();
        let served = serve(&site, &[]);
        (site, served)
    }

    /// Sends raw bytes and reads everything until the server closes (bounded by a timeout).
    fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn status(resp: &str) -> u16 {
        resp.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// A normal request answered quickly.
    #[track_caller]
    fn still_serving(addr: SocketAddr, within: Duration) {
        let t = Instant::now();
        let mut c = Conn::open(addr).unwrap();
        assert_eq!(c.get("/", "Connection: close\r\n").unwrap(), 200);
        assert!(
            t.elapsed() < within,
            "a normal request waited {:?}",
            t.elapsed()
        );
    }

    #[test]
    fn oversized_malformed_and_smuggling_requests_get_4xx_and_close() {
        let (site, served) = served_site(2);
        let addr = served.addr;
        let huge_header = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(64 * 1024)
        );
        let many_headers = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(500));
        let huge_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(64 * 1024));
        let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
            ("huge header", huge_header.into_bytes(), &[431]),
            ("too many headers", many_headers.into_bytes(), &[431]),
            // Longer than the whole head may be: hyper answers 431 before the line ends (a
            // target that fits the head but not the 8 KiB cap gets 414: tests/it/serve.rs).
            ("huge URL", huge_url.into_bytes(), &[414, 431]),
            ("invalid UTF-8 path", b"GET /\xff\xfe/ HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), &[400]),
            ("invalid UTF-8 header", b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n".to_vec(), &[200, 400]),
            ("garbage request line", b"\x00\x01\x02 nonsense\r\n\r\n".to_vec(), &[400]),
            ("header without colon", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(), &[400]),
            ("unknown version", b"GET / HTTP/9.9\r\n\r\n".to_vec(), &[400, 505]),
            // Smuggling: conflicting framing, a body the server does not read, then a second
            // request hidden in it. Only one response may come back, then the close.
            (
                "Content-Length + Transfer-Encoding",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /404-smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                &[400],
            ),
            (
                "two Content-Length",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\nGET /404-smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                &[400],
            ),
            (
                "POST with a body",
                b"POST /_bloggo/view?slug=post-0 HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n\r\nGET /404-smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                &[405],
            ),
        ];
        for (what, bytes, expect) in cases {
            let t = Instant::now();
            let resp = raw(addr, &bytes);
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "{what}: took {:?}",
                t.elapsed()
            );
            let code = status(&resp);
            assert!(expect.contains(&code), "{what}: got {code}:\n{resp:.300}");
            assert_eq!(
                usize::from(resp.starts_with("HTTP/1.1 ")) + resp.matches("\nHTTP/1.1 ").count(),
                1,
                "{what}: more than one response (a smuggled request was served):\n{resp:.600}"
            );
            still_serving(addr, Duration::from_secs(2));
        }
        // None of it recorded a view.
        assert_eq!(site.count("SELECT count(*) FROM post_views"), 0);
    }

    #[test]
    fn slow_and_idle_connections_do_not_hold_the_workers() {
        let workers = 2;
        let (_site, served) = served_site(workers);
        let addr = served.addr;
        // More slow clients than workers: each sends a request line, then nothing.
        let slow: Vec<TcpStream> = (0..workers + 3)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        still_serving(addr, Duration::from_secs(4));
        drop(slow);
        // More idle keep-alive connections than workers (connected, nothing sent).
        let idle: Vec<TcpStream> = (0..workers + 3)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        still_serving(addr, Duration::from_secs(4));
        drop(idle);
    }

    /// Busy keep-alive clients, three times the worker pool, each sending requests back to
    /// back: every client gets its turn (none waits long or is closed), and an idle keep-alive
    /// connection parked meanwhile still answers afterwards.
    #[test]
    fn busy_keep_alive_connections_beyond_the_pool_all_get_their_turn() {
        let workers = 2;
        let (site, served) = served_site(workers);
        let addr = served.addr;
        let mut parked = Conn::open(addr).unwrap();
        assert_eq!(parked.get("/posts/post-1/", "").unwrap(), 200);
        let run_for = Duration::from_millis(1500);
        let clients: Vec<_> = (0..3 * workers)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut c = Conn::open(addr).unwrap();
                    let (start, mut n, mut slowest) = (Instant::now(), 0u32, Duration::ZERO);
                    while start.elapsed() < run_for {
                        let t = Instant::now();
                        assert_eq!(c.get("/posts/post-1/", "").unwrap(), 200);
                        slowest = slowest.max(t.elapsed());
                        n += 1;
                    }
                    (n, slowest)
                })
            })
            .collect();
        let results: Vec<(u32, Duration)> =
            clients.into_iter().map(|c| c.join().unwrap()).collect();
        for (n, slowest) in &results {
            assert!(*n >= 10, "a client got only {n} requests in: {results:?}");
            assert!(
                *slowest < Duration::from_secs(1),
                "a request waited {slowest:?}: {results:?}"
            );
        }
        assert_eq!(parked.get("/posts/post-1/", "").unwrap(), 200);
        let total: u32 = results.iter().map(|r| r.0).sum::<u32>() + 2;
        let mut served = served;
        assert_eq!(crate::harness::terminate(&mut served.child.0), 0);
        assert_eq!(
            site.count("SELECT count(*) FROM post_views"),
            i64::from(total)
        );
    }
}
