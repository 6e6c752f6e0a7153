//! A synced post's file in `content/`: written back after every change made through the
//! commands, moved to `content/.trash` and back when the post is deleted and restored.
//!
//! Each post remembers the file it came from (`source_path`) and the SHA-256 of its bytes
//! (`source_hash`); a write-back records the new hash, so the next `content/` → store sync
//! (`import::sync`) sees an unchanged file and leaves the post as the store has it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::Settings;
use crate::frontmatter::write::{document, Format};
use crate::store::content::posts;
use crate::store::Tx;

/// The hidden folder of `content/` (sync skips it) where a deleted post's file waits, so a
/// sync does not bring the post back; `restore` moves it home, `purge` removes it.
const TRASH: &str = ".trash";

/// What `bloggo import` keeps in `posts.source_path` for a file: its path relative to the
/// site folder when inside it (`content/hello.md`), else its absolute path.
fn source_key(settings: &Settings, file: &Path) -> Result<String> {
    let site = std::fs::canonicalize(&settings.root)
        .with_context(|| format!("{}: cannot read", settings.root.display()))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let abs = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .join(file.file_name().unwrap_or_default());
    Ok(match abs.strip_prefix(&site) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => abs.to_string_lossy().into_owned(),
    })
}

/// Where a post's `source_path` is inside `content/`: the file and its path there. None for
/// a post imported from another folder (it is never written back there).
pub(crate) fn in_content(settings: &Settings, source_path: &str) -> Option<(PathBuf, PathBuf)> {
    let site = std::fs::canonicalize(&settings.root).ok()?;
    let content = std::fs::canonicalize(&settings.content).ok()?;
    let file = site.join(source_path);
    let rel = file.strip_prefix(&content).ok()?.to_path_buf();
    let trashed = rel
        .components()
        .next()
        .is_some_and(|c| c.as_os_str() == TRASH);
    (!trashed).then_some((file, rel))
}

/// The existing file in `content/` a post's `source_path` names.
fn content_file(settings: &Settings, source_path: &str) -> Option<PathBuf> {
    in_content(settings, source_path)
        .map(|(file, _)| file)
        .filter(|f| f.is_file())
}

/// Where the file at `rel` (inside `content/`) waits while its post is deleted.
pub(crate) fn trash_path(settings: &Settings, rel: &Path) -> PathBuf {
    settings.content.join(TRASH).join(rel)
}

/// Moves a file, creating the folder it goes into.
pub(crate) fn move_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(d) = to.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    std::fs::rename(from, to)
        .with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

/// Writes a post's document to a file (atomically) and records it as the post's source,
/// with the SHA-256 of its bytes, so the next sync sees an unchanged file.
pub(crate) fn write_source_file(
    tx: &Tx,
    settings: &Settings,
    post_id: i64,
    path: &Path,
) -> Result<()> {
    let post = posts::load(tx, post_id)?;
    let text = document(&post, &settings.timezone, Format::Plain)?;
    crate::fsx::write_atomic(path, text.as_bytes(), crate::fsx::Durability::Atomic)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let key = source_key(settings, path)?;
    posts::set_source(tx, post_id, &key, &crate::fsx::sha256_hex(text.as_bytes()))
}

/// Keeps a synced post's file in `content/` in step with the store after a change.
pub(crate) fn sync_source_file(tx: &Tx, settings: &Settings, post_id: i64) -> Result<()> {
    if !settings.config.content.sync {
        return Ok(());
    }
    let source = posts::load(tx, post_id)?.source_path;
    if let Some(file) = source.and_then(|s| content_file(settings, &s)) {
        write_source_file(tx, settings, post_id, &file)?;
    }
    Ok(())
}
