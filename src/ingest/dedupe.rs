//! The key that makes ingest idempotent: 16 bytes of BLAKE3 over a log line as written (its
//! trailing `\r` aside). A line depends on nothing but the request (address, time to the
//! second, request, status, size, referrer, agent), so the same line in another file (a
//! rotated log repeating the tail of the last one, the same file read again, a `.gz` of it)
//! has the same key, and `ingested_views` counts it once. Two requests that give the very
//! same line (one browser asking for one page twice in one second) count once.

use crate::store::ingest::LineKey;

/// The key of a line (without its newline).
pub fn line_key(line: &[u8]) -> LineKey {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut h = blake3::Hasher::new_derive_key("bloggo views ingest: log line v1");
    h.update(line);
    let mut key = [0; 16];
    key.copy_from_slice(&h.finalize().as_bytes()[..16]);
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
        assert_eq!(line_key(a), line_key(&crlf));
        assert_ne!(line_key(a), line_key(&a[1..]));
    }
}
