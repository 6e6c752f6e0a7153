//! The deliverer: sends the due deliveries of the queue once (`deliver_due`), each claimed
//! first so two deliverers (serve and a cron `bloggo webhook deliver`) never send one twice;
//! `ping` (`bloggo webhook test`); `build_finished`, which queues a build's event.
//!
//! A delivery is a `POST` of the JSON payload, completed at send time with the site's base URL
//! and a post's URL, with the headers `X-Bloggo-Event`, `X-Bloggo-Delivery` (its id) and
//! `X-Bloggo-Signature`. A 2xx answer delivers it; anything else (another status, a refused
//! connection, a timeout: 5 s to connect, 10 s in all) is recorded and retried as
//! `[webhooks]` says.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result};

use super::retry::{random_jitter, Retry};
use super::sign::{sign, SIGNATURE_HEADER};
use crate::config::Settings;
use crate::model::Timestamp;
use crate::pipeline::BuildSummary;
use crate::snapshot::Snapshot;
use crate::store::webhooks::{self as queue, Attempt, Claimed};
use crate::store::Store;

/// How long a deliverer holds a claimed delivery before another may take it (far longer than
/// one attempt can last).
const CLAIM: Duration = Duration::from_secs(300);
/// The most of a response's body that is kept.
const BODY_KEPT: u64 = 2048;
/// The most deliveries one pass sends.
const PER_PASS: usize = 100;

/// One attempt of a delivery, as the deliverer saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub url: String,
    pub attempt: Attempt,
}

impl std::fmt::Display for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.attempt;
        write!(
            f,
            "delivery {} ({} → webhook {}, attempt {}): ",
            self.id, self.event, self.webhook_id, a.attempts
        )?;
        match (&a.error, a.retry_at) {
            (None, _) => write!(f, "delivered, HTTP {}", a.status_code.unwrap_or(0)),
            (Some(e), Some(at)) => write!(f, "{e}; retrying at {at} UTC"),
            (Some(e), None) => write!(f, "{e}; given up"),
        }
    }
}

/// What one pass of the deliverer did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub attempts: Vec<Delivered>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.attempts
            .iter()
            .filter(|d| d.attempt.error.is_some())
            .count()
    }
}

/// Sends every delivery due now, once each (up to a hundred a pass).
pub fn deliver_due(store: &mut Store, settings: &Settings, retry: Retry) -> Result<Report> {
    let now = Timestamp::now();
    let due = store
        .read(|tx| queue::due(tx, now, PER_PASS))
        .context("reading the webhook deliveries due")?;
    let mut sender = Sender::new(settings);
    let mut report = Report::default();
    for id in due {
        if let Some(d) = sender.deliver(store, id, retry)? {
            report.attempts.push(d);
        }
    }
    Ok(report)
}

/// Sends a `ping` to webhook `id` now, once (no retry), and records it as a delivery.
pub fn ping(store: &mut Store, settings: &Settings, id: i64) -> Result<Delivered> {
    let now = Timestamp::now();
    let delivery = store.write(|tx| {
        let Some((hook, _)) = queue::get(tx, id)? else {
            anyhow::bail!("no webhook {id}; `bloggo webhook list` shows them");
        };
        let payload = serde_json::json!({
            "event": "ping",
            "timestamp": rfc3339(now),
            "webhook": { "id": hook.id, "events": hook.events },
        });
        Ok(queue::queue_one(tx, id, "ping", &payload, now)?)
    })?;
    let once = Retry {
        max_attempts: 1,
        ..Retry::default()
    };
    Sender::new(settings)
        .deliver(store, delivery, once)?
        .context("the ping was taken by another deliverer")
}

/// Queues the `build.finished` event of a build of the site at `base_url` for the webhooks
/// that want it, in a transaction of its own; how many deliveries were queued.
pub fn build_finished(store: &mut Store, base_url: &str, summary: &BuildSummary) -> Result<usize> {
    let now = Timestamp::now();
    let payload = serde_json::json!({
        "event": "build.finished",
        "timestamp": rfc3339(now),
        "site": { "base_url": base_url.trim_end_matches('/') },
        "build": {
            "pages": summary.pages,
            "rendered": summary.rendered,
            "written": summary.written,
            "unchanged": summary.unchanged,
            "removed": summary.removed,
            "seconds": (summary.seconds * 1000.0).round() / 1000.0,
        },
    });
    Ok(store.write(|tx| queue::queue_event(tx, "build.finished", &payload, now))?)
}

fn rfc3339(t: Timestamp) -> String {
    t.utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Sends claimed deliveries: one HTTP agent, and the store's snapshot read once a pass, when
/// a post's URL is first asked for.
struct Sender<'s> {
    settings: &'s Settings,
    agent: ureq::Agent,
    snapshot: Option<Option<Snapshot>>,
}

impl<'s> Sender<'s> {
    fn new(settings: &'s Settings) -> Sender<'s> {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("bloggo/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Sender {
            settings,
            agent,
            snapshot: None,
        }
    }

    /// Claims delivery `id`, sends it and records the attempt; `None` when another deliverer
    /// has it.
    fn deliver(&mut self, store: &mut Store, id: i64, retry: Retry) -> Result<Option<Delivered>> {
        let now = Timestamp::now();
        let lapses = Timestamp::from_utc(now.utc() + CLAIM);
        let Some(claimed) = store.write(|tx| queue::claim(tx, id, now, lapses))? else {
            return Ok(None);
        };
        let body = self.body(&claimed);
        let mut attempt = self.send(&claimed, &body);
        attempt.attempts = claimed.attempts + 1;
        if attempt.error.is_some() {
            attempt.retry_at = retry
                .after(attempt.attempts, random_jitter())
                .map(|wait| Timestamp::from_utc(chrono::Utc::now() + wait));
        }
        store
            .write(|tx| queue::record(tx, id, &attempt))
            .with_context(|| format!("recording webhook delivery {id}"))?;
        Ok(Some(Delivered {
            id,
            webhook_id: claimed.webhook_id,
            event: claimed.event,
            url: claimed.url,
            attempt,
        }))
    }

    /// The JSON sent: the stored payload with the site's base URL and a post's URL (where the
    /// site places it now; `null` when it is not on the site).
    fn body(&mut self, c: &Claimed) -> String {
        let mut payload: serde_json::Value =
            serde_json::from_str(&c.payload).unwrap_or(serde_json::Value::Null);
        let Some(map) = payload.as_object_mut() else {
            return c.payload.clone();
        };
        map.entry("site")
            .or_insert_with(|| serde_json::json!({ "base_url": self.settings.base_url() }));
        let post_id = map
            .get("post")
            .and_then(|p| p.get("id"))
            .and_then(|id| id.as_i64());
        if let Some(post_id) = post_id {
            let url = self.post_url(post_id);
            if let Some(post) = map.get_mut("post").and_then(|p| p.as_object_mut()) {
                post.insert("url".into(), url.into());
            }
        }
        payload.to_string()
    }

    fn post_url(&mut self, id: i64) -> Option<String> {
        let settings = self.settings;
        let snap = self.snapshot.get_or_insert_with(|| {
            crate::pipeline::store_snapshot(settings)
                .map_err(|e| eprintln!("webhooks: posts' URLs left out: {e:#}"))
                .ok()
        });
        let snap = snap.as_ref()?;
        let post = snap.posts.iter().find(|p| p.row.id == id)?;
        Some(snap.site.permalink(&post.path))
    }

    /// One POST; the attempt's outcome (its count and retry are the caller's).
    fn send(&self, c: &Claimed, body: &str) -> Attempt {
        let at = Timestamp::now();
        let sent = self
            .agent
            .post(&c.url)
            .header("Content-Type", "application/json")
            .header("X-Bloggo-Event", &c.event)
            .header("X-Bloggo-Delivery", c.id.to_string())
            .header(SIGNATURE_HEADER, sign(&c.secret, body.as_bytes()))
            .send(body.as_bytes());
        let mut attempt = Attempt {
            attempts: 0,
            status_code: None,
            response_body: None,
            error: None,
            retry_at: None,
            at,
        };
        match sent {
            Ok(mut response) => {
                let code = response.status().as_u16();
                let mut kept = Vec::new();
                let read = response
                    .body_mut()
                    .as_reader()
                    .take(BODY_KEPT)
                    .read_to_end(&mut kept);
                attempt.status_code = Some(code);
                attempt.response_body = Some(String::from_utf8_lossy(&kept).into_owned());
                if !(200..300).contains(&code) {
                    attempt.error = Some(format!("HTTP {code}"));
                } else if let Err(e) = read {
                    // Delivered: the receiver answered 2xx; only its body was cut short.
                    attempt.response_body = Some(format!("(body unread: {e})"));
                }
            }
            Err(e) => attempt.error = Some(e.to_string()),
        }
        attempt
    }
}
