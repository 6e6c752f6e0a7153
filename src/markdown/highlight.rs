//! Server-side highlighting of fenced code blocks with syntect, and the stylesheet for the
//! class-based mode.
//!
//! The syntax and theme sets are loaded once per process. Highlighted blocks are cached by a
//! hash of (theme, language, code) in a process-wide sharded cache, so a block that appears in
//! many posts (or in every rebuild of `bloggo serve`) is highlighted once.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, LazyLock, Mutex};

use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::html::{
    append_highlighted_html_for_styled_line, css_for_theme_with_class_style, ClassStyle,
    ClassedHTMLGenerator, IncludeBackground,
};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

/// `highlight_theme` value that selects class names (styled by `syntax.css`) over inline styles.
pub const CSS_THEME: &str = "css";

/// Prefix of every class name syntect writes in the class-based mode (`hl-keyword`, ...).
pub const CLASS_PREFIX: &str = "hl-";
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed {
    prefix: CLASS_PREFIX,
};

/// The syntect themes `syntax.css` is generated from.
pub const LIGHT_CSS_THEME: &str = "InspiredGitHub";
pub const DARK_CSS_THEME: &str = "base16-ocean.dark";

/// Blocks larger than this are not highlighted (syntect's regex engine is superlinear on some
/// pathological inputs, such as megabyte-long minified lines); they are shown as plain code.
const MAX_HIGHLIGHT_BYTES: usize = 256 * 1024;
const MAX_HIGHLIGHT_LINE: usize = 16 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
static THEMES: LazyLock<ThemeSet> = LazyLock::new(ThemeSet::load_defaults);

/// Loads the syntax definitions (tens of milliseconds) on a thread of its own, so a build that
/// renders a post with code does not wait for them after reading the store.
pub fn warm_up() {
    std::thread::spawn(|| LazyLock::force(&SYNTAXES));
}

/// Names of the syntect themes usable as `highlight_theme` for inline styles.
pub fn theme_names() -> Vec<&'static str> {
    THEMES.themes.keys().map(String::as_str).collect()
}

/// Checks a `[markdown] highlight_theme` value: `css`, or the name of a built-in syntect theme.
pub fn validate_highlight_theme(name: &str) -> Result<(), String> {
    if name == CSS_THEME || THEMES.themes.contains_key(name) {
        return Ok(());
    }
    Err(format!(
        "unknown highlight theme `{name}`: use `{CSS_THEME}` (class names, styled by the theme's \
         syntax.css) or one of {}",
        theme_names()
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The stylesheet for class-based highlighting: a light theme, and a dark one under
/// `prefers-color-scheme: dark`. `themes/default/static/syntax.css` is this text.
pub fn syntax_css() -> String {
    let mut css = String::from(
        "/* Code highlighting for bloggo's `highlight_theme = \"css\"` (class names `hl-*`).\n \
         * Generated from syntect themes by `bloggo::markdown::syntax_css()`; do not edit. */\n",
    );
    for (scheme, name) in [("light", LIGHT_CSS_THEME), ("dark", DARK_CSS_THEME)] {
        let rules = css_for_theme_with_class_style(&THEMES.themes[name], CLASS_STYLE)
            .expect("class-style CSS of a built-in theme");
        let _ = writeln!(css, "\n@media (prefers-color-scheme: {scheme}) {{");
        // The block's background is the theme's (`--code-bg` in style.css): the syntect
        // theme's own (white on GitHub) would hide it in light mode.
        let mut in_code = false;
        for line in rules.lines() {
            if line.starts_with(".hl-code {") {
                in_code = true;
            } else if line.starts_with('}') {
                in_code = false;
            }
            if in_code && line.trim_start().starts_with("background-color:") {
                continue;
            }
            if line.is_empty() {
                css.push('\n');
            } else {
                let _ = writeln!(css, "  {line}");
            }
        }
        css.push_str("}\n");
    }
    css
}

/// Common fence names that are not a syntax's name or file extension in syntect's set.
fn alias(lang: &str) -> &str {
    match lang.to_ascii_lowercase().as_str() {
        "sh" | "shell" | "zsh" | "console" | "shell-session" | "bash" => "bash",
        "c++" => "cpp",
        "c#" | "csharp" => "cs",
        "py" | "python3" => "python",
        "rs" => "rust",
        "js" | "javascript" | "node" => "js",
        "yml" => "yaml",
        "md" => "markdown",
        "golang" => "go",
        "html" | "xhtml" | "htm" => "html",
        _ => lang,
    }
}

fn find_syntax(lang: &str) -> Option<&'static SyntaxReference> {
    let ss = &*SYNTAXES;
    let lang = alias(lang);
    ss.find_syntax_by_token(lang)
        .or_else(|| ss.find_syntax_by_extension(&lang.to_ascii_lowercase()))
        .filter(|s| s.name != "Plain Text")
}

/// The HTML of one fenced code block: `<pre><code class="language-LANG">…</code></pre>`,
/// highlighted when `theme` is `Some` (`css` or a syntect theme name) and the language is
/// known, else escaped plain text. Never fails: highlighting problems fall back to plain text.
pub fn code_block(lang: &str, code: &str, theme: Option<&str>) -> Arc<str> {
    let Some(theme) = theme else {
        return plain(lang, code).into();
    };
    let key = cache_key(theme, lang, code);
    if let Some(hit) = CACHE.get(&key) {
        return hit;
    }
    let html: Arc<str> = highlighted(lang, code, theme)
        .unwrap_or_else(|| plain(lang, code))
        .into();
    CACHE.insert(key, html.clone());
    html
}

/// The key [`code_block`] caches a highlighted block under.
pub fn block_key(theme: &str, lang: &str, code: &str) -> [u8; 32] {
    cache_key(theme, lang, code)
}

/// Caches a block's HTML highlighted by an earlier run (see `markdown::remember_code`).
pub fn remember(key: [u8; 32], html: &str) {
    if CACHE.get(&key).is_none() {
        CACHE.insert(key, html.into());
    }
}

fn highlighted(lang: &str, code: &str, theme: &str) -> Option<String> {
    if lang.is_empty()
        || code.len() > MAX_HIGHLIGHT_BYTES
        || code.lines().any(|l| l.len() > MAX_HIGHLIGHT_LINE)
    {
        return None;
    }
    let syntax = find_syntax(lang)?;
    // A grammar bug must not take the build down: the block is then shown unhighlighted.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if theme == CSS_THEME {
            classed(syntax, lang, code)
        } else {
            inline(syntax, THEMES.themes.get(theme)?, lang, code)
        }
    }))
    .ok()
    .flatten()
}

fn classed(syntax: &SyntaxReference, lang: &str, code: &str) -> Option<String> {
    let mut gen = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        gen.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    let body = gen.finalize();
    let mut html = String::with_capacity(body.len() + 64);
    let _ = write!(
        html,
        "<pre class=\"{CLASS_PREFIX}code\"><code class=\"language-{}\">",
        escape(lang)
    );
    html.push_str(&body);
    html.push_str("</code></pre>\n");
    Some(html)
}

fn inline(syntax: &SyntaxReference, theme: &Theme, lang: &str, code: &str) -> Option<String> {
    let bg = theme
        .settings
        .background
        .unwrap_or(syntect::highlighting::Color::WHITE);
    let fg = theme
        .settings
        .foreground
        .unwrap_or(syntect::highlighting::Color::BLACK);
    let mut html = String::with_capacity(code.len() * 4 + 64);
    let _ = write!(
        html,
        "<pre style=\"background-color:#{:02x}{:02x}{:02x};color:#{:02x}{:02x}{:02x};\">\
         <code class=\"language-{}\">",
        bg.r,
        bg.g,
        bg.b,
        fg.r,
        fg.g,
        fg.b,
        escape(lang)
    );
    let mut h = HighlightLines::new(syntax, theme);
    for line in LinesWithEndings::from(code) {
        let regions = h.highlight_line(line, &SYNTAXES).ok()?;
        append_highlighted_html_for_styled_line(
            &regions,
            IncludeBackground::IfDifferent(bg),
            &mut html,
        )
        .ok()?;
    }
    html.push_str("</code></pre>\n");
    Some(html)
}

/// Unhighlighted code, as pulldown-cmark writes it.
fn plain(lang: &str, code: &str) -> String {
    let mut html = String::with_capacity(code.len() + 48);
    if lang.is_empty() {
        html.push_str("<pre><code>");
    } else {
        let _ = write!(html, "<pre><code class=\"language-{}\">", escape(lang));
    }
    html.push_str(&escape(code));
    html.push_str("</code></pre>\n");
    html
}

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out.into()
}

type Key = [u8; 32];

fn cache_key(theme: &str, lang: &str, code: &str) -> Key {
    let mut h = blake3::Hasher::new();
    for part in [theme, lang, code] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    *h.finalize().as_bytes()
}

/// Process-wide cache of highlighted blocks. Sharded so rayon workers rarely wait on each
/// other; each shard is bounded in bytes and simply emptied when full, so memory stays bounded
/// on huge sites with a lot of distinct code.
struct Cache {
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Key, Arc<str>>,
    bytes: usize,
}

const SHARDS: usize = 16;
const CACHE_BYTES: usize = 64 * 1024 * 1024;

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache {
    shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
});

impl Cache {
    fn shard(&self, key: &Key) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while holding the lock cannot leave a shard inconsistent (inserts are
        // single calls), so a poisoned shard is still usable.
        self.shards[key[0] as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Arc<str>> {
        self.shard(key).map.get(key).cloned()
    }

    fn insert(&self, key: Key, html: Arc<str>) {
        let mut shard = self.shard(&key);
        if shard.bytes + html.len() > CACHE_BYTES / SHARDS {
            shard.map.clear();
            shard.bytes = 0;
        }
        shard.bytes += html.len();
        if let Some(old) = shard.map.insert(key, html) {
            shard.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classed_highlighting_uses_prefixed_classes() {
        let html = code_block("rust", "fn main() {}\n", Some("css"));
        assert!(
            html.starts_with("<pre class=\"hl-code\"><code class=\"language-rust\">"),
            "{html}"
        );
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(html.contains("main"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn inline_highlighting_uses_the_theme_colours() {
        let html = code_block(
            "python",
            "def f(x):\n    return x\n",
            Some("InspiredGitHub"),
        );
        assert!(
            html.starts_with("<pre style=\"background-color:#ffffff;"),
            "{html}"
        );
        assert!(html.contains("<span style=\"color:#"), "{html}");
        assert!(html.contains("<code class=\"language-python\">"), "{html}");
    }

    #[test]
    fn unknown_or_missing_language_is_escaped_plain_code() {
        assert_eq!(
            &*code_block("no-such-lang", "a < b && \"c\"", Some("css")),
            "<pre><code class=\"language-no-such-lang\">a &lt; b &amp;&amp; &quot;c&quot;</code></pre>\n"
        );
        assert_eq!(
            &*code_block("", "<x>", Some("css")),
            "<pre><code>&lt;x&gt;</code></pre>\n"
        );
        assert_eq!(
            &*code_block("rust", "<x>", None),
            "<pre><code class=\"language-rust\">&lt;x&gt;</code></pre>\n"
        );
    }

    #[test]
    fn hostile_language_names_are_escaped() {
        let html = code_block("\"><script>", "x", Some("css"));
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn common_aliases_resolve() {
        for lang in [
            "sh", "shell", "console", "py", "rs", "js", "yml", "c++", "golang",
        ] {
            assert!(find_syntax(lang).is_some(), "{lang}");
        }
        assert!(find_syntax("text").is_none());
    }

    #[test]
    fn highlighted_blocks_are_cached_and_identical() {
        let code = "let cached = 42; // unique to this test\n";
        let a = code_block("rust", code, Some("css"));
        let b = code_block("rust", code, Some("css"));
        assert!(Arc::ptr_eq(&a, &b));
        let other = code_block("rust", code, Some("base16-ocean.dark"));
        assert_ne!(a, other);
    }

    #[test]
    fn cache_shards_stay_bounded() {
        let cache = Cache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        };
        let big: Arc<str> = "x".repeat(CACHE_BYTES / SHARDS / 3 + 1).into();
        for i in 0..10u8 {
            let mut key = [0u8; 32];
            key[1] = i;
            cache.insert(key, big.clone());
            assert!(cache.shards[0].lock().unwrap().bytes <= CACHE_BYTES / SHARDS);
        }
        let mut key = [0u8; 32];
        key[1] = 9;
        assert!(cache.get(&key).is_some());
    }

    #[test]
    fn theme_validation_lists_the_names() {
        assert!(validate_highlight_theme("css").is_ok());
        assert!(validate_highlight_theme("Solarized (dark)").is_ok());
        let err = validate_highlight_theme("monokai-ish").unwrap_err();
        assert!(
            err.contains("monokai-ish") && err.contains("`InspiredGitHub`"),
            "{err}"
        );
    }

    #[test]
    fn huge_blocks_are_not_highlighted() {
        let code = "x".repeat(MAX_HIGHLIGHT_LINE + 1);
        let html = code_block("rust", &code, Some("css"));
        assert!(html.starts_with("<pre><code class=\"language-rust\">"));
    }

    #[test]
    fn the_shipped_stylesheet_is_up_to_date() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/themes/default/static/syntax.css"
        );
        let expected = syntax_css();
        if std::env::var_os("BLOGGO_UPDATE_SYNTAX_CSS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let shipped = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            shipped == expected,
            "{path} is out of date: run `BLOGGO_UPDATE_SYNTAX_CSS=1 cargo test --lib markdown`"
        );
        assert!(expected.contains("@media (prefers-color-scheme: dark)"));
        assert!(expected.contains(".hl-code {"));
        // Code blocks keep the theme's background (issue 20's first defect).
        let code_rule = expected.split(".hl-code {").nth(1).unwrap();
        let code_rule = &code_rule[..code_rule.find('}').unwrap()];
        assert!(!code_rule.contains("background-color"), "{code_rule}");
    }
}
