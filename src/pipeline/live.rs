//! The snapshot of a live site that no build of this process made (`bloggo serve --no-build`
//! serves an output folder as it is): the one the build that made it kept (see `state`), when
//! that state is sound and names this very site; else a snapshot of the store as it is now,
//! which places every post where a build would (a folder made by another version, by hand, or
//! whose state is gone).

use std::path::Path;

use anyhow::{Context, Result};

use super::state::{self, BuildState};
use crate::config::Settings;
use crate::model::Timestamp;
use crate::snapshot::Snapshot;
use crate::store::site::SiteQuery;
use crate::store::Store;

/// Where the live site at `out` has its pages, as said in the module doc.
pub fn live_snapshot(settings: &Settings, out: &Path) -> Result<Snapshot> {
    let state_file = state::path(&super::cache_dir(settings), out);
    if let (Some(kept), Some(live)) = (
        BuildState::read(&state_file),
        crate::output::live_digest(out),
    ) {
        if kept.site == live {
            return Ok(kept.snapshot);
        }
    }
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
