//! Backups: create → verify → restore, consistency under writes, damage detection, retention,
//! the serve lock, and `db recover`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;

use crate::harness::{rows, Site};
use bloggo::config::Settings;

/// Every table of a store, every row (ordered), as strings. The change log is left out: a
/// restore adds an entry to it on purpose (`store::changes::forget`); so are the audit rows
/// and key-value entries of the backup operations themselves (the restore writes its own).
fn dump(conn: &Connection) -> Vec<(String, Vec<Vec<String>>)> {
    let tables: Vec<String> = rows(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND name <> 'site_changes' ORDER BY name",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    tables
        .into_iter()
        .map(|t| {
            let ncols = rows(conn, &format!("PRAGMA table_info(\"{t}\")")).len();
            let order: Vec<String> = (1..=ncols).map(|i| i.to_string()).collect();
            let only = match t.as_str() {
                "audit_logs" => "WHERE resource_type <> 'backup'",
                "key_value_store" => "WHERE key NOT LIKE 'backup.%'",
                _ => "",
            };
            let r = rows(
                conn,
                &format!("SELECT * FROM \"{t}\" {only} ORDER BY {}", order.join(", ")),
            );
            (t, r)
        })
        .collect()
}

impl Site {
    fn settings(&self) -> Settings {
        Settings::load(&self.root).unwrap()
    }

    /// A small blog: posts, taxonomy, views, statistics.
    fn fill_blog(&self, posts: i64, views: i64) {
        let mut c = self.conn();
        let tx = c.transaction().unwrap();
        tx.execute_batch(
            "INSERT INTO categories (name, slug) VALUES ('Rust', 'rust'), ('Life', 'life');
             INSERT INTO tags (name, slug) VALUES ('sqlite', 'sqlite'), ('backups', 'backups');",
        )
        .unwrap();
        for i in 1..=posts {
            tx.execute(
                "INSERT INTO posts (id, title, slug, content, status, published_at, extra)
                 VALUES (?1, ?2, ?3, ?4, 'published', '2026-01-01 10:00:00', '{\"k\": 1}')",
                rusqlite::params![
                    i,
                    format!("Post {i}"),
                    format!("post-{i}"),
                    format!("Body of post {i} ").repeat(20)
                ],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO post_categories (post_id, category_id) VALUES (?1, 1 + ?1 % 2)",
                [i],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO post_tags (post_id, tag_id) VALUES (?1, 1 + ?1 % 2)",
                [i],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO post_statistics (post_id, view_count) VALUES (?1, ?1 * 3)",
                [i],
            )
            .unwrap();
        }
        for v in 0..views {
            tx.execute(
                "INSERT INTO post_views (post_id, user_agent, referrer) VALUES (?1, ?2, 'https://example.com/')",
                rusqlite::params![1 + v % posts, format!("Mozilla/5.0 reader {v}")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    /// `(tier, id)` of every backup file.
    fn backup_files(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for tier in ["daily", "weekly", "monthly", "pre-restore"] {
            let dir = self.root.join("backups").join(tier);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let name = e.unwrap().file_name().into_string().unwrap();
                if let Some(id) = name
                    .strip_prefix("bloggo-")
                    .and_then(|n| n.strip_suffix(".sqlite.gz"))
                {
                    out.push((tier.to_string(), id.to_string()));
                }
            }
        }
        out.sort();
        out
    }

    fn backup_path(&self, tier: &str, id: &str) -> PathBuf {
        self.root
            .join("backups")
            .join(tier)
            .join(format!("bloggo-{id}.sqlite.gz"))
    }

    fn set_backup_config(&self, lines: &str) {
        let text = self.read("bloggo.toml");
        let start = text.find("[backup]").unwrap();
        let rest = &text[start + "[backup]".len()..];
        let end = rest
            .find("\n[")
            .map(|i| start + 8 + i)
            .unwrap_or(text.len());
        let new = format!("{}[backup]\n{lines}\n{}", &text[..start], &text[end..]);
        self.write("bloggo.toml", &new);
    }
}

fn created_id(run_stdout: &str) -> String {
    run_stdout
        .split_whitespace()
        .nth(1)
        .expect("backup <ID> in the output")
        .to_string()
}

#[test]
fn create_verify_restore_round_trips_to_identical_rows_and_leaves_a_safety_backup() {
    let site = Site::new();
    site.fill_blog(20, 300);
    let before = dump(&site.conn());

    let out = site
        .run(&["backup", "create", "--note", "before edits"])
        .ok();
    let id = created_id(&out.stdout);
    assert!(site.backup_path("daily", &id).is_file(), "{}", out.stdout);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            site.root
                .join("backups/daily")
                .join(format!("bloggo-{id}.meta.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["rows"]["posts"], 20);
    assert_eq!(meta["rows"]["post_views"], 300);
    assert_eq!(meta["note"], "before edits");
    assert_eq!(meta["tier"], "daily");
    assert_eq!(meta["verified"]["ok"], true);
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);

    let list = site.run(&["backup", "list"]).ok().stdout;
    assert!(
        list.contains(&id) && list.contains("before edits") && list.contains("300"),
        "{list}"
    );
    site.run(&["backup", "verify", &id]).ok();

    // Change the store, then restore.
    site.conn()
        .execute_batch(
            "DELETE FROM post_views WHERE id > 10;
             UPDATE posts SET title = 'changed' WHERE id = 3;
             INSERT INTO tags (name, slug) VALUES ('new', 'new');",
        )
        .unwrap();
    let changed = dump(&site.conn());
    assert_ne!(changed, before);

    // Without a terminal and without --yes, restore refuses.
    let r = site.run(&["backup", "restore", &id]).fails();
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(dump(&site.conn()), changed);

    let mark = bloggo::store::changes::mark(&site.conn()).unwrap();
    let r = site.run(&["backup", "restore", &id, "--yes"]).ok();
    assert!(r.stdout.contains("safety backup"), "{}", r.stdout);
    assert_eq!(dump(&site.conn()), before);
    // A delta build's mark from before the restore reads everything.
    let then: bloggo::model::Timestamp = "2000-01-01 00:00:00".parse().unwrap();
    let since = bloggo::store::changes::since(&site.conn(), &mark, then, then, 1000).unwrap();
    assert!(
        matches!(since, bloggo::store::changes::Changes::Everything(ref why) if why.contains("the store was replaced")),
        "{since:?}"
    );
    site.run(&["db", "check"]).ok();

    // The safety backup holds the store as it was before the restore.
    let safety: Vec<_> = site
        .backup_files()
        .into_iter()
        .filter(|(t, _)| t == "pre-restore")
        .collect();
    assert_eq!(safety.len(), 1, "{:?}", site.backup_files());
    assert_ne!(safety[0].1, id, "IDs stay unique across tiers");
    site.run(&["backup", "verify", &safety[0].1]).ok();
    site.run(&["backup", "restore", &safety[0].1, "--yes"]).ok();
    assert_eq!(dump(&site.conn()), changed);

    // The store restored is the safety backup's: the rows of the create and verify before
    // it (one verify row per tier holding the backup), then the restore's own; each with its
    // actor (the only admin) and what was done.
    site.run(&["backup", "prune"]).ok();
    let audit = site.rows(
        "SELECT a.action, u.email, json_extract(a.new_values, '$.via'),
                json_extract(a.new_values, '$.result'), json_extract(a.new_values, '$.id'),
                json_extract(a.new_values, '$.file') IS NOT NULL,
                json_extract(a.new_values, '$.size') > 0
         FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.resource_type = 'backup'
         GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY min(a.id)",
    );
    let email = "admin@localhost".to_string();
    let row = |action: &str, result: &str, id: &str| {
        vec![
            action.to_string(),
            email.clone(),
            "cli".to_string(),
            result.to_string(),
            id.to_string(),
            "1".to_string(),
            "1".to_string(),
        ]
    };
    assert_eq!(
        audit,
        vec![
            row("backup.create", "ok", &id),
            row("backup.verify", "ok", &id),
            row("backup.restore", "ok", &safety[0].1),
            vec![
                "backup.prune".to_string(),
                email.clone(),
                "cli".to_string(),
                "ok".to_string(),
                "NULL".to_string(),
                "0".to_string(),
                "NULL".to_string()
            ],
        ]
    );
    // A verification that fails is audited too, with its problems.
    let path = site.backup_path("daily", &id);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    site.run(&["backup", "verify", &id]).fails();
    let failed = site.rows(
        "SELECT json_extract(new_values, '$.result'), json_extract(new_values, '$.problems') LIKE '%SHA-256%'
         FROM audit_logs WHERE action = 'backup.verify' ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(failed, vec![vec!["failed", "1"]]);
    // The last good verification is remembered.
    let last = site.rows(
        "SELECT json_extract(value, '$.backup') FROM key_value_store WHERE key = 'backup.last_verified'",
    );
    assert!(last[0][0].ends_with(&format!("/{id}")), "{last:?}");
}

#[test]
fn a_backup_taken_while_views_are_inserted_is_a_committed_prefix() {
    let site = Site::new();
    site.fill_blog(5, 30_000);
    let base: i64 = site.count("SELECT max(id) FROM post_views");
    let settings = site.settings();
    let committed = Arc::new(AtomicI64::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    // The writer commits one view per transaction, at least 3000, and goes on until the
    // backup is done, so the copy always runs in the middle of the writes.
    let writer = {
        let committed = committed.clone();
        let stop = stop.clone();
        let store = site.store_path();
        std::thread::spawn(move || {
            let conn = bloggo::store::Store::connect(&store).unwrap();
            let mut i = 0;
            while i < 3000 || !stop.load(Ordering::SeqCst) {
                conn.execute(
                    "INSERT INTO post_views (post_id, user_agent) VALUES (1, ?1)",
                    [format!("concurrent {i}")],
                )
                .unwrap();
                committed.store(conn.last_insert_rowid(), Ordering::SeqCst);
                i += 1;
            }
            i
        })
    };
    while committed.load(Ordering::SeqCst) < base + 200 {
        std::thread::yield_now();
    }
    let low = committed.load(Ordering::SeqCst);
    let info =
        bloggo::backup::create(&settings, &test_actor(), Some("under load"), Utc::now()).unwrap();
    let high = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert!(written >= 3000);

    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy.sqlite");
    bloggo::backup::verify::decompress_to(&info, &Default::default(), &copy).unwrap();
    let conn = Connection::open(&copy).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let (n, max): (i64, i64) = conn
        .query_row("SELECT count(*), max(id) FROM post_views", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(n, max, "views are a gap-free prefix 1..=max");
    assert!(
        (low..=high).contains(&max),
        "copy has {max} views, committed was {low}..={high}"
    );
    assert_eq!(
        info.meta.as_ref().unwrap().rows["post_views"],
        n,
        "the sidecar counts the copy"
    );
}

#[test]
fn a_flipped_byte_fails_verify_and_restore_refuses() {
    let site = Site::new();
    site.fill_blog(10, 100);
    let id = created_id(&site.run(&["backup", "create"]).ok().stdout);
    let path = site.backup_path("daily", &id);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let v = site.run(&["backup", "verify"]).fails();
    assert!(
        v.stdout.contains("FAILED") && v.stdout.contains("SHA-256"),
        "{}",
        v.stdout
    );
    site.run(&["backup", "verify", &id]).fails();
    let list = site.run(&["backup", "list"]).ok().stdout;
    assert!(list.contains("FAILED"), "{list}");

    site.conn().execute("DELETE FROM post_views", []).unwrap();
    let before = dump(&site.conn());
    let r = site.run(&["backup", "restore", &id, "--yes"]).fails();
    assert!(r.stderr.contains("failed verification"), "{}", r.stderr);
    assert_eq!(dump(&site.conn()), before, "the store is untouched");
    assert!(
        !site.backup_files().iter().any(|(t, _)| t == "pre-restore"),
        "no safety backup for a refused restore"
    );
    // A damaged backup does not count for status.
    site.run(&["backup", "status"]).fails();
}

#[test]
fn a_backup_whose_database_is_damaged_fails_verify_even_with_a_matching_checksum() {
    let site = Site::new();
    site.fill_blog(10, 2000);
    let settings = site.settings();
    // A Wednesday mid-month: on a Sunday or the 1st the daily backup is also the weekly or
    // monthly one (a link to the same file), which this test would damage too.
    let info = bloggo::backup::create(&settings, &test_actor(), None, day(2026, 12, 2)).unwrap();
    // Damage the database inside, then re-compress and rewrite the sidecar's size and hash,
    // as a buggy copy tool would: only the database checks can catch it.
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("raw.sqlite");
    bloggo::backup::verify::decompress_to(&info, &Default::default(), &raw).unwrap();
    let mut db = std::fs::read(&raw).unwrap();
    let page = 4096;
    let last = db.len() / page - 2;
    for b in &mut db[last * page..last * page + 100] {
        *b = 0x5a;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &db).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(&info.path, &gz).unwrap();
    let (sha, len) = bloggo::backup::verify::sha256_file(&info.path).unwrap();
    let mut meta = info.meta.clone().unwrap();
    meta.sha256 = sha;
    meta.compressed_size = len;
    bloggo::backup::sidecar::write(&info.sidecar_path(), &meta).unwrap();

    let v = site.run(&["backup", "verify", &info.id]).fails();
    assert!(v.stdout.contains("FAILED"), "{}", v.stdout);
    assert!(!v.stdout.contains("SHA-256"), "{}", v.stdout);
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 30, 0).unwrap()
}

#[test]
fn prune_keeps_the_gfs_set_end_to_end() {
    let site = Site::new();
    site.fill_blog(3, 10);
    site.set_backup_config(
        "keep_daily = 3\nkeep_weekly = 2\nkeep_monthly = 1\nweekly_day = \"sunday\"",
    );
    let settings = site.settings();
    // 2026-02-20 .. 2026-03-03: Sundays are 22 Feb and 1 Mar; 1 Mar is also the first.
    let start = day(2026, 2, 20);
    for d in 0..12 {
        bloggo::backup::create(
            &settings,
            &test_actor(),
            None,
            start + chrono::Duration::days(d),
        )
        .unwrap();
    }
    let ids = |tier: &str| -> Vec<String> {
        site.backup_files()
            .into_iter()
            .filter(|(t, _)| t == tier)
            .map(|(_, id)| id)
            .collect()
    };
    assert_eq!(
        ids("daily"),
        ["20260301-023000", "20260302-023000", "20260303-023000"]
    );
    assert_eq!(ids("weekly"), ["20260222-023000", "20260301-023000"]);
    assert_eq!(ids("monthly"), ["20260301-023000"]);
    // Sidecars went with their files.
    let sidecars = walkdir::WalkDir::new(site.root.join("backups"))
        .into_iter()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".meta.json")
        })
        .count();
    assert_eq!(sidecars, 6);
    // Weekly/monthly copies share the daily file's bytes.
    assert_eq!(
        std::fs::read(site.backup_path("daily", "20260301-023000")).unwrap(),
        std::fs::read(site.backup_path("monthly", "20260301-023000")).unwrap()
    );

    // A temp file left by an interrupted backup a while ago goes too; a fresh one stays.
    let stale = site.root.join("backups/daily/.backup-crashed.gz.tmp");
    let fresh = site.root.join("backups/daily/.backup-running.gz.tmp");
    std::fs::write(&stale, b"partial").unwrap();
    std::fs::write(&fresh, b"partial").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400))
        .unwrap();

    // A tighter policy: dry run says what would go and deletes nothing.
    site.set_backup_config("keep_daily = 1\nkeep_weekly = 1\nkeep_monthly = 1");
    let dry = site.run(&["backup", "prune", "--dry-run"]).ok().stdout;
    assert!(dry.contains("would delete daily/20260301-023000"), "{dry}");
    assert!(dry.contains("would delete daily/20260302-023000"), "{dry}");
    assert!(dry.contains("would delete weekly/20260222-023000"), "{dry}");
    assert_eq!(site.backup_files().len(), 6);
    let done = site.run(&["backup", "prune"]).ok().stdout;
    assert!(done.contains("deleted daily/20260302-023000"), "{done}");
    assert!(done.contains(".backup-crashed.gz.tmp"), "{done}");
    assert!(!stale.exists() && fresh.exists());
    assert_eq!(ids("daily"), ["20260303-023000"]);
    assert_eq!(ids("weekly"), ["20260301-023000"]);
}

#[test]
fn prune_never_deletes_the_newest_good_backup_and_never_pre_restore() {
    let site = Site::new();
    site.fill_blog(2, 5);
    site.set_backup_config("keep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0");
    let settings = site.settings();
    let a = bloggo::backup::create(&settings, &test_actor(), None, day(2026, 4, 7)).unwrap();
    let b = bloggo::backup::create(&settings, &test_actor(), None, day(2026, 4, 8)).unwrap();
    bloggo::backup::restore(
        &settings,
        &test_actor(),
        &Default::default(),
        &b.id,
        day(2026, 4, 9),
    )
    .unwrap();
    let files = site.backup_files();
    assert!(
        !files.contains(&("daily".into(), a.id.clone())),
        "{files:?}"
    );
    assert!(files.contains(&("daily".into(), b.id.clone())), "{files:?}");
    assert!(files.iter().any(|(t, _)| t == "pre-restore"), "{files:?}");
    let p = site.run(&["backup", "prune"]).ok();
    assert!(p.stdout.contains("nothing to prune"), "{}", p.stdout);
}

#[test]
fn restore_refuses_while_a_server_holds_the_store() {
    let site = Site::new();
    site.fill_blog(4, 20);
    let id = created_id(&site.run(&["backup", "create"]).ok().stdout);
    site.conn().execute("DELETE FROM post_views", []).unwrap();
    let before = dump(&site.conn());

    let settings = site.settings();
    let lock = bloggo::lock::ServeLock::acquire(&settings).unwrap();
    assert!(bloggo::lock::held_by_server(&settings));
    let r = site.run(&["backup", "restore", &id, "--yes"]).fails();
    assert!(r.stderr.contains("running `bloggo serve`"), "{}", r.stderr);
    let e = bloggo::backup::restore(
        &settings,
        &test_actor(),
        &Default::default(),
        &id,
        Utc::now(),
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("stop it first"), "{e:#}");
    assert_eq!(dump(&site.conn()), before);
    assert!(!site.backup_files().iter().any(|(t, _)| t == "pre-restore"));

    drop(lock);
    site.run(&["backup", "restore", &id, "--yes"]).ok();
    assert_eq!(site.count("SELECT count(*) FROM post_views"), 20);
}

#[test]
fn status_fails_without_a_backup_and_when_the_newest_is_too_old() {
    let site = Site::new();
    let s = site.run(&["backup", "status"]).fails();
    assert!(s.stdout.contains("no good backup"), "{}", s.stdout);
    let settings = site.settings();
    let old = bloggo::backup::create(
        &settings,
        &test_actor(),
        None,
        Utc::now() - chrono::Duration::hours(30),
    )
    .unwrap();
    let s = site.run(&["backup", "status"]).fails();
    assert!(s.stdout.contains("TOO OLD"), "{}", s.stdout);
    let newest = bloggo::backup::newest_good(&settings).unwrap().unwrap();
    assert_eq!(newest.id, old.id);
    site.run(&["backup", "create"]).ok();
    let s = site.run(&["backup", "status"]).ok();
    assert!(s.stdout.contains(": ok"), "{}", s.stdout);
}

/// Offset of the first occurrence of `needle` in a file.
fn find_bytes(path: &Path, needle: &[u8]) -> usize {
    let data = std::fs::read(path).unwrap();
    data.windows(needle.len())
        .position(|w| w == needle)
        .expect("marker in the file")
}

#[test]
fn recover_salvages_the_rows_of_a_store_with_a_damaged_page() {
    let site = Site::new();
    site.fill_blog(10, 20_000);
    // Fold the WAL into the file so the rows are where we damage them.
    site.conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let store = site.store_path();
    let page = 4096;
    // Two damaged pages of post_views, far apart.
    let pages: Vec<usize> = ["Mozilla/5.0 reader 8000", "Mozilla/5.0 reader 15000"]
        .iter()
        .map(|m| find_bytes(&store, m.as_bytes()) / page * page)
        .collect();
    let mut bytes = std::fs::read(&store).unwrap();
    for start in pages {
        for b in &mut bytes[start..start + page] {
            *b = 0xff;
        }
    }
    std::fs::write(&store, &bytes).unwrap();
    site.run(&["db", "check"]).fails();

    let r = site.run(&["db", "recover", "recovered.sqlite"]).ok();
    assert!(r.stdout.contains("post_views"), "{}", r.stdout);
    assert!(r.stdout.contains("2 damaged range(s)"), "{}", r.stdout);
    assert_eq!(
        std::fs::read(&store).unwrap(),
        bytes,
        "the input is untouched"
    );

    let out = Connection::open(site.root.join("recovered.sqlite")).unwrap();
    let ok: String = out
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let views: i64 = out
        .query_row("SELECT count(*) FROM post_views", [], |r| r.get(0))
        .unwrap();
    assert!(
        (19_000..20_000).contains(&views),
        "{views} of 20000 views salvaged"
    );
    // Rows between and after the damaged pages came back too.
    let between: i64 = out
        .query_row(
            "SELECT count(*) FROM post_views WHERE id BETWEEN 10000 AND 14000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(between, 4001);
    let last: i64 = out
        .query_row("SELECT max(id) FROM post_views", [], |r| r.get(0))
        .unwrap();
    assert_eq!(last, 20_000);
    let posts: i64 = out
        .query_row("SELECT count(*) FROM posts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(posts, 10);
    // A delta build's mark from the damaged store reads everything from the salvaged one.
    let forgotten: i64 = out
        .query_row(
            "SELECT count(*) FROM site_changes WHERE post_id IS NULL
               AND seq = (SELECT max(seq) FROM site_changes)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(forgotten, 1);
    // The salvaged store has the current schema and opens as a store.
    bloggo::store::Store::open(&site.root.join("recovered.sqlite"), false).unwrap();

    // Never over an existing file.
    let again = site.run(&["db", "recover", "recovered.sqlite"]).fails();
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let onto_input = site
        .run(&["db", "recover", store.to_str().unwrap()])
        .fails();
    assert!(onto_input.stderr.contains("already exists"));
    assert_eq!(std::fs::read(&store).unwrap(), bytes);
}

#[test]
fn restoring_a_backup_of_an_older_schema_migrates_it() {
    let site = Site::new();
    site.fill_blog(3, 10);
    let store = site.store_path();
    {
        let mut conn = bloggo::store::Store::connect(&store).unwrap();
        bloggo::store::migrate::down(&mut conn, &store, 1).unwrap();
    }
    let settings = site.settings();
    let old =
        bloggo::backup::create(&settings, &test_actor(), Some("schema 1"), Utc::now()).unwrap();
    assert_eq!(old.meta.as_ref().unwrap().schema_version, 1);
    bloggo::store::Store::open(&store, false).unwrap();

    let r = site.run(&["backup", "restore", &old.id, "--yes"]).ok();
    let latest = bloggo::store::migrate::latest_version();
    assert!(
        r.stdout
            .contains(&format!("migrated from schema 1 to {latest}")),
        "{}",
        r.stdout
    );
    assert_eq!(
        site.count("SELECT max(version) FROM schema_migrations"),
        latest
    );
    assert_eq!(site.count("SELECT count(*) FROM posts"), 3);
    site.run(&["db", "check"]).ok();
}

/// Who acts in backups the tests take through the library.
fn test_actor() -> bloggo::backup::Actor {
    bloggo::backup::Actor {
        email: None,
        via: "test",
    }
}

/// Serve's schedule starts from the last backup the store remembers: a missed one is caught
/// up at once, a recent one is not repeated, even when its file is not where serve looks.
#[test]
fn serve_schedules_from_the_last_backup_the_store_remembers() {
    use bloggo::serve::backups::first_delay;
    use std::time::{Duration, SystemTime};
    let site = Site::new();
    let day = Duration::from_secs(86_400);
    let due = |settings: &Settings| {
        let last = bloggo::backup::record::last_taken(settings)
            .unwrap()
            .map(SystemTime::from);
        first_delay(last, day, SystemTime::now())
    };
    assert_eq!(due(&site.settings()), Duration::ZERO, "no backup yet");
    let settings = site.settings();
    bloggo::backup::create(
        &settings,
        &test_actor(),
        None,
        Utc::now() - chrono::Duration::days(2),
    )
    .unwrap();
    assert_eq!(due(&settings), Duration::ZERO, "missed: caught up at once");
    bloggo::backup::create(&settings, &test_actor(), None, Utc::now()).unwrap();
    assert!(due(&settings) > day - Duration::from_secs(60));
    // The backups moved elsewhere: the store still remembers the last one.
    site.set_backup_config("dir = \"elsewhere\"");
    let moved = site.settings();
    assert!(bloggo::backup::list(&moved).unwrap().is_empty());
    assert!(due(&moved) > day - Duration::from_secs(60));
}

fn sidecar_of(site: &Site, id: &str) -> serde_json::Value {
    let path = site
        .root
        .join("backups/daily")
        .join(format!("bloggo-{id}.meta.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    bloggo::backup::verify::sha256_file(path).unwrap().0
}

#[test]
fn a_passphrase_encrypted_backup_round_trips_and_a_wrong_passphrase_is_a_clear_error() {
    let site = Site::new();
    site.fill_blog(5, 40);
    let before = dump(&site.conn());
    site.set_backup_config("encrypt = \"passphrase\"");
    let pass = [("BLOGGO_BACKUP_PASSPHRASE", "correct horse battery staple")];
    let wrong = [("BLOGGO_BACKUP_PASSPHRASE", "wrong horse")];

    // No passphrase: nothing is taken, and the error says where it goes.
    let r = site.run_env(&["backup", "create"], &[]).fails();
    assert!(
        r.stderr.contains("BLOGGO_BACKUP_PASSPHRASE"),
        "{}",
        r.stderr
    );
    assert!(site.backup_files().is_empty());

    let out = site.run_env(&["backup", "create"], &pass).ok().stdout;
    let id = created_id(&out);
    let file = site
        .root
        .join("backups/daily")
        .join(format!("bloggo-{id}.sqlite.gz.age"));
    assert!(file.is_file(), "{out}");
    assert!(!site.backup_path("daily", &id).exists());
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    let meta = sidecar_of(&site, &id);
    assert_eq!(meta["encryption"]["method"], "passphrase");
    assert_eq!(
        meta["sha256"],
        sha256_hex(&file),
        "the hash of the stored bytes"
    );
    assert_eq!(meta["compressed_size"], bytes.len());
    assert_eq!(meta["verified"]["ok"], true);
    assert!(meta["verified"].get("limited").is_none());
    assert!(site.run(&["backup", "list"]).ok().stdout.contains(&id));

    for (env, says) in [
        (&[][..], "set $BLOGGO_BACKUP_PASSPHRASE"),
        (&wrong[..], "does not decrypt it"),
    ] {
        let r = site.run_env(&["backup", "verify", &id], env).fails();
        assert!(
            r.stderr.contains(&format!("backup daily/{id}")),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(says), "{}", r.stderr);
        let r = site
            .run_env(&["backup", "restore", &id, "--yes"], env)
            .fails();
        assert!(r.stderr.contains(says), "{}", r.stderr);
    }
    // A wrong key says nothing about the backup: its last verification still stands.
    assert_eq!(sidecar_of(&site, &id)["verified"]["ok"], true);
    assert_eq!(
        dump(&site.conn()),
        before,
        "a refused restore changes nothing"
    );

    site.run_env(&["backup", "verify", &id], &pass).ok();
    site.conn()
        .execute_batch("DELETE FROM post_views; UPDATE posts SET title = 'changed';")
        .unwrap();
    site.run_env(&["backup", "restore", &id, "--yes"], &pass)
        .ok();
    assert_eq!(dump(&site.conn()), before);
    // The safety backup of the changed store is encrypted too.
    let safety: Vec<_> = std::fs::read_dir(site.root.join("backups/pre-restore"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sqlite.gz.age"))
        .collect();
    assert_eq!(safety.len(), 1);
}

#[test]
fn a_backup_encrypted_to_a_recipient_needs_its_identity_to_verify_and_restore() {
    use age::secrecy::ExposeSecret;
    let site = Site::new();
    site.fill_blog(5, 40);
    let before = dump(&site.conn());
    let identity = age::pq::Identity::generate();
    let key = site.tmp.path().join("backup-key.txt");
    std::fs::write(&key, identity.to_string().expose_secret()).unwrap();
    let other = site.tmp.path().join("other-key.txt");
    std::fs::write(
        &other,
        age::pq::Identity::generate().to_string().expose_secret(),
    )
    .unwrap();
    let recipient = identity.to_public().to_string();
    site.set_backup_config(&format!("recipient = \"{recipient}\""));

    // The site holds only the public key: the backup is checked as far as it can be.
    let out = site.run_env(&["backup", "create"], &[]).ok().stdout;
    let id = created_id(&out);
    let meta = sidecar_of(&site, &id);
    assert_eq!(meta["encryption"]["method"], "recipient");
    assert_eq!(meta["encryption"]["recipient"], recipient.as_str());
    assert_eq!(meta["verified"]["ok"], true);
    assert!(meta["verified"]["limited"]
        .as_str()
        .unwrap()
        .contains("--identity"));
    site.run(&["backup", "status"]).ok();

    let r = site.run_env(&["backup", "verify", &id], &[]).fails();
    assert!(
        r.stderr
            .contains(&format!("backup daily/{id} is encrypted to {recipient}"))
            && r.stderr.contains("--identity FILE"),
        "{}",
        r.stderr
    );
    let r = site
        .run_env(
            &[
                "backup",
                "verify",
                &id,
                "--identity",
                other.to_str().unwrap(),
            ],
            &[],
        )
        .fails();
    assert!(r.stderr.contains("does not decrypt it"), "{}", r.stderr);
    let v = site
        .run_env(
            &["backup", "verify", &id, "--identity", key.to_str().unwrap()],
            &[],
        )
        .ok()
        .stdout;
    assert!(v.contains("1 checked, 0 failed"), "{v}");
    assert!(sidecar_of(&site, &id)["verified"].get("limited").is_none());

    site.conn()
        .execute_batch("DELETE FROM post_views;")
        .unwrap();
    site.run_env(
        &["backup", "restore", &id, "--yes"],
        &[("BLOGGO_BACKUP_IDENTITY", key.to_str().unwrap())],
    )
    .ok();
    assert_eq!(dump(&site.conn()), before);
}
