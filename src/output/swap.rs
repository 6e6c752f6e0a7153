//! The stage beside the output folder: found, locked, guarded against a half-made copy,
//! kept in step with the live site (links, foreign entries), and swapped in.

use std::path::{Path, PathBuf};

use foldhash::HashSet;

use crate::digest::Digest;

use super::manifest::{digest_of, Manifest, MANIFEST, OLD_MANIFEST};

use anyhow::{bail, Context, Result};

/// One build's hold on its stage. The stage's manifest is removed before the stage first
/// changes (see [`touch_stage`]); when the build then ends without swapping the stage in (an
/// error, a full disk, a panic), the stage is removed, so a half-made copy of the site never
/// stays behind filling the disk. A stage the build did not change is still the kept one (it
/// has its manifest) and stays.
pub(super) struct StageGuard {
    pub(super) stage: PathBuf,
    pub(super) touched: std::sync::OnceLock<Result<(), String>>,
    /// The first write that found the disk full (its error): later writes are not tried.
    pub(super) full: std::sync::OnceLock<String>,
    /// Swapped in: the stage folder now holds the previous site, kept for the next build.
    pub(super) kept: bool,
}

impl StageGuard {
    pub(super) fn new(stage: &Path) -> StageGuard {
        StageGuard {
            stage: stage.to_path_buf(),
            touched: std::sync::OnceLock::new(),
            full: std::sync::OnceLock::new(),
            kept: false,
        }
    }

    pub(super) fn touch(&self) -> Result<()> {
        touch_stage(&self.stage, &self.touched)
    }

    /// Removes the stage now when this build changed it and did not swap it in.
    pub(super) fn discard(&self) {
        if !self.kept && self.touched.get().is_some() {
            let _ = remove_any(&self.stage);
        }
    }

    /// Passes a write's result through, noting a full disk.
    pub(super) fn note<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if crate::disk::is_full(e) {
                let _ = self.full.set(format!("{e:#}"));
            }
        }
        r
    }

    /// Fails fast once a write found the disk full.
    pub(super) fn check_room(&self) -> Result<()> {
        if self.full.get().is_some() {
            bail!(
                "not written: the disk of {} is full",
                self.stage.parent().unwrap_or(&self.stage).display()
            );
        }
        Ok(())
    }

    /// Removes the stage (when this build changed it) and says why the build failed: the
    /// full disk's error when a write found the disk full or `e` is one, else `e`.
    pub(super) fn fail(&self, out: &Path, e: anyhow::Error) -> anyhow::Error {
        if crate::disk::is_full(&e) {
            let _ = self.full.set(format!("{e:#}"));
        }
        self.abandon(out).unwrap_or(e)
    }

    /// Removes the stage (when this build changed it); the full disk's error when a write
    /// found the disk full.
    pub(super) fn abandon(&self, out: &Path) -> Option<anyhow::Error> {
        self.discard();
        self.full
            .get()
            .map(|cause| disk_full(out, &self.stage, cause))
    }
}

impl Drop for StageGuard {
    fn drop(&mut self) {
        self.discard();
    }
}

/// The error of a build whose output's disk filled up; said after the stage was removed, so
/// the free space it gives is what the disk has again.
pub(super) fn disk_full(out: &Path, stage: &Path, cause: &str) -> anyhow::Error {
    let disk = stage.parent().unwrap_or(stage);
    anyhow::anyhow!(
        "{}: the disk is full ({cause}): the new site did not fit beside {} ({} now that the \
         build's unfinished copy {} is removed); {} was not changed. Free some space on that \
         disk, or build onto one with room (`bloggo build --out DIR`), then build again",
        disk.display(),
        out.display(),
        crate::disk::room(disk),
        stage.display(),
        out.display()
    )
}

/// The first segment of a site-relative path.
pub(super) fn top(file: &str) -> &str {
    file.split('/').next().unwrap_or(file)
}

/// Whether `p` is a regular file with no other link (so not shared with the live site): it
/// can be overwritten in place, keeping its inode.
pub(super) fn owned_by_stage(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.nlink() == 1)
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        false
    }
}

/// Writes a file (created, or truncated in place), never through a symlink.
pub(super) fn write_file(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(p)?.write_all(bytes)
}

/// Removes a file, a symlink or a folder at `p` (nothing there is fine).
pub(super) fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The stage and the lock file beside `out` (whose parent folder is made if need be).
pub(super) fn beside(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = out
        .file_name()
        .with_context(|| format!("{}: the output must be a folder name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("{}: cannot create the folder", parent.display()))?;
    Ok((
        parent.join(format!(".{name}.bloggo-stage")),
        parent.join(format!(".{name}.bloggo-lock")),
    ))
}

/// Takes the output's lock (waiting for another build to finish): two builds never share a
/// stage. Released when the file is dropped.
pub(super) fn lock(path: &Path) -> Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    fs4::FileExt::lock(&lock).with_context(|| format!("{}: cannot lock", path.display()))?;
    Ok(lock)
}

/// Readies the stage before its first change: removes its manifest, so a build that stops
/// half-way leaves a stage without one, which the next build does not trust, and makes the
/// folder if there is none. Safe to call from many threads; only the first call with the same
/// `touched` does anything.
pub(super) fn touch_stage(
    stage: &Path,
    touched: &std::sync::OnceLock<Result<(), String>>,
) -> Result<()> {
    touched
        .get_or_init(|| {
            let m = stage.join(MANIFEST);
            remove_any(&m).map_err(|e| format!("{}: cannot remove ({e})", m.display()))?;
            if !std::fs::symlink_metadata(stage).is_ok_and(|m| m.is_dir()) {
                remove_any(stage)
                    .map_err(|e| format!("{}: cannot clear ({e})", stage.display()))?;
            }
            std::fs::create_dir_all(stage)
                .map_err(|e| format!("{}: cannot create ({e})", stage.display()))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Replaces `dst` with a hard link to `src` (a copy where links cannot be made).
pub(super) fn link_into(src: &Path, dst: &Path) -> Result<()> {
    remove_any(dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)
            .with_context(|| format!("{}: cannot copy to {}", src.display(), dst.display()))?;
    }
    Ok(())
}

/// Top-level entries of the live output that bloggo did not write (a CNAME, a verification
/// file, `.well-known/`), sorted: `ours` says which names are the site's. They are kept.
pub(super) fn foreign_tops(out: &Path, ours: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for e in std::fs::read_dir(out).with_context(|| format!("{}: cannot read", out.display()))? {
        let e = e.with_context(|| format!("{}: cannot read", out.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && name != OLD_MANIFEST && !ours(&name) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Removes the stage's top-level entries that `keep` does not name: foreign entries carried
/// last time, or added by hand while the stage was live.
pub(super) fn prune_tops(stage: &Path, keep: impl Fn(&str) -> bool) -> Result<()> {
    for e in
        std::fs::read_dir(stage).with_context(|| format!("{}: cannot read", stage.display()))?
    {
        let e = e.with_context(|| format!("{}: cannot read", stage.display()))?;
        if !keep(&e.file_name().to_string_lossy()) {
            remove_any(&e.path())
                .with_context(|| format!("{}: cannot remove", e.path().display()))?;
        }
    }
    Ok(())
}

/// Carries the live output's foreign top-level entries into the stage (sharing their bytes).
pub(super) fn carry_foreign(out: &Path, stage: &Path, foreign: &[String]) -> Result<()> {
    for name in foreign {
        let (src, dst) = (out.join(name), stage.join(name));
        remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        link_tree(&src, &dst).with_context(|| format!("{}: cannot keep", src.display()))?;
    }
    Ok(())
}

/// Writes the stage's manifest and swaps the stage in; the BLAKE3 of the manifest.
pub(super) fn finish(
    stage: &Path,
    out: &Path,
    manifest: &[u8],
    had_output: bool,
) -> Result<Digest> {
    let m = stage.join(MANIFEST);
    write_file(&m, manifest).with_context(|| format!("{}: cannot write", m.display()))?;
    remove_any(&stage.join(OLD_MANIFEST))
        .with_context(|| format!("{}: cannot remove", stage.display()))?;
    swap(stage, out, had_output)?;
    Ok(digest_of(manifest))
}

/// Makes the stage a copy of the site just put in place that shares its files (hard links),
/// with the same manifest. A build into a folder that had no site leaves no stage behind
/// (the stage became the site), and without one the next small change would have to fill a
/// whole new stage (10,000 folders and 18,000 links for a 10,000-post blog) before it could
/// swap: the build into the new folder pays for the copy instead, while the machine is busy
/// with a whole site anyway. The manifest is written last: a copy cut short has none, and the
/// next build fills it as usual.
pub(super) fn mirror(
    out: &Path,
    stage: &Path,
    manifest: &Manifest,
    bytes: &[u8],
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let mut files: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    files.sort_unstable();
    let dirs: std::collections::BTreeSet<&str> = files
        .iter()
        .filter_map(|f| f.rsplit_once('/').map(|(d, _)| d))
        .collect();
    remove_any(stage)?;
    std::fs::create_dir(stage)?;
    // Sorted, so every folder comes after its parent.
    let mut made: HashSet<&str> = HashSet::default();
    for d in dirs {
        let ends = d.match_indices('/').map(|(k, _)| k).chain([d.len()]);
        for part in ends.map(|k| &d[..k]) {
            if made.insert(part) {
                std::fs::create_dir(stage.join(part))?;
            }
        }
    }
    files
        .par_iter()
        .try_for_each(|f| std::fs::hard_link(out.join(f), stage.join(f)))?;
    write_file(&stage.join(MANIFEST), bytes)
}

/// After `removed` (a path inside `root`) was removed: its folders that are now empty go too,
/// up to `root` (a folder that still has files stays).
pub(super) fn remove_emptied_folders(root: &Path, removed: &Path) {
    let mut at = removed.parent();
    while let Some(d) = at.filter(|d| *d != root) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        at = d.parent();
    }
}

/// Puts a copy of `src` at `dst` that shares the files' bytes: hard links (copies where links
/// cannot be made), folders made anew, symlinks made again.
pub(super) fn link_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let m = std::fs::symlink_metadata(src)?;
    if m.is_dir() {
        std::fs::create_dir(dst)?;
        for e in std::fs::read_dir(src)? {
            let e = e?;
            link_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        return Ok(());
    }
    #[cfg(unix)]
    if m.file_type().is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(src)?, dst);
    }
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)?;
    }
    Ok(())
}

/// Puts the stage at `out`; the old output becomes the stage.
pub(super) fn swap(stage: &Path, out: &Path, had_output: bool) -> Result<()> {
    if !had_output {
        return std::fs::rename(stage, out)
            .with_context(|| format!("{}: cannot move the new site into place", out.display()));
    }
    if exchange(stage, out).is_ok() {
        return Ok(());
    }
    // No atomic exchange here: move the old folder aside, the new one in, the old one back.
    let aside = stage.with_extension("old");
    let _ = remove_any(&aside);
    std::fs::rename(out, &aside)
        .with_context(|| format!("{}: cannot move the old site aside", out.display()))?;
    if let Err(e) = std::fs::rename(stage, out) {
        let _ = std::fs::rename(&aside, out);
        return Err(e).with_context(|| format!("{}: cannot move the new site in", out.display()));
    }
    let _ = std::fs::rename(&aside, stage);
    Ok(())
}

#[cfg(target_os = "linux")]
pub(super) fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no atomic folder exchange on this system",
    ))
}
