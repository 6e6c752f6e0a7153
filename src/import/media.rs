//! Finding the markdown files of a folder and the media of page bundles, and installing media
//! into the site's media folder (temp file + rename, only when the bytes changed). In a
//! multilingual Hugo or Zola site, the translation files of other languages (`post.de.md`) are left
//! out there too.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::frontmatter::Problem;

/// A markdown file to import.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the imported folder, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    /// Sibling files when this is a page bundle (`some-post/index.md`).
    pub media: Vec<BundleFile>,
}

/// A file of a page bundle.
#[derive(Debug, Clone)]
pub struct BundleFile {
    /// Relative to the bundle folder, `/`-separated (`cat.png`, `images/dog.jpg`).
    pub rel: String,
    pub abs: PathBuf,
}

/// What a walk of the folder found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<SourceFile>,
    /// Section pages (`_index.md`): not posts (see `import::sections`).
    pub sections: Vec<SourceFile>,
    /// Other languages' translation files, left out.
    pub skipped: usize,
    /// The translation files left out, counted per language code (of the site's config).
    pub translations: BTreeMap<String, usize>,
    pub problems: Vec<Problem>,
}

/// The languages of a multilingual Hugo or Zola site (`[languages]`), for its translations by
/// file name: `post.de.md` beside `post.md`, a bundle's `index.de.md`, a section's
/// `_index.de.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    /// The default language's code: `post.<it>.md` is the post `post`.
    pub default: String,
    /// The other languages' codes: their translation files are left out.
    pub others: Vec<String>,
}

impl Languages {
    /// The code of another language that a file name without its extension carries
    /// (`post.de`, `index.de`, `_index.de` → `de`), as the config spells it.
    pub fn other_of<'a>(&'a self, stem: &str) -> Option<&'a str> {
        self.others
            .iter()
            .find(|code| crate::frontmatter::slug::without_language(stem, code).is_some())
            .map(String::as_str)
    }

    /// A file name without its extension, the default language's code taken off
    /// (`post.en` → `post`).
    pub fn base_of<'a>(&self, stem: &'a str) -> &'a str {
        crate::frontmatter::slug::without_language(stem, &self.default).unwrap_or(stem)
    }
}

fn is_markdown(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// Whether a top-level entry of the walked folder is one of `only` (every entry when empty).
fn included(e: &walkdir::DirEntry, only: &[String]) -> bool {
    only.is_empty()
        || only
            .iter()
            .any(|o| e.file_name().to_string_lossy() == o.as_str())
}

fn hidden(e: &walkdir::DirEntry) -> bool {
    e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.')
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Walks `root` for `.md`/`.markdown` files (hidden files and folders left out), in name order.
/// With `languages` (a multilingual Hugo or Zola site), other languages' translation files are left
/// out and counted, and the default language's code is no part of a name (`index.en.md` is a
/// bundle's page); without, every name is taken as it is (`node.js.md` is a post).
pub fn discover(root: &Path, only: &[String], languages: Option<&Languages>) -> Discovery {
    let mut out = Discovery::default();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !hidden(e) && (e.depth() != 1 || included(e, only)));
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| root.display().to_string());
                out.problems
                    .push(Problem::at(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_markdown(entry.path()) {
            continue;
        }
        let rel_path = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let rel = slash_path(rel_path);
        let stem = entry
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if let Some(code) = languages.and_then(|l| l.other_of(&stem)) {
            out.skipped += 1;
            *out.translations.entry(code.to_string()).or_default() += 1;
            continue;
        }
        let stem = languages.map_or(stem.as_str(), |l| l.base_of(&stem));
        if stem == "_index" {
            out.sections.push(SourceFile {
                rel,
                abs: entry.path().to_path_buf(),
                media: Vec::new(),
            });
            continue;
        }
        let media = if stem == "index" && rel.contains('/') {
            match bundle_files(entry.path().parent().unwrap_or(root)) {
                Ok(m) => m,
                Err(e) => {
                    out.problems.push(Problem::at(
                        &entry.path().display().to_string(),
                        None,
                        format!("cannot list the page bundle's files: {e}"),
                    ));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        out.files.push(SourceFile {
            rel,
            abs: entry.path().to_path_buf(),
            media,
        });
    }
    out
}

/// The non-markdown files of a bundle folder, recursively, in name order.
pub fn bundle_files(dir: &Path) -> io::Result<Vec<BundleFile>> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !hidden(e));
    for entry in walk {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_file() && !is_markdown(entry.path()) {
            let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            out.push(BundleFile {
                rel: slash_path(rel),
                abs: entry.path().to_path_buf(),
            });
        }
    }
    Ok(out)
}

/// Copies `src` to `dest` unless `dest` already has the same bytes; the new file appears
/// whole (written beside it, then renamed). True when it wrote.
pub fn install(src: &Path, dest: &Path) -> io::Result<bool> {
    let bytes = std::fs::read(src)?;
    if let Ok(meta) = std::fs::metadata(dest) {
        if meta.len() == bytes.len() as u64 && std::fs::read(dest)? == bytes {
            return Ok(false);
        }
    }
    crate::fsx::write_atomic(dest, &bytes, crate::fsx::Durability::Synced)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        d
    }

    fn rels(found: &Discovery) -> Vec<&str> {
        found.files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn other_languages_translation_files_are_left_out_and_counted() {
        let d = folder(&[
            "a.md",
            "a.de.md",
            "b.en.md",
            "b.fr.md",
            "node.js.md",
            "posts/_index.md",
            "posts/_index.de.md",
            "posts/trip/index.en.md",
            "posts/trip/index.de.md",
            "posts/trip/map.png",
        ]);
        let langs = Languages {
            default: "en".into(),
            others: vec!["de".into(), "fr".into()],
        };
        let found = discover(d.path(), &[], Some(&langs));
        assert_eq!(
            rels(&found),
            ["a.md", "b.en.md", "node.js.md", "posts/trip/index.en.md"]
        );
        // `index.en.md` is the bundle's page: its media come along.
        let media: Vec<&str> = found.files[3]
            .media
            .iter()
            .map(|m| m.rel.as_str())
            .collect();
        assert_eq!(media, ["map.png"]);
        // The translations; `_index.md` is a section's page.
        assert_eq!(found.skipped, 4);
        assert_eq!(found.sections.len(), 1);
        let counts: Vec<(&str, usize)> = found
            .translations
            .iter()
            .map(|(l, n)| (l.as_str(), *n))
            .collect();
        assert_eq!(counts, [("de", 3), ("fr", 1)]);
    }

    #[test]
    fn a_folder_that_is_no_multilingual_site_keeps_every_name() {
        let d = folder(&["a.de.md", "node.js.md", "_index.md"]);
        let found = discover(d.path(), &[], None);
        assert_eq!(rels(&found), ["a.de.md", "node.js.md"]);
        assert_eq!(found.skipped, 0);
        assert_eq!(found.sections[0].rel, "_index.md");
        assert!(found.translations.is_empty());
    }

    #[test]
    fn install_writes_only_changes() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.png");
        std::fs::write(&src, b"one").unwrap();
        let dest = d.path().join("media/post/a.png");
        assert!(install(&src, &dest).unwrap());
        assert!(!install(&src, &dest).unwrap());
        std::fs::write(&src, b"two").unwrap();
        assert!(install(&src, &dest).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
    }
}
