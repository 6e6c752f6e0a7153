//! The server's request path: reading a request head (request line, headers, limits) and
//! decoding its target into path segments never panics; a decoded path never climbs out of
//! the site (no `.`/`..` segment, no `/`, `\` or NUL inside a segment).
#![no_main]

use bloggo::serve::files::{decode_segments, split_target};
use bloggo::serve::http::{read_request, Limits, ReadError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_request_line: 1024,
        max_header_line: 1024,
        max_headers: 16,
        ..Limits::default()
    };
    let mut reader = std::io::BufReader::new(data);
    let mut give_up = || true;
    match read_request(&mut reader, &limits, &mut give_up) {
        Ok(rq) => {
            let (path, _query) = split_target(&rq.target);
            if let Ok(segments) = decode_segments(path) {
                for s in segments {
                    assert!(!s.is_empty() && s != "." && s != "..", "{s:?}");
                    assert!(!s.contains(['/', '\\', '\0']), "{s:?}");
                }
            }
        }
        Err(ReadError::Bad(status, why)) => {
            assert!((400..500).contains(&status) || status == 501 || status == 505, "{status} {why}");
        }
        Err(ReadError::Closed) => {}
    }
});
