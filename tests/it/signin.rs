//! The command line's sign-in: `--as` a user with a passphrase needs it; without a
//! passphrase (or without `--as`) nothing is asked.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{bin, Site};

/// Adds a user with a passphrase (read from stdin, as `user add --passphrase-stdin` does),
/// acting as the seeded admin (who has none).
pub fn add_user(site: &Site, email: &str, role: &str, passphrase: &str) {
    let mut child = Command::new(bin())
        .env_remove("BLOGGO_USER")
        .arg("--site")
        .arg(&site.root)
        .args([
            "user",
            "add",
            "Someone",
            email,
            "--role",
            role,
            "--passphrase-stdin",
            "--as",
            "admin@localhost",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{passphrase}").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn acting_as_a_user_with_a_passphrase_needs_it() {
    let site = Site::new();
    add_user(&site, "pat@example.org", "editor", "correct horse battery");
    // No passphrase given and no terminal to ask on: refused, saying how to give it.
    let r = site
        .run(&["post", "new", "By Pat", "--as", "pat@example.org"])
        .fails();
    assert!(r.stderr.contains("BLOGGO_PASSPHRASE"), "{}", r.stderr);
    // A wrong one: refused and audited.
    let r = site
        .run_env(
            &["post", "new", "By Pat", "--as", "pat@example.org"],
            &[("BLOGGO_PASSPHRASE", "wrong horse")],
        )
        .fails();
    assert!(
        r.stderr.contains("wrong email or passphrase"),
        "{}",
        r.stderr
    );
    assert_eq!(
        site.count(
            "SELECT count(*) FROM audit_logs a JOIN users u ON u.id = a.user_id
             WHERE a.action = 'session.refused' AND u.email = 'pat@example.org'"
        ),
        1
    );
    assert_eq!(site.count("SELECT count(*) FROM posts"), 0);
    // The right one, from the environment (BLOGGO_USER names the user as well as --as).
    site.run_env(
        &["post", "new", "By Pat"],
        &[
            ("BLOGGO_USER", "pat@example.org"),
            ("BLOGGO_PASSPHRASE", "correct horse battery"),
        ],
    )
    .ok();
    // A reviewer named with --by is the acting user: the same rule.
    let r = site
        .run(&["post", "approve", "by-pat", "--by", "pat@example.org"])
        .fails();
    assert!(r.stderr.contains("BLOGGO_PASSPHRASE"), "{}", r.stderr);
    // The seeded admin has no passphrase: with or without --as, nothing is asked.
    site.run(&["post", "new", "By the admin"]).ok();
    site.run(&["post", "new", "Again", "--as", "admin@localhost"])
        .ok();
    assert_eq!(site.count("SELECT count(*) FROM posts"), 3);
}
