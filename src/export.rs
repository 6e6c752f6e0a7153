//! `bloggo export`: every post that is not deleted, and its media, written out as markdown
//! documents in a folder layout (plain, Zola, Hugo, Jekyll). The documents themselves are
//! `frontmatter::write`'s: what `bloggo import` reads back.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Settings;
use crate::model::PostKind;
use crate::store::content::posts::Post;

use crate::frontmatter::write::{document, Format};

/// Where a post's document goes in an export, relative to the export folder.
pub fn document_path(post: &Post, format: Format) -> PathBuf {
    named_path(post, format, &post.slug)
}

/// As [`document_path`], for a post whose slug another exported post has too (posts whose
/// URLs differ may share one): `slug-ID` (the post's `path` or the pattern keeps its URL).
fn unique_path(post: &Post, format: Format) -> PathBuf {
    named_path(post, format, &format!("{}-{}", post.slug, post.id))
}

fn named_path(post: &Post, format: Format, name: &str) -> PathBuf {
    let bundle = !post.files.is_empty();
    let page = post.kind == PostKind::Page;
    let name = match format {
        Format::Jekyll if !page => {
            let ts = post.published_at.unwrap_or(post.created_at);
            format!("{}-{name}", ts.utc().format("%Y-%m-%d"))
        }
        _ => name.to_string(),
    };
    // A standalone page goes where each generator keeps its pages: beside the posts' folder
    // (its front matter says it is a page), or in `pages/` for the plain layout.
    let dir = match format {
        Format::Plain if page => PathBuf::from("pages"),
        Format::Hugo | Format::Zola if page => PathBuf::from("content"),
        Format::Jekyll if page => PathBuf::new(),
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

/// Writes posts (`bloggo export` gives every post that is not deleted) and their media under
/// `dir`.
///
/// Refuses a non-empty `dir` unless `force`, and a post whose media file is missing from
/// the site (naming the file) before writing anything.
pub fn export(
    all: &[Post],
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
    let mut missing = Vec::new();
    for post in all {
        for f in &post.files {
            if !site_root.join(&f.file_path).is_file() {
                missing.push(format!("{} (media of {})", f.file_path, post.slug));
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "media files are missing from the site, nothing was exported:\n  {}\nrestore them (or remove them from the posts) and export again",
            missing.join("\n  ")
        );
    }
    let mut report = Report::default();
    let mut used = std::collections::HashSet::new();
    for post in all {
        let mut rel = document_path(post, format);
        if !used.insert(rel.clone()) {
            rel = unique_path(post, format);
            used.insert(rel.clone());
        }
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
    use crate::model::Timestamp;

    fn post(published_at: Option<Timestamp>, files: usize) -> Post {
        let at: Timestamp = "2024-05-01 08:00:00".parse().unwrap();
        Post {
            id: 1,
            fields: crate::model::PostFields {
                slug: "hello".into(),
                published_at,
                ..Default::default()
            },
            author: None,
            view_count: 0,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            source_path: None,
            source_hash: None,
            files: (0..files)
                .map(|i| crate::store::content::posts::PostFile {
                    filename: format!("{i}.png"),
                    original_name: format!("{i}.png"),
                    file_path: format!("media/hello/{i}.png"),
                    file_size: 1,
                    mime_type: "image/png".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn jekyll_names_documents_by_date_and_bundles_have_folders() {
        let dated = post(Some("2023-02-03 10:00:00".parse().unwrap()), 0);
        assert_eq!(
            document_path(&dated, Format::Jekyll),
            PathBuf::from("_posts/2023-02-03-hello.md")
        );
        assert_eq!(
            document_path(&post(None, 1), Format::Jekyll),
            PathBuf::from("_posts/2024-05-01-hello/index.md")
        );
        assert_eq!(
            document_path(&post(None, 0), Format::Hugo),
            PathBuf::from("content/posts/hello.md")
        );
    }

    #[test]
    fn pages_go_where_each_generator_keeps_pages() {
        let mut page = post(Some("2023-02-03 10:00:00".parse().unwrap()), 0);
        page.fields.kind = PostKind::Page;
        for (format, want) in [
            (Format::Jekyll, "hello.md"),
            (Format::Hugo, "content/hello.md"),
            (Format::Zola, "content/hello.md"),
            (Format::Plain, "pages/hello.md"),
        ] {
            assert_eq!(document_path(&page, format), PathBuf::from(want));
        }
    }
}
