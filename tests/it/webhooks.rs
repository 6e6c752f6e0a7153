//! Webhooks end to end: the real binary queues events and delivers them to a real HTTP
//! listener on this machine (a thread of the test), which checks the signature itself.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::harness::Site;

/// One request the listener received.
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A listener that answers its requests with `answers` in turn (status, body), then 200; the
/// requests come out of the receiver. Its URL is the first value.
fn listener(answers: Vec<(u16, &'static str)>) -> (String, Receiver<Received>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let (status, text) = answers.next().unwrap_or((200, "ok"));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = tx.send(Received {
                path,
                headers,
                body,
            });
        }
    });
    (url, rx)
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn next(rx: &Receiver<Received>) -> Received {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the listener got a request")
}

fn with_backoff(site: &Site, seconds: u64) {
    let mut config = site.read("bloggo.toml");
    config.push_str(&format!("\n[webhooks]\nbackoff_seconds = {seconds}\n"));
    site.write("bloggo.toml", &config);
}

#[test]
fn a_published_post_reaches_the_listener_signed() {
    let site = Site::new();
    let (url, rx) = listener(vec![]);
    let r = site
        .run(&[
            "webhook",
            "add",
            &url,
            "--events",
            "post.published,post.updated",
            "--secret",
            "s3cret",
        ])
        .ok();
    assert!(r.stdout.contains("added webhook 1"), "{}", r.stdout);
    assert!(!r.stdout.contains("s3cret"), "a given secret is not echoed");
    site.run(&["post", "new", "Hello hooks"]).ok();
    // A draft is no event; publishing queues one, in the publishing transaction.
    assert_eq!(site.count("SELECT COUNT(*) FROM webhook_deliveries"), 0);
    site.run(&["post", "publish", "hello-hooks"]).ok();
    assert_eq!(
        site.rows("SELECT event, status, attempt FROM webhook_deliveries"),
        vec![vec!["post.published", "pending", "0"]]
    );
    site.run(&["webhook", "deliver"]).ok();
    let got = next(&rx);
    assert_eq!(got.path, "/hook");
    assert_eq!(got.headers["x-bloggo-event"], "post.published");
    assert_eq!(got.headers["x-bloggo-delivery"], "1");
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(
        got.headers["x-bloggo-signature"],
        format!("sha256={}", hmac_hex("s3cret", &got.body))
    );
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["event"], "post.published");
    assert_eq!(body["site"]["base_url"], "http://127.0.0.1:4000");
    assert_eq!(body["post"]["slug"], "hello-hooks");
    assert_eq!(body["post"]["title"], "Hello hooks");
    assert_eq!(body["post"]["status"], "published");
    assert_eq!(
        body["post"]["url"],
        "http://127.0.0.1:4000/posts/hello-hooks/"
    );
    assert_eq!(
        site.rows("SELECT status, attempt, status_code FROM webhook_deliveries"),
        vec![vec!["delivered", "1", "200"]]
    );
    // An edit of the published post's text is `post.updated`, through the one post writer.
    let doc = site.path("content/hello-hooks.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, format!("{text}\nOne more line.\n")).unwrap();
    site.run(&["build"]).ok();
    site.run(&["webhook", "deliver"]).ok();
    let got = next(&rx);
    assert_eq!(got.headers["x-bloggo-event"], "post.updated");
    // Nothing else is queued: the build itself is not an event this webhook wants.
    assert_eq!(
        site.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'delivered'"),
        0
    );
    // The list shows no secret; remove takes the deliveries with it.
    let list = site.run(&["webhook", "list"]).ok().stdout;
    assert!(list.contains(&url) && !list.contains("s3cret"), "{list}");
    site.run(&["webhook", "remove", "1"]).ok();
    assert_eq!(site.count("SELECT COUNT(*) FROM webhook_deliveries"), 0);
    assert_eq!(
        site.rows("SELECT action FROM audit_logs WHERE resource_type = 'webhook' ORDER BY id"),
        vec![vec!["webhook.add"], vec!["webhook.remove"]]
    );
}

#[test]
fn a_failing_receiver_gets_the_event_on_the_third_attempt() {
    let site = Site::new();
    with_backoff(&site, 0);
    let (url, rx) = listener(vec![(500, "down"), (500, "still down")]);
    site.run_env(
        &["webhook", "add", &url, "--events", "build.finished"],
        &[("BLOGGO_WEBHOOK_SECRET", "from-env")],
    )
    .ok();
    site.run(&["build"]).ok();
    assert_eq!(
        site.rows("SELECT event, status FROM webhook_deliveries"),
        vec![vec!["build.finished", "pending"]]
    );
    for _ in 0..2 {
        let r = site.run(&["webhook", "deliver"]).fails();
        assert!(r.stderr.contains("HTTP 500"), "{}", r.stderr);
    }
    assert_eq!(
        site.rows("SELECT status, attempt, status_code, last_error FROM webhook_deliveries"),
        vec![vec!["pending", "2", "500", "HTTP 500"]]
    );
    site.run(&["webhook", "deliver"]).ok();
    let bodies: Vec<Received> = (0..3).map(|_| next(&rx)).collect();
    for b in &bodies {
        assert_eq!(b.headers["x-bloggo-delivery"], "1");
        assert_eq!(
            b.headers["x-bloggo-signature"],
            format!("sha256={}", hmac_hex("from-env", &b.body))
        );
    }
    let body: serde_json::Value = serde_json::from_slice(&bodies[2].body).unwrap();
    assert_eq!(body["event"], "build.finished");
    assert!(body["build"]["pages"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(
        site.rows(
            "SELECT status, attempt, status_code, last_error IS NULL, delivered_at IS NOT NULL
             FROM webhook_deliveries"
        ),
        vec![vec!["delivered", "3", "200", "1", "1"]]
    );
    // A build that changes nothing is no event.
    site.run(&["build"]).ok();
    assert_eq!(site.count("SELECT COUNT(*) FROM webhook_deliveries"), 1);
}

#[test]
fn retries_stop_at_max_attempts() {
    let site = Site::new();
    let mut config = site.read("bloggo.toml");
    config.push_str("\n[webhooks]\nbackoff_seconds = 0\nmax_attempts = 2\n");
    site.write("bloggo.toml", &config);
    let (url, _rx) = listener(vec![(503, ""), (503, ""), (503, "")]);
    site.run(&[
        "webhook",
        "add",
        &url,
        "--events",
        "build.finished",
        "--secret",
        "k",
    ])
    .ok();
    site.run(&["build"]).ok();
    site.run(&["webhook", "deliver"]).fails();
    let r = site.run(&["webhook", "deliver"]).fails();
    assert!(r.stderr.contains("given up"), "{}", r.stderr);
    // Given up: nothing is due any more.
    let r = site.run(&["webhook", "deliver"]).ok();
    assert!(r.stdout.contains("0 deliveries sent"), "{}", r.stdout);
    assert_eq!(
        site.rows("SELECT status, attempt, status_code FROM webhook_deliveries"),
        vec![vec!["failed", "2", "503"]]
    );
}

#[test]
fn webhook_test_pings_and_shows_the_answer() {
    let site = Site::new();
    let (url, rx) = listener(vec![(200, "pong"), (404, "no such hook")]);
    let r = site
        .run(&["webhook", "add", &url, "--events", "build.finished"])
        .ok();
    // No secret given: one is made and shown once.
    let secret = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("the made secret is printed")
        .to_string();
    assert_eq!(secret.len(), 64);
    let r = site.run(&["webhook", "test", "1"]).ok();
    assert!(
        r.stdout.contains("HTTP 200") && r.stdout.contains("pong"),
        "{}",
        r.stdout
    );
    let got = next(&rx);
    assert_eq!(got.headers["x-bloggo-event"], "ping");
    assert_eq!(
        got.headers["x-bloggo-signature"],
        format!("sha256={}", hmac_hex(&secret, &got.body))
    );
    let r = site.run(&["webhook", "test", "1"]).fails();
    assert!(r.stdout.contains("HTTP 404"), "{}", r.stdout);
    assert!(r.stderr.contains("did not accept the ping"), "{}", r.stderr);
    let r = site.run(&["webhook", "test", "7"]).fails();
    assert!(r.stderr.contains("no webhook 7"), "{}", r.stderr);
}

#[test]
fn bad_urls_and_events_are_refused() {
    let site = Site::new();
    let r = site
        .run(&[
            "webhook",
            "add",
            "ftp://example.com/x",
            "--events",
            "post.published",
        ])
        .fails();
    assert!(
        r.stderr.contains("must start with http:// or https://"),
        "{}",
        r.stderr
    );
    let r = site
        .run(&["webhook", "add", "https://", "--events", "post.published"])
        .fails();
    assert!(r.stderr.contains("names no host"), "{}", r.stderr);
    let r = site
        .run(&[
            "webhook",
            "add",
            "https://hooks.example.com/",
            "--events",
            "post.deleted",
        ])
        .fails();
    assert!(
        r.stderr.contains("unknown event \"post.deleted\""),
        "{}",
        r.stderr
    );
    assert_eq!(site.count("SELECT COUNT(*) FROM webhooks"), 0);
    // A refused receiver (nothing listens) is recorded as an error and retried.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    drop(l);
    site.run(&[
        "webhook",
        "add",
        &url,
        "--events",
        "build.finished",
        "--secret",
        "k",
    ])
    .ok();
    site.run(&["build"]).ok();
    site.run(&["webhook", "deliver"]).fails();
    assert_eq!(
        site.rows(
            "SELECT status, attempt, status_code, last_error IS NOT NULL FROM webhook_deliveries"
        ),
        vec![vec!["pending", "1", "NULL", "1"]]
    );
}

#[test]
fn only_an_administrator_manages_webhooks() {
    let site = Site::new();
    site.run(&["user", "add", "Ann Author", "ann@example.org"])
        .ok();
    let refused = site
        .run(&[
            "webhook",
            "add",
            "https://hooks.example/x",
            "--events",
            "post.published",
            "--secret",
            "s",
            "--as",
            "ann@example.org",
        ])
        .fails();
    assert!(
        refused.stderr.contains("system.admin"),
        "{}",
        refused.stderr
    );
    site.run(&["webhook", "list", "--as", "ann@example.org"])
        .fails();
    assert_eq!(site.count("SELECT count(*) FROM webhooks"), 0);
    site.run(&[
        "webhook",
        "add",
        "https://hooks.example/x",
        "--events",
        "post.published",
        "--secret",
        "s",
    ])
    .ok();
    assert_eq!(site.count("SELECT count(*) FROM webhooks"), 1);
}
