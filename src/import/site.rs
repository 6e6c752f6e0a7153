//! A whole site's root, recognised: which generator made it (from its config file), which
//! folder holds its posts, and the settings bloggo can take over (title, base URL, time zone,
//! the posts' permalink pattern, taxonomies), with everything it cannot map listed.
//!
//! Pure reading: nothing here touches the store or `bloggo.toml`; `bloggo import` decides
//! what to do with a [`SiteProfile`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::media::Languages;
use crate::config_edit::Setting;

/// The generator a site was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    Jekyll,
    Hugo,
    Zola,
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generator::Jekyll => "Jekyll",
            Generator::Hugo => "Hugo",
            Generator::Zola => "Zola",
        })
    }
}

/// What a site's config says that bloggo can use.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteProfile {
    pub generator: Generator,
    /// The config file read.
    pub config: PathBuf,
    pub title: Option<String>,
    /// The site's absolute URL (Jekyll's `url` + `baseurl`, Hugo's `baseURL`, Zola's
    /// `base_url`).
    pub base_url: Option<String>,
    /// The site's time zone (Jekyll's `timezone`, an IANA name; Hugo's `timeZone`): its dates
    /// without an offset are read in it, and its permalinks' dates are in it.
    pub timezone: Option<String>,
    /// The folder of posts to import.
    pub posts: PathBuf,
    /// Only these folders of `posts` hold posts (Jekyll's `_posts` and `_drafts` beside the
    /// site's other files); all of it when empty.
    pub only: Vec<String>,
    /// A multilingual Hugo or Zola site's languages (`[languages]`): its translation files of
    /// other languages (`post.de.md`, `_index.de.md`) are left out, the default language's
    /// (`post.en.md`) are `post`.
    pub languages: Option<Languages>,
    /// Folders of the site that are sections, with their keys (Jekyll's collections:
    /// `_recipes` → `recipes`).
    pub collections: Vec<(String, String)>,
    /// URL patterns in bloggo's placeholders, by `[permalinks]` key: `posts` (posts in no
    /// section, and the section `posts`) or a section's folder (`/:year/:month/:day/:slug/`).
    pub permalinks: Vec<(String, String)>,
    /// The taxonomies the site declares (plural names: `tags`, `categories`, `series`).
    pub taxonomies: Vec<String>,
    /// What the config sets that bloggo does not take over, one line each.
    pub left_out: Vec<String>,
}

impl SiteProfile {
    /// The settings `bloggo import` takes over into `bloggo.toml`, each only where the site's
    /// file still has what `bloggo init` wrote (see `config_edit`).
    pub fn settings(&self) -> Vec<Setting> {
        let mut out = Vec::new();
        if let Some(t) = &self.title {
            out.push(Setting {
                table: None,
                key: "title".into(),
                value: t.clone(),
                replaceable: &[crate::config::STARTER_TITLE],
            });
        }
        if let Some(u) = &self.base_url {
            out.push(Setting {
                table: None,
                key: "base_url".into(),
                value: u.clone(),
                replaceable: &[crate::config::STARTER_BASE_URL],
            });
        }
        if let Some(z) = &self.timezone {
            // `bloggo init` leaves it unset (commented out): only then is it taken over.
            out.push(Setting {
                table: None,
                key: "timezone".into(),
                value: z.clone(),
                replaceable: &[],
            });
        }
        for (key, pattern) in &self.permalinks {
            out.push(Setting {
                table: Some("permalinks"),
                key: key.clone(),
                value: pattern.clone(),
                replaceable: &[],
            });
        }
        out
    }
}

/// Recognises a generator's site at `root`: `Ok(None)` when the folder is not a site root
/// (no config file of a known generator), an error naming the file when the config cannot
/// be read.
pub fn detect(root: &Path) -> Result<Option<SiteProfile>> {
    for name in ["_config.yml", "_config.yaml"] {
        let path = root.join(name);
        if path.is_file() {
            return jekyll(root, &path, &read_config(&path)?).map(Some);
        }
    }
    let hugo_names = [
        "hugo.toml",
        "hugo.yaml",
        "hugo.yml",
        "hugo.json",
        "config/_default/hugo.toml",
        "config/_default/config.toml",
        "config/_default/hugo.yaml",
        "config/_default/config.yaml",
    ];
    for name in hugo_names {
        let path = root.join(name);
        if path.is_file() {
            return hugo(root, &path, &read_config(&path)?).map(Some);
        }
    }
    // `config.toml` (and `.yaml`) are both Zola's and older Hugo's: Zola requires `base_url`,
    // Hugo spells it `baseURL` (any case).
    for name in ["config.toml", "config.yaml", "config.yml", "zola.toml"] {
        let path = root.join(name);
        if path.is_file() {
            let config = read_config(&path)?;
            return if config.get("base_url").is_some() {
                zola(root, &path, &config).map(Some)
            } else {
                hugo(root, &path, &config).map(Some)
            };
        }
    }
    Ok(None)
}

/// A config file (TOML, YAML or JSON by its extension) as one JSON object.
fn read_config(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the site's config", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let value: Value = match ext {
        "toml" => {
            toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))?
        }
        "json" => serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON", path.display()))?,
        _ => serde_norway::from_str(&text)
            .with_context(|| format!("{}: not valid YAML", path.display()))?,
    };
    Ok(match value {
        Value::Object(_) => value,
        // An empty YAML file.
        _ => Value::Object(Default::default()),
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `url` and a path under it joined with one slash.
fn join_url(url: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    if path.is_empty() {
        url.trim_end_matches('/').to_string()
    } else {
        format!("{}/{path}", url.trim_end_matches('/'))
    }
}

/// A pattern in another generator's placeholders, in bloggo's: `map` gives the bloggo
/// placeholder (or literal text, such as `.html` for Jekyll's `:output_ext`) of each known
/// one; `Err` names the first it cannot express.
fn translate(pattern: &str, map: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(at) = rest.find(':') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        if name.is_empty() {
            out.push(':');
        } else {
            match map.iter().find(|(from, _)| *from == name) {
                Some((_, to)) => out.push_str(to),
                None => return Err(format!(":{name}")),
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    Ok(out)
}

const JEKYLL_PLACEHOLDERS: &[(&str, &str)] = &[
    ("year", ":year"),
    ("month", ":month"),
    ("day", ":day"),
    // Jekyll's `:title` is the slug of the file name (or the `slug` key), not the title: the
    // post's slug, which bloggo's `:title` is too (written as `:slug`, the plainer name).
    ("title", ":slug"),
    ("slug", ":slug"),
    ("categories", ":categories"),
    ("output_ext", ".html"),
];

fn jekyll(root: &Path, path: &Path, config: &Value) -> Result<SiteProfile> {
    let mut left_out = Vec::new();
    let base_url = text(config.get("url")).map(|url| {
        let base = text(config.get("baseurl")).unwrap_or_default();
        join_url(&url, &base)
    });
    // Jekyll's named styles, then a pattern of its own; "date" is the default.
    let style = text(config.get("permalink")).unwrap_or_else(|| "date".into());
    let pattern = match style.as_str() {
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "none" => "/:categories/:title:output_ext",
        other => other,
    };
    let mut permalinks = match translate(pattern, JEKYLL_PLACEHOLDERS) {
        Ok(p) => vec![("posts".to_string(), p)],
        Err(what) => {
            left_out.push(format!(
                "permalink {style:?}: bloggo has no {what}; posts keep bloggo's default URLs (set [permalinks] posts by hand)"
            ));
            Vec::new()
        }
    };
    // Collections that Jekyll publishes (`output: true`) are sections, each from its
    // `_<label>` folder, at its `permalink` (Jekyll's default `/:collection/:path:output_ext`).
    let mut collections = Vec::new();
    let mut only = vec!["_posts".to_string(), "_drafts".to_string()];
    let declared: Vec<(String, Value)> = match config.get("collections") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str())
            .map(|k| (k.to_string(), Value::Null))
            .collect(),
        _ => Vec::new(),
    };
    let dir = text(config.get("collections_dir"));
    for (label, c) in declared {
        let own = text(c.get("permalink"));
        if label == "posts" {
            // `collections: posts: permalink:` is the posts' pattern.
            if let Some(p) = own {
                match translate(&p, JEKYLL_PLACEHOLDERS) {
                    Ok(p) => permalinks = vec![("posts".to_string(), p)],
                    Err(what) => left_out.push(format!(
                        "collections.posts.permalink {p:?}: bloggo has no {what}"
                    )),
                }
            }
            continue;
        }
        if let Some(d) = &dir {
            left_out.push(format!(
                "collection {label}: in collections_dir {d:?}, which bloggo does not read; import _{label} by hand"
            ));
            continue;
        }
        if c.get("output").and_then(Value::as_bool) != Some(true) {
            left_out.push(format!(
                "collection {label}: not published by Jekyll (no `output: true`), not imported"
            ));
            continue;
        }
        if !is_bare_key(&label) {
            left_out.push(format!(
                "collection {label:?}: not a name bloggo can make a section of"
            ));
            continue;
        }
        let pattern = own.unwrap_or_else(|| "/:collection/:path:output_ext".into());
        match translate(&pattern, JEKYLL_COLLECTION_PLACEHOLDERS) {
            Ok(p) => permalinks.push((label.clone(), p)),
            Err(what) => left_out.push(format!(
                "collection {label}: its permalink {pattern:?} uses {what}, which bloggo has not; its posts are at /{label}/:slug/"
            )),
        }
        only.push(format!("_{label}"));
        collections.push((format!("_{label}"), label));
    }
    Ok(SiteProfile {
        generator: Generator::Jekyll,
        config: path.to_path_buf(),
        title: text(config.get("title")),
        base_url,
        timezone: text(config.get("timezone")),
        posts: root.to_path_buf(),
        // `_posts` and `_drafts` even when one is missing: a `_drafts` folder removed since
        // the last import is still what `--prune` looks at.
        only,
        collections,
        languages: None,
        permalinks,
        taxonomies: vec!["categories".into(), "tags".into()],
        left_out,
    })
}

/// A collection's placeholders: the posts' and `:collection` (the section), `:path` and
/// `:name` (the document's name: its slug).
const JEKYLL_COLLECTION_PLACEHOLDERS: &[(&str, &str)] = &[
    ("year", ":year"),
    ("month", ":month"),
    ("day", ":day"),
    ("title", ":slug"),
    ("slug", ":slug"),
    ("name", ":slug"),
    ("path", ":slug"),
    ("collection", ":section"),
    ("categories", ":categories"),
    ("output_ext", ".html"),
];

const HUGO_PLACEHOLDERS: &[(&str, &str)] = &[
    ("year", ":year"),
    ("month", ":month"),
    ("day", ":day"),
    ("slug", ":slug"),
    // Hugo's `:title` is the title slugified: bloggo's `:slugified_title` (its `:title` is
    // Jekyll's, the slug).
    ("title", ":slugified_title"),
    ("filename", ":slug"),
    ("slugorfilename", ":slug"),
    ("contentbasename", ":slug"),
    ("section", ":section"),
];

/// Hugo's keys are case-insensitive: the config with its top-level keys lower-cased.
fn lower_keys(config: &Value) -> BTreeMap<String, Value> {
    config
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn hugo(root: &Path, path: &Path, config: &Value) -> Result<SiteProfile> {
    let c = lower_keys(config);
    let mut left_out = Vec::new();
    let content_dir = text(c.get("contentdir")).unwrap_or_else(|| "content".into());
    let mut posts = root.join(&content_dir);

    // A multilingual site: the default language's content folder.
    let default_lang = text(c.get("defaultcontentlanguage")).unwrap_or_else(|| "en".into());
    let mut languages = None;
    if let Some(langs) = c.get("languages").and_then(Value::as_object) {
        let others: Vec<&str> = langs
            .keys()
            .map(String::as_str)
            .filter(|l| !l.eq_ignore_ascii_case(&default_lang))
            .collect();
        let own_dir = langs
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(&default_lang))
            .and_then(|(_, v)| {
                v.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("contentdir"))
                    .and_then(|(_, v)| text(Some(v)))
            });
        if let Some(dir) = own_dir {
            posts = root.join(dir);
        } else if posts.join(&default_lang).is_dir() {
            posts = posts.join(&default_lang);
        }
        if !others.is_empty() {
            left_out.push(format!(
                "languages {}: only the default language ({default_lang}) is imported",
                others.join(", ")
            ));
        }
        languages = Some(Languages {
            default: default_lang.clone(),
            others: others.iter().map(|l| l.to_string()).collect(),
        });
    }

    let ugly = c.get("uglyurls").and_then(Value::as_bool).unwrap_or(false);
    // Each section's pattern (`[permalinks] post = …`, or the newer `[permalinks.page] post =
    // …`); a section without one is at `/<section>/:slug/`, as in bloggo.
    let mut patterns: BTreeMap<String, String> = BTreeMap::new();
    if let Some(table) = c.get("permalinks").and_then(Value::as_object) {
        let table = table
            .get("page")
            .and_then(Value::as_object)
            .unwrap_or(table);
        for (name, v) in table {
            let Some(p) = v.as_str() else { continue };
            if !is_bare_key(name) {
                left_out.push(format!(
                    "permalinks.{name}: not a section name bloggo can key a pattern by"
                ));
                continue;
            }
            match translate(p, HUGO_PLACEHOLDERS) {
                Ok(p) => {
                    patterns.insert(name.clone(), with_ugly(p, ugly));
                }
                Err(what) => left_out.push(format!(
                    "permalinks.{name}: bloggo has no {what}; the section keeps bloggo's default URLs"
                )),
            }
        }
    }
    if ugly {
        for s in top_folders(&posts) {
            if is_bare_key(&s) {
                patterns
                    .entry(s.clone())
                    .or_insert_with(|| with_ugly(format!("/{s}/:slug/"), true));
            }
        }
    }
    let permalinks = patterns.into_iter().collect();
    let taxonomies = match c.get("taxonomies").and_then(Value::as_object) {
        Some(t) => t
            .values()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => vec!["categories".into(), "tags".into()],
    };
    Ok(SiteProfile {
        generator: Generator::Hugo,
        config: path.to_path_buf(),
        title: text(c.get("title")),
        base_url: text(c.get("baseurl")),
        timezone: text(c.get("timezone")),
        posts,
        only: Vec::new(),
        collections: Vec::new(),
        languages,
        permalinks,
        taxonomies,
        left_out,
    })
}

/// Whether a `[permalinks]` key can be written bare in `bloggo.toml`.
fn is_bare_key(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A folder pattern as Hugo writes it with `uglyURLs = true`: `/x/:slug.html`.
fn with_ugly(pattern: String, ugly: bool) -> String {
    if ugly && pattern.ends_with('/') && pattern.len() > 1 {
        format!("{}.html", pattern.trim_end_matches('/'))
    } else {
        pattern
    }
}

/// The sub-folders of a content folder that hold markdown files (its sections), by name.
fn top_folders(content: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(content) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(['.', '_']) {
            continue;
        }
        let has_posts = walkdir::WalkDir::new(e.path())
            .into_iter()
            .flatten()
            .any(|f| f.path().extension().is_some_and(|x| x == "md"));
        if has_posts {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn zola(root: &Path, path: &Path, config: &Value) -> Result<SiteProfile> {
    let mut left_out = Vec::new();
    let default_lang = text(config.get("default_language")).unwrap_or_else(|| "en".into());
    let mut languages = None;
    if let Some(langs) = config.get("languages").and_then(Value::as_object) {
        let others: Vec<&str> = langs
            .keys()
            .map(String::as_str)
            .filter(|l| *l != default_lang)
            .collect();
        if !others.is_empty() {
            left_out.push(format!(
                "languages {}: only the default language ({default_lang}) is imported",
                others.join(", ")
            ));
        }
        // Zola keeps a translation beside its original (`post.fr.md`, `_index.fr.md`).
        languages = Some(Languages {
            default: default_lang.clone(),
            others: others.iter().map(|l| l.to_string()).collect(),
        });
    }
    let taxonomies = match config.get("taxonomies").and_then(Value::as_array) {
        Some(t) => t.iter().filter_map(|t| text(t.get("name"))).collect(),
        None => Vec::new(),
    };
    let posts = root.join("content");
    // Zola puts a page at its folder's path, then its slug (a `path` key overrides it): a
    // section's posts are at `/<section>/:slug/` (bloggo's default for a section), the content
    // root's at `/:slug/`.
    let permalinks = vec![("posts".to_string(), "/:slug/".to_string())];
    Ok(SiteProfile {
        generator: Generator::Zola,
        config: path.to_path_buf(),
        title: text(config.get("title")),
        base_url: text(config.get("base_url")),
        timezone: None,
        posts,
        only: Vec::new(),
        collections: Vec::new(),
        languages,
        permalinks,
        taxonomies,
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern<'a>(p: &'a SiteProfile, key: &str) -> Option<&'a str> {
        p.permalinks
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_folder_without_a_config_is_not_a_site() {
        let d = site(&[("a.md", "# A")]);
        assert_eq!(detect(d.path()).unwrap(), None);
    }

    #[test]
    fn jekyll_default_permalinks_are_the_date_style() {
        let d = site(&[
            (
                "_config.yml",
                "title: Jekyll News\nurl: https://jekyllrb.com\nbaseurl: /blog\ntimezone: America/New_York\n",
            ),
            ("_posts/2024-05-01-hello.md", "---\ntitle: Hello\n---\nHi"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.generator, Generator::Jekyll);
        assert_eq!(p.title.as_deref(), Some("Jekyll News"));
        assert_eq!(p.base_url.as_deref(), Some("https://jekyllrb.com/blog"));
        assert_eq!(p.timezone.as_deref(), Some("America/New_York"));
        let zone = p.settings().into_iter().find(|s| s.key == "timezone");
        assert_eq!(
            zone.map(|s| (s.value, s.replaceable.is_empty())),
            Some(("America/New_York".to_string(), true))
        );
        assert_eq!(p.posts, d.path());
        assert_eq!(p.only, ["_posts", "_drafts"]);
        assert_eq!(
            pattern(&p, "posts"),
            Some("/:categories/:year/:month/:day/:slug.html")
        );
    }

    #[test]
    fn jekyll_collections_that_jekyll_publishes_are_sections() {
        let d = site(&[(
            "_config.yml",
            "collections:\n  recipes:\n    output: true\n  drafts_box:\n    output: false\n  talks:\n    output: true\n    permalink: /speaking/:name/\n  posts:\n    permalink: /blog/:year/:title/\n",
        )]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(
            p.collections,
            [
                ("_recipes".to_string(), "recipes".to_string()),
                ("_talks".into(), "talks".into())
            ]
        );
        assert_eq!(p.only, ["_posts", "_drafts", "_recipes", "_talks"]);
        assert_eq!(pattern(&p, "posts"), Some("/blog/:year/:slug/"));
        assert_eq!(pattern(&p, "recipes"), Some("/:section/:slug.html"));
        assert_eq!(pattern(&p, "talks"), Some("/speaking/:slug/"));
        assert!(
            p.left_out
                .iter()
                .any(|l| l.starts_with("collection drafts_box")),
            "{:?}",
            p.left_out
        );
    }

    #[test]
    fn jekyll_pretty_and_own_patterns_translate_and_unknown_ones_are_listed() {
        let d = site(&[("_config.yml", "permalink: pretty\n")]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(
            pattern(&p, "posts"),
            Some("/:categories/:year/:month/:day/:slug/")
        );
        let d = site(&[("_config.yml", "permalink: /blog/:year/:title/\n")]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(pattern(&p, "posts"), Some("/blog/:year/:slug/"));
        let d = site(&[("_config.yml", "permalink: /:year/:i_month/:title/\n")]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.permalinks, []);
        assert!(p.left_out[0].contains(":i_month"), "{:?}", p.left_out);
    }

    #[test]
    fn hugo_permalinks_of_the_posts_section_and_a_multilingual_default_language() {
        let d = site(&[
            (
                "hugo.toml",
                r#"baseURL = "https://example.org/"
title = "Example"
timeZone = "Europe/Berlin"
defaultContentLanguage = "en"
[permalinks]
post = "/:year/:month/:day/:slug/"
[languages.en]
weight = 1
[languages.de]
weight = 2
"#,
            ),
            ("content/en/post/2024/a.md", "---\ntitle: A\n---\n"),
            ("content/en/post/2024/b.md", "---\ntitle: B\n---\n"),
            ("content/en/about.md", "---\ntitle: About\n---\n"),
            ("content/de/post/a.md", "---\ntitle: A\n---\n"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.generator, Generator::Hugo);
        assert_eq!(p.base_url.as_deref(), Some("https://example.org/"));
        assert_eq!(p.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(p.posts, d.path().join("content/en"));
        assert_eq!(
            p.permalinks,
            [("post".to_string(), "/:year/:month/:day/:slug/".to_string())]
        );
        assert!(p.left_out.iter().any(|l| l.starts_with("languages de")));
        assert_eq!(
            p.languages,
            Some(Languages {
                default: "en".into(),
                others: vec!["de".into()]
            })
        );
    }

    #[test]
    fn hugo_translations_by_file_name_and_its_title_placeholder() {
        let d = site(&[
            (
                "hugo.toml",
                "defaultContentLanguage = \"de\"\n[permalinks]\nposts = \"/:year/:title/\"\n[languages.de]\n[languages.en]\n[languages.fr]\n",
            ),
            ("content/posts/a.md", "---\ntitle: A\n---\n"),
            ("content/posts/a.en.md", "---\ntitle: A\n---\n"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        // No `content/de/`: the translations sit beside the originals.
        assert_eq!(p.posts, d.path().join("content"));
        // Hugo's `:title` is the title slugified; bloggo's is the slug, as Jekyll's.
        assert_eq!(pattern(&p, "posts"), Some("/:year/:slugified_title/"));
        let langs = p.languages.unwrap();
        assert_eq!(langs.default, "de");
        assert_eq!(langs.others, ["en", "fr"]);
        // A site without `[languages]` takes every file name as it is.
        let d = site(&[("hugo.toml", "title = \"One\"\n"), ("content/a.md", "x")]);
        assert_eq!(detect(d.path()).unwrap().unwrap().languages, None);
    }

    #[test]
    fn hugo_ugly_urls_and_the_section_default() {
        let d = site(&[
            (
                "config.toml",
                "baseurl = \"https://x.org\"\nuglyurls = true\n",
            ),
            ("content/blog/a.md", "---\ntitle: A\n---\n"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.generator, Generator::Hugo);
        assert_eq!(pattern(&p, "blog"), Some("/blog/:slug.html"));
    }

    #[test]
    fn zola_is_told_from_hugo_by_base_url() {
        let d = site(&[
            (
                "config.toml",
                "base_url = \"https://zola.example\"\ntitle = \"Z\"\ntaxonomies = [{name = \"tags\"}, {name = \"authors\"}]\n",
            ),
            ("content/blog/_index.md", "+++\ntitle = \"Blog\"\n+++\n"),
            ("content/blog/a.md", "+++\ntitle = \"A\"\n+++\n"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.generator, Generator::Zola);
        assert_eq!(p.base_url.as_deref(), Some("https://zola.example"));
        assert_eq!(p.timezone, None);
        assert_eq!(p.taxonomies, ["tags", "authors"]);
        assert_eq!(pattern(&p, "posts"), Some("/:slug/"));
    }

    #[test]
    fn zola_languages_leave_out_the_translation_files_beside_their_originals() {
        let d = site(&[
            (
                "config.toml",
                "base_url = \"https://zola.example\"\ndefault_language = \"fr\"\n[languages.en]\ntitle = \"E\"\n[languages.de]\n",
            ),
            ("content/blog/a.md", "+++\ntitle = \"A\"\n+++\n"),
            ("content/blog/a.en.md", "+++\ntitle = \"A\"\n+++\n"),
        ]);
        let p = detect(d.path()).unwrap().unwrap();
        assert_eq!(p.generator, Generator::Zola);
        assert_eq!(p.posts, d.path().join("content"));
        let langs = p.languages.unwrap();
        assert_eq!(langs.default, "fr");
        assert_eq!(langs.others, ["de", "en"]);
        assert!(p.left_out.iter().any(|l| l.starts_with("languages de, en")));
        // Without `default_language` Zola's default is `en`, which is not another language.
        let d = site(&[(
            "config.toml",
            "base_url = \"https://zola.example\"\n[languages.en]\n[languages.fr]\n",
        )]);
        let langs = detect(d.path()).unwrap().unwrap().languages.unwrap();
        assert_eq!(
            (langs.default.as_str(), langs.others),
            ("en", vec!["fr".to_string()])
        );
        // A site without `[languages]` takes every file name as it is.
        let d = site(&[("config.toml", "base_url = \"https://zola.example\"\n")]);
        assert_eq!(detect(d.path()).unwrap().unwrap().languages, None);
    }

    #[test]
    fn a_broken_config_names_its_file() {
        let d = site(&[("hugo.toml", "title = \n")]);
        let e = detect(d.path()).unwrap_err();
        assert!(
            format!("{e:#}").contains("hugo.toml: not valid TOML"),
            "{e:#}"
        );
    }
}
