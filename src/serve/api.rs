//! The admin API under `/_bloggo/api/`: JSON over the server's own HTTP transport.
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `POST /session` | anyone (rate-limited per address) | email + passphrase → tokens |
//! | `POST /session/refresh` | a refresh token | a new pair (the old token is spent) |
//! | `DELETE /session` | signed in | ends this sign-in (its family of tokens) |
//! | `GET /health` | anyone | healthy / degraded / unhealthy (`db check`), 200 or 503 |
//! | `GET /backups`, `POST /backups` | `system.admin` | list, create |
//! | `POST /backups/{id}/verify` | `system.admin` | verify one backup |
//! | `POST /backups/{id}/restore` | `system.admin` | refused (409) while serving, as the CLI |
//! | `GET /stats?since=30d&top=10` | `analytics.view` | what `bloggo stats` shows |
//!
//! A signed-in call sends `Authorization: Bearer ACCESS_TOKEN` (see `crate::tokens`). Each
//! call is authorised by the permissions of the user's role (`role_permissions`, read at
//! every call, so a changed role counts at once), and audited with the user, the client's
//! address and user agent: sign-ins (`session.*`, refusals included), refusals by role
//! (`api.forbidden`) and every call on backups and stats. `GET /health` is not audited: it
//! has no user and monitors poll it; its answer is cached for [`HEALTH_CACHE`], so polling
//! it cannot make the server re-check a large store over and over.
//!
//! Handlers run on tokio's blocking pool: argon2, a backup or a store check take a while.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::files;
use super::http::{Body, Request, Response};
use super::lockout::Lockout;
use crate::backup::{self, BackupInfo};
use crate::config::Settings;
use crate::content::sessions::{self, Issued, SessionError};
use crate::content::signin::{self, Refused, Via};
use crate::content::{audit, ActAs};
use crate::store::check::{check, Health};
use crate::store::content::audit::Client;
use crate::store::content::users::User;
use crate::store::content::{ContentError, Permission};
use crate::store::Store;
use crate::tokens::{AccessKey, Claims};

/// Where the API's paths begin.
pub const PREFIX: &str = "/_bloggo/api/";
/// How long a health answer is reused.
pub const HEALTH_CACHE: Duration = Duration::from_secs(10);

/// The API's state: the site, the key access tokens are signed with (this process's only),
/// the sign-in failures per address, the last health answer.
pub struct Api {
    settings: Settings,
    key: AccessKey,
    lockout: Mutex<Lockout>,
    health: Mutex<Option<(Instant, u16, Value)>>,
}

/// A refusal the API answers with (status, message).
struct Refusal(u16, String);

impl Api {
    pub fn new(settings: Settings) -> Result<Api> {
        Ok(Api {
            settings,
            key: AccessKey::generate()?,
            lockout: Mutex::new(Lockout::default()),
            health: Mutex::new(None),
        })
    }

    /// The site the API answers for.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Answers a request under [`PREFIX`] (on the blocking pool).
    pub async fn handle(self: Arc<Self>, rq: Request) -> Response {
        let api = self.clone();
        match tokio::task::spawn_blocking(move || api.answer(&rq)).await {
            Ok(r) => r,
            Err(_) => json_response(
                500,
                &json!({"error": "the request failed inside the server"}),
            ),
        }
    }

    fn answer(&self, rq: &Request) -> Response {
        let (path, query) = files::split_target(&rq.target);
        let route = path
            .strip_prefix(PREFIX)
            .unwrap_or("")
            .trim_end_matches('/');
        let segs: Vec<String> = route
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = &rq.method;
        let result = match segs.as_slice() {
            ["session"] if m == Method::POST => self.sign_in(rq),
            ["session"] if m == Method::DELETE => self.sign_out(rq),
            ["session", "refresh"] if m == Method::POST => self.refresh(rq),
            ["health"] if m == Method::GET || m == Method::HEAD => Ok(self.health()),
            ["backups"] if m == Method::GET => self.backups(rq),
            ["backups"] if m == Method::POST => self.create_backup(rq),
            ["backups", id, "verify"] if m == Method::POST => self.verify_backup(rq, id),
            ["backups", id, "restore"] if m == Method::POST => self.restore_backup(rq, id),
            ["stats"] if m == Method::GET => self.stats(rq, query),
            ["session"] => Err(not_allowed("POST, DELETE")),
            ["session", "refresh"] | ["backups", _, "verify" | "restore"] => {
                Err(not_allowed("POST"))
            }
            ["health"] => Err(not_allowed("GET, HEAD")),
            ["backups"] => Err(not_allowed("GET, POST")),
            ["stats"] => Err(not_allowed("GET")),
            _ => Err(Refusal(404, format!("no such API path: {path}"))),
        };
        match result {
            Ok(r) => r,
            Err(Refusal(status, message)) => {
                let r = json_response(status, &json!({ "error": message }));
                match status {
                    401 => r.header(hyper::header::WWW_AUTHENTICATE, "Bearer"),
                    405 => r.header(hyper::header::ALLOW, allow_of(&segs)),
                    _ => r,
                }
            }
        }
    }

    fn store(&self) -> Result<Store, Refusal> {
        Store::attach(&self.settings.store).map_err(|e| internal(&e.into()))
    }

    /// `POST /session`: `{"email": ..., "passphrase": ...}` → tokens.
    fn sign_in(&self, rq: &Request) -> Result<Response, Refusal> {
        #[derive(Deserialize)]
        struct SignIn {
            email: String,
            passphrase: String,
        }
        let body: SignIn = parse_body(rq, r#"{"email": "...", "passphrase": "..."}"#)?;
        if let Err(wait) = self.lockout.lock().unwrap().begin(rq.peer, Instant::now()) {
            let secs = wait.as_secs().max(1);
            return Ok(json_response(
                429,
                &json!({"error": format!("too many failed sign-ins from {}: try again in {secs} s", rq.peer)}),
            )
            .header(hyper::header::RETRY_AFTER, secs.to_string()));
        }
        let client = client_of(rq);
        let mut store = self.store()?;
        match signin::sign_in(&mut store, &body.email, &body.passphrase, Via::Api, &client) {
            Ok(user) => {
                self.lockout.lock().unwrap().succeeded(rq.peer);
                let issued = sessions::start(&mut store, &self.key, user, &client)
                    .map_err(|e| internal(&e))?;
                Ok(json_response(200, &tokens_json(&issued)))
            }
            Err(e) if e.downcast_ref::<Refused>().is_some() => Err(Refusal(401, e.to_string())),
            Err(e) => Err(internal(&e)),
        }
    }

    /// `POST /session/refresh`: `{"refresh_token": ...}` → a new pair.
    fn refresh(&self, rq: &Request) -> Result<Response, Refusal> {
        #[derive(Deserialize)]
        struct Refresh {
            refresh_token: String,
        }
        let body: Refresh = parse_body(rq, r#"{"refresh_token": "..."}"#)?;
        let mut store = self.store()?;
        match sessions::refresh(&mut store, &self.key, &body.refresh_token, &client_of(rq)) {
            Ok(issued) => Ok(json_response(200, &tokens_json(&issued))),
            Err(e) => Err(session_refusal(e)),
        }
    }

    /// `DELETE /session`: ends the caller's sign-in.
    fn sign_out(&self, rq: &Request) -> Result<Response, Refusal> {
        let mut store = self.store()?;
        let (user, claims) = self.signed_in(rq, &mut store)?;
        sessions::end(&mut store, &user, claims.family_id, &client_of(rq))
            .map_err(|e| internal(&e))?;
        Ok(Response::new(204).header(hyper::header::CACHE_CONTROL, "no-store"))
    }

    /// `GET /health`: the verdict of `db check` and the schema version; nothing else.
    fn health(&self) -> Response {
        let mut cached = self.health.lock().unwrap();
        let fresh = cached
            .as_ref()
            .filter(|(at, _, _)| at.elapsed() < HEALTH_CACHE);
        let (status, body) = match fresh {
            Some((_, status, body)) => (*status, body.clone()),
            None => {
                let r = check(&self.settings.store);
                let status = if r.health == Health::Healthy {
                    200
                } else {
                    503
                };
                let body = json!({
                    "status": r.health,
                    "integrity": if r.integrity == ["ok"] { "ok" } else { "failed" },
                    "foreign_keys": if r.foreign_key_violations.is_empty() { "ok" } else { "violations" },
                    "schema_version": r.schema_version,
                    "latest_version": r.latest_version,
                    "problems": r.problems.len(),
                });
                *cached = Some((Instant::now(), status, body.clone()));
                (status, body)
            }
        };
        json_response(status, &body)
    }

    /// `GET /backups`.
    fn backups(&self, rq: &Request) -> Result<Response, Refusal> {
        let (mut store, user, client) =
            self.allowed(rq, Permission::SystemAdmin, "list backups")?;
        let all = backup::list(&self.settings).map_err(|e| internal(&e))?;
        self.audit(
            &mut store,
            &user,
            "backup.list",
            json!({"count": all.len()}),
            &client,
        )?;
        let list: Vec<Value> = all.iter().map(backup_json).collect();
        Ok(json_response(200, &json!({ "backups": list })))
    }

    /// `POST /backups` (`{"note": ...}` optional): takes a backup as `backup create` does.
    fn create_backup(&self, rq: &Request) -> Result<Response, Refusal> {
        #[derive(Deserialize, Default)]
        struct Create {
            note: Option<String>,
        }
        let body: Create = if rq.body.is_empty() {
            Create::default()
        } else {
            parse_body(rq, r#"{"note": "..."} or nothing"#)?
        };
        let (mut store, user, client) =
            self.allowed(rq, Permission::SystemAdmin, "create backups")?;
        let note = body
            .note
            .unwrap_or_else(|| format!("taken through the API by {}", user.email));
        // The backup writes its own `backup.create` row (what was taken); this one records the
        // call (who, from where).
        let actor = backup::Actor {
            email: Some(user.email.clone()),
            via: "api",
        };
        let b = backup::create(&self.settings, &actor, Some(&note), Utc::now())
            .map_err(|e| internal(&e))?;
        self.audit(
            &mut store,
            &user,
            "api.backup.create",
            json!({"id": b.id, "tier": b.tier}),
            &client,
        )?;
        Ok(json_response(201, &backup_json(&b)))
    }

    /// `POST /backups/{id}/verify`: verifies every tier's copy of it.
    fn verify_backup(&self, rq: &Request, id: &str) -> Result<Response, Refusal> {
        let (mut store, user, client) =
            self.allowed(rq, Permission::SystemAdmin, "verify backups")?;
        let found = self.find(id)?;
        let mut results = Vec::new();
        let mut ok = true;
        let actor = backup::Actor {
            email: Some(user.email.clone()),
            via: "api",
        };
        let keys = backup::crypt::Keys::from_env(None);
        for b in &found {
            let v = backup::verify(&self.settings, &actor, &keys, b, Utc::now())
                .map_err(|e| internal(&e))?;
            ok &= v.ok;
            results.push(json!({"tier": b.tier, "ok": v.ok, "problems": v.problems}));
        }
        self.audit(
            &mut store,
            &user,
            "api.backup.verify",
            json!({"id": id, "ok": ok}),
            &client,
        )?;
        Ok(json_response(
            200,
            &json!({"id": id, "ok": ok, "copies": results}),
        ))
    }

    /// `POST /backups/{id}/restore`: refused while serving, by the CLI's rule (restore never
    /// replaces a store a running `bloggo serve` holds).
    fn restore_backup(&self, rq: &Request, id: &str) -> Result<Response, Refusal> {
        let (mut store, user, client) =
            self.allowed(rq, Permission::SystemAdmin, "restore backups")?;
        self.find(id)?;
        self.audit(
            &mut store,
            &user,
            "backup.restore.refused",
            json!({"id": id}),
            &client,
        )?;
        Err(Refusal(
            409,
            format!(
                "refusing to restore: the store is in use by this running `bloggo serve` (lock {}); \
                 stop it, then run `bloggo backup restore {id}`",
                crate::lock::lock_path(&self.settings).display()
            ),
        ))
    }

    /// `GET /stats?since=30d&top=10`.
    fn stats(&self, rq: &Request, query: Option<&str>) -> Result<Response, Refusal> {
        let (mut store, user, client) =
            self.allowed(rq, Permission::AnalyticsView, "read the stats")?;
        let (mut since, mut top) = ("30d".to_string(), 10usize);
        for (k, v) in query
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
        {
            match k {
                "since" => since = v.to_string(),
                "top" => {
                    top = v
                        .parse()
                        .map_err(|_| Refusal(400, format!("top={v} is not a number")))?
                }
                _ => {}
            }
        }
        let window = crate::config::parse_duration(&since)
            .map_err(|e| Refusal(400, format!("since={since}: {e:#}")))?;
        let stats = crate::stats::gather(&self.settings.store, window, top.min(1000))
            .map_err(|e| Refusal(400, format!("since={since}: {e:#}")))?;
        self.audit(
            &mut store,
            &user,
            "stats.read",
            json!({"since": since}),
            &client,
        )?;
        Ok(json_response(
            200,
            &serde_json::to_value(&stats).unwrap_or(Value::Null),
        ))
    }

    /// The signed-in user of a request.
    fn signed_in(&self, rq: &Request, store: &mut Store) -> Result<(User, Claims), Refusal> {
        let token = rq
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Refusal(
                    401,
                    format!("sign in first (POST {PREFIX}session) and send Authorization: Bearer ACCESS_TOKEN"),
                )
            })?;
        sessions::authenticate(store, &self.key, token).map_err(session_refusal)
    }

    /// The signed-in user of a request, when their role has `perm`; a refusal by role is
    /// audited (`api.forbidden`).
    fn allowed(
        &self,
        rq: &Request,
        perm: Permission,
        action: &str,
    ) -> Result<(Store, User, Client), Refusal> {
        let mut store = self.store()?;
        let (user, _) = self.signed_in(rq, &mut store)?;
        let client = client_of(rq);
        let act = ActAs::email(&user.email);
        match store.read(|tx| act.require(tx, perm, action)) {
            Ok(_) => Ok((store, user, client)),
            Err(e) if e.downcast_ref::<ContentError>().is_some() => {
                let what = json!({"action": action, "permission": perm.as_str()});
                self.audit(&mut store, &user, "api.forbidden", what, &client)?;
                Err(Refusal(403, e.to_string()))
            }
            Err(e) => Err(internal(&e)),
        }
    }

    fn audit(
        &self,
        store: &mut Store,
        user: &User,
        action: &str,
        values: Value,
        client: &Client,
    ) -> Result<(), Refusal> {
        let resource = action.split('.').next().unwrap_or(action);
        audit::record(
            store,
            Some(user.id),
            action,
            resource,
            Some(&values),
            client,
        )
        .map_err(|e| internal(&e))
    }

    fn find(&self, id: &str) -> Result<Vec<BackupInfo>, Refusal> {
        backup::find(&self.settings, id).map_err(|e| Refusal(404, format!("{e:#}")))
    }
}

fn allow_of(segs: &[&str]) -> &'static str {
    match segs {
        ["session"] => "POST, DELETE",
        ["health"] => "GET, HEAD",
        ["backups"] => "GET, POST",
        ["stats"] => "GET",
        _ => "POST",
    }
}

fn not_allowed(allow: &str) -> Refusal {
    Refusal(405, format!("method not allowed here; allowed: {allow}"))
}

fn internal(e: &anyhow::Error) -> Refusal {
    eprintln!("serve: API: {e:#}");
    Refusal(500, format!("{e:#}"))
}

fn session_refusal(e: anyhow::Error) -> Refusal {
    match e.downcast::<SessionError>() {
        Ok(s) => Refusal(401, s.to_string()),
        Err(e) => internal(&e),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(rq: &Request, shape: &str) -> Result<T, Refusal> {
    serde_json::from_slice(&rq.body)
        .map_err(|e| Refusal(400, format!("expected a JSON body {shape}: {e}")))
}

/// Who is calling: the address and user agent its audit rows record.
fn client_of(rq: &Request) -> Client {
    Client {
        ip_address: Some(address(rq.peer)),
        user_agent: rq
            .header("user-agent")
            .map(|ua| super::truncate(ua, 512).to_string()),
    }
}

fn address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4).to_string(),
        IpAddr::V4(_) => ip.to_string(),
    }
}

fn tokens_json(i: &Issued) -> Value {
    json!({
        "access_token": i.access_token,
        "token_type": "Bearer",
        "expires_in": i.expires_in,
        "refresh_token": i.refresh_token,
        "user": {"email": i.user.email, "role": i.user.role},
    })
}

fn backup_json(b: &BackupInfo) -> Value {
    let meta = b.meta.as_ref().ok();
    json!({
        "id": b.id,
        "tier": b.tier,
        "created": b.created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "size": b.file_size(),
        "posts": meta.and_then(|m| m.rows_of("posts")),
        "views": meta.and_then(|m| m.rows_of("post_views")),
        "verified": meta.and_then(|m| m.verified.as_ref()).map(|v| v.ok),
        "note": meta.and_then(|m| m.note.clone()),
    })
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(Body::Bytes(format!("{body}\n").into_bytes()))
}
