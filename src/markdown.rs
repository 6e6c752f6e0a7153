//! Markdown → HTML, table of contents, excerpts and word counts.
//! The only module that uses pulldown-cmark.

use pulldown_cmark::{html, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

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
    pub title: String,
}

/// A rendered page body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// HTML of the text before `<!-- more -->`, when the page has the marker.
    pub summary_html: Option<String>,
}

/// The marker that ends a post's excerpt.
pub const MORE_MARKER: &str = "<!-- more -->";

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
pub fn render(src: &str, opts: &MarkdownOptions) -> Rendered {
    let (html, toc) = render_body(src, opts);
    let summary_html = src
        .find(MORE_MARKER)
        .map(|i| render_body(&src[..i], opts).0);
    Rendered {
        html,
        toc,
        summary_html,
    }
}

fn render_body(src: &str, opts: &MarkdownOptions) -> (String, Vec<TocEntry>) {
    let mut events: Vec<Event> = Parser::new_ext(src, options(opts.smart_punctuation)).collect();
    let mut toc = Vec::new();
    let mut used = std::collections::HashSet::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
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
            let base = explicit.unwrap_or_else(|| {
                let s = slug::slugify(&title);
                if s.is_empty() {
                    "section".to_string()
                } else {
                    s
                }
            });
            let mut unique = base.clone();
            let mut n = 1;
            while !used.insert(unique.clone()) {
                unique = format!("{base}-{n}");
                n += 1;
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(unique.clone().into());
            }
            toc.push(TocEntry {
                level,
                id: unique,
                title,
            });
            i = j;
        }
        i += 1;
    }
    let mut out = String::with_capacity(src.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    (out, toc)
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

/// The plain text of a post's excerpt: the text before `<!-- more -->`, else the first
/// paragraph. `None` when the post has no text.
pub fn excerpt_text(src: &str) -> Option<String> {
    let part = match src.find(MORE_MARKER) {
        Some(i) => &src[..i],
        None => src,
    };
    let mut text = String::new();
    let mut in_para = false;
    let mut paras = 0;
    for ev in Parser::new_ext(part, options(false)) {
        match ev {
            Event::Start(Tag::Paragraph) => in_para = true,
            Event::End(TagEnd::Paragraph) => {
                in_para = false;
                paras += 1;
                if !src.contains(MORE_MARKER) && !text.trim().is_empty() {
                    break;
                }
                text.push(' ');
            }
            Event::Text(t) | Event::Code(t) if in_para => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_para => text.push(' '),
            _ => {}
        }
    }
    let _ = paras;
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// Words of prose and code, for reading time.
pub fn word_count(src: &str) -> usize {
    Parser::new_ext(src, options(false))
        .map(|ev| match ev {
            Event::Text(t) | Event::Code(t) => t.split_whitespace().count(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_unique_ids_and_a_toc() {
        let r = render("# A\n\n## A\n\ntext\n", &MarkdownOptions::default());
        assert_eq!(
            r.toc.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["a", "a-1"]
        );
        assert!(r.html.contains("<h2 id=\"a-1\">"), "{}", r.html);
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
        assert!(excerpt_text("").is_none());
    }

    #[test]
    fn words_are_counted() {
        assert_eq!(word_count("Hello *big* world.\n\n```\nlet x\n```\n"), 5);
    }
}
