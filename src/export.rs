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
use crate::model::{PostFields, PostStatus, Timestamp};
use crate::store::content::posts::{self, Post};

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
pub fn in_zone(ts: Timestamp, tz: &Timezone) -> chrono::DateTime<chrono::FixedOffset> {
    let utc = ts.utc();
    utc.with_timezone(&tz.offset_at(utc))
}

/// A store timestamp shown in the site's zone, RFC 3339 (`2024-05-01T12:00:00+02:00`).
pub fn show_time(ts: Timestamp, tz: &Timezone) -> String {
    in_zone(ts, tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Reads a time as a writer types it (the forms `bloggo import` reads: RFC 3339,
/// `YYYY-MM-DD HH:MM[:SS] [+HH:MM]`, `YYYY-MM-DD`; in the site's zone without an offset).
/// Returns a store timestamp (UTC).
pub fn parse_time(s: &str, tz: &Timezone) -> Result<Timestamp> {
    use crate::frontmatter::dates::{parse_date, to_store, DateError};
    parse_date(s, tz).map(to_store).map_err(|e| match e {
        DateError::OutOfRange(m) => anyhow::anyhow!(m),
        DateError::Unreadable(m) => anyhow::anyhow!(
            "{s:?} is not a time ({m}): write it as 2024-05-01T10:00:00+02:00 (RFC 3339) or 2024-05-01 10:00 (site time zone)"
        ),
    })
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// The front matter of a post as ordered key/value pairs, in a format's spelling.
pub fn front_matter(post: &PostFields, tz: &Timezone, format: Format) -> Vec<(String, Value)> {
    let mut m: Vec<(String, Value)> = Vec::new();
    let mut put = |k: &str, v: Value| {
        m.push((k.to_string(), v));
    };
    put("title", Value::String(post.title.clone()));
    if let Some(s) = &post.subtitle {
        put("subtitle", s.clone().into());
    }
    put("slug", post.slug.clone().into());
    if let Some(d) = post.published_at {
        put("date", show_time(d, tz).into());
    }
    if let Some(d) = post.modified_at {
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
    if let Some(a) = post.authors.first() {
        put("author", a.name.clone().into());
    }
    let categories: Vec<String> = post.categories.iter().map(|c| c.to_string()).collect();
    put("categories", strings(&categories));
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
pub fn document(post: &PostFields, tz: &Timezone, format: Format) -> Result<String> {
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

/// Where a post's document goes in an export, relative to the export folder.
pub fn document_path(post: &Post, format: Format) -> PathBuf {
    let bundle = !post.files.is_empty();
    let name = match format {
        Format::Jekyll => {
            let ts = post.published_at.unwrap_or(post.created_at);
            format!("{}-{}", ts.utc().format("%Y-%m-%d"), post.slug)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> Post {
        let at: Timestamp = "2024-05-01 08:00:00".parse().unwrap();
        Post {
            id: 1,
            fields: PostFields {
                title: "Hello: a \"test\"".into(),
                subtitle: None,
                slug: "hello".into(),
                content: "Body\n\nmore\n".into(),
                excerpt: Some("Short".into()),
                cover_image: None,
                status: PostStatus::Published,
                published_at: Some(at),
                modified_at: None,
                read_time: 1,
                categories: vec!["Tech/Rust".into()],
                tags: vec!["a b".into()],
                authors: vec![crate::model::AuthorRef {
                    name: "Ann".into(),
                    email: Some("ann@x".into()),
                }],
                aliases: vec!["/old/".into()],
                extra: serde_json::from_str(r#"{"mood":"happy","n":3}"#).unwrap(),
            },
            author: Some(posts::Author {
                id: 1,
                name: "Ann".into(),
                email: "ann@x".into(),
            }),
            view_count: 0,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            source_path: None,
            source_hash: None,
            files: vec![],
        }
    }

    #[test]
    fn import_reads_back_what_a_document_says() {
        let tz = Timezone::parse("+02:00").unwrap();
        let p = post();
        let doc = document(&p, &tz, Format::Plain).unwrap();
        assert!(doc.contains("date: 2024-05-01T10:00:00+02:00"), "{doc}");
        let mut ctx = crate::import::ParseContext::for_site(
            &crate::config::Settings::from_config(
                Path::new("/tmp/x"),
                toml::from_str("title='t'\nbase_url='/'\ntimezone='+02:00'").unwrap(),
            )
            .unwrap(),
        );
        ctx.file_time = None;
        let back = crate::import::parse_file("other-name.md", doc.as_bytes(), &ctx)
            .unwrap()
            .fields;
        assert_eq!(back.title, p.title);
        assert_eq!(back.slug, p.slug);
        assert_eq!(back.content, p.content);
        assert_eq!(back.excerpt, p.excerpt);
        assert_eq!(back.status, p.status);
        assert_eq!(back.published_at, p.published_at);
        assert_eq!(back.categories, p.categories);
        assert_eq!(back.tags, p.tags);
        assert_eq!(back.aliases, p.aliases);
        assert_eq!(back.extra, p.extra);
        assert_eq!(back.authors[0].name, "Ann");
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
    fn times_parse_in_the_site_zone() {
        let tz = Timezone::parse("+02:00").unwrap();
        assert_eq!(
            parse_time("2024-05-01 10:00", &tz).unwrap().to_string(),
            "2024-05-01 08:00:00"
        );
        assert_eq!(
            parse_time("2024-05-01T10:00:00Z", &tz).unwrap().to_string(),
            "2024-05-01 10:00:00"
        );
        assert!(parse_time("tomorrow", &tz).is_err());
    }
}
