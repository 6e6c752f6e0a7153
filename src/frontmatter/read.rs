//! One file's bytes → `PostFields`: the front matter's keys read in every common spelling,
//! and what is derived from the body and the file's name (title, slug, date, excerpt, read
//! time, status). Pure: no IO.

use serde_json::{Map, Value};

use super::dates::{midnight, parse_date, DateError};
use super::slug::{slugify, slugify_name, split_dated_name};
use super::syntax as frontmatter;
use super::{ParseContext, Problem};
use crate::model::{AuthorRef, CategoryPath, PostFields, PostKind, PostStatus, Timestamp};

/// Keys bloggo reads. Everything else is kept in `posts.extra`.
pub const KNOWN_KEYS: &[&str] = &[
    "title",
    "subtitle",
    "slug",
    "date",
    "updated",
    "lastmod",
    "last_modified_at",
    "draft",
    "status",
    "published",
    "categories",
    "category",
    "tags",
    "keywords",
    "author",
    "authors",
    "excerpt",
    "summary",
    "description",
    "cover_image",
    "cover",
    "image",
    "aliases",
    "redirect_from",
    "path",
    "permalink",
    "url",
    "taxonomies",
    "extra",
    "kind",
];

/// A file read: its fields, the things read with a fallback (printed, never silent), and
/// where some of the fields came from (for `import --report`).
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub fields: PostFields,
    pub warnings: Vec<Problem>,
    pub date_source: DateSource,
    /// The key that gave the post its own URL (`path`, `permalink` or `url`), if one did.
    pub path_key: Option<&'static str>,
}

/// Where a post's publication date was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "key")]
pub enum DateSource {
    /// A front-matter key (`date`, or Jekyll's `published` holding a date).
    FrontMatter(&'static str),
    /// The file's name (`2024-01-05-x.md`, a bundle folder's `2024-01-05-x/`).
    FileName,
    /// The post's own URL key holding a date (`path = "2021/06/17/x"`).
    Path(&'static str),
    /// The file's modification time (the last resort, warned about for posts).
    FileTime,
    /// No date at all.
    None,
}

impl std::fmt::Display for DateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DateSource::FrontMatter(key) | DateSource::Path(key) => write!(f, "`{key}` key"),
            DateSource::FileName => f.write_str("file name"),
            DateSource::FileTime => f.write_str("file time"),
            DateSource::None => f.write_str("none"),
        }
    }
}

/// Reads one markdown file: front matter (YAML or TOML), the derived fields, every problem.
/// `rel_path` names the file in problems and gives the slug and date when the front matter
/// has none.
pub fn read(rel_path: &str, bytes: &[u8], ctx: &ParseContext) -> Result<Read, Vec<Problem>> {
    let problem = |line: usize, msg: String| Problem::new(rel_path, line, msg);
    if bytes.len() as u64 > ctx.max_file_size {
        return Err(vec![problem(
            1,
            format!(
                "the file is {} bytes, more than [content] max_file_size = {}; split it or raise the limit in bloggo.toml",
                bytes.len(),
                ctx.max_file_size
            ),
        )]);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        vec![problem(
            line,
            format!(
                "not valid UTF-8 (at byte {}); save the file as UTF-8",
                e.valid_up_to()
            ),
        )]
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let split = frontmatter::split(text).map_err(|(l, m)| vec![problem(l, m)])?;
    let mut fm = frontmatter::parse(&split).map_err(|(l, m)| vec![problem(l, m)])?;
    let line_of = |key: &str| frontmatter::key_line(&split, key).unwrap_or(1);
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let names = Names::of(rel_path, ctx.default_language.as_deref());
    let body = split.body;

    let title = take_text(&mut fm, &["title"])
        .map(|(_, t)| t)
        .or_else(|| first_heading(body))
        .unwrap_or_else(|| names.rest.replace(['-', '_'], " "));
    let subtitle = take_text(&mut fm, &["subtitle"]).map(|(_, t)| t);

    let slug = match take_text(&mut fm, &["slug"]) {
        Some((key, s)) => {
            let slug = slugify_name(&s, !ctx.dotless_slugs);
            if slug.is_empty() {
                problems.push(problem(
                    line_of(key),
                    format!(
                        "the slug {s:?} has no letter or digit; write one such as `slug: my-post`"
                    ),
                ));
            }
            slug
        }
        None => {
            let slug = slugify_name(names.rest, !ctx.dotless_slugs);
            if slug.is_empty() {
                problems.push(problem(
                    1,
                    format!("cannot make a slug from the file name {:?}; add `slug:` to the front matter", names.rest),
                ));
            }
            slug
        }
    };

    // The post's own URL: Zola's `path`, Jekyll's `permalink`, Hugo's `url`.
    let (path, path_key) = match take_text(&mut fm, &["path", "permalink", "url"]) {
        Some((key, text)) => {
            let p = normalise_path(&text);
            match crate::permalinks::Pattern::parse(&p) {
                Ok(_) => (Some(p), Some(key)),
                Err(e) => {
                    problems.push(problem(line_of(key), format!("`{key}` {text:?}: {e}")));
                    (None, None)
                }
            }
        }
        None => (None, None),
    };

    let at_root = !rel_path.trim_start_matches('/').contains('/');
    let kind = match take_kind(&mut fm, names.in_pages || (ctx.root_pages && at_root)) {
        Ok(k) => k,
        Err((key, msg)) => {
            problems.push(problem(line_of(key), msg));
            PostKind::Post
        }
    };

    // Dates: the front matter, then the file name, then a date in the post's path; the
    // file's time is the last resort, with a warning.
    let published = fm.remove("published");
    let mut date_text = take_text(&mut fm, &["date"]);
    if date_text.is_none() {
        if let Some(Value::String(s)) = &published {
            date_text = Some(("published", s.clone()));
        }
    }
    let date_text_missing = date_text.is_none();
    let (name_date, name_source) = match (names.date, path.as_deref().and_then(date_in_path)) {
        (Some(d), _) => (Some(d), DateSource::FileName),
        (None, Some(d)) => (Some(d), DateSource::Path(path_key.unwrap_or("path"))),
        (None, None) => (None, DateSource::None),
    };
    let from_name = name_date.and_then(|d| midnight(d, &ctx.timezone));
    let mut date_source = DateSource::None;
    let published_at = match date_text {
        Some((key, text)) => match parse_date(&text, &ctx.timezone) {
            Ok(d) => {
                date_source = DateSource::FrontMatter(key);
                Some(d)
            }
            // A date that reads but that feeds cannot carry is a mistake to fix, not to guess.
            Err(DateError::OutOfRange(msg)) => {
                problems.push(problem(line_of(key), msg));
                None
            }
            Err(DateError::Unreadable(msg)) => match from_name {
                Some(d) => {
                    warnings.push(problem(
                        line_of(key),
                        format!(
                            "{msg}; using the date of the file name or path instead ({})",
                            name_date.map(|d| d.to_string()).unwrap_or_default()
                        ),
                    ));
                    date_source = name_source;
                    Some(d)
                }
                None => {
                    problems.push(problem(line_of(key), msg));
                    None
                }
            },
        },
        None => match (from_name, ctx.file_time) {
            (Some(d), _) => {
                date_source = name_source;
                Some(d)
            }
            (None, Some(t)) => {
                date_source = DateSource::FileTime;
                Some(t)
            }
            (None, None) => None,
        },
    };
    let dated_by_file = date_text_missing && from_name.is_none() && published_at.is_some();
    let modified_at = match take_text(&mut fm, &["updated", "lastmod", "last_modified_at"]) {
        Some((key, text)) => match parse_date(&text, &ctx.timezone) {
            Ok(d) => Some(Timestamp::from(d)),
            Err(e) => {
                problems.push(problem(line_of(key), e.to_string()));
                None
            }
        },
        None => None,
    };

    // Status: --status, then `status:`, then `draft:`/`published:`, then a `_drafts` folder.
    let mut status = if names.in_drafts {
        PostStatus::Draft
    } else {
        PostStatus::Published
    };
    if let Some(v) = published {
        match flag(&v) {
            Some(false) => status = PostStatus::Draft,
            Some(true) => status = PostStatus::Published,
            None if v.is_string() => {}
            None => problems.push(problem(
                line_of("published"),
                "`published` must be true, false or a date".into(),
            )),
        }
    }
    if let Some(v) = fm.remove("draft") {
        match flag(&v) {
            Some(true) => status = PostStatus::Draft,
            Some(false) => {}
            None => problems.push(problem(
                line_of("draft"),
                "`draft` must be true or false".into(),
            )),
        }
    }
    if let Some((key, s)) = take_text(&mut fm, &["status"]) {
        match s.parse::<PostStatus>() {
            Ok(s) => status = s,
            Err(msg) => problems.push(problem(line_of(key), msg)),
        }
    }
    if let Some(forced) = ctx.forced_status {
        status = forced;
    }
    if dated_by_file && status != PostStatus::Draft && kind == PostKind::Post {
        if let Some(d) = published_at {
            warnings.push(Problem::at(
                rel_path,
                None,
                format!(
                    "no date in the front matter, the file name or its path; dated by the file's modification time ({} UTC): add `date:` to keep it",
                    d.format(Timestamp::FORMAT)
                ),
            ));
        }
    }

    // One markdown parse gives both the derived excerpt and the word count.
    let (derived_excerpt, words) = crate::markdown::excerpt_and_words(body);
    let excerpt = take_text(&mut fm, &["excerpt", "summary", "description"])
        .map(|(_, t)| t)
        .or(derived_excerpt);
    let cover_image = take_cover(&mut fm);

    let mut aliases = Vec::new();
    for key in ["aliases", "redirect_from"] {
        if let Some(v) = fm.remove(key) {
            for a in text_list(&v, false) {
                let a = normalise_alias(&a);
                if !a.is_empty() && !aliases.contains(&a) {
                    aliases.push(a);
                }
            }
        }
    }

    let mut authors: Vec<AuthorRef> = Vec::new();
    for key in ["authors", "author"] {
        if let Some(v) = fm.remove(key) {
            for a in author_list(&v) {
                if !authors.contains(&a) {
                    authors.push(a);
                }
            }
        }
    }

    let mut categories: Vec<CategoryPath> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut extra = Map::new();
    let mut zola_extra = None;
    if let Some(Value::Object(mut tax)) = fm.remove("taxonomies") {
        if let Some(v) = tax.remove("categories") {
            categories.extend(category_paths(&v));
        }
        if let Some(v) = tax.remove("tags") {
            tags.extend(text_list(&v, true));
        }
        if !tax.is_empty() {
            extra.insert("taxonomies".into(), Value::Object(tax));
        }
    }
    for key in ["categories", "category"] {
        if let Some(v) = fm.remove(key) {
            categories.extend(category_paths(&v));
        }
    }
    for key in ["tags", "keywords"] {
        if let Some(v) = fm.remove(key) {
            tags.extend(text_list(&v, true));
        }
    }
    dedup_by_key(&mut categories, |p| {
        p.names().iter().map(|s| slugify(s)).collect::<Vec<_>>()
    });
    tags.retain(|t| !slugify(t).is_empty());
    dedup_by_key(&mut tags, |t| slugify(t));
    if let Some(Value::Object(e)) = fm.get("extra") {
        zola_extra = Some(e.clone());
        fm.remove("extra");
    }
    // Unknown keys, then Zola's [extra] table on top, then co-authors for templates.
    extra.extend(fm);
    if let Some(e) = zola_extra {
        extra.extend(e);
    }
    if authors.len() > 1 && !extra.contains_key("authors") {
        extra.insert(
            "authors".into(),
            Value::Array(
                authors
                    .iter()
                    .map(|a| Value::String(a.name.clone()))
                    .collect(),
            ),
        );
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let wpm = ctx.words_per_minute.max(1) as usize;
    let fields = PostFields {
        title,
        subtitle,
        slug,
        content: body.to_string(),
        excerpt,
        cover_image,
        status,
        published_at: published_at.map(Timestamp::from),
        modified_at,
        read_time: words.div_ceil(wpm) as i64,
        categories,
        tags,
        authors,
        aliases,
        path,
        kind,
        // The folder decides it: import sets it (see `import::sections`).
        section: None,
        extra,
    };
    Ok(Read {
        fields,
        warnings,
        date_source,
        path_key,
    })
}

/// What the file's path says: its name without date, its date, whether it is a bundle.
struct Names<'a> {
    rest: &'a str,
    date: Option<chrono::NaiveDate>,
    in_drafts: bool,
    /// Under a `pages/` (or Jekyll's `_pages/`) folder: a standalone page.
    in_pages: bool,
}

impl<'a> Names<'a> {
    /// `language`: the default language of a multilingual site, whose code a file name may
    /// carry (`post.en.md` is `post`).
    fn of(rel_path: &'a str, language: Option<&str>) -> Names<'a> {
        let mut parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
        let file = parts.pop().unwrap_or(rel_path);
        // Strip only the last extension: `2016-jekyll-3.0-released.md` keeps its dots.
        let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
        let stem = language
            .and_then(|code| super::slug::without_language(stem, code))
            .unwrap_or(stem);
        let name = match (stem, parts.last()) {
            ("index", Some(dir)) => dir,
            _ => stem,
        };
        let (date, rest) = split_dated_name(name);
        Names {
            rest,
            date,
            in_drafts: parts.contains(&"_drafts"),
            in_pages: parts.iter().any(|p| *p == "pages" || *p == "_pages"),
        }
    }
}

/// Whether the file is a standalone page: bloggo's own `kind` (also in Zola's `[extra]`, as
/// export writes it there), then Jekyll's `layout: page` or Hugo's `type: page`, then a
/// `pages/` folder or Zola's `template` key (a page with a template of its own). `layout`
/// and `type` naming something else, and `template`, stay in `extra`.
fn take_kind(
    fm: &mut Map<String, Value>,
    in_pages: bool,
) -> Result<PostKind, (&'static str, String)> {
    let own = match fm.remove("kind") {
        Some(v) => Some(v),
        None => match fm.get_mut("extra") {
            Some(Value::Object(e)) => e.remove("kind"),
            _ => None,
        },
    };
    if let Some(v) = own {
        return scalar(&v)
            .unwrap_or_default()
            .parse()
            .map_err(|msg| ("kind", msg));
    }
    for key in ["layout", "type"] {
        if fm.get(key).and_then(scalar).as_deref() == Some("page") {
            fm.remove(key);
            return Ok(PostKind::Page);
        }
    }
    Ok(
        if in_pages || fm.get("template").and_then(scalar).is_some() {
            PostKind::Page
        } else {
            PostKind::Post
        },
    )
}

/// The text of the first `# heading` line.
fn first_heading(body: &str) -> Option<String> {
    body.lines().find_map(|l| {
        let t = l.trim_start().strip_prefix("# ")?;
        let t = t.trim().trim_end_matches('#').trim();
        (!t.is_empty()).then(|| t.to_string())
    })
}

/// A scalar as text (strings, numbers, booleans).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Removes and returns the first of `keys` that holds text.
fn take_text(fm: &mut Map<String, Value>, keys: &[&'static str]) -> Option<(&'static str, String)> {
    for key in keys {
        if let Some(t) = fm.get(*key).and_then(scalar) {
            fm.remove(*key);
            return Some((key, t));
        }
    }
    None
}

fn take_cover(fm: &mut Map<String, Value>) -> Option<String> {
    for key in ["cover_image", "cover", "image"] {
        let found = match fm.get(key) {
            Some(Value::Object(o)) => ["image", "src", "url"]
                .iter()
                .find_map(|k| o.get(*k).and_then(scalar)),
            Some(v) => scalar(v),
            None => None,
        };
        if found.is_some() {
            fm.remove(key);
            return found;
        }
    }
    None
}

fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") => {
            Some(true)
        }
        Value::String(s) if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") => {
            Some(false)
        }
        _ => None,
    }
}

/// A list or one value as texts; a string is split on commas when `split_commas`.
fn text_list(v: &Value, split_commas: bool) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(scalar).collect(),
        Value::String(s) if split_commas => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// `"Parent/Child"`, `["a", "b/c"]` (two categories) or `[["Parent", "Child"]]` (a path).
fn category_paths(v: &Value) -> Vec<CategoryPath> {
    let path = |s: &str| -> Vec<String> {
        s.split('/')
            .map(|p| p.trim().to_string())
            .filter(|p| !slugify(p).is_empty())
            .collect()
    };
    let mut out = Vec::new();
    match v {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Array(segs) => {
                        let p: Vec<String> = segs
                            .iter()
                            .filter_map(scalar)
                            .filter(|s| !slugify(s).is_empty())
                            .collect();
                        out.push(p);
                    }
                    other => out.extend(scalar(other).map(|s| path(&s))),
                }
            }
        }
        other => out.extend(scalar(other).map(|s| path(&s))),
    }
    out.retain(|p| !p.is_empty());
    out.into_iter().map(CategoryPath).collect()
}

/// `"Jane Doe"`, `"Jane Doe <jane@example.com>"`, `{name, email}`, or a list of those.
fn author_list(v: &Value) -> Vec<AuthorRef> {
    match v {
        Value::Array(items) => items.iter().flat_map(author_list).collect(),
        Value::Object(o) => {
            let name = o.get("name").and_then(scalar);
            let email = o.get("email").and_then(scalar);
            AuthorRef::new(name, email).into_iter().collect()
        }
        other => match scalar(other) {
            Some(s) => {
                let (name, email) = match (s.find('<'), s.rfind('>')) {
                    (Some(a), Some(b)) if a < b => (
                        Some(s[..a].trim().to_string()).filter(|n| !n.is_empty()),
                        Some(s[a + 1..b].trim().to_string()),
                    ),
                    _ if s.contains('@') && !s.contains(' ') => (None, Some(s.clone())),
                    _ => (Some(s.clone()), None),
                };
                AuthorRef::new(name, email).into_iter().collect()
            }
            None => Vec::new(),
        },
    }
}

/// A post's own path as a site path starting with `/` (Zola writes it without; a full URL
/// keeps only its path).
fn normalise_path(p: &str) -> String {
    normalise_alias(p)
}

/// The date a path holds as `YYYY/MM/DD` or `YYYY-MM-DD` (`/2021/06/17/some-post/`).
fn date_in_path(p: &str) -> Option<chrono::NaiveDate> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?:^|[/_-])(\d{4})[/-](\d{2})[/-](\d{2})(?:$|[/_.-])")
            .expect("valid regex")
    });
    let c = re.captures(p)?;
    let n = |i: usize| c[i].parse::<u32>().ok();
    chrono::NaiveDate::from_ymd_opt(n(1)? as i32, n(2)?, n(3)?)
}

/// Aliases are site paths starting with `/` (a full URL keeps only its path).
fn normalise_alias(a: &str) -> String {
    let a = a.trim();
    let path = match a.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => a,
    };
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn dedup_by_key<T, K: PartialEq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen: Vec<K> = Vec::new();
    items.retain(|i| {
        let k = key(i);
        if seen.contains(&k) {
            false
        } else {
            seen.push(k);
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Timezone;
    use chrono::NaiveDate;

    fn ctx() -> ParseContext {
        ParseContext {
            timezone: Timezone::utc(),
            words_per_minute: 200,
            max_file_size: 1 << 20,
            forced_status: None,
            file_time: None,
            root_pages: false,
            dotless_slugs: false,
            default_language: None,
        }
    }

    fn parse(rel: &str, text: &str) -> PostFields {
        read(rel, text.as_bytes(), &ctx())
            .unwrap_or_else(|p| panic!("{p:?}"))
            .fields
    }

    #[test]
    fn authors_in_every_form() {
        let p = parse(
            "a.md",
            "---\nauthors:\n  - Jane Doe <jane@example.com>\n  - {name: Bob, email: bob@example.com}\n  - carol@example.com\n  - Dan\n---\n",
        );
        let got: Vec<(String, Option<String>)> =
            p.authors.into_iter().map(|a| (a.name, a.email)).collect();
        assert_eq!(
            got,
            [
                ("Jane Doe".into(), Some("jane@example.com".into())),
                ("Bob".into(), Some("bob@example.com".into())),
                ("carol".into(), Some("carol@example.com".into())),
                ("Dan".into(), None),
            ]
        );
    }

    #[test]
    fn category_paths_and_tags() {
        let p = parse(
            "a.md",
            "---\ncategories: [\"A/B\", [\"C\", \"D\"], E, \"a / b\"]\ntags: \"x, y ,x\"\n---\n",
        );
        let paths: Vec<String> = p.categories.iter().map(|c| c.to_string()).collect();
        assert_eq!(paths, ["A/B", "C/D", "E"]);
        assert_eq!(p.tags, ["x", "y"]);
    }

    #[test]
    fn status_flags_and_aliases() {
        let p = parse(
            "_posts/2020-01-02-x.md",
            "---\npublished: false\naliases: [old, \"https://example.com/a/b/\"]\n---\n",
        );
        assert_eq!(p.status, PostStatus::Draft);
        assert_eq!(p.aliases, ["/old", "/a/b/"]);
        assert_eq!(
            p.published_at.map(|t| t.to_string()).as_deref(),
            Some("2020-01-02 00:00:00")
        );
        let p = parse("x.md", "---\ndraft: false\nstatus: archived\n---\n");
        assert_eq!(p.status, PostStatus::Archived);
        let mut c = ctx();
        c.forced_status = Some(PostStatus::Pending);
        let p = read("x.md", b"---\ndraft: true\n---\n", &c).unwrap().fields;
        assert_eq!(p.status, PostStatus::Pending);
    }

    #[test]
    fn bundle_folder_names_the_post_and_dots_stay_in_names() {
        assert_eq!(parse("2024-05-01-trip/index.md", "x").slug, "trip");
        // Only the last extension goes; the dot of a version stays, as Jekyll's `:title` and
        // Hugo keep it (Zola's slugs lose it).
        assert_eq!(
            parse("2015-10-26-jekyll-3.0-released.markdown", "x").slug,
            "jekyll-3.0-released"
        );
        let mut zola = ctx();
        zola.dotless_slugs = true;
        let p = read("2015-10-26-jekyll-3.0-released.md", b"x", &zola).unwrap();
        assert_eq!(p.fields.slug, "jekyll-3-0-released");
        assert_eq!(parse("index.md", "x").slug, "index");
    }

    #[test]
    fn the_default_languages_code_is_not_part_of_the_name() {
        let mut c = ctx();
        c.default_language = Some("en".into());
        let slug = |rel: &str| read(rel, b"x", &c).unwrap().fields.slug;
        assert_eq!(slug("b.en.md"), "b");
        assert_eq!(slug("trip/index.en.md"), "trip");
        assert_eq!(slug("node.js.md"), "node.js");
        let p = read("2024-05-01-dated.en.md", b"x", &c).unwrap().fields;
        assert_eq!(p.slug, "dated");
        assert_eq!(
            p.published_at.map(|t| t.to_string()).as_deref(),
            Some("2024-05-01 00:00:00")
        );
        // Without a default language the code stays, as in any folder.
        assert_eq!(parse("b.en.md", "x").slug, "b.en");
    }

    #[test]
    fn a_posts_own_path_is_read_in_every_spelling_and_dates_it() {
        let p = parse(
            "some-post.md",
            "+++\npath = \"2021/06/17/some-post/\"\n+++\n",
        );
        assert_eq!(p.path.as_deref(), Some("/2021/06/17/some-post/"));
        assert_eq!(
            p.published_at.map(|t| t.to_string()).as_deref(),
            Some("2021-06-17 00:00:00")
        );
        let p = parse("a.md", "---\npermalink: /:categories/:title.html\n---\n");
        assert_eq!(p.path.as_deref(), Some("/:categories/:title.html"));
        assert_eq!(p.published_at, None);
        let p = parse(
            "a.md",
            "---\nurl: https://example.com/about/\ndate: 2020-01-02\n---\n",
        );
        assert_eq!(p.path.as_deref(), Some("/about/"));
        assert_eq!(
            p.published_at.map(|t| t.to_string()).as_deref(),
            Some("2020-01-02 00:00:00")
        );
        let e = read("a.md", b"---\ntitle: A\npath: /:yaer/x/\n---\n", &ctx()).unwrap_err();
        assert!(e[0].to_string().contains("a.md:3: `path`"), "{e:?}");
        assert!(e[0].to_string().contains(":yaer"), "{e:?}");
        assert_eq!(
            date_in_path("/blog/2021-06-17-x/"),
            NaiveDate::from_ymd_opt(2021, 6, 17)
        );
        assert_eq!(date_in_path("/v12345/06/17/"), None);
        assert_eq!(date_in_path("/2021/13/01/x/"), None);
    }

    #[test]
    fn a_date_from_the_files_time_is_warned_about_unless_a_draft() {
        let mut c = ctx();
        c.file_time = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        let Read {
            fields: p,
            warnings: w,
            ..
        } = read("notes/undated.md", b"Text", &c).unwrap();
        assert!(p.published_at.is_some());
        assert_eq!(w.len(), 1);
        assert!(
            w[0].to_string().starts_with("notes/undated.md: no date"),
            "{w:?}"
        );
        let w = read("undated.md", b"---\ndraft: true\n---\n", &c)
            .unwrap()
            .warnings;
        assert!(w.is_empty(), "{w:?}");
        let w = read("2024-01-02-dated.md", b"Text", &c).unwrap().warnings;
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn the_date_source_says_where_the_date_was_read_from() {
        let mut c = ctx();
        c.file_time = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        let source = |rel: &str, text: &str| read(rel, text.as_bytes(), &c).unwrap().date_source;
        assert_eq!(
            source("2024-01-05-y.md", "---\ndate: 2020-01-02\n---\n"),
            DateSource::FrontMatter("date")
        );
        assert_eq!(
            source("x.md", "---\npublished: 2020-01-02\n---\n"),
            DateSource::FrontMatter("published")
        );
        assert_eq!(source("2024-01-05-y.md", "Text"), DateSource::FileName);
        assert_eq!(
            source("2024-01-05-trip/index.md", "Text"),
            DateSource::FileName
        );
        assert_eq!(
            source("x.md", "+++\npath = \"2021/06/17/x\"\n+++\n"),
            DateSource::Path("path")
        );
        assert_eq!(
            source("x.md", "---\npermalink: /2021/06/17/x/\n---\n"),
            DateSource::Path("permalink")
        );
        // An unreadable date falls back to the file name, and says so.
        assert_eq!(
            source("2024-01-05-y.md", "---\ndate: someday\n---\n"),
            DateSource::FileName
        );
        assert_eq!(source("x.md", "Text"), DateSource::FileTime);
        assert_eq!(
            read("x.md", b"Text", &ctx()).unwrap().date_source,
            DateSource::None
        );
        // The own URL's key is named; none without one.
        let r = read("x.md", b"---\nurl: /about/\n---\n", &ctx()).unwrap();
        assert_eq!(r.path_key, Some("url"));
        assert_eq!(read("x.md", b"Text", &ctx()).unwrap().path_key, None);
    }

    #[test]
    fn pages_are_told_by_kind_layout_type_or_folder() {
        let kind = |rel: &str, text: &str| parse(rel, text).kind;
        assert_eq!(kind("a.md", "---\ntitle: A\n---\nx"), PostKind::Post);
        assert_eq!(
            kind("about.md", "---\nlayout: page\n---\nx"),
            PostKind::Page
        );
        assert_eq!(kind("about.md", "---\ntype: page\n---\nx"), PostKind::Page);
        assert_eq!(kind("about.md", "---\nkind: page\n---\nx"), PostKind::Page);
        assert_eq!(
            kind("pages/about.md", "---\ntitle: A\n---\nx"),
            PostKind::Page
        );
        assert_eq!(
            kind("_pages/about.md", "---\ntitle: A\n---\nx"),
            PostKind::Page
        );
        // bloggo's own key wins over the folder.
        assert_eq!(
            kind("pages/a.md", "---\nkind: post\n---\nx"),
            PostKind::Post
        );
        // Another layout stays in extra.
        let p = parse("a.md", "---\nlayout: post\n---\nx");
        assert_eq!(
            (p.kind, p.extra["layout"].as_str()),
            (PostKind::Post, Some("post"))
        );
        assert!(parse("about.md", "---\nlayout: page\n---\nx")
            .extra
            .is_empty());
        let zola = parse(
            "about.md",
            "+++\ntitle = \"About\"\ntemplate = \"about.html\"\n+++\nx",
        );
        assert_eq!(zola.kind, PostKind::Page);
        assert_eq!(zola.extra["template"].as_str(), Some("about.html"));
        let bad = read("a.md", b"---\nkind: note\n---\nx", &ctx()).unwrap_err();
        assert!(bad[0].to_string().contains("not a kind"), "{:?}", bad);
    }

    #[test]
    fn read_time_rounds_up() {
        let words = "word ".repeat(201);
        assert_eq!(parse("a.md", &words).read_time, 2);
        assert_eq!(parse("a.md", "").read_time, 0);
    }

    #[test]
    fn crlf_and_bom_front_matter() {
        let p = parse("a.md", "\u{feff}---\r\ntitle: Windows\r\n---\r\nBody\r\n");
        assert_eq!(p.title, "Windows");
        assert_eq!(p.content, "Body\r\n");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any bytes give a post or problems, never a panic.
        #[test]
        fn parse_file_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = read("2024-01-01-x.md", &bytes, &ctx());
        }

        /// Front matter made of plausible pieces never panics either.
        #[test]
        fn plausible_front_matter_never_panics(
            fence in "(---|\\+\\+\\+)",
            key in "(title|date|slug|tags|categories|author|draft|status|extra|taxonomies|aliases|cover)",
            value in "[ -~éü\\[\\]{}:,\"'/+-]{0,30}",
            body in "[ -~\n#é]{0,60}",
        ) {
            let text = format!("{fence}\n{key}: {value}\n{key} = {value}\n{fence}\n{body}");
            let _ = read("a/index.md", text.as_bytes(), &ctx());
        }
    }
}
