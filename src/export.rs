//! `bloggo export`: every post that is not deleted, every section, and the posts' media,
//! written out as markdown documents in a folder layout (plain, Zola, Hugo, Jekyll). The
//! documents themselves are `frontmatter::write`'s: what `bloggo import` reads back.
//!
//! A section is its folder with an `_index.md` ([`section_dir`]); its posts go inside it, so
//! importing the export (the folder itself for plain and Jekyll, its `content/` for Zola and
//! Hugo) finds each post in the same section, at the same URL. The site's `[permalinks]`
//! live in `bloggo.toml`, which is not exported: they are written to `permalinks.toml`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Settings;
use crate::model::PostKind;
use crate::store::content::posts::{Post, PostFile};
use crate::store::sections::Section;

use crate::frontmatter::write::{document, section_document, Format};

/// The file the site's URL patterns are written to, at the top of the export.
pub const PERMALINKS_FILE: &str = "permalinks.toml";

/// Where a post's document goes in an export, relative to the export folder: its section's
/// folder, else where each generator keeps posts (or pages).
pub fn document_path(post: &Post, format: Format) -> PathBuf {
    named_path(post, format, &folder(post, format), &post.slug)
}

/// The folder of a section (`blog/rust`) in an export: where the content is read from on
/// re-import (`content/` for Zola and Hugo, the export itself for the others).
pub fn section_dir(path: &str, format: Format) -> PathBuf {
    content_root(format).join(path)
}

fn content_root(format: Format) -> PathBuf {
    match format {
        Format::Plain | Format::Jekyll => PathBuf::new(),
        Format::Zola | Format::Hugo => PathBuf::from("content"),
    }
}

/// The folder a post's document goes in. A standalone page goes where each generator keeps
/// its pages: beside the posts' folder (its front matter says it is a page), or in `pages/`
/// for the plain layout. Jekyll reads a section's posts from its `_posts/` (Jekyll has no
/// sections; it ignores the `_index.md` beside it).
fn folder(post: &Post, format: Format) -> PathBuf {
    let page = post.kind == PostKind::Page;
    if let Some(section) = &post.section {
        let dir = section_dir(section, format);
        return match format {
            Format::Jekyll if !page => dir.join("_posts"),
            _ => dir,
        };
    }
    match format {
        Format::Plain if page => PathBuf::from("pages"),
        Format::Hugo | Format::Zola if page => PathBuf::from("content"),
        Format::Jekyll if page => PathBuf::new(),
        Format::Plain => PathBuf::new(),
        Format::Zola => PathBuf::from("content"),
        Format::Hugo => PathBuf::from("content").join("posts"),
        Format::Jekyll => PathBuf::from("_posts"),
    }
}

/// The document named `name` (a slug, or `slug-ID` for one another post has too) in `dir`:
/// `name.md`, or a bundle `name/index.md`; Jekyll's posts are `YYYY-MM-DD-name`.
fn named_path(post: &Post, format: Format, dir: &Path, name: &str) -> PathBuf {
    let name = match format {
        Format::Jekyll if post.kind != PostKind::Page => {
            let ts = post.published_at.unwrap_or(post.created_at);
            format!("{}-{name}", ts.utc().format("%Y-%m-%d"))
        }
        _ => name.to_string(),
    };
    if post.files.is_empty() {
        dir.join(format!("{name}.md"))
    } else {
        dir.join(name).join("index.md")
    }
}

/// Where an export's documents go: no two in one file, and none where a re-import would find
/// it in another section than its own (a bundle folder named as a subsection, Hugo's
/// `content/posts/` when a section is called `posts`).
#[derive(Debug)]
pub struct Layout {
    format: Format,
    /// A section's folder in the export → its path (what a re-import keys it by).
    sections: BTreeMap<PathBuf, String>,
    used: HashSet<PathBuf>,
}

impl Layout {
    pub fn new(sections: &[Section], format: Format) -> Layout {
        let sections: BTreeMap<PathBuf, String> = sections
            .iter()
            .map(|s| (section_dir(&s.path, format), s.path.clone()))
            .collect();
        let used = sections.keys().map(|d| d.join("_index.md")).collect();
        Layout {
            format,
            sections,
            used,
        }
    }

    /// The section a re-import puts the document at `rel` in: the nearest folder above it
    /// that has an `_index.md`.
    pub fn section_at(&self, rel: &Path) -> Option<&str> {
        rel.ancestors()
            .skip(1)
            .find_map(|dir| self.sections.get(dir))
            .map(String::as_str)
    }

    /// Picks the file of `post`: its slug in its folder, else `slug-ID` (posts whose URLs
    /// differ may share a slug: the `slug` key keeps it); a post in no section whose folder
    /// is a section's goes to the top of the content instead.
    pub fn place(&mut self, post: &Post) -> Result<PathBuf> {
        let mut dirs = vec![folder(post, self.format)];
        if post.section.is_none() {
            dirs.push(content_root(self.format));
        }
        let unique = format!("{}-{}", post.slug, post.id);
        let candidates: Vec<PathBuf> = dirs
            .iter()
            .flat_map(|d| {
                [
                    named_path(post, self.format, d, &post.slug),
                    named_path(post, self.format, d, &unique),
                ]
            })
            .collect();
        let Some(rel) = candidates.into_iter().find(|rel| {
            !self.used.contains(rel) && self.section_at(rel) == post.section.as_deref()
        }) else {
            bail!(
                "post {} (#{}): every file it could be exported to is another post's or inside another section's folder; give it another slug",
                post.slug,
                post.id
            );
        };
        self.used.insert(rel.clone());
        Ok(rel)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub posts: usize,
    pub sections: usize,
    pub files: usize,
    /// `permalinks.toml` was written (the site sets URL patterns of its own).
    pub permalinks: bool,
}

/// Writes posts (`bloggo export` gives every post that is not deleted), the sections, the
/// posts' media and the site's URL patterns under `dir`.
///
/// Refuses a non-empty `dir` unless `force`, and a post whose media file is missing from
/// the site (naming the file) before writing anything.
pub fn export(
    all: &[Post],
    sections: &[Section],
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
    // Every file is chosen before any is written.
    let mut layout = Layout::new(sections, format);
    let placed: Vec<PathBuf> = all.iter().map(|p| layout.place(p)).collect::<Result<_>>()?;
    let mut report = Report::default();
    for s in sections {
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&s.extra)
            .with_context(|| format!("section {}: its extra keys are not a JSON object", s.path))?;
        let text = section_document(
            &s.title,
            s.description.as_deref(),
            &extra,
            &s.content,
            format,
        )
        .with_context(|| format!("section {}", s.path))?;
        write(
            &dir.join(section_dir(&s.path, format)).join("_index.md"),
            &text,
        )?;
        report.sections += 1;
    }
    for (post, rel) in all.iter().zip(&placed) {
        let path = dir.join(rel);
        let text = document(post, tz, format).with_context(|| format!("post {}", post.slug))?;
        write(&path, &text)?;
        report.posts += 1;
        let parent = path.parent().unwrap_or(dir);
        for f in &post.files {
            let to = parent.join(media_rel(settings, &post.slug, f));
            if let Some(d) = to.parent() {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("{}: cannot create", d.display()))?;
            }
            std::fs::copy(site_root.join(&f.file_path), &to)
                .with_context(|| format!("copying {} to {}", f.file_path, to.display()))?;
            report.files += 1;
        }
    }
    if let Some(text) = permalinks_toml(settings)? {
        write(&dir.join(PERMALINKS_FILE), &text)?;
        report.permalinks = true;
    }
    Ok(report)
}

/// Writes `text` to `path`, making its folder.
fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// The site's own URL patterns as a `[permalinks]` table to copy into the `bloggo.toml` of
/// the site the export is imported into (`None` when the site keeps the default
/// `/posts/:slug/` and `/<section>/:slug/`). A post's own `path` is in its front matter.
pub fn permalinks_toml(settings: &Settings) -> Result<Option<String>> {
    let mut table = BTreeMap::new();
    let posts = settings.post_pattern.to_string();
    if posts != crate::permalinks::default_pattern("posts").to_string() {
        table.insert("posts".to_string(), posts);
    }
    for (section, pattern) in &settings.config.permalinks.sections {
        table.insert(section.clone(), pattern.clone());
    }
    if table.is_empty() {
        return Ok(None);
    }
    let body = toml::to_string(&BTreeMap::from([("permalinks", table)]))
        .context("writing the [permalinks] table")?;
    Ok(Some(format!(
        "# The URL patterns of the exported site (its bloggo.toml). Copy this table into the\n\
         # bloggo.toml of the site you import the export into, before importing, so every post\n\
         # keeps its URL.\n{body}"
    )))
}

/// Where a media file goes in its post's bundle: its path in the bundle it was imported from
/// (`original_name`, which ends its path in the site), else its path under the post's media
/// folder (`media/SLUG/images/map.svg` → `images/map.svg`), else its file name.
fn media_rel(settings: &Settings, slug: &str, file: &PostFile) -> PathBuf {
    let relative = |p: &Path| {
        p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    let path = Path::new(&file.file_path);
    let original = Path::new(&file.original_name);
    if relative(original) && path.ends_with(original) {
        return original.to_path_buf();
    }
    let under = settings
        .media
        .strip_prefix(&settings.root)
        .unwrap_or(&settings.media)
        .join(slug);
    match path.strip_prefix(&under) {
        Ok(rel) if relative(rel) => rel.to_path_buf(),
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

    fn in_section(id: i64, slug: &str, section: Option<&str>, files: usize) -> Post {
        let mut p = post(Some("2023-02-03 10:00:00".parse().unwrap()), files);
        p.id = id;
        p.fields.slug = slug.into();
        p.fields.section = section.map(str::to_string);
        p
    }

    fn sections(paths: &[&str]) -> Vec<Section> {
        paths.iter().map(|p| Section::bare(p)).collect()
    }

    #[test]
    fn a_sections_posts_go_in_its_folder_in_every_format() {
        let rust = in_section(1, "hello", Some("blog/rust"), 0);
        let mut page = in_section(2, "about", Some("blog"), 0);
        page.fields.kind = PostKind::Page;
        for (format, post, page_at) in [
            (Format::Plain, "blog/rust/hello.md", "blog/about.md"),
            (
                Format::Zola,
                "content/blog/rust/hello.md",
                "content/blog/about.md",
            ),
            (
                Format::Hugo,
                "content/blog/rust/hello.md",
                "content/blog/about.md",
            ),
            (
                Format::Jekyll,
                "blog/rust/_posts/2023-02-03-hello.md",
                "blog/about.md",
            ),
        ] {
            let mut layout = Layout::new(&sections(&["blog", "blog/rust"]), format);
            let at = layout.place(&rust).unwrap();
            assert_eq!(at, PathBuf::from(post), "{format:?}");
            assert_eq!(layout.section_at(&at), Some("blog/rust"), "{format:?}");
            let at = layout.place(&page).unwrap();
            assert_eq!(at, PathBuf::from(page_at), "{format:?}");
            assert_eq!(layout.section_at(&at), Some("blog"), "{format:?}");
        }
        assert_eq!(
            section_dir("blog/rust", Format::Hugo),
            PathBuf::from("content/blog/rust")
        );
        assert_eq!(section_dir("blog", Format::Jekyll), PathBuf::from("blog"));
    }

    #[test]
    fn posts_sharing_a_slug_keep_their_own_files() {
        let mut layout = Layout::new(&sections(&["blog", "notes"]), Format::Plain);
        let placed: Vec<PathBuf> = [
            in_section(1, "meetup", Some("blog"), 0),
            in_section(2, "meetup", Some("notes"), 0),
            in_section(3, "meetup", None, 0),
            in_section(4, "meetup", None, 0),
        ]
        .iter()
        .map(|p| layout.place(p).unwrap())
        .collect();
        assert_eq!(
            placed,
            [
                "blog/meetup.md",
                "notes/meetup.md",
                "meetup.md",
                "meetup-4.md"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn no_post_lands_in_another_sections_folder() {
        // A bundle of `blog` named as its subsection `blog/rust` would be read back in it.
        let mut layout = Layout::new(&sections(&["blog", "blog/rust"]), Format::Plain);
        let bundle = in_section(7, "rust", Some("blog"), 1);
        assert_eq!(
            layout.place(&bundle).unwrap(),
            PathBuf::from("blog/rust-7/index.md")
        );
        // A post in no section goes to the top of the content when Hugo's `content/posts/`
        // is a section's folder.
        let mut layout = Layout::new(&sections(&["posts"]), Format::Hugo);
        assert_eq!(
            layout.place(&in_section(8, "loose", None, 0)).unwrap(),
            PathBuf::from("content/loose.md")
        );
        assert_eq!(
            layout
                .place(&in_section(9, "kept", Some("posts"), 0))
                .unwrap(),
            PathBuf::from("content/posts/kept.md")
        );
        // A section's `_index.md` is never a post's file.
        let mut layout = Layout::new(&sections(&["blog"]), Format::Plain);
        assert_eq!(
            layout
                .place(&in_section(3, "_index", Some("blog"), 0))
                .unwrap(),
            PathBuf::from("blog/_index-3.md")
        );
    }

    #[test]
    fn media_keep_their_path_in_the_bundle() {
        let settings = crate::config::Settings::from_config(
            Path::new("/site"),
            toml::from_str("title='t'\nbase_url='/'").unwrap(),
        )
        .unwrap();
        let file = |original: &str, path: &str| PostFile {
            filename: "map.svg".into(),
            original_name: original.into(),
            file_path: path.into(),
            file_size: 1,
            mime_type: "image/svg+xml".into(),
        };
        for (f, want) in [
            // A section's post keeps its media under its URL's folder.
            (
                file("img/map.svg", "media/blog/hello/img/map.svg"),
                "img/map.svg",
            ),
            (file("Map.SVG", "media/hello/img/map.svg"), "img/map.svg"),
            (file("../x.svg", "media/other/map.svg"), "map.svg"),
        ] {
            assert_eq!(media_rel(&settings, "hello", &f), PathBuf::from(want));
        }
    }

    #[test]
    fn only_a_sites_own_patterns_are_written() {
        let load = |toml_text: &str| {
            crate::config::Settings::from_config(
                Path::new("/site"),
                toml::from_str(&format!("title='t'\nbase_url='/'\n{toml_text}")).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(permalinks_toml(&load("")).unwrap(), None);
        let text = permalinks_toml(&load(
            "[permalinks]\nposts = '/:year/:slug/'\n\"notes/rust\" = '/rust/:slug/'",
        ))
        .unwrap()
        .unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(table["permalinks"]["posts"].as_str(), Some("/:year/:slug/"));
        assert_eq!(
            table["permalinks"]["notes/rust"].as_str(),
            Some("/rust/:slug/")
        );
        let text = permalinks_toml(&load("[urls]\nposts = 'blog'"))
            .unwrap()
            .unwrap();
        assert!(
            text.ends_with("[permalinks]\nposts = \"/blog/:slug/\"\n"),
            "{text}"
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
