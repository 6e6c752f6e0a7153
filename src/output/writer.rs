//! The whole build's output: every file of the new site put into the stage (written, or
//! linked from the live site when its bytes did not change), then swapped in.

use std::path::{Path, PathBuf};

use foldhash::HashSet;

use crate::digest::Digest;

use super::manifest::{
    read_live_manifest, read_manifest, written_by_bloggo, Entry, Manifest, MANIFEST,
};
use super::swap::{
    beside, carry_foreign, finish, foreign_tops, link_into, lock, mirror, owned_by_stage,
    prune_tops, remove_any, remove_emptied_folders, top, write_file, StageGuard,
};
use super::{checked, Committed, Outcome, Record};

use anyhow::{bail, Context, Result};

/// A build's output in progress. Holds a lock so two builds never share a stage.
pub struct Writer {
    out: PathBuf,
    stage: PathBuf,
    /// The live site's manifest.
    live: Manifest,
    /// BLAKE3 of the live manifest's bytes (zeroes when there is no sound one of this version).
    live_digest: Digest,
    /// The stage's manifest (what it holds now).
    staged: Manifest,
    /// The stage's manifest was read: it holds exactly what that manifest lists.
    stage_known: bool,
    /// Removes the stage when the build ends without swapping it in.
    guard: StageGuard,
    had_output: bool,
    clean: bool,
    _lock: std::fs::File,
}

impl Writer {
    /// Starts a build of `out`: locks it, reads its manifest and readies the stage beside it.
    /// An existing, non-empty folder that bloggo did not write is refused (never replaced).
    pub fn begin(out: &Path, clean: bool) -> Result<Writer> {
        let (stage, lock_path) = beside(out)?;
        let had_output = out.exists();
        if had_output {
            if !out.is_dir() {
                bail!(
                    "{}: exists and is not a folder; move it away or pass another --out",
                    out.display()
                );
            }
            if !written_by_bloggo(out) {
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
        // The live manifest is read under the lock: another build may be swapping in its site.
        let lock = lock(&lock_path)?;
        let (live, live_digest) = if had_output {
            read_live_manifest(out)
        } else {
            (None, Digest::default())
        };
        let live = live.unwrap_or_default();
        // The stage's manifest is removed before the stage changes: a build that stops half-way
        // leaves a stage without one, which the next build starts over.
        let staged = if clean { None } else { read_manifest(&stage) };
        let stage_known = staged.is_some();
        // Without a manifest nothing in the stage is trusted, but its files are kept to be
        // overwritten in place and its extra ones pruned at commit: deleting tens of thousands
        // of files and creating them again costs far more (ext4 avoids reusing recently
        // deleted inodes by scanning past them, which made a clean 10,000-post build 3x slower).
        let staged = staged.unwrap_or_default();
        Ok(Writer {
            out: out.to_path_buf(),
            guard: StageGuard::new(&stage),
            stage,
            live,
            live_digest,
            staged,
            stage_known,
            had_output,
            clean,
            _lock: lock,
        })
    }

    /// Readies the stage before its first change: removes its manifest, so a build that stops
    /// half-way leaves a stage without one, which the next build does not trust, and makes the
    /// folder if there is none. Safe to call from many threads; only the first call does
    /// anything.
    pub(super) fn touch(&self) -> Result<()> {
        self.guard.touch()
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
        self.guard.check_room()?;
        self.guard.note(self.put_file(file, bytes))
    }

    pub(super) fn put_file(&self, file: &str, bytes: &[u8]) -> Result<Record> {
        let file = checked(file)?;
        let hash = *blake3::hash(bytes).as_bytes();
        let live_same = !self.clean && self.live.files.get(file).map(|e| e.hash) == Some(hash);
        let record = |outcome| Record {
            file: file.to_string(),
            hash,
            outcome,
            fingerprint: None,
        };
        if self.staged.files.get(file).map(|e| e.hash) == Some(hash) {
            return Ok(record(if live_same {
                Outcome::Unchanged
            } else {
                Outcome::Written
            }));
        }
        self.touch()?;
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

    /// How many files the live site has (by its manifest).
    pub fn live_files(&self) -> usize {
        if self.clean {
            return 0;
        }
        self.live.files.len()
    }

    /// Whether every file the live manifest lists is still in the live folder (someone may
    /// have deleted some by hand).
    pub fn live_files_present(&self) -> bool {
        use rayon::prelude::*;
        let files: Vec<&String> = self.live.files.keys().collect();
        files
            .par_iter()
            .all(|f| std::fs::symlink_metadata(self.out.join(f)).is_ok_and(|m| m.is_file()))
    }

    /// BLAKE3 of the live manifest's bytes as read (`Committed::manifest` of the build that
    /// made the live site); zeroes when there is none of this version.
    pub fn live_digest(&self) -> Digest {
        self.live_digest
    }

    /// The hash of a file of the live site (by its manifest).
    pub fn live_hash(&self, file: &str) -> Option<Digest> {
        self.live.files.get(file).map(|e| e.hash)
    }

    /// The live manifest's entry for `file` when it was made from inputs with this
    /// fingerprint.
    pub(super) fn live_made_from(&self, file: &str, fingerprint: &Digest) -> Option<Entry> {
        let e = self.live.files.get(file)?;
        (!self.clean && e.fingerprint.as_ref() == Some(fingerprint)).then_some(*e)
    }

    /// Whether [`Writer::reuse`] can carry `file` over for this fingerprint: the live
    /// manifest made it from the same inputs and the file is still there.
    pub fn reusable(&self, file: &str, fingerprint: &Digest) -> bool {
        let Some(e) = self.live_made_from(file, fingerprint) else {
            return false;
        };
        self.staged.files.get(file).map(|s| s.hash) == Some(e.hash)
            || std::fs::symlink_metadata(self.out.join(file)).is_ok_and(|m| m.is_file())
    }

    /// Carries a file of the live site over to the new output without making it again, when
    /// the live manifest says it was made from inputs with the same `fingerprint`. `None`
    /// when it cannot (a clean build, another fingerprint, the file is gone): make it and
    /// [`Writer::put`] it.
    pub fn reuse(&self, file: &str, fingerprint: &Digest) -> Result<Option<Record>> {
        self.guard.check_room()?;
        self.guard.note(self.reuse_file(file, fingerprint))
    }

    pub(super) fn reuse_file(&self, file: &str, fingerprint: &Digest) -> Result<Option<Record>> {
        let Some(live) = self.live_made_from(file, fingerprint) else {
            return Ok(None);
        };
        let file = checked(file)?;
        let record = Record {
            file: file.to_string(),
            hash: live.hash,
            outcome: Outcome::Unchanged,
            fingerprint: Some(*fingerprint),
        };
        if self.staged.files.get(file).map(|e| e.hash) == Some(live.hash) {
            return Ok(Some(record));
        }
        self.touch()?;
        let (src, dst) = (self.out.join(file), self.stage.join(file));
        // The common case is one link(2) into a folder that exists and a name that does not
        // (filling a new stage means 18,000 of them for a 10,000-post site); the rest is
        // handled when that first try fails.
        if std::fs::hard_link(&src, &dst).is_ok() {
            return Ok(Some(record));
        }
        if !std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        if let Some(dir) = dst.parent() {
            if std::fs::create_dir_all(dir).is_err() {
                return Ok(None);
            }
        }
        link_into(&src, &dst)?;
        Ok(Some(record))
    }

    /// Removes what is no longer part of the site from the stage, keeps files someone else put
    /// in the live output, writes the manifest and swaps the stage in.
    pub fn commit(mut self, records: Vec<Record>) -> Result<Committed> {
        self.swap_in(records)
            .map_err(|e| self.guard.fail(&self.out, e))
    }

    /// Ends a build that failed: removes the stage if the build changed it, and gives the
    /// full disk's error when a write found the disk full (`None` otherwise: the caller
    /// reports its own errors).
    pub fn abandon(self) -> Option<anyhow::Error> {
        self.guard.abandon(&self.out)
    }

    pub(super) fn swap_in(&mut self, records: Vec<Record>) -> Result<Committed> {
        self.touch()?;
        let mut c = Committed::default();
        let mut manifest = Manifest::default();
        manifest.files.reserve(records.len());
        for r in records {
            match r.outcome {
                Outcome::Written => c.written += 1,
                Outcome::Unchanged => c.unchanged += 1,
            }
            let e = Entry {
                hash: r.hash,
                fingerprint: r.fingerprint,
            };
            manifest.files.insert(r.file, e);
        }
        c.removed = self
            .live
            .files
            .keys()
            .filter(|f| !manifest.files.contains_key(*f))
            .count();
        if self.had_output {
            // Tops of the live site's files are not foreign: the new site drops them.
            let ours: HashSet<&str> = (self.live.files.keys())
                .chain(manifest.files.keys())
                .map(|f| top(f))
                .collect();
            manifest.foreign = foreign_tops(&self.out, |name| ours.contains(name))?;
        }
        self.prune(&manifest)?;
        carry_foreign(&self.out, &self.stage, &manifest.foreign)?;
        let bytes = manifest.encode();
        c.manifest = finish(&self.stage, &self.out, &bytes, self.had_output)?;
        self.guard.kept = true;
        if !self.had_output {
            // The swap left no stage: make one now (see `mirror`). It only saves time later;
            // a copy cut short (a full disk) is removed.
            if mirror(&self.out, &self.stage, &manifest, &bytes).is_err() {
                let _ = remove_any(&self.stage);
            }
        }
        // Freeing tens of thousands of paths takes milliseconds nobody needs to wait for.
        let (live, staged) = (
            std::mem::take(&mut self.live),
            std::mem::take(&mut self.staged),
        );
        std::thread::spawn(move || drop((live, staged, manifest)));
        Ok(c)
    }

    /// Deletes every file and empty folder of the stage that the new site does not have:
    /// from the stage's manifest when it has one, else by walking the stage.
    pub(super) fn prune(&self, new: &Manifest) -> Result<()> {
        if !self.stage_known {
            return self.prune_by_walking(new);
        }
        // Top-level entries that are neither the new site's nor carried from the live site:
        // foreign entries carried last time, or added by hand while the stage was live.
        let ours: HashSet<&str> = new
            .files
            .keys()
            .map(|f| top(f))
            .chain(new.foreign.iter().map(String::as_str))
            .collect();
        prune_tops(&self.stage, |name| ours.contains(name))?;
        for file in self.staged.files.keys() {
            if new.files.contains_key(file) {
                continue;
            }
            let p = self.stage.join(file);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                // Gone already, a file now stands where its folder was, or a folder of the new
                // site where it was.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound
                            | std::io::ErrorKind::NotADirectory
                            | std::io::ErrorKind::IsADirectory
                    ) => {}
                Err(e) => return Err(e).with_context(|| format!("{}: cannot remove", p.display())),
            }
            remove_emptied_folders(&self.stage, &p);
        }
        Ok(())
    }

    /// [`Writer::prune`] for a stage whose content is not known (a clean build, or one after
    /// a build that stopped half-way).
    pub(super) fn prune_by_walking(&self, new: &Manifest) -> Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{read_manifest, MANIFEST, OLD_MANIFEST};
    use super::super::testing::{build, expect, files};
    use super::super::{Patch, Record};
    use super::Writer;

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
    fn a_failed_build_removes_the_stage_it_changed_and_keeps_one_it_did_not() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "two")]);
        assert!(read_manifest(&stage).is_some(), "a kept stage");

        // Dropped before it changed the stage: the kept stage stays, manifest and all.
        let w = Writer::begin(&out, false).unwrap();
        assert!(w.abandon().is_none());
        assert!(read_manifest(&stage).is_some());

        // Dropped after writing into it (an error elsewhere, a panic): the stage goes, the
        // live site stays, and the next build makes the stage again.
        let w = Writer::begin(&out, false).unwrap();
        w.put("x.html", b"three").unwrap();
        w.put("y.html", b"new").unwrap();
        drop(w);
        assert!(!stage.exists());
        expect(&out, &[("x.html", "two")]);
        build(&out, &[("x.html", "four")]);
        expect(&out, &[("x.html", "four")]);
        assert_eq!(files(&stage)["x.html"], "two");

        // The same for a patch.
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert!(p.can_commit());
        p.put("x.html", b"five", None).unwrap();
        drop(p);
        assert!(!stage.exists());
        expect(&out, &[("x.html", "four")]);
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
    fn foreign_folders_are_kept_and_what_their_owner_removes_goes() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "i"), ("posts/a/index.html", "a")]);
        std::fs::create_dir_all(out.join(".well-known/acme")).unwrap();
        std::fs::write(out.join(".well-known/acme/token"), "t").unwrap();
        std::fs::write(out.join("google1.html"), "g").unwrap();
        build(&out, &[("index.html", "i2"), ("posts/a/index.html", "a")]);
        let got = files(&out);
        assert_eq!(got[".well-known/acme/token"], "t");
        assert_eq!(got["google1.html"], "g");
        std::fs::remove_file(out.join("google1.html")).unwrap();
        for step in ["i3", "i4", "i5"] {
            build(&out, &[("index.html", step), ("posts/a/index.html", "a")]);
            let got = files(&out);
            assert!(!got.contains_key("google1.html"), "{step}: {got:?}");
            assert_eq!(got[".well-known/acme/token"], "t", "{step}");
        }
        // Added by hand inside a folder bloggo writes: not part of the site; a clean build
        // removes it.
        std::fs::write(out.join("posts/a/notes.txt"), "n").unwrap();
        let w = Writer::begin(&out, true).unwrap();
        let r = vec![
            w.put("index.html", b"i5").unwrap(),
            w.put("posts/a/index.html", b"a").unwrap(),
        ];
        w.commit(r).unwrap();
        let got = files(&out);
        assert!(!got.contains_key("posts/a/notes.txt"), "{got:?}");
        assert_eq!(got[".well-known/acme/token"], "t");
        // A page that goes takes its folder with it.
        build(&out, &[("index.html", "i6")]);
        build(&out, &[("index.html", "i7")]);
        assert!(!out.join("posts").exists());
        assert!(!d.path().join(".public.bloggo-stage/posts").exists());
    }

    #[test]
    fn an_output_of_an_earlier_version_is_taken_over() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        std::fs::create_dir_all(out.join("posts/a")).unwrap();
        std::fs::write(out.join("posts/a/index.html"), "old").unwrap();
        let hash = blake3::hash(b"old").to_hex();
        let old = format!("{{\"version\":1,\"files\":{{\"posts/a/index.html\":\"{hash}\"}}}}");
        std::fs::write(out.join(OLD_MANIFEST), old).unwrap();
        build(&out, &[("index.html", "i")]);
        build(&out, &[("index.html", "i2")]);
        expect(&out, &[("index.html", "i2")]);
        assert!(!out.join(OLD_MANIFEST).exists());
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
        // A dropped clean build as well (it once left the stage's manifest in place).
        let w = Writer::begin(&out, true).unwrap();
        w.put("index.html", b"half").unwrap();
        drop(w);
        build(&out, &[("index.html", "newer"), ("p.html", "p")]);
        expect(&out, &[("index.html", "newer"), ("p.html", "p")]);
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
        w.commit(r).unwrap();
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
