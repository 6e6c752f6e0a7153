//! The HTTP/1.1 wire: reading one request head with hard limits, writing one response.
//!
//! bloggo reads request heads itself rather than through tiny_http, because tiny_http reads a
//! request line or header of any length into memory and starts one thread per connection;
//! here every line has a size cap, the head has a header count cap and a deadline, and
//! connections are served by a fixed pool of workers (see `mod.rs`).

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

/// Limits on a request head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request line (method, target, version), in bytes.
    pub max_request_line: usize,
    /// Longest header line, in bytes.
    pub max_header_line: usize,
    /// Most header lines.
    pub max_headers: usize,
    /// Time allowed to receive a whole head once its first byte came.
    pub head_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_line: 8 * 1024,
            max_headers: 64,
            head_timeout: Duration::from_secs(10),
        }
    }
}

/// A parsed request head (bloggo serves no request bodies).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent: `/path?query`.
    pub target: String,
    pub http11: bool,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this response.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.http11 {
            !conn.contains("close")
        } else {
            conn.contains("keep-alive")
        }
    }

    /// Whether a body follows the head (bloggo does not read it, so it closes the connection).
    pub fn has_body(&self) -> bool {
        self.header("transfer-encoding").is_some()
            || self
                .header("content-length")
                .is_some_and(|v| v.trim() != "0")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection (or stayed idle) between requests: close quietly.
    Closed,
    /// The head is malformed or too large: answer with this status and close.
    Bad(u16, &'static str),
}

/// What to do while waiting for the first byte of a request.
pub trait Idle {
    /// Called on each read timeout before a request started; `true` stops waiting.
    fn give_up(&mut self) -> bool;
}

impl<F: FnMut() -> bool> Idle for F {
    fn give_up(&mut self) -> bool {
        self()
    }
}

/// How long a request head may take before it is dropped in favour of waiting connections.
pub const HEAD_GRACE: Duration = Duration::from_millis(500);

/// Reads one request head. The stream must have a short read timeout set: it is how idle
/// connections notice `idle.give_up()` and how the head deadline is enforced.
pub fn read_request<R: BufRead>(
    r: &mut R,
    limits: &Limits,
    idle: &mut dyn Idle,
) -> Result<Request, ReadError> {
    // Wait for the first byte; idle keep-alive connections end here.
    loop {
        match r.fill_buf() {
            Ok([]) => return Err(ReadError::Closed),
            Ok(_) => break,
            Err(e) if is_timeout(&e) => {
                if idle.give_up() {
                    return Err(ReadError::Closed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Closed),
        }
    }
    let started = Instant::now();
    let deadline = started + limits.head_timeout;
    // A slow head is dropped early when other connections wait for a worker (`idle` says so),
    // so slow clients cannot hold every worker for the whole head timeout.
    let mut hurry = || started.elapsed() > HEAD_GRACE && idle.give_up();
    let mut line = Vec::with_capacity(256);
    // Tolerate one empty line before the request line (RFC 9112 §2.2).
    read_line(
        r,
        &mut line,
        limits.max_request_line,
        deadline,
        414,
        &mut hurry,
    )?;
    if line.is_empty() {
        read_line(
            r,
            &mut line,
            limits.max_request_line,
            deadline,
            414,
            &mut hurry,
        )?;
    }
    let (method, target, http11) = parse_request_line(&line)?;
    let mut headers = Vec::new();
    loop {
        read_line(
            r,
            &mut line,
            limits.max_header_line,
            deadline,
            431,
            &mut hurry,
        )?;
        if line.is_empty() {
            break;
        }
        if headers.len() == limits.max_headers {
            return Err(ReadError::Bad(431, "too many header lines"));
        }
        headers.push(parse_header(&line)?);
    }
    check_framing(&headers)?;
    Ok(Request {
        method,
        target,
        http11,
        headers,
    })
}

/// Refuses ambiguous body framing (the ways requests are smuggled past a proxy): differing or
/// malformed `Content-Length` headers, or `Content-Length` together with `Transfer-Encoding`.
fn check_framing(headers: &[(String, String)]) -> Result<(), ReadError> {
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim())
        .collect();
    if lengths.iter().any(|v| v.parse::<u64>().is_err()) || lengths.windows(2).any(|w| w[0] != w[1])
    {
        return Err(ReadError::Bad(400, "conflicting or invalid Content-Length"));
    }
    let chunked = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
    if chunked && !lengths.is_empty() {
        return Err(ReadError::Bad(
            400,
            "both Content-Length and Transfer-Encoding are set",
        ));
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads up to LF (dropping CRLF or LF) into `line`; longer than `max` → `too_long` status.
fn read_line<R: BufRead>(
    r: &mut R,
    line: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
    too_long: u16,
    hurry: &mut dyn FnMut() -> bool,
) -> Result<(), ReadError> {
    line.clear();
    loop {
        if Instant::now() > deadline {
            return Err(ReadError::Bad(408, "the request head took too long"));
        }
        let buf = match r.fill_buf() {
            Ok([]) => return Err(ReadError::Bad(400, "the request head ends early")),
            Ok(b) => b,
            Err(e) if is_timeout(&e) && hurry() => {
                return Err(ReadError::Bad(
                    408,
                    "the request head is too slow while other clients wait",
                ))
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ReadError::Closed),
        };
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max + 2 {
            return Err(ReadError::Bad(
                too_long,
                if too_long == 414 {
                    "the request line is too long"
                } else {
                    "a header line is too long"
                },
            ));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                return Err(ReadError::Bad(
                    too_long,
                    "a request line or header is too long",
                ));
            }
            return Ok(());
        }
    }
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, bool), ReadError> {
    const BAD: ReadError = ReadError::Bad(400, "malformed request line");
    let text = std::str::from_utf8(line).map_err(|_| BAD)?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(BAD);
    }
    // Origin form only ("/path?query"); a visible-ASCII target without spaces or controls.
    if !target.starts_with('/') || !target.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ReadError::Bad(
            400,
            "the request target must be a path starting with /",
        ));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => {
            return Err(ReadError::Bad(505, "only HTTP/1.0 and HTTP/1.1 are served"))
        }
        _ => return Err(BAD),
    };
    Ok((method.to_string(), target.to_string(), http11))
}

fn parse_header(line: &[u8]) -> Result<(String, String), ReadError> {
    const BAD: ReadError = ReadError::Bad(400, "malformed header line");
    let text = std::str::from_utf8(line).map_err(|_| BAD)?;
    let (name, value) = text.split_once(':').ok_or(BAD)?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(BAD);
    }
    if value.bytes().any(|b| b < 0x20 && b != b'\t') {
        return Err(BAD);
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// The reason phrase of the statuses bloggo sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response body.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    File(std::fs::File, u64),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File(_, n) => *n,
        }
    }
}

/// A response to write.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A short plain-text response.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(Body::Bytes(format!("{text}\n").into_bytes()))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }

    /// Writes status line, headers and (unless `head_only` or 304/204) the body.
    pub fn write_to<W: Write>(
        self,
        w: &mut W,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<()> {
        let no_body = matches!(self.status, 204 | 304);
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        if !no_body {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        w.write_all(head.as_bytes())?;
        if !head_only && !no_body {
            match self.body {
                Body::Empty => {}
                Body::Bytes(b) => w.write_all(&b)?,
                Body::File(f, n) => {
                    let copied = io::copy(&mut io::Read::take(f, n), w)?;
                    if copied != n {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the file shrank while it was sent",
                        ));
                    }
                }
            }
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Request, ReadError> {
        let mut r = io::BufReader::new(bytes);
        read_request(&mut r, &Limits::default(), &mut || true)
    }

    fn status(bytes: &[u8]) -> u16 {
        match read(bytes) {
            Err(ReadError::Bad(s, _)) => s,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_simple_head() {
        let rq = read(b"GET /a/b?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t t\r\n\r\n").unwrap();
        assert_eq!(rq.method, "GET");
        assert_eq!(rq.target, "/a/b?x=1");
        assert_eq!(rq.header("user-agent"), Some("t t"));
        assert!(rq.keep_alive());
        let rq = read(b"GET / HTTP/1.0\n\n").unwrap();
        assert!(!rq.keep_alive());
    }

    #[test]
    fn refuses_malformed_and_oversized_heads() {
        assert_eq!(status(b"GARBAGE\r\n\r\n"), 400);
        assert_eq!(status(b"GET /\r\n\r\n"), 400);
        assert_eq!(status(b"GET http://x/ HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: x"), 400);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
        assert_eq!(status(long.as_bytes()), 414);
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
        assert_eq!(status(long.as_bytes()), 431);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(100));
        assert_eq!(status(many.as_bytes()), 431);
    }
}
