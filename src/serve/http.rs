//! The HTTP/1.1 transport: hyper's HTTP/1 server on a small tokio runtime, and the plain
//! request and response types the handlers in `mod.rs` work with.
//!
//! **Why hyper.** bloggo used to read request heads itself, on a fixed pool of worker threads
//! (tiny_http, named in the first design, reads a request line or header of any length into
//! memory and has no header limits: tiny-http issue 56). Hostile-client tests (issue 15) showed
//! what a thread pool cannot hold with little code: 200 connections each trickling one header
//! byte every 3 s kept every worker busy, so a well-behaved client got no answer in 30 s. A
//! connection waiting for bytes must not hold a thread at all. hyper (maintained, the HTTP layer
//! under most of Rust's servers) reads heads as futures, so a waiting connection costs a few
//! kilobytes and no thread, and it enforces the limits a server needs: a total deadline for a
//! head (`header_read_timeout`, which is also how long an idle keep-alive connection is kept),
//! the size of a whole head and the number of headers (431). Only complete requests reach the
//! handlers, which run on the runtime's few worker threads.
//!
//! On top of hyper, bloggo refuses: a request target longer than [`Limits::max_request_line`]
//! (414), a header longer than [`Limits::max_header_line`] (431), a header value that is not
//! UTF-8 (400), targets that are not a path
//! (absolute-form, `*`: 400), and request bodies (`Transfer-Encoding`: 400; a `Content-Length`
//! body is answered, then the connection is closed, so a request hidden in a body is never
//! served). The one exception is a path under [`Bodies::prefix`] (the admin API): a body of
//! at most [`Bodies::max`] bytes is read whole, within the head's deadline (408 when it is
//! late, 413 when it is larger), and handed to the handler. hyper answers a malformed head with 400, conflicting `Content-Length`s with 400,
//! and a head larger than [`Limits::max_head`] with 431 (also when it is the request line that
//! is too long: hyper cannot tell before the line ends).

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncRead;
use tokio::sync::watch;

use super::livereload::Events;

/// Limits on a request head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request target (path and query), in bytes: 414 beyond it.
    pub max_request_line: usize,
    /// Longest header (name and value), in bytes: 431 beyond it.
    pub max_header_line: usize,
    /// Most headers: 431 beyond it.
    pub max_headers: usize,
    /// Largest whole head (request line and headers), in bytes: 431 beyond it (at least 8192).
    pub max_head: usize,
    /// Time allowed for a whole head, from the connection's start or the end of its last
    /// response: a connection that has not sent a complete head by then is closed, however
    /// slowly it trickles. It is also how long an idle keep-alive connection is kept.
    pub head_timeout: Duration,
    /// Which requests' bodies are read (all others' are refused as above).
    pub bodies: Bodies,
}

/// Requests whose body is read: those to paths under `prefix`, with a `Content-Length` of at
/// most `max` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Bodies {
    pub prefix: &'static str,
    pub max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_line: 8 * 1024,
            max_headers: 64,
            max_head: 32 * 1024,
            head_timeout: Duration::from_secs(5),
            bodies: Bodies {
                prefix: super::api::PREFIX,
                max: 16 * 1024,
            },
        }
    }
}

/// A request head (bloggo serves no request bodies).
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The request target as sent: `/path?query`.
    pub target: String,
    pub headers: HeaderMap,
    /// The client's address.
    pub peer: IpAddr,
    /// Whether a body follows the head that was not read (the connection is closed after
    /// the response).
    pub has_body: bool,
    /// The body, when the path is one whose bodies are read ([`Limits::bodies`]).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of this name, when it is visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks a head hyper parsed against bloggo's own limits, and reads the body of a path
    /// whose bodies are read; a refusal is its status and why.
    async fn from_hyper(
        rq: hyper::Request<Incoming>,
        peer: IpAddr,
        limits: &Limits,
    ) -> Result<Request, (u16, &'static str)> {
        let (head, mut incoming) = rq.into_parts();
        let uri = &head.uri;
        let target = uri.path_and_query().map_or("", |p| p.as_str());
        if uri.scheme().is_some() || uri.authority().is_some() || !target.starts_with('/') {
            return Err((400, "the request target must be a path starting with /"));
        }
        if target.len() > limits.max_request_line {
            return Err((414, "the request target is too long"));
        }
        if head
            .headers
            .iter()
            .any(|(k, v)| k.as_str().len() + v.len() + 2 > limits.max_header_line)
        {
            return Err((431, "a header line is too long"));
        }
        if head
            .headers
            .values()
            .any(|v| std::str::from_utf8(v.as_bytes()).is_err())
        {
            return Err((400, "a header value is not UTF-8"));
        }
        if head.headers.contains_key(hyper::header::TRANSFER_ENCODING) {
            return Err((400, "request bodies are not accepted"));
        }
        let length = head.headers.get(CONTENT_LENGTH).map(|v| {
            std::str::from_utf8(v.as_bytes())
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let mut has_body = length.is_some_and(|n| n != Some(0));
        let mut body = Vec::new();
        if has_body && target.starts_with(limits.bodies.prefix) {
            match length.flatten() {
                Some(n) if n <= limits.bodies.max as u64 => {}
                _ => return Err((413, "the request body is too large")),
            }
            body = tokio::time::timeout(
                limits.head_timeout,
                read_body(&mut incoming, limits.bodies.max),
            )
            .await
            .map_err(|_| (408, "the request body was not sent in time"))??;
            has_body = false;
        }
        Ok(Request {
            method: head.method,
            target: target.to_string(),
            headers: head.headers,
            peer,
            has_body,
            body,
        })
    }
}

/// A whole request body of at most `max` bytes.
async fn read_body(incoming: &mut Incoming, max: usize) -> Result<Vec<u8>, (u16, &'static str)> {
    let mut body = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *incoming).poll_frame(cx)).await
    {
        let frame = frame.map_err(|_| (400, "the request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            if body.len() + data.len() > max {
                return Err((413, "the request body is too large"));
            }
            body.extend_from_slice(&data);
        }
    }
    Ok(body)
}

/// A response body.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A file and its length (read while it is sent).
    File(std::fs::File, u64),
    /// A live-reload event stream.
    Events(Events),
}

/// A response.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Body::Empty,
        }
    }

    /// A short plain-text response.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status)
            .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::Bytes(format!("{text}\n").into_bytes()))
    }

    /// Adds a header (a value that cannot be a header value is left out).
    pub fn header(mut self, name: HeaderName, value: impl AsRef<str>) -> Response {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.append(name, v);
        }
        self
    }

    pub fn body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }

    /// The response hyper writes. `head_only`: the headers of GET (with its Content-Length),
    /// no body; `close`: the connection ends after it.
    fn into_hyper(self, head_only: bool, close: bool) -> hyper::Response<Wire> {
        let Response {
            status,
            mut headers,
            body,
        } = self;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let no_body =
            head_only || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        let len = match &body {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::File(_, n) => Some(*n),
            Body::Events(_) => None,
        };
        if let (Some(n), false) = (
            len,
            status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED,
        ) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
        if close {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let wire = if no_body {
            Wire::Full(None)
        } else {
            match body {
                Body::Empty => Wire::Full(None),
                Body::Bytes(b) => Wire::Full(Some(Bytes::from(b))),
                Body::File(f, n) => Wire::file(f, n),
                Body::Events(e) => Wire::Events(e),
            }
        };
        let mut out = hyper::Response::new(wire);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }
}

/// Files up to this size are read at once; larger ones are streamed in chunks of this size.
const CHUNK: usize = 256 * 1024;

/// A response body as hyper sends it.
pub enum Wire {
    Full(Option<Bytes>),
    /// A file read through tokio (its reads run on the blocking pool; a slow client holds no
    /// thread), `left` bytes still to send.
    File {
        file: tokio::fs::File,
        left: u64,
        buf: Vec<u8>,
    },
    Events(Events),
}

impl Wire {
    fn file(mut f: std::fs::File, len: u64) -> Wire {
        if len <= CHUNK as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            return match io::Read::read_to_end(&mut io::Read::take(&mut f, len), &mut bytes) {
                Ok(n) if n as u64 == len => Wire::Full(Some(Bytes::from(bytes))),
                // The file changed under us: end the response early, hyper closes the connection.
                _ => Wire::File {
                    file: tokio::fs::File::from_std(f),
                    left: len,
                    buf: Vec::new(),
                },
            };
        }
        Wire::File {
            file: tokio::fs::File::from_std(f),
            left: len,
            buf: vec![0; CHUNK],
        }
    }
}

impl HttpBody for Wire {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Wire::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Wire::File { file, left, buf } => {
                if *left == 0 {
                    return Poll::Ready(None);
                }
                let want = (*left).min(buf.len() as u64) as usize;
                if want == 0 {
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file changed while it was sent",
                    ))));
                }
                let mut rb = tokio::io::ReadBuf::new(&mut buf[..want]);
                match Pin::new(file).poll_read(cx, &mut rb) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                        Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the file shrank while it was sent",
                        ))))
                    }
                    Poll::Ready(Ok(())) => {
                        let chunk = Bytes::copy_from_slice(rb.filled());
                        *left -= chunk.len() as u64;
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                }
            }
            Wire::Events(e) => e.poll_next(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Wire::Full(b) => b.is_none(),
            Wire::File { left, .. } => *left == 0,
            Wire::Events(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Wire::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Wire::File { left, .. } => SizeHint::with_exact(*left),
            Wire::Events(_) => SizeHint::default(),
        }
    }
}

/// Answers complete requests; runs on the runtime's worker threads, so it must not block for
/// long (a short file read is fine; waiting on a full queue is not).
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, rq: Request) -> impl std::future::Future<Output = Response> + Send;
}

/// The runtime that serves connections: `threads` workers for complete requests, plus tokio's
/// blocking pool for file reads.
pub fn runtime(threads: usize) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.clamp(1, 64))
        .max_blocking_threads(32)
        .thread_name("bloggo-http")
        .enable_all()
        .build()
}

/// How long a stopping server waits for requests in flight before it drops them.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Accepts connections and serves them until `stop` turns true; then stops accepting, lets
/// every request in flight finish (idle keep-alive connections are closed at once) and
/// returns once all connections are gone, or after [`DRAIN`].
pub async fn serve<H: Handler>(
    listener: tokio::net::TcpListener,
    limits: Limits,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_headers(limits.max_headers)
        .max_header_size(limits.max_head)
        .max_buf_size(limits.max_head.max(8192));
    let graceful = GracefulShutdown::new();
    // Accept errors come in runs (out of descriptors): reported once a run.
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(c) => {
                failing = false;
                c
            }
            Err(e) => {
                if !failing {
                    eprintln!("serve: cannot accept a connection ({e}); retrying");
                    failing = true;
                }
                // Out of descriptors, the listener stays readable: wait for some to be freed
                // (connections closing) instead of spinning, and keep listening for the stop.
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service(&handler, limits, peer));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A connection's end is never an error of the server's: a client went away, a head
            // was malformed or too slow (hyper has answered it when it could).
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// The hyper service of one connection.
fn service<H: Handler>(
    handler: &Arc<H>,
    limits: Limits,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = hyper::Response<Wire>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<hyper::Response<Wire>, Infallible>> + Send,
> + use<H> {
    let handler = handler.clone();
    hyper::service::service_fn(move |rq: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move {
            Ok(match Request::from_hyper(rq, peer.ip(), &limits).await {
                Ok(r) => {
                    let head_only = r.method == Method::HEAD;
                    let close = r.has_body;
                    handler.handle(r).await.into_hyper(head_only, close)
                }
                Err((status, why)) => Response::text(status, why).into_hyper(false, true),
            })
        }
    })
}
