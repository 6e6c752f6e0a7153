//! One request as an access log line tells it, whatever the log's format: what the parsers
//! give and what the rest of ingest reads.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

/// The fields of a log line that decide whether it is a view, borrowed from the line where
/// the format allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// The client address as logged (an IP address, unless the server logs host names).
    pub addr: &'a str,
    /// When the request was made, in UTC.
    pub time: DateTime<Utc>,
    pub method: &'a str,
    /// The request path, without its query.
    pub path: Cow<'a, str>,
    pub status: u16,
    /// The `Referer` header; `None` when the log says `-` or has no such field.
    pub referrer: Option<Cow<'a, str>>,
    /// The `User-Agent` header; `None` when the format has no such field (common log format).
    pub user_agent: Option<Cow<'a, str>>,
}

/// `None` for a field a log writes as `-` (absent) or leaves empty.
pub fn present(field: &str) -> Option<&str> {
    (!field.is_empty() && field != "-").then_some(field)
}

/// The path of a request target, without its query or fragment.
pub fn path_of(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or("")
}
