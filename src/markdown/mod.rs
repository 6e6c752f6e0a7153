//! Markdown → HTML, table of contents, excerpts and word counts.
//! The only module that uses pulldown-cmark (and, in `highlight`, syntect).
//!
//! Rendering is a pure function of (text, options): safe to call from many rayon workers at
//! once. Highlighted code blocks are cached process-wide (see [`highlight`]).

pub mod cache;
mod highlight;
mod links;
pub mod refs;

use std::collections::HashSet;

use pulldown_cmark::{
    html, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use serde::Serialize;

pub use highlight::{
    syntax_css, theme_names, validate_highlight_theme, warm_up as warm_up_highlighter,
    CLASS_PREFIX, CSS_THEME, DARK_CSS_THEME, LIGHT_CSS_THEME,
};
pub use links::resolve_relative_url;
pub use refs::{LinkRef, RefKind, Resolve};

/// How a page's markdown is rendered.
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    pub smart_punctuation: bool,
    /// Highlight fenced code blocks.
    pub highlight: bool,
    /// `css` (class names) or a syntect theme name (inline styles).
    pub highlight_theme: String,
    /// The published folder of the page (`/posts/slug/`): relative links and images of a page
    /// bundle are resolved against it.
    pub link_base: Option<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            smart_punctuation: true,
            highlight: true,
            highlight_theme: "css".into(),
            link_base: None,
        }
    }
}

/// One heading of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    /// Plain text of the heading (inline markup removed, not HTML-escaped).
    pub title: String,
}

/// A rendered page body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// HTML of the text before `<!-- more -->`, when the page has the marker.
    pub summary_html: Option<String>,
    /// Where each highlighted code block is in `html`, so a later version of the page can
    /// reuse the blocks it did not change (see [`remember_code`]).
    #[serde(skip)]
    pub code: Vec<CodeSpan>,
    /// The links to other posts and to the site the markdown writes (`@/x.md`, `ref`,
    /// `post_url`, `site.url`…), resolved or not: what the page's URLs depend on besides its
    /// own (see `cache::linked_key`).
    #[serde(skip)]
    pub links: Vec<LinkRef>,
}

/// A highlighted code block inside a rendered body: its highlighting key (theme, language,
/// code) and its bytes `html[at..at + len]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodeSpan {
    pub key: [u8; 32],
    pub at: u64,
    pub len: u64,
}

/// Makes the highlighted code blocks of an earlier rendering of a page known to this process,
/// so rendering the page's new text highlights only the blocks that changed (loading the
/// syntax definitions alone takes tens of milliseconds).
pub fn remember_code(r: &Rendered) {
    for c in &r.code {
        let (Ok(at), Ok(len)) = (usize::try_from(c.at), usize::try_from(c.len)) else {
            continue;
        };
        if let Some(html) = at.checked_add(len).and_then(|end| r.html.get(at..end)) {
            highlight::remember(c.key, html);
        }
    }
}

/// The marker that ends a post's excerpt. `<!--more-->` (Hugo's spelling) works too.
pub const MORE_MARKER: &str = "<!-- more -->";

/// Bumped whenever the HTML this module writes for the same input changes, so caches of
/// rendered posts keyed by [`cache::body_key`] are invalidated.
const RENDERER_VERSION: u32 = 3;

fn options(smart: bool) -> Options {
    let mut o = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    if smart {
        o |= Options::ENABLE_SMART_PUNCTUATION;
    }
    o
}

/// Renders markdown to HTML with heading ids (stable, unique per page) and a table of contents.
///
/// Fenced code is highlighted (see [`MarkdownOptions::highlight_theme`]); raw HTML passes
/// through; relative link and image URLs are resolved against `link_base`. Never panics and
/// never fails: an unknown highlight theme or language gives plain escaped code (check the
/// theme up front with [`validate_highlight_theme`]). Links to other posts are left as
/// written (see [`render_linked`]).
pub fn render(src: &str, opts: &MarkdownOptions) -> Rendered {
    render_linked(src, opts, &refs::Unresolved)
}

/// [`render`], with the links to other posts and to the site (`@/x.md`, Hugo's `ref` and
/// `relref`, Jekyll's `post_url`, `{{ site.url }}`, `{{ site.baseurl }}`) that `res` knows
/// replaced by their URL; the others are left as written. Code is never touched. Every such
/// link is listed in [`Rendered::links`].
pub fn render_linked(src: &str, opts: &MarkdownOptions, res: &dyn Resolve) -> Rendered {
    let mut links = Vec::new();
    let text = refs::replace_links(src, res, &mut links);
    let src = &*text;
    let (mut events, blocks) = parse(src, opts, res, &mut links);
    let toc = assign_heading_ids(&mut events);
    let summary_html = events
        .iter()
        .position(is_more_marker_event)
        .map(|k| to_html(summary_events(&events[..k]), k * 16));
    let html = to_html(events, src.len() * 3 / 2);
    // Each block's HTML went into the page as it is, in order.
    let mut code = Vec::with_capacity(blocks.len());
    let mut from = 0;
    for (key, block) in blocks {
        if let Some(k) = html[from..].find(&*block) {
            let at = from + k;
            code.push(CodeSpan {
                key,
                at: at as u64,
                len: block.len() as u64,
            });
            from = at + block.len();
        }
    }
    links.sort_by_key(|l| l.line);
    Rendered {
        html,
        toc,
        summary_html,
        code,
        links,
    }
}

fn to_html<'a>(events: impl IntoIterator<Item = Event<'a>>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    html::push_html(&mut out, events.into_iter());
    out
}

/// Parses into events, with code blocks already turned into (highlighted) HTML, relative
/// URLs resolved and `@/` links to other posts replaced by their URL when `res` knows them
/// (each one added to `links`); also the highlighted blocks with their keys.
#[allow(clippy::type_complexity)]
fn parse<'a>(
    src: &'a str,
    opts: &MarkdownOptions,
    res: &dyn Resolve,
    links: &mut Vec<LinkRef>,
) -> (Vec<Event<'a>>, Vec<([u8; 32], std::sync::Arc<str>)>) {
    let mut blocks = Vec::new();
    let theme = opts.highlight.then_some(opts.highlight_theme.as_str());
    let base = opts.link_base.as_deref();
    let mut events = Vec::with_capacity(src.len() / 16);
    // (language, code) of the code block being read.
    let mut code: Option<(CowStr, String)> = None;
    // Where the last `@/` link was, and its line (links come in order).
    let mut lines = (0, 1);
    for (ev, range) in Parser::new_ext(src, options(opts.smart_punctuation)).into_offset_iter() {
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => fence_language(info),
                    CodeBlockKind::Indented => CowStr::Borrowed(""),
                };
                code = Some((lang, String::new()));
            }
            Event::Text(t) if code.is_some() => {
                if let Some((_, buf)) = &mut code {
                    buf.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, buf)) = code.take() {
                    let html = highlight::code_block(&lang, &buf, theme);
                    events.push(Event::Html(CowStr::from(html.to_string())));
                    if let Some(theme) = theme {
                        blocks.push((highlight::block_key(theme, &lang, &buf), html));
                    }
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) if link_type != LinkType::Email => {
                let dest_url = match dest_url.strip_prefix("@/") {
                    Some(target) => {
                        let line = lines.1 + newlines(&src[lines.0..range.start.max(lines.0)]);
                        lines = (range.start.max(lines.0), line);
                        let r = LinkRef {
                            kind: RefKind::Zola,
                            target: target.to_string(),
                            line: u32::try_from(line).unwrap_or(u32::MAX),
                        };
                        let url = refs::resolve_ref(&r, res);
                        links.push(r);
                        url.map_or(dest_url, CowStr::from)
                    }
                    None => rebase(dest_url, base),
                };
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }))
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => events.push(Event::Start(Tag::Image {
                link_type,
                dest_url: rebase(dest_url, base),
                title,
                id,
            })),
            ev => events.push(ev),
        }
    }
    (events, blocks)
}

/// The language of a fence's info string: its first word (`rust,ignore` → `rust`,
/// `{.python}` → `python`).
fn fence_language(info: CowStr) -> CowStr {
    let word = info
        .trim_start_matches(['{', '.'])
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}'))
        .next()
        .unwrap_or("");
    if word.len() == info.len() {
        info
    } else {
        CowStr::from(word.to_string())
    }
}

fn newlines(s: &str) -> usize {
    s.bytes().filter(|b| *b == b'\n').count()
}

fn rebase<'a>(url: CowStr<'a>, base: Option<&str>) -> CowStr<'a> {
    match base.and_then(|b| resolve_relative_url(b, &url)) {
        Some(abs) => CowStr::from(abs),
        None => url,
    }
}

/// Gives every heading an id, unique in the page, and returns the table of contents.
///
/// An explicit `{#id}` is kept as written (a repeated one gets a `-N` suffix); other headings
/// get the slug of their text, never one that an explicit id or a footnote uses anywhere in the
/// page, suffixed `-1`, `-2`… when taken. The same text always gives the same ids.
fn assign_heading_ids(events: &mut [Event]) -> Vec<TocEntry> {
    let mut reserved: HashSet<String> = HashSet::new();
    for ev in events.iter() {
        match ev {
            Event::Start(Tag::Heading { id: Some(id), .. }) => {
                reserved.insert(id.to_string());
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                reserved.insert(label.to_string());
            }
            _ => {}
        }
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let Event::Start(Tag::Heading { level, id, .. }) = &events[i] else {
            i += 1;
            continue;
        };
        let level = heading_level(*level);
        let explicit = id.as_ref().map(|s| s.to_string());
        let mut title = String::new();
        let mut j = i + 1;
        while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
            if let Event::Text(t) | Event::Code(t) = &events[j] {
                title.push_str(t);
            }
            j += 1;
        }
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let unique = match explicit {
            Some(id) => unique_id(id, &used, &HashSet::new()),
            None => {
                let slug = slug::slugify(&title);
                let base = if slug.is_empty() {
                    "section".to_string()
                } else {
                    slug
                };
                unique_id(base, &used, &reserved)
            }
        };
        used.insert(unique.clone());
        if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
            *id = Some(unique.clone().into());
        }
        toc.push(TocEntry {
            level,
            id: unique,
            title,
        });
        i = j + 1;
    }
    toc
}

fn unique_id(base: String, used: &HashSet<String>, reserved: &HashSet<String>) -> String {
    let taken = |s: &str| used.contains(s) || reserved.contains(s);
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken(s))
        .expect("an unused suffix exists")
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// `<!-- more -->`, `<!--more-->`… as an HTML comment of its own.
fn is_more_marker(html: &str) -> bool {
    html.trim()
        .strip_prefix("<!--")
        .and_then(|r| r.strip_suffix("-->"))
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("more"))
}

fn is_more_marker_event(ev: &Event) -> bool {
    matches!(ev, Event::Html(t) | Event::InlineHtml(t) if is_more_marker(t))
}

/// The events before the marker, with every element still open at that point closed, so a
/// marker inside a paragraph or list gives well-formed HTML. Summaries are shown several to a
/// page (indexes, feeds), so headings lose their ids and footnotes are left out: neither would
/// be unique or resolve there.
fn summary_events<'a>(before: &[Event<'a>]) -> Vec<Event<'a>> {
    let mut out = Vec::with_capacity(before.len() + 8);
    let mut open: Vec<TagEnd> = Vec::new();
    let mut in_footnote = 0usize;
    for ev in before {
        match ev {
            Event::Start(Tag::FootnoteDefinition(_)) => in_footnote += 1,
            Event::End(TagEnd::FootnoteDefinition) => in_footnote = in_footnote.saturating_sub(1),
            _ if in_footnote > 0 => {}
            Event::FootnoteReference(_) => {}
            Event::Start(tag) => {
                open.push(tag.to_end());
                let tag = match tag {
                    Tag::Heading {
                        level,
                        classes,
                        attrs,
                        ..
                    } => Tag::Heading {
                        level: *level,
                        id: None,
                        classes: classes.clone(),
                        attrs: attrs.clone(),
                    },
                    tag => tag.clone(),
                };
                out.push(Event::Start(tag));
            }
            Event::End(end) => {
                open.pop();
                out.push(Event::End(*end));
            }
            ev => out.push(ev.clone()),
        }
    }
    out.extend(open.into_iter().rev().map(Event::End));
    out
}

/// The plain text of a post's excerpt: the paragraphs before `<!-- more -->`, else the first
/// paragraph. `None` when the post has no text.
pub fn excerpt_text(src: &str) -> Option<String> {
    summarise(src, true, false).0
}

/// Words of the markdown as written, for reading time: runs of text between whitespace that
/// hold a letter or digit (so `#`, `-`, `|` and fences do not count), the way Zola counts. It
/// needs no parse, which made it the costliest part of an import.
pub fn word_count(src: &str) -> usize {
    if !src.is_ascii() {
        return src
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count();
    }
    // Branch-free: `counted` is 1 once the current word has been counted, cleared by
    // whitespace. Per-byte branches on prose (a new word every few bytes) mispredict often
    // enough that the branchy loop cost an import of 90 MB of markdown ~0.15 s of CPU.
    let mut n = 0usize;
    let mut counted = 0u8;
    for &b in src.as_bytes() {
        let class = WORD_CLASS[b as usize];
        let alnum = class & 1;
        let space = class >> 1;
        n += (alnum & !counted & 1) as usize;
        counted = (counted | alnum) & !space & 1;
    }
    n
}

/// For `word_count`'s ASCII path: 1 for an ASCII letter or digit, 2 for what
/// `char::is_whitespace` calls whitespace in ASCII (space, \t, \n, \x0B, \x0C, \r).
static WORD_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = 1;
        } else if matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            t[b] = 2;
        }
        b += 1;
    }
    t
};

/// A post's excerpt (as [`excerpt_text`]) and word count (as [`word_count`]) from one parse.
pub fn excerpt_and_words(src: &str) -> (Option<String>, usize) {
    summarise(src, true, true)
}

/// Whether the markdown may hold a `<!-- more -->` marker (a cheap test that never misses one).
fn may_have_marker(src: &str) -> bool {
    // A `char` pattern is a memchr; prose has few `<`, so this beats searching for "<!--".
    src.match_indices('<').any(|(i, _)| {
        if !src[i..].starts_with("<!--") {
            return false;
        }
        let rest = src[i + 4..].trim_start().as_bytes();
        rest.len() >= 4 && rest[..4].eq_ignore_ascii_case(b"more")
    })
}

/// The excerpt when `excerpt` (parsing only as far as it needs), the words when `words`.
/// Links to other posts written as template constructs (`[a]({% post_url x %})`) read as the
/// links they are: their text is in the excerpt, not the construct.
fn summarise(src: &str, excerpt: bool, words: bool) -> (Option<String>, usize) {
    let count = if words { word_count(src) } else { 0 };
    if !excerpt {
        return (None, count);
    }
    let linked = refs::replace_links(src, &refs::Nowhere, &mut Vec::new());
    let src = &*linked;
    let may_have_marker = may_have_marker(src);
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut marker = false;
    let mut excerpt_done = false;
    let flush = |text: String, paragraphs: &mut Vec<String>| {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            paragraphs.push(text);
        }
    };
    for ev in Parser::new_ext(src, options(false)) {
        match ev {
            Event::Start(Tag::Paragraph) => current = Some(String::new()),
            Event::End(TagEnd::Paragraph) => {
                flush(current.take().unwrap_or_default(), &mut paragraphs);
                excerpt_done = !paragraphs.is_empty() && !may_have_marker;
            }
            Event::Html(t) | Event::InlineHtml(t) if is_more_marker(&t) => {
                marker = true;
                if let Some(text) = current.take() {
                    flush(text, &mut paragraphs);
                }
                excerpt_done = true;
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(p) = &mut current {
                    p.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(p) = &mut current {
                    p.push(' ');
                }
            }
            _ => {}
        }
        if excerpt_done {
            break;
        }
    }
    if !marker {
        paragraphs.truncate(1);
    }
    let text = paragraphs.join(" ");
    ((!text.is_empty()).then_some(text), count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(r: &Rendered) -> Vec<&str> {
        r.toc.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn code_spans_point_at_each_highlighted_block_and_can_be_remembered() {
        let src = "Intro\n\n```rust\nfn a() {}\n```\n\ntext\n\n```python\nx = 1\n```\n";
        let r = render(src, &MarkdownOptions::default());
        assert_eq!(r.code.len(), 2);
        for c in &r.code {
            let block = &r.html[c.at as usize..(c.at + c.len) as usize];
            assert!(block.starts_with("<pre"), "{block}");
            assert!(block.trim_end().ends_with("</pre>"), "{block}");
        }
        assert!(r.html[r.code[0].at as usize..].contains("fn"));
        assert!(r.code[1].at > r.code[0].at + r.code[0].len);
        // A remembered block is what code_block gives for that key, without highlighting.
        let fake = Rendered {
            html: "xx<pre>remembered</pre>".into(),
            code: vec![CodeSpan {
                key: highlight::block_key("css", "zz-test", "q"),
                at: 2,
                len: 21,
            }],
            ..Rendered::default()
        };
        remember_code(&fake);
        assert_eq!(
            &*highlight::code_block("zz-test", "q", Some("css")),
            "<pre>remembered</pre>"
        );
        // Spans that do not fit the HTML are ignored.
        let bad = Rendered {
            html: "short".into(),
            code: vec![CodeSpan {
                key: highlight::block_key("css", "zz-test", "r"),
                at: 3,
                len: 99,
            }],
            ..Rendered::default()
        };
        remember_code(&bad);
        assert!(!highlight::code_block("zz-test", "r", Some("css")).contains("short"));
    }

    fn md(src: &str) -> Rendered {
        render(src, &MarkdownOptions::default())
    }

    proptest! {
        #[test]
        fn one_pass_gives_the_same_excerpt_and_words(src in "[a-z *_`#>\\-\n\t\u{a0}é]{0,200}") {
            let (excerpt, words) = excerpt_and_words(&src);
            prop_assert_eq!(excerpt, excerpt_text(&src));
            prop_assert_eq!(words, word_count(&src));
            let reference = src
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .count();
            prop_assert_eq!(words, reference);
            // The ASCII path against the same definition.
            let ascii: String = src.chars().filter(char::is_ascii).collect();
            let reference = ascii
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .count();
            prop_assert_eq!(word_count(&ascii), reference);
        }

        #[test]
        fn ascii_word_count_matches_its_definition(src in "[\\x00-\\x7f]{0,200}") {
            let reference = src
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .count();
            prop_assert_eq!(word_count(&src), reference);
        }
    }

    #[test]
    fn headings_get_unique_ids_and_a_toc() {
        let r = md("# A\n\n## A\n\ntext\n");
        assert_eq!(ids(&r), ["a", "a-1"]);
        assert!(r.html.contains("<h2 id=\"a-1\">"), "{}", r.html);
        assert_eq!(r.toc[1].level, 2);
    }

    #[test]
    fn automatic_ids_avoid_explicit_ids_even_later_in_the_page() {
        let r = md("## Intro\n\n## Other {#intro}\n\n## Other {#intro}\n\n## intro-1\n");
        assert_eq!(ids(&r), ["intro-1", "intro", "intro-2", "intro-1-1"]);
        assert_eq!(r.toc[1].title, "Other");
    }

    #[test]
    fn automatic_ids_avoid_footnote_labels() {
        let r = md("## Note\n\nText[^note].\n\n[^note]: A footnote.\n");
        assert_eq!(ids(&r), ["note-1"]);
        assert!(r.html.contains("id=\"note\""), "{}", r.html);
    }

    #[test]
    fn heading_titles_drop_inline_markup() {
        let r = md("## Using `Vec<T>` *safely* & [well](https://x.org)\n");
        assert_eq!(r.toc[0].title, "Using Vec<T> safely & well");
        assert_eq!(r.toc[0].id, "using-vec-t-safely-well");
        assert!(r.html.contains("<code>Vec&lt;T&gt;</code>"), "{}", r.html);
    }

    #[test]
    fn non_ascii_and_empty_headings_get_ids() {
        let r = md("## Café crème\n\n## 日本語\n\n## !!!\n\n##\n");
        assert_eq!(ids(&r), ["cafe-creme", "ri-ben-yu", "section", "section-1"]);
    }

    #[test]
    fn ids_are_stable() {
        let src = "# X\n\n## Y\n\n## X\n";
        assert_eq!(md(src).html, md(src).html);
    }

    #[test]
    fn extensions_are_enabled() {
        let r = md(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~\n\n- [x] done\n- [ ] todo\n\n\
                    Note[^1].\n\n[^1]: The note.\n\n\"Quotes\" -- and...\n",
        );
        for needle in [
            "<table>",
            "<del>gone</del>",
            "type=\"checkbox\"",
            "checked",
            "class=\"footnote-reference\"",
            "class=\"footnote-definition\"",
            "\u{201c}Quotes\u{201d} \u{2013} and\u{2026}",
        ] {
            assert!(r.html.contains(needle), "{needle} missing in {}", r.html);
        }
        let plain = render(
            "\"Quotes\"",
            &MarkdownOptions {
                smart_punctuation: false,
                ..Default::default()
            },
        );
        assert_eq!(plain.html, "<p>\"Quotes\"</p>\n");
    }

    #[test]
    fn fenced_code_is_highlighted_with_classes() {
        let r = md("```rust,ignore\nfn main() { let x = 1; }\n```\n");
        assert!(
            r.html
                .contains("<pre class=\"hl-code\"><code class=\"language-rust\">"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<span class=\"hl-"), "{}", r.html);
    }

    #[test]
    fn fenced_code_with_a_theme_uses_inline_styles() {
        let opts = MarkdownOptions {
            highlight_theme: "Solarized (light)".into(),
            ..Default::default()
        };
        let r = render("```python\nprint('hi')\n```\n", &opts);
        assert!(
            r.html.contains("<pre style=\"background-color:#"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<span style=\"color:#"), "{}", r.html);
    }

    #[test]
    fn code_without_highlighting_or_language_is_plain() {
        let off = MarkdownOptions {
            highlight: false,
            ..Default::default()
        };
        let r = render("```rust\nlet a = b < c;\n```\n", &off);
        assert_eq!(
            r.html,
            "<pre><code class=\"language-rust\">let a = b &lt; c;\n</code></pre>\n"
        );
        let r = md("```\n<b>\n```\n\n    indented <i>\n");
        assert_eq!(
            r.html,
            "<pre><code>&lt;b&gt;\n</code></pre>\n<pre><code>indented &lt;i&gt;\n</code></pre>\n"
        );
        let bad_theme = MarkdownOptions {
            highlight_theme: "nope".into(),
            ..Default::default()
        };
        let r = render("```rust\nx\n```\n", &bad_theme);
        assert_eq!(
            r.html,
            "<pre><code class=\"language-rust\">x\n</code></pre>\n"
        );
    }

    #[test]
    fn raw_html_passes_through() {
        let r = md("<div class=\"note\">\n<b>hi</b>\n</div>\n\nA <kbd>key</kbd>.\n");
        assert!(
            r.html.contains("<div class=\"note\">\n<b>hi</b>\n</div>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<kbd>key</kbd>"), "{}", r.html);
    }

    #[test]
    fn relative_links_and_images_resolve_against_the_link_base() {
        let opts = MarkdownOptions {
            link_base: Some("/posts/hello/".into()),
            ..Default::default()
        };
        let src = "[a](photo.png) ![b](./img/c.jpg \"t\") [up](../other/#x) [abs](/about/) \
                   [frag](#top) [web](https://x.org/a) [proto](//cdn.x.org/a) \
                   [mail](mailto:me@x.org) <me@x.org> [q](?page=2)\n\n[ref]: file.pdf\n\n[r][ref]\n";
        let html = render(src, &opts).html;
        for needle in [
            "href=\"/posts/hello/photo.png\"",
            "src=\"/posts/hello/img/c.jpg\"",
            "href=\"/posts/other/#x\"",
            "href=\"/about/\"",
            "href=\"#top\"",
            "href=\"https://x.org/a\"",
            "href=\"//cdn.x.org/a\"",
            "href=\"mailto:me@x.org\"",
            "href=\"?page=2\"",
            "href=\"/posts/hello/file.pdf\"",
        ] {
            assert!(html.contains(needle), "{needle} missing in {html}");
        }
        let unchanged = md("[a](photo.png)").html;
        assert!(unchanged.contains("href=\"photo.png\""), "{unchanged}");
    }

    /// A site of one post, `blog/a.md` (`2010-07-21-a` to Jekyll), at `/site/posts/a/`.
    struct OnePost;

    impl Resolve for OnePost {
        fn resolve(&self, kind: RefKind, target: &str) -> Option<String> {
            match (kind, target) {
                (RefKind::SiteUrl, _) => Some("https://x.org".into()),
                (RefKind::BaseUrl, _) => Some("/site".into()),
                (RefKind::Zola, "blog/a.md")
                | (RefKind::Ref | RefKind::Relref, "a.md" | "blog/a")
                | (RefKind::PostUrl, "2010-07-21-a") => Some("/site/posts/a/".into()),
                _ => None,
            }
        }
    }

    fn linked(src: &str) -> Rendered {
        let opts = MarkdownOptions {
            link_base: Some("/site/posts/b/".into()),
            ..Default::default()
        };
        render_linked(src, &opts, &OnePost)
    }

    #[test]
    fn links_to_other_posts_resolve_in_every_spelling_with_anchors() {
        let r = linked(
            "[z](@/blog/a.md) [za](@/blog/a.md#part)\n\n\
             [h]({{< ref \"a.md\" >}}) [hr]({{% relref \"blog/a#x\" %}}) [hq]({{<ref a.md>}})\n\n\
             [j]({% post_url 2010-07-21-a %}) [jb]({{ site.baseurl }}{% post_url 2010-07-21-a %})\n\n\
             ![i]({{ site.baseurl }}/i.png) [u]({{ site.url }}{{ site.baseurl }}/about/)\n\n\
             [ref]: @/blog/a.md#ref\n\n[by reference][ref]\n",
        );
        for needle in [
            "href=\"/site/posts/a/\">z<",
            "href=\"/site/posts/a/#part\">za<",
            "href=\"/site/posts/a/\">h<",
            "href=\"/site/posts/a/#x\">hr<",
            "href=\"/site/posts/a/\">hq<",
            "href=\"/site/posts/a/\">j<",
            "href=\"/site/posts/a/\">jb<",
            "src=\"/site/i.png\"",
            "href=\"https://x.org/site/about/\">u<",
            "href=\"/site/posts/a/#ref\">by reference<",
        ] {
            assert!(r.html.contains(needle), "{needle} missing in {}", r.html);
        }
        let lines: Vec<(u32, String)> = r.links.iter().map(|l| (l.line, l.to_string())).collect();
        assert_eq!(lines[0], (1, "@/blog/a.md".into()));
        assert_eq!(lines[2], (3, "{{< ref \"a.md\" >}}".into()));
        assert_eq!(lines[5], (5, "{% post_url 2010-07-21-a %}".into()));
        assert_eq!(lines.last().unwrap(), &(11, "@/blog/a.md#ref".into()));
        assert_eq!(r.links.len(), 12, "{lines:?}");
    }

    #[test]
    fn unresolved_links_are_left_as_written_and_listed() {
        let r = linked(
            "[z](@/gone.md#x)\n\n[h]({{< ref \"gone.md\" >}})\n\n\
             [j]({{ site.baseurl }}{% post_url 2010-01-01-gone %})\n",
        );
        for needle in [
            "href=\"@/gone.md#x\"",
            "[h]({{&lt; ref \u{201c}gone.md\u{201d} &gt;}})",
            "[j]({{ site.baseurl }}{% post_url 2010-01-01-gone %})",
        ] {
            assert!(r.html.contains(needle), "{needle} missing in {}", r.html);
        }
        let shown: Vec<String> = r.links.iter().map(|l| format!("{}:{l}", l.line)).collect();
        assert_eq!(
            shown,
            [
                "1:@/gone.md#x",
                "3:{{< ref \"gone.md\" >}}",
                "5:{{ site.baseurl }}",
                "5:{% post_url 2010-01-01-gone %}"
            ]
        );
        // Without a resolver nothing is resolved, but everything is listed.
        let plain = render("[z](@/blog/a.md)", &MarkdownOptions::default());
        assert!(
            plain.html.contains("href=\"@/blog/a.md\""),
            "{}",
            plain.html
        );
        assert_eq!(plain.links.len(), 1);
    }

    #[test]
    fn links_in_code_are_text() {
        let r = linked(
            "`{{< ref \"a.md\" >}}` and `[z](@/blog/a.md)`\n\n\
             ```\n{{< ref \"a.md\" >}} {% post_url 2010-07-21-a %} {{ site.url }}\n```\n\n\
             ~~~\n[z](@/blog/a.md)\n~~~\n",
        );
        assert!(r.links.is_empty(), "{:?}", r.links);
        for needle in [
            "<code>{{&lt; ref \"a.md\" &gt;}}</code>",
            "<code>[z](@/blog/a.md)</code>",
            "{% post_url 2010-07-21-a %} {{ site.url }}",
            "[z](@/blog/a.md)\n</code>",
        ] {
            assert!(r.html.contains(needle), "{needle} missing in {}", r.html);
        }
    }

    #[test]
    fn the_summary_has_resolved_links_too() {
        let r = linked("See [a](@/blog/a.md).\n\n<!-- more -->\n\nRest.\n");
        assert_eq!(
            r.summary_html.as_deref(),
            Some("<p>See <a href=\"/site/posts/a/\">a</a>.</p>\n")
        );
    }

    #[test]
    fn summary_is_the_part_before_the_more_marker() {
        let r = md("# T\n\nOne.\n\n<!-- more -->\n\nTwo.\n");
        assert_eq!(r.summary_html.as_deref(), Some("<h1>T</h1>\n<p>One.</p>\n"));
        assert!(r.html.contains("<h1 id=\"t\">T</h1>"));
        assert!(r.html.contains("<p>Two.</p>"));
        assert!(md("One.\n\nTwo.\n").summary_html.is_none());
        // Hugo's spelling, and a marker inside a paragraph and a list.
        let r = md("One.\n<!--more-->\nTwo.");
        assert_eq!(r.summary_html.as_deref(), Some("<p>One.</p>\n"));
        let r = md("- a <!-- more --> b\n- c\n");
        assert_eq!(
            r.summary_html.as_deref(),
            Some("<ul>\n<li>a </li>\n</ul>\n")
        );
        // Footnotes, whose ids would repeat on an index page, are left out.
        let r = md("A[^1].\n\n[^1]: Note.\n\n<!-- more -->\n\nB.\n");
        assert_eq!(r.summary_html.as_deref(), Some("<p>A.</p>\n"));
        assert!(r.html.contains("footnote-definition"));
        // The marker quoted in code is not a marker.
        assert!(md("```\n<!-- more -->\n```\n").summary_html.is_none());
        assert!(md("`<!-- more -->`").summary_html.is_none());
    }

    #[test]
    fn excerpt_is_first_paragraph_or_before_more() {
        assert_eq!(
            excerpt_text("# T\n\nOne *two*.\n\nThree.").unwrap(),
            "One two."
        );
        assert_eq!(
            excerpt_text("One.\n\nTwo.\n\n<!-- more -->\n\nThree.").unwrap(),
            "One. Two."
        );
        assert_eq!(
            excerpt_text("Some more\nwords.\n\nNext.").unwrap(),
            "Some more words."
        );
        assert_eq!(excerpt_text("One <!--more--> two.").unwrap(), "One");
        assert!(excerpt_text("").is_none());
        assert!(excerpt_text("# Only a heading\n").is_none());
    }

    #[test]
    fn excerpts_show_the_text_of_links_written_as_constructs() {
        assert_eq!(
            excerpt_text(
                "Next: [the second]({{ site.baseurl }}{% post_url 2010-08-01-b %}) and \
                 [more]({{< relref \"c.md\" >}}), [z](@/d.md).\n\nRest."
            )
            .unwrap(),
            "Next: the second and more, z."
        );
    }

    #[test]
    fn the_marker_test_never_misses_one() {
        for src in [
            "a <!-- more --> b",
            "<!--more-->",
            "<!--   MORE   -->",
            "x\n\n<!-- More -->\n",
        ] {
            assert!(may_have_marker(src), "{src}");
        }
        assert!(!may_have_marker("more and more words <!-- note -->"));
    }

    #[test]
    fn words_are_counted() {
        assert_eq!(word_count("Hello *big* world.\n\n```\nlet x\n```\n"), 5);
        assert_eq!(
            word_count("`a b` c\n\n| x | y |\n|---|---|\n| 1 | 2 |\n"),
            7
        );
    }

    #[test]
    fn liquid_tags_pass_through_as_text() {
        let src = "{% raw %}{{ site.repository }}{% endraw %}\n\n\
                   See {% link _docs/index.md %} and {% post_url 2013-05-06-x %}.\n\n\
                   {% highlight ruby %}\nputs 1\n{% endhighlight %}\n\n\
                   ```liquid\n{% if x %}{{ y }}{% endif %}\n```\n";
        let r = md(src);
        for needle in [
            "{% raw %}{{ site.repository }}{% endraw %}",
            "{% link _docs/index.md %}",
            "{% post_url 2013-05-06-x %}",
            "{% highlight ruby %}",
            "{% if x %}{{ y }}{% endif %}",
        ] {
            assert!(r.html.contains(needle), "{needle} missing in {}", r.html);
        }
        assert_eq!(
            excerpt_text(src).unwrap(),
            "{% raw %}{{ site.repository }}{% endraw %}"
        );
    }

    #[test]
    #[ignore = "needs the real posts in ../shared/corpora/jekyll-posts (not in the repository); .ci/run runs it with --ignored when they are there"]
    fn corpus_the_shared_jekyll_posts_render() {
        let dir = crate::shared_corpus("jekyll-posts");
        let entries = std::fs::read_dir(&dir).unwrap();
        let mut n = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let r = md(&text);
            assert!(!r.html.is_empty(), "{}", path.display());
            let unique: HashSet<_> = r.toc.iter().map(|t| &t.id).collect();
            assert_eq!(unique.len(), r.toc.len(), "{}", path.display());
            n += 1;
        }
        assert!(n > 50, "only {n} posts in {}", dir.display());
    }

    fn markdownish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("# ".to_string()),
            Just("## Title".to_string()),
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just(" {#id}".to_string()),
            Just("title-1".to_string()),
            Just("```rust\n".to_string()),
            Just("```".to_string()),
            Just("<!-- more -->".to_string()),
            Just("[^n]".to_string()),
            Just("[^n]: note".to_string()),
            Just("- [ ] ".to_string()),
            Just("> ".to_string()),
            Just("| a |\n|---|\n".to_string()),
            Just("[l](../x)".to_string()),
            Just("![i](y.png)".to_string()),
            Just("{% raw %}".to_string()),
            Just("<div>".to_string()),
            Just("`".to_string()),
            Just("*".to_string()),
            "\\PC{0,12}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    fn check_unique_ids(r: &Rendered) -> Result<(), TestCaseError> {
        let unique: HashSet<_> = r.toc.iter().map(|t| &t.id).collect();
        prop_assert_eq!(unique.len(), r.toc.len(), "{:?}", r.toc);
        for t in &r.toc {
            prop_assert!(!t.id.is_empty());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn render_never_panics_and_ids_are_unique(src in markdownish()) {
            let opts = MarkdownOptions {
                link_base: Some("/posts/p/".into()),
                ..Default::default()
            };
            let r = render(&src, &opts);
            check_unique_ids(&r)?;
            for t in &r.toc {
                let attr = format!("id=\"{}\"", highlight::escape(&t.id));
                prop_assert_eq!(r.html.matches(&attr).count(), 1, "{} in {}", attr, r.html);
            }
            let _ = excerpt_text(&src);
            let _ = word_count(&src);
        }

        #[test]
        fn arbitrary_text_never_panics(src in any::<String>()) {
            let r = render(&src, &MarkdownOptions::default());
            check_unique_ids(&r)?;
            let _ = excerpt_text(&src);
        }
    }
}
