//! Themes and templates: the only module that uses tera.
//!
//! The default theme is embedded in the binary. A site may pick `theme = "NAME"`
//! (`SITE/themes/NAME/templates/` and `static/`) and override any single template by placing a
//! file of the same name in `SITE/templates/`. Errors name the template, the line and the cause.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use tera::{Context, Tera};

use crate::config::Settings;

pub use tera::Context as TemplateContext;

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../themes/default/templates/", $name)))),*]
    };
}

/// The default theme's templates, embedded.
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = embed!(
    "base.html",
    "macros.html",
    "index.html",
    "post.html",
    "page.html",
    "categories.html",
    "category.html",
    "tags.html",
    "tag.html",
    "archive.html",
    "author.html",
    "section.html",
    "404.html",
    "alias.html",
    "atom.xml",
    "rss.xml",
    "sitemap.xml",
);

/// The default theme's static files, embedded.
pub const DEFAULT_STATIC: &[(&str, &[u8])] = &[
    (
        "style.css",
        include_bytes!("../themes/default/static/style.css"),
    ),
    (
        "syntax.css",
        include_bytes!("../themes/default/static/syntax.css"),
    ),
];

/// Where a static file of the theme or site comes from.
#[derive(Debug, Clone)]
pub enum StaticSource {
    Embedded(&'static [u8]),
    File(PathBuf),
}

/// One compiled set of templates, shared read-only by every render job.
pub struct Templates {
    tera: Tera,
    /// name → (where it came from, its text), for error lines.
    sources: HashMap<String, (String, String)>,
    /// What `abs_url` puts before a path.
    origin: String,
}

fn template_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.with_context(|| format!("{}: cannot list templates", dir.display()))?;
        if !e.file_type().is_file() {
            continue;
        }
        let name = e.path().strip_prefix(dir).unwrap_or(e.path());
        let name = name.to_string_lossy().replace('\\', "/");
        if name.starts_with('.') || name.ends_with('~') || name.contains("/.") {
            continue;
        }
        out.push((name, e.path().to_path_buf()));
    }
    Ok(out)
}

impl Templates {
    /// The embedded default theme, then the site's theme, then `SITE/templates/` overrides.
    pub fn load(settings: &Settings) -> Result<Templates> {
        let mut all: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (name, text) in DEFAULT_TEMPLATES {
            all.insert(
                name.to_string(),
                (format!("default theme {name}"), text.to_string()),
            );
        }
        let mut dirs = Vec::new();
        if let Some(t) = &settings.theme_dir {
            if !t.is_dir() {
                anyhow::bail!(
                    "theme {:?}: no folder {}; create it or remove `theme` from bloggo.toml",
                    settings.config.theme.as_deref().unwrap_or(""),
                    t.display()
                );
            }
            dirs.push(t.join("templates"));
        }
        dirs.push(settings.templates.clone());
        for dir in dirs {
            for (name, path) in template_files(&dir)? {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("{}: cannot read template", path.display()))?;
                all.insert(name, (path.display().to_string(), text));
            }
        }
        Templates::from_sources(all)
    }

    /// Compiles named templates (name → (origin, text)).
    pub fn from_sources(all: BTreeMap<String, (String, String)>) -> Result<Templates> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        tera.set_escape_fn(escape);
        tera.register_filter("abs_url", AbsUrl { origin: None });
        if let Err(e) =
            tera.add_raw_templates(all.iter().map(|(n, (_, t))| (n.as_str(), t.as_str())))
        {
            let name = all
                .keys()
                .find(|n| {
                    e.to_string().contains(&format!("'{n}'"))
                        || e.to_string().contains(&format!("\"{n}\""))
                })
                .cloned();
            let origin = name
                .as_ref()
                .and_then(|n| all.get(n))
                .map(|(o, _)| o.clone())
                .unwrap_or_else(|| "templates".into());
            anyhow::bail!("template {origin}: {}", chain(&e));
        }
        let sources = all.into_iter().collect();
        Ok(Templates {
            tera,
            sources,
            origin: String::new(),
        })
    }

    /// Sets the origin (`https://host`) the `abs_url` filter puts before a path.
    pub fn set_origin(&mut self, origin: &str) {
        self.origin = origin.to_string();
        self.tera.register_filter(
            "abs_url",
            AbsUrl {
                origin: Some(origin.to_string()),
            },
        );
    }

    /// A digest of every template (name and text) and of the `abs_url` origin: a page made
    /// with other templates must be made again.
    pub fn digest(&self) -> blake3::Hash {
        let mut names: Vec<&String> = self.sources.keys().collect();
        names.sort();
        let mut h = blake3::Hasher::new();
        for n in names {
            for part in [n.as_str(), self.sources[n].1.as_str()] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        h.update(self.origin.as_bytes());
        h.finalize()
    }

    /// Whether any template's text contains `word` (a variable or function name).
    pub fn mention(&self, word: &str) -> bool {
        self.sources.values().any(|(_, t)| t.contains(word))
    }

    pub fn has(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    /// Renders a template; the error names the template, the line when it can be found, and
    /// the whole cause chain.
    pub fn render(&self, name: &str, ctx: &Context) -> Result<String, String> {
        self.tera.render(name, ctx).map_err(|e| {
            let msg = chain(&e);
            let mut at = self.origin(name);
            if let Some((tpl, line)) = self.locate(name, &msg) {
                at = format!("{} line {line}", self.origin(&tpl));
            }
            format!("template {at}: {msg}")
        })
    }

    fn origin(&self, name: &str) -> String {
        self.sources
            .get(name)
            .map(|(o, _)| o.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// tera's render errors carry no line: find the first line of the template (or one it
    /// extends or includes) that uses the name the error quotes.
    fn locate(&self, name: &str, msg: &str) -> Option<(String, usize)> {
        let quoted: Vec<&str> = msg
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| !s.is_empty() && s.len() < 200)
            .collect();
        let mut names = vec![name.to_string()];
        // Templates named in the message, then the ones this template extends or includes.
        for n in msg.split('\'').skip(1).step_by(2) {
            if self.sources.contains_key(n) && !names.iter().any(|x| x == n) {
                names.push(n.to_string());
            }
        }
        let mut i = 0;
        while i < names.len() {
            if let Some((_, text)) = self.sources.get(&names[i]) {
                for cap in text.split('"').skip(1).step_by(2) {
                    if self.sources.contains_key(cap) && !names.iter().any(|x| x == cap) {
                        names.push(cap.to_string());
                    }
                }
            }
            i += 1;
        }
        for q in &quoted {
            for n in &names {
                let (_, text) = self.sources.get(n)?;
                if let Some(l) = text.lines().position(|l| l.contains(q)) {
                    return Some((n.clone(), l + 1));
                }
            }
        }
        None
    }
}

/// Escapes text for HTML and XML (tera's default also escapes `/`, which makes URLs unreadable).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8 + 8);
    // Runs of plain text are copied whole; the five special characters are ASCII, so every
    // slice boundary is a character boundary.
    let mut plain_from = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        o.push_str(&s[plain_from..i]);
        o.push_str(entity);
        plain_from = i + 1;
    }
    o.push_str(&s[plain_from..]);
    o
}

/// Text as XML 1.0 allows it. XML forbids the C0 control characters but tab, newline and
/// carriage return, and U+FFFE and U+FFFF (a Rust string holds no lone surrogate): one of them
/// anywhere makes a feed "not well-formed" for every reader. Form feed and vertical tab become
/// a space (they separate words); the others are dropped. Borrowed when there is none, which is
/// nearly always.
pub fn xml_text(s: &str) -> std::borrow::Cow<'_, str> {
    fn forbidden(c: char) -> bool {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }
    if !s.chars().any(forbidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .filter_map(|c| match c {
            '\u{0B}' | '\u{0C}' => Some(' '),
            c if forbidden(c) => None,
            c => Some(c),
        })
        .collect()
}

/// The error and every cause under it, joined by `: `.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            let _ = write!(s, ": {t}");
        }
        src = c.source();
    }
    s
}

/// `{{ path | abs_url }}`: the absolute URL of a site path.
struct AbsUrl {
    origin: Option<String>,
}

impl tera::Filter for AbsUrl {
    fn filter(
        &self,
        value: &tera::Value,
        _args: &HashMap<String, tera::Value>,
    ) -> tera::Result<tera::Value> {
        let s = tera::try_get_value!("abs_url", "value", String, value);
        if s.contains("://") {
            return Ok(tera::Value::String(s));
        }
        let o = self.origin.as_deref().unwrap_or("");
        Ok(tera::Value::String(format!("{o}{s}")))
    }
}

/// The theme's and the site's static files (site files win), relative path → source.
pub fn static_files(settings: &Settings) -> Result<BTreeMap<String, StaticSource>> {
    let mut out = BTreeMap::new();
    match &settings.theme_dir {
        Some(t) => add_dir(&mut out, &t.join("static"))?,
        None => {
            for (name, bytes) in DEFAULT_STATIC {
                out.insert(name.to_string(), StaticSource::Embedded(bytes));
            }
        }
    }
    add_dir(&mut out, &settings.static_dir)?;
    Ok(out)
}

fn add_dir(out: &mut BTreeMap<String, StaticSource>, dir: &Path) -> Result<()> {
    for (name, path) in template_files(dir)? {
        out.insert(name, StaticSource::File(path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, text: &str) -> Result<Templates> {
        let mut m = BTreeMap::new();
        m.insert(name.to_string(), (name.to_string(), text.to_string()));
        Templates::from_sources(m)
    }

    #[test]
    fn escape_replaces_the_five_special_characters_and_keeps_the_rest() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jérôme's 🦀</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jérôme&#39;s 🦀&lt;/a&gt;"
        );
        assert_eq!(escape(""), "");
        assert_eq!(escape("&"), "&amp;");
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn xml_text_drops_what_xml_forbids_and_keeps_the_rest() {
        assert!(matches!(
            xml_text("plain\ttext\r\n é 🦀"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            xml_text("a\u{0C}b\u{0B}c\u{01}d\u{1F}e\u{0}f\u{FFFE}g\u{FFFF}h\u{FFFD}\u{7F}"),
            "a b cdefgh\u{FFFD}\u{7F}"
        );
    }

    #[test]
    fn the_default_theme_compiles() {
        let m = DEFAULT_TEMPLATES
            .iter()
            .map(|(n, t)| (n.to_string(), (n.to_string(), t.to_string())))
            .collect();
        Templates::from_sources(m).unwrap();
    }

    #[test]
    fn a_syntax_error_names_template_and_line() {
        let e = one("post.html", "a\nb\n{% if %}\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("post.html"), "{e}");
        assert!(e.contains("3:"), "{e}");
    }

    #[test]
    fn a_render_error_names_template_and_line() {
        let t = one("post.html", "a\nb\n{{ post.nope | upper }}\n").unwrap();
        let e = t.render("post.html", &Context::new()).unwrap_err();
        assert!(e.contains("post.html line 3"), "{e}");
        assert!(e.contains("post.nope"), "{e}");
    }
}
