//! `bloggo serve` and `bloggo stats`: the real binary on port 0, over loopback only.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::harness::{bin, Site};

pub const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
pub const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// A running `bloggo serve`, killed on drop.
pub struct Serving {
    child: Child,
    pub addr: SocketAddr,
    pub lines: Receiver<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// How many descriptors the server has open (`/proc/PID/fd`).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("read the server's /proc/PID/fd")
            .count()
    }

    /// Waits (at most `secs`) for the server to print a line starting with `prefix`.
    pub fn wait_for_line(&self, prefix: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return,
                Ok(_) => {}
                Err(e) => panic!("the server did not print {prefix:?} within {secs} s: {e}"),
            }
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    pub fn terminate(&mut self) -> i32 {
        crate::harness::terminate(&mut self.child)
    }

    /// One request on a fresh connection.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut c = Client::connect(self.addr);
        c.send("GET", path, headers)
    }

    /// Raw bytes on a fresh connection; the parsed response (the server closes after it).
    pub fn raw(&self, bytes: &[u8]) -> Resp {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(bytes);
        let mut r = BufReader::new(s);
        read_response(&mut r, false).expect("a response")
    }
}

impl Site {
    /// Starts `bloggo serve --port 0 ARGS` and reads the URL it prints first.
    pub fn serve(&self, args: &[&str]) -> Serving {
        self.serve_with_fd_limit(args, None)
    }

    /// Like [`Site::serve`], with at most `nofile` open descriptors (`ulimit -n` in sh, then
    /// exec: the pid stays the server's).
    pub fn serve_with_fd_limit(&self, args: &[&str], nofile: Option<u32>) -> Serving {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        let mut child = cmd
            .arg("--site")
            .arg(&self.root)
            .args(["serve", "--port", "0", "--bind", "127.0.0.1"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start bloggo serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serving = Serving {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            lines: rx,
        };
        let first = serving
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("serve printed its URL");
        let addr = first
            .strip_prefix("http://")
            .and_then(|r| r.strip_suffix('/'))
            .unwrap_or_else(|| panic!("first line is not a URL: {first:?}"));
        serving.addr = addr.parse().unwrap();
        assert!(serving.addr.ip().is_loopback());
        serving
    }

    /// A published post row.
    pub fn add_post(&self, slug: &str, title: &str) -> i64 {
        let c = self.conn();
        c.execute(
            "INSERT INTO posts (title, slug, status, content, published_at, author_id)
             VALUES (?1, ?2, 'published', 'text', '2026-01-01 00:00:00', 1)",
            [title, slug],
        )
        .unwrap();
        c.last_insert_rowid()
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_response(r: &mut impl BufRead, head_only: bool) -> Option<Resp> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
    let mut headers = HashMap::new();
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; if head_only { 0 } else { len }];
    r.read_exact(&mut body).ok()?;
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// A keep-alive connection.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.writer.write_all(req.as_bytes()).unwrap();
        read_response(&mut self.reader, method == "HEAD").expect("a response")
    }

    /// A request with a body (its `Content-Length` added).
    pub fn send_body(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.writer.write_all(&bytes).unwrap();
        read_response(&mut self.reader, method == "HEAD").expect("a response")
    }
}

/// A site with one published post and a hand-made output folder (served with --no-build).
fn site_with_output() -> Site {
    let site = Site::new();
    site.add_post("hello", "Hello");
    let files: &[(&str, &str)] = &[
        (
            "public/index.html",
            "<html><body><h1>home</h1></body></html>",
        ),
        (
            "public/posts/hello/index.html",
            "<html><body><h1>hello post</h1></body></html>",
        ),
        (
            "public/posts/ghost/index.html",
            "<html><body>not in the store</body></html>",
        ),
        (
            "public/404.html",
            "<html><body>custom missing page</body></html>",
        ),
        ("public/style.css", "body{}"),
        ("public/app.js", "let a=1;"),
        ("public/feed.xml", "<rss/>"),
        ("public/data.json", "{}"),
        ("public/logo.svg", "<svg/>"),
        ("public/img.png", "png"),
        ("public/img.jpg", "jpg"),
        ("public/img.webp", "webp"),
        ("public/font.woff2", "woff2"),
        ("public/robots.txt", "User-agent: *"),
        ("public/a folder/b.txt", "spaced"),
    ];
    for (rel, text) in files {
        site.write(rel, text);
    }
    site
}

#[test]
fn can_serve_files_with_types_etags_head_404_and_405() {
    let site = site_with_output();
    let s = site.serve(&["--no-build"]);
    for (path, mime) in [
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "javascript"),
        ("/feed.xml", "xml"),
        ("/data.json", "application/json"),
        ("/logo.svg", "image/svg+xml"),
        ("/img.png", "image/png"),
        ("/img.jpg", "image/jpeg"),
        ("/img.webp", "image/webp"),
        ("/font.woff2", "font/woff2"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        let ct = r.header("content-type").unwrap();
        assert!(ct.contains(mime), "{path}: {ct}");
    }
    assert_eq!(s.get("/a%20folder/b.txt", &[]).text(), "spaced");

    // ETag and If-None-Match.
    let r = s.get("/style.css", &[]);
    let etag = r.header("etag").unwrap().to_string();
    let again = s.get("/style.css", &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(
        s.get("/style.css", &[("If-None-Match", "\"other\"")])
            .status,
        200
    );

    // HEAD: the headers of GET, no body.
    let mut c = Client::connect(s.addr);
    let head = c.send("HEAD", "/style.css", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("6"));
    // The same connection still works: nothing was sent after the head.
    assert_eq!(c.send("GET", "/style.css", &[]).text(), "body{}");

    // Folders: index.html, and a redirect to the slash form.
    let r = s.get("/posts/hello", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/posts/hello/"));
    assert!(s.get("/posts/hello/", &[]).text().contains("hello post"));

    // The site's 404 page with status 404.
    let r = s.get("/nope/", &[]);
    assert_eq!(r.status, 404);
    assert!(r.text().contains("custom missing page"));

    // Methods it does not serve.
    for m in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = Client::connect(s.addr).send(m, "/", &[]);
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    // A --no-build server injects nothing into pages.
    assert!(!s.get("/", &[]).text().contains("livereload"));
}

#[test]
fn errors_on_every_traversal_form_and_malformed_request() {
    let site = site_with_output();
    let secret = site.read("bloggo.toml");
    std::fs::write(site.root.join("secret.txt"), "TOP-SECRET").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        site.root.join("secret.txt"),
        site.root.join("public/link.txt"),
    )
    .unwrap();
    let s = site.serve(&["--no-build"]);
    for path in [
        "/../secret.txt",
        "/posts/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/posts%2f..%2f..%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/secret.txt%00.html",
        "/%00",
        "/link.txt",
        "//etc/passwd",
        "/../bloggo.toml",
    ] {
        let r = s.raw(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
        assert!(!r.text().contains("TOP-SECRET"), "{path}");
        assert!(!r.text().contains(secret.lines().next().unwrap()), "{path}");
    }
    // Absolute paths and absolute-form targets.
    for target in [
        "/etc/passwd",
        "http://127.0.0.1/../secret.txt",
        "secret.txt",
        "*",
    ] {
        let r = s.raw(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
        assert!((400..500).contains(&r.status), "{target}: {}", r.status);
    }

    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100_000));
    let long_header = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(100_000));
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(1000));
    let bad: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /\x01 HTTP/1.1\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nno-colon-here\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".to_vec(),
        b"\xff\xfe\xfd\r\n\r\n".to_vec(),
        long_line.into_bytes(),
        long_header.into_bytes(),
        many.into_bytes(),
    ];
    for b in &bad {
        let r = s.raw(b);
        assert!(
            (400..=505).contains(&r.status) && r.status != 500,
            "{:?}: {}",
            String::from_utf8_lossy(&b[..b.len().min(40)]),
            r.status
        );
    }
    // A client that sends half a request and hangs up does not hurt anyone.
    let mut half = TcpStream::connect(s.addr).unwrap();
    half.write_all(b"GET /sty").unwrap();
    drop(half);
    // And the server still serves.
    assert_eq!(s.get("/style.css", &[]).status, 200);
}

#[test]
fn can_record_thousands_of_views_through_sigterm() {
    let site = site_with_output();
    let hello = site.add_post("second", "Second") - 1;
    site.write("public/posts/second/index.html", "<p>second</p>");
    let mut s = site.serve(&["--no-build"]);
    const THREADS: usize = 4;
    const PER_THREAD: usize = 600;
    let agents = [DESKTOP, PHONE, TABLET, BOT];
    let addr = s.addr;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let mut ok = 0;
                for i in 0..PER_THREAD {
                    let ua = agents[(t + i) % agents.len()];
                    let r = if i % 3 == 0 {
                        c.send(
                            "GET",
                            "/_bloggo/view?slug=second",
                            &[
                                ("User-Agent", ua),
                                ("Referer", "https://news.example/item?id=9"),
                            ],
                        )
                    } else {
                        c.send("GET", "/posts/hello/", &[("User-Agent", ua)])
                    };
                    assert!(r.status == 200 || r.status == 204, "{}", r.status);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let sent: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sent, THREADS * PER_THREAD);
    // Things that are not views.
    assert_eq!(
        s.get("/_bloggo/view?slug=nope", &[("User-Agent", DESKTOP)])
            .status,
        404
    );
    assert_eq!(
        s.get("/posts/ghost/", &[("User-Agent", DESKTOP)]).status,
        200
    );
    assert_eq!(s.get("/", &[("User-Agent", DESKTOP)]).status, 200);
    assert_eq!(s.get("/posts/hello/", &[]).status, 200); // no user agent: not a person
    let mut c = Client::connect(s.addr);
    assert_eq!(
        c.send("HEAD", "/posts/hello/", &[("User-Agent", DESKTOP)])
            .status,
        200
    );

    assert_eq!(s.terminate(), 0);

    // Every request from a person was recorded; bots were not.
    let people = sent / agents.len() * 3;
    assert_eq!(
        site.count("SELECT count(*) FROM post_views") as usize,
        people
    );
    assert_eq!(
        site.count("SELECT sum(view_count) FROM post_statistics") as usize,
        people
    );
    assert_eq!(
        site.count("SELECT sum(desktop_views + mobile_views + tablet_views) FROM post_statistics")
            as usize,
        people
    );
    for col in ["desktop_views", "mobile_views", "tablet_views"] {
        assert_eq!(
            site.count(&format!("SELECT sum({col}) FROM post_statistics")) as usize,
            people / 3,
            "{col}"
        );
    }
    assert_eq!(
        site.count(
            "SELECT count(*) FROM posts p JOIN post_statistics s ON s.post_id = p.id
                    WHERE p.view_count <> s.view_count"
        ),
        0
    );
    assert_eq!(
        site.count("SELECT count(*) FROM post_views WHERE user_agent LIKE '%Googlebot%'"),
        0
    );
    // Addresses are stored hashed, never as they came.
    assert_eq!(
        site.count("SELECT count(*) FROM post_views WHERE ip_address LIKE '127.%'"),
        0
    );
    assert_eq!(
        site.count("SELECT count(*) FROM post_views WHERE ip_address NOT LIKE 'h:%'"),
        0
    );
    // Referrers lose their query string.
    let referrers =
        site.rows("SELECT DISTINCT referrer FROM post_views WHERE referrer IS NOT NULL");
    assert_eq!(
        referrers,
        vec![vec!["https://news.example/item".to_string()]]
    );
    assert!(hello > 0);

    let out = site
        .run(&["stats", "--since", "1d", "--top", "5"])
        .ok()
        .stdout;
    assert!(out.contains("Views in the last 1d"), "{out}");
    assert!(out.contains(&format!(": {people}\n")), "{out}");
    assert!(out.contains("hello") && out.contains("second"), "{out}");
    assert!(out.contains("desktop") && out.contains("33.3%"), "{out}");
    assert!(out.contains("https://news.example/item"), "{out}");
}

#[test]
fn errors_on_a_port_in_use_and_stops_cleanly_at_once() {
    let site = site_with_output();
    let mut s = site.serve(&["--no-build"]);
    let port = s.addr.port().to_string();
    let other = Site::new();
    let r = other.run(&["serve", "--no-build", "--port", &port]).fails();
    assert!(r.stderr.contains("cannot listen on"), "{}", r.stderr);
    // A second server on the same site is refused by the serve lock.
    let r = site.run(&["serve", "--no-build", "--port", "0"]).fails();
    assert!(r.stderr.contains("running `bloggo serve`"), "{}", r.stderr);
    // SIGTERM right after start-up is a clean stop too.
    assert_eq!(s.terminate(), 0);
    let r = site.run(&["stats"]).ok();
    assert!(r.stdout.contains("No views recorded"), "{}", r.stdout);
}

/// Polls `ok` every 20 ms for at most `secs` seconds.
fn within(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("not within {secs} s: {what}");
}

/// The next SSE event name line; a rebuild can take longer than usual on a busy machine, so
/// events get 10 s (the 2 s promise is checked on the page itself).
fn next_event(events: &Receiver<String>) -> String {
    events
        .recv_timeout(Duration::from_secs(10))
        .expect("an SSE event within 10 s")
}

/// Saves a file the way most editors do (a hidden temp file renamed over it), so the watcher
/// never sees it truncated and half written: a plain write under load can arrive as two
/// changes, the first an empty (valid) post, and so as an extra reload.
fn save(site: &Site, rel: &str, text: &str) {
    let path = site.path(rel);
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

fn post_md(body: &str) -> String {
    format!("---\ntitle: Hello\ndate: 2026-01-01\n---\n{body}\n")
}

#[test]
fn can_rebuild_on_a_markdown_edit_and_keep_the_old_page_on_a_broken_one() {
    let site = Site::new();
    site.write("content/posts/hello.md", &post_md("First words."));
    let mut s = site.serve(&[]);
    // The first build runs right after the URL is printed. Its page is served as soon as the
    // new site is swapped in, a moment before the server has sent its reload event: wait for
    // the server to say it is done, or that event reaches the browser below.
    within(20, "the first build", || {
        s.get("/posts/hello/", &[]).text().contains("First words.")
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match s.lines.recv_timeout(left) {
            Ok(l) if l.starts_with("built in") => break,
            Ok(_) => {}
            Err(e) => panic!("no end of the first build in the server's log: {e}"),
        }
    }
    let page = s.get("/posts/hello/", &[("User-Agent", DESKTOP)]).text();
    assert!(
        page.contains("/_bloggo/livereload"),
        "the live-reload script is injected"
    );
    // Links point at the address served, not at base_url's port.
    assert!(!page.contains("127.0.0.1:4000"), "{page}");

    // A browser listening for reload events.
    let mut sse = TcpStream::connect(s.addr).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sse.write_all(b"GET /_bloggo/livereload HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (tx, events) = mpsc::channel::<String>();
    let reader = BufReader::new(sse.try_clone().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if line.starts_with("event:") && tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200));

    save(&site, "content/posts/hello.md", &post_md("Second words."));
    within(2, "the edit on the page", || {
        s.get("/posts/hello/", &[]).text().contains("Second words.")
    });
    assert_eq!(next_event(&events), "event: reload");

    // A broken edit: the last good page stays, with the error shown over it.
    save(
        &site,
        "content/posts/hello.md",
        "---\ntitle: [Hello\ndate: 2026-01-01\n---\nBroken words.\n",
    );
    // (A failure here once showed a stray event; the server's log says which rebuild sent it.)
    let event = next_event(&events);
    if event != "event: error" {
        let log: Vec<String> = s.lines.try_iter().collect();
        panic!(
            "expected the error event, got {event:?}; server log:\n{}",
            log.join("\n")
        );
    }
    let page = s.get("/posts/hello/", &[]).text();
    assert!(page.contains("Second words.") && !page.contains("Broken words."));
    assert!(
        page.contains("hello.md:"),
        "the overlay names the file: {page}"
    );

    // Fixed again: reload, no overlay. Nothing else rebuilds on its own.
    save(&site, "content/posts/hello.md", &post_md("Third words."));
    assert_eq!(next_event(&events), "event: reload");
    let page = s.get("/posts/hello/", &[("User-Agent", PHONE)]).text();
    assert!(page.contains("Third words.") && !page.contains("hello.md:"));
    assert!(events.recv_timeout(Duration::from_millis(1500)).is_err());

    assert_eq!(s.terminate(), 0);
    // The two views of the built post page were recorded (one desktop, one phone).
    assert_eq!(
        site.rows("SELECT view_count, desktop_views, mobile_views FROM post_statistics"),
        vec![vec!["2", "1", "1"]]
    );
    let out: Vec<String> = s.lines.try_iter().collect();
    assert!(
        out.iter().any(|l| l.contains("saved → reload sent:")),
        "{out:?}"
    );
}

#[test]
fn can_take_a_backup_at_start_up_while_serving_and_hold_the_lock() {
    let site = site_with_output();
    let cfg = site
        .read("bloggo.toml")
        .replace("# interval = \"24h\"", "interval = \"24h\"");
    assert!(cfg.contains("\ninterval = \"24h\""), "{cfg}");
    site.write("bloggo.toml", &cfg);
    let mut s = site.serve(&["--no-build"]);
    // No backup yet: one is taken at start-up, while requests are served.
    within(20, "a scheduled backup", || {
        s.get("/posts/hello/", &[("User-Agent", DESKTOP)]);
        site.run(&["backup", "list"]).stdout.contains("daily")
    });
    let list = site.run(&["backup", "list"]).ok().stdout;
    let id = list
        .split_whitespace()
        .find(|w| w.len() == 15 && w.as_bytes()[8] == b'-')
        .unwrap_or_else(|| panic!("no backup id in {list}"))
        .to_string();
    // The store cannot be replaced under a running server.
    let r = site.run(&["backup", "restore", &id, "--yes"]).fails();
    assert!(r.stderr.contains("running `bloggo serve`"), "{}", r.stderr);
    assert_eq!(s.terminate(), 0);
    assert!(site.count("SELECT count(*) FROM post_views") >= 1);
    // The scheduled backup is audited (no user acted) and remembered in the store.
    let audit = site.rows(
        "SELECT user_id, json_extract(new_values, '$.via'), json_extract(new_values, '$.result')
         FROM audit_logs WHERE action = 'backup.create'",
    );
    assert_eq!(audit, vec![vec!["NULL", "serve", "ok"]]);
    let remembered = site.rows(
        "SELECT json_extract(value, '$.id') FROM key_value_store WHERE key = 'backup.last_taken'",
    );
    assert_eq!(remembered, vec![vec![id.clone()]]);

    // Restarted right after: the last backup is recent, so none is taken at start-up.
    let mut again = site.serve(&["--no-build"]);
    again.wait_for_line("backup: the last one is recent; next in 23h", 20);
    assert_eq!(again.terminate(), 0);
    assert_eq!(
        site.count("SELECT count(*) FROM audit_logs WHERE action = 'backup.create'"),
        1
    );
}

/// Raises this test process's own descriptor limit to its hard limit (tests that hold hundreds
/// of client sockets run beside each other).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid, initialised rlimit struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Opens a live-reload event stream: connects and sends the request (the response is not
/// read, so this also works while the server cannot accept).
fn open_event_stream(addr: SocketAddr) -> Option<TcpStream> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.write_all(b"GET /_bloggo/livereload HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    Some(s)
}

/// A GET on a fresh connection that gives up after `secs` (None: no answer in time).
fn try_get(addr: SocketAddr, path: &str, secs: u64) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(secs)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(secs))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .ok()?;
    read_response(&mut BufReader::new(s), false).map(|r| r.status)
}

/// A site with one post in content/, served in --no-watch mode once its first build is done.
fn built_and_served(nofile: Option<u32>) -> (Site, Serving) {
    let site = Site::new();
    site.write("content/posts/hello.md", &post_md("Some words."));
    let s = site.serve_with_fd_limit(&["--no-watch"], nofile);
    s.wait_for_line("built in", 60);
    (site, s)
}

/// 300 browsers that open the live-reload stream and go away must not leave 300 descriptors
/// behind (they stayed in CLOSE_WAIT forever with --no-watch).
#[test]
fn live_reload_streams_of_clients_that_left_are_released() {
    raise_fd_limit();
    let (_site, mut s) = built_and_served(None);
    assert_eq!(s.get("/", &[]).status, 200);
    let before = s.open_fds();
    let streams: Vec<BufReader<TcpStream>> = (0..300)
        .map(|_| {
            let c = open_event_stream(s.addr).expect("connect");
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = BufReader::new(c);
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
            r
        })
        .collect();
    let held = s.open_fds();
    assert!(
        held >= before + 290,
        "the streams are open: {before} → {held}"
    );
    drop(streams);
    within(
        8,
        "the descriptors of the closed streams are released",
        || s.open_fds() <= before + 5,
    );
    assert_eq!(s.get("/", &[]).status, 200);
    assert_eq!(s.terminate(), 0);
}

/// At the descriptor limit the server cannot accept; once clients go away it serves again, and
/// SIGTERM stops it even while every descriptor is taken.
#[test]
fn a_server_out_of_descriptors_recovers_and_still_stops() {
    raise_fd_limit();
    let (_site, mut s) = built_and_served(Some(96));
    assert_eq!(s.get("/", &[]).status, 200);
    let flood =
        |n: usize| -> Vec<TcpStream> { (0..n).filter_map(|_| open_event_stream(s.addr)).collect() };
    let streams = flood(200);
    std::thread::sleep(Duration::from_millis(500));
    drop(streams);
    within(10, "a normal request is served again", || {
        try_get(s.addr, "/", 2) == Some(200)
    });
    // Taken again, then SIGTERM.
    let streams = flood(200);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.terminate(), 0);
    drop(streams);
}

/// Slowloris: 200 connections each sending one byte of a request head every 3 s (reconnecting
/// when dropped) must not keep a well-behaved client from being served.
#[test]
fn trickling_request_heads_do_not_starve_other_clients() {
    raise_fd_limit();
    let site = site_with_output();
    let s = site.serve(&["--no-build"]);
    let addr = s.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
            let connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok();
            let mut conns: Vec<(Option<TcpStream>, usize)> =
                (0..200).map(|_| (connect(), 0)).collect();
            let (mut sent, mut reconnects) = (0usize, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (c, at) in conns.iter_mut() {
                    let ok = c
                        .as_mut()
                        .is_some_and(|s| s.write_all(&HEAD[*at % HEAD.len()..][..1]).is_ok());
                    if ok {
                        *at += 1;
                        sent += 1;
                    } else {
                        *c = connect();
                        *at = 0;
                        reconnects += 1;
                    }
                }
                // One byte per connection every 3 s, checking for the end every 100 ms.
                for _ in 0..30 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            (sent, reconnects)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (mut served, mut slowest) = (0, Duration::ZERO);
    while started.elapsed() < Duration::from_secs(8) {
        let t = Instant::now();
        assert_eq!(
            try_get(addr, "/style.css", 5),
            Some(200),
            "a normal request failed after {:?} of trickling",
            started.elapsed()
        );
        slowest = slowest.max(t.elapsed());
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, _reconnects) = trickler.join().unwrap();
    assert!(sent >= 400, "the slow clients sent only {sent} bytes");
    assert!(
        slowest < Duration::from_secs(2),
        "{served} requests served, the slowest took {slowest:?}"
    );
}

/// `//evil.example` names the folder `evil.example` of the site (an alias can make one); its
/// redirect must stay on this site: one leading slash, never `//host`.
#[test]
fn redirects_never_leave_the_site() {
    let site = site_with_output();
    site.write("public/evil.example/index.html", "<p>alias</p>");
    let s = site.serve(&["--no-build"]);
    for (target, to) in [
        ("//evil.example", "/evil.example/"),
        ("///evil.example", "/evil.example/"),
        ("//posts", "/posts/"),
        ("//posts//hello", "/posts/hello/"),
        ("//evil.example?x=1", "/evil.example/?x=1"),
        ("/evil.example", "/evil.example/"),
    ] {
        let r = s.raw(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        assert_eq!(r.status, 301, "{target}");
        assert_eq!(r.header("location"), Some(to), "{target}");
    }
    // A backslash (browsers read `/\host` as `//host`) is refused outright.
    let r = s.raw(b"GET /%5Cevil.example HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 400);
}

/// Files bloggo keeps in the output folder (its manifest) and other hidden files are not part
/// of the site; `.well-known` is.
#[test]
fn internal_and_hidden_files_are_not_served() {
    let site = site_with_output();
    site.write(
        "public/.bloggo-manifest",
        "bloggo-output-manifest-2\nsecret",
    );
    site.write("public/.bloggo-manifest.json", "{}");
    site.write("public/.env", "TOKEN=1");
    site.write("public/.git/config", "[core]");
    site.write("public/posts/.hello.md.swp", "swap");
    site.write("public/.well-known/acme-challenge/t", "token");
    let s = site.serve(&["--no-build"]);
    for path in [
        "/.bloggo-manifest",
        "/.bloggo-manifest.json",
        "/.env",
        "/.git/config",
        "/.git/",
        "/.git",
        "/%2ebloggo-manifest",
        "/posts/.hello.md.swp",
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 404, "{path}");
        assert!(
            !r.text().contains("secret") && !r.text().contains("TOKEN"),
            "{path}"
        );
    }
    assert_eq!(s.get("/.well-known/acme-challenge/t", &[]).text(), "token");
}

/// While the start-up build runs, a page that is not there yet gets a small "building" page
/// (503, Retry-After) that reloads itself when the build is done, never a 404.
#[test]
fn pages_requested_during_the_first_build_get_a_building_page() {
    let site = Site::new();
    crate::crash::write_posts(&site.path("content/posts"), "post", 300);
    let s = site.serve(&["--no-watch"]);
    let r = s.get("/", &[]);
    assert_eq!(
        r.status,
        503,
        "the first request came while the site was building: {}",
        r.text()
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.text().contains("Building"), "{}", r.text());
    assert!(
        r.text().contains("/_bloggo/livereload?start-up"),
        "{}",
        r.text()
    );
    // The building page's script: one reload event when the build is done.
    assert_eq!(start_up_event(s.addr, 60).as_deref(), Some("event: reload"));
    let r = s.get("/", &[]);
    assert_eq!(r.status, 200);
    assert!(site.path("public/.bloggo-manifest").is_file());
    assert_eq!(s.get("/.bloggo-manifest", &[]).status, 404);
    // Afterwards a missing page is a 404 again, and a late start-up listener is told at once.
    assert_eq!(s.get("/nope/", &[]).status, 404);
    assert_eq!(start_up_event(s.addr, 5).as_deref(), Some("event: reload"));
}

/// Files larger than one read are streamed whole (and HEAD still says how long they are).
#[test]
fn can_serve_a_large_file_in_chunks() {
    let site = site_with_output();
    let big: String = (0..200_000).map(|i| format!("{i:07}\n")).collect();
    site.write("public/big.txt", &big);
    let s = site.serve(&["--no-build"]);
    let mut c = Client::connect(s.addr);
    let r = c.send("GET", "/big.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), big.len());
    assert!(r.body == big.as_bytes(), "the bytes differ");
    let head = c.send("HEAD", "/big.txt", &[]);
    assert_eq!(
        head.header("content-length"),
        Some(big.len().to_string().as_str())
    );
    assert_eq!(c.send("GET", "/style.css", &[]).text(), "body{}");
}

/// The first event the building page's live-reload stream sends, waiting at most `secs`.
fn start_up_event(addr: SocketAddr, secs: u64) -> Option<String> {
    let mut sse = TcpStream::connect(addr).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    sse.write_all(b"GET /_bloggo/livereload?start-up HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    BufReader::new(sse)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("event:"))
}
