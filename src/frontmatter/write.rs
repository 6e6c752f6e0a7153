//! Front matter written from `PostFields`: the document `bloggo export`, `post show`,
//! `post new` and `post edit` write, in the spelling of each dialect. It is what `read` reads
//! back: YAML between `---` lines (TOML between `+++` for Zola) with title, slug, date,
//! draft/status, categories as `Parent/Child` paths, tags, author, summary, cover, aliases and
//! the post's extra keys. A section's `_index.md` ([`section_document`]) is written in the same
//! dialect.

use std::str::FromStr;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::dates::show_time;
use crate::config::Timezone;
use crate::model::{PostFields, PostKind, PostStatus};

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
    if let Some(p) = &post.path {
        // Each generator's own key; Zola's path is relative to the site.
        match format {
            Format::Zola => put("path", p.trim_start_matches('/').into()),
            Format::Hugo => put("url", p.clone().into()),
            Format::Jekyll => put("permalink", p.clone().into()),
            Format::Plain => put("path", p.clone().into()),
        }
    }
    if post.kind == PostKind::Page {
        // Jekyll's and Hugo's own spellings; bloggo's `kind` for the others (in Zola's
        // `[extra]`, as Zola refuses keys it does not know at the top).
        match format {
            Format::Jekyll => put("layout", "page".into()),
            Format::Hugo => put("type", "page".into()),
            Format::Zola | Format::Plain => put("kind", "page".into()),
        }
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
        mapping.insert(serde_norway::Value::String(k), yaml_value(v)?);
    }
    let yaml = serde_norway::to_string(&mapping).context("writing YAML front matter")?;
    Ok(format!("---\n{yaml}---\n{body}"))
}

/// A section's `_index.md`: title, description and its other front matter keys (`extra`, a
/// JSON object, written back at the top level where the import found them), then its text.
/// TOML for Zola, YAML for the others, as [`document`] writes posts.
pub fn section_document(
    title: &str,
    description: Option<&str>,
    extra: &Map<String, Value>,
    content: &str,
    format: Format,
) -> Result<String> {
    let mut fm = Map::new();
    fm.insert("title".into(), title.into());
    if let Some(d) = description {
        fm.insert("description".into(), d.into());
    }
    for (k, v) in extra {
        if !fm.contains_key(k) {
            fm.insert(k.clone(), v.clone());
        }
    }
    let body = if content.is_empty() {
        String::new()
    } else {
        format!("{content}\n")
    };
    if format == Format::Zola {
        // TOML has no null.
        fm.retain(|_, v| !v.is_null());
        let toml = toml::to_string(&Value::Object(fm)).context("writing TOML front matter")?;
        return Ok(format!("+++\n{toml}+++\n{body}"));
    }
    // Title first, as in a post's document.
    let mut mapping = serde_norway::Mapping::new();
    for k in ["title", "description"] {
        if let Some(v) = fm.remove(k) {
            mapping.insert(k.into(), yaml_value(v)?);
        }
    }
    for (k, v) in fm {
        mapping.insert(k.into(), yaml_value(v)?);
    }
    let yaml = serde_norway::to_string(&mapping).context("writing YAML front matter")?;
    Ok(format!("---\n{yaml}---\n{body}"))
}

fn yaml_value(v: Value) -> Result<serde_norway::Value> {
    serde_norway::to_value(v).context("writing YAML front matter")
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
    for k in [
        "title", "slug", "path", "date", "updated", "draft", "aliases",
    ] {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthorRef, Timestamp};

    fn post() -> PostFields {
        let at: Timestamp = "2024-05-01 08:00:00".parse().unwrap();
        PostFields {
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
            authors: vec![AuthorRef {
                name: "Ann".into(),
                email: Some("ann@x".into()),
            }],
            aliases: vec!["/old/".into()],
            path: Some("/2024/05/01/hello/".into()),
            kind: PostKind::Post,
            section: None,
            extra: serde_json::from_str(r#"{"mood":"happy","n":3}"#).unwrap(),
        }
    }

    #[test]
    fn import_reads_back_what_a_document_says() {
        let tz = Timezone::parse("+02:00").unwrap();
        let p = post();
        let doc = document(&p, &tz, Format::Plain).unwrap();
        assert!(doc.contains("date: 2024-05-01T10:00:00+02:00"), "{doc}");
        let mut ctx = super::super::ParseContext::for_site(
            &crate::config::Settings::from_config(
                std::path::Path::new("/tmp/x"),
                toml::from_str("title='t'\nbase_url='/'\ntimezone='+02:00'").unwrap(),
            )
            .unwrap(),
        );
        ctx.file_time = None;
        let back = super::super::read("other-name.md", doc.as_bytes(), &ctx)
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
        assert_eq!(back.path, p.path);
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
        assert_eq!(fm["path"].as_str(), Some("2024/05/01/hello/"));
    }

    #[test]
    fn a_section_document_reads_back_with_its_keys() {
        let extra: Map<String, Value> =
            serde_json::from_str(r#"{"sort_by":"date","extra":{"banner":"x.png"},"gone":null}"#)
                .unwrap();
        for format in [Format::Plain, Format::Zola, Format::Hugo, Format::Jekyll] {
            let doc = section_document("Sub: blog", Some("Another"), &extra, "Hi **you**.", format)
                .unwrap();
            assert_eq!(doc.starts_with("+++\n"), format == Format::Zola, "{doc}");
            let split = super::super::syntax::split(&doc).unwrap();
            let mut fm = super::super::syntax::parse(&split).unwrap();
            assert_eq!(split.body.trim(), "Hi **you**.");
            assert_eq!(fm.remove("title"), Some("Sub: blog".into()), "{format:?}");
            assert_eq!(fm.remove("description"), Some("Another".into()));
            let mut want = extra.clone();
            if format == Format::Zola {
                // TOML has no null.
                want.remove("gone");
            }
            assert_eq!(fm, want, "{format:?}: {doc}");
        }
        let bare = section_document("Rust", None, &Map::new(), "", Format::Plain).unwrap();
        assert_eq!(bare, "---\ntitle: Rust\n---\n");
    }

    #[test]
    fn a_page_reads_back_as_a_page_in_every_format() {
        let ctx = super::super::ParseContext::for_site(
            &crate::config::Settings::from_config(
                std::path::Path::new("/tmp/x"),
                toml::from_str("title='t'\nbase_url='/'").unwrap(),
            )
            .unwrap(),
        );
        let page = PostFields {
            kind: PostKind::Page,
            extra: Map::new(),
            ..post()
        };
        for (format, key) in [
            (Format::Plain, "kind: page"),
            (Format::Jekyll, "layout: page"),
            (Format::Hugo, "type: page"),
            (Format::Zola, "kind = \"page\""),
        ] {
            let doc = document(&page, &Timezone::utc(), format).unwrap();
            assert!(doc.contains(key), "{format:?}: {doc}");
            let back = super::super::read("x.md", doc.as_bytes(), &ctx)
                .unwrap()
                .fields;
            assert_eq!(back.kind, PostKind::Page, "{format:?}");
            assert!(back.extra.is_empty(), "{format:?}: {:?}", back.extra);
        }
        let doc = document(&post(), &Timezone::utc(), Format::Jekyll).unwrap();
        assert!(!doc.contains("layout"), "{doc}");
    }
}
