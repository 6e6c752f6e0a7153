//! Links between posts in a build (`@/x.md`, Hugo's `ref`, Jekyll's `post_url`…, resolved by
//! `markdown::render_linked` against the snapshot): the key of each post's rendered markdown
//! with what its links lead to now, and a warning for each link that leads nowhere, naming the
//! post's file and line.

use crate::config::Settings;
use crate::markdown::cache::linked_key;
use crate::markdown::LinkRef;
use crate::snapshot::{LinkTarget, Snapshot};

/// The key of post `i`'s rendered markdown, whose [`crate::markdown::cache::body_key`] is
/// `base` and whose markdown writes `links`.
pub(super) fn key(snap: &Snapshot, i: usize, base: &[u8; 32], links: &[LinkRef]) -> [u8; 32] {
    linked_key(base, links, &snap.links_from(i))
}

/// One warning per link to a post that names none the site shows (or several), for these
/// posts (snapshot index, links of its markdown). The line is the file's when the post's
/// source file can still be read (its front matter counted), else the markdown's.
pub(super) fn warnings<'a>(
    settings: &Settings,
    snap: &Snapshot,
    posts: impl IntoIterator<Item = (usize, &'a [LinkRef])>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, links) in posts {
        let mut offset = None;
        for l in links.iter().filter(|l| l.kind.names_a_post()) {
            let why = match snap.link_target(i, l.kind, l.split_anchor().0) {
                LinkTarget::Post(_) | LinkTarget::Site(_) => continue,
                LinkTarget::Missing => "names no post the site shows".to_string(),
                LinkTarget::Ambiguous(posts) => format!(
                    "matches several posts ({})",
                    posts
                        .iter()
                        .map(|&p| snap.posts[p].row.source_path.as_deref().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let p = &snap.posts[i];
            let place = match &p.row.source_path {
                Some(source) => {
                    let offset = *offset.get_or_insert_with(|| body_offset(settings, source));
                    match offset {
                        Some(o) => format!("{source}:{}", o + l.line as usize),
                        None => format!("{source} (line {} of its text)", l.line),
                    }
                }
                None => format!("post {:?} (line {} of its text)", p.row.slug, l.line),
            };
            out.push(format!(
                "{place}: the link {l} {why}; it is left as written"
            ));
        }
    }
    out
}

/// How many lines of the source file come before the post's markdown (its front matter), or
/// `None` when the file cannot be read.
fn body_offset(settings: &Settings, source: &str) -> Option<usize> {
    let text = std::fs::read_to_string(settings.root.join(source)).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let split = crate::frontmatter::syntax::split(text).ok()?;
    let before = &text[..text.len() - split.body.len()];
    Some(before.bytes().filter(|b| *b == b'\n').count())
}
