//! The content operations: what a user may do to the blog's posts, categories, tags and
//! users, with the permission and ownership checks and the audit row that go with each.
//!
//! Every change is one `Store::write` unit: who acts, whether they may, the change, its
//! version and its audit row commit together, and a synced post's file in `content/` is kept
//! in step (`sync`). The store's query modules (`store::content`) do the SQL; the commands in
//! `cmd/` parse arguments, prompt and print around these functions.

pub mod access;
pub mod actor;
pub mod audit;
pub mod categories;
pub mod posts;
pub mod sessions;
pub mod signin;
pub mod sync;
pub mod tags;
pub mod users;

use std::path::Path;

use anyhow::Result;

pub use actor::ActAs;

use crate::config::Settings;
use crate::store::Store;

/// Loads the site's settings and opens its store (which must exist).
pub fn open_store(site: &Path) -> Result<(Settings, Store)> {
    let settings = Settings::load(site)?;
    let store = Store::open(&settings.store, false)?;
    Ok((settings, store))
}

/// A store timestamp `age` before now (`--older-than`, `--since`); `None` when the age is
/// too long to subtract.
pub fn ago(age: std::time::Duration) -> Option<crate::model::Timestamp> {
    let age = chrono::Duration::from_std(age).ok()?;
    Some(crate::model::Timestamp::from(chrono::Utc::now() - age))
}

#[cfg(test)]
mod fixture;
