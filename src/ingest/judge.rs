//! One parsed log line → a view to record, or the reason it is not one. The rules are
//! serve's: only `GET` of a post's page, persons' browsers (serve's device classes), the
//! address hashed with serve's [`IpAnonymiser`] for the line's own UTC day, the referrer
//! cleaned as serve cleans it; and for logs, status 200 or 304 (a reader's browser
//! revalidating the page it has).

use std::net::IpAddr;

use crate::model::Timestamp;
use crate::serve::device::{Classifier, Device};
use crate::serve::privacy::IpAnonymiser;
use crate::serve::{clean_referrer, truncate};
use crate::store::views::NewView;

use super::record::LogRecord;
use super::site_map::{Page, SiteMap};
use super::summary::Skip;

/// What the judging reads, shared by the parsing threads.
pub struct Judge<'a> {
    pub site: &'a SiteMap,
    pub devices: &'a Classifier,
    pub anonymiser: &'a IpAnonymiser,
}

impl Judge<'_> {
    /// The view a line records, or why it records none.
    pub fn judge(&self, r: &LogRecord) -> Result<NewView, Skip> {
        if r.method != "GET" {
            return Err(Skip::Method);
        }
        if r.status != 200 && r.status != 304 {
            return Err(Skip::Status);
        }
        let post_id = match self.site.page(&r.path) {
            Page::Post(id) => id,
            Page::Redirect(_) => return Err(Skip::Redirect),
            Page::Asset => return Err(Skip::Asset),
            Page::Other => return Err(Skip::NoPost),
        };
        let Some(ua) = r.user_agent.as_deref() else {
            return Err(Skip::NoAgent);
        };
        let Device::Person(device) = self.devices.classify(ua) else {
            return Err(Skip::Bot);
        };
        let ip: IpAddr = r.addr.parse().map_err(|_| Skip::Unparseable)?;
        let viewed_at = Timestamp::from_utc(r.time);
        Ok(NewView {
            post_id,
            ip: self
                .anonymiser
                .anonymise(ip, &r.time.format("%Y-%m-%d").to_string()),
            user_agent: truncate(ua, 512).to_string(),
            referrer: r.referrer.as_deref().and_then(clean_referrer),
            viewed_at,
            device,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::store::views::DeviceClass;

    const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    fn record(
        method: &'static str,
        path: &'static str,
        status: u16,
        ua: Option<&'static str>,
    ) -> LogRecord<'static> {
        LogRecord {
            addr: "203.0.113.9",
            time: "2026-03-04T23:59:59Z".parse().unwrap(),
            method,
            path: Cow::Borrowed(path),
            status,
            referrer: Some(Cow::Borrowed("https://ex.org/a?secret=1")),
            user_agent: ua.map(Cow::Borrowed),
        }
    }

    #[test]
    fn views_and_reasons() {
        let site = crate::ingest::site_map::tests_support::map();
        let devices = Classifier::default();
        let anonymiser = IpAnonymiser::new().unwrap();
        let j = Judge {
            site: &site,
            devices: &devices,
            anonymiser: &anonymiser,
        };
        let v = j
            .judge(&record("GET", "/posts/a/", 304, Some(PHONE)))
            .unwrap();
        assert_eq!((v.post_id, v.device), (1, DeviceClass::Mobile));
        assert_eq!(v.viewed_at.to_string(), "2026-03-04 23:59:59");
        assert_eq!(v.referrer.as_deref(), Some("https://ex.org/a"));
        assert!(v.ip.starts_with("h:") && !v.ip.contains("203"));
        for (r, why) in [
            (record("HEAD", "/posts/a/", 200, Some(PHONE)), Skip::Method),
            (record("GET", "/posts/a/", 404, Some(PHONE)), Skip::Status),
            (record("GET", "/old/a/", 200, Some(PHONE)), Skip::Redirect),
            (record("GET", "/a.css", 200, Some(PHONE)), Skip::Asset),
            (record("GET", "/", 200, Some(PHONE)), Skip::NoPost),
            (record("GET", "/posts/a/", 200, None), Skip::NoAgent),
            (
                record("GET", "/posts/a/", 200, Some("Googlebot/2.1")),
                Skip::Bot,
            ),
        ] {
            assert_eq!(j.judge(&r).unwrap_err(), why, "{r:?}");
        }
    }
}
