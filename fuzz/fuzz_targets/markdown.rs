//! Markdown to HTML: `render` never panics, heading ids are unique, and the excerpt and word
//! count helpers accept anything the renderer does.
#![no_main]

use bloggo::markdown::{self, MarkdownOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks the options so both paths (highlighting, link rebasing) are reached.
    let flags = data.first().copied().unwrap_or(0);
    let opts = MarkdownOptions {
        smart_punctuation: flags & 1 != 0,
        highlight: flags & 2 != 0,
        highlight_theme: if flags & 4 != 0 { "css".into() } else { "InspiredGitHub".into() },
        link_base: (flags & 8 != 0).then(|| "/posts/fuzz/".to_string()),
    };
    let out = markdown::render(src, &opts);
    let mut ids: Vec<&str> = out.toc.iter().map(|t| t.id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate heading ids: {:?}", out.toc);
    let _ = markdown::excerpt_text(src);
    let _ = markdown::word_count(src);
});
