//! Live reload: a Server-Sent Events endpoint, the script injected into served HTML (never
//! into `bloggo build` output), the overlay that shows a failed rebuild's error, and the
//! "building…" page served while serve's first build runs.
//!
//! Each browser's stream is an [`Events`] body: it ends when the server closes it or the
//! client goes away. hyper notices a client that closes its connection at once; a comment line
//! every [`HEARTBEAT`] also finds connections that broke without a word (a write fails), so a
//! stream never outlives its client by more than a few seconds, with or without rebuilds.

use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::mpsc;

/// The SSE endpoint the injected script listens on.
pub const EVENTS_PATH: &str = "/_bloggo/livereload";
/// How often a stream with nothing to say sends a comment line.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// Events queued for one browser; a browser this far behind misses events (it reconnects and
/// gets the current state).
const QUEUE: usize = 16;

/// The state of the last rebuild and the browsers listening for the next one.
pub struct LiveReload {
    clients: Mutex<Vec<mpsc::Sender<Bytes>>>,
    /// Building pages waiting for the end of the start-up build.
    waiting: Mutex<Vec<mpsc::Sender<Bytes>>>,
    state: Mutex<State>,
}

#[derive(Default, Clone)]
struct State {
    /// Bumped on every rebuild result; part of served pages' ETags.
    generation: u64,
    error: Option<String>,
    /// The start-up build is running.
    starting: bool,
    /// The server is stopping: new streams end at once.
    closed: bool,
}

impl Default for LiveReload {
    fn default() -> Self {
        LiveReload::new()
    }
}

/// One browser's event stream (a response body).
pub struct Events {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    heartbeat: tokio::time::Interval,
}

impl Events {
    /// The next bytes to send; `None` ends the stream.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(b));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(b) => {
                self.heartbeat.reset();
                Poll::Ready(b)
            }
            Poll::Pending => match self.heartbeat.poll_tick(cx) {
                Poll::Ready(_) => Poll::Ready(Some(Bytes::from_static(b": ping\n\n"))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl LiveReload {
    pub fn new() -> LiveReload {
        LiveReload {
            clients: Mutex::new(Vec::new()),
            waiting: Mutex::new(Vec::new()),
            state: Mutex::new(State::default()),
        }
    }

    /// A new event stream. `start_up`: the stream of a building page, which gets one reload
    /// event when the start-up build is over (at once if it already is), and nothing else.
    /// Must be called inside the server's runtime (the heartbeat is a timer of it).
    pub fn subscribe(&self, start_up: bool) -> Events {
        // Held until the stream is registered, so close_all cannot slip in between.
        let state = self.state.lock().unwrap();
        let mut first = String::from("retry: 1000\n\n");
        let (tx, rx) = mpsc::channel(QUEUE);
        if state.closed {
            // The sender is dropped: the stream ends after its first bytes.
        } else if start_up {
            if state.starting {
                self.waiting.lock().unwrap().push(tx);
            } else {
                first.push_str(&event("reload", &state.generation.to_string()));
            }
        } else {
            if let Some(e) = &state.error {
                first.push_str(&event("error", e));
            }
            let mut clients = self.clients.lock().unwrap();
            clients.retain(|c| !c.is_closed());
            clients.push(tx);
        }
        drop(state);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.reset();
        Events {
            first: Some(Bytes::from(first)),
            rx,
            heartbeat,
        }
    }

    /// The start-up build is running: pages that are not there yet get the building page.
    pub fn begin_start_up(&self) {
        self.state.lock().unwrap().starting = true;
    }

    /// Whether the start-up build is running.
    pub fn starting(&self) -> bool {
        self.state.lock().unwrap().starting
    }

    /// The start-up build is over (built or failed): building pages reload.
    pub fn finish_start_up(&self) {
        let g = {
            let mut s = self.state.lock().unwrap();
            s.starting = false;
            s.generation
        };
        let reload = Bytes::from(event("reload", &g.to_string()));
        for c in self.waiting.lock().unwrap().drain(..) {
            let _ = c.try_send(reload.clone());
        }
    }

    /// A rebuild succeeded: clears the error and tells every page to reload.
    pub fn reloaded(&self) {
        let g = {
            let mut s = self.state.lock().unwrap();
            s.error = None;
            s.generation += 1;
            s.generation
        };
        self.broadcast(&event("reload", &g.to_string()));
    }

    /// Whether pages are showing a failed rebuild's error.
    pub fn showing_error(&self) -> bool {
        self.state.lock().unwrap().error.is_some()
    }

    /// A rebuild failed: pages show this error until the next good rebuild.
    pub fn failed(&self, message: &str) {
        {
            let mut s = self.state.lock().unwrap();
            s.error = Some(message.to_string());
            s.generation += 1;
        }
        self.broadcast(&event("error", message));
    }

    /// How many browsers are listening (streams whose client went away are not counted).
    pub fn listeners(&self) -> usize {
        let mut clients = self.clients.lock().unwrap();
        clients.retain(|c| !c.is_closed());
        clients.len()
    }

    /// Ends every event stream (at shutdown).
    pub fn close_all(&self) {
        self.state.lock().unwrap().closed = true;
        self.clients.lock().unwrap().clear();
        self.waiting.lock().unwrap().clear();
    }

    /// A number that changes whenever what is injected into pages changes.
    pub fn generation(&self) -> u64 {
        self.state.lock().unwrap().generation
    }

    fn broadcast(&self, text: &str) {
        let text = Bytes::from(text.to_string());
        // A full queue (a browser far behind) keeps its stream; a closed one is dropped.
        self.clients.lock().unwrap().retain(|c| {
            !matches!(
                c.try_send(text.clone()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }

    /// Adds the live-reload script (and the error overlay, after a failed rebuild) to a page.
    pub fn inject(&self, html: &str) -> String {
        let error = self.state.lock().unwrap().error.clone();
        let mut snippet = String::from(SCRIPT);
        if let Some(e) = error {
            snippet.push_str(&format!(
                "<script>window.__bloggoShow && window.__bloggoShow({});</script>",
                serde_json::to_string(&e)
                    .unwrap_or_default()
                    .replace("</", "<\\/")
            ));
        }
        match html.rfind("</body>") {
            Some(i) => format!("{}{}{}", &html[..i], snippet, &html[i..]),
            None => format!("{html}{snippet}"),
        }
    }
}

/// The page served instead of a missing one while the start-up build runs (with 503 and
/// `Retry-After`): it reloads itself when the build is over.
pub const BUILDING_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Building… · bloggo serve</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="2"></noscript></head>
<body style="font:16px/1.5 system-ui,sans-serif;margin:3em;color:#222">
<h1>Building the site…</h1>
<p>bloggo serve is building the site for the first time. This page reloads by itself when the
build is done.</p>
<script>/* bloggo serve: reload when the start-up build is over */
(function () {
  if (!window.EventSource) { setTimeout(function () { location.reload(); }, 2000); return; }
  var es = new EventSource("/_bloggo/livereload?start-up");
  es.addEventListener("reload", function () { es.close(); location.reload(); });
})();
</script></body></html>
"#;

fn event(name: &str, data: &str) -> String {
    let mut s = format!("event: {name}\n");
    for line in data.lines() {
        s.push_str("data: ");
        s.push_str(line);
        s.push('\n');
    }
    if data.is_empty() {
        s.push_str("data: \n");
    }
    s.push('\n');
    s
}

const SCRIPT: &str = r#"<script>/* bloggo serve: live reload */
(function () {
  function show(msg) {
    var o = document.getElementById("bloggo-error");
    if (!o) {
      o = document.createElement("pre");
      o.id = "bloggo-error";
      o.style.cssText = "position:fixed;inset:0;margin:0;z-index:2147483647;overflow:auto;padding:2em;background:rgba(20,0,0,.92);color:#ffd7d7;font:14px/1.5 monospace;white-space:pre-wrap";
      document.body.appendChild(o);
    }
    o.textContent = "bloggo: the last rebuild failed; still serving the last good site.\n\n" + msg;
  }
  window.__bloggoShow = show;
  if (!window.EventSource) return;
  var es = new EventSource("/_bloggo/livereload");
  es.addEventListener("reload", function () { location.reload(); });
  es.addEventListener("error", function (e) { if (e.data) show(e.data); });
})();
</script>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_before_body_end_and_shows_errors() {
        let lr = LiveReload::new();
        let page = lr.inject("<html><body><p>x</p></body></html>");
        assert!(page.ends_with("</script></body></html>"), "{page}");
        assert!(page.contains(EVENTS_PATH));
        assert!(!page.contains("__bloggoShow(\""));
        lr.failed("templates/post.html:3: unknown filter </script>");
        let page = lr.inject("<p>no body tag</p>");
        assert!(
            page.contains("__bloggoShow(\"templates/post.html:3"),
            "{page}"
        );
        assert!(!page.contains("unknown filter </script>"));
        assert_eq!(lr.generation(), 1);
        assert!(lr.showing_error());
        lr.reloaded();
        assert!(!lr.showing_error());
    }

    #[test]
    fn events_are_framed_line_by_line() {
        assert_eq!(event("error", "a\nb"), "event: error\ndata: a\ndata: b\n\n");
    }
}
