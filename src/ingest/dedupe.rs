//! The key that makes ingest idempotent: the request's time (4 bytes, seconds since 1970,
//! big-endian) and 12 bytes of BLAKE3 over the log line as written (its trailing `\r` aside).
//! The time first keeps the keys of a log in the order they come, so the key table grows at
//! its end as `post_views` does instead of at random places (several times faster on large
//! logs); 96 bits of hash among the lines of one second cannot collide in practice. A line depends on nothing but the request (address, time to the
//! second, request, status, size, referrer, agent), so the same line in another file (a
//! rotated log repeating the tail of the last one, the same file read again, a `.gz` of it)
//! has the same key, and `ingested_views` counts it once. Two requests that give the very
//! same line (one browser asking for one page twice in one second) count once.

use chrono::{DateTime, Utc};

use crate::store::ingest::LineKey;

/// The key of a line (without its newline) of a request made at `time`.
pub fn line_key(time: DateTime<Utc>, line: &[u8]) -> LineKey {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut h = blake3::Hasher::new_derive_key("bloggo views ingest: log line v1");
    h.update(line);
    let mut key = [0; 16];
    let secs = u32::try_from(time.timestamp().max(0)).unwrap_or(u32::MAX);
    key[..4].copy_from_slice(&secs.to_be_bytes());
    key[4..].copy_from_slice(&h.finalize().as_bytes()[..12]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_line_has_the_same_key_and_another_line_another() {
        let a = br#"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /a/ HTTP/1.1" 200 5 "-" "ua""#;
        let mut crlf = a.to_vec();
        crlf.push(b'\r');
        let t = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(line_key(t, a), line_key(t, &crlf));
        assert_ne!(line_key(t, a), line_key(t, &a[1..]));
        let later = line_key("2026-01-01T00:00:01Z".parse().unwrap(), a);
        assert!(later > line_key(t, a), "keys sort by time");
    }
}
