//! Rendered pages → disk, atomically and incrementally.
//!
//! The output is double-buffered: beside `public/` lives `.public.bloggo-stage/`, which holds
//! the site as it was one build ago, with its own manifest of content hashes. A build brings the
//! stage up to date (files whose bytes already match cost nothing; files unchanged since the
//! live site are hard links to it, keeping their bytes and modification time; only the rest are
//! written), removes what is no longer part of the site, and exchanges the two folders with one
//! `renameat2(RENAME_EXCHANGE)` (a rename dance elsewhere). Readers see the old site or the new
//! one, never a mix. A failed build leaves the live folder untouched and the stage without a
//! manifest, so the next build rebuilds the stage from scratch. The old site becomes the next
//! build's stage, so nothing is deleted wholesale.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The manifest of the output's files and their content hashes, inside the output folder (so it
/// is swapped together with the files it describes).
pub const MANIFEST: &str = ".bloggo-manifest.json";
const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// Site-relative file → BLAKE3 of its bytes (hex).
    files: BTreeMap<String, String>,
    /// Site-relative file → fingerprint of what it was made from (see [`Writer::reuse`]).
    #[serde(default)]
    fingerprints: BTreeMap<String, String>,
}

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
    pub hash: String,
    pub outcome: Outcome,
    /// A digest of the file's inputs, kept in the manifest so the next build can reuse the
    /// file without making it again.
    pub fingerprint: Option<String>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Committed {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// A build's output in progress. Holds a lock so two builds never share a stage.
pub struct Writer {
    out: PathBuf,
    stage: PathBuf,
    /// The live site's manifest.
    live: Manifest,
    /// The stage's manifest (what it holds now).
    staged: Manifest,
    had_output: bool,
    clean: bool,
    _lock: std::fs::File,
}

/// Refuses paths that would escape the output folder.
fn checked(file: &str) -> Result<&str> {
    if file.is_empty()
        || file.starts_with('/')
        || file.contains('\\')
        || file == MANIFEST
        || file
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        bail!("{file:?} is not a plain path inside the output folder");
    }
    Ok(file)
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let b = std::fs::read(dir.join(MANIFEST)).ok()?;
    let m: Manifest = serde_json::from_slice(&b).ok()?;
    (m.version == MANIFEST_VERSION).then_some(m)
}

/// Whether `p` is a regular file with no other link (so not shared with the live site): it
/// can be overwritten in place, keeping its inode.
fn owned_by_stage(p: &Path) -> bool {
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
fn write_file(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Writer {
    /// Starts a build of `out`: locks it, reads its manifest and readies the stage beside it.
    /// An existing, non-empty folder that bloggo did not write is refused (never replaced).
    pub fn begin(out: &Path, clean: bool) -> Result<Writer> {
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
        let had_output = out.exists();
        let mut live = Manifest::default();
        if had_output {
            if !out.is_dir() {
                bail!(
                    "{}: exists and is not a folder; move it away or pass another --out",
                    out.display()
                );
            }
            match read_manifest(out) {
                Some(m) => live = m,
                None => {
                    let empty = std::fs::read_dir(out)
                        .with_context(|| format!("{}: cannot read", out.display()))?
                        .next()
                        .is_none();
                    if !empty && !out.join(MANIFEST).exists() {
                        bail!(
                            "{}: this folder was not written by bloggo (it has no {MANIFEST}) and is not empty; \
                             nothing was changed: move it away or pass another --out",
                            out.display()
                        );
                    }
                }
            }
        }
        let lock_path = parent.join(format!(".{name}.bloggo-lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot create", lock_path.display()))?;
        fs4::FileExt::lock(&lock)
            .with_context(|| format!("{}: cannot lock", lock_path.display()))?;

        let stage = parent.join(format!(".{name}.bloggo-stage"));
        // The stage's manifest is removed before the stage changes: a build that stops half-way
        // leaves a stage without one, which the next build starts over.
        let staged = if clean { None } else { read_manifest(&stage) };
        let staged = match staged {
            Some(m) => {
                std::fs::remove_file(stage.join(MANIFEST))
                    .with_context(|| format!("{}: cannot update", stage.display()))?;
                m
            }
            None => {
                // Nothing in the stage is trusted, but its files are kept to be overwritten in
                // place and its extra ones pruned at commit: deleting tens of thousands of files
                // and creating them again costs far more (ext4 avoids reusing recently deleted
                // inodes by scanning past them, which made a clean 10,000-post build 3x slower).
                if !std::fs::symlink_metadata(&stage).is_ok_and(|m| m.is_dir()) {
                    remove_any(&stage)
                        .with_context(|| format!("{}: cannot clear", stage.display()))?;
                }
                std::fs::create_dir_all(&stage)
                    .with_context(|| format!("{}: cannot create", stage.display()))?;
                Manifest::default()
            }
        };
        Ok(Writer {
            out: out.to_path_buf(),
            stage,
            live,
            staged,
            had_output,
            clean,
            _lock: lock,
        })
    }

    /// The folder being filled.
    pub fn staging(&self) -> &Path {
        &self.stage
    }

    /// Puts one file into the new output. Bytes the stage already holds cost nothing; bytes
    /// the live site holds become a hard link; others are written. A staged file is never
    /// written in place (it may share its inode with the live site): it is replaced. Safe to
    /// call from many threads (no shared state is written).
    pub fn put(&self, file: &str, bytes: &[u8]) -> Result<Record> {
        let file = checked(file)?;
        let hash = blake3::hash(bytes).to_hex().to_string();
        let live_same = !self.clean && self.live.files.get(file) == Some(&hash);
        let record = |outcome| Record {
            file: file.to_string(),
            hash: hash.clone(),
            outcome,
            fingerprint: None,
        };
        if self.staged.files.get(file) == Some(&hash) {
            return Ok(record(if live_same {
                Outcome::Unchanged
            } else {
                Outcome::Written
            }));
        }
        let dst = self.stage.join(file);
        if let Some(dir) = dst.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                // A file where a folder must now be: replace it.
                let mut at = dir;
                while at.starts_with(&self.stage) && at != self.stage {
                    if at.is_file() {
                        std::fs::remove_file(at)?;
                        break;
                    }
                    at = at.parent().unwrap_or(&self.stage);
                }
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: cannot create ({e})", dir.display()))?;
            }
        }
        let own_file = owned_by_stage(&dst);
        if live_same {
            let prev = self.out.join(file);
            let same_len = std::fs::metadata(&prev)
                .map(|m| m.is_file() && m.len() == bytes.len() as u64)
                .unwrap_or(false);
            if same_len {
                remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
                if std::fs::hard_link(&prev, &dst).is_ok() {
                    return Ok(record(Outcome::Unchanged));
                }
            }
        }
        if !own_file {
            remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        }
        write_file(&dst, bytes).with_context(|| format!("{}: cannot write", dst.display()))?;
        Ok(record(Outcome::Written))
    }

    /// Whether [`Writer::reuse`] can carry `file` over for this fingerprint: the live
    /// manifest made it from the same inputs and the file is still there.
    pub fn reusable(&self, file: &str, fingerprint: &str) -> bool {
        if self.clean || self.live.fingerprints.get(file).map(String::as_str) != Some(fingerprint) {
            return false;
        }
        let Some(hash) = self.live.files.get(file) else {
            return false;
        };
        self.staged.files.get(file) == Some(hash)
            || std::fs::symlink_metadata(self.out.join(file)).is_ok_and(|m| m.is_file())
    }

    /// Carries a file of the live site over to the new output without making it again, when
    /// the live manifest says it was made from inputs with the same `fingerprint`. `None`
    /// when it cannot (a clean build, another fingerprint, the file is gone): make it and
    /// [`Writer::put`] it.
    pub fn reuse(&self, file: &str, fingerprint: &str) -> Result<Option<Record>> {
        if self.clean || self.live.fingerprints.get(file).map(String::as_str) != Some(fingerprint) {
            return Ok(None);
        }
        let file = checked(file)?;
        let Some(hash) = self.live.files.get(file) else {
            return Ok(None);
        };
        let record = Record {
            file: file.to_string(),
            hash: hash.clone(),
            outcome: Outcome::Unchanged,
            fingerprint: Some(fingerprint.to_string()),
        };
        if self.staged.files.get(file) == Some(hash) {
            return Ok(Some(record));
        }
        let src = self.out.join(file);
        if !std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        let dst = self.stage.join(file);
        if let Some(dir) = dst.parent() {
            if std::fs::create_dir_all(dir).is_err() {
                return Ok(None);
            }
        }
        remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("{}: cannot copy to {}", src.display(), dst.display()))?;
        }
        Ok(Some(record))
    }

    /// Removes what is no longer part of the site from the stage, keeps files someone else put
    /// in the live output, writes the manifest and swaps the stage in.
    pub fn commit(self, records: &[Record]) -> Result<Committed> {
        let mut c = Committed::default();
        let mut manifest = Manifest {
            version: MANIFEST_VERSION,
            files: BTreeMap::new(),
            fingerprints: BTreeMap::new(),
        };
        for r in records {
            match r.outcome {
                Outcome::Written => c.written += 1,
                Outcome::Unchanged => c.unchanged += 1,
            }
            manifest.files.insert(r.file.clone(), r.hash.clone());
            if let Some(f) = &r.fingerprint {
                manifest.fingerprints.insert(r.file.clone(), f.clone());
            }
        }
        c.removed = self
            .live
            .files
            .keys()
            .filter(|f| !manifest.files.contains_key(*f))
            .count();
        self.prune(&manifest)?;
        if self.had_output {
            self.carry_foreign(&manifest)?;
        }
        let m = self.stage.join(MANIFEST);
        std::fs::write(&m, serde_json::to_vec(&manifest)?)
            .with_context(|| format!("{}: cannot write", m.display()))?;
        swap(&self.stage, &self.out, self.had_output)?;
        Ok(c)
    }

    /// Deletes every file and empty folder of the stage that the new site does not have.
    fn prune(&self, new: &Manifest) -> Result<()> {
        // Folders that lost a file, and their parents, may now be empty.
        let mut dirs = std::collections::BTreeSet::new();
        // A folder is empty when the walk's next entry is not inside it.
        let mut last_dir: Option<PathBuf> = None;
        for e in walkdir::WalkDir::new(&self.stage).min_depth(1) {
            let e = e.with_context(|| format!("{}: cannot read", self.stage.display()))?;
            if let Some(d) = last_dir.take() {
                if !e.path().starts_with(&d) {
                    dirs.insert(d);
                }
            }
            let rel = e.path().strip_prefix(&self.stage).unwrap_or(e.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            if e.file_type().is_dir() {
                last_dir = Some(e.path().to_path_buf());
            } else if !new.files.contains_key(&rel) {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("{}: cannot remove", e.path().display()))?;
                let mut at = e.path().parent();
                while let Some(d) = at.filter(|d| *d != self.stage) {
                    if !dirs.insert(d.to_path_buf()) {
                        break;
                    }
                    at = d.parent();
                }
            }
        }
        dirs.extend(last_dir);
        // Deepest first; a folder that still has files stays.
        for d in dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        Ok(())
    }

    /// Files in the live output that bloggo did not write (a CNAME, a verification file) are
    /// kept, unless the new build writes the same path.
    fn carry_foreign(&self, new: &Manifest) -> Result<()> {
        let known: HashSet<&str> = self.live.files.keys().map(|s| s.as_str()).collect();
        for e in walkdir::WalkDir::new(&self.out).min_depth(1) {
            let e = e.with_context(|| format!("{}: cannot read", self.out.display()))?;
            if e.file_type().is_dir() {
                continue;
            }
            let rel = e.path().strip_prefix(&self.out).unwrap_or(e.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel == MANIFEST || known.contains(rel.as_str()) || new.files.contains_key(&rel) {
                continue;
            }
            let dst = self.stage.join(&rel);
            if dst.exists() {
                continue;
            }
            if let Some(d) = dst.parent() {
                std::fs::create_dir_all(d)?;
            }
            if std::fs::hard_link(e.path(), &dst).is_err() {
                std::fs::copy(e.path(), &dst)
                    .with_context(|| format!("{}: cannot keep", e.path().display()))?;
            }
        }
        Ok(())
    }
}

/// Puts the stage at `out`; the old output becomes the stage.
fn swap(stage: &Path, out: &Path, had_output: bool) -> Result<()> {
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
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
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
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no atomic folder exchange on this system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of a folder but the manifest, with its text.
    fn files(dir: &Path) -> BTreeMap<String, String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                (rel, std::fs::read_to_string(e.path()).unwrap())
            })
            .filter(|(k, _)| k != MANIFEST)
            .collect()
    }

    fn build(out: &Path, pages: &[(&str, &str)]) -> Committed {
        let w = Writer::begin(out, false).unwrap();
        let r: Vec<Record> = pages
            .iter()
            .map(|(f, b)| w.put(f, b.as_bytes()).unwrap())
            .collect();
        w.commit(&r).unwrap()
    }

    fn expect(out: &Path, pages: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = pages
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(files(out), want);
    }

    #[test]
    fn every_build_shows_exactly_its_files_and_counts_changes() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let steps: [&[(&str, &str)]; 5] = [
            &[("a/index.html", "a1"), ("b.txt", "b1")],
            &[("a/index.html", "a1"), ("c.txt", "c1")],
            &[("a/index.html", "a2"), ("b.txt", "b1")],
            &[("a/index.html", "a2"), ("b.txt", "b1")],
            &[("a", "now a file"), ("b.txt", "b2")],
        ];
        let mut counts = Vec::new();
        for pages in steps {
            let c = build(&out, pages);
            counts.push((c.written, c.unchanged, c.removed));
            expect(&out, pages);
        }
        assert_eq!(
            counts,
            [(2, 0, 0), (1, 1, 1), (2, 0, 1), (0, 2, 0), (2, 0, 1)]
        );
    }

    #[test]
    fn the_previous_site_is_never_written_through_a_shared_link() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "one")]); // the stage now links to the live file
        build(&out, &[("x.html", "two")]);
        expect(&out, &[("x.html", "two")]);
        let stage = d.path().join(".public.bloggo-stage");
        assert_eq!(files(&stage)["x.html"], "one");
    }

    #[test]
    fn foreign_files_in_the_output_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "i")]);
        std::fs::write(out.join("CNAME"), "example.com").unwrap();
        build(&out, &[("index.html", "i2")]);
        build(&out, &[("index.html", "i3")]);
        assert_eq!(
            std::fs::read_to_string(out.join("CNAME")).unwrap(),
            "example.com"
        );
    }

    #[test]
    fn a_dropped_build_leaves_the_old_output_and_the_next_one_recovers() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "old")]);
        build(&out, &[("index.html", "old")]);
        let w = Writer::begin(&out, false).unwrap();
        w.put("index.html", b"new").unwrap();
        w.put("stray.html", b"half").unwrap();
        drop(w);
        expect(&out, &[("index.html", "old")]);
        build(&out, &[("index.html", "newer")]);
        expect(&out, &[("index.html", "newer")]);
        build(&out, &[("index.html", "newer"), ("p.html", "p")]);
        expect(&out, &[("index.html", "newer"), ("p.html", "p")]);
    }

    #[test]
    fn a_foreign_folder_is_refused_and_paths_cannot_escape() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        assert!(Writer::begin(d.path(), false).is_err());
        assert_eq!(
            std::fs::read_to_string(d.path().join("notes.txt")).unwrap(),
            "mine"
        );
        let w = Writer::begin(&d.path().join("out"), false).unwrap();
        assert!(w.put("../x", b"").is_err());
        assert!(w.put("/etc/x", b"").is_err());
        assert!(w.put(MANIFEST, b"").is_err());
    }

    /// A clean build (or one after a dropped build) keeps the stage's own files and overwrites
    /// them in place, never through a symlink or a link shared with the live site, and prunes
    /// what the new site does not have.
    #[cfg(unix)]
    #[test]
    fn a_clean_build_overwrites_the_stage_in_place_and_never_through_links() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("old.html", "o")],
        );
        build(
            &out,
            &[("a.html", "a2"), ("b.html", "b1"), ("old.html", "o")],
        );
        // The stage holds the first site: a.html its own file, b.html linked to the live one.
        let inode = std::fs::metadata(stage.join("a.html")).unwrap().ino();
        let outside = d.path().join("outside.txt");
        std::fs::write(&outside, "untouched").unwrap();
        std::fs::remove_file(stage.join("old.html")).unwrap();
        std::os::unix::fs::symlink(&outside, stage.join("old.html")).unwrap();

        let w = Writer::begin(&out, true).unwrap();
        let r: Vec<Record> = [("a.html", "a3"), ("b.html", "b2"), ("old.html", "x")]
            .iter()
            .map(|(f, b)| w.put(f, b.as_bytes()).unwrap())
            .collect();
        w.commit(&r).unwrap();
        expect(
            &out,
            &[("a.html", "a3"), ("b.html", "b2"), ("old.html", "x")],
        );
        assert_eq!(std::fs::metadata(out.join("a.html")).unwrap().ino(), inode);
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched");
        // The previous live site (now the stage) kept its bytes: b1 was not written through.
        assert_eq!(files(&stage)["b.html"], "b1");
        build(&out, &[("a.html", "a3")]);
        expect(&out, &[("a.html", "a3")]);
    }
}
