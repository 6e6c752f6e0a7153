//! Import of one file: `parse_file` never panics on any bytes (invalid UTF-8, broken front
//! matter, odd dates); every problem names the file and a line inside it.
#![no_main]

use bloggo::config::Timezone;
use bloggo::frontmatter::ParseContext;
use bloggo::import::parse_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        timezone: Timezone::parse("Europe/Paris").expect("zone"),
        words_per_minute: 200,
        max_file_size: 1 << 20,
        forced_status: None,
        file_time: None,
        default_language: None,
        root_pages: false,
        dotless_slugs: false,
    };
    let lines = data.split(|&b| b == b'\n').count().max(1);
    match parse_file("posts/2024-05-01-fuzz.md", data, &ctx) {
        Ok(post) => {
            assert!(!post.fields.slug.is_empty());
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in problems {
                if let Some(line) = p.line {
                    assert!(line >= 1 && line <= lines + 1, "{p:?} (file has {lines} lines)");
                }
            }
        }
    }
});
