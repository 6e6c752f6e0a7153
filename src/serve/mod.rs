//! `bloggo serve`: a local preview server that records page views.
//!
//! - [`http`]: the transport (hyper's HTTP/1 server on a small tokio runtime; why, in its
//!   module doc), request limits, the plain request and response types;
//! - [`files`]: request paths → files of the output folder (no way out of it, no hidden files);
//! - [`pages`]: which served file is which post's page (the map of the build being served);
//! - [`views`]: the single writer thread that batches views into short transactions;
//! - [`device`], [`privacy`]: user agent classes and IP anonymisation;
//! - [`watcher`], [`livereload`]: rebuild triggers and the browser side of rebuilds;
//! - [`rebuild`]: the loop that runs rebuilds and reports them; [`backups`]: the schedule;
//!   [`webhooks`]: the thread that sends webhook deliveries.
//! - [`api`]: the admin API under `/_bloggo/api/` (sign-in, tokens, health, backups, stats),
//!   [`lockout`]: its sign-in attempts per address.
//! - [`dashboard`]: the stats page at `/_bloggo/stats`, for loopback clients.
//! - [`repeats`]: the rate rule of the public collector (`serve --public`, [`ServeOptions::public`]),
//!   which answers the view beacon and nothing else.
//!
//! A [`Server`] owns a tokio runtime whose few worker threads answer complete requests; a
//! connection that is slow to send its head, idle between requests, or listening for reload
//! events holds no thread. The answers are plain functions of this module ([`respond`]):
//! files, ETags, HEAD, 404 and 405, the view beacon, the live-reload script. Stopping the
//! server stops accepting, lets every request in flight finish, then lets the view writer
//! commit everything queued.

pub mod api;
pub mod backups;
pub mod dashboard;
pub mod device;
pub mod files;
pub mod http;
pub mod livereload;
pub mod lockout;
pub mod pages;
pub mod privacy;
pub mod rebuild;
pub mod repeats;
pub mod views;
pub mod watcher;
pub mod webhooks;

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyper::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER,
};
use hyper::Method;

use crate::model::Timestamp;
use crate::store::views::NewView;
use crate::store::Store;
use device::Device;
use files::Resolved;
use http::{Body, Limits, Request, Response};
use livereload::LiveReload;
use pages::PostPages;
use privacy::IpAnonymiser;
use repeats::RecentViews;
use views::{ViewSender, WriterReport};

/// The beacon a page (or a deployed static site) calls to count a view: `?slug=...`.
pub const BEACON_PATH: &str = "/_bloggo/view";

/// What a server needs to know, resolved from settings and flags.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: IpAddr,
    pub port: u16,
    /// Threads that answer complete requests (the runtime's workers).
    pub workers: usize,
    /// The folder served (created when missing).
    pub output: PathBuf,
    /// The store views are recorded in.
    pub store: PathBuf,
    /// Which file of `output` is which post's page as the folder is at start (those of the
    /// build that made it); each later build hands its own to [`ServerHandle::set_post_pages`].
    pub post_pages: PostPages,
    pub record_views: bool,
    /// Longest time a recorded view waits before it is committed.
    pub flush_interval: Duration,
    /// Drafts are served too (their views count).
    pub drafts: bool,
    /// Inject the live-reload script into served HTML.
    pub live_reload: bool,
    /// A start-up build runs after the server starts: until [`ServerHandle::start_up_done`],
    /// a page that is not there gets the "building…" page (503) instead of a 404.
    pub start_up_build: bool,
    pub limits: Limits,
    /// The site, for the admin API (`None`: no API, its paths are 404).
    pub api: Option<crate::config::Settings>,
    /// The public collector: only the view beacon is answered (every other path is a 404),
    /// and a post viewed again from the same address within [`repeats::WINDOW`] counts once.
    pub public: bool,
}

/// State every request reads.
struct Shared {
    root: PathBuf,
    /// Which served file is which post's page: the map of the build being served, replaced
    /// whole by the next build as it swaps its site in.
    post_pages: RwLock<Arc<PostPages>>,
    /// The posts by slug, for the beacon (`?slug=`).
    slugs: RwLock<HashMap<String, i64>>,
    store: PathBuf,
    drafts: bool,
    record_views: bool,
    anonymiser: IpAnonymiser,
    devices: device::Classifier,
    live: Option<LiveReload>,
    api: Option<Arc<api::Api>>,
    public: bool,
    /// The rate rule (public collector only).
    repeats: Option<Mutex<RecentViews>>,
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
    runtime: tokio::runtime::Runtime,
    /// Set to true to stop accepting.
    stop: tokio::sync::watch::Sender<bool>,
    /// The accept loop; it returns once every connection is done.
    serving: tokio::task::JoinHandle<()>,
    /// The server's own view sender; request handlers hold clones.
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

    /// Re-reads which slugs are posts, for the beacon (after a rebuild synced the store).
    pub fn refresh_posts(&self) -> Result<()> {
        let slugs = Store::attach(&self.shared.store)?.post_ids_by_slug(self.shared.drafts)?;
        *self.shared.slugs.write().unwrap() = slugs;
        Ok(())
    }

    /// Replaces which served file is which post's page: a build calls it as soon as it has
    /// swapped its site in (see `pipeline::build_site_then`).
    pub fn set_post_pages(&self, pages: PostPages) {
        *self.shared.post_pages.write().unwrap() = Arc::new(pages);
    }

    /// The store the server records views in.
    pub fn store(&self) -> &Path {
        &self.shared.store
    }

    /// The start-up build is over (built or failed): missing pages are 404s again, and
    /// building pages open in a browser reload.
    pub fn start_up_done(&self) {
        if let Some(live) = &self.shared.live {
            live.finish_start_up();
        }
    }
}

/// What answers requests: the shared state and a view sender.
struct App {
    shared: Arc<Shared>,
    views: Option<ViewSender>,
}

impl http::Handler for App {
    async fn handle(self: Arc<Self>, rq: Request) -> Response {
        let (path, query) = files::split_target(&rq.target);
        if self.shared.public && path != BEACON_PATH {
            return Response::text(404, "this server only collects views");
        }
        if path.starts_with(api::PREFIX) {
            return match &self.shared.api {
                Some(api) => api.clone().handle(rq).await,
                None => Response::text(404, "the admin API is not served here"),
            };
        }
        if path == dashboard::PATH {
            let source = dashboard::Source {
                store: self.shared.store.clone(),
                site: self.shared.api.as_ref().map_or_else(
                    || "bloggo".to_string(),
                    |a| a.settings().config.title.clone(),
                ),
            };
            return dashboard::answer(source, rq).await;
        }
        if rq.method == Method::GET && path == livereload::EVENTS_PATH {
            if let Some(live) = &self.shared.live {
                let events = live.subscribe(query == Some("start-up"));
                return Response::new(200)
                    .header(CONTENT_TYPE, "text/event-stream")
                    .header(CACHE_CONTROL, "no-store")
                    .body(Body::Events(events));
            }
        }
        let mut view = None;
        let response = respond(&self.shared, &rq, &mut view);
        if let (Some(view), Some(views)) = (view, &self.views) {
            queue_view(views, view).await;
        }
        response
    }
}

/// Queues a view before its response is sent. The queue is bounded: when it is full (the
/// store is slower than the requests), the wait happens on the blocking pool, not on a worker
/// thread, and the response waits with it, so a view answered 200 is always queued.
async fn queue_view(views: &ViewSender, view: NewView) {
    let sent = match views.try_send(view) {
        Ok(sent) => sent,
        Err(view) => {
            let views = views.clone();
            tokio::task::spawn_blocking(move || views.send(view))
                .await
                .unwrap_or(false)
        }
    };
    if !sent {
        eprintln!("serve: the view writer stopped; a view was not recorded");
    }
}

impl Server {
    /// Binds, starts the view writer and the runtime that accepts and serves connections.
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
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let slugs = Store::attach(&opts.store)?
            .post_ids_by_slug(opts.drafts)
            .context("cannot read the posts' slugs from the store")?;
        let (views, writer) = if opts.record_views {
            let store = Store::attach_view_writer(&opts.store)
                .context("cannot set up the view writer's connection")?;
            let (tx, handle) = views::spawn_writer(store, opts.flush_interval)?;
            (Some(tx), Some(handle))
        } else {
            (None, None)
        };
        let live = opts.live_reload.then(LiveReload::new);
        if let (Some(live), true) = (&live, opts.start_up_build) {
            live.begin_start_up();
        }
        let shared = Arc::new(Shared {
            root,
            post_pages: RwLock::new(Arc::new(opts.post_pages.clone())),
            slugs: RwLock::new(slugs),
            store: opts.store.clone(),
            drafts: opts.drafts,
            record_views: opts.record_views,
            anonymiser: IpAnonymiser::new()?,
            devices: device::Classifier::default(),
            live,
            api: match &opts.api {
                Some(settings) => Some(Arc::new(api::Api::new(settings.clone())?)),
                None => None,
            },
            public: opts.public,
            repeats: opts
                .public
                .then(|| Mutex::new(RecentViews::new(repeats::WINDOW))),
        });
        let runtime = http::runtime(opts.workers).context("cannot start the server's threads")?;
        let listener = {
            let _in_runtime = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let app = Arc::new(App {
            shared: shared.clone(),
            views: views.clone(),
        });
        let serving = runtime.spawn(http::serve(listener, opts.limits, app, stopped));
        Ok(Server {
            addr,
            handle: ServerHandle { shared },
            runtime,
            stop,
            serving,
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
            addr: _,
            handle,
            runtime,
            stop,
            serving,
            views,
            writer,
        } = self;
        let _ = stop.send(true);
        // Event streams never end by themselves: end them, so their connections close.
        if let Some(live) = &handle.shared.live {
            live.close_all();
        }
        // Returns once every connection is done (or after http::DRAIN).
        let _ = runtime.block_on(serving);
        runtime.shutdown_timeout(Duration::from_secs(5));
        // Every handler is gone, so this is the last sender of views: the writer drains and stops.
        drop(views);
        writer
            .map(|w| w.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// Answers one request (the event stream aside). A view to record is put in `view`; the
/// caller queues it before the response is sent.
fn respond(shared: &Shared, rq: &Request, view: &mut Option<NewView>) -> Response {
    if rq.method != Method::GET && rq.method != Method::HEAD {
        return Response::text(405, "only GET and HEAD are served").header(ALLOW, "GET, HEAD");
    }
    let (path, query) = files::split_target(&rq.target);
    if path == BEACON_PATH {
        return beacon(shared, rq, query, view);
    }
    match files::resolve(&shared.root, &rq.target) {
        Resolved::File(file) => match file_response(shared, rq, &file, 200) {
            Ok(resp) => {
                if resp.status == 200 && rq.method == Method::GET {
                    let pages = shared.post_pages.read().unwrap().clone();
                    if let Some(id) = pages.post_at(path) {
                        *view = record(shared, rq, id);
                    }
                }
                resp
            }
            Err(e) => {
                eprintln!("serve: {}: {e}", file.display());
                Response::text(500, "the file could not be read")
            }
        },
        Resolved::Redirect(to) => Response::new(301).header(LOCATION, to),
        Resolved::NotFound => not_found(shared, rq),
        Resolved::Forbidden => Response::text(403, "forbidden: the path leads outside the site"),
        Resolved::BadPath(why) => Response::text(400, why),
    }
}

fn beacon(
    shared: &Shared,
    rq: &Request,
    query: Option<&str>,
    view: &mut Option<NewView>,
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
    if rq.method == Method::GET {
        *view = record(shared, rq, id);
    }
    Response::new(204)
        .header(CACHE_CONTROL, "no-store")
        .header(ACCESS_CONTROL_ALLOW_ORIGIN, "*")
}

/// The view of a request from a person (none for bots, for browsers that ask not to be
/// tracked, for repeats under the rate rule, or when views are not recorded).
fn record(shared: &Shared, rq: &Request, post_id: i64) -> Option<NewView> {
    if !shared.record_views || asks_not_to_be_tracked(rq) {
        return None;
    }
    let ua = rq.header("user-agent").unwrap_or("");
    let Device::Person(device) = shared.devices.classify(ua) else {
        return None;
    };
    let viewed_at = Timestamp::now();
    let ip = shared.anonymiser.anonymise(
        reader(shared, rq),
        &viewed_at.utc().format("%Y-%m-%d").to_string(),
    );
    if let Some(repeats) = &shared.repeats {
        if !repeats.lock().unwrap().counts(&ip, post_id, Instant::now()) {
            return None;
        }
    }
    Some(NewView {
        post_id,
        ip,
        user_agent: truncate(ua, 512).to_string(),
        referrer: rq.header("referer").and_then(clean_referrer),
        viewed_at,
        device,
    })
}

/// The reader's address: the peer's, or for the public collector behind a reverse proxy on
/// this machine (a loopback peer), the last address of `X-Forwarded-For` (the one the proxy
/// added; those before it are whatever the client claimed).
fn reader(shared: &Shared, rq: &Request) -> IpAddr {
    if !shared.public || !rq.peer.is_loopback() {
        return rq.peer;
    }
    forwarded_for(rq.header("x-forwarded-for")).unwrap_or(rq.peer)
}

/// The last address of an `X-Forwarded-For` value.
fn forwarded_for(value: Option<&str>) -> Option<IpAddr> {
    value?.rsplit(',').next()?.trim().parse().ok()
}

/// `DNT: 1` (Do Not Track) or `Sec-GPC: 1` (Global Privacy Control).
fn asks_not_to_be_tracked(rq: &Request) -> bool {
    ["dnt", "sec-gpc"]
        .iter()
        .any(|h| rq.header(h).is_some_and(|v| v.trim() == "1"))
}

/// A referrer without its query and fragment (they can carry personal data), at most 500 bytes.
pub(crate) fn clean_referrer(r: &str) -> Option<String> {
    let r = r.split(['?', '#']).next().unwrap_or("").trim();
    (!r.is_empty()).then(|| truncate(r, 500).to_string())
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
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
                    .header(ETAG, etag)
                    .header(CACHE_CONTROL, "no-cache"));
            }
        }
    }
    let resp = Response::new(status)
        .header(CONTENT_TYPE, files::content_type(file))
        .header(CACHE_CONTROL, "no-cache");
    let resp = if status == 200 {
        resp.header(ETAG, etag)
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
    // The start-up build has not written the page yet: say so, and reload when it is done.
    if shared.live.as_ref().is_some_and(|l| l.starting()) {
        return Response::new(503)
            .header(CONTENT_TYPE, "text/html; charset=utf-8")
            .header(CACHE_CONTROL, "no-store")
            .header(RETRY_AFTER, "1")
            .body(Body::Bytes(livereload::BUILDING_PAGE.as_bytes().to_vec()));
    }
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
    fn referrers_lose_their_query() {
        assert_eq!(
            clean_referrer("https://news.example/item?id=1#c").as_deref(),
            Some("https://news.example/item")
        );
        assert_eq!(clean_referrer(""), None);
        assert_eq!(truncate("héllo", 2), "h");
    }

    #[test]
    fn the_proxy_added_address_is_the_last_of_x_forwarded_for() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            forwarded_for(Some("10.0.0.9, 203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            forwarded_for(Some(" 2001:db8::1 ")),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(forwarded_for(Some("203.0.113.7, unknown")), None);
        assert_eq!(forwarded_for(None), None);
    }
}

/// The live-reload path end to end with a stand-in for the site builder: watcher → debounced
/// rebuild → SSE event → new page; a failing rebuild keeps the last page and adds the overlay.
#[cfg(test)]
mod live_tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::sync::{mpsc, Mutex};
    use std::time::Instant;

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
            post_pages: PostPages::default(),
            record_views: true,
            flush_interval: Duration::from_millis(50),
            drafts: false,
            live_reload: true,
            start_up_build: false,
            limits: Limits::default(),
            api: None,
            public: false,
        }
    }

    /// Until the start-up build is done, a missing page is the building page (503); a
    /// building page's event stream gets one reload when it is done; then a 404 again.
    #[test]
    fn missing_pages_are_building_pages_until_the_start_up_build_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().canonicalize().unwrap();
        let (output, store) = (site.join("public"), site.join("s.sqlite"));
        Store::open(&store, true).unwrap();
        let server = Server::start(&ServeOptions {
            start_up_build: true,
            ..test_options(&output, &store)
        })
        .unwrap();
        let addr = server.addr();
        let page = get(addr, "/");
        assert!(page.starts_with("HTTP/1.1 503"), "{page}");
        assert!(
            page.to_ascii_lowercase().contains("retry-after: 1"),
            "{page}"
        );
        assert!(page.contains("Building the site"), "{page}");
        let mut sse = TcpStream::connect(addr).unwrap();
        sse.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        sse.write_all(b"GET /_bloggo/livereload?start-up HTTP/1.1\r\n\r\n")
            .unwrap();
        let (etx, events) = mpsc::channel::<String>();
        let reader = BufReader::new(sse);
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if line.starts_with("event:") && etx.send(line).is_err() {
                    break;
                }
            }
        });
        assert!(events.recv_timeout(Duration::from_millis(300)).is_err());
        // A rebuild's reload goes to pages, not to building pages.
        server.handle().live().unwrap().reloaded();
        assert!(events.recv_timeout(Duration::from_millis(300)).is_err());
        std::fs::write(output.join("index.html"), "<p>home</p>").unwrap();
        assert!(get(addr, "/").starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/nope").starts_with("HTTP/1.1 503"));
        server.handle().start_up_done();
        assert_eq!(
            events.recv_timeout(Duration::from_secs(2)).unwrap(),
            "event: reload"
        );
        assert!(get(addr, "/nope").starts_with("HTTP/1.1 404"));
        server.shutdown();
    }

    /// A build hands the server its post pages as it swaps its site in, before the rest of
    /// the rebuild (state, caches, the beacon's slugs) is done: a view of a new post's page in
    /// that moment counts.
    #[test]
    fn a_view_of_a_post_the_rebuild_has_not_finished_with_counts() {
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
        let (swapped_tx, swapped) = mpsc::channel::<()>();
        let (viewed, viewed_rx) = mpsc::channel::<()>();
        let viewed_rx = Mutex::new(viewed_rx);
        let (handle, out, at) = (server.handle(), output.clone(), store.clone());
        let mut build: rebuild::RebuildFn = Box::new(move || {
            let id = {
                let s = Store::attach(&at)?;
                s.test_conn().execute(
                    "INSERT INTO posts (title, slug, status) VALUES ('New', 'new', 'published')",
                    [],
                )?;
                s.test_conn().last_insert_rowid()
            };
            std::fs::create_dir_all(out.join("2026/new-post"))?;
            std::fs::write(out.join("2026/new-post/index.html"), "<p>new</p>")?;
            handle.set_post_pages(
                [("2026/new-post/index.html".to_string(), id)]
                    .into_iter()
                    .collect(),
            );
            // The rest of the build: it waits here until the page was viewed.
            swapped_tx.send(()).unwrap();
            viewed_rx.lock().unwrap().recv().unwrap();
            Ok(rebuild::Rebuilt {
                summary: "1 page".into(),
                changed: true,
                next_due: None,
            })
        });
        let fingerprint: Fingerprint = Arc::new(Mutex::new(None));
        let rebuilding = {
            let handle = server.handle();
            std::thread::spawn(move || {
                rebuild::rebuild_once(&handle, &mut build, None, &fingerprint)
            })
        };
        swapped.recv_timeout(Duration::from_secs(5)).unwrap();
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET /2026/new-post/?utm=x HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) \
             AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        viewed.send(()).unwrap();
        assert!(rebuilding.join().unwrap().is_ok());
        server.shutdown();
        let views: i64 = Store::attach(&store)
            .unwrap()
            .test_conn()
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
                next_due: None,
            })
        });
        let server = Server::start(&test_options(&output, &store)).unwrap();
        let fingerprint: Fingerprint = Arc::new(Mutex::new(None));
        assert!(rebuild::rebuild_once(&server.handle(), &mut build, None, &fingerprint).is_ok());
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
        let rebuilds =
            rebuild::spawn_rebuilds(server.handle(), rx, build, fingerprint, None).unwrap();

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
