//! Amazon CloudFront standard logs (the access logs CloudFront writes to S3): tab-separated
//! fields in the order a `#Fields:` header names them, times in UTC, the user agent and
//! referrer percent-encoded (sometimes twice). A file without a header is read in the
//! documented default order.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use percent_encoding::percent_decode_str;

use super::record::{present, LogRecord};

/// Where each field the ingest reads is in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    date: usize,
    time: usize,
    addr: usize,
    method: usize,
    path: usize,
    status: usize,
    referrer: usize,
    user_agent: usize,
}

impl Default for Fields {
    /// The order of CloudFront's documentation (`date time x-edge-location sc-bytes c-ip
    /// cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) ...`).
    fn default() -> Fields {
        Fields {
            date: 0,
            time: 1,
            addr: 4,
            method: 5,
            path: 7,
            status: 8,
            referrer: 9,
            user_agent: 10,
        }
    }
}

impl Fields {
    /// The positions a `#Fields: ...` header line names; `None` when it lacks one the
    /// ingest needs.
    pub fn from_header(line: &str) -> Option<Fields> {
        let names: Vec<&str> = line.strip_prefix("#Fields:")?.split_whitespace().collect();
        let at = |name: &str| names.iter().position(|n| *n == name);
        Some(Fields {
            date: at("date")?,
            time: at("time")?,
            addr: at("c-ip")?,
            method: at("cs-method")?,
            path: at("cs-uri-stem")?,
            status: at("sc-status")?,
            referrer: at("cs(Referer)")?,
            user_agent: at("cs(User-Agent)")?,
        })
    }

    /// Parses one data line; `None` when it does not have these fields.
    pub fn parse<'a>(&self, line: &'a str) -> Option<LogRecord<'a>> {
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |i: usize| cols.get(i).copied();
        let date = NaiveDate::parse_from_str(col(self.date)?, "%Y-%m-%d").ok()?;
        let time = NaiveTime::parse_from_str(col(self.time)?, "%H:%M:%S").ok()?;
        Some(LogRecord {
            addr: col(self.addr)?,
            time: DateTime::<Utc>::from_naive_utc_and_offset(date.and_time(time), Utc),
            method: col(self.method)?,
            path: Cow::Borrowed(col(self.path)?),
            status: col(self.status)?.parse().ok()?,
            referrer: present(col(self.referrer)?).map(decode),
            user_agent: Some(decode(col(self.user_agent)?)),
        })
    }
}

/// Undoes CloudFront's percent-encoding, twice when the first pass leaves an encoded `%`.
fn decode(s: &str) -> Cow<'_, str> {
    let once = percent_decode_str(s).decode_utf8_lossy();
    if once.contains("%25") || once.contains("%20") {
        return Cow::Owned(percent_decode_str(&once).decode_utf8_lossy().into_owned());
    }
    once
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id";

    #[test]
    fn a_line_is_read_in_the_order_of_its_header() {
        let f = Fields::from_header(HEADER).unwrap();
        assert_eq!(f, Fields::default());
        let r = f
            .parse("2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111.cloudfront.net\t/posts/a/\t304\thttps://ex.org/\tMozilla/5.0%2520(iPad;%2520CPU%2520OS)\tq=1\t-\tHit\tabc==")
            .unwrap();
        assert_eq!(r.time.to_rfc3339(), "2019-12-04T21:02:31+00:00");
        assert_eq!(
            (r.addr, r.method, r.path.as_ref(), r.status),
            ("192.0.2.100", "GET", "/posts/a/", 304)
        );
        assert_eq!(r.referrer.as_deref(), Some("https://ex.org/"));
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 (iPad; CPU OS)"));
        // Another order.
        let f = Fields::from_header(
            "#Fields: c-ip date time cs-method cs-uri-stem sc-status cs(User-Agent) cs(Referer)",
        )
        .unwrap();
        let r = f
            .parse("::1\t2026-01-01\t00:00:01\tGET\t/\t200\tcurl\t-")
            .unwrap();
        assert_eq!(
            (r.addr, r.referrer, r.user_agent.as_deref()),
            ("::1", None, Some("curl"))
        );
    }

    #[test]
    fn headers_and_lines_without_the_fields_are_refused() {
        assert_eq!(Fields::from_header("#Fields: date time c-ip"), None);
        assert_eq!(Fields::from_header("#Version: 1.0"), None);
        let f = Fields::default();
        assert_eq!(f.parse("2019-12-04\t21:02:31\tLAX1"), None);
        assert_eq!(
            f.parse("2019-13-04\t21:02:31\tLAX1\t392\t1.2.3.4\tGET\th\t/\t200\t-\tua"),
            None
        );
    }
}
