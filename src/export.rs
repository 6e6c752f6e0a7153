//! Posts as markdown with front matter: `bloggo export`, `post show`, and the document
//! `post new`/`post edit` put in front of the writer (and read back).
//!
//! The front matter is what `bloggo import` reads: YAML between `---` lines (TOML between
//! `+++` for Zola) with title, slug, date, draft/status, categories as `Parent/Child` paths,
//! tags, author, summary, cover, aliases and the post's extra keys.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

use crate::config::{Settings, Timezone};
use crate::model::PostStatus;
use crate::store::content::posts::{self, Edit, Post};
use crate::store::TIMESTAMP_FORMAT;

/// The folder layout (and front matter dialect) of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `slug.md`, or `slug/index.md` with its media beside it; YAML.
    #[default]
    Plain,
    /// `content/slug.md` (or a bundle), TOML with `[taxonomies]` and `[extra]`.
    Zola,
    /// `content/posts/slug.md` (or a bundle), YAML with `lastmod`.
    Hugo,
    /// `_posts/YYYY-MM-DD-slug.md` (or a bundle folder), YAML with `redirect_from`.
    Jekyll,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plain" => Ok(Format::Plain),
            "zola" => Ok(Format::Zola),
            "hugo" => Ok(Format::Hugo),
            "jekyll" => Ok(Format::Jekyll),
            _ => Err(format!(
                "{s:?} is not an export format: use plain, zola, hugo or jekyll"
            )),
        }
    }
}

/// A store timestamp (UTC) as a time in the site's zone.
pub fn in_zone(ts: &str, tz: &Timezone) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let utc = chrono::NaiveDateTime::parse_from_str(ts, TIMESTAMP_FORMAT)
        .ok()?
        .and_utc();
    Some(utc.with_timezone(&tz.offset_at(utc)))
}

/// A store timestamp shown in the site's zone, RFC 3339 (`2024-05-01T12:00:00+02:00`).
pub fn show_time(ts: &str, tz: &Timezone) -> String {
    in_zone(ts, tz)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_else(|| ts.to_string())
}

/// Reads a time as a writer types it: RFC 3339, `YYYY-MM-DD HH:MM[:SS] [+HH:MM]` or
/// `YYYY-MM-DD` (in the site's zone when it has no offset). Returns a store timestamp (UTC).
pub fn parse_time(s: &str, tz: &Timezone) -> Result<String> {
    let t = s.trim();
    let fmt = |d: chrono::DateTime<chrono::Utc>| d.format(TIMESTAMP_FORMAT).to_string();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(fmt(d.with_timezone(&chrono::Utc)));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(d) = chrono::DateTime::parse_from_str(t, f) {
            return Ok(fmt(d.with_timezone(&chrono::Utc)));
        }
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    match naive.and_then(|n| tz.to_utc(n)) {
        Some(d) => Ok(fmt(d)),
        None => bail!(
            "{s:?} is not a time: write it as 2024-05-01T10:00:00+02:00 (RFC 3339) or 2024-05-01 10:00 (site time zone)"
        ),
    }
}

/// The keys this module writes and reads itself; any other front matter key is an extra.
const KNOWN: &[&str] = &[
    "title",
    "subtitle",
    "slug",
    "date",
    "updated",
    "lastmod",
    "draft",
    "status",
    "author",
    "categories",
    "tags",
    "summary",
    "cover",
    "aliases",
    "redirect_from",
];

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// The front matter of a post as ordered key/value pairs, in a format's spelling.
pub fn front_matter(post: &Post, tz: &Timezone, format: Format) -> Vec<(String, Value)> {
    let mut m: Vec<(String, Value)> = Vec::new();
    let mut put = |k: &str, v: Value| {
        m.push((k.to_string(), v));
    };
    put("title", Value::String(post.title.clone()));
    if let Some(s) = &post.subtitle {
        put("subtitle", s.clone().into());
    }
    put("slug", post.slug.clone().into());
    if let Some(d) = &post.published_at {
        put("date", show_time(d, tz).into());
    }
    if let Some(d) = &post.modified_at {
        let key = if format == Format::Hugo {
            "lastmod"
        } else {
            "updated"
        };
        put(key, show_time(d, tz).into());
    }
    put("draft", Value::Bool(post.status == PostStatus::Draft));
    if matches!(post.status, PostStatus::Pending | PostStatus::Archived) {
        put("status", post.status.as_str().into());
    }
    if let Some(a) = &post.author {
        put("author", a.name.clone().into());
    }
    put("categories", strings(&post.categories));
    put("tags", strings(&post.tags));
    if let Some(s) = &post.excerpt {
        put("summary", s.clone().into());
    }
    if let Some(c) = &post.cover_image {
        put("cover", c.clone().into());
    }
    if !post.aliases.is_empty() {
        let key = if format == Format::Jekyll {
            "redirect_from"
        } else {
            "aliases"
        };
        put(key, strings(&post.aliases));
    }
    // Extra keys go at the top level, where import reads unknown keys from (a key the
    // front matter already has cannot be written twice).
    for (k, v) in &post.extra {
        if !m.iter().any(|(have, _)| have == k) {
            m.push((k.clone(), v.clone()));
        }
    }
    m
}

/// A post as a markdown document: front matter, then the body exactly as stored (import
/// reads everything after the closing fence as the body, so no blank line is added).
pub fn document(post: &Post, tz: &Timezone, format: Format) -> Result<String> {
    let fm = front_matter(post, tz, format);
    // The body exactly as stored, so an import of the export gives the same text.
    let body = &post.content;
    if format == Format::Zola {
        return Ok(format!(
            "+++\n{}+++\n{body}",
            zola_toml(fm.into_iter().collect())?
        ));
    }
    // A YAML mapping keeps the order the keys were written in (title first).
    let mut mapping = serde_norway::Mapping::new();
    for (k, v) in fm {
        let v = serde_norway::to_value(v).context("writing YAML front matter")?;
        mapping.insert(serde_norway::Value::String(k), v);
    }
    let yaml = serde_norway::to_string(&mapping).context("writing YAML front matter")?;
    Ok(format!("---\n{yaml}---\n{body}"))
}

/// Zola's front matter: its own keys at the top, taxonomies and everything else in tables.
fn zola_toml(mut fm: Map<String, Value>) -> Result<String> {
    let mut top = Map::new();
    let mut taxonomies = Map::new();
    for k in ["categories", "tags"] {
        if let Some(v) = fm.remove(k) {
            taxonomies.insert(k.to_string(), v);
        }
    }
    if let Some(a) = fm.remove("author") {
        top.insert("authors".into(), Value::Array(vec![a]));
    }
    if let Some(s) = fm.remove("summary") {
        top.insert("description".into(), s);
    }
    for k in ["title", "slug", "date", "updated", "draft", "aliases"] {
        if let Some(v) = fm.remove(k) {
            top.insert(k.to_string(), v);
        }
    }
    // TOML has no null: such keys cannot be written in Zola's dialect.
    fm.retain(|_, v| !v.is_null());
    top.insert("taxonomies".into(), Value::Object(taxonomies));
    top.insert("extra".into(), Value::Object(fm));
    toml::to_string(&Value::Object(top)).context("writing TOML front matter")
}

/// A markdown document split into its YAML front matter (as JSON values) and body.
/// Errors name the line in the document.
pub fn parse_document(text: &str) -> Result<(Map<String, Value>, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        bail!("line 1: the document must start with a `---` line (YAML front matter)");
    };
    let mut offset = 0;
    let mut end = None;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, body_start)) = end else {
        bail!("line 1: the front matter is not closed: add a `---` line after it");
    };
    let yaml = &rest[..yaml_end];
    let fm: Value = if yaml.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_norway::from_str::<serde_norway::Value>(yaml)
            .map_err(|e| {
                let line = e.location().map(|l| l.line() + 1).unwrap_or(2);
                anyhow::anyhow!("line {line}: {}", document_lines(&e.to_string()))
            })
            .and_then(|v| serde_json::to_value(v).map_err(|e| anyhow::anyhow!("line 2: {e}")))?
    };
    let Value::Object(fm) = fm else {
        bail!("line 2: the front matter must be `key: value` lines");
    };
    Ok((fm, rest[body_start..].to_string()))
}

/// YAML error messages count lines from the front matter's first line; the writer sees the
/// document, where that is line 2.
fn document_lines(msg: &str) -> String {
    let re = regex::Regex::new(r"line (\d+)").expect("valid regex");
    re.replace_all(msg, |c: &regex::Captures| {
        let n: usize = c[1].parse().unwrap_or(0);
        format!("line {}", n + 1)
    })
    .into_owned()
}

fn text_of(fm: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match fm.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => bail!("`{key}` must be text"),
    }
}

fn list_of(fm: &Map<String, Value>, key: &str) -> Result<Vec<String>> {
    match fm.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => bail!("`{key}` must be a list of text"),
            })
            .collect(),
        Some(_) => bail!("`{key}` must be a list of text"),
    }
}

/// The post state a document describes, starting from the post's current state (keys left
/// out keep their value). Also returns the author named in it, when any.
pub fn edit_from_document(
    fm: &Map<String, Value>,
    body: &str,
    post: &Post,
    tz: &Timezone,
) -> Result<(Edit, Option<String>)> {
    let mut e = Edit::of(post);
    e.title = text_of(fm, "title")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("`title` is missing or empty"))?;
    e.subtitle = text_of(fm, "subtitle")?;
    if let Some(s) = text_of(fm, "slug")? {
        e.slug = s;
    }
    e.published_at = match text_of(fm, "date")? {
        Some(d) => Some(parse_time(&d, tz).context("`date`")?),
        None => None,
    };
    let updated = match text_of(fm, "updated")? {
        Some(d) => Some(d),
        None => text_of(fm, "lastmod")?,
    };
    e.modified_at = match updated {
        Some(d) => Some(parse_time(&d, tz).context("`updated`")?),
        None => None,
    };
    e.status = match (text_of(fm, "status")?, fm.get("draft")) {
        (Some(s), _) => s.parse().map_err(anyhow::Error::msg)?,
        (None, Some(Value::Bool(true))) => PostStatus::Draft,
        (None, Some(Value::Bool(false))) if post.status == PostStatus::Draft => {
            PostStatus::Published
        }
        (None, Some(Value::Bool(false))) => post.status,
        (None, Some(_)) => bail!("`draft` must be true or false"),
        (None, None) => post.status,
    };
    e.categories = list_of(fm, "categories")?;
    e.tags = list_of(fm, "tags")?;
    e.aliases = if fm.contains_key("redirect_from") {
        list_of(fm, "redirect_from")?
    } else {
        list_of(fm, "aliases")?
    };
    // As import does: the front matter's summary, else derived from the body.
    e.excerpt = match text_of(fm, "summary")? {
        Some(s) => Some(s),
        None => crate::markdown::excerpt_text(body),
    };
    e.cover_image = text_of(fm, "cover")?;
    e.content = body.to_string();
    e.extra = fm
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((e, text_of(fm, "author")?))
}

/// Where a post's document goes in an export, relative to the export folder.
pub fn document_path(post: &Post, format: Format) -> PathBuf {
    let bundle = !post.files.is_empty();
    let name = match format {
        Format::Jekyll => {
            let ts = post.published_at.as_deref().unwrap_or(&post.created_at);
            format!("{}-{}", ts.get(..10).unwrap_or("1970-01-01"), post.slug)
        }
        _ => post.slug.clone(),
    };
    let dir = match format {
        Format::Plain => PathBuf::new(),
        Format::Zola => PathBuf::from("content"),
        Format::Hugo => PathBuf::from("content").join("posts"),
        Format::Jekyll => PathBuf::from("_posts"),
    };
    if bundle {
        dir.join(name).join("index.md")
    } else {
        dir.join(format!("{name}.md"))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub posts: usize,
    pub files: usize,
}

/// Writes every post that is not deleted (and its media) under `dir`.
///
/// Refuses a non-empty `dir` unless `force`, and a post whose media file is missing from
/// the site (naming the file) before writing anything.
pub fn export(
    conn: &rusqlite::Connection,
    settings: &Settings,
    dir: &Path,
    format: Format,
    force: bool,
) -> Result<Report> {
    let site_root = &settings.root;
    let tz = &settings.timezone;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read the export folder", dir.display()))?;
        if entries.next().is_some() && !force {
            bail!(
                "{}: the folder is not empty; choose an empty or new folder, or pass --force to write over files there",
                dir.display()
            );
        }
    }
    let ids = posts::all_ids(conn, false)?;
    let mut all = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        let post = posts::load(conn, id)?;
        for f in &post.files {
            if !site_root.join(&f.file_path).is_file() {
                missing.push(format!("{} (media of {})", f.file_path, post.slug));
            }
        }
        all.push(post);
    }
    if !missing.is_empty() {
        bail!(
            "media files are missing from the site, nothing was exported:\n  {}\nrestore them (or remove them from the posts) and export again",
            missing.join("\n  ")
        );
    }
    let mut report = Report::default();
    for post in &all {
        let rel = document_path(post, format);
        let path = dir.join(&rel);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
        let text = document(post, tz, format).with_context(|| format!("post {}", post.slug))?;
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
        report.posts += 1;
        for f in &post.files {
            let to = parent.join(media_rel(settings, &post.slug, &f.file_path));
            if let Some(d) = to.parent() {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("{}: cannot create", d.display()))?;
            }
            std::fs::copy(site_root.join(&f.file_path), &to)
                .with_context(|| format!("copying {} to {}", f.file_path, to.display()))?;
            report.files += 1;
        }
    }
    Ok(report)
}

/// Where a media file goes in its post's bundle: its path under the post's media folder
/// (`media/SLUG/images/map.svg` → `images/map.svg`), else its file name.
fn media_rel(settings: &Settings, slug: &str, file_path: &str) -> PathBuf {
    let under = settings
        .media
        .strip_prefix(&settings.root)
        .unwrap_or(&settings.media)
        .join(slug);
    let path = Path::new(file_path);
    match path.strip_prefix(&under) {
        Ok(rel)
            if rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_))) =>
        {
            rel.to_path_buf()
        }
        _ => path
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("file")),
    }
}

/// The SHA-256 of a file's bytes, as lowercase hex (what import keeps in `source_hash`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> Post {
        Post {
            id: 1,
            title: "Hello: a \"test\"".into(),
            subtitle: None,
            slug: "hello".into(),
            content: "Body\n\nmore\n".into(),
            excerpt: Some("Short".into()),
            cover_image: None,
            author: Some(posts::Author {
                id: 1,
                name: "Ann".into(),
                email: "ann@x".into(),
            }),
            status: PostStatus::Published,
            published_at: Some("2024-05-01 08:00:00".into()),
            modified_at: None,
            view_count: 0,
            read_time: 1,
            created_at: "2024-05-01 08:00:00".into(),
            updated_at: "2024-05-01 08:00:00".into(),
            deleted_at: None,
            extra: serde_json::from_str(r#"{"mood":"happy","n":3}"#).unwrap(),
            source_path: None,
            source_hash: None,
            categories: vec!["Tech/Rust".into()],
            tags: vec!["a b".into()],
            aliases: vec!["/old/".into()],
            files: vec![],
        }
    }

    #[test]
    fn document_round_trips_through_edit() {
        let tz = Timezone::parse("+02:00").unwrap();
        let p = post();
        let doc = document(&p, &tz, Format::Plain).unwrap();
        assert!(doc.contains("date: 2024-05-01T10:00:00+02:00"), "{doc}");
        let (fm, body) = parse_document(&doc).unwrap();
        assert_eq!(body, p.content);
        let (e, author) = edit_from_document(&fm, &body, &p, &tz).unwrap();
        assert_eq!(e, Edit::of(&p));
        assert_eq!(author.as_deref(), Some("Ann"));
    }

    #[test]
    fn zola_document_has_taxonomies_and_extra() {
        let doc = document(&post(), &Timezone::utc(), Format::Zola).unwrap();
        let fm: toml::Table = toml::from_str(
            doc.strip_prefix("+++\n")
                .unwrap()
                .split("+++\n")
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            fm["taxonomies"]["categories"][0].as_str(),
            Some("Tech/Rust")
        );
        assert_eq!(fm["extra"]["mood"].as_str(), Some("happy"));
        assert_eq!(fm["description"].as_str(), Some("Short"));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = parse_document("---\ntitle: x\ntags: [a\n---\nbody").unwrap_err();
        assert!(e.to_string().starts_with("line "), "{e}");
        let e = parse_document("---\ntitle: x\n").unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
        assert!(parse_document("no front matter").is_err());
    }

    #[test]
    fn times_parse_in_the_site_zone() {
        let tz = Timezone::parse("+02:00").unwrap();
        assert_eq!(
            parse_time("2024-05-01 10:00", &tz).unwrap(),
            "2024-05-01 08:00:00"
        );
        assert_eq!(
            parse_time("2024-05-01T10:00:00Z", &tz).unwrap(),
            "2024-05-01 10:00:00"
        );
        assert!(parse_time("tomorrow", &tz).is_err());
    }
}
