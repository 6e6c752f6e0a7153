//! Webhooks: what may be registered (events, URLs, secrets), how a delivery is signed
//! (`sign.rs`) and retried (`retry.rs`), and the deliverer that sends the due deliveries of the
//! queue once (`deliver.rs`), for `bloggo webhook deliver` and serve's delivery thread
//! (`serve/webhooks.rs`). The queue itself (its tables, the claim) is `store::webhooks`; events
//! are queued there by the post writer and by [`build_finished`].

mod deliver;
mod retry;
mod sign;

pub use deliver::{build_finished, deliver_due, ping, Delivered, Report};
pub use retry::{backoff, Retry};
pub use sign::{sign, SIGNATURE_HEADER};

use anyhow::{bail, Context, Result};

use crate::model::Timestamp;
use crate::store::webhooks::{self as queue, Listed, Webhook};
use crate::store::Store;

/// The events a webhook may subscribe to.
pub const EVENTS: [&str; 3] = ["post.published", "post.updated", "build.finished"];

/// The environment variable `webhook add` reads a secret from when `--secret` is not given.
pub const SECRET_ENV: &str = "BLOGGO_WEBHOOK_SECRET";

/// A comma-separated list of event names, checked against [`EVENTS`] (duplicates dropped).
pub fn parse_events(text: &str) -> Result<Vec<String>> {
    let mut events = Vec::new();
    for e in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !EVENTS.contains(&e) {
            bail!("unknown event {e:?}; the events are {}", EVENTS.join(", "));
        }
        if !events.iter().any(|x| x == e) {
            events.push(e.to_string());
        }
    }
    if events.is_empty() {
        bail!("name at least one event: {}", EVENTS.join(", "));
    }
    Ok(events)
}

/// Checks a webhook's URL: `http://` or `https://`, with a host.
pub fn check_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        bail!("the webhook URL {url:?} must start with http:// or https://");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || url.contains(char::is_whitespace) {
        bail!("the webhook URL {url:?} names no host (e.g. https://hooks.example.com/bloggo)");
    }
    Ok(())
}

/// A new random secret: 32 bytes, in hex.
pub fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Registers a webhook after checking its URL and events; its id.
pub fn add(store: &mut Store, url: &str, events: &[String], secret: &str) -> Result<i64> {
    check_url(url)?;
    for e in events {
        if !EVENTS.contains(&e.as_str()) {
            bail!("unknown event {e:?}; the events are {}", EVENTS.join(", "));
        }
    }
    if secret.is_empty() {
        bail!("the webhook secret is empty; give one, or let bloggo make one");
    }
    let id = store
        .write(|tx| queue::add(tx, url, events, secret, Timestamp::now()))
        .context("registering the webhook")?;
    Ok(id)
}

/// Every webhook (no secrets), with its deliveries counted by state.
pub fn list(store: &mut Store) -> Result<Vec<Listed>> {
    Ok(store.read(queue::list)?)
}

/// Removes webhook `id` and its deliveries.
pub fn remove(store: &mut Store, id: i64) -> Result<Webhook> {
    store
        .write(|tx| queue::remove(tx, id, Timestamp::now()))?
        .with_context(|| format!("no webhook {id}; `bloggo webhook list` shows them"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked() {
        assert_eq!(
            parse_events("post.published, build.finished,post.published").unwrap(),
            ["post.published", "build.finished"]
        );
        let e = parse_events("post.deleted").unwrap_err().to_string();
        assert!(e.contains("unknown event \"post.deleted\""), "{e}");
        assert!(parse_events(" , ").is_err());
    }

    #[test]
    fn urls_are_checked() {
        check_url("https://hooks.example.com/x?y=1").unwrap();
        check_url("http://127.0.0.1:8080").unwrap();
        for bad in [
            "ftp://a",
            "hooks.example.com",
            "http://",
            "https:///x",
            "http://:80/",
        ] {
            let e = check_url(bad).unwrap_err().to_string();
            assert!(e.contains("webhook URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn secrets_are_random_hex() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
