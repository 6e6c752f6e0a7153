//! Front matter: splitting the fences and parsing YAML/TOML into JSON never panics, and a
//! reported line is inside the file.
#![no_main]

use bloggo::frontmatter::syntax as frontmatter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let lines = src.lines().count().max(1);
    match frontmatter::split(src) {
        Ok(split) => {
            assert!(src.ends_with(split.body));
            if let Err((line, msg)) = frontmatter::parse(&split) {
                assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}: {msg}");
                assert!(!msg.is_empty());
            }
            for key in ["title", "date", "tags"] {
                if let Some(line) = frontmatter::key_line(&split, key) {
                    assert!(line >= 1 && line <= lines + 1);
                }
            }
        }
        Err((line, msg)) => {
            assert!(line >= 1 && line <= lines + 1, "line {line}: {msg}");
        }
    }
});
