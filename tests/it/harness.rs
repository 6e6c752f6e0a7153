//! A small harness: a site in a temp folder, the real `bloggo` binary, and store queries.
//!
//! Areas add their own helpers in their own module with `impl Site { ... }` blocks.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::Connection;

/// Path of the bloggo binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bloggo"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpora/NAME` when present (real posts; never copied into the repo).
///
/// Tests that read one are `#[ignore]`d with the reason, and `.ci/run` runs them when the
/// corpus is there; run by hand without it, they fail saying what is missing.
pub fn shared_corpus(name: &str) -> PathBuf {
    repo()
        .ancestors()
        .map(|a| a.join("shared").join("corpora").join(name))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("../shared/corpora/{name} is not beside the repository"))
}

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command failed.
    #[track_caller]
    pub fn fails(self) -> Run {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A site folder in a temp dir, removed on drop.
pub struct Site {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Site {
    /// An initialised, empty site (`bloggo init`).
    pub fn new() -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("site");
        run_in(tmp.path(), &["init", root.to_str().unwrap()]).ok();
        Site { tmp, root }
    }

    /// A copy of a folder (a fixture site) in a temp dir, not initialised.
    pub fn copy_of(src: &Path) -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("site");
        copy_dir(src, &root);
        Site { tmp, root }
    }

    /// Runs `bloggo --site ROOT ARGS...`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--site", self.root.to_str().unwrap()];
        all.extend_from_slice(args);
        run_in(&self.root, &all)
    }

    /// Runs with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(bin());
        // Who acts is the test's to say, not the environment's (`--as`, `BLOGGO_USER`); so are
        // the keys of encrypted backups and the credentials of off-site ones.
        for var in [
            "BLOGGO_USER",
            "BLOGGO_BACKUP_PASSPHRASE",
            "BLOGGO_BACKUP_IDENTITY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg("--site").arg(&self.root).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("run bloggo"))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a file under the site, creating folders.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel))
            .unwrap_or_else(|e| panic!("{}: {e}", self.root.join(rel).display()))
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("bloggo.sqlite")
    }

    /// A connection to the site's store.
    pub fn conn(&self) -> Connection {
        let c = Connection::open(self.store_path()).expect("open store");
        c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        c
    }

    /// One integer from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row of a query as strings (NULL as "NULL"), for asserting whole tables.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        rows(&self.conn(), sql)
    }
}

/// Every row of a query as strings (NULL as "NULL").
pub fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Runs the binary in a folder with the given arguments.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    Run::from(
        Command::new(bin())
            .env_remove("BLOGGO_USER")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run bloggo"),
    )
}

/// Copies a folder recursively.
pub fn copy_dir(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(src).unwrap();
        let to = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Sends SIGTERM to a child and waits (bounded) for its exit code.
pub fn terminate(child: &mut std::process::Child) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the process did not stop within 20 s of SIGTERM");
}
