//! The patching build's output: a few files of the live site replaced, every other kept.

use std::path::{Path, PathBuf};

use crate::digest::Digest;

use super::manifest::{digest_of, encode_entry, encode_foreign, utf8, Entry, Layout, MANIFEST};
use super::swap::{
    beside, carry_foreign, finish, foreign_tops, link_into, lock, prune_tops, remove_any,
    remove_emptied_folders, write_file, StageGuard,
};
use super::{checked, Committed};

use anyhow::{bail, Context, Result};

/// A build that replaces a few files of the live site and keeps every other one: the delta
/// counterpart of [`Writer`], with the same guarantees (readers see the old site or the new
/// one; a patch that fails or is dropped leaves the live site untouched and the stage without
/// a manifest, which no later build trusts). Nothing it does grows with the site but reading
/// and writing the manifest: both manifests are read as bytes and walked side by side, and
/// the new one is the live one with the put entries replaced.
pub struct Patch {
    out: PathBuf,
    stage: PathBuf,
    /// The live manifest's bytes, and where its parts are.
    live: Vec<u8>,
    layout: Layout,
    live_digest: Digest,
    /// How the stage is brought to the live site at commit; `None` when it cannot be (see
    /// [`Patch::can_commit`]).
    catch_up: Option<CatchUp>,
    /// The files put, in the order put.
    puts: Vec<Put>,
    /// Removes the stage when the patch ends without swapping it in.
    guard: StageGuard,
    _lock: std::fs::File,
}

/// What the stage lacks of the live site.
pub(super) struct CatchUp {
    /// The files (by position in the live manifest) whose staged bytes are not the live ones,
    /// or that the stage lacks: what the last build changed, brought into the stage at commit.
    pub(super) behind: Vec<usize>,
    /// Files of the stage the live site does not have, removed from it at commit.
    pub(super) extra: Vec<String>,
}

/// A file put into a [`Patch`].
pub(super) struct Put {
    /// Its position in the live manifest.
    pub(super) index: usize,
    pub(super) entry: Entry,
    /// Its bytes differ from the live file's and were written into the stage.
    pub(super) written: bool,
}

impl Patch {
    /// Starts a patch of the site at `out`: locks it (as [`Writer::begin`] does) and reads
    /// both manifests. `Ok(None)` when the live site cannot be patched and the caller must use
    /// [`Writer`]: a `clean` request, no live manifest of this version, no sound stage manifest
    /// (an unknown or half-built stage), the two manifests listing different files, or a live
    /// file the stage must take missing (removed by hand).
    pub fn begin(out: &Path, clean: bool) -> Result<Option<Patch>> {
        if clean || !out.join(MANIFEST).is_file() {
            return Ok(None);
        }
        let (stage, lock_path) = beside(out)?;
        let lock = lock(&lock_path)?;
        let Some((live, layout)) = read_layout(out) else {
            return Ok(None);
        };
        let catch_up = std::fs::read(stage.join(MANIFEST))
            .ok()
            .and_then(|staged| catch_up(out, &live, &layout, &staged));
        Ok(Some(Patch {
            out: out.to_path_buf(),
            guard: StageGuard::new(&stage),
            stage,
            live_digest: digest_of(&live),
            live,
            layout,
            catch_up,
            puts: Vec::new(),
            _lock: lock,
        }))
    }

    /// Whether the stage can be brought up to date and swapped in: it has a sound manifest,
    /// and every live file it must take is there. Without it, a patch can still tell what the
    /// live site holds (a build with nothing to change needs no more), but not put anything.
    pub fn can_commit(&self) -> bool {
        self.catch_up.is_some()
    }

    /// BLAKE3 of the live manifest's bytes: which build made the live site (its
    /// `Committed::manifest`).
    pub fn live_digest(&self) -> Digest {
        self.live_digest
    }

    /// The live manifest's entry for `file`: `None` when it is not a file of the site,
    /// `Some(None)` when it was made without a fingerprint.
    pub fn live_fingerprint(&self, file: &str) -> Option<Option<Digest>> {
        let i = self.layout.find(&self.live, file)?;
        Some(self.layout.entry(&self.live, i).1.fingerprint)
    }

    /// Puts new bytes for a file the live site has, with the fingerprint of what they were made
    /// from; an error for a file it does not have, or one put twice. Bytes equal to the live
    /// file's count as unchanged (only the fingerprint changes in the manifest); others replace
    /// the staged file (never written in place: it may share its inode with the live one).
    pub fn put(&mut self, file: &str, bytes: &[u8], fingerprint: Option<Digest>) -> Result<()> {
        let file = checked(file)?;
        if !self.can_commit() {
            bail!(
                "{}: the stage beside it cannot be patched; only a full build can change the site",
                self.out.display()
            );
        }
        let Some(index) = self.layout.find(&self.live, file) else {
            bail!(
                "{file} is not a file of the site in {}: only a full build can add it",
                self.out.display()
            );
        };
        if self.puts.iter().any(|p| p.index == index) {
            bail!(
                "{file} was put twice into one build of {}",
                self.out.display()
            );
        }
        let hash = digest_of(bytes);
        let written = hash != self.layout.entry(&self.live, index).1.hash;
        if written {
            self.write_staged(file, bytes)
                .map_err(|e| self.guard.fail(&self.out, e))?;
        }
        let entry = Entry { hash, fingerprint };
        self.puts.push(Put {
            index,
            entry,
            written,
        });
        Ok(())
    }

    /// Replaces a file of the stage (never written in place: it may share its inode with the
    /// live one).
    pub(super) fn write_staged(&self, file: &str, bytes: &[u8]) -> Result<()> {
        self.guard.touch()?;
        let dst = self.stage.join(file);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        write_file(&dst, bytes).with_context(|| format!("{}: cannot write", dst.display()))
    }

    /// Brings the stage to the new site (the last build's changes linked from the live site,
    /// the foreign entries carried), writes its manifest and swaps it in.
    pub fn commit(mut self) -> Result<Committed> {
        if !self.can_commit() {
            bail!(
                "{}: the stage beside it cannot be patched; only a full build can change the site",
                self.out.display()
            );
        }
        self.swap_in().map_err(|e| self.guard.fail(&self.out, e))
    }

    pub(super) fn swap_in(&mut self) -> Result<Committed> {
        self.guard.touch()?;
        let (out, stage) = (self.out.clone(), self.stage.clone());
        let (live, layout) = (&self.live, &self.layout);
        let mut puts = std::mem::take(&mut self.puts);
        let CatchUp { behind, extra } = self.catch_up.take().expect("checked by can_commit");
        puts.sort_unstable_by_key(|p| p.index);
        // The stage holds the site as of the build before last.
        for file in &extra {
            let dst = stage.join(file);
            remove_any(&dst).with_context(|| format!("{}: cannot remove", dst.display()))?;
            remove_emptied_folders(&stage, &dst);
        }
        for i in behind {
            let put = puts.binary_search_by_key(&i, |p| p.index).ok();
            if put.is_some_and(|k| puts[k].written) {
                continue;
            }
            let file = layout.entry(live, i).0;
            let dst = stage.join(file);
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: cannot create", dir.display()))?;
            }
            link_into(&out.join(file), &dst)?;
        }
        // The site's top-level names: each one's files are side by side in name order.
        let mut tops: Vec<&[u8]> = Vec::new();
        for i in 0..layout.len() {
            let file = layout.raw(live, i).0;
            let t = file.split(|&c| c == b'/').next().unwrap_or(file);
            if tops.last() != Some(&t) {
                tops.push(t);
            }
        }
        tops.sort_unstable();
        tops.dedup();
        let tops: Vec<&str> = tops.into_iter().map(utf8).collect();
        let ours = |name: &str| tops.binary_search(&name).is_ok();
        let foreign = foreign_tops(&out, ours)?;
        prune_tops(&stage, |name| {
            ours(name) || foreign.iter().any(|f| f == name)
        })?;
        carry_foreign(&out, &stage, &foreign)?;

        let mut manifest = Vec::with_capacity(live.len() + puts.len() * 33);
        let mut from = 0;
        for p in &puts {
            manifest.extend_from_slice(&live[from..layout.files[p.index]]);
            encode_entry(&mut manifest, layout.entry(live, p.index).0, &p.entry);
            from = layout.end(p.index);
        }
        manifest.extend_from_slice(&live[from..layout.foreign]);
        encode_foreign(&mut manifest, &foreign);
        let digest = finish(&stage, &out, &manifest, true)?;
        self.guard.kept = true;
        let written = puts.iter().filter(|p| p.written).count();
        Ok(Committed {
            written,
            unchanged: layout.len() - written,
            removed: 0,
            manifest: digest,
        })
    }
}

/// What the stage (whose manifest is `staged`) must take from the live site and drop to hold
/// it; `None` when that cannot be done safely (see [`Patch::can_commit`]).
pub(super) fn catch_up(out: &Path, live: &[u8], layout: &Layout, staged: &[u8]) -> Option<CatchUp> {
    let (behind, extra) = layout.behind(live, staged)?;
    let extra: Vec<String> = extra.into_iter().map(str::to_string).collect();
    if extra.iter().any(|f| checked(f).is_err()) {
        return None;
    }
    for &i in &behind {
        let file = layout.entry(live, i).0;
        let present = checked(file).is_ok()
            && std::fs::symlink_metadata(out.join(file)).is_ok_and(|m| m.is_file());
        if !present {
            return None;
        }
    }
    Some(CatchUp { behind, extra })
}

/// A folder's manifest of this version, as bytes, and where its parts are.
pub(super) fn read_layout(dir: &Path) -> Option<(Vec<u8>, Layout)> {
    let bytes = std::fs::read(dir.join(MANIFEST)).ok()?;
    let layout = Layout::of(&bytes)?;
    Some((bytes, layout))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::manifest::{digest_of, Layout, Manifest, MANIFEST, OLD_MANIFEST};
    use super::super::testing::{build, expect, files};
    use super::super::{Committed, Record, Writer};
    use super::Patch;
    use crate::digest::Digest;

    /// A Writer build whose pages carry fingerprints.
    fn build_fp(out: &Path, pages: &[(&str, &str, Option<Digest>)]) -> Committed {
        let w = Writer::begin(out, false).unwrap();
        let r: Vec<Record> = pages
            .iter()
            .map(|(f, b, fingerprint)| Record {
                fingerprint: *fingerprint,
                ..w.put(f, b.as_bytes()).unwrap()
            })
            .collect();
        w.commit(r).unwrap()
    }

    fn patch(out: &Path, puts: &[(&str, &str, Option<Digest>)]) -> Committed {
        let mut p = Patch::begin(out, false).unwrap().expect("a site to patch");
        for (f, b, fingerprint) in puts {
            p.put(f, b.as_bytes(), *fingerprint).unwrap();
        }
        p.commit().unwrap()
    }

    fn manifest_bytes(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(MANIFEST)).unwrap()
    }

    fn can_patch(out: &Path) -> bool {
        Patch::begin(out, false)
            .unwrap()
            .is_some_and(|p| p.can_commit())
    }

    #[test]
    fn a_patch_makes_the_same_site_and_manifest_as_a_full_build() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let fp = |n: u8| Some([n; 32]);
        build_fp(
            &out,
            &[
                ("index.html", "i1", fp(1)),
                ("posts/a/index.html", "a1", fp(2)),
                ("posts/b/index.html", "b1", None),
                ("style.css", "s", None),
            ],
        );
        build_fp(
            &out,
            &[
                ("index.html", "i2", fp(3)),
                ("posts/a/index.html", "a1", fp(2)),
                ("posts/b/index.html", "b1", None),
                ("style.css", "s", None),
            ],
        );
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert_eq!(p.live_fingerprint("index.html"), Some(fp(3)));
        assert_eq!(p.live_fingerprint("posts/b/index.html"), Some(None));
        assert_eq!(p.live_fingerprint("posts/c/index.html"), None);
        p.put("posts/a/index.html", b"a2", fp(4)).unwrap();
        // The same bytes made from other inputs: only the manifest changes.
        p.put("posts/b/index.html", b"b1", fp(5)).unwrap();
        let c = p.commit().unwrap();
        let site = [
            ("index.html", "i2", fp(3)),
            ("posts/a/index.html", "a2", fp(4)),
            ("posts/b/index.html", "b1", fp(5)),
            ("style.css", "s", None),
        ];
        let texts: Vec<(&str, &str)> = site.iter().map(|(f, b, _)| (*f, *b)).collect();
        expect(&out, &texts);
        assert_eq!((c.written, c.unchanged, c.removed), (1, 3, 0));
        let full = d.path().join("full");
        build_fp(&full, &site);
        assert_eq!(manifest_bytes(&out), manifest_bytes(&full));
        // The previous site is the stage now, and the next builds start from it.
        let c = patch(&out, &[("style.css", "s2", None)]);
        assert_eq!((c.written, c.unchanged), (1, 3));
        expect(
            &out,
            &[
                ("index.html", "i2"),
                ("posts/a/index.html", "a2"),
                ("posts/b/index.html", "b1"),
                ("style.css", "s2"),
            ],
        );
        build(&out, &[("index.html", "i3"), ("style.css", "s2")]);
        expect(&out, &[("index.html", "i3"), ("style.css", "s2")]);
    }

    #[test]
    fn a_patch_brings_the_changes_of_the_build_before_into_the_stage() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        // Each patch starts from a stage one build behind the live site.
        patch(&out, &[("a.html", "a2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        patch(&out, &[("b.html", "b2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b2"), ("c/d.html", "d1")],
        );
        patch(&out, &[("c/d.html", "d2", None), ("a.html", "a3", None)]);
        expect(
            &out,
            &[("a.html", "a3"), ("b.html", "b2"), ("c/d.html", "d2")],
        );
        // Back to a version the stage holds.
        patch(&out, &[("a.html", "a2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b2"), ("c/d.html", "d2")],
        );
        assert_eq!(files(&stage)["a.html"], "a3");
        build(
            &out,
            &[("a.html", "a2"), ("b.html", "b3"), ("c/d.html", "d2")],
        );
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b3"), ("c/d.html", "d2")],
        );
    }

    #[test]
    fn a_patch_after_a_build_that_added_and_removed_files_catches_the_stage_up() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("a.html", "a1"), ("gone/x.html", "x"), ("f", "f")]);
        assert_eq!(
            files(&stage),
            files(&out),
            "the new folder's stage is its copy"
        );
        // The stage (one build behind) has files the live site dropped, lacks new ones, and
        // has a file where the site now has a folder.
        build(
            &out,
            &[
                ("a.html", "a1"),
                ("b/new.html", "n"),
                ("f/index.html", "f2"),
            ],
        );
        patch(&out, &[("a.html", "a2", None)]);
        let want = [
            ("a.html", "a2"),
            ("b/new.html", "n"),
            ("f/index.html", "f2"),
        ];
        expect(&out, &want);
        assert!(!out.join("gone").exists(), "an emptied folder goes too");
        // And the next patch starts from a stage that is the site before.
        patch(&out, &[("b/new.html", "n2", None)]);
        expect(
            &out,
            &[
                ("a.html", "a2"),
                ("b/new.html", "n2"),
                ("f/index.html", "f2"),
            ],
        );
        expect(&stage, &want);
    }

    #[test]
    fn a_patch_never_writes_the_previous_site_through_a_shared_link() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "one")]); // the stage now links to the live file
        patch(&out, &[("x.html", "two", None)]);
        expect(&out, &[("x.html", "two")]);
        let stage = d.path().join(".public.bloggo-stage");
        assert_eq!(files(&stage)["x.html"], "one");
    }

    #[test]
    fn a_put_of_a_file_the_site_does_not_have_fails_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let site = [("index.html", "i1"), ("p/index.html", "p1")];
        build(&out, &site);
        build(&out, &site);
        let before = manifest_bytes(&out);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        p.put("index.html", b"i2", None).unwrap();
        let e = p.put("new/index.html", b"n", None).unwrap_err();
        assert!(e.to_string().contains("new/index.html"), "{e}");
        assert!(p.put("p", b"a folder", None).is_err());
        assert!(p.put("../index.html", b"x", None).is_err());
        assert!(p.put("index.html", b"i3", None).is_err(), "put twice");
        expect(&out, &site);
        assert_eq!(manifest_bytes(&out), before);
        // What was put before the errors is committed, and nothing else.
        p.commit().unwrap();
        expect(&out, &[("index.html", "i2"), ("p/index.html", "p1")]);
    }

    #[test]
    fn a_dropped_patch_leaves_the_live_site_and_the_next_build_recovers() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("a.html", "a1"), ("b.html", "b1")]);
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        let before = manifest_bytes(&out);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        p.put("b.html", b"half", None).unwrap();
        drop(p);
        expect(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        assert_eq!(manifest_bytes(&out), before);
        // The stage changed: it is not trusted any more, by a patch or a full build.
        assert!(!stage.join(MANIFEST).exists());
        assert!(!can_patch(&out));
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        expect(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        patch(&out, &[("b.html", "b2", None)]);
        expect(&out, &[("a.html", "a2"), ("b.html", "b2")]);
        // A patch dropped before it changed anything leaves the stage trusted.
        let p = Patch::begin(&out, false).unwrap().unwrap();
        drop(p);
        assert!(can_patch(&out));
    }

    #[test]
    fn a_site_that_cannot_be_patched_is_left_to_a_full_build() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        assert!(!can_patch(&out), "no site");
        build(&out, &[("a.html", "a")]);
        assert!(can_patch(&out), "a build into a new folder leaves a stage");
        std::fs::remove_dir_all(&stage).unwrap();
        assert!(!can_patch(&out), "no stage");
        // Without a stage the live site can still be read, not changed.
        let mut p = Patch::begin(&out, false)
            .unwrap()
            .expect("a sound live manifest");
        assert_eq!(p.live_fingerprint("a.html"), Some(None));
        assert!(p.put("a.html", b"z", None).is_err());
        assert!(p.commit().is_err());
        expect(&out, &[("a.html", "a")]);
        build(&out, &[("a.html", "a"), ("c.html", "b")]);
        build(&out, &[("a.html", "a"), ("c.html", "b")]);
        assert!(can_patch(&out));
        assert!(Patch::begin(&out, true).unwrap().is_none(), "a clean build");

        let live = manifest_bytes(&out);
        std::fs::write(out.join(MANIFEST), &live[..live.len() - 1]).unwrap();
        assert!(!can_patch(&out), "a damaged live manifest");
        std::fs::write(out.join(MANIFEST), &live).unwrap();
        let staged = manifest_bytes(&stage);
        std::fs::write(stage.join(MANIFEST), &staged[..staged.len() - 1]).unwrap();
        assert!(!can_patch(&out), "a damaged stage manifest");
        std::fs::write(stage.join(MANIFEST), &staged).unwrap();
        assert!(can_patch(&out));

        // A live file the stage must take was removed by hand.
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        assert!(can_patch(&out));
        std::fs::remove_file(out.join("a.html")).unwrap();
        assert!(!can_patch(&out), "a live file is missing");
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        assert!(can_patch(&out));

        // The manifest of an earlier version.
        std::fs::remove_file(out.join(MANIFEST)).unwrap();
        let hash = |b: &[u8]| blake3::hash(b).to_hex();
        let old = format!(
            "{{\"version\":1,\"files\":{{\"a.html\":\"{}\",\"c.html\":\"{}\"}}}}",
            hash(b"a2"),
            hash(b"b")
        );
        std::fs::write(out.join(OLD_MANIFEST), old).unwrap();
        assert!(!can_patch(&out), "an old JSON manifest");
    }

    #[test]
    fn a_patch_keeps_foreign_entries_and_drops_what_their_owner_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let site = [("index.html", "i"), ("posts/a/index.html", "a")];
        build(&out, &site);
        std::fs::write(out.join("CNAME"), "example.com").unwrap();
        std::fs::create_dir_all(out.join(".well-known/acme")).unwrap();
        std::fs::write(out.join(".well-known/acme/token"), "t").unwrap();
        build(&out, &site);
        // Added after the last build: the stage has never seen it.
        std::fs::write(out.join("google1.html"), "g").unwrap();
        patch(&out, &[("index.html", "i2", None)]);
        let got = files(&out);
        assert_eq!(got["CNAME"], "example.com");
        assert_eq!(got[".well-known/acme/token"], "t");
        assert_eq!(got["google1.html"], "g");
        assert_eq!(got["index.html"], "i2");
        let m = Manifest::decode(&manifest_bytes(&out)).unwrap();
        assert_eq!(m.foreign, [".well-known", "CNAME", "google1.html"]);
        // Removed by its owner: the stage (the site before) still has it, the next site not.
        std::fs::remove_file(out.join("google1.html")).unwrap();
        for step in ["i3", "i4"] {
            patch(&out, &[("index.html", step, None)]);
            let got = files(&out);
            assert!(!got.contains_key("google1.html"), "{step}: {got:?}");
            assert_eq!(got["CNAME"], "example.com", "{step}");
            assert_eq!(got[".well-known/acme/token"], "t", "{step}");
        }
        // The same manifest as a full build of the same site with the same foreign entries.
        let full = d.path().join("full");
        build(&full, &[("index.html", "i4"), ("posts/a/index.html", "a")]);
        std::fs::write(full.join("CNAME"), "example.com").unwrap();
        std::fs::create_dir_all(full.join(".well-known/acme")).unwrap();
        std::fs::write(full.join(".well-known/acme/token"), "t").unwrap();
        build(&full, &[("index.html", "i4"), ("posts/a/index.html", "a")]);
        assert_eq!(manifest_bytes(&out), manifest_bytes(&full));
    }

    #[test]
    fn the_live_digest_names_the_build_that_made_the_live_site() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        assert_eq!(Writer::begin(&out, false).unwrap().live_digest(), [0; 32]);
        let c1 = build(&out, &[("a.html", "a1"), ("b.html", "b1")]);
        assert_eq!(c1.manifest, digest_of(&manifest_bytes(&out)));
        assert_eq!(
            Writer::begin(&out, false).unwrap().live_digest(),
            c1.manifest
        );
        let c2 = build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        assert_ne!(c2.manifest, c1.manifest);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert_eq!(p.live_digest(), c2.manifest);
        p.put("b.html", b"b2", None).unwrap();
        let c3 = p.commit().unwrap();
        assert_eq!(c3.manifest, digest_of(&manifest_bytes(&out)));
        assert_ne!(c3.manifest, c2.manifest);
        assert_eq!(
            Writer::begin(&out, false).unwrap().live_digest(),
            c3.manifest
        );
        assert_eq!(
            Patch::begin(&out, false).unwrap().unwrap().live_digest(),
            c3.manifest
        );
    }

    /// Figures for the delta path on a site of 18,000 files (a 10,000-post blog):
    /// `cargo test --release --lib output::patch::tests::patch_timings -- --ignored --nocapture`
    #[test]
    #[ignore = "timings, run by hand in a release build"]
    fn patch_timings() {
        use std::time::Instant;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let mut pages: Vec<String> = Vec::new();
        for i in 0..10_000 {
            pages.push(format!(
                "posts/2024-03-{:02}-a-post-title-{i}/index.html",
                i % 28 + 1
            ));
        }
        for i in 0..5_000 {
            pages.push(format!("tags/tag-{i}/index.html"));
        }
        for i in 0..2_990 {
            pages.push(format!("page/{i}/index.html"));
        }
        for f in [
            "index.html",
            "atom.xml",
            "sitemap.xml",
            "robots.txt",
            "404.html",
        ] {
            pages.push(f.to_string());
        }
        for i in 0..5 {
            pages.push(format!("static/file-{i}.css"));
        }
        let fingerprint = |f: &str| Some(digest_of(f.as_bytes()));
        for _ in 0..2 {
            let w = Writer::begin(&out, false).unwrap();
            let r: Vec<Record> = pages
                .iter()
                .map(|f| Record {
                    fingerprint: fingerprint(f),
                    ..w.put(f, f.as_bytes()).unwrap()
                })
                .collect();
            w.commit(r).unwrap();
        }
        let t = Instant::now();
        drop(Writer::begin(&out, false).unwrap());
        let writer_begin = t.elapsed();
        println!(
            "{} files, manifest {} bytes; Writer::begin {writer_begin:?}",
            pages.len(),
            manifest_bytes(&out).len()
        );
        for round in 0..8 {
            let t = Instant::now();
            let mut p = Patch::begin(&out, false).unwrap().unwrap();
            let begin = t.elapsed();
            let t = Instant::now();
            for k in 0..3 {
                let f = &pages[(round * 3 + k) * 997 % pages.len()];
                p.put(
                    f,
                    format!("{f} {round}").as_bytes(),
                    fingerprint(&format!("{round}")),
                )
                .unwrap();
            }
            let put = t.elapsed();
            let t = Instant::now();
            let c = p.commit().unwrap();
            let commit = t.elapsed();
            assert_eq!(c.written, 3);
            println!(
                "patch {round}: begin {begin:?}, 3 puts {put:?}, commit {commit:?}, \
                 begin + commit {:?}",
                begin + commit
            );
        }
        // Where begin's time goes.
        let stage = d.path().join(".public.bloggo-stage");
        let t = Instant::now();
        let live = std::fs::read(out.join(MANIFEST)).unwrap();
        let read_live = t.elapsed();
        let t = Instant::now();
        let layout = Layout::of(&live).unwrap();
        let lay = t.elapsed();
        let t = Instant::now();
        let staged = std::fs::read(stage.join(MANIFEST)).unwrap();
        let read_staged = t.elapsed();
        let t = Instant::now();
        let behind = layout.behind(&live, &staged).unwrap();
        let lockstep = t.elapsed();
        let t = Instant::now();
        let digest = digest_of(&live);
        let hash = t.elapsed();
        let t = Instant::now();
        std::fs::write(d.path().join("copy"), &live).unwrap();
        let write = t.elapsed();
        println!(
            "begin's parts: read live {read_live:?}, Layout::of {lay:?}, read stage \
             {read_staged:?}, lockstep {lockstep:?} ({} behind), BLAKE3 {hash:?} ({}); \
             writing the manifest {write:?}",
            behind.0.len(),
            digest[0]
        );
    }
}
