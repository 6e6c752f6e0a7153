//! The NCSA log formats nginx and Apache write by default: **combined**
//! (`$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//! "$http_referer" "$http_user_agent"`) and **common** (the same without the last two
//! fields). Fields after the user agent (some configurations add `$http_x_forwarded_for` or
//! timings) are ignored. Quotes inside quoted fields come escaped (`\"` from Apache, `\x22`
//! from nginx).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};

use super::record::{path_of, present, LogRecord};

/// Parses one line; `None` when it is not in either format.
pub fn parse(line: &str) -> Option<LogRecord<'_>> {
    let (addr, rest) = line.split_once(' ')?;
    let open = rest.find('[')?;
    let close = open + rest[open..].find(']')?;
    let time = parse_time(&rest[open + 1..close])?;
    let rest = rest[close + 1..].strip_prefix(' ')?;
    let (request, rest) = quoted(rest)?;
    let mut words = request.split(' ');
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("");
    let rest = rest.strip_prefix(' ')?;
    let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let status: u16 = status.parse().ok()?;
    // The size, then (combined) the referrer and the agent.
    let rest = rest.split_once(' ').map_or("", |(_, r)| r);
    let (referrer, user_agent) = match quoted(rest) {
        Some((referrer, rest)) => {
            let (agent, _) = quoted(rest.strip_prefix(' ')?)?;
            (present(referrer).map(unescape), Some(unescape(agent)))
        }
        None => (None, None),
    };
    Some(LogRecord {
        addr,
        time,
        method,
        path: Cow::Borrowed(path_of(target)),
        status,
        referrer,
        user_agent,
    })
}

/// A double-quoted field at the start of `s` (escaped quotes inside) and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&body[..i], &body[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// A field with its `\"`, `\\` and `\xHH` escapes undone (borrowed when it has none).
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'x' && i + 3 < b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 2..i + 4], 16) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
            out.push(b[i + 1]);
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `10/Oct/2000:13:55:36 -0700` → UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let month = match &s[3..6] {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let local = NaiveDate::from_ymd_opt(num(7..11)? as i32, month, num(0..2)?)?.and_hms_opt(
        num(12..14)?,
        num(15..17)?,
        num(18..20)?,
    )?;
    let offset = (num(22..24)? * 3600 + num(24..26)? * 60) as i64;
    let offset = match b[21] {
        b'+' => offset,
        b'-' => -offset,
        _ => return None,
    };
    Some((local - chrono::Duration::seconds(offset)).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_lines_give_every_field() {
        let r = parse(
            r#"203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "GET /posts/a/?x=1 HTTP/1.1" 200 2326 "https://ex.org/p?q=1" "Mozilla/5.0 (X11) \"quoted\"" "-""#,
        )
        .unwrap();
        assert_eq!(r.addr, "203.0.113.7");
        assert_eq!(r.time.to_rfc3339(), "2000-10-10T20:55:36+00:00");
        assert_eq!(
            (r.method, r.path.as_ref(), r.status),
            ("GET", "/posts/a/", 200)
        );
        assert_eq!(r.referrer.as_deref(), Some("https://ex.org/p?q=1"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some(r#"Mozilla/5.0 (X11) "quoted""#)
        );
    }

    #[test]
    fn common_lines_have_no_agent_and_nginx_escapes_are_undone() {
        let r = parse(r#"::1 - - [01/Jan/2026:00:00:00 +0130] "HEAD / HTTP/1.0" 304 -"#).unwrap();
        assert_eq!((r.addr, r.method, r.status), ("::1", "HEAD", 304));
        assert_eq!(r.time.to_rfc3339(), "2025-12-31T22:30:00+00:00");
        assert_eq!((r.referrer, r.user_agent), (None, None));
        let r = parse(
            r#"10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /a/ HTTP/1.1" 200 5 "-" "A\x22B""#,
        )
        .unwrap();
        assert_eq!(r.referrer, None);
        assert_eq!(r.user_agent.as_deref(), Some("A\"B"));
        // A request that is not one (TLS spoken to the plain port) still parses.
        let r =
            parse(r#"10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "\x16\x03\x01" 400 150 "-" "-""#)
                .unwrap();
        assert_eq!((r.path.as_ref(), r.status), ("", 400));
    }

    #[test]
    fn other_lines_are_refused() {
        for line in [
            "",
            "garbage",
            r#"1.2.3.4 - - [32/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [01/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1 200 1"#,
            r#"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" OK 1"#,
            r#"1.2.3.4 - - [01/Jan/2026:00:00:00] "GET / HTTP/1.1" 200 1"#,
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
