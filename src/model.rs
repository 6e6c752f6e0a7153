//! Plain data shared by every stage: no SQL, no templates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
}
