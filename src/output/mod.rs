//! Rendered pages → disk, atomically and incrementally.
//!
//! The output is double-buffered: beside `public/` lives `.public.bloggo-stage/`, which holds
//! the site as it was one build ago, with its own manifest of content hashes. A build brings the
//! stage up to date (files whose bytes already match cost nothing; files unchanged since the
//! live site are hard links to it, keeping their bytes and modification time; only the rest are
//! written), removes what is no longer part of the site, and exchanges the two folders with one
//! `renameat2(RENAME_EXCHANGE)` (a rename dance elsewhere). Readers see the old site or the new
//! one, never a mix. A failed build (a page that does not render, a full disk, a panic) leaves
//! the live folder untouched and removes the stage if it changed it (see `swap::StageGuard`): a
//! half-made copy of the site never stays behind taking the disk's space, and the next build
//! makes the stage again. The old site becomes the next build's stage, so nothing is deleted
//! wholesale.
//!
//! Neither folder is walked on an ordinary build: the manifests say what each holds. Entries at
//! the top of the live output that bloggo did not write (a `CNAME`, `.well-known/`) are carried
//! into every new site; anything else added by hand inside bloggo's folders is not kept.
//!
//! `manifest.rs` owns the manifest's format; `writer.rs` the whole build's output
//! ([`Writer`]); `patch.rs` the patching build's ([`Patch`]); `swap.rs` the stage (its lock,
//! guard, links, foreign entries) and the exchange of the two folders.

mod manifest;
mod patch;
mod swap;
mod writer;

use manifest::OLD_MANIFEST;
pub use manifest::{live_digest, manifest_files, MANIFEST};
pub use patch::Patch;
pub use writer::Writer;

use anyhow::{bail, Result};

use crate::digest::Digest;

/// Whether a file's bytes had to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
}

/// One file of the new output.
#[derive(Debug, Clone)]
pub struct Record {
    pub file: String,
    pub hash: Digest,
    pub outcome: Outcome,
    /// A digest of the file's inputs, kept in the manifest so the next build can reuse the
    /// file without making it again.
    pub fingerprint: Option<Digest>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Committed {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// BLAKE3 of the manifest the commit wrote: the live site's [`Writer::live_digest`] until
    /// the next commit.
    pub manifest: Digest,
}

/// Refuses paths that would escape the output folder.
pub(super) fn checked(file: &str) -> Result<&str> {
    if file.is_empty()
        || file.starts_with('/')
        || file.contains('\\')
        || file == MANIFEST
        || file == OLD_MANIFEST
        || file
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        bail!("{file:?} is not a plain path inside the output folder");
    }
    Ok(file)
}

#[cfg(test)]
mod testing {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{Committed, Record, Writer, MANIFEST};

    /// Every file of a folder but the manifest, with its text.
    pub(super) fn files(dir: &Path) -> BTreeMap<String, String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                (rel, e.path().to_path_buf())
            })
            .filter(|(k, _)| k != MANIFEST)
            .map(|(k, p)| (k, std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    pub(super) fn build(out: &Path, pages: &[(&str, &str)]) -> Committed {
        let w = Writer::begin(out, false).unwrap();
        let r: Vec<Record> = pages
            .iter()
            .map(|(f, b)| w.put(f, b.as_bytes()).unwrap())
            .collect();
        w.commit(r).unwrap()
    }

    pub(super) fn expect(out: &Path, pages: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = pages
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(files(out), want);
    }
}
