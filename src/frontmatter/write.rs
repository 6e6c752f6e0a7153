//! Front matter written from `PostFields`: the document `bloggo export`, `post show`,
//! `post new` and `post edit` write, in the spelling of each dialect. It is what `read` reads
//! back: YAML between `---` lines (TOML between `+++` for Zola) with title, slug, date,
//! draft/status, categories as `Parent/Child` paths, tags, author, summary, cover, aliases and
//! the post's extra keys.

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
