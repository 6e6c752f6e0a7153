//! Plain data shared by every stage: no SQL, no templates.
//!
//! `PostFields` is the editable post: what front matter reads into and writes from, what
//! import and the content commands hand to the store's one post writer
//! (`store::posts::Writer::save`). Its status and dates are typed (`PostStatus`,
//! `Timestamp`); the store converts them at its boundary (`store::types`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The editable fields of a post, as front matter and the commands see them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostFields {
    pub title: String,
    pub subtitle: Option<String>,
    pub slug: String,
    /// The markdown body.
    pub content: String,
    pub excerpt: Option<String>,
    pub cover_image: Option<String>,
    pub status: PostStatus,
    pub published_at: Option<Timestamp>,
    /// The writer's "updated" date (not the row's `updated_at`).
    pub modified_at: Option<Timestamp>,
    /// Minutes to read the body.
    pub read_time: i64,
    pub categories: Vec<CategoryPath>,
    pub tags: Vec<String>,
    /// The first is the post's author; more are kept in `extra.authors` for templates.
    pub authors: Vec<AuthorRef>,
    /// Site paths (`/old/url/`) that redirect to the post.
    pub aliases: Vec<String>,
    /// The post's own URL path (`/2021/06/17/some-post/`, may hold `[permalinks]`
    /// placeholders): front matter's `path`, `permalink` or `url`. `None`: the site's pattern
    /// places it.
    pub path: Option<String>,
    /// A dated post or a standalone page (`posts.kind`).
    pub kind: PostKind,
    /// The section the post is in (`posts.section`: the section's folder, `blog`), given by
    /// the folder its file is in, not by its front matter.
    pub section: Option<String>,
    /// Front matter keys bloggo does not know, and Zola's `[extra]`.
    pub extra: Map<String, Value>,
}

/// An instant as the store keeps it: UTC, to the second, written `YYYY-MM-DD HH:MM:SS`
/// ([`Timestamp::FORMAT`]) in every timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The text form of every timestamp column.
    pub const FORMAT: &'static str = "%Y-%m-%d %H:%M:%S";

    /// Now, to the second.
    pub fn now() -> Timestamp {
        Timestamp::from_utc(Utc::now())
    }

    /// An instant, its fraction of a second dropped (the store keeps seconds).
    pub fn from_utc(d: DateTime<Utc>) -> Timestamp {
        Timestamp(DateTime::from_timestamp(d.timestamp(), 0).unwrap_or(d))
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(d: DateTime<Utc>) -> Timestamp {
        Timestamp::from_utc(d)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(Timestamp::FORMAT))
    }
}

impl FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDateTime::parse_from_str(s.trim(), Timestamp::FORMAT)
            .map(|d| Timestamp(d.and_utc()))
            .map_err(|e| format!("{s:?} is not a store timestamp (YYYY-MM-DD HH:MM:SS): {e}"))
    }
}

/// In formats people read (JSON, templates) its text form; in compact ones (the kept build
/// state) its seconds since the epoch, which read back without parsing.
impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0.timestamp())
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            let secs = i64::deserialize(d)?;
            DateTime::from_timestamp(secs, 0)
                .map(Timestamp)
                .ok_or_else(|| serde::de::Error::custom(format!("{secs} s is out of range")))
        }
    }
}

/// A category as a path of names from the root (`Programming/Rust`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CategoryPath(pub Vec<String>);

impl CategoryPath {
    /// The separator of the written form.
    pub const SEP: char = '/';

    /// The names from the root to the leaf.
    pub fn names(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for CategoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

impl From<&str> for CategoryPath {
    /// `Parent/Child`, each name trimmed, empty names dropped.
    fn from(s: &str) -> CategoryPath {
        CategoryPath(
            s.split(CategoryPath::SEP)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }
}

impl Serialize for CategoryPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A post's author as front matter names it (matched to a user by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorRef {
    pub name: String,
    pub email: Option<String>,
}

impl AuthorRef {
    /// An author from a name and/or an email (the email's local part names it when alone).
    pub fn new(name: Option<String>, email: Option<String>) -> Option<AuthorRef> {
        let email = email.filter(|e| !e.trim().is_empty());
        let name = name.filter(|n| !n.trim().is_empty()).or_else(|| {
            email
                .as_ref()
                .map(|e| e.split('@').next().unwrap_or(e).to_string())
        })?;
        Some(AuthorRef {
            name: name.trim().to_string(),
            email,
        })
    }
}

/// The life cycle of a post (`posts.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    #[default]
    Draft,
    Pending,
    Published,
    Archived,
}

impl PostStatus {
    pub const ALL: [PostStatus; 4] = [
        PostStatus::Draft,
        PostStatus::Pending,
        PostStatus::Published,
        PostStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::Pending => "pending",
            PostStatus::Published => "published",
            PostStatus::Archived => "archived",
        }
    }
}

impl fmt::Display for PostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PostStatus::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("{s:?} is not a status: use draft, pending, published or archived")
            })
    }
}

/// What a row of `posts` is (`posts.kind`): a dated post, shown in listings, feeds and the
/// archive, or a standalone page (an "About" page), shown only at its own URL, in the sitemap
/// and in the search index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    #[default]
    Post,
    Page,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Post => "post",
            PostKind::Page => "page",
        }
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [PostKind::Post, PostKind::Page]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("{s:?} is not a kind: use post or page"))
    }
}

/// The review state of a version (`post_versions.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    #[default]
    Draft,
    Pending,
    Approved,
    Rejected,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Pending => "pending",
            VersionStatus::Approved => "approved",
            VersionStatus::Rejected => "rejected",
        }
    }
}

impl FromStr for VersionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            VersionStatus::Draft,
            VersionStatus::Pending,
            VersionStatus::Approved,
            VersionStatus::Rejected,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("{s:?} is not a version status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in PostStatus::ALL {
            assert_eq!(s.as_str().parse::<PostStatus>().unwrap(), s);
        }
        assert!("live".parse::<PostStatus>().is_err());
    }

    #[test]
    fn kind_round_trips() {
        for k in [PostKind::Post, PostKind::Page] {
            assert_eq!(k.as_str().parse::<PostKind>().unwrap(), k);
        }
        assert_eq!(" Page ".parse::<PostKind>().unwrap(), PostKind::Page);
        assert!("note".parse::<PostKind>().is_err());
    }

    #[test]
    fn timestamp_round_trips_in_the_store_format() {
        let t: Timestamp = "2024-05-01 10:00:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-05-01 10:00:00");
        assert_eq!(serde_json::to_value(t).unwrap(), "2024-05-01 10:00:00");
        assert!("2024-05-01".parse::<Timestamp>().is_err());
        assert!(t < "2024-05-01 10:00:01".parse().unwrap());
    }

    #[test]
    fn timestamp_is_seconds_in_compact_encodings() {
        for text in [
            "2024-05-01 10:00:00",
            "+10000-01-01 00:00:00",
            "-0001-06-01 00:00:00",
        ] {
            let t: Timestamp = text.parse().unwrap();
            let b = postcard::to_stdvec(&t).unwrap();
            assert_eq!(b, postcard::to_stdvec(&t.utc().timestamp()).unwrap());
            assert_eq!(postcard::from_bytes::<Timestamp>(&b).unwrap(), t);
        }
        let huge = postcard::to_stdvec(&i64::MAX).unwrap();
        assert!(postcard::from_bytes::<Timestamp>(&huge).is_err());
    }

    #[test]
    fn category_paths_read_and_write_with_slashes() {
        let p = CategoryPath::from(" Programming / Rust/ ");
        assert_eq!(p.names(), ["Programming", "Rust"]);
        assert_eq!(p.to_string(), "Programming/Rust");
    }

    #[test]
    fn an_author_is_named_by_the_email_when_alone() {
        let a = AuthorRef::new(None, Some("ada@example.org".into())).unwrap();
        assert_eq!(a.name, "ada");
        assert!(AuthorRef::new(Some(" ".into()), None).is_none());
    }
}
