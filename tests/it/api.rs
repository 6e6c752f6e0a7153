//! The admin API over HTTP against the real `bloggo serve`: sign-in, refresh, revocation,
//! reuse of a rotated token, the lockout, backups, stats, health, and the audit rows of it all.

use serde_json::{json, Value};

use crate::harness::Site;
use crate::serve::{Client, Resp, Serving};
use crate::signin::add_user;

const UA: &str = "api-test/1.0";
const ADMIN: &str = "ops@example.org";
const EDITOR: &str = "ed@example.org";
const PASS: &str = "correct horse battery";

/// One call on a fresh connection: the response and its JSON body (Null when empty).
fn call(
    s: &Serving,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (Resp, Value) {
    let mut c = Client::connect(s.addr);
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("User-Agent", UA)];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let path = format!("/_bloggo/api/{path}");
    let r = match body {
        Some(b) => c.send_body(method, &path, &headers, b.to_string().as_bytes()),
        None => c.send(method, &path, &headers),
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r, v)
}

fn sign_in(s: &Serving, email: &str, pass: &str) -> (Resp, Value) {
    call(
        s,
        "POST",
        "session",
        None,
        Some(json!({"email": email, "passphrase": pass})),
    )
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn sign_in_refresh_revoke_reuse_lockout_backups_and_their_audit_rows() {
    let site = Site::new();
    add_user(&site, ADMIN, "admin", PASS);
    add_user(&site, EDITOR, "editor", PASS);
    let s = site.serve(&["--no-build"]);

    // Health needs no token and says nothing secret.
    let (r, v) = call(&s, "GET", "health", None, None);
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v["status"], "healthy");
    assert!(!r.text().contains("sqlite") && !r.text().contains(PASS));

    // Signed-in calls need a token.
    let (r, _) = call(&s, "GET", "backups", None, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let (r, _) = call(&s, "POST", "session", None, Some(json!({"email": ADMIN})));
    assert_eq!(r.status, 400);

    // Sign in; the admin lists, creates and verifies a backup; restore is refused while serving.
    let (r, first) = sign_in(&s, ADMIN, PASS);
    assert_eq!(r.status, 200, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["user"]["role"], "admin");
    let access = str_of(&first, "access_token");
    let (r, v) = call(&s, "GET", "backups", Some(access), None);
    assert_eq!(
        (r.status, v["backups"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    let (r, made) = call(
        &s,
        "POST",
        "backups",
        Some(access),
        Some(json!({"note": "via the API"})),
    );
    assert_eq!(r.status, 201, "{made}");
    let id = str_of(&made, "id");
    assert_eq!(made["verified"], true);
    let (r, v) = call(
        &s,
        "POST",
        &format!("backups/{id}/verify"),
        Some(access),
        None,
    );
    assert_eq!((r.status, &v["ok"]), (200, &json!(true)), "{v}");
    let (r, v) = call(
        &s,
        "POST",
        "backups/20000101-000000/verify",
        Some(access),
        None,
    );
    assert_eq!(r.status, 404, "{v}");
    let (r, v) = call(
        &s,
        "POST",
        &format!("backups/{id}/restore"),
        Some(access),
        None,
    );
    assert_eq!(r.status, 409, "{v}");
    assert!(str_of(&v, "error").contains("bloggo backup restore"), "{v}");
    let (r, v) = call(&s, "GET", "stats?since=7d", Some(access), None);
    assert_eq!((r.status, &v["total"]), (200, &json!(0)), "{v}");

    // An editor may read the stats, not the backups (refused by role, audited).
    let (_, ed) = sign_in(&s, EDITOR, PASS);
    let ed_access = str_of(&ed, "access_token");
    let (r, v) = call(&s, "GET", "backups", Some(ed_access), None);
    assert_eq!(r.status, 403, "{v}");
    assert!(str_of(&v, "error").contains("system.admin"), "{v}");
    assert_eq!(
        call(&s, "GET", "stats", Some(ed_access), None).0.status,
        200
    );

    // Refresh: a new pair in the same sign-in; the spent token used again revokes them all.
    let (r, second) = call(
        &s,
        "POST",
        "session/refresh",
        None,
        Some(json!({"refresh_token": first["refresh_token"]})),
    );
    assert_eq!(r.status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access2 = str_of(&second, "access_token");
    assert_eq!(
        call(&s, "GET", "backups", Some(access2), None).0.status,
        200
    );
    let (r, v) = call(
        &s,
        "POST",
        "session/refresh",
        None,
        Some(json!({"refresh_token": first["refresh_token"]})),
    );
    assert_eq!(r.status, 401, "{v}");
    assert!(str_of(&v, "error").contains("already used"), "{v}");
    let (r, _) = call(
        &s,
        "POST",
        "session/refresh",
        None,
        Some(json!({"refresh_token": second["refresh_token"]})),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        call(&s, "GET", "backups", Some(access2), None).0.status,
        401
    );

    // Sign out: that sign-in's tokens stop working.
    let (_, third) = sign_in(&s, ADMIN, PASS);
    let access3 = str_of(&third, "access_token");
    let sessions = site.run(&["user", "sessions"]).ok().stdout;
    assert!(
        sessions.contains(ADMIN) && sessions.contains(EDITOR),
        "{sessions}"
    );
    assert!(
        !sessions.contains(str_of(&third, "refresh_token")),
        "{sessions}"
    );
    assert_eq!(
        call(&s, "DELETE", "session", Some(access3), None).0.status,
        204
    );
    assert_eq!(
        call(&s, "GET", "backups", Some(access3), None).0.status,
        401
    );
    let (r, _) = call(
        &s,
        "POST",
        "session/refresh",
        None,
        Some(json!({"refresh_token": third["refresh_token"]})),
    );
    assert_eq!(r.status, 401);

    // Revoked from the command line: refused at once.
    site.run(&["user", "revoke", EDITOR, "--as", "admin@localhost"])
        .ok();
    assert_eq!(
        call(&s, "GET", "stats", Some(ed_access), None).0.status,
        401
    );
    let sessions = site.run(&["user", "sessions"]).ok().stdout;
    assert!(sessions.contains("no live sessions"), "{sessions}");

    // Wrong passphrases: refused, then locked out (even the right one) with Retry-After.
    for _ in 0..5 {
        assert_eq!(sign_in(&s, ADMIN, "wrong horse").0.status, 401);
    }
    let (r, v) = sign_in(&s, ADMIN, PASS);
    assert_eq!(r.status, 429, "{v}");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    drop(s);

    // Each action is in the audit log with its actor, address and user agent.
    let rows = site.rows(
        "SELECT a.action, COALESCE(u.email, '-'), COALESCE(a.ip_address, '-'), COALESCE(a.user_agent, '-')
         FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.action LIKE 'session.%' OR a.action LIKE 'backup.%' OR a.action LIKE 'stats.%'
            OR a.action LIKE 'api.%'
         ORDER BY a.id",
    );
    let has = |action: &str, who: &str| {
        rows.iter()
            .any(|r| r[0] == action && r[1] == who && r[2] == "127.0.0.1" && r[3] == UA)
    };
    for (action, who) in [
        ("session.start", ADMIN),
        ("backup.list", ADMIN),
        ("api.backup.create", ADMIN),
        ("api.backup.verify", ADMIN),
        ("backup.restore.refused", ADMIN),
        ("stats.read", ADMIN),
        ("session.start", EDITOR),
        ("api.forbidden", EDITOR),
        ("stats.read", EDITOR),
        ("session.refresh", ADMIN),
        ("session.reuse", ADMIN),
        ("session.end", ADMIN),
        ("session.refused", ADMIN),
    ] {
        assert!(has(action, who), "no {action} by {who} in {rows:?}");
    }
    let refused = rows.iter().filter(|r| r[0] == "session.refused").count();
    assert_eq!(refused, 5, "{rows:?}");
    // The command line's revocation: by the admin who acted, no address.
    assert!(
        rows.iter()
            .any(|r| r[0] == "session.revoke" && r[1] == "admin@localhost" && r[2] == "-"),
        "{rows:?}"
    );
}

#[test]
fn the_api_refuses_large_or_slow_bodies_and_unknown_paths() {
    let site = Site::new();
    let s = site.serve(&["--no-build"]);
    let mut c = Client::connect(s.addr);
    let big = vec![b'x'; 20 * 1024];
    let r = c.send_body("POST", "/_bloggo/api/session", &[], &big);
    assert_eq!(r.status, 413);
    let (r, _) = call(&s, "GET", "nowhere", None, None);
    assert_eq!(r.status, 404);
    let (r, _) = call(&s, "PUT", "backups", None, None);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
    // A body that never comes: 408 within the head's deadline, and the server still answers.
    let r = s.raw(
        b"POST /_bloggo/api/session HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"email\"",
    );
    assert_eq!(r.status, 408);
    assert_eq!(call(&s, "GET", "health", None, None).0.status, 200);
}

#[test]
fn health_is_503_for_a_degraded_store_and_names_no_problem_in_detail() {
    let site = Site::new();
    // An audit row of a user who is not there: `db check` calls the store degraded.
    let c = site.conn();
    c.pragma_update(None, "foreign_keys", false).unwrap();
    c.execute(
        "INSERT INTO audit_logs (user_id, action, resource_type) VALUES (999, 'x', 'y')",
        [],
    )
    .unwrap();
    drop(c);
    let s = site.serve(&["--no-build"]);
    let (r, v) = call(&s, "GET", "health", None, None);
    assert_eq!(r.status, 503, "{v}");
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["foreign_keys"], "violations");
    assert!(!r.text().contains("audit_logs"), "{v}");
    let (r, _) = call(&s, "HEAD", "health", None, None);
    assert_eq!(r.status, 503);
}
