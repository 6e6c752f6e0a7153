//! The snapshot of a live site that no build of this process made (`bloggo serve` serves the
//! output folder before its start-up build is done, or as it is with `--no-build`): the one the
//! build that made it kept ([`kept_snapshot`], when that state is sound and names this very
//! site), else ([`live_snapshot`]) a snapshot of the store as it is now, which places every
//! post where a build would (a folder made by another version, by hand, or whose state is
//! gone). [`store_snapshot`] is that snapshot of the store.

use std::path::Path;

use anyhow::{Context, Result};

use super::state::{self, BuildState};
use crate::config::Settings;
use crate::model::Timestamp;
use crate::snapshot::Snapshot;
use crate::store::site::SiteQuery;
use crate::store::Store;

/// The snapshot the build that made the live site at `out` kept, if it kept one and that site
/// is still the live one. Reads no store.
pub fn kept_snapshot(settings: &Settings, out: &Path) -> Option<Snapshot> {
    let live = crate::output::live_digest(out)?;
    let kept = BuildState::read(&state::path(&super::cache_dir(settings), out))?;
    (kept.site == live).then_some(kept.snapshot)
}

/// [`kept_snapshot`], else a snapshot of the store's published posts as a build would place
/// them now.
pub fn live_snapshot(settings: &Settings, out: &Path) -> Result<Snapshot> {
    if let Some(snap) = kept_snapshot(settings, out) {
        return Ok(snap);
    }
    store_snapshot(settings)
}

/// A snapshot of the store's published posts as a build with the configured base URL would
/// place them now (the webhooks' deliverer tells each post's URL from it).
pub fn store_snapshot(settings: &Settings) -> Result<Snapshot> {
    let cannot_read = || format!("{}: cannot read the site", settings.store.display());
    let mut store = Store::open_read_only(&settings.store).with_context(cannot_read)?;
    let reader = store.site_reader().with_context(cannot_read)?;
    let now = chrono::Utc::now();
    let rows = reader
        .rows(&SiteQuery {
            drafts: false,
            now: Timestamp::from_utc(now),
        })
        .with_context(cannot_read)?;
    let base_url = settings.build_base_url(None)?;
    Ok(Snapshot::build(settings, rows, &base_url, false, now, None))
}
