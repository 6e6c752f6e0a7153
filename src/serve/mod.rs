//! `bloggo serve`: a local preview server that records page views.
//!
//! - [`http`]: request heads with hard limits, responses;
//! - [`files`]: request paths → files of the output folder (no way out of it);
//! - [`views`]: the single writer thread that batches views into short transactions;
//! - [`device`], [`privacy`]: user agent classes and IP anonymisation;
//! - [`watcher`], [`livereload`]: rebuild triggers and the browser side of rebuilds;
//! - [`rebuild`]: the loop that runs rebuilds and reports them; [`backups`]: the schedule.
//!
//! A [`Server`] owns one accept thread, a fixed pool of worker threads and a parker thread
//! ([`pool`]): a worker serves one connection at a time and, when other connections wait, hands
//! its keep-alive connection back after each response, so every client gets its turn and idle
//! connections hold no worker. Stopping it stops accepting, lets every worker finish the
//! request it is on, then lets the view writer commit everything queued.

pub mod backups;
pub mod device;
pub mod files;
pub mod http;
pub mod livereload;
pub mod pool;
pub mod privacy;
pub mod rebuild;
pub mod views;
pub mod watcher;

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::store::views::{post_ids_by_slug, NewView};
use crate::store::{now_text, Store};
use device::Device;
use files::Resolved;
use http::{Body, Limits, ReadError, Request, Response};
use livereload::LiveReload;
use pool::{Conn, Pool};
use privacy::IpAnonymiser;
use views::{ViewSender, WriterReport};

/// The beacon a page (or a deployed static site) calls to count a view: `?slug=...`.
pub const BEACON_PATH: &str = "/_bloggo/view";
/// How long an idle keep-alive connection is kept.
const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);
/// Most requests served on one connection.
const MAX_REQUESTS_PER_CONNECTION: u32 = 10_000;
/// How often blocked reads wake up to check for shutdown and for connections waiting.
const POLL: Duration = Duration::from_millis(20);

/// What a server needs to know, resolved from settings and flags.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: IpAddr,
    pub port: u16,
    pub workers: usize,
    /// The folder served (created when missing).
    pub output: PathBuf,
    /// The store views are recorded in.
    pub store: PathBuf,
    /// The URL segment posts are published under (`posts` → `/posts/<slug>/`).
    pub posts_segment: String,
    pub record_views: bool,
    /// Longest time a recorded view waits before it is committed.
    pub flush_interval: Duration,
    /// Drafts are served too (their views count).
    pub drafts: bool,
    /// Inject the live-reload script into served HTML.
    pub live_reload: bool,
    pub limits: Limits,
}

/// State every worker reads.
struct Shared {
    root: PathBuf,
    posts_segment: String,
    slugs: RwLock<HashMap<String, i64>>,
    /// When the slugs were last re-read on a miss (milliseconds after `started`, plus 1,000).
    slugs_read_at: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
    store: PathBuf,
    drafts: bool,
    anonymiser: IpAnonymiser,
    devices: device::Classifier,
    live: Option<LiveReload>,
    limits: Limits,
    stop: AtomicBool,
    /// Connections waiting for a worker, and parked keep-alive connections: while any wait,
    /// a worker hands its connection back between requests and slow request heads are dropped.
    pool: Pool,
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
    accept: Option<JoinHandle<()>>,
    parker: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    /// The server's own view sender; workers hold clones.
    views: Option<ViewSender>,
    writer: Option<JoinHandle<WriterReport>>,
}

/// What the rebuild side needs of a running server (cheap to clone; holds no view sender, so
/// it never keeps the view writer alive).
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// The live-reload hub (None when live reload is off).
    pub fn live(&self) -> Option<&LiveReload> {
        self.shared.live.as_ref()
    }

    /// Re-reads which slugs are posts (after a rebuild synced the store).
    pub fn refresh_posts(&self) -> Result<()> {
        self.shared.read_slugs().map(|_| ())
    }

    /// The store the server records views in.
    pub fn store(&self) -> &Path {
        &self.shared.store
    }
}

impl Server {
    /// Binds, starts the view writer, the workers and the accept thread.
    pub fn start(opts: &ServeOptions) -> Result<Server> {
        std::fs::create_dir_all(&opts.output).with_context(|| {
            format!("{}: cannot create the output folder", opts.output.display())
        })?;
        let root = opts
            .output
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve", opts.output.display()))?;
        let listener = TcpListener::bind((opts.bind, opts.port)).with_context(|| {
            format!(
                "cannot listen on {}:{}; pick another --port (0 picks a free one)",
                opts.bind, opts.port
            )
        })?;
        let addr = listener.local_addr()?;
        let slugs = post_ids_by_slug(&Store::connect(&opts.store)?, opts.drafts)
            .context("cannot read the posts' slugs from the store")?;
        let (views, writer) = if opts.record_views {
            let conn = Store::connect(&opts.store)?;
            // Views are appended: a small page cache and no memory map keep the writer's memory
            // flat however large post_views grows (the defaults suit builds, not a server).
            conn.execute_batch("PRAGMA cache_size = -2048; PRAGMA mmap_size = 0;")
                .context("cannot set up the view writer's connection")?;
            let (tx, handle) = views::spawn_writer(conn, opts.flush_interval)?;
            (Some(tx), Some(handle))
        } else {
            (None, None)
        };
        let shared = Arc::new(Shared {
            root,
            posts_segment: opts.posts_segment.clone(),
            slugs: RwLock::new(slugs),
            slugs_read_at: std::sync::atomic::AtomicU64::new(0),
            started: std::time::Instant::now(),
            store: opts.store.clone(),
            drafts: opts.drafts,
            anonymiser: IpAnonymiser::new()?,
            devices: device::Classifier::default(),
            live: opts.live_reload.then(LiveReload::new),
            limits: opts.limits,
            stop: AtomicBool::new(false),
            pool: Pool::new(opts.workers.max(1) * 64, KEEP_ALIVE_IDLE)?,
        });
        let workers = (0..opts.workers.max(1))
            .map(|i| {
                let shared = shared.clone();
                let views = views.clone();
                std::thread::Builder::new()
                    .name(format!("bloggo-http-{i}"))
                    .spawn(move || worker(&shared, views.as_ref()))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let parker_shared = shared.clone();
        let parker = std::thread::Builder::new()
            .name("bloggo-parker".into())
            .spawn(move || parker_shared.pool.run_parker())?;
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("bloggo-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if accept_shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match conn {
                        Ok(s) => {
                            // A client gone before it was set up needs no answer.
                            let Ok(c) = Conn::new(s, POLL) else { continue };
                            if accept_shared.pool.push_new(c).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            eprintln!("serve: accept failed: {e}");
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                // Dropping the listener stops accepting.
            })?;
        Ok(Server {
            addr,
            handle: ServerHandle { shared },
            accept: Some(accept),
            parker: Some(parker),
            workers,
            views,
            writer,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// A handle for the rebuild side.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Stops accepting, finishes in-flight requests, commits every queued view.
    pub fn shutdown(self) -> WriterReport {
        let Server {
            addr,
            handle,
            accept,
            parker,
            workers,
            views,
            writer,
        } = self;
        let shared = handle.shared;
        shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept thread blocked in accept().
        let wake = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], addr.port()))
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
            }
            _ => addr,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(a) = accept {
            let _ = a.join();
        }
        // Workers serve what is queued (one request each: `stop` ends keep-alive), then return.
        shared.pool.close();
        if let Some(p) = parker {
            let _ = p.join();
        }
        for w in workers {
            let _ = w.join();
        }
        if let Some(live) = &shared.live {
            live.close_all();
        }
        // Every worker is gone, so this is the last sender of views: the writer drains and stops.
        drop(views);
        writer
            .map(|w| w.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

fn worker(shared: &Shared, views: Option<&ViewSender>) {
    while let Some(conn) = shared.pool.take() {
        // A bug in one request must not shrink the pool: the connection is dropped, the
        // worker goes on.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve_connection(shared, views, conn)
        }));
        if served.is_err() {
            eprintln!("serve: a request failed unexpectedly; its connection was closed");
        }
    }
}

/// Serves requests on a connection until it closes, or hands it back to the pool between
/// requests when other connections wait.
fn serve_connection(shared: &Shared, views: Option<&ViewSender>, mut conn: Conn) {
    loop {
        let stopping = || shared.stop.load(Ordering::Relaxed);
        let active = conn.active;
        let idle_too_long = || active.elapsed() > KEEP_ALIVE_IDLE;
        let waited = pool::wait_readable(&mut conn, || {
            stopping() || idle_too_long() || shared.pool.waiting() > 0
        });
        match waited {
            pool::Waited::Request => {}
            pool::Waited::Closed => return,
            pool::Waited::GaveUp => {
                // Idle while others wait: parked, not closed.
                if !stopping() && !idle_too_long() {
                    shared.pool.hand_back(conn);
                }
                return;
            }
        }
        let mut idle = || stopping() || shared.pool.waiting() > 0;
        let rq = match http::read_request(&mut conn.reader, &shared.limits, &mut idle) {
            Ok(rq) => rq,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, why)) => {
                let _ = Response::text(status, why).write_to(&mut conn.writer, false, false);
                lingering_close(conn.reader.get_mut());
                return;
            }
        };
        conn.served += 1;
        if rq.method == "GET" && files::split_target(&rq.target).0 == livereload::EVENTS_PATH {
            if let Some(live) = &shared.live {
                if let Ok(stream) = conn.writer.into_inner() {
                    live.subscribe(stream);
                }
                return;
            }
        }
        let keep = rq.keep_alive()
            && !rq.has_body()
            && conn.served < MAX_REQUESTS_PER_CONNECTION
            && !stopping();
        let response = respond(shared, views, &rq, conn.peer);
        if response
            .write_to(&mut conn.writer, rq.method == "HEAD", keep)
            .is_err()
            || !keep
        {
            return;
        }
        conn.active = Instant::now();
        if shared.pool.waiting() > 0 {
            shared.pool.hand_back(conn);
            return;
        }
    }
}

/// Closes a connection whose client may still be sending (an oversized head): stops writing,
/// then reads and drops what arrives for a moment, so the kernel does not reset the connection
/// before the client has read the error response.
fn lingering_close(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut buf = [0u8; 16 * 1024];
    let mut left = 4 * 1024 * 1024usize;
    while Instant::now() < deadline && left > 0 {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Answers one request; a view is queued before its 200 is returned.
fn respond(shared: &Shared, views: Option<&ViewSender>, rq: &Request, ip: IpAddr) -> Response {
    if rq.method != "GET" && rq.method != "HEAD" {
        return Response::text(405, "only GET and HEAD are served").header("Allow", "GET, HEAD");
    }
    let (path, query) = files::split_target(&rq.target);
    if path == BEACON_PATH {
        return beacon(shared, views, rq, query, ip);
    }
    match files::resolve(&shared.root, &rq.target) {
        Resolved::File(file) => match file_response(shared, rq, &file, 200) {
            Ok(resp) => {
                if resp.status == 200 && rq.method == "GET" {
                    if let Some(slug) = post_slug(&shared.posts_segment, path) {
                        if let Some(id) = post_id(shared, &slug) {
                            record(shared, views, rq, id, ip);
                        }
                    }
                }
                resp
            }
            Err(e) => {
                eprintln!("serve: {}: {e}", file.display());
                Response::text(500, "the file could not be read")
            }
        },
        Resolved::Redirect(to) => Response::new(301).header("Location", to),
        Resolved::NotFound => not_found(shared, rq),
        Resolved::Forbidden => Response::text(403, "forbidden: the path leads outside the site"),
        Resolved::BadPath(why) => Response::text(400, why),
    }
}

/// The slug when `path` is a post page: `/<posts>/<slug>/` or `/<posts>/<slug>/index.html`.
pub fn post_slug(posts_segment: &str, path: &str) -> Option<String> {
    let segs = files::decode_segments(path).ok()?;
    match segs.as_slice() {
        [p, slug] if p == posts_segment && path.ends_with('/') => Some(slug.clone()),
        [p, slug, index] if p == posts_segment && index == "index.html" => Some(slug.clone()),
        _ => None,
    }
}

fn beacon(
    shared: &Shared,
    views: Option<&ViewSender>,
    rq: &Request,
    query: Option<&str>,
    ip: IpAddr,
) -> Response {
    let slug = query.and_then(|q| {
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "slug").then(|| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    });
    let Some(slug) = slug.filter(|s| !s.is_empty()) else {
        return Response::text(400, "the beacon needs ?slug=POST-SLUG");
    };
    let id = shared.slugs.read().unwrap().get(&slug).copied();
    let Some(id) = id else {
        return Response::text(404, "no published post has this slug");
    };
    if rq.method == "GET" {
        record(shared, views, rq, id, ip);
    }
    Response::new(204)
        .header("Cache-Control", "no-store")
        .header("Access-Control-Allow-Origin", "*")
}

/// The post a served page belongs to. A page the map does not know may be a post the rebuild
/// just swapped in, before it re-read the slugs: the map is re-read then, at most once a second
/// (so requests for other pages under the posts folder cannot make the server read the store
/// on every request).
fn post_id(shared: &Shared, slug: &str) -> Option<i64> {
    if let Some(id) = shared.slugs.read().unwrap().get(slug) {
        return Some(*id);
    }
    let now = shared.started.elapsed().as_millis() as u64 + 1_000;
    let last = shared
        .slugs_read_at
        .load(std::sync::atomic::Ordering::Relaxed);
    if now < last + 1_000
        || shared
            .slugs_read_at
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_err()
    {
        return None;
    }
    shared.read_slugs().ok()?.get(slug).copied()
}

impl Shared {
    /// Re-reads which slugs are posts from the store, and returns them.
    fn read_slugs(&self) -> Result<std::sync::RwLockReadGuard<'_, HashMap<String, i64>>> {
        let slugs = post_ids_by_slug(&Store::connect(&self.store)?, self.drafts)?;
        *self.slugs.write().unwrap() = slugs;
        Ok(self.slugs.read().unwrap())
    }
}

/// Queues a view unless it comes from a bot.
fn record(shared: &Shared, views: Option<&ViewSender>, rq: &Request, post_id: i64, ip: IpAddr) {
    let Some(views) = views else { return };
    let ua = rq.header("user-agent").unwrap_or("");
    let Device::Person(device) = shared.devices.classify(ua) else {
        return;
    };
    let viewed_at = now_text();
    let view = NewView {
        post_id,
        ip: shared.anonymiser.anonymise(ip, &viewed_at[..10]),
        user_agent: truncate(ua, 512).to_string(),
        referrer: rq.header("referer").and_then(clean_referrer),
        viewed_at,
        device,
    };
    if !views.send(view) {
        eprintln!("serve: the view writer stopped; a view was not recorded");
    }
}

/// A referrer without its query and fragment (they can carry personal data), at most 500 bytes.
fn clean_referrer(r: &str) -> Option<String> {
    let r = r.split(['?', '#']).next().unwrap_or("").trim();
    (!r.is_empty()).then(|| truncate(r, 500).to_string())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn file_response(
    shared: &Shared,
    rq: &Request,
    file: &Path,
    status: u16,
) -> std::io::Result<Response> {
    let mut f = std::fs::File::open(file)?;
    let meta = f.metadata()?;
    let html = files::is_html(file);
    let live = shared.live.as_ref().filter(|_| html);
    let etag = files::etag(&meta, live.map_or(0, |l| l.generation() + 1));
    if status == 200 {
        if let Some(inm) = rq.header("if-none-match") {
            if files::etag_matches(inm, &etag) {
                return Ok(Response::new(304)
                    .header("ETag", etag)
                    .header("Cache-Control", "no-cache"));
            }
        }
    }
    let resp = Response::new(status)
        .header("Content-Type", files::content_type(file))
        .header("Cache-Control", "no-cache");
    let resp = if status == 200 {
        resp.header("ETag", etag)
    } else {
        resp
    };
    Ok(match live {
        Some(live) => {
            let mut text = String::new();
            f.read_to_string(&mut text)?;
            resp.body(Body::Bytes(live.inject(&text).into_bytes()))
        }
        None => resp.body(Body::File(f, meta.len())),
    })
}

fn not_found(shared: &Shared, rq: &Request) -> Response {
    let page = shared.root.join("404.html");
    if page.is_file() {
        if let Ok(r) = file_response(shared, rq, &page, 404) {
            return r;
        }
    }
    Response::text(404, "not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_pages_are_recognised() {
        assert_eq!(post_slug("posts", "/posts/hello/"), Some("hello".into()));
        assert_eq!(
            post_slug("posts", "/posts/hello/index.html"),
            Some("hello".into())
        );
        assert_eq!(post_slug("posts", "/posts/hello"), None);
        assert_eq!(post_slug("posts", "/posts/"), None);
        assert_eq!(post_slug("posts", "/tags/hello/"), None);
        assert_eq!(post_slug("posts", "/posts/a/b/"), None);
    }

    #[test]
    fn referrers_lose_their_query() {
        assert_eq!(
            clean_referrer("https://news.example/item?id=1#c").as_deref(),
            Some("https://news.example/item")
        );
        assert_eq!(clean_referrer(""), None);
        assert_eq!(truncate("héllo", 2), "h");
    }
}

/// The live-reload path end to end with a stand-in for the site builder: watcher → debounced
/// rebuild → SSE event → new page; a failing rebuild keeps the last page and adds the overlay.
#[cfg(test)]
mod live_tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::{mpsc, Mutex};

    use super::watcher::{Change, Fingerprint, WatchSet};
    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("not within 2 s: {what}");
    }

    /// A server on a free local port over `output`, recording views into `store`.
    fn test_options(output: &Path, store: &Path) -> ServeOptions {
        ServeOptions {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            workers: 2,
            output: output.to_path_buf(),
            store: store.to_path_buf(),
            posts_segment: "posts".into(),
            record_views: true,
            flush_interval: Duration::from_millis(50),
            drafts: false,
            live_reload: true,
            limits: Limits::default(),
        }
    }

    /// A rebuild swaps a new post's page in a moment before the server re-reads which slugs
    /// are posts; a view in that moment still counts.
    #[test]
    fn a_view_of_a_post_the_server_has_not_heard_of_yet_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().canonicalize().unwrap();
        let (output, store) = (site.join("public"), site.join("s.sqlite"));
        Store::open(&store, true).unwrap();
        let server = Server::start(&ServeOptions {
            workers: 1,
            live_reload: false,
            ..test_options(&output, &store)
        })
        .unwrap();
        Store::connect(&store)
            .unwrap()
            .execute(
                "INSERT INTO posts (title, slug, status) VALUES ('New', 'new', 'published')",
                [],
            )
            .unwrap();
        std::fs::create_dir_all(output.join("posts/new")).unwrap();
        std::fs::write(output.join("posts/new/index.html"), "<p>new</p>").unwrap();
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET /posts/new/ HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) \
             AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        server.shutdown();
        let views: i64 = Store::connect(&store)
            .unwrap()
            .query_row("SELECT count(*) FROM post_views", [], |r| r.get(0))
            .unwrap();
        assert_eq!(views, 1);
    }

    #[test]
    fn edits_reload_the_page_and_failures_keep_the_last_one() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().canonicalize().unwrap();
        let (content, output, store) = (
            site.join("content"),
            site.join("public"),
            site.join("s.sqlite"),
        );
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join("a.md"), "version one").unwrap();
        Store::open(&store, true).unwrap();
        let (src, out) = (content.join("a.md"), output.clone());
        let mut build: rebuild::RebuildFn = Box::new(move || {
            let text = std::fs::read_to_string(&src)?;
            if text.contains("BROKEN") {
                anyhow::bail!("content/a.md:1: bad front matter");
            }
            std::fs::create_dir_all(&out)?;
            let tmp = out.join(".index.tmp");
            std::fs::write(&tmp, format!("<html><body>{text}</body></html>"))?;
            std::fs::rename(&tmp, out.join("index.html"))?;
            Ok(rebuild::Rebuilt {
                summary: "1 page".into(),
                changed: true,
            })
        });
        let server = Server::start(&test_options(&output, &store)).unwrap();
        let fingerprint: Fingerprint = Arc::new(Mutex::new(None));
        assert!(rebuild::rebuild_once(
            &server.handle(),
            &mut build,
            None,
            &fingerprint
        ));
        let addr = server.addr();
        assert!(get(addr, "/").contains("version one"));

        // A browser listening for events.
        let mut sse = TcpStream::connect(addr).unwrap();
        sse.write_all(b"GET /_bloggo/livereload HTTP/1.1\r\n\r\n")
            .unwrap();
        let (etx, events) = mpsc::channel::<String>();
        let reader = BufReader::new(sse.try_clone().unwrap());
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if line.starts_with("event:") && etx.send(line).is_err() {
                    break;
                }
            }
        });
        wait_for("the browser subscribed", || {
            server.handle().live().unwrap().listeners() == 1
        });

        let (tx, rx) = mpsc::channel::<Change>();
        let set = WatchSet {
            folders: vec![content.clone()],
            root: site.clone(),
            ignored: vec![output.clone()],
        };
        let debouncer = watcher::watch(set, Duration::from_millis(100), tx).unwrap();
        let rebuilds = rebuild::spawn_rebuilds(server.handle(), rx, build, fingerprint).unwrap();

        // A burst of saves: one rebuild, one reload event, the new page within 2 s.
        for i in 0..3 {
            std::fs::write(content.join("a.md"), format!("version two {i}")).unwrap();
        }
        wait_for("the edit shows", || {
            get(addr, "/").contains("version two 2")
        });
        assert_eq!(
            events.recv_timeout(Duration::from_secs(2)).unwrap(),
            "event: reload"
        );

        // A broken edit: the old page stays, with the error overlay, and an error event.
        std::fs::write(content.join("a.md"), "BROKEN").unwrap();
        assert_eq!(
            events.recv_timeout(Duration::from_secs(2)).unwrap(),
            "event: error"
        );
        let page = get(addr, "/");
        assert!(page.contains("version two 2"), "{page}");
        assert!(page.contains("bad front matter"), "{page}");

        // Fixed: reloads, overlay gone. Writes to the output never trigger a rebuild.
        std::fs::write(content.join("a.md"), "version three").unwrap();
        assert_eq!(
            events.recv_timeout(Duration::from_secs(2)).unwrap(),
            "event: reload"
        );
        let page = get(addr, "/");
        assert!(page.contains("version three") && !page.contains("bad front matter"));
        assert!(events.recv_timeout(Duration::from_millis(500)).is_err());

        drop(debouncer);
        server.shutdown();
        rebuilds.join().unwrap();
    }
}
