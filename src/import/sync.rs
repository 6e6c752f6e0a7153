//! `content/` → store at the start of `build` and `serve`.
//!
//! Each post remembers the file it came from (`source_path`) and the SHA-256 of its bytes
//! (`source_hash`). A sync reads and hashes every file but parses only those whose hash
//! changed, so a post edited in the store stays as edited until its file changes; then the
//! file wins. A file removed from `content/` soft-deletes its post (it comes back when the
//! file does). Nothing changed → nothing written, not even the audit row.

use anyhow::Result;

use super::{run, ImportOptions, ImportSummary};
use crate::config::Settings;
use crate::store::Store;

/// Syncs the site's content folder into the store. Callers check `[content] sync` first.
/// A site without a content folder syncs nothing.
pub fn sync_content(settings: &Settings, store: &mut Store) -> Result<ImportSummary> {
    if !settings.content.is_dir() {
        return Ok(ImportSummary::default());
    }
    // Nothing to take in and nothing taken in before: no write transaction, no read of every
    // post (an empty content/ is the common case for a site filled by `bloggo import`).
    let found = super::media::discover(&settings.content, &[], None);
    if found.files.is_empty() && found.problems.is_empty() {
        let scope = super::source_scope(settings, &settings.content)?;
        if !crate::store::posts::any_live_from(store, &scope)? {
            return Ok(ImportSummary::default());
        }
    }
    let opts = ImportOptions {
        prune: true,
        ..ImportOptions::default()
    };
    run(settings, store, &settings.content, &opts, false)
}
