//! Live reload: a Server-Sent Events endpoint, the script injected into served HTML (never
//! into `bloggo build` output), and the overlay that shows a failed rebuild's error.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

/// The SSE endpoint the injected script listens on.
pub const EVENTS_PATH: &str = "/_bloggo/livereload";

/// The state of the last rebuild and the browsers listening for the next one.
pub struct LiveReload {
    clients: Mutex<Vec<TcpStream>>,
    state: Mutex<State>,
}

#[derive(Default, Clone)]
struct State {
    /// Bumped on every rebuild result; part of served pages' ETags.
    generation: u64,
    error: Option<String>,
}

impl Default for LiveReload {
    fn default() -> Self {
        LiveReload::new()
    }
}

impl LiveReload {
    pub fn new() -> LiveReload {
        LiveReload {
            clients: Mutex::new(Vec::new()),
            state: Mutex::new(State::default()),
        }
    }

    /// Takes over a connection as an event stream: sends the SSE head and the current state.
    pub fn subscribe(&self, mut stream: TcpStream) {
        let state = self.state.lock().unwrap().clone();
        let mut first = String::from(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
             Connection: keep-alive\r\n\r\nretry: 1000\n\n",
        );
        if let Some(e) = &state.error {
            first.push_str(&event("error", e));
        }
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        if stream.write_all(first.as_bytes()).is_ok() {
            self.clients.lock().unwrap().push(stream);
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

    /// Sends a comment to every client so closed ones are dropped.
    pub fn ping(&self) {
        self.broadcast(": ping\n\n");
    }

    /// How many browsers are listening.
    pub fn listeners(&self) -> usize {
        self.clients.lock().unwrap().len()
    }

    /// Closes every event stream (at shutdown).
    pub fn close_all(&self) {
        for c in self.clients.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    /// A number that changes whenever what is injected into pages changes.
    pub fn generation(&self) -> u64 {
        self.state.lock().unwrap().generation
    }

    fn broadcast(&self, text: &str) {
        self.clients
            .lock()
            .unwrap()
            .retain_mut(|c| c.write_all(text.as_bytes()).and_then(|_| c.flush()).is_ok());
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
