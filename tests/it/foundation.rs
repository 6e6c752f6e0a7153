//! The store, migrations, `init`, `db check` and the error cases of issue 2.

use crate::harness::{rows, run_in, Site};

const EXPECTED_TABLES: &[&str] = &[
    "audit_logs",
    "categories",
    "files",
    "ingested_views",
    "key_value_store",
    "permissions",
    "post_aliases",
    "post_categories",
    "post_files",
    "post_pages",
    "post_statistics",
    "post_tags",
    "post_versions",
    "post_views",
    "posts",
    "refresh_tokens",
    "role_permissions",
    "roles",
    "schema_migrations",
    "sections",
    "site_changes",
    "site_changes_state",
    "tags",
    "users",
    "webhook_deliveries",
    "webhooks",
];

const EXPECTED_INDEXES: &[&str] = &[
    "idx_posts_slug",
    "idx_posts_section",
    "idx_posts_status_published",
    "idx_posts_author_status_updated",
    "idx_post_views_post_viewed",
    "idx_post_views_viewed_post",
    "idx_post_categories_category",
    "idx_audit_logs_user_created",
    "idx_users_email",
    "idx_categories_slug",
    "idx_tags_slug",
];

fn schema(site: &Site) -> Vec<Vec<String>> {
    site.rows("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'schema_migrations' ORDER BY type, name")
}

#[test]
fn fresh_store_has_every_table_and_index() {
    let site = Site::new();
    let tables: Vec<String> = site
        .rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(tables, EXPECTED_TABLES);
    let indexes: Vec<String> = site
        .rows("SELECT name FROM sqlite_master WHERE type = 'index'")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for i in EXPECTED_INDEXES {
        assert!(indexes.contains(&i.to_string()), "missing index {i}");
    }
}

#[test]
fn every_foreign_key_is_indexed() {
    let site = Site::new();
    let conn = site.conn();
    let tables: Vec<String> = rows(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    for t in tables {
        let fks = rows(
            &conn,
            &format!("SELECT \"from\" FROM pragma_foreign_key_list('{t}')"),
        );
        let idx_cols: Vec<String> = rows(
            &conn,
            &format!(
                "SELECT ii.name FROM pragma_index_list('{t}') il, pragma_index_info(il.name) ii WHERE ii.seqno = 0"
            ),
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        // The leading column of the primary key is indexed too.
        let pk_first = rows(
            &conn,
            &format!("SELECT name FROM pragma_table_info('{t}') WHERE pk = 1"),
        );
        for fk in fks {
            let col = &fk[0];
            let covered = idx_cols.contains(col) || pk_first.iter().any(|p| &p[0] == col);
            assert!(covered, "foreign key {t}.{col} has no index");
        }
    }
}

#[test]
fn seeded_roles_permissions_and_admin() {
    let site = Site::new();
    let grants = site.rows(
        "SELECT r.name, p.name FROM role_permissions rp JOIN roles r ON r.id = rp.role_id \
         JOIN permissions p ON p.id = rp.permission_id ORDER BY r.name, p.name",
    );
    let of = |role: &str| -> Vec<String> {
        grants
            .iter()
            .filter(|g| g[0] == role)
            .map(|g| g[1].clone())
            .collect()
    };
    assert_eq!(of("admin").len(), 9);
    assert_eq!(
        of("editor"),
        [
            "analytics.view",
            "categories.manage",
            "posts.create",
            "posts.edit",
            "posts.publish",
            "tags.manage"
        ]
    );
    assert_eq!(of("author"), ["posts.create", "posts.edit"]);
    assert_eq!(
        site.rows("SELECT u.name, r.name FROM users u JOIN roles r ON r.id = u.role_id"),
        [["Administrator", "admin"]]
    );
}

#[test]
fn connection_pragmas_are_set() {
    let site = Site::new();
    // WAL is persistent in the file; the others are per connection and checked in unit tests.
    assert_eq!(site.rows("PRAGMA journal_mode"), [["wal"]]);
}

#[test]
fn migrations_round_trip_to_an_identical_schema() {
    let site = Site::new();
    let before = schema(&site);
    let down = site.run(&["migrate", "down", "--to", "0"]).ok();
    assert!(down.stdout.contains("rolled back 0001"), "{}", down.stdout);
    assert_eq!(schema(&site), Vec::<Vec<String>>::new());
    site.run(&["migrate", "up"]).ok();
    assert_eq!(schema(&site), before);
    let status = site.run(&["migrate", "status"]).ok();
    assert!(status.stdout.contains("applied  0001"), "{}", status.stdout);
    assert!(!status.stdout.contains("pending"), "{}", status.stdout);
}

#[test]
fn migrate_up_to_a_version_then_the_rest() {
    let site = Site::new();
    site.run(&["migrate", "down", "--to", "0"]).ok();
    site.run(&["migrate", "up", "--to", "1"]).ok();
    let status = site.run(&["migrate", "status"]).ok();
    assert!(status.stdout.contains("pending  0002"), "{}", status.stdout);
    // Any other command brings the store up to date first.
    site.run(&["db", "check"]).fails(); // pending migrations: degraded
    site.run(&["migrate", "up"]).ok();
    site.run(&["db", "check"]).ok();
}

#[test]
fn errors_on_a_tampered_migration() {
    let site = Site::new();
    site.conn()
        .execute(
            "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
    let r = site.run(&["migrate", "status"]).fails();
    assert!(
        r.stderr
            .contains("applied migration 1 (0001_initial) has changed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("add a new one"), "{}", r.stderr);
}

#[test]
fn errors_on_a_store_from_a_newer_bloggo() {
    let site = Site::new();
    site.conn()
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, '0999_future', 'x')",
            [],
        )
        .unwrap();
    let before = std::fs::read(site.store_path()).unwrap();
    let r = site.run(&["migrate", "up"]).fails();
    assert!(
        r.stderr.contains("newer bloggo (schema version 999"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one clear line: {}", r.stderr);
    assert_eq!(std::fs::read(site.store_path()).unwrap(), before);
}

#[test]
fn db_check_is_healthy_on_a_fresh_store() {
    let site = Site::new();
    let r = site.run(&["db", "check"]).ok();
    assert_eq!(r.stdout.lines().last(), Some("healthy"), "{}", r.stdout);
    assert!(r.stdout.contains("integrity:  ok"));
}

#[test]
fn db_check_is_unhealthy_on_a_corrupted_copy() {
    let site = Site::new();
    // Give the store a few pages of real rows, then checkpoint so the file holds them.
    let conn = site.conn();
    for i in 0..300 {
        conn.execute(
            "INSERT INTO tags (name, slug) VALUES (?1, ?2)",
            rusqlite::params![format!("tag {i} {}", "x".repeat(40)), format!("tag-{i}")],
        )
        .unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(site.store_path()).unwrap();
    let page = 4096;
    assert!(bytes.len() > page * 6);
    // Garbage over the middle of a page that holds tag rows.
    let n = bytes.len() / page;
    for p in [n - 1, n - 2, n / 2] {
        for b in &mut bytes[p * page + 100..p * page + 3000] {
            *b = 0xA5;
        }
    }
    std::fs::write(site.store_path(), &bytes).unwrap();
    let r = site.run(&["db", "check"]).fails();
    assert_eq!(
        r.stdout.lines().last(),
        Some("unhealthy"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn errors_on_a_file_that_is_not_sqlite() {
    let site = Site::new();
    std::fs::write(
        site.store_path(),
        b"this is not a database at all, just text",
    )
    .unwrap();
    let r = site.run(&["migrate", "status"]).fails();
    assert!(r.stderr.contains("not a SQLite database"), "{}", r.stderr);
    assert!(r.stderr.contains("bloggo.sqlite"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(site.store_path()).unwrap(),
        b"this is not a database at all, just text"
    );
    let c = site.run(&["db", "check"]).fails();
    assert_eq!(c.stdout.lines().last(), Some("unhealthy"));
}

#[test]
fn errors_on_missing_or_malformed_config() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_in(tmp.path(), &["db", "check"]).fails();
    assert!(
        r.stderr.contains("bloggo.toml: no bloggo.toml here"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bloggo init"), "{}", r.stderr);

    let site = Site::new();
    site.write(
        "bloggo.toml",
        "title = \"x\"\nbase_url = \"/\"\npaginate = \"ten\"\n",
    );
    let r = site.run(&["db", "check"]).fails();
    assert!(r.stderr.contains("bloggo.toml:3:"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    site.write(
        "bloggo.toml",
        "title = \"x\"\nbase_url = \"/\"\ntheme_color = 3\n",
    );
    let r = site.run(&["db", "check"]).fails();
    assert!(r.stderr.contains("theme_color"), "{}", r.stderr);
}

#[test]
fn errors_on_a_read_only_store() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let store = site.store_path();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&store).unwrap();
    let r = site.run(&["migrate", "up"]).fails();
    assert!(r.stderr.contains("cannot write here"), "{}", r.stderr);
    assert!(r.stderr.contains("bloggo.sqlite"), "{}", r.stderr);
    assert_eq!(std::fs::read(&store).unwrap(), before);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn init_refuses_an_existing_site_and_a_read_only_folder() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let cfg = site.read("bloggo.toml");
    let r = site.run(&["init"]).fails();
    assert!(r.stderr.contains("a site already exists"), "{}", r.stderr);
    assert_eq!(site.read("bloggo.toml"), cfg);

    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let r = run_in(tmp.path(), &["init", ro.to_str().unwrap()]).fails();
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    assert!(!ro.join("bloggo.toml").exists());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn every_migration_file_is_embedded_and_paired() {
    let dir = crate::harness::repo().join("migrations");
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if let Some(n) = name.strip_suffix(".up.sql") {
            ups.push(n.to_string());
        } else if let Some(n) = name.strip_suffix(".down.sql") {
            downs.push(n.to_string());
        } else {
            panic!("unexpected file in migrations/: {name}");
        }
    }
    ups.sort();
    downs.sort();
    assert_eq!(ups, downs, "every up migration needs its down");
    let embedded: Vec<String> = bloggo::store::migrate::MIGRATIONS
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(ups, embedded, "src/store/migrate.rs must list every file");
}

/// Migration 3 rebuilds `posts` (content last, plus content_hash): every row, link and version
/// survives it both ways, foreign keys still point at the right posts, and the hash is filled
/// in, kept by bloggo's writers and cleared by other writers.
#[test]
fn the_post_layout_migration_keeps_every_row_and_tracks_the_markdown() {
    let site = Site::new();
    site.write(
        "src/a.md",
        "---\ntitle: A\ntags: [x, y]\ncategories: [c]\n---\nFirst text.\n",
    );
    site.write("src/b.md", "---\ntitle: B\ntags: [x]\n---\nSecond text.\n");
    site.run(&["import", site.path("src").to_str().unwrap()])
        .ok();
    site.write(
        "src/b.md",
        "---\ntitle: B\ntags: [x]\n---\nSecond text, edited.\n",
    );
    site.run(&["import", site.path("src").to_str().unwrap()])
        .ok();
    let dump = |site: &Site| {
        [
            "SELECT id, title, slug, content, excerpt, status, published_at, created_at, updated_at, extra, source_hash FROM posts ORDER BY id",
            "SELECT post_id, tag_id FROM post_tags ORDER BY 1, 2",
            "SELECT post_id, category_id FROM post_categories ORDER BY 1, 2",
            "SELECT post_id, version, content FROM post_versions ORDER BY 1, 2",
        ]
        .iter()
        .map(|q| site.rows(q))
        .collect::<Vec<_>>()
    };
    let hashes = |site: &Site| site.rows("SELECT content, content_hash FROM posts ORDER BY id");
    let before = dump(&site);
    assert_eq!(before[1].len(), 3, "{before:?}");
    assert_eq!(before[3].len(), 1, "{before:?}");
    for r in hashes(&site) {
        assert_eq!(r[1], blake3::hash(r[0].as_bytes()).to_hex().to_string());
    }

    site.run(&["migrate", "down", "--to", "2"]).ok();
    assert_eq!(dump(&site), before);
    site.run(&["migrate", "up"]).ok();
    assert_eq!(dump(&site), before);
    for r in hashes(&site) {
        assert_eq!(r[1], blake3::hash(r[0].as_bytes()).to_hex().to_string());
    }
    site.run(&["db", "check"]).ok();

    // Another SQLite client changes the markdown: the hash it cannot compute is cleared.
    site.conn()
        .execute("UPDATE posts SET content = 'by hand' WHERE slug = 'a'", [])
        .unwrap();
    let a = site.rows("SELECT content_hash IS NULL FROM posts WHERE slug = 'a'");
    assert_eq!(a, vec![vec!["1".to_string()]]);
    // A change of something else leaves it alone.
    site.conn()
        .execute("UPDATE posts SET title = 'B2' WHERE slug = 'b'", [])
        .unwrap();
    let b = site.rows("SELECT content_hash IS NULL FROM posts WHERE slug = 'b'");
    assert_eq!(b, vec![vec!["0".to_string()]]);
}

#[test]
fn migrate_reset_takes_a_safety_backup_empties_the_store_and_asks_first() {
    let site = Site::new();
    site.write(
        "content/kept.md",
        "---\ntitle: Kept\ndate: 2024-05-01\n---\nIn the backup.\n",
    );
    site.run(&["build", "--quiet"]).ok();
    assert_eq!(site.count("SELECT count(*) FROM posts"), 1);
    // Not on a terminal and without --yes: refused, nothing changed.
    let refused = site.run(&["migrate", "reset"]).fails();
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    assert_eq!(site.count("SELECT count(*) FROM posts"), 1);
    let out = site.run(&["migrate", "reset", "--yes"]).ok();
    assert!(out.stdout.contains("safety backup"), "{}", out.stdout);
    assert_eq!(site.count("SELECT count(*) FROM posts"), 0);
    assert_eq!(
        site.rows("SELECT action FROM audit_logs ORDER BY id"),
        [["migrate.reset"]]
    );
    site.run(&["db", "check"]).ok();
    // The safety backup brings the post back.
    let id = out.stdout.split_whitespace().nth(2).unwrap().to_string();
    site.run(&["backup", "restore", &id, "--yes"]).ok();
    assert_eq!(site.count("SELECT count(*) FROM posts"), 1);
}

#[test]
fn db_optimize_refreshes_statistics_and_vacuum_gives_space_back() {
    let site = Site::new();
    let out = site.run(&["db", "optimize", "--analyze", "--vacuum"]).ok();
    assert!(out.stdout.contains("statistics gathered"), "{}", out.stdout);
    assert!(out.stdout.contains("bytes"), "{}", out.stdout);
    assert!(site.count("SELECT count(*) FROM sqlite_stat1") > 0);
    assert_eq!(
        site.rows("SELECT action FROM audit_logs ORDER BY id"),
        [["db.optimize"]]
    );
    site.run(&["db", "check"]).ok();
}

/// Every table of the schema does a job (issue 18): the store's code reads it and writes it
/// (or, for the tables only migrations fill, reads it). A table nothing uses is dead weight to
/// drop with a migration.
#[test]
fn every_table_is_read_and_written_by_the_stores_code() {
    let site = Site::new();
    let mut code = String::new();
    for e in walkdir::WalkDir::new(crate::harness::repo().join("src/store")) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "rs") {
            code += &std::fs::read_to_string(e.path())
                .unwrap()
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .replace(['\n', '\t'], " ");
        }
    }
    let squeezed = code.split_whitespace().collect::<Vec<_>>().join(" ");
    // Filled by the migrations that create them (roles, permissions, their links) or by
    // SQLite: read only.
    let seeded = [
        "roles",
        "permissions",
        "role_permissions",
        "schema_migrations",
    ];
    // Keys whose only reader is their own uniqueness (`INSERT OR IGNORE`): written only.
    let dedupe = ["ingested_views"];
    let mut unused = Vec::new();
    for t in site.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ) {
        let t = &t[0];
        let reads = [format!("FROM {t} "), format!("JOIN {t} ")]
            .iter()
            .any(|p| squeezed.contains(p.as_str()))
            || squeezed.contains(&format!("FROM {t}\""));
        let writes = [
            format!("INSERT INTO {t} "),
            format!("INSERT OR IGNORE INTO {t} "),
            format!("INSERT OR REPLACE INTO {t} "),
            format!("UPDATE {t} "),
            format!("DELETE FROM {t} "),
            format!("DELETE FROM {t}\""),
        ]
        .iter()
        .any(|p| squeezed.contains(p.as_str()));
        let reads = reads || dedupe.contains(&t.as_str());
        if !reads || (!writes && !seeded.contains(&t.as_str())) {
            unused.push(format!("{t} (read: {reads}, written: {writes})"));
        }
    }
    assert!(
        unused.is_empty(),
        "tables without users in src/store: {unused:#?}"
    );
}
