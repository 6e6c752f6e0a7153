//! The manifest: which files an output folder holds, with the content hash and fingerprint
//! of each, encoded so it can be read without being decoded whole (see [`Layout`]).

// foldhash: the manifests are maps of tens of thousands of paths, built and probed on every
// build; SipHash (std's default, made to resist hash flooding) cost more than the lookups.
// The keys are the site's own file names, not input from the network.
use std::path::Path;

use foldhash::{HashMap, HashMapExt};

use crate::digest::Digest;

/// The manifest of the output's files and their content hashes, inside the output folder (so it
/// is swapped together with the files it describes).
pub const MANIFEST: &str = ".bloggo-manifest";
/// The JSON manifest of earlier versions: still proof that bloggo wrote a folder.
pub(super) const OLD_MANIFEST: &str = ".bloggo-manifest.json";
pub(super) const MANIFEST_MAGIC: &[u8] = b"bloggo-output-manifest-2\n";

/// What the manifest knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// BLAKE3 of the file's bytes.
    pub(super) hash: Digest,
    /// Fingerprint of what it was made from (see [`Writer::reuse`]).
    pub(super) fingerprint: Option<Digest>,
}

#[derive(Debug, Default)]
pub(super) struct Manifest {
    /// Site-relative file → its entry.
    pub(super) files: HashMap<String, Entry>,
    /// Top-level entries of the folder that bloggo did not write, carried from the live site.
    pub(super) foreign: Vec<String>,
}

impl Manifest {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut files: Vec<(&String, &Entry)> = self.files.iter().collect();
        files.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::with_capacity(MANIFEST_MAGIC.len() + files.len() * 120);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&(files.len() as u64).to_le_bytes());
        for (f, e) in files {
            encode_entry(&mut out, f, e);
        }
        encode_foreign(&mut out, &self.foreign);
        out
    }

    /// `None` unless `b` is a whole, sound manifest.
    pub(super) fn decode(b: &[u8]) -> Option<Manifest> {
        let layout = Layout::of(b)?;
        let mut files = HashMap::with_capacity(layout.len());
        for i in 0..layout.len() {
            let (file, e) = layout.entry(b, i);
            files.insert(file.to_string(), e);
        }
        let foreign = layout.foreign(b).map(str::to_string).collect();
        Some(Manifest { files, foreign })
    }
}

/// A name of a manifest [`Layout::of`] checked.
pub(super) fn utf8(name: &[u8]) -> &str {
    std::str::from_utf8(name).expect("Layout::of checked the names")
}

/// Appends a length-prefixed text to a manifest.
pub(super) fn encode_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Appends one file's entry to a manifest.
pub(super) fn encode_entry(out: &mut Vec<u8>, file: &str, e: &Entry) {
    encode_text(out, file);
    out.extend_from_slice(&e.hash);
    match &e.fingerprint {
        Some(fp) => {
            out.push(1);
            out.extend_from_slice(fp);
        }
        None => out.push(0),
    }
}

/// Appends the list of foreign entries, a manifest's last part.
pub(super) fn encode_foreign(out: &mut Vec<u8>, foreign: &[String]) {
    out.extend_from_slice(&(foreign.len() as u64).to_le_bytes());
    for f in foreign {
        encode_text(out, f);
    }
}

/// Reads a manifest's bytes front to back.
pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A length-prefixed text, as bytes.
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(n)
    }
    pub(super) fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    pub(super) fn digest(&mut self) -> Option<Digest> {
        self.take(32)?.try_into().ok()
    }
    /// One file's entry; its name as bytes, not yet checked to be UTF-8.
    pub(super) fn entry(&mut self) -> Option<(&'a [u8], Entry)> {
        let file = self.bytes()?;
        let hash = self.digest()?;
        let fingerprint = match self.take(1)?[0] {
            0 => None,
            1 => Some(self.digest()?),
            _ => return None,
        };
        Some((file, Entry { hash, fingerprint }))
    }
}

/// Where the parts of a sound manifest start in its bytes: enough to read it without
/// decoding it into a map (see [`Patch`]).
pub(super) struct Layout {
    /// Where each file's entry starts, in file-name order.
    pub(super) files: Vec<usize>,
    /// Where the list of foreign entries starts (where the last file's entry ends).
    pub(super) foreign: usize,
}

impl Layout {
    /// `None` unless `b` is a whole, sound manifest with its files in strict name order (as
    /// [`Manifest::encode`] writes them).
    pub(super) fn of(b: &[u8]) -> Option<Layout> {
        let mut r = Reader {
            b,
            at: MANIFEST_MAGIC.len(),
        };
        if !b.starts_with(MANIFEST_MAGIC) {
            return None;
        }
        let n = usize::try_from(r.u64()?).ok()?;
        // An entry takes at least 37 bytes: a hostile count cannot reserve more than the file.
        let mut files = Vec::with_capacity(n.min(b.len() / 37));
        let mut last: Option<&[u8]> = None;
        for _ in 0..n {
            files.push(r.at);
            let (file, _) = r.entry()?;
            // Bytes sort as the texts they spell do.
            if std::str::from_utf8(file).is_err() || last.is_some_and(|l| l >= file) {
                return None;
            }
            last = Some(file);
        }
        let foreign = r.at;
        for _ in 0..r.u64()? {
            r.text()?;
        }
        (r.at == b.len()).then_some(Layout { files, foreign })
    }

    /// How many files the manifest lists.
    pub(super) fn len(&self) -> usize {
        self.files.len()
    }

    /// The `i`th file and its entry; `b` is the manifest this layout was made of.
    pub(super) fn entry<'a>(&self, b: &'a [u8], i: usize) -> (&'a str, Entry) {
        let (file, e) = self.raw(b, i);
        (utf8(file), e)
    }

    /// [`Layout::entry`] with the name as bytes (not checked again).
    pub(super) fn raw<'a>(&self, b: &'a [u8], i: usize) -> (&'a [u8], Entry) {
        Self::raw_at(b, self.files[i])
    }

    pub(super) fn raw_at(b: &[u8], at: usize) -> (&[u8], Entry) {
        Reader { b, at }
            .entry()
            .expect("Layout::of checked every entry")
    }

    /// Where the `i`th file's entry ends.
    pub(super) fn end(&self, i: usize) -> usize {
        self.files.get(i + 1).copied().unwrap_or(self.foreign)
    }

    /// The position of `file` in the manifest, by binary search.
    pub(super) fn find(&self, b: &[u8], file: &str) -> Option<usize> {
        self.files
            .binary_search_by(|&at| Self::raw_at(b, at).0.cmp(file.as_bytes()))
            .ok()
    }

    /// What the stage, whose manifest is `staged`, lacks of this manifest's site (in `b`): the
    /// files it lacks or holds other bytes of (by position here), and the files it holds that
    /// this site does not have. `None` unless `staged` is a whole, sound manifest with its
    /// files in strict name order. One pass over both, side by side.
    #[allow(clippy::type_complexity)]
    pub(super) fn behind<'s>(
        &self,
        b: &[u8],
        staged: &'s [u8],
    ) -> Option<(Vec<usize>, Vec<&'s str>)> {
        let mut r = Reader {
            b: staged,
            at: MANIFEST_MAGIC.len(),
        };
        if !staged.starts_with(MANIFEST_MAGIC) {
            return None;
        }
        let n = r.u64()?;
        let (mut behind, mut extra) = (Vec::new(), Vec::new());
        let mut i = 0;
        let mut last: Option<&[u8]> = None;
        for _ in 0..n {
            let (file, e) = r.entry()?;
            if std::str::from_utf8(file).is_err() || last.is_some_and(|l| l >= file) {
                return None;
            }
            last = Some(file);
            // Live files before this staged one are missing from the stage.
            while i < self.len() && self.raw(b, i).0 < file {
                behind.push(i);
                i += 1;
            }
            if i < self.len() && self.raw(b, i).0 == file {
                if e.hash != self.raw(b, i).1.hash {
                    behind.push(i);
                }
                i += 1;
            } else {
                extra.push(utf8(file));
            }
        }
        behind.extend(i..self.len());
        for _ in 0..r.u64()? {
            r.text()?;
        }
        (r.at == staged.len()).then_some((behind, extra))
    }

    /// The foreign entries the manifest lists.
    pub(super) fn foreign<'a>(&self, b: &'a [u8]) -> impl Iterator<Item = &'a str> {
        let mut r = Reader {
            b,
            at: self.foreign,
        };
        let n = r.u64().expect("Layout::of checked the foreign list");
        (0..n).map(move |_| r.text().expect("Layout::of checked the foreign list"))
    }
}

pub(super) fn read_manifest(dir: &Path) -> Option<Manifest> {
    Manifest::decode(&std::fs::read(dir.join(MANIFEST)).ok()?)
}

/// The live output's manifest, of this version or an earlier one, and the BLAKE3 of its bytes
/// when it is of this version (zeroes otherwise).
pub(super) fn read_live_manifest(dir: &Path) -> (Option<Manifest>, Digest) {
    let bytes = std::fs::read(dir.join(MANIFEST)).ok();
    match bytes.as_deref().and_then(Manifest::decode) {
        Some(m) => (Some(m), digest_of(bytes.as_deref().unwrap_or_default())),
        None => (read_old_manifest(dir), Digest::default()),
    }
}

/// The BLAKE3 of an output folder's manifest as it is on disk (`Committed::manifest` of the
/// build that made the folder); `None` when it has none.
pub fn live_digest(dir: &Path) -> Option<Digest> {
    Some(digest_of(&std::fs::read(dir.join(MANIFEST)).ok()?))
}

pub(super) fn digest_of(bytes: &[u8]) -> Digest {
    *blake3::hash(bytes).as_bytes()
}

/// The file list of an earlier version's JSON manifest (`{"files": {path: hex}}`), so the
/// first build of a new version knows which files of the output are bloggo's.
pub(super) fn read_old_manifest(dir: &Path) -> Option<Manifest> {
    #[derive(serde::Deserialize)]
    struct Old {
        files: std::collections::HashMap<String, String>,
    }
    let old: Old = serde_json::from_slice(&std::fs::read(dir.join(OLD_MANIFEST)).ok()?).ok()?;
    let mut m = Manifest::default();
    for (f, hex) in old.files {
        let hash = blake3::Hash::from_hex(hex).ok()?;
        let e = Entry {
            hash: *hash.as_bytes(),
            fingerprint: None,
        };
        m.files.insert(f, e);
    }
    Some(m)
}

/// The files an output folder's manifest lists, with the BLAKE3 of each (hex); `None` when
/// the folder has no sound manifest. For checks and tests of a built site.
pub fn manifest_files(dir: &Path) -> Option<Vec<(String, String)>> {
    let m = read_manifest(dir)?;
    let mut v: Vec<(String, String)> = m
        .files
        .into_iter()
        .map(|(f, e)| (f, blake3::Hash::from_bytes(e.hash).to_hex().to_string()))
        .collect();
    v.sort();
    Some(v)
}

/// Whether bloggo wrote this folder (it has a manifest, of this version or an earlier one).
pub(super) fn written_by_bloggo(dir: &Path) -> bool {
    dir.join(MANIFEST).exists() || dir.join(OLD_MANIFEST).exists()
}

#[cfg(test)]
mod tests {
    use super::{Entry, Manifest};

    #[test]
    fn the_manifest_round_trips_and_a_damaged_one_is_refused() {
        let mut m = Manifest::default();
        m.files.insert(
            "a/index.html".into(),
            Entry {
                hash: [1; 32],
                fingerprint: Some([2; 32]),
            },
        );
        m.files.insert(
            "é.css".into(),
            Entry {
                hash: [3; 32],
                fingerprint: None,
            },
        );
        m.foreign = vec!["CNAME".into()];
        let b = m.encode();
        let back = Manifest::decode(&b).unwrap();
        assert_eq!(back.files, m.files);
        assert_eq!(back.foreign, m.foreign);
        for cut in [1, 10, b.len() / 2, b.len() - 1] {
            assert!(Manifest::decode(&b[..cut]).is_none(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(Manifest::decode(&extra).is_none());
    }
}
