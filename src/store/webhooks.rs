//! The `webhooks` and `webhook_deliveries` tables: registered endpoints, and the queue of
//! deliveries (see migration 0008 for the states a delivery goes through).
//!
//! Events are queued by whoever makes the change, in its own transaction: the post writer
//! ([`Subscribers`], loaded once per writer) and `content::posts::set_status` for posts, a
//! build's own small transaction for `build.finished`. A deliverer takes due rows with
//! [`due`], claims each one with [`claim`] (an `UPDATE … WHERE status = 'pending'` in a write
//! transaction: whoever changes the row owns it) and records the attempt with [`record`].

use rusqlite::{params, Connection, OptionalExtension};

use super::Tx;
use crate::model::{PostStatus, Timestamp};

/// A registered webhook, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

/// A webhook with what `webhook list` shows beside it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub hook: Webhook,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

fn events_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn webhook(r: &rusqlite::Row) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: events_of(&events),
        active: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// Registers a webhook, with its audit row (URL and events, never the secret); its id.
pub fn add(
    tx: &Tx,
    url: &str,
    events: &[String],
    secret: &str,
    now: Timestamp,
) -> rusqlite::Result<i64> {
    let text = serde_json::to_string(events).expect("strings serialise");
    tx.execute(
        "INSERT INTO webhooks (url, events, secret, is_active, created_at, updated_at)
         VALUES (?1, ?2, ?3, 1, ?4, ?4)",
        params![url, text, secret, now],
    )?;
    let id = tx.last_insert_rowid();
    let shown = serde_json::json!({ "url": url, "events": events });
    audit_row(tx, "webhook.add", id, None, Some(&shown), now)?;
    Ok(id)
}

fn audit_row(
    tx: &Tx,
    action: &str,
    id: i64,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
    at: Timestamp,
) -> rusqlite::Result<()> {
    super::content::audit::append(
        tx.conn(),
        &super::content::audit::NewEntry {
            user_id: None,
            action,
            resource_type: "webhook",
            resource_id: Some(id),
            old_values: old,
            new_values: new,
            at,
            client: None,
        },
    )
}

/// Every webhook, oldest first, with how many of its deliveries are in each state.
pub fn list(tx: &Tx) -> rusqlite::Result<Vec<Listed>> {
    let mut stmt = tx.prepare(
        "SELECT w.id, w.url, w.events, w.is_active, w.created_at,
                (SELECT COUNT(*) FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id AND d.status IN ('pending', 'sending')),
                (SELECT COUNT(*) FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id AND d.status = 'delivered'),
                (SELECT COUNT(*) FROM webhook_deliveries d
                 WHERE d.webhook_id = w.id AND d.status = 'failed')
         FROM webhooks w ORDER BY w.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Listed {
            hook: webhook(r)?,
            pending: r.get(5)?,
            delivered: r.get(6)?,
            failed: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// A webhook and its secret.
pub fn get(tx: &Tx, id: i64) -> rusqlite::Result<Option<(Webhook, String)>> {
    tx.query_row(
        "SELECT id, url, events, is_active, created_at, COALESCE(secret, '')
         FROM webhooks WHERE id = ?1",
        [id],
        |r| Ok((webhook(r)?, r.get(5)?)),
    )
    .optional()
}

/// Removes a webhook and its deliveries, with an audit row; the webhook, when there was one.
pub fn remove(tx: &Tx, id: i64, now: Timestamp) -> rusqlite::Result<Option<Webhook>> {
    let Some((hook, _)) = get(tx, id)? else {
        return Ok(None);
    };
    tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
    let shown = serde_json::json!({ "url": hook.url, "events": hook.events });
    audit_row(tx, "webhook.remove", id, Some(&shown), None, now)?;
    Ok(Some(hook))
}

/// The active webhooks and the events each wants: what a writer queues deliveries for.
#[derive(Debug, Clone, Default)]
pub struct Subscribers(Vec<(i64, Vec<String>)>);

impl Subscribers {
    pub fn load(conn: &Connection) -> rusqlite::Result<Subscribers> {
        let mut stmt =
            conn.prepare_cached("SELECT id, events FROM webhooks WHERE is_active = 1")?;
        let rows = stmt.query_map([], |r| {
            let events: String = r.get(1)?;
            Ok((r.get(0)?, events_of(&events)))
        })?;
        Ok(Subscribers(rows.collect::<rusqlite::Result<_>>()?))
    }

    /// Queues a post's event (see [`post_event`]) for every webhook that wants it, due at its
    /// publication date when that is later than `now`.
    pub fn queue_post(
        &self,
        conn: &Connection,
        event: &str,
        p: &PostEvent,
        now: Timestamp,
    ) -> rusqlite::Result<usize> {
        let due = p.published_at.map_or(now, |at| at.max(now));
        self.queue(conn, event, &post_payload(event, now, p), now, due)
    }

    /// Queues `payload` for every webhook that wants `event`, due at `due`.
    pub fn queue(
        &self,
        conn: &Connection,
        event: &str,
        payload: &serde_json::Value,
        now: Timestamp,
        due: Timestamp,
    ) -> rusqlite::Result<usize> {
        let mut n = 0;
        for (id, _) in self.0.iter().filter(|(_, e)| e.iter().any(|e| e == event)) {
            conn.prepare_cached(
                "INSERT INTO webhook_deliveries
                    (webhook_id, event, payload, attempt, status, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, 0, 'pending', ?4, ?5)",
            )?
            .execute(params![id, event, payload.to_string(), due, now])?;
            n += 1;
        }
        Ok(n)
    }
}

/// What a post event says about the post (the deliverer adds its URL and the site's).
#[derive(Debug, Clone)]
pub struct PostEvent<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub status: PostStatus,
    pub published_at: Option<Timestamp>,
}

/// The stored payload of a post event.
pub fn post_payload(event: &str, now: Timestamp, p: &PostEvent) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "timestamp": now.utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "post": {
            "id": p.id,
            "slug": p.slug,
            "title": p.title,
            "status": p.status.to_string(),
            "published_at": p.published_at
                .map(|t| t.utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        },
    })
}

/// The event a post's change causes, if any: `post.published` when it becomes published (due
/// at its publication date, so a scheduled post's event waits for it), `post.updated` when a
/// published post's title or text changes. `before` is `(status, title, markdown)` of a live
/// (not deleted) post, `None` for a new or deleted one; `after` the same, as written.
pub fn post_event(
    before: Option<(PostStatus, &str, &str)>,
    after: (PostStatus, &str, &str),
) -> Option<&'static str> {
    if after.0 != PostStatus::Published {
        return None;
    }
    match before {
        Some((PostStatus::Published, title, content)) => {
            (title != after.1 || content != after.2).then_some("post.updated")
        }
        _ => Some("post.published"),
    }
}

/// Queues the event of a post whose status `set_status` changes, in its transaction.
pub fn queue_status_change(
    tx: &Tx,
    id: i64,
    status: PostStatus,
    published_at: Option<Timestamp>,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let (before, deleted, slug, title): (PostStatus, bool, String, String) = tx.query_row(
        "SELECT status, deleted_at IS NOT NULL, slug, title FROM posts WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if deleted || before == PostStatus::Published || status != PostStatus::Published {
        return Ok(());
    }
    let subscribers = Subscribers::load(tx.conn())?;
    let p = PostEvent {
        id,
        slug: &slug,
        title: &title,
        status,
        published_at,
    };
    subscribers.queue_post(tx.conn(), "post.published", &p, now)?;
    Ok(())
}

/// Queues an event that no post causes (`build.finished`, a `ping`) for every webhook that
/// wants it; how many deliveries were queued.
pub fn queue_event(
    tx: &Tx,
    event: &str,
    payload: &serde_json::Value,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    Subscribers::load(tx.conn())?.queue(tx.conn(), event, payload, now, now)
}

/// A delivery a deliverer holds: where it goes, what it says, how many attempts came before.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// The deliveries a deliverer may claim at `now`: pending and due, or held by a deliverer
/// whose claim lapsed (it died mid-send).
const CLAIMABLE: &str = "(status = 'pending' OR status = 'sending')
    AND COALESCE(next_attempt_at, created_at) <= ?1";

/// The ids of the deliveries claimable at `now`, oldest first (a read: no lock taken).
pub fn due(tx: &Tx, now: Timestamp, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT id FROM webhook_deliveries WHERE {CLAIMABLE}
         ORDER BY COALESCE(next_attempt_at, created_at), id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit as i64], |r| r.get(0))?;
    rows.collect()
}

/// Takes delivery `id` for this deliverer until `lapses`, if it is still claimable at `now`
/// (see [`due`]): run it in a write transaction, so of two deliverers only one changes the row
/// and sends it; the other changes nothing and gets `None`.
pub fn claim(
    tx: &Tx,
    id: i64,
    now: Timestamp,
    lapses: Timestamp,
) -> rusqlite::Result<Option<Claimed>> {
    let n = tx.execute(
        &format!(
            "UPDATE webhook_deliveries SET status = 'sending', next_attempt_at = ?3
             WHERE id = ?2 AND {CLAIMABLE}"
        ),
        params![now, id, lapses],
    )?;
    if n == 0 {
        return Ok(None);
    }
    tx.query_row(
        "SELECT d.id, d.webhook_id, w.url, COALESCE(w.secret, ''), d.event, d.payload, d.attempt
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?1",
        [id],
        |r| {
            Ok(Claimed {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                url: r.get(2)?,
                secret: r.get(3)?,
                event: r.get(4)?,
                payload: r.get(5)?,
                attempts: r.get(6)?,
            })
        },
    )
    .optional()
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The attempts made, this one included.
    pub attempts: u32,
    pub status_code: Option<u16>,
    /// The start of the response's body.
    pub response_body: Option<String>,
    /// Why it failed (`None`: delivered).
    pub error: Option<String>,
    /// When to try again (`None` with an error: given up).
    pub retry_at: Option<Timestamp>,
    pub at: Timestamp,
}

/// Records an attempt on a claimed delivery.
pub fn record(tx: &Tx, id: i64, a: &Attempt) -> rusqlite::Result<()> {
    let status = match (&a.error, a.retry_at) {
        (None, _) => "delivered",
        (Some(_), Some(_)) => "pending",
        (Some(_), None) => "failed",
    };
    tx.execute(
        "UPDATE webhook_deliveries
         SET status = ?2, attempt = ?3, status_code = ?4, response_body = ?5, last_error = ?6,
             next_attempt_at = ?7, delivered_at = CASE WHEN ?2 = 'delivered' THEN ?8 END
         WHERE id = ?1",
        params![
            id,
            status,
            a.attempts,
            a.status_code,
            a.response_body,
            a.error,
            a.retry_at,
            a.at
        ],
    )?;
    Ok(())
}

/// One delivery as `webhook test` and the tests read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub status: String,
    pub attempts: u32,
    pub status_code: Option<u16>,
    pub last_error: Option<String>,
}

/// A delivery by id.
pub fn delivery(tx: &Tx, id: i64) -> rusqlite::Result<Option<Delivery>> {
    tx.query_row(
        "SELECT id, webhook_id, event, status, attempt, status_code, last_error
         FROM webhook_deliveries WHERE id = ?1",
        [id],
        |r| {
            Ok(Delivery {
                id: r.get(0)?,
                webhook_id: r.get(1)?,
                event: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                status_code: r.get(5)?,
                last_error: r.get(6)?,
            })
        },
    )
    .optional()
}

/// Queues a delivery of `event` to one webhook (whatever events it wants), due now: what
/// `webhook test` sends at once.
pub fn queue_one(
    tx: &Tx,
    webhook_id: i64,
    event: &str,
    payload: &serde_json::Value,
    now: Timestamp,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO webhook_deliveries
            (webhook_id, event, payload, attempt, status, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, 0, 'pending', ?4, ?4)",
        params![webhook_id, event, payload.to_string(), now],
    )?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_post_event_is_told_by_what_changed() {
        use PostStatus::*;
        assert_eq!(
            post_event(None, (Published, "a", "h")),
            Some("post.published")
        );
        assert_eq!(
            post_event(Some((Draft, "a", "h")), (Published, "a", "h")),
            Some("post.published")
        );
        assert_eq!(
            post_event(Some((Published, "a", "h")), (Published, "b", "h")),
            Some("post.updated")
        );
        assert_eq!(
            post_event(Some((Published, "a", "h")), (Published, "a", "h2")),
            Some("post.updated")
        );
        assert_eq!(
            post_event(Some((Published, "a", "h")), (Published, "a", "h")),
            None
        );
        assert_eq!(
            post_event(Some((Published, "a", "h")), (Draft, "b", "h")),
            None
        );
        assert_eq!(post_event(None, (Draft, "a", "h")), None);
    }

    #[test]
    fn one_claim_wins_and_attempts_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), true).unwrap();
        let now = t("2024-06-01 12:00:00");
        let id = store
            .write(|tx| {
                let hook = add(
                    tx,
                    "http://127.0.0.1:9/",
                    &["build.finished".into()],
                    "s",
                    now,
                )?;
                assert_eq!(
                    queue_event(tx, "post.published", &serde_json::json!({}), now)?,
                    0
                );
                assert_eq!(
                    queue_event(tx, "build.finished", &serde_json::json!({}), now)?,
                    1
                );
                Ok::<_, rusqlite::Error>(hook)
            })
            .unwrap();
        let lapses = t("2024-06-01 12:05:00");
        let (first, second) = store
            .write(|tx| {
                let ids = due(tx, now, 10)?;
                assert_eq!(ids.len(), 1);
                Ok::<_, rusqlite::Error>((
                    claim(tx, ids[0], now, lapses)?,
                    claim(tx, ids[0], now, lapses)?,
                ))
            })
            .unwrap();
        let first = first.expect("the first claim wins");
        assert!(second.is_none(), "a claimed delivery is not claimed again");
        assert_eq!((first.webhook_id, first.attempts), (id, 0));
        // Not due while claimed; due again once the claim lapses.
        store
            .write(|tx| {
                assert!(due(tx, now, 10)?.is_empty());
                assert_eq!(due(tx, lapses, 10)?, vec![first.id]);
                assert!(claim(tx, first.id, lapses, lapses)?.is_some());
                record(
                    tx,
                    first.id,
                    &Attempt {
                        attempts: 1,
                        status_code: Some(500),
                        response_body: Some("no".into()),
                        error: Some("HTTP 500".into()),
                        retry_at: Some(lapses),
                        at: now,
                    },
                )
            })
            .unwrap();
        let d = store.read(|tx| delivery(tx, first.id)).unwrap().unwrap();
        assert_eq!(
            (d.status.as_str(), d.attempts, d.status_code),
            ("pending", 1, Some(500))
        );
    }
}
