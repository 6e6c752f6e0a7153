//! `GET /_bloggo/stats`: the stats dashboard (see `crate::dashboard`) as a page, for
//! loopback clients only, with the range chosen by `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the
//! last 30 days when absent).
//!
//! It is a plain page rather than part of the admin API: a browser on the machine that runs
//! `serve` opens it without signing in, as it opens the preview itself. A client that is not
//! on loopback, or a request that came through a proxy (`Forwarded`, `X-Forwarded-For`: a
//! proxy on the same machine makes every client look local), is refused with 403; from other
//! machines the numbers are the admin API's `GET /stats`, which needs `analytics.view`.

use std::net::IpAddr;
use std::path::PathBuf;

use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::Method;

use super::files;
use super::http::{Body, Request, Response};
use crate::dashboard::page::{self, Page, Picker};
use crate::stats::{gather_days, parse_day, today, DayRange, RangeError};

/// Where the dashboard is served.
pub const PATH: &str = "/_bloggo/stats";
/// The days shown when the query names none.
pub const DEFAULT_DAYS: u64 = 30;
/// How many posts and referrers the page lists.
const TOP: usize = 10;

/// What the page needs of the server.
#[derive(Debug, Clone)]
pub struct Source {
    pub store: PathBuf,
    /// The site's title, for the page's heading.
    pub site: String,
}

/// Answers a request for [`PATH`] (the store is read on the blocking pool).
pub async fn answer(source: Source, rq: Request) -> Response {
    if rq.method != Method::GET && rq.method != Method::HEAD {
        return Response::text(405, "only GET and HEAD are served here").header(ALLOW, "GET, HEAD");
    }
    if let Err(why) = local(&rq) {
        return Response::text(403, why);
    }
    let (_, query) = files::split_target(&rq.target);
    let today = today();
    let range = match range_of(query, today) {
        Ok(r) => r,
        Err(e) => return Response::text(400, &format!("the stats page: {e}")),
    };
    let rendered = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let stats = gather_days(&source.store, &range, TOP)?;
        Ok(page::render(&Page {
            site: &source.site,
            stats: &stats,
            range,
            picker: Picker::Form {
                action: PATH.to_string(),
                today,
            },
            generated: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        }))
    })
    .await;
    match rendered {
        Ok(Ok(html)) => Response::new(200)
            .header(CONTENT_TYPE, "text/html; charset=utf-8")
            .header(CACHE_CONTROL, "no-store")
            .body(Body::Bytes(html.into_bytes())),
        Ok(Err(e)) => {
            eprintln!("serve: {PATH}: {e:#}");
            Response::text(500, "the stats could not be read from the store")
        }
        Err(_) => Response::text(500, "the request failed inside the server"),
    }
}

/// Whether the request comes from this machine, directly.
fn local(rq: &Request) -> Result<(), &'static str> {
    let ip = match rq.peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(rq.peer, IpAddr::V4),
        v4 => v4,
    };
    if !ip.is_loopback() {
        return Err(
            "the stats page is served to this machine only (loopback); from elsewhere, \
                    read GET /_bloggo/api/stats signed in",
        );
    }
    if rq.header("forwarded").is_some() || rq.header("x-forwarded-for").is_some() {
        return Err("the stats page is not served through a proxy");
    }
    Ok(())
}

/// `?from=&to=`: both, one (the other is today, or the 30 days ending `to`) or none.
fn range_of(query: Option<&str>, today: chrono::NaiveDate) -> Result<DayRange, RangeError> {
    let (mut from, mut to) = (None, None);
    for (k, v) in query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
    {
        let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
        match k {
            "from" if !v.is_empty() => from = Some(parse_day(&v)?),
            "to" if !v.is_empty() => to = Some(parse_day(&v)?),
            _ => {}
        }
    }
    match (from, to) {
        (Some(from), to) => DayRange::new(from, to.unwrap_or(today)),
        (None, to) => Ok(DayRange::ending(to.unwrap_or(today), DEFAULT_DAYS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> chrono::NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn the_range_comes_from_the_query_or_is_the_last_30_days() {
        let today = d("2026-03-31");
        let r = |q| range_of(q, today);
        assert_eq!(
            r(None).unwrap(),
            DayRange::new(d("2026-03-02"), today).unwrap()
        );
        assert_eq!(
            r(Some("from=2026-03-01&to=2026-03-07")).unwrap(),
            DayRange::new(d("2026-03-01"), d("2026-03-07")).unwrap()
        );
        assert_eq!(r(Some("from=2026-03-30&to=")).unwrap().to, today);
        assert_eq!(r(Some("to=2026-01-30")).unwrap().from, d("2026-01-01"));
        assert!(matches!(
            r(Some("from=yesterday")),
            Err(RangeError::NotADate(_))
        ));
        assert!(matches!(
            r(Some("from=2026-03-07&to=2026-03-01")),
            Err(RangeError::Backwards { .. })
        ));
    }
}
