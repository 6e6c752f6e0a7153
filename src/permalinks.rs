//! Post URL patterns: `[permalinks] posts = "/:year/:month/:day/:slug/"` and a post's own
//! `path`/`permalink`/`url` front-matter key, parsed once ([`Pattern::parse`], which names an
//! unknown placeholder) and expanded for one post ([`Pattern::expand`]) into where its page
//! goes ([`Location`]). Pure: the snapshot places posts with it, import checks with it that no
//! two posts share a URL.
//!
//! Placeholders: `:year`, `:month`, `:day` (the post's date in the site's time zone), `:slug`,
//! `:title` (the post's slug too, as Jekyll's `:title` is the slug of the file name, so a
//! Jekyll `permalink:` copied into `bloggo.toml` gives Jekyll's URLs), `:slugified_title` (the
//! title, slugified, as Hugo's `:title`), `:categories` (the post's first category path,
//! slugified: `programming/rust`), `:section` (the post's section: `blog`, empty outside one)
//! and `:output_ext` (`.html`). Empty values
//! leave no empty segment behind. A pattern whose last segment ends in `.html` gives a file
//! URL (`/2024/05/01/hello.html`); any other a folder with an `index.html`.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::config::Timezone;
use crate::frontmatter::slug::slugify;

/// The placeholders a pattern may use.
pub const PLACEHOLDERS: &[&str] = &[
    "year",
    "month",
    "day",
    "slug",
    "title",
    "slugified_title",
    "categories",
    "section",
    "output_ext",
];

/// The pattern of posts when `[permalinks] posts` is not set: `/<[urls] posts>/:slug/`.
pub fn default_pattern(posts_segment: &str) -> Pattern {
    Pattern::parse(&format!("/{posts_segment}/:slug/"))
        .expect("a plain path segment and :slug make a pattern")
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unknown placeholder :{0}; use {list}", list = known_list())]
    Unknown(String),
    #[error("{0:?} cannot be part of a URL path (no `.` or `..` segments, `?`, `#`, `\\`, quotes, `<`, `>` or spaces)")]
    Unsafe(String),
    #[error("it is empty or the site root; a post needs a path of its own")]
    Empty,
}

fn known_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!(":{p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year,
    Month,
    Day,
    Slug,
    /// Jekyll's `:title`: the post's slug.
    Title,
    SlugifiedTitle,
    Categories,
    Section,
    OutputExt,
}

impl Default for Pattern {
    fn default() -> Pattern {
        default_pattern("posts")
    }
}

/// A parsed URL pattern (a plain path is a pattern without placeholders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    pieces: Vec<Piece>,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a post gives a pattern.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// The post's date in the site's time zone.
    pub date: NaiveDate,
    /// A usable URL segment.
    pub slug: &'a str,
    /// The title as written (slugified here for `:slugified_title`).
    pub title: &'a str,
    /// The first category's path, its names slugified and joined by `/` (empty without one).
    pub categories: &'a str,
    pub section: &'a str,
}

/// The day of an instant in the site's time zone: a post's [`Keys::date`]. As Hugo and Jekyll
/// do, a post written at 22:02 -04:00 on the 1st in a `-04:00` site is on the 1st, though it
/// is the 2nd in UTC.
pub fn local_date(at: DateTime<Utc>, zone: &Timezone) -> NaiveDate {
    at.with_timezone(&zone.offset_at(at)).date_naive()
}

/// Where a post's page goes, relative to the site root (no leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The folder of the page (its media go there; empty for a file at the root).
    pub dir: String,
    /// The output file (`2024/05/01/hello/index.html`, `2024/05/01/hello.html`).
    pub file: String,
    /// The URL path below the site root (`2024/05/01/hello/`, `2024/05/01/hello.html`).
    pub url: String,
}

impl Pattern {
    /// Reads a pattern, refusing unknown placeholders and unsafe text.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text.trim();
        while let Some(at) = rest.find(':') {
            lit.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                lit.push(':');
                rest = after;
                continue;
            }
            let piece = match &after[..len] {
                "year" => Piece::Year,
                "month" => Piece::Month,
                "day" => Piece::Day,
                "slug" => Piece::Slug,
                "title" => Piece::Title,
                "slugified_title" => Piece::SlugifiedTitle,
                "categories" => Piece::Categories,
                "section" => Piece::Section,
                "output_ext" => Piece::OutputExt,
                other => return Err(PatternError::Unknown(other.to_string())),
            };
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
            }
            pieces.push(piece);
            rest = &after[len..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        for p in &pieces {
            if let Piece::Text(t) = p {
                check_text(t)?;
            }
        }
        let pattern = Pattern {
            text: text.trim().to_string(),
            pieces,
        };
        if pattern.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
            && pattern.text.split('/').all(|s| s.is_empty())
        {
            return Err(PatternError::Empty);
        }
        Ok(pattern)
    }

    /// Whether every post gets a URL of its own from it (it names the slug or the title).
    pub fn is_per_post(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Slug | Piece::Title | Piece::SlugifiedTitle))
    }

    /// Whether it names the post's categories (`:categories`).
    pub fn uses_categories(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Categories))
    }

    /// Whether it gives a URL ending in `.html`.
    pub fn is_file(&self) -> bool {
        match self.pieces.last() {
            Some(Piece::OutputExt) => true,
            Some(Piece::Text(t)) => t.ends_with(".html"),
            _ => false,
        }
    }

    /// Where a post with these keys goes; `None` when the values leave nothing (an empty
    /// path).
    pub fn expand(&self, k: &Keys) -> Option<Location> {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Year => s.push_str(&format!("{:04}", k.date.year())),
                Piece::Month => s.push_str(&format!("{:02}", k.date.month())),
                Piece::Day => s.push_str(&format!("{:02}", k.date.day())),
                Piece::Slug => s.push_str(k.slug),
                Piece::Title => s.push_str(k.slug),
                Piece::SlugifiedTitle => s.push_str(&slugify(k.title)),
                Piece::Categories => s.push_str(k.categories),
                Piece::Section => s.push_str(k.section),
                Piece::OutputExt => s.push_str(".html"),
            }
        }
        let segs: Vec<&str> = s.split('/').filter(|x| !x.is_empty()).collect();
        let (last, parents) = segs.split_last()?;
        if segs.iter().any(|x| *x == "." || *x == "..") {
            return None;
        }
        Some(if self.is_file() && last.len() > ".html".len() {
            let dir = parents.join("/");
            let file = segs.join("/");
            Location {
                dir,
                url: file.clone(),
                file,
            }
        } else {
            let dir = segs.join("/");
            Location {
                file: format!("{dir}/index.html"),
                url: format!("{dir}/"),
                dir,
            }
        })
    }
}

/// Where a post goes: its own path (`own`, when it reads and leaves a path), else `site`'s
/// pattern, else the default one.
pub fn locate(site: &Pattern, own: Option<&str>, keys: &Keys) -> Location {
    own.and_then(|text| Pattern::parse(text).ok()?.expand(keys))
        .or_else(|| site.expand(keys))
        .or_else(|| default_pattern("posts").expand(keys))
        .expect("the default pattern always gives a path")
}

/// The pattern that places a post in `section` (none: `posts`, the site's pattern): the
/// section's `[permalinks]` key, else `/<section>/:slug/` (as Zola and Hugo place a
/// section's pages).
pub fn pattern_of<'a>(
    posts: &'a Pattern,
    sections: &'a std::collections::BTreeMap<String, Pattern>,
    section: Option<&str>,
) -> std::borrow::Cow<'a, Pattern> {
    match section {
        None => std::borrow::Cow::Borrowed(posts),
        Some(s) => match sections.get(s) {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(
                Pattern::parse(&format!("/{s}/:slug/")).unwrap_or_else(|_| posts.clone()),
            ),
        },
    }
}

/// Whether `path` can name a section: folder names joined by `/`, no leading or trailing
/// `/`, nothing a URL path cannot hold.
pub fn is_section_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && !path.contains(['?', '#', '\\', '"', '<', '>', ' ', '\t', '\n', '%', ':'])
}

/// Literal text of a pattern: no `.`/`..` segments, nothing a URL path or a file name cannot
/// hold.
fn check_text(t: &str) -> Result<(), PatternError> {
    let bad = t.contains(['?', '#', '\\', '"', '<', '>', ' ', '\t', '\n', '%'])
        || t.split('/').any(|s| s == "." || s == "..");
    if bad {
        Err(PatternError::Unsafe(t.to_string()))
    } else {
        Ok(())
    }
}

/// The `:categories` value of a post: of its category paths (names from the root), the one
/// whose slugified form sorts first, its names slugified and joined by `/`.
pub fn categories_value<'a, I, P>(paths: I) -> String
where
    I: IntoIterator<Item = P>,
    P: IntoIterator<Item = &'a str>,
{
    paths
        .into_iter()
        .map(|p| {
            p.into_iter()
                .map(slugify)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        })
        .filter(|s| !s.is_empty())
        .min()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(slug: &'a str, title: &'a str, categories: &'a str) -> Keys<'a> {
        Keys {
            date: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
            slug,
            title,
            categories,
            section: "",
        }
    }

    fn at(pattern: &str, k: &Keys) -> Location {
        Pattern::parse(pattern).unwrap().expand(k).unwrap()
    }

    #[test]
    fn dates_are_the_days_of_the_sites_time_zone() {
        let instant = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let evening = instant("2024-05-01T22:02:00-04:00");
        let minus4 = Timezone::parse("-04:00").unwrap();
        assert_eq!(local_date(evening, &minus4), day(2024, 5, 1));
        assert_eq!(local_date(evening, &Timezone::utc()), day(2024, 5, 2));
        // A named zone takes the offset of the instant: EDT in May, EST in January.
        let new_york = Timezone::parse("America/New_York").unwrap();
        assert_eq!(local_date(evening, &new_york), day(2024, 5, 1));
        let winter = instant("2024-01-01T23:30:00-05:00");
        assert_eq!(local_date(winter, &new_york), day(2024, 1, 1));
        let k = Keys {
            date: local_date(evening, &minus4),
            ..keys("a", "A", "")
        };
        assert_eq!(at("/:year/:month/:day/:slug/", &k).url, "2024/05/01/a/");
    }

    #[test]
    fn the_default_pattern_is_the_posts_folder() {
        let l = default_pattern("posts")
            .expand(&keys("hello", "Hi", ""))
            .unwrap();
        assert_eq!(
            (l.dir.as_str(), l.file.as_str(), l.url.as_str()),
            ("posts/hello", "posts/hello/index.html", "posts/hello/")
        );
    }

    #[test]
    fn dated_patterns_give_folders_and_html_patterns_files() {
        let k = keys("hello", "Hello, World!", "");
        let l = at("/:year/:month/:day/:slug/", &k);
        assert_eq!(l.url, "2024/05/01/hello/");
        assert_eq!(l.file, "2024/05/01/hello/index.html");
        let l = at("/:year/:month/:day/:slugified_title.html", &k);
        assert_eq!(
            (l.dir.as_str(), l.file.as_str(), l.url.as_str()),
            (
                "2024/05/01",
                "2024/05/01/hello-world.html",
                "2024/05/01/hello-world.html"
            )
        );
        let l = at("/:slug:output_ext", &k);
        assert_eq!((l.dir.as_str(), l.url.as_str()), ("", "hello.html"));
    }

    #[test]
    fn title_is_the_slug_as_in_jekyll_and_slugified_title_is_hugos() {
        let k = keys("hello-world", "Hello, World: again", "news");
        let jekyll = "/:categories/:year/:month/:day/:title:output_ext";
        assert_eq!(at(jekyll, &k).file, "news/2024/05/01/hello-world.html");
        assert_eq!(
            at("/:year/:slugified_title/", &k).url,
            "2024/hello-world-again/"
        );
        assert!(Pattern::parse("/:slugified_title/").unwrap().is_per_post());
        assert!(known_list().contains(":slugified_title"));
    }

    #[test]
    fn empty_values_leave_no_empty_segment() {
        let l = at(
            "/:categories/:year/:month/:day/:slug:output_ext",
            &keys("a", "A", ""),
        );
        assert_eq!(l.url, "2024/05/01/a.html");
        let l = at(
            "/:categories/:section/:slug/",
            &keys("a", "A", "programming/rust"),
        );
        assert_eq!(l.url, "programming/rust/a/");
        let l = at("2021/06/17/some-post", &keys("x", "X", ""));
        assert_eq!(l.url, "2021/06/17/some-post/");
    }

    #[test]
    fn bad_patterns_name_what_is_wrong() {
        let e = Pattern::parse("/:yaer/:slug/").unwrap_err();
        assert_eq!(e, PatternError::Unknown("yaer".into()));
        assert!(e.to_string().contains(":year, :month"), "{e}");
        assert!(matches!(
            Pattern::parse("/../:slug/"),
            Err(PatternError::Unsafe(_))
        ));
        assert!(matches!(
            Pattern::parse("/a b/:slug"),
            Err(PatternError::Unsafe(_))
        ));
        assert_eq!(Pattern::parse("/"), Err(PatternError::Empty));
        assert!(!Pattern::parse("/:year/").unwrap().is_per_post());
        assert!(Pattern::parse("/:title/").unwrap().is_per_post());
    }

    #[test]
    fn a_colon_not_followed_by_a_name_is_text() {
        let l = at("/a:/:slug/", &keys("s", "S", ""));
        assert_eq!(l.url, "a:/s/");
    }

    #[test]
    fn the_first_category_path_is_the_first_in_name_order() {
        let v = categories_value([vec!["Tech", "Rust"], vec!["Art"]]);
        assert_eq!(v, "art");
        let v = categories_value([vec!["Programming", "Rust Lang"]]);
        assert_eq!(v, "programming/rust-lang");
        assert_eq!(categories_value(Vec::<Vec<&str>>::new()), "");
    }
}
