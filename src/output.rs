//! Rendered pages → disk, atomically and incrementally.
//!
//! A build writes into a temporary folder beside the output. A file whose bytes are the same as
//! in the previous build (by the manifest of content hashes) is carried over as a hard link,
//! keeping its bytes and modification time. When every page succeeded the new folder is
//! swapped in with one `renameat2(RENAME_EXCHANGE)` (a rename dance elsewhere), so readers see
//! the old site or the new one, never a mix; on any failure the temporary folder is dropped and
//! the previous site is untouched.

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
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Committed {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// A build's output in progress.
pub struct Writer {
    out: PathBuf,
    tmp: tempfile::TempDir,
    old: Manifest,
    had_output: bool,
    clean: bool,
}

/// Refuses paths that would escape the output folder.
fn checked(file: &str) -> Result<&str> {
    if file.is_empty()
        || file.starts_with('/')
        || file.contains('\\')
        || file
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        bail!("{file:?} is not a plain path inside the output folder");
    }
    Ok(file)
}

impl Writer {
    /// Starts a build of `out`: reads its manifest and makes the temporary folder beside it.
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
        let mut old = Manifest::default();
        if had_output {
            if !out.is_dir() {
                bail!(
                    "{}: exists and is not a folder; move it away or pass another --out",
                    out.display()
                );
            }
            match std::fs::read(out.join(MANIFEST)) {
                Ok(b) => {
                    old = serde_json::from_slice(&b).unwrap_or_default();
                    if old.version != MANIFEST_VERSION {
                        old = Manifest::default();
                    }
                }
                Err(_) => {
                    let empty = std::fs::read_dir(out)
                        .with_context(|| format!("{}: cannot read", out.display()))?
                        .next()
                        .is_none();
                    if !empty {
                        bail!(
                            "{}: this folder was not written by bloggo (it has no {MANIFEST}) and is not empty; \
                             nothing was changed: move it away or pass another --out",
                            out.display()
                        );
                    }
                }
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.building-"))
            .tempdir_in(&parent)
            .with_context(|| format!("{}: cannot create a temporary folder", parent.display()))?;
        Ok(Writer {
            out: out.to_path_buf(),
            tmp,
            old,
            had_output,
            clean,
        })
    }

    /// The temporary folder being filled.
    pub fn staging(&self) -> &Path {
        self.tmp.path()
    }

    /// Puts one file into the new output: a hard link to the previous file when its bytes are
    /// unchanged, else the bytes. Safe to call from many threads (no shared state is written).
    pub fn put(&self, file: &str, bytes: &[u8]) -> Result<Record> {
        let file = checked(file)?;
        let hash = blake3::hash(bytes).to_hex().to_string();
        let dst = self.tmp.path().join(file);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        if !self.clean && self.old.files.get(file) == Some(&hash) {
            let prev = self.out.join(file);
            let same_len = std::fs::metadata(&prev)
                .map(|m| m.is_file() && m.len() == bytes.len() as u64)
                .unwrap_or(false);
            if same_len && std::fs::hard_link(&prev, &dst).is_ok() {
                return Ok(Record {
                    file: file.to_string(),
                    hash,
                    outcome: Outcome::Unchanged,
                });
            }
        }
        std::fs::write(&dst, bytes).with_context(|| format!("{}: cannot write", dst.display()))?;
        Ok(Record {
            file: file.to_string(),
            hash,
            outcome: Outcome::Written,
        })
    }

    /// Writes the manifest, keeps files someone else put in the output (not in the previous
    /// manifest), and swaps the new folder in.
    pub fn commit(self, records: &[Record]) -> Result<Committed> {
        let mut c = Committed::default();
        let mut manifest = Manifest {
            version: MANIFEST_VERSION,
            files: BTreeMap::new(),
        };
        for r in records {
            match r.outcome {
                Outcome::Written => c.written += 1,
                Outcome::Unchanged => c.unchanged += 1,
            }
            manifest.files.insert(r.file.clone(), r.hash.clone());
        }
        c.removed = self
            .old
            .files
            .keys()
            .filter(|f| !manifest.files.contains_key(*f))
            .count();
        if self.had_output && !self.old.files.is_empty() {
            self.carry_foreign(&manifest)?;
        }
        let m = self.tmp.path().join(MANIFEST);
        std::fs::write(&m, serde_json::to_vec(&manifest)?)
            .with_context(|| format!("{}: cannot write", m.display()))?;
        swap(self.tmp, &self.out, self.had_output)?;
        Ok(c)
    }

    /// Files in the old output that bloggo did not write (a CNAME, a verification file) are
    /// kept, unless the new build writes the same path.
    fn carry_foreign(&self, new: &Manifest) -> Result<()> {
        let known: HashSet<&str> = self.old.files.keys().map(|s| s.as_str()).collect();
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
            let dst = self.tmp.path().join(&rel);
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

/// Puts `tmp` at `out`. With an existing output the two folders are exchanged in one step and
/// the old one (now at the temporary path) is removed when `tmp` drops.
fn swap(tmp: tempfile::TempDir, out: &Path, had_output: bool) -> Result<()> {
    if !had_output {
        let path = tmp.keep();
        return std::fs::rename(&path, out)
            .with_context(|| format!("{}: cannot move the new site into place", out.display()));
    }
    if exchange(tmp.path(), out).is_ok() {
        return Ok(());
    }
    // No atomic exchange here: move the old folder aside, the new one in, then drop the old.
    let aside = tmp.path().with_extension("old");
    std::fs::rename(out, &aside)
        .with_context(|| format!("{}: cannot move the old site aside", out.display()))?;
    let path = tmp.keep();
    if let Err(e) = std::fs::rename(&path, out) {
        let _ = std::fs::rename(&aside, out);
        let _ = std::fs::remove_dir_all(&path);
        return Err(e).with_context(|| format!("{}: cannot move the new site in", out.display()));
    }
    let _ = std::fs::remove_dir_all(&aside);
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

    #[test]
    fn unchanged_files_are_linked_and_removed_ones_disappear() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let w = Writer::begin(&out, false).unwrap();
        let r = vec![
            w.put("a/index.html", b"a").unwrap(),
            w.put("b.txt", b"b").unwrap(),
        ];
        let c = w.commit(&r).unwrap();
        assert_eq!((c.written, c.unchanged, c.removed), (2, 0, 0));
        std::fs::write(out.join("CNAME"), "example.com").unwrap();

        let w = Writer::begin(&out, false).unwrap();
        let r = vec![
            w.put("a/index.html", b"a").unwrap(),
            w.put("c.txt", b"c").unwrap(),
        ];
        let c = w.commit(&r).unwrap();
        assert_eq!((c.written, c.unchanged, c.removed), (1, 1, 1));
        assert!(!out.join("b.txt").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("CNAME")).unwrap(),
            "example.com"
        );
        let leftovers = std::fs::read_dir(d.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the output folder remains");
    }

    #[test]
    fn a_dropped_build_leaves_the_old_output() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let w = Writer::begin(&out, false).unwrap();
        let r = vec![w.put("index.html", b"old").unwrap()];
        w.commit(&r).unwrap();
        let w = Writer::begin(&out, false).unwrap();
        w.put("index.html", b"new").unwrap();
        drop(w);
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_foreign_folder_is_refused_and_paths_cannot_escape() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        assert!(Writer::begin(d.path(), false).is_err());
        let w = Writer::begin(&d.path().join("out"), false).unwrap();
        assert!(w.put("../x", b"").is_err());
        assert!(w.put("/etc/x", b"").is_err());
    }
}
