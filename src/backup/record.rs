//! What a backup operation leaves in the store: its audit row (who acted, what was done, on
//! which file, its size, the result) and, for create and verify, the key-value entries of the
//! last backup taken and the last one verified, written together in one transaction.
//!
//! The entries are what `serve` schedules by (`last_taken`) and what `backup status` shows.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::BackupInfo;
use crate::config::Settings;
use crate::content::ActAs;
use crate::store::kv::{self, Key};
use crate::store::{Store, Tx};

/// Who runs a backup operation, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The acting user's email; `None` for what no user did (serve's schedule).
    pub email: Option<String>,
    /// `cli`, `serve`, …
    pub via: &'static str,
}

impl Actor {
    /// The CLI's acting user (`--as`, `BLOGGO_USER`, else the only admin). When the store
    /// cannot be opened (a restore onto a missing or damaged store) the named email stands.
    pub fn cli(settings: &Settings, act: &ActAs) -> Result<Actor> {
        let email = match Store::open(&settings.store, false) {
            Ok(mut store) => Some(store.read(|tx| act.user(tx))?.email),
            Err(_) => act.named().map(str::to_string),
        };
        Ok(Actor { email, via: "cli" })
    }

    /// `bloggo serve`'s scheduled backups: no user acts.
    pub fn scheduled() -> Actor {
        Actor {
            email: None,
            via: "serve",
        }
    }

    fn json(&self) -> Value {
        json!({ "by": self.email, "via": self.via })
    }
}

/// The newest backup taken (any tier, scheduled or by hand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taken {
    pub id: String,
    pub at: DateTime<Utc>,
}

/// The newest verification that passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    /// `tier/ID`.
    pub backup: String,
    pub at: DateTime<Utc>,
}

pub const LAST_TAKEN: Key<Taken> = Key::new("backup.last_taken");
pub const LAST_VERIFIED: Key<Verified> = Key::new("backup.last_verified");

/// The file, sizes and sha256 of a backup, for its audit row.
pub fn describe(settings: &Settings, b: &BackupInfo) -> Value {
    let mut v = json!({
        "id": b.id,
        "tier": b.tier,
        "file": super::shown(settings, &b.path),
        "size": b.meta.as_ref().map_or_else(|_| b.file_size(), |m| m.compressed_size),
    });
    if let Ok(m) = &b.meta {
        v["database_size"] = json!(m.size);
        v["sha256"] = json!(m.sha256);
    }
    v
}

/// Writes the audit row `action` (`backup.create`, …) with `details` and the actor, and
/// whatever `remember` sets in the key-value store, in one transaction of the site's store.
pub fn write(
    settings: &Settings,
    actor: &Actor,
    action: &str,
    mut details: Value,
    remember: impl FnOnce(&Tx) -> Result<()>,
) -> Result<()> {
    if let (Some(d), Value::Object(a)) = (details.as_object_mut(), actor.json()) {
        d.extend(a);
    }
    let mut store = Store::open(&settings.store, false)?;
    store
        .write(|tx| {
            crate::store::backup::audit(tx, actor.email.as_deref(), action, &details)?;
            remember(tx)
        })
        .with_context(|| {
            format!(
                "{}: cannot write the audit row of {action}",
                settings.store.display()
            )
        })
}

/// Sets the last backup taken (and, a new backup being verified, the last verified).
pub fn remember_taken(tx: &Tx, b: &BackupInfo, verified_at: DateTime<Utc>) -> Result<()> {
    kv::set(
        tx,
        &LAST_TAKEN,
        &Taken {
            id: b.id.clone(),
            at: b.created,
        },
        None,
    )?;
    remember_verified(tx, b, verified_at)
}

pub fn remember_verified(tx: &Tx, b: &BackupInfo, at: DateTime<Utc>) -> Result<()> {
    kv::set(
        tx,
        &LAST_VERIFIED,
        &Verified {
            backup: b.tier_id(),
            at,
        },
        None,
    )
}

/// The last backup taken and the last verification that passed, as the store remembers them
/// (`None` where the store has no entry, or cannot be read).
pub fn last(settings: &Settings) -> Result<(Option<Taken>, Option<Verified>)> {
    let mut store = Store::open(&settings.store, false)?;
    store.read(|tx| Ok((kv::get(tx, &LAST_TAKEN)?, kv::get(tx, &LAST_VERIFIED)?)))
}

/// When the last backup was taken: the newer of what the store remembers and the newest good
/// backup file (a store restored from an older backup remembers an older one; files copied in
/// by hand are counted too). `None` when there is neither.
pub fn last_taken(settings: &Settings) -> Result<Option<DateTime<Utc>>> {
    let remembered = last(settings)?.0.map(|t| t.at);
    let newest_file = super::newest_good(settings)?.map(|b| b.created);
    Ok(remembered.max(newest_file))
}
