//! The sections of an imported folder: which folders are sections, what each `_index.md`
//! says, and which section each post file is in.
//!
//! A folder with an `_index.md` is a section (Zola, Hugo); so is every top-level folder of a
//! Hugo site's content (Hugo makes those sections with or without one). A section's key is its
//! folder below the content root (`sub-blog`, `notes/rust`): its URL and `:section`. The
//! imported folder's own `_index.md` is the home page of a site's content folder (not a
//! section); when a lone section's folder is imported (`bloggo import content/sub-blog`), it is
//! that section, named after the folder, so importing the site later finds the same keys.
//! A post is in the nearest section above its file.

use std::collections::BTreeMap;

use serde_json::Value;

use super::media::SourceFile;
use crate::frontmatter::{slug::slugify, syntax, Problem};
use crate::store::sections::{folder_title, Section};

/// How the folder's sections are found.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The imported folder may be a lone section's folder: with an `_index.md` of its own it is
    /// the section of this name (the folder's). `None`: the folder is a content root.
    pub root_section: Option<String>,
    /// Every top-level folder holding posts is a section, `_index.md` or not (Hugo).
    pub top_level: bool,
    /// A post's URL keeps the folders between its section's and its file (Zola and Hugo
    /// publish `content/blog/2020/x.md` at `/blog/2020/x/`): see [`Plan::folder_of_post`].
    pub folders_in_urls: bool,
    /// Folders of the imported folder that are sections of these keys, `_index.md` or not
    /// (Jekyll's collections: `_recipes` → `recipes`).
    pub named: Vec<(String, String)>,
}

/// The sections found, and where each post file goes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Folder (relative to the imported folder, `""` for the folder itself) → section key.
    by_folder: BTreeMap<String, String>,
    /// The sections with an `_index.md`, ready to write, with the file each came from.
    pub sections: Vec<(Section, String)>,
    /// `_index.md` files that make no section (the content root's), counted as skipped.
    pub skipped: usize,
    /// The key the imported folder has as a lone section (see [`Rules::root_section`]).
    root: Option<String>,
    folders_in_urls: bool,
}

impl Plan {
    /// The section of the post in file `rel`: the nearest folder above it that is a section.
    pub fn section_of(&self, rel: &str) -> Option<&str> {
        let mut folder = rel;
        loop {
            folder = match folder.rfind('/') {
                Some(i) => &folder[..i],
                None if folder.is_empty() => return None,
                None => "",
            };
            if let Some(key) = self.by_folder.get(folder) {
                return Some(key);
            }
            if folder.is_empty() {
                return None;
            }
        }
    }

    /// The folder path the URL of the post in file `rel` keeps, when the folders are kept in
    /// URLs and the file's folder (a bundle's parent folder for `x/index.md`) is not its
    /// section's: `blog/2020` for `blog/2020/x.md` in the section `blog`.
    pub fn folder_of_post(&self, rel: &str) -> Option<String> {
        if !self.folders_in_urls {
            return None;
        }
        let mut folder = folder_of(rel);
        let stem = rel.rsplit('/').next().unwrap_or(rel);
        if stem.starts_with("index.") && !folder.is_empty() {
            folder = folder_of(folder);
        }
        let key = key_under(self.root.as_deref(), folder);
        (key != self.section_of(rel).unwrap_or("")).then_some(key)
    }
}

/// A folder path as a section key: each name kept when it can be a URL segment, else
/// slugified.
fn key_of(folder: &str) -> String {
    folder
        .split('/')
        .map(|name| {
            if crate::permalinks::is_section_path(name) {
                name.to_string()
            } else {
                slugify(name)
            }
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The key of a folder of the imported folder: its path as a key, below `root` when the
/// imported folder is a lone section's (see [`Rules::root_section`]).
fn key_under(root: Option<&str>, folder: &str) -> String {
    let key = key_of(folder);
    match (root, key.is_empty()) {
        (Some(root), true) => key_of(root),
        (Some(root), false) => format!("{}/{key}", key_of(root)),
        (None, _) => key,
    }
}

/// The folder of a file path (`a/b/_index.md` → `a/b`, `_index.md` → ``).
fn folder_of(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

/// Finds the sections of a folder from its `_index.md` files (`index_files`, read with
/// `read`) and its post files. `scope` begins every `source_path` (see `import::source_scope`).
pub fn plan(
    index_files: &[SourceFile],
    posts: &[SourceFile],
    rules: &Rules,
    scope: &str,
    read: impl Fn(&SourceFile) -> std::io::Result<Vec<u8>>,
) -> Result<Plan, Vec<Problem>> {
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    // A lone section's folder is one only with its own `_index.md`; any other folder imported
    // as it is keeps its sections' keys as they are below it.
    let root = rules
        .root_section
        .as_ref()
        .filter(|_| index_files.iter().any(|f| folder_of(&f.rel).is_empty()));
    let prefix = |folder: &str| key_under(root.map(String::as_str), folder);
    for f in index_files {
        let folder = folder_of(&f.rel);
        let key = prefix(folder);
        if key.is_empty() {
            // The content root's `_index.md`: the site's home page.
            plan.skipped += 1;
            continue;
        }
        let bytes = match read(f) {
            Ok(b) => b,
            Err(e) => {
                problems.push(Problem::at(&f.rel, None, format!("cannot read: {e}")));
                continue;
            }
        };
        match section(&f.rel, &bytes, &key) {
            Ok(mut s) => {
                s.source_path = Some(format!("{scope}{}", f.rel));
                s.source_hash = Some(crate::fsx::sha256_hex(&bytes));
                plan.by_folder.insert(folder.to_string(), key);
                plan.sections.push((s, f.rel.clone()));
            }
            Err(p) => problems.push(p),
        }
    }
    for (folder, key) in &rules.named {
        plan.by_folder
            .entry(folder.clone())
            .or_insert_with(|| key.clone());
    }
    plan.root = root.cloned();
    plan.folders_in_urls = rules.folders_in_urls;
    if rules.top_level {
        for p in posts {
            let Some((top, _)) = p.rel.split_once('/') else {
                continue;
            };
            if !plan.by_folder.contains_key(top) {
                let key = prefix(top);
                if !key.is_empty() {
                    plan.by_folder.insert(top.to_string(), key);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// Reads an `_index.md`: its title (the folder's name when it has none), description and text;
/// every other key is kept in `extra` (export writes them back).
fn section(rel: &str, bytes: &[u8], key: &str) -> Result<Section, Problem> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Problem::new(rel, 1, "not UTF-8 text; save it as UTF-8".into()))?;
    let split = syntax::split(text).map_err(|(line, msg)| Problem::new(rel, line, msg))?;
    let mut fm = syntax::parse(&split).map_err(|(line, msg)| Problem::new(rel, line, msg))?;
    let text_of = |v: Option<Value>| -> Option<String> {
        v.and_then(|v| v.as_str().map(str::trim).map(str::to_string))
            .filter(|s| !s.is_empty())
    };
    let title = text_of(fm.remove("title")).unwrap_or_else(|| folder_title(key));
    let description = text_of(fm.remove("description"));
    Ok(Section {
        path: key.to_string(),
        title,
        description,
        content: split.body.trim().to_string(),
        extra: Value::Object(fm).to_string(),
        source_path: None,
        source_hash: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str) -> SourceFile {
        SourceFile {
            rel: rel.into(),
            abs: rel.into(),
            media: Vec::new(),
        }
    }

    fn plan_of(index: &[(&str, &str)], posts: &[&str], rules: Rules) -> Plan {
        let texts: BTreeMap<String, String> = index
            .iter()
            .map(|(r, t)| (r.to_string(), t.to_string()))
            .collect();
        let index: Vec<SourceFile> = index.iter().map(|(r, _)| file(r)).collect();
        let posts: Vec<SourceFile> = posts.iter().map(|r| file(r)).collect();
        plan(&index, &posts, &rules, "/site/content/", |f| {
            Ok(texts[&f.rel].clone().into_bytes())
        })
        .unwrap()
    }

    #[test]
    fn zola_sections_nest_and_the_root_index_is_the_home_page() {
        let p = plan_of(
            &[
                ("_index.md", "+++\ntitle = \"Home\"\n+++\n"),
                (
                    "sub-blog/_index.md",
                    "+++\ntitle = \"Sub\"\ndescription = \"The other blog\"\nsort_by = \"date\"\n[extra]\nx = 1\n+++\nWelcome.\n",
                ),
                ("sub-blog/rust/_index.md", "+++\n+++\n"),
            ],
            &[
                "meetup.md",
                "sub-blog/meetup.md",
                "sub-blog/rust/a.md",
                "sub-blog/b/index.md",
                "other/c.md",
            ],
            Rules::default(),
        );
        assert_eq!(p.skipped, 1);
        assert_eq!(p.section_of("meetup.md"), None);
        assert_eq!(p.section_of("sub-blog/meetup.md"), Some("sub-blog"));
        assert_eq!(p.section_of("sub-blog/rust/a.md"), Some("sub-blog/rust"));
        assert_eq!(p.section_of("sub-blog/b/index.md"), Some("sub-blog"));
        assert_eq!(p.section_of("other/c.md"), None);
        let (sub, from) = &p.sections[0];
        assert_eq!(from, "sub-blog/_index.md");
        assert_eq!(
            (sub.title.as_str(), sub.description.as_deref()),
            ("Sub", Some("The other blog"))
        );
        assert_eq!(sub.content, "Welcome.");
        assert_eq!(
            sub.source_path.as_deref(),
            Some("/site/content/sub-blog/_index.md")
        );
        let extra: Value = serde_json::from_str(&sub.extra).unwrap();
        assert_eq!(extra["sort_by"], "date");
        assert_eq!(extra["extra"]["x"], 1);
        assert_eq!(p.sections[1].0.title, "Rust");
    }

    #[test]
    fn hugo_top_level_folders_are_sections_without_an_index() {
        let p = plan_of(
            &[],
            &["about.md", "post/2024/a.md", "My Notes/b.md"],
            Rules {
                top_level: true,
                ..Rules::default()
            },
        );
        assert_eq!(p.section_of("about.md"), None);
        assert_eq!(p.section_of("post/2024/a.md"), Some("post"));
        assert_eq!(p.section_of("My Notes/b.md"), Some("my-notes"));
        assert!(p.sections.is_empty());
    }

    #[test]
    fn urls_keep_the_folders_below_a_section_when_the_generator_does() {
        let p = plan_of(
            &[("blog/_index.md", "+++\n+++\n")],
            &[
                "a.md",
                "blog/x.md",
                "blog/2020/y.md",
                "blog/2020/z/index.md",
                "notes/n.md",
            ],
            Rules {
                folders_in_urls: true,
                ..Rules::default()
            },
        );
        assert_eq!(p.folder_of_post("a.md"), None);
        assert_eq!(p.folder_of_post("blog/x.md"), None);
        assert_eq!(
            p.folder_of_post("blog/2020/y.md").as_deref(),
            Some("blog/2020")
        );
        assert_eq!(
            p.folder_of_post("blog/2020/z/index.md").as_deref(),
            Some("blog/2020")
        );
        // Not in a section: the folder is still in the URL.
        assert_eq!(p.folder_of_post("notes/n.md").as_deref(), Some("notes"));
        let plain = plan_of(&[], &["blog/2020/y.md"], Rules::default());
        assert_eq!(plain.folder_of_post("blog/2020/y.md"), None);
    }

    #[test]
    fn a_lone_section_folder_is_named_after_the_folder() {
        let p = plan_of(
            &[("_index.md", "---\ntitle: Sub\n---\n")],
            &["meetup.md", "rust/a.md"],
            Rules {
                root_section: Some("sub-blog".into()),
                ..Rules::default()
            },
        );
        assert_eq!(p.section_of("meetup.md"), Some("sub-blog"));
        assert_eq!(p.section_of("rust/a.md"), Some("sub-blog"));
        assert_eq!(p.sections[0].0.path, "sub-blog");
        let bare = plan_of(
            &[],
            &["meetup.md"],
            Rules {
                root_section: Some("sub-blog".into()),
                ..Rules::default()
            },
        );
        // Without its `_index.md` the folder is imported as it is.
        assert_eq!(bare.section_of("meetup.md"), None);
    }

    #[test]
    fn a_broken_index_names_its_file_and_line() {
        let index = [file("blog/_index.md")];
        let e = plan(&index, &[], &Rules::default(), "", |_| {
            Ok(b"+++\ntitle = \n+++\n".to_vec())
        })
        .unwrap_err();
        assert_eq!(e[0].path, "blog/_index.md");
        assert!(e[0].line.is_some(), "{e:?}");
    }
}
