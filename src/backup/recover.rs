//! `bloggo db recover OUT`: salvage what can be read from a damaged store into a new one.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::store::backup::Salvage;

/// Reads every readable row of `damaged` into a new store at `out` with the current schema.
/// Never writes over the input or an existing `out`; `out` appears only when complete.
pub fn recover(damaged: &Path, out: &Path) -> Result<Salvage> {
    if !damaged.exists() {
        bail!("{}: no store to recover from", damaged.display());
    }
    if out.exists() || out.symlink_metadata().is_ok() {
        bail!(
            "{}: already exists; recover writes only to a new file, pick another name",
            out.display()
        );
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("{}: folder does not exist", dir.display());
    }
    let work = tempfile::Builder::new()
        .prefix(".bloggo-recover-")
        .tempdir_in(dir)
        .with_context(|| format!("{}: cannot create a temp folder", dir.display()))?;
    let tmp = work.path().join("recovered.sqlite");
    let salvage = crate::store::backup::recover(damaged, &tmp)
        .with_context(|| format!("{}: cannot salvage", damaged.display()))?;
    // No-clobber publish: a hard link fails if `out` appeared meanwhile.
    std::fs::hard_link(&tmp, out).with_context(|| format!("{}: cannot write", out.display()))?;
    super::create::sync_dir(dir);
    Ok(salvage)
}
