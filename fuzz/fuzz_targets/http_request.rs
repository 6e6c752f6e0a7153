//! The server's request path: the request head is read by hyper (fuzzed upstream); what bloggo
//! adds is the decoding of the request target into path segments, which never panics and never
//! yields a segment that climbs out of the site (no `.`/`..`, no `/`, `\` or NUL inside one).
//! The input is a raw request; its target is the second word of its first line.
#![no_main]

use bloggo::serve::files::{decode_segments, split_target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = String::from_utf8_lossy(data);
    let line = head.lines().next().unwrap_or("");
    let target = line.split(' ').nth(1).unwrap_or(line);
    let (path, _query) = split_target(target);
    if let Ok(segments) = decode_segments(path) {
        for s in segments {
            assert!(!s.is_empty() && s != "." && s != "..", "{s:?}");
            assert!(!s.contains(['/', '\\', '\0']), "{s:?}");
        }
    }
});
