//! `bloggo.toml` and command-line overrides, resolved into one validated `Settings`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::permalinks::{self, Pattern};

/// The name of a site's configuration file.
pub const CONFIG_FILE: &str = "bloggo.toml";
/// The title `bloggo init` gives a site when none is named.
pub const STARTER_TITLE: &str = "My bloggo blog";
/// The base URL `bloggo init` writes: the local preview's.
pub const STARTER_BASE_URL: &str = "http://127.0.0.1:4000";

/// `bloggo.toml` as written. Unknown keys are refused so a typo is not silently ignored;
/// free-form values for templates go under `[extra]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub title: String,
    pub base_url: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub author: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// Posts per listing page (index, categories, tags, authors).
    #[serde(default = "default_paginate")]
    pub paginate: usize,
    /// IANA name (`Europe/Paris`) or fixed offset (`+02:00`); dates without a zone are read in
    /// it and pages show dates in it. UTC when unset.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A theme under `SITE/themes/NAME/`; the embedded default theme when unset.
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub paths: PathsConfig,
    #[serde(default)]
    pub content: ContentConfig,
    #[serde(default)]
    pub urls: UrlsConfig,
    #[serde(default)]
    pub permalinks: PermalinksConfig,
    #[serde(default)]
    pub markdown: MarkdownConfig,
    #[serde(default)]
    pub feed: FeedConfig,
    #[serde(default)]
    pub backup: BackupConfig,
    #[serde(default)]
    pub serve: ServeConfig,
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    #[serde(default, skip_serializing_if = "AnalyticsConfig::is_unset")]
    pub analytics: AnalyticsConfig,
    /// `[[menu]]` entries: the links of the site's header nav.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub menu: Vec<crate::menu::MenuEntry>,
    /// Anything else, passed to templates as `config.extra`.
    #[serde(default)]
    pub extra: toml::Table,
}

fn default_language() -> String {
    "en".into()
}
fn default_paginate() -> usize {
    10
}

/// Where things are, relative to the site folder.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    pub store: PathBuf,
    pub content: PathBuf,
    #[serde(rename = "static")]
    pub static_dir: PathBuf,
    pub output: PathBuf,
    pub templates: PathBuf,
    pub themes: PathBuf,
    /// Post media (page bundle files) copied in by import; each is published beside its post,
    /// at `/posts/<slug>/<file>`.
    pub media: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            store: "bloggo.sqlite".into(),
            content: "content".into(),
            static_dir: "static".into(),
            output: "public".into(),
            templates: "templates".into(),
            themes: "themes".into(),
            media: "media".into(),
        }
    }
}

/// How `content/` and imports are read.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContentConfig {
    /// Sync `content/` into the store at the start of `build` and `serve`.
    pub sync: bool,
    /// Reading speed for `read_time`.
    pub words_per_minute: u32,
    /// Larger markdown files are refused by import.
    pub max_file_size: u64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig {
            sync: true,
            words_per_minute: 200,
            max_file_size: 8 * 1024 * 1024,
        }
    }
}

/// The first path segment of each kind of page.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UrlsConfig {
    /// Posts are at `/<posts>/:slug/` (`posts` when unset); `[permalinks] posts` replaces it.
    pub posts: Option<String>,
    pub categories: String,
    pub tags: String,
    pub authors: String,
    pub archive: String,
    pub page: String,
}

impl Default for UrlsConfig {
    fn default() -> Self {
        UrlsConfig {
            posts: None,
            categories: "categories".into(),
            tags: "tags".into(),
            authors: "authors".into(),
            archive: "archive".into(),
            page: "page".into(),
        }
    }
}

/// `[permalinks]`: URL patterns (see `permalinks`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PermalinksConfig {
    /// The pattern of post URLs, e.g. `/:year/:month/:day/:slug/`.
    pub posts: Option<String>,
    /// The pattern of the posts of a section, by the section's path (`blog`, `notes/rust`);
    /// a section without one puts its posts at `/<section>/:slug/`.
    #[serde(flatten)]
    pub sections: std::collections::BTreeMap<String, String>,
}

/// Markdown rendering.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarkdownConfig {
    /// Highlight fenced code blocks at build time.
    pub highlight: bool,
    /// `css` for class names (the theme styles them) or a syntect theme name for inline styles.
    pub highlight_theme: String,
    pub smart_punctuation: bool,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            highlight: true,
            highlight_theme: "css".into(),
            smart_punctuation: true,
        }
    }
}

/// Feeds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedConfig {
    /// Entries in each feed.
    pub limit: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig { limit: 20 }
    }
}

/// `[backup]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    pub dir: PathBuf,
    /// How often `bloggo serve` takes a backup (`24h`, `6h`, `30m`); none when unset.
    pub interval: Option<String>,
    pub keep_daily: usize,
    pub keep_weekly: usize,
    pub keep_monthly: usize,
    /// The weekday whose daily backup is also kept as weekly.
    pub weekly_day: String,
    /// `backup status` fails when the newest good backup is older than this.
    pub max_age: String,
    /// `"passphrase"`: encrypt backups with the passphrase in `$BLOGGO_BACKUP_PASSPHRASE`.
    pub encrypt: Option<String>,
    /// Encrypt backups to this age public key (`age1…`); decrypting needs its identity file.
    pub recipient: Option<String>,
    /// `[backup.remote]`: off-site copies in S3-compatible storage.
    pub remote: Option<RemoteConfig>,
}

/// `[backup.remote]`: where off-site copies go. Credentials come from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), never from this file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// `s3://bucket/prefix`.
    pub url: String,
    /// The S3-compatible server (`https://s3.example.net`); AWS itself when unset.
    pub endpoint: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: "backups".into(),
            interval: None,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 12,
            weekly_day: "sunday".into(),
            max_age: "26h".into(),
            encrypt: None,
            recipient: None,
            remote: None,
        }
    }
}

/// `[serve]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    pub bind: String,
    pub port: u16,
    /// Request worker threads.
    pub workers: usize,
    /// Longest time a recorded view waits before it is committed.
    pub flush_interval_ms: u64,
    /// Record page views while serving.
    pub record_views: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1".into(),
            port: 4000,
            workers: 8,
            flush_interval_ms: 250,
            record_views: true,
        }
    }
}

/// `[analytics]`: the view beacon of the built site.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Where post pages send a view (`https://stats.example.org/_bloggo/view` or a site
    /// path like `/_bloggo/view`); no beacon script when unset.
    pub beacon: Option<String>,
}

impl AnalyticsConfig {
    fn is_unset(&self) -> bool {
        self.beacon.is_none()
    }
}

/// A beacon URL (`[analytics] beacon`): `http(s)://host/...` or a site path `/...`, without a
/// query or fragment (the script adds `?slug=`), and with nothing that would need escaping
/// in an HTML attribute.
pub fn check_beacon(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let shape_ok = match rest {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => url.starts_with('/') && !url.starts_with("//"),
    };
    if !shape_ok {
        bail!("{url:?} must be an absolute http(s) URL (https://stats.example.org/_bloggo/view) or a site path (/_bloggo/view)");
    }
    if let Some(c) = url.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '?' | '#' | '"' | '\'' | '<' | '>' | '&' | '\\' | '`')
    }) {
        bail!("{url:?} must not contain {c:?} (no query, fragment, quotes or spaces: the script adds ?slug=)");
    }
    Ok(())
}

/// `[webhooks]`: how failed deliveries are retried.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Attempts in all before a delivery is given up (1 to 100).
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each next one (0 retries at
    /// once: for tests).
    pub backoff_seconds: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let r = crate::webhooks::Retry::default();
        WebhooksConfig {
            max_attempts: r.max_attempts,
            backoff_seconds: r.base.as_secs(),
        }
    }
}

/// An address to listen on (`--bind`, `[serve] bind`).
pub fn parse_bind(text: &str) -> Result<std::net::IpAddr> {
    text.parse().with_context(|| {
        format!("{text:?} is not an IP address; use 127.0.0.1 (this machine only) or 0.0.0.0 (every network)")
    })
}

/// A loaded, validated site: its folder, its config and every path resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub root: PathBuf,
    pub config: Config,
    pub store: PathBuf,
    pub content: PathBuf,
    pub static_dir: PathBuf,
    pub output: PathBuf,
    pub templates: PathBuf,
    /// The theme folder on disk, when the site names one.
    pub theme_dir: Option<PathBuf>,
    pub media: PathBuf,
    pub backup_dir: PathBuf,
    pub timezone: Timezone,
    /// `[backup] interval`, parsed.
    pub backup_interval: Option<Duration>,
    /// `[serve] bind`, parsed.
    pub serve_bind: std::net::IpAddr,
    /// `[serve] flush_interval_ms`, checked to be 1 to 1000 ms.
    pub flush_interval: Duration,
    /// Where posts go: `[permalinks] posts`, or `/<[urls] posts>/:slug/`.
    pub post_pattern: Pattern,
    /// Where the posts of a section go, by section path: the other keys of `[permalinks]`.
    pub section_patterns: std::collections::BTreeMap<String, Pattern>,
    /// `[[menu]]`, checked and in order.
    pub menu: Vec<crate::menu::MenuItem>,
    /// `[webhooks]`, checked.
    pub webhook_retry: crate::webhooks::Retry,
}

/// The site's time zone.
#[derive(Debug, Clone, Copy)]
pub enum Timezone {
    Fixed(chrono::FixedOffset),
    Named(chrono_tz::Tz),
}

impl Default for Timezone {
    fn default() -> Self {
        Timezone::utc()
    }
}

impl Timezone {
    pub fn utc() -> Timezone {
        Timezone::Fixed(chrono::FixedOffset::east_opt(0).expect("zero offset"))
    }

    pub fn parse(s: &str) -> Result<Timezone> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Timezone::utc());
        }
        if let Some(off) = parse_offset(t) {
            return Ok(Timezone::Fixed(off));
        }
        match t.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(Timezone::Named(tz)),
            Err(_) => bail!(
                "unknown time zone {t:?}: use an IANA name such as \"Europe/Paris\" or an offset such as \"+02:00\""
            ),
        }
    }

    /// Reads a naive local time in this zone (the earlier instant when ambiguous).
    pub fn to_utc(&self, naive: chrono::NaiveDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::TimeZone;
        match self {
            Timezone::Fixed(o) => o
                .from_local_datetime(&naive)
                .earliest()
                .map(|d| d.with_timezone(&chrono::Utc)),
            Timezone::Named(tz) => tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|d| d.with_timezone(&chrono::Utc)),
        }
    }

    /// The offset in effect at a UTC instant, for showing dates.
    pub fn offset_at(&self, at: chrono::DateTime<chrono::Utc>) -> chrono::FixedOffset {
        use chrono::Offset;
        match self {
            Timezone::Fixed(o) => *o,
            Timezone::Named(tz) => at.with_timezone(tz).offset().fix(),
        }
    }
}

/// `+02:00`, `-0800`, `+02`.
pub fn parse_offset(s: &str) -> Option<chrono::FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Reads a duration such as `24h`, `30m`, `7d`, `90s`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim()).with_context(|| {
        format!("{s:?} is not a duration: write it like \"24h\", \"30m\" or \"7d\"")
    })
}

impl Settings {
    /// Loads `SITE/bloggo.toml` and resolves every path against the site folder.
    pub fn load(site: &Path) -> Result<Settings> {
        let file = site.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{}: no bloggo.toml here; run `bloggo init {}` to create a site, or pass --site DIR",
                file.display(),
                site.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot read", file.display()))
            }
        };
        let config: Config = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
            anyhow::anyhow!(
                "{}:{}:{}: {}; fix the file (see the configuration reference in the guide)",
                file.display(),
                line,
                col,
                e.message()
            )
        })?;
        Settings::from_config(site, config).with_context(|| format!("{}", file.display()))
    }

    /// Resolves and validates a config for a site folder.
    pub fn from_config(site: &Path, config: Config) -> Result<Settings> {
        if config.paginate == 0 {
            bail!("paginate must be at least 1");
        }
        if !base_url_is_valid(&config.base_url) {
            bail!(
                "base_url {:?} must start with http://, https:// or /",
                config.base_url
            );
        }
        let backup_interval = match &config.backup.interval {
            Some(i) => Some(parse_duration(i).context("[backup] interval")?),
            None => None,
        };
        let serve_bind = parse_bind(&config.serve.bind).context("[serve] bind")?;
        if !(1..=1000).contains(&config.serve.flush_interval_ms) {
            bail!(
                "[serve] flush_interval_ms = {} must be between 1 and 1000",
                config.serve.flush_interval_ms
            );
        }
        let flush_interval = Duration::from_millis(config.serve.flush_interval_ms);
        parse_duration(&config.backup.max_age).context("[backup] max_age")?;
        if config.markdown.highlight {
            crate::markdown::validate_highlight_theme(&config.markdown.highlight_theme)
                .map_err(|e| anyhow::anyhow!("[markdown] highlight_theme: {e}"))?;
        }
        crate::config::weekday(&config.backup.weekly_day).context("[backup] weekly_day")?;
        crate::backup::crypt::Method::of(&config.backup)?;
        if let Some(remote) = &config.backup.remote {
            crate::backup::remote::Location::parse(remote).context("[backup.remote] url")?;
        }
        let default_posts = "posts".to_string();
        let posts_segment = config.urls.posts.as_ref().unwrap_or(&default_posts);
        for (key, seg) in [
            ("posts", posts_segment),
            ("categories", &config.urls.categories),
            ("tags", &config.urls.tags),
            ("authors", &config.urls.authors),
            ("archive", &config.urls.archive),
            ("page", &config.urls.page),
        ] {
            if seg.is_empty() || seg.contains(['/', '\\', '?', '#', ' ']) || seg == ".." {
                bail!("[urls] {key} = {seg:?} must be one plain path segment, like \"{key}\"");
            }
        }
        let post_pattern = post_pattern(&config)?;
        let mut section_patterns = section_patterns(&config)?;
        // `[permalinks] posts` is also the pattern of a section named `posts` (a Hugo site's).
        if config.permalinks.posts.is_some() {
            section_patterns
                .entry("posts".to_string())
                .or_insert_with(|| post_pattern.clone());
        }
        let menu = crate::menu::items(&config.menu)?;
        if let Some(beacon) = &config.analytics.beacon {
            check_beacon(beacon).context("[analytics] beacon")?;
        }
        let hooks = &config.webhooks;
        if !(1..=100).contains(&hooks.max_attempts) {
            bail!(
                "[webhooks] max_attempts = {} must be between 1 and 100",
                hooks.max_attempts
            );
        }
        if hooks.backoff_seconds > 3600 {
            bail!(
                "[webhooks] backoff_seconds = {} must be at most 3600 (an hour)",
                hooks.backoff_seconds
            );
        }
        let webhook_retry = crate::webhooks::Retry {
            max_attempts: hooks.max_attempts,
            base: Duration::from_secs(hooks.backoff_seconds),
        };
        let timezone = match &config.timezone {
            Some(t) => Timezone::parse(t).context("timezone")?,
            None => Timezone::utc(),
        };
        let root = site.to_path_buf();
        let at = |p: &Path| root.join(p);
        Ok(Settings {
            store: at(&config.paths.store),
            content: at(&config.paths.content),
            static_dir: at(&config.paths.static_dir),
            output: at(&config.paths.output),
            templates: at(&config.paths.templates),
            theme_dir: config
                .theme
                .as_ref()
                .filter(|t| t.as_str() != "default" || at(&config.paths.themes).join(t).is_dir())
                .map(|t| at(&config.paths.themes).join(t)),
            media: at(&config.paths.media),
            backup_dir: at(&config.backup.dir),
            timezone,
            backup_interval,
            serve_bind,
            flush_interval,
            post_pattern,
            section_patterns,
            menu,
            webhook_retry,
            root,
            config,
        })
    }

    /// The base URL a build of the site uses: `over` (`--base-url`), checked as the one of
    /// the config is, or the config's.
    pub fn build_base_url(&self, over: Option<&str>) -> Result<String> {
        match over {
            Some(url) if !base_url_is_valid(url) => {
                bail!("base URL {url:?} must start with http://, https:// or /")
            }
            Some(url) => Ok(url.to_string()),
            None => Ok(self.config.base_url.clone()),
        }
    }

    /// The site's base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }
}

/// `[permalinks] posts`, checked, or the pattern `[urls] posts` gives.
fn post_pattern(config: &Config) -> Result<Pattern> {
    let Some(text) = &config.permalinks.posts else {
        return Ok(permalinks::default_pattern(
            config.urls.posts.as_deref().unwrap_or("posts"),
        ));
    };
    if config.urls.posts.is_some() {
        bail!(
            "[urls] posts and [permalinks] posts are both set; keep one (`[urls] posts = \"blog\"` is `[permalinks] posts = \"/blog/:slug/\"`)"
        );
    }
    let p =
        Pattern::parse(text).map_err(|e| anyhow::anyhow!("[permalinks] posts = {text:?}: {e}"))?;
    if !p.is_per_post() {
        bail!("[permalinks] posts = {text:?} has neither :slug nor :title, so every post would get the same URL");
    }
    Ok(p)
}

/// The section keys of `[permalinks]`, checked: each a section's folder path and a pattern
/// that gives each post its own URL.
fn section_patterns(config: &Config) -> Result<std::collections::BTreeMap<String, Pattern>> {
    let mut out = std::collections::BTreeMap::new();
    for (section, text) in &config.permalinks.sections {
        if !permalinks::is_section_path(section) {
            bail!("[permalinks] {section:?}: not a section; a key of [permalinks] is `posts` or a section's folder (`blog`, `notes/rust`), without leading or trailing `/`");
        }
        let p = Pattern::parse(text)
            .map_err(|e| anyhow::anyhow!("[permalinks] {section} = {text:?}: {e}"))?;
        if !p.is_per_post() {
            bail!("[permalinks] {section} = {text:?} has neither :slug nor :title, so every post of the section would get the same URL");
        }
        out.insert(section.clone(), p);
    }
    Ok(out)
}

/// Whether a base URL is absolute (`http://`, `https://`) or a path (`/`).
fn base_url_is_valid(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://") || url.starts_with('/')
}

/// `monday` … `sunday` (or their first three letters).
pub fn weekday(s: &str) -> Result<chrono::Weekday> {
    use chrono::Weekday::*;
    let l = s.trim().to_ascii_lowercase();
    let days = [
        ("monday", Mon),
        ("tuesday", Tue),
        ("wednesday", Wed),
        ("thursday", Thu),
        ("friday", Fri),
        ("saturday", Sat),
        ("sunday", Sun),
    ];
    days.iter()
        .find(|(name, _)| l.len() >= 3 && name.starts_with(l.as_str()))
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            anyhow::anyhow!("{s:?} is not a weekday: write monday, tuesday, … or sunday")
        })
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The `bloggo.toml` that `bloggo init` writes.
pub fn starter_config(title: &str) -> String {
    format!(
        r#"# bloggo site configuration. Every key is described in the guide's configuration reference.
title = {title:?}
base_url = "{STARTER_BASE_URL}"
description = "A blog built with bloggo"
author = "Administrator"
language = "en"
paginate = 10
# timezone = "Europe/Paris"
# theme = "default"

[content]
sync = true
words_per_minute = 200

[backup]
keep_daily = 7
keep_weekly = 4
keep_monthly = 12
# interval = "24h"   # bloggo serve takes a backup this often
# encrypt = "passphrase"   # encrypt backups with $BLOGGO_BACKUP_PASSPHRASE (age)
# recipient = "age1..."    # or encrypt them to this public key
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+02:00").unwrap().local_minus_utc(), 7200);
        assert_eq!(parse_offset("-0800").unwrap().local_minus_utc(), -28800);
        assert!(parse_offset("+2500").is_none());
        assert!(parse_offset("0200").is_none());
    }

    #[test]
    fn a_base_url_override_is_checked_like_the_configured_one() {
        let config: Config = toml::from_str("title='a'\nbase_url='https://a.example/'\n").unwrap();
        let s = Settings::from_config(Path::new("/site"), config).unwrap();
        assert_eq!(s.build_base_url(None).unwrap(), "https://a.example/");
        assert_eq!(s.build_base_url(Some("/blog/")).unwrap(), "/blog/");
        assert_eq!(
            s.build_base_url(Some("http://b.example")).unwrap(),
            "http://b.example"
        );
        let e = s.build_base_url(Some("b.example")).unwrap_err();
        assert!(e.to_string().contains("must start with"), "{e}");
    }

    #[test]
    fn beacons_are_absolute_http_urls_or_site_paths_without_a_query() {
        for ok in [
            "https://stats.example.org/_bloggo/view",
            "http://127.0.0.1:4000/_bloggo/view",
            "/_bloggo/view",
        ] {
            assert!(check_beacon(ok).is_ok(), "{ok}");
        }
        for bad in [
            "stats.example.org/_bloggo/view",
            "ftp://x/y",
            "https://",
            "//stats.example.org/v",
            "/v?x=1",
            "/v#x",
            "/a b",
            "/\"><script>",
        ] {
            assert!(check_beacon(bad).is_err(), "{bad}");
        }
        let config: Config =
            toml::from_str("title='a'\nbase_url='/'\n[analytics]\nbeacon='stats.example.org'\n")
                .unwrap();
        let e = format!(
            "{:#}",
            Settings::from_config(Path::new("/site"), config).unwrap_err()
        );
        assert!(e.contains("[analytics] beacon"), "{e}");
    }

    #[test]
    fn weekdays_parse() {
        assert_eq!(weekday("Sunday").unwrap(), chrono::Weekday::Sun);
        assert_eq!(weekday("mon").unwrap(), chrono::Weekday::Mon);
        assert!(weekday("funday").is_err());
    }

    #[test]
    fn starter_config_loads() {
        let c: Config = toml::from_str(&starter_config("T")).unwrap();
        Settings::from_config(Path::new("/tmp/x"), c).unwrap();
    }

    #[test]
    fn an_unknown_highlight_theme_is_refused() {
        let mut c: Config = toml::from_str(&starter_config("T")).unwrap();
        c.markdown.highlight_theme = "Solarized (nope)".into();
        let e = Settings::from_config(Path::new("/tmp/x"), c).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown highlight theme"),
            "{e:#}"
        );
    }

    #[test]
    fn post_patterns_are_checked_once() {
        let load = |extra: &str| {
            let c: Config = toml::from_str(&format!("title='a'\nbase_url='/'\n{extra}")).unwrap();
            Settings::from_config(Path::new("/tmp/x"), c)
        };
        assert_eq!(load("").unwrap().post_pattern.to_string(), "/posts/:slug/");
        assert_eq!(
            load("[urls]\nposts = 'blog'")
                .unwrap()
                .post_pattern
                .to_string(),
            "/blog/:slug/"
        );
        let s = load("[permalinks]\nposts = '/:year/:month/:day/:slug/'").unwrap();
        assert!(!s.post_pattern.is_file());
        let e = load("[permalinks]\nposts = '/:year/:mnth/:slug/'").unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("[permalinks] posts") && e.contains(":mnth"),
            "{e}"
        );
        let e = load("[urls]\nposts = 'blog'\n[permalinks]\nposts = '/:slug/'").unwrap_err();
        assert!(format!("{e:#}").contains("both set"), "{e:#}");
        let e = load("[permalinks]\nposts = '/:year/'").unwrap_err();
        assert!(
            format!("{e:#}").contains("neither :slug nor :title"),
            "{e:#}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<Config>("title='a'\nbase_url='/'\npaginat=3\n").unwrap_err();
        assert!(e.message().contains("paginat"), "{}", e.message());
    }
}
