//! Off-site backups against a real S3-compatible server: moto's server mode, installed from
//! PyPI by `.ci/setup` into `.ci/venv`, started here on a free port for each test and stopped
//! after it. Without it the tests say so and skip.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};

use crate::harness::{repo, Site};

/// Not us-east-1: creating a bucket there takes no location constraint, which rust-s3 sends.
const REGION: &str = "eu-west-1";
const KEY: &str = "bloggo-test-key";
const SECRET: &str = "bloggo-test-secret";
const CREDS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", KEY),
    ("AWS_SECRET_ACCESS_KEY", SECRET),
];

/// A running `moto_server`, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    let venv = repo().join(".ci/venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
}

impl Moto {
    /// Starts moto on a free port, or `None` (said on stderr) when it is not installed.
    fn start() -> Option<Moto> {
        let Some(bin) = moto_server() else {
            eprintln!(
                "SKIPPED: moto_server is not installed (run `bash .ci/setup`, which installs moto[server] from PyPI into .ci/venv)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn region(&self) -> Region {
        Region::Custom {
            region: REGION.into(),
            endpoint: self.endpoint.clone(),
        }
    }

    /// Creates a bucket and returns it.
    fn bucket(&self, name: &str) -> Box<Bucket> {
        let creds = Credentials::new(Some(KEY), Some(SECRET), None, None, None).unwrap();
        Bucket::create_with_path_style(
            name,
            self.region(),
            creds.clone(),
            BucketConfiguration::default(),
        )
        .unwrap();
        Bucket::new(name, self.region(), creds)
            .unwrap()
            .with_path_style()
    }

    /// Every key in the bucket.
    fn keys(bucket: &Bucket) -> Vec<String> {
        let mut keys: Vec<String> = bucket
            .list(String::new(), None)
            .unwrap()
            .into_iter()
            .flat_map(|p| p.contents)
            .map(|o| o.key)
            .collect();
        keys.sort();
        keys
    }
}

/// Adds `[backup.remote]` (at the end: `[backup]` is bloggo.toml's last table).
fn point_at(site: &Site, moto: &Moto, url: &str, backup_lines: &str) {
    let text = site.read("bloggo.toml");
    let start = text.find("[backup]").unwrap();
    site.write(
        "bloggo.toml",
        &format!(
            "{}[backup]\n{backup_lines}\n\n[backup.remote]\nurl = \"{url}\"\nendpoint = \"{}\"\nregion = \"{REGION}\"\n",
            &text[..start],
            moto.endpoint
        ),
    );
}

fn tags(site: &Site) -> Vec<Vec<String>> {
    site.rows("SELECT id, name, slug FROM tags ORDER BY id")
}

#[test]
fn an_off_site_copy_lands_in_s3_and_restores_from_there() {
    let Some(moto) = Moto::start() else { return };
    let bucket = moto.bucket("bloggo-offsite");
    let site = Site::new();
    site.conn()
        .execute_batch("INSERT INTO tags (name, slug) VALUES ('kept', 'kept'), ('also', 'also');")
        .unwrap();
    let before = tags(&site);
    point_at(&site, &moto, "s3://bloggo-offsite/blog/", "keep_daily = 7");

    // Without credentials the local backup is kept, and the error says what to set.
    let r = site.run_env(&["backup", "create"], &[]).fails();
    assert!(
        r.stderr.contains("was taken and verified here") && r.stderr.contains("AWS_ACCESS_KEY_ID"),
        "{}",
        r.stderr
    );
    assert!(Moto::keys(&bucket).is_empty());

    let failed_id = r.stdout.split_whitespace().nth(1).unwrap().to_string();
    let out = site.run_env(&["backup", "create"], &CREDS).ok().stdout;
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    // The backup whose copy failed goes with the next one.
    assert!(out.contains("off-site:"), "{out}");
    assert!(
        Moto::keys(&bucket).contains(&format!("blog/daily/bloggo-{failed_id}.meta.json")),
        "{:?}",
        Moto::keys(&bucket)
    );
    let keys = Moto::keys(&bucket);
    assert!(
        keys.contains(&format!("blog/daily/bloggo-{id}.sqlite.gz"))
            && keys.contains(&format!("blog/daily/bloggo-{id}.meta.json")),
        "{keys:?}"
    );
    let listed = site
        .run_env(&["backup", "list", "--remote"], &CREDS)
        .ok()
        .stdout;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("daily") && l.ends_with("yes")),
        "{listed}"
    );

    // The machine's backups are gone and the store changed: restore from off-site.
    std::fs::remove_dir_all(site.root.join("backups")).unwrap();
    site.conn().execute_batch("DELETE FROM tags;").unwrap();
    let r = site
        .run_env(&["backup", "restore", "--remote", &id, "--yes"], &CREDS)
        .ok();
    assert!(
        r.stdout.contains(&format!("restored daily/{id}")),
        "{}",
        r.stdout
    );
    assert_eq!(tags(&site), before);
    let audit = site.rows(
        "SELECT json_extract(new_values, '$.remote') FROM audit_logs
         WHERE action = 'backup.restore'",
    );
    assert_eq!(audit, vec![vec!["s3://bloggo-offsite/blog/".to_string()]]);
    // Nothing downloaded is left beside the backups but the safety backup.
    let left: Vec<String> = std::fs::read_dir(site.root.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, vec!["pre-restore".to_string()]);

    // A copy changed in storage is refused before anything is touched.
    let key = format!("blog/daily/bloggo-{id}.sqlite.gz");
    let mut bytes = bucket.get_object(&key).unwrap().bytes().to_vec();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    bucket.put_object(&key, &bytes).unwrap();
    site.conn().execute_batch("DELETE FROM tags;").unwrap();
    let r = site
        .run_env(&["backup", "restore", "--remote", &id, "--yes"], &CREDS)
        .fails();
    assert!(
        r.stderr.contains("does not match its sidecar"),
        "{}",
        r.stderr
    );
    assert!(tags(&site).is_empty());
}

#[test]
fn retention_applies_off_site_as_it_does_here() {
    let Some(moto) = Moto::start() else { return };
    let bucket = moto.bucket("bloggo-retention");
    let site = Site::new();
    point_at(
        &site,
        &moto,
        "s3://bloggo-retention",
        "keep_daily = 3\nkeep_weekly = 2\nkeep_monthly = 1",
    );
    // Backups taken over 20 days (here, through the library, so their dates can be chosen),
    // each copied off-site and pruned there as `create` does; credentials are given to the
    // bucket rather than set in this process's environment.
    let settings = bloggo::config::Settings::load(&site.root).unwrap();
    let remote = bloggo::backup::remote::Remote::connect(
        settings.config.backup.remote.as_ref().unwrap(),
        Credentials::new(Some(KEY), Some(SECRET), None, None, None).unwrap(),
    )
    .unwrap();
    let mut local_only = settings.clone();
    local_only.config.backup.remote = None;
    let actor = bloggo::backup::Actor {
        email: None,
        via: "test",
    };
    let start = Utc.with_ymd_and_hms(2026, 2, 20, 3, 0, 0).unwrap();
    for day in 0..20 {
        let at = start + chrono::Duration::days(day);
        let c =
            bloggo::backup::create::create(&local_only, &actor, None, at, &mut |_, _| {}).unwrap();
        let done = bloggo::backup::remote::copy_off_site(&settings, &remote, at).unwrap();
        assert_eq!(done.uploaded.len(), 2 * c.tiers.len());
    }
    let local: Vec<String> = bloggo::backup::list(&settings)
        .unwrap()
        .iter()
        .map(|b| {
            b.path
                .strip_prefix(&settings.backup_dir)
                .unwrap()
                .display()
                .to_string()
        })
        .flat_map(|f| {
            let meta = f.replace(".sqlite.gz", ".meta.json");
            [f, meta]
        })
        .collect();
    let mut local = local;
    local.sort();
    assert_eq!(local.len(), 2 * (3 + 2 + 1), "{local:?}");
    assert_eq!(Moto::keys(&bucket), local);
}
