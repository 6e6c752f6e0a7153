//! Template constructs other generators leave in a post's markdown (Liquid tags and outputs,
//! Hugo and Zola shortcodes), found outside code, and the ones among them that are links
//! to another post or to the site (`@/path.md`, Hugo's `ref`/`relref`, Jekyll's `post_url`,
//! `{{ site.url }}`, `{{ site.baseurl }}`): what they name, and the markdown with the ones a
//! [`Resolve`] knows replaced by their URL. Pure: what a link names is asked of the caller.

use std::borrow::Cow;
use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag};

/// The kinds of links to another post (or to the site) bloggo resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// Zola's `@/path/to/post.md`: a path under the content folder.
    Zola,
    /// Hugo's `{{< ref "post.md" >}}`: a path (from the post's folder or the content root) or a
    /// bare file name.
    Ref,
    /// Hugo's `{{< relref "post.md" >}}` (the same lookup as `ref`).
    Relref,
    /// Jekyll's `{% post_url 2010-07-21-name %}`: a `_posts` file without its extension.
    PostUrl,
    /// Jekyll's `{{ site.url }}`: the site's scheme and host.
    SiteUrl,
    /// Jekyll's `{{ site.baseurl }}`: the site's path, without its last `/`.
    BaseUrl,
}

impl RefKind {
    const ALL: [RefKind; 6] = [
        RefKind::Zola,
        RefKind::Ref,
        RefKind::Relref,
        RefKind::PostUrl,
        RefKind::SiteUrl,
        RefKind::BaseUrl,
    ];

    /// A byte that stands for the kind (in the markdown cache).
    pub fn code(self) -> u8 {
        RefKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    /// The kind a [`RefKind::code`] stands for.
    pub fn from_code(c: u8) -> Option<RefKind> {
        RefKind::ALL.get(usize::from(c)).copied()
    }

    /// Whether the link names a post (the others name the site).
    pub fn names_a_post(self) -> bool {
        !matches!(self, RefKind::SiteUrl | RefKind::BaseUrl)
    }
}

/// A link to another post (or to the site) as a post's markdown writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    pub kind: RefKind,
    /// What it names as written, with its `#anchor` (empty for the site's URLs).
    pub target: String,
    /// 1-based line in the markdown.
    pub line: u32,
}

impl LinkRef {
    /// The target without its `#anchor`, and the anchor (with its `#`, or empty).
    pub fn split_anchor(&self) -> (&str, &str) {
        match self.target.find('#') {
            Some(i) => self.target.split_at(i),
            None => (&self.target, ""),
        }
    }
}

impl std::fmt::Display for LinkRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.target;
        match self.kind {
            RefKind::Zola => write!(f, "@/{t}"),
            RefKind::Ref => write!(f, "{{{{< ref \"{t}\" >}}}}"),
            RefKind::Relref => write!(f, "{{{{< relref \"{t}\" >}}}}"),
            RefKind::PostUrl => write!(f, "{{% post_url {t} %}}"),
            RefKind::SiteUrl => f.write_str("{{ site.url }}"),
            RefKind::BaseUrl => f.write_str("{{ site.baseurl }}"),
        }
    }
}

/// What internal links resolve against, for the post being rendered.
pub trait Resolve {
    /// The URL a link of `kind` to `target` (without its `#anchor`; empty for the post itself
    /// or for the site's URLs) stands for, or `None` when it names nothing the site shows.
    fn resolve(&self, kind: RefKind, target: &str) -> Option<String>;
}

/// Resolves nothing: every internal link is left as written.
pub struct Unresolved;

impl Resolve for Unresolved {
    fn resolve(&self, _: RefKind, _: &str) -> Option<String> {
        None
    }
}

/// Resolves every internal link to an empty URL: for plain text, where only a link's text
/// shows.
pub struct Nowhere;

impl Resolve for Nowhere {
    fn resolve(&self, _: RefKind, _: &str) -> Option<String> {
        Some(String::new())
    }
}

/// The URL `r` stands for (its anchor kept), or `None` when `res` does not know its target.
pub fn resolve_ref(r: &LinkRef, res: &dyn Resolve) -> Option<String> {
    let (target, anchor) = r.split_anchor();
    res.resolve(r.kind, target)
        .map(|url| format!("{url}{anchor}"))
}

/// What a template construct is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstructKind {
    /// A link bloggo resolves at build time: its kind and target (with its anchor).
    Link(RefKind, String),
    /// A Liquid tag: `{% include x.html %}` (its name).
    LiquidTag(String),
    /// A Liquid output: `{{ page.title }}` (its expression).
    LiquidOutput(String),
    /// A Hugo shortcode: `{{< youtube x >}}`, `{{% notice %}}` (its name).
    HugoShortcode(String),
    /// A Zola shortcode: `{{ youtube(id=…) }}`, `{% note() %}` (its name).
    ZolaShortcode(String),
}

/// A template construct in markdown, outside code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Construct {
    /// Its bytes in the markdown.
    pub range: Range<usize>,
    /// 1-based line where it starts.
    pub line: usize,
    pub kind: ConstructKind,
}

/// How far a construct may run before its closing delimiter (a stray `{{` is not one).
const LONGEST: usize = 2000;

/// Every template construct of `src` outside code blocks and inline code, in order. Closing
/// tags (`{% endif %}`, `{{< /notice >}}`, `{% end %}`) and escaped shortcodes (`{{</* */>}}`)
/// are not listed; what a `{% raw %}` block holds is text, and is not either.
pub fn constructs(src: &str) -> Vec<Construct> {
    if !may_have_constructs(src) {
        return Vec::new();
    }
    let code = code_ranges(src);
    let mut out = Vec::new();
    let mut in_code = code.iter().peekable();
    let (mut line, mut counted) = (1, 0);
    let mut at = 0;
    while let Some(k) = src[at..].find('{') {
        let start = at + k;
        at = start + 1;
        let rest = &src[start..];
        if !(rest.starts_with("{{") || rest.starts_with("{%")) {
            continue;
        }
        while in_code.peek().is_some_and(|r| r.end <= start) {
            in_code.next();
        }
        if let Some(r) = in_code.peek().filter(|r| r.start <= start) {
            at = r.end;
            continue;
        }
        let Some((len, kind)) = construct_at(rest) else {
            continue;
        };
        line += src[counted..start].bytes().filter(|b| *b == b'\n').count();
        counted = start;
        at = start + len;
        let raw = matches!(&kind, Some(ConstructKind::LiquidTag(n)) if n == "raw");
        if let Some(kind) = kind {
            out.push(Construct {
                range: start..start + len,
                line,
                kind,
            });
        }
        if raw {
            // Jekyll prints what a raw block holds as it is: nothing in it is a construct.
            match endraw(&src[at..]) {
                Some(end) => at += end,
                None => break,
            }
        }
    }
    out
}

/// Whether `src` may hold a construct (a cheap test that never misses one).
fn may_have_constructs(src: &str) -> bool {
    src.contains("{{") || src.contains("{%")
}

/// Where the `{% endraw %}` that closes a raw block ends in `rest`.
fn endraw(rest: &str) -> Option<usize> {
    let mut at = 0;
    while let Some(k) = rest[at..].find("{%") {
        let start = at + k;
        let end = start + rest[start..].find("%}")? + 2;
        if tag_name(inner(&rest[start + 2..end - 2])) == "endraw" {
            return Some(end);
        }
        at = start + 2;
    }
    None
}

/// The byte ranges of code blocks and inline code.
fn code_ranges(src: &str) -> Vec<Range<usize>> {
    let mut v = Vec::new();
    let mut skip_until = 0;
    for (ev, r) in Parser::new_ext(src, super::options(false)).into_offset_iter() {
        if r.start < skip_until {
            continue;
        }
        match ev {
            Event::Start(Tag::CodeBlock(_)) => {
                skip_until = r.end;
                v.push(r);
            }
            Event::Code(_) => v.push(r),
            _ => {}
        }
    }
    v.sort_by_key(|r| r.start);
    v
}

/// The construct at the start of `rest` (which starts with `{{` or `{%`): its length, and what
/// it is (`None` for a closing tag or an escaped shortcode). `None` when it is not closed.
fn construct_at(rest: &str) -> Option<(usize, Option<ConstructKind>)> {
    let window = &rest[..floor(rest, LONGEST)];
    for (open, close) in [("{{<", ">}}"), ("{{%", "%}}")] {
        if let Some(body) = window.strip_prefix(open) {
            let end = body.find(close)?;
            let len = open.len() + end + close.len();
            return Some((len, hugo(body[..end].trim())));
        }
    }
    let (open, close) = if rest.starts_with("{{") {
        ("{{", "}}")
    } else {
        ("{%", "%}")
    };
    let body = &window[open.len()..];
    let end = body.find(close)?;
    let len = open.len() + end + close.len();
    let text = inner(&body[..end]);
    if text.is_empty() || text.starts_with("/*") {
        return Some((len, None));
    }
    let name = tag_name(text);
    if let Some(i) = name.find('(') {
        let name = &name[..i];
        return Some((len, Some(ConstructKind::ZolaShortcode(name.to_string()))));
    }
    let kind = if open == "{{" {
        match text {
            "site.url" => ConstructKind::Link(RefKind::SiteUrl, String::new()),
            "site.baseurl" => ConstructKind::Link(RefKind::BaseUrl, String::new()),
            _ => ConstructKind::LiquidOutput(text.to_string()),
        }
    } else if name == "post_url" {
        let arg = text[name.len()..].split_whitespace().next().unwrap_or("");
        ConstructKind::Link(RefKind::PostUrl, arg.to_string())
    } else if name == "end"
        || name.starts_with("end")
        || matches!(name, "else" | "elsif" | "when" | "break" | "continue")
    {
        return Some((len, None));
    } else {
        ConstructKind::LiquidTag(name.to_string())
    };
    Some((len, Some(kind)))
}

/// The largest char boundary of `s` at or below `at`.
fn floor(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A tag's or output's text without its whitespace-control dashes and spaces.
fn inner(text: &str) -> &str {
    text.trim()
        .trim_start_matches('-')
        .trim_end_matches('-')
        .trim()
}

/// The first word of a tag.
fn tag_name(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

/// What a Hugo shortcode's inside (between `{{<` and `>}}`) is.
fn hugo(text: &str) -> Option<ConstructKind> {
    if text.starts_with('/') {
        return None;
    }
    let name = tag_name(text);
    let kind = match name {
        "ref" => RefKind::Ref,
        "relref" => RefKind::Relref,
        _ => return Some(ConstructKind::HugoShortcode(name.to_string())),
    };
    Some(ConstructKind::Link(kind, hugo_path(&text[name.len()..])))
}

/// The path argument of a Hugo `ref`: `"x.md"`, `` `x.md` ``, `path="x.md"` or `x.md`.
fn hugo_path(args: &str) -> String {
    let args = args.trim();
    let args = args
        .strip_prefix("path")
        .map(str::trim_start)
        .and_then(|a| a.strip_prefix('='))
        .map(str::trim_start)
        .unwrap_or(args);
    for q in ['"', '`'] {
        if let Some(rest) = args.strip_prefix(q) {
            return rest.split(q).next().unwrap_or("").to_string();
        }
    }
    args.split_whitespace().next().unwrap_or("").to_string()
}

/// `src` with the internal links of its template constructs (`ref`, `post_url`, `site.url`…)
/// that `res` knows replaced by their URL (a construct over several lines is left alone, so
/// lines keep their numbers); every such link is added to `links`, resolved or not.
/// `{{ site.baseurl }}` right before a post's link is dropped when the link resolves (the
/// post's URL has the base), and kept as written with it when it does not.
pub fn replace_links<'a>(
    src: &'a str,
    res: &dyn Resolve,
    links: &mut Vec<LinkRef>,
) -> Cow<'a, str> {
    // Each link construct: its bytes, the link, and its URL when it is replaced.
    let found: Vec<(Range<usize>, LinkRef, Option<String>)> = constructs(src)
        .into_iter()
        .filter_map(|c| match c.kind {
            ConstructKind::Link(kind, target) => {
                let r = LinkRef {
                    kind,
                    target,
                    line: u32::try_from(c.line).unwrap_or(u32::MAX),
                };
                let one_line = !src[c.range.clone()].contains('\n');
                let url = resolve_ref(&r, res).filter(|_| one_line);
                Some((c.range, r, url))
            }
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for (k, (range, r, url)) in found.iter().enumerate() {
        let Some(url) = url else {
            continue;
        };
        // `{{ site.baseurl }}` right before a post's link: dropped with a link that resolves
        // (its URL has the base), kept as written with one that does not.
        let before_post = (r.kind == RefKind::BaseUrl)
            .then(|| found.get(k + 1))
            .flatten()
            .filter(|(next, link, _)| next.start == range.end && link.kind.names_a_post())
            .map(|(_, _, next_url)| next_url.is_some());
        if before_post == Some(false) {
            continue;
        }
        out.push_str(&src[at..range.start]);
        if before_post.is_none() {
            out.push_str(url);
        }
        at = range.end;
    }
    out.push_str(&src[at..]);
    links.extend(found.into_iter().map(|(_, r, _)| r));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(usize, ConstructKind)> {
        constructs(src)
            .into_iter()
            .map(|c| (c.line, c.kind))
            .collect()
    }

    fn link(kind: RefKind, t: &str) -> ConstructKind {
        ConstructKind::Link(kind, t.into())
    }

    #[test]
    fn constructs_of_each_generator_are_found_with_their_lines() {
        let src = "Intro {% include note.html %}\n\
                   {{ page.title }} and {{ youtube(id=\"x\") }}\n\
                   {% note(kind=\"a\") %}\nhi\n{% end %}\n\
                   {{< youtube abc >}} {{% notice info %}}x{{% /notice %}}\n\
                   {% if a %}b{% else %}c{% endif %}\n";
        assert_eq!(
            kinds(src),
            [
                (1, ConstructKind::LiquidTag("include".into())),
                (2, ConstructKind::LiquidOutput("page.title".into())),
                (2, ConstructKind::ZolaShortcode("youtube".into())),
                (3, ConstructKind::ZolaShortcode("note".into())),
                (6, ConstructKind::HugoShortcode("youtube".into())),
                (6, ConstructKind::HugoShortcode("notice".into())),
                (7, ConstructKind::LiquidTag("if".into())),
            ]
        );
    }

    #[test]
    fn links_are_found_in_every_spelling() {
        let src = "{{< ref \"a.md\" >}} {{<relref \"b/c.md#x\">}} {{% ref `d` %}} \
                   {{< ref path=\"e.md\" >}} {{< relref f.md >}}\n\
                   {% post_url 2010-07-21-name %} {%- post_url /sub/2011-01-01-x -%}\n\
                   {{ site.url }}{{site.baseurl}}\n";
        assert_eq!(
            kinds(src).into_iter().map(|(_, k)| k).collect::<Vec<_>>(),
            [
                link(RefKind::Ref, "a.md"),
                link(RefKind::Relref, "b/c.md#x"),
                link(RefKind::Ref, "d"),
                link(RefKind::Ref, "e.md"),
                link(RefKind::Relref, "f.md"),
                link(RefKind::PostUrl, "2010-07-21-name"),
                link(RefKind::PostUrl, "/sub/2011-01-01-x"),
                link(RefKind::SiteUrl, ""),
                link(RefKind::BaseUrl, ""),
            ]
        );
    }

    #[test]
    fn code_raw_blocks_escapes_and_strays_are_not_constructs() {
        let src = concat!(
            "`{{< ref \"a.md\" >}}` and\n\n```go\n{{< youtube x >}}\n{% include a %}\n```\n\n",
            "    {{ x }}\n\n",
            "{% raw %}{{ site.baseurl }} {% include x %}{% endraw %} {{</* ref \"a\" */>}}\n",
            "a { b } {{ never closed\n",
        );
        assert_eq!(
            kinds(src),
            [(10, ConstructKind::LiquidTag("raw".into()))],
            "{src}"
        );
    }

    struct Site;

    impl Resolve for Site {
        fn resolve(&self, kind: RefKind, target: &str) -> Option<String> {
            match (kind, target) {
                (RefKind::SiteUrl, _) => Some("https://x.org".into()),
                (RefKind::BaseUrl, _) => Some("/blog".into()),
                (_, "a.md" | "2010-07-21-a") => Some("/blog/posts/a/".into()),
                _ => None,
            }
        }
    }

    fn replaced(src: &str) -> (String, Vec<LinkRef>) {
        let mut links = Vec::new();
        let out = replace_links(src, &Site, &mut links).into_owned();
        (out, links)
    }

    #[test]
    fn known_links_are_replaced_and_others_left_as_written() {
        let (out, links) = replaced(
            "[a]({{< ref \"a.md#top\" >}}) [b]({{% relref \"b.md\" %}})\n\
             [c]({{ site.baseurl }}{% post_url 2010-07-21-a %}) \
             ![i]({{ site.url }}{{ site.baseurl }}/i.png)\n\
             [d]({{ site.baseurl }}{% post_url 2010-07-21-gone %})\n\
             `{% post_url 2010-07-21-a %}`\n",
        );
        assert_eq!(
            out,
            "[a](/blog/posts/a/#top) [b]({{% relref \"b.md\" %}})\n\
             [c](/blog/posts/a/) ![i](https://x.org/blog/i.png)\n\
             [d]({{ site.baseurl }}{% post_url 2010-07-21-gone %})\n\
             `{% post_url 2010-07-21-a %}`\n"
        );
        let shown: Vec<String> = links.iter().map(|l| format!("{}:{l}", l.line)).collect();
        assert_eq!(
            shown,
            [
                "1:{{< ref \"a.md#top\" >}}",
                "1:{{< relref \"b.md\" >}}",
                "2:{{ site.baseurl }}",
                "2:{% post_url 2010-07-21-a %}",
                "2:{{ site.url }}",
                "2:{{ site.baseurl }}",
                "3:{{ site.baseurl }}",
                "3:{% post_url 2010-07-21-gone %}",
            ]
        );
    }

    #[test]
    fn text_without_links_is_borrowed() {
        let mut links = Vec::new();
        assert!(matches!(
            replace_links("plain {{< youtube x >}}", &Site, &mut links),
            Cow::Borrowed(_)
        ));
        assert!(links.is_empty());
    }

    #[test]
    fn kinds_round_trip_their_codes() {
        for k in RefKind::ALL {
            assert_eq!(RefKind::from_code(k.code()), Some(k));
        }
        assert_eq!(RefKind::from_code(99), None);
    }
}
