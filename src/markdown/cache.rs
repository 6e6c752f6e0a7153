//! Rendered markdown kept across builds, by [`body_key`] (the markdown's hash, the options and
//! the post's URL) and, for markdown that links to other posts, [`linked_key`] (what those
//! links resolve to), so an unchanged post is never parsed or highlighted again, and a post
//! whose links now lead elsewhere is. The index keeps what each such body links to, so a build
//! knows a cached body's key without reading its markdown.
//!
//! Two files in the site's `.bloggo-cache/`: `markdown.bin` holds length-prefixed binary
//! records (appended to by builds that render a few posts), `markdown.idx` maps each key to
//! its record's place. A build reads the index (a few hundred kilobytes for 10,000 posts) and
//! then only the records of the pages it makes. Every record starts with its key, which is
//! checked on read, so an index that does not match the data (a crash between the two writes)
//! only costs misses. The files are rewritten with the live records alone when stale ones
//! outnumber them, or when either is damaged.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::refs::{resolve_ref, LinkRef, RefKind, Resolve};
use super::{CodeSpan, MarkdownOptions, Rendered, TocEntry};

const DATA_MAGIC: &[u8] = b"bloggo-markdown-cache-5\n";
const INDEX_MAGIC: &[u8] = b"bloggo-markdown-index-6\n";
const BODY_RECORD: u8 = 2;
/// Key, offset, length, summary digest, number of links; then, when there are links, the
/// body's [`body_key`] and its links.
const INDEX_ENTRY: usize = 32 + 8 + 8 + 32 + 8;

/// A digest of what a post's card shows of its rendered markdown (the summary before
/// `<!-- more -->`, if any): kept in the index, so a build knows whether a post's card changed
/// without reading its record.
pub fn summary_digest(r: &Rendered) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    match &r.summary_html {
        Some(s) => {
            h.update(&[1]);
            h.update(s.as_bytes());
        }
        None => {
            h.update(&[0]);
        }
    }
    *h.finalize().as_bytes()
}

/// Where a record is and what its summary digest is.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u64,
    len: u64,
    summary: [u8; 32],
}

/// What a post's rendered markdown is made from: the markdown (by its hash), the renderer's
/// version (`RENDERER_VERSION`, bumped when its HTML changes) and options, and the post's URL
/// (relative links resolve against it).
pub fn body_key(content_hash: &str, md: &MarkdownOptions, link_base: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&super::RENDERER_VERSION.to_le_bytes());
    for part in [
        env!("CARGO_PKG_VERSION"),
        &md.smart_punctuation.to_string(),
        &md.highlight.to_string(),
        &md.highlight_theme,
        link_base,
        content_hash,
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    *h.finalize().as_bytes()
}

/// The key of a body whose markdown writes `links` (see [`super::Rendered::links`]) and whose
/// [`body_key`] is `base`: `base` itself when there are none, else a digest of `base` and of
/// what each link resolves to now, so the body is made again when a post it links to moves.
pub fn linked_key(base: &[u8; 32], links: &[LinkRef], res: &dyn Resolve) -> [u8; 32] {
    if links.is_empty() {
        return *base;
    }
    let mut h = blake3::Hasher::new();
    h.update(base);
    for l in links {
        h.update(&[l.kind.code()]);
        for part in [
            l.target.as_str(),
            resolve_ref(l, res).as_deref().unwrap_or("\0"),
        ] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    *h.finalize().as_bytes()
}

/// A new body for [`MarkdownCache::save`]: its key, its [`body_key`] and itself.
pub type NewBody<'a> = ([u8; 32], [u8; 32], &'a Rendered);

/// The cache as one build sees it: the index in memory, the records read on demand.
#[derive(Default)]
pub struct MarkdownCache {
    dir: PathBuf,
    data: Option<std::fs::File>,
    /// Length of the data file when opened (appends go after it).
    data_len: u64,
    index: HashMap<[u8; 32], Slot>,
    /// The [`body_key`] of each record with links (the others' is their key).
    bases: HashMap<[u8; 32], [u8; 32]>,
    /// The links of the bodies with links, by [`body_key`].
    links: HashMap<[u8; 32], Vec<LinkRef>>,
    /// Both files were read and are sound, so records may be appended.
    appendable: bool,
}

fn data_path(dir: &Path) -> PathBuf {
    dir.join("markdown.bin")
}

fn index_path(dir: &Path) -> PathBuf {
    dir.join("markdown.idx")
}

impl MarkdownCache {
    /// Opens the cache in `dir`; an empty one when the files are missing or damaged.
    pub fn open(dir: &Path) -> MarkdownCache {
        let mut c = MarkdownCache {
            dir: dir.to_path_buf(),
            ..MarkdownCache::default()
        };
        let Ok(data) = std::fs::File::open(data_path(dir)) else {
            return c;
        };
        let Ok(len) = data.metadata().map(|m| m.len()) else {
            return c;
        };
        let mut magic = vec![0; DATA_MAGIC.len()];
        if read_at(&data, &mut magic, 0).is_err() || magic != DATA_MAGIC {
            return c;
        }
        let Some(index) = std::fs::read(index_path(dir))
            .ok()
            .and_then(|b| parse_index(&b, len))
        else {
            return c;
        };
        c.data = Some(data);
        c.data_len = len;
        c.index = index.slots;
        c.bases = index.bases;
        c.links = index.links;
        c.appendable = true;
        c
    }

    /// The links of the body whose [`body_key`] is `base`, when the cache has it (an empty
    /// list for a body without links): with them, [`linked_key`] gives its key.
    pub fn links(&self, base: &[u8; 32]) -> Option<&[LinkRef]> {
        match self.links.get(base) {
            Some(l) => Some(l),
            // A record keyed by its base has no links (a linked record's key is not a base).
            None => {
                (self.index.contains_key(base) && !self.bases.contains_key(base)).then_some(&[][..])
            }
        }
    }

    /// An empty cache that will be written to `dir` (a clean build).
    pub fn empty(dir: &Path) -> MarkdownCache {
        MarkdownCache {
            dir: dir.to_path_buf(),
            ..MarkdownCache::default()
        }
    }

    /// The rendered markdown with this key, if the cache has it. Safe to call from many
    /// threads.
    pub fn get(&self, key: &[u8; 32]) -> Option<Rendered> {
        let &Slot { offset, len, .. } = self.index.get(key)?;
        let data = self.data.as_ref()?;
        let mut buf = vec![0; usize::try_from(len).ok()?];
        read_at(data, &mut buf, offset).ok()?;
        let mut r = Reader(&buf);
        if r.bytes(1)?[0] != BODY_RECORD || r.key()? != *key {
            return None;
        }
        let body = read_body(&mut r)?;
        r.0.is_empty().then_some(body)
    }

    /// The summary digest of the record with this key, without reading the record.
    pub fn summary(&self, key: &[u8; 32]) -> Option<[u8; 32]> {
        self.index.get(key).map(|s| s.summary)
    }

    /// Records this build's new bodies and forgets what the site no longer has: appends when
    /// the files are sound and mostly live, else rewrites them with the live records only.
    pub fn save(mut self, live: &HashSet<[u8; 32]>, new: &[NewBody]) -> Result<()> {
        let new: Vec<&NewBody> = new
            .iter()
            .filter(|(k, _, _)| !self.index.contains_key(k))
            .collect();
        for (k, base, body) in &new {
            if !body.links.is_empty() {
                self.bases.insert(*k, *base);
                self.links.insert(*base, body.links.clone());
            }
        }
        let stale = self.index.keys().filter(|k| !live.contains(*k)).count();
        if self.appendable && stale <= live.len().max(64) {
            if new.is_empty() {
                return Ok(());
            }
            return self.append(&new);
        }
        self.rewrite(live, &new)
    }

    fn append(mut self, new: &[&NewBody]) -> Result<()> {
        let mut bytes = Vec::new();
        for (k, _, body) in new {
            let at = bytes.len() as u64;
            encode(&mut bytes, k, body);
            let slot = Slot {
                offset: self.data_len + at,
                len: bytes.len() as u64 - at,
                summary: summary_digest(body),
            };
            self.index.insert(*k, slot);
        }
        let path = data_path(&self.dir);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        std::io::Write::write_all(&mut f, &bytes)
            .with_context(|| format!("{}: cannot append", path.display()))?;
        write_index(&self.dir, &self.index, &self.bases, &self.links)
    }

    /// Writes the live records of the old file and the new ones into a new file, one record at
    /// a time (a whole site's rendered markdown is tens of megabytes: never held twice).
    fn rewrite(self, live: &HashSet<[u8; 32]>, new: &[&NewBody]) -> Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("{}: cannot create", self.dir.display()))?;
        let path = data_path(&self.dir);
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .with_context(|| format!("{}: cannot create a file", self.dir.display()))?;
        let cannot_write = || format!("{}: cannot write", self.dir.display());
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        out.write_all(DATA_MAGIC).with_context(cannot_write)?;
        let mut at = DATA_MAGIC.len() as u64;
        let mut index = HashMap::new();
        let mut buf = Vec::new();
        // Live records of the old file are copied as they are (no parsing).
        if let Some(data) = &self.data {
            for (k, slot) in &self.index {
                if !live.contains(k) {
                    continue;
                }
                buf.clear();
                buf.resize(slot.len as usize, 0);
                if read_at(data, &mut buf, slot.offset).is_ok()
                    && buf.first() == Some(&BODY_RECORD)
                    && buf.get(1..33) == Some(&k[..])
                {
                    index.insert(
                        *k,
                        Slot {
                            offset: at,
                            ..*slot
                        },
                    );
                    out.write_all(&buf).with_context(cannot_write)?;
                    at += buf.len() as u64;
                }
            }
        }
        for (k, _, body) in new {
            if index.contains_key(k) {
                continue;
            }
            buf.clear();
            encode(&mut buf, k, body);
            let slot = Slot {
                offset: at,
                len: buf.len() as u64,
                summary: summary_digest(body),
            };
            index.insert(*k, slot);
            out.write_all(&buf).with_context(cannot_write)?;
            at += buf.len() as u64;
        }
        out.flush().with_context(cannot_write)?;
        drop(out);
        tmp.persist(&path)
            .with_context(|| format!("{}: cannot replace", path.display()))?;
        write_index(&self.dir, &index, &self.bases, &self.links)
    }
}

#[cfg(unix)]
fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    let mut f = f.try_clone()?;
    f.seek(std::io::SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// The index file, read.
#[derive(Default)]
struct Index {
    slots: HashMap<[u8; 32], Slot>,
    bases: HashMap<[u8; 32], [u8; 32]>,
    links: HashMap<[u8; 32], Vec<LinkRef>>,
}

fn parse_index(b: &[u8], data_len: u64) -> Option<Index> {
    let body = b.strip_prefix(INDEX_MAGIC)?;
    // Every entry takes at least `INDEX_ENTRY` bytes: room for them all, made once.
    let mut index = Index {
        slots: HashMap::with_capacity(body.len() / INDEX_ENTRY),
        ..Index::default()
    };
    let mut r = Reader(body);
    while !r.0.is_empty() {
        let key = r.key()?;
        let offset = r.u64()?;
        let len = r.u64()?;
        let summary = r.key()?;
        let links = r.u64()?;
        if offset < DATA_MAGIC.len() as u64 || offset.checked_add(len)? > data_len {
            return None;
        }
        if links > 0 {
            let base = r.key()?;
            let mut v = Vec::new();
            for _ in 0..links {
                v.push(read_link(&mut r)?);
            }
            index.bases.insert(key, base);
            index.links.insert(base, v);
        }
        index.slots.insert(
            key,
            Slot {
                offset,
                len,
                summary,
            },
        );
    }
    Some(index)
}

fn write_index(
    dir: &Path,
    index: &HashMap<[u8; 32], Slot>,
    bases: &HashMap<[u8; 32], [u8; 32]>,
    links: &HashMap<[u8; 32], Vec<LinkRef>>,
) -> Result<()> {
    let mut bytes = Vec::with_capacity(INDEX_MAGIC.len() + index.len() * INDEX_ENTRY);
    bytes.extend_from_slice(INDEX_MAGIC);
    for (k, slot) in index {
        bytes.extend_from_slice(k);
        bytes.extend_from_slice(&slot.offset.to_le_bytes());
        bytes.extend_from_slice(&slot.len.to_le_bytes());
        bytes.extend_from_slice(&slot.summary);
        match bases.get(k).and_then(|b| Some((b, links.get(b)?))) {
            Some((base, l)) => {
                bytes.extend_from_slice(&(l.len() as u64).to_le_bytes());
                bytes.extend_from_slice(base);
                for link in l {
                    write_link(&mut bytes, link);
                }
            }
            None => bytes.extend_from_slice(&0u64.to_le_bytes()),
        }
    }
    let path = index_path(dir);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create a file", dir.display()))?;
    std::io::Write::write_all(tmp.as_file_mut(), &bytes)?;
    tmp.persist(&path)
        .with_context(|| format!("{}: cannot replace", path.display()))?;
    Ok(())
}

fn text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_link(out: &mut Vec<u8>, l: &LinkRef) {
    out.push(l.kind.code());
    out.extend_from_slice(&u64::from(l.line).to_le_bytes());
    text(out, &l.target);
}

fn read_link(r: &mut Reader) -> Option<LinkRef> {
    let kind = RefKind::from_code(r.bytes(1)?[0])?;
    let line = u32::try_from(r.u64()?).ok()?;
    Some(LinkRef {
        kind,
        line,
        target: r.string()?,
    })
}

fn encode(out: &mut Vec<u8>, key: &[u8; 32], r: &Rendered) {
    out.push(BODY_RECORD);
    out.extend_from_slice(key);
    text(out, &r.html);
    match &r.summary_html {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            text(out, s);
        }
    }
    out.extend_from_slice(&(r.toc.len() as u64).to_le_bytes());
    for t in &r.toc {
        out.push(t.level);
        text(out, &t.id);
        text(out, &t.title);
    }
    out.extend_from_slice(&(r.code.len() as u64).to_le_bytes());
    for c in &r.code {
        out.extend_from_slice(&c.key);
        out.extend_from_slice(&c.at.to_le_bytes());
        out.extend_from_slice(&c.len.to_le_bytes());
    }
    out.extend_from_slice(&(r.links.len() as u64).to_le_bytes());
    for l in &r.links {
        write_link(out, l);
    }
}

/// Reads a record's fields; `None` on any damage.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn key(&mut self) -> Option<[u8; 32]> {
        self.bytes(32)?.try_into().ok()
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.u64()?).ok()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
}

fn read_body(r: &mut Reader) -> Option<Rendered> {
    let html = r.string()?;
    let summary_html = match r.bytes(1)?[0] {
        0 => None,
        _ => Some(r.string()?),
    };
    let n = r.u64()?;
    let mut toc = Vec::new();
    for _ in 0..n {
        let level = r.bytes(1)?[0];
        toc.push(TocEntry {
            level,
            id: r.string()?,
            title: r.string()?,
        });
    }
    let n = r.u64()?;
    let mut code = Vec::new();
    for _ in 0..n {
        code.push(CodeSpan {
            key: r.key()?,
            at: r.u64()?,
            len: r.u64()?,
        });
    }
    let n = r.u64()?;
    let mut links = Vec::new();
    for _ in 0..n {
        links.push(read_link(r)?);
    }
    Some(Rendered {
        html,
        toc,
        summary_html,
        code,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(html: &str, summary: Option<&str>) -> Rendered {
        Rendered {
            html: html.into(),
            toc: vec![TocEntry {
                level: 2,
                id: "a".into(),
                title: "A é".into(),
            }],
            summary_html: summary.map(Into::into),
            code: vec![CodeSpan {
                key: [7; 32],
                at: 1,
                len: 2,
            }],
            links: Vec::new(),
        }
    }

    fn same(a: &Rendered, b: &Rendered) -> bool {
        (&a.html, &a.toc, &a.summary_html, &a.code, &a.links)
            == (&b.html, &b.toc, &b.summary_html, &b.code, &b.links)
    }

    #[test]
    fn body_keys_change_with_text_options_and_url() {
        let o = MarkdownOptions::default();
        let (a, b) = (blake3::hash(b"a").to_hex(), blake3::hash(b"b").to_hex());
        assert_eq!(body_key(&a, &o, "/p/"), body_key(&a, &o, "/p/"));
        assert_ne!(body_key(&a, &o, "/p/"), body_key(&b, &o, "/p/"));
        assert_ne!(body_key(&a, &o, "/p/"), body_key(&a, &o, "/x/"));
        let smart = MarkdownOptions {
            smart_punctuation: !o.smart_punctuation,
            ..Default::default()
        };
        assert_ne!(body_key(&a, &o, "/p/"), body_key(&a, &smart, "/p/"));
    }

    struct Moved(&'static str);

    impl Resolve for Moved {
        fn resolve(&self, kind: RefKind, target: &str) -> Option<String> {
            (kind == RefKind::Zola && target == "a.md").then(|| self.0.to_string())
        }
    }

    #[test]
    fn linked_keys_change_with_what_the_links_resolve_to() {
        let base = [5; 32];
        assert_eq!(linked_key(&base, &[], &Moved("/x/")), base);
        let links = [LinkRef {
            kind: RefKind::Zola,
            target: "a.md#top".into(),
            line: 3,
        }];
        let here = linked_key(&base, &links, &Moved("/x/"));
        assert_ne!(here, base);
        assert_eq!(here, linked_key(&base, &links, &Moved("/x/")));
        assert_ne!(here, linked_key(&base, &links, &Moved("/y/")));
        assert_ne!(
            here,
            linked_key(&base, &links, &super::super::refs::Unresolved)
        );
    }

    #[test]
    fn the_links_of_a_body_are_kept_by_its_base_key() {
        let d = tempfile::tempdir().unwrap();
        let mut a = body("<p>a</p>", None);
        a.links = vec![LinkRef {
            kind: RefKind::PostUrl,
            target: "2010-01-01-x".into(),
            line: 9,
        }];
        let b = body("b", None);
        let live: HashSet<[u8; 32]> = [[1; 32], [2; 32]].into();
        MarkdownCache::empty(d.path())
            .save(&live, &[([1; 32], [9; 32], &a), ([2; 32], [2; 32], &b)])
            .unwrap();
        let cache = MarkdownCache::open(d.path());
        assert_eq!(cache.links(&[9; 32]), Some(&a.links[..]));
        assert_eq!(cache.links(&[2; 32]), Some(&[][..]));
        assert_eq!(cache.links(&[1; 32]), None);
        assert!(same(&cache.get(&[1; 32]).unwrap(), &a));
        // Kept through an append and a rewrite of the live records.
        let c = body("c", None);
        let live3: HashSet<[u8; 32]> = [[1; 32], [2; 32], [3; 32]].into();
        cache.save(&live3, &[([3; 32], [3; 32], &c)]).unwrap();
        let only: HashSet<[u8; 32]> = [[1; 32]].into();
        let mut cache = MarkdownCache::open(d.path());
        assert_eq!(cache.links(&[9; 32]), Some(&a.links[..]));
        cache.appendable = false;
        cache.save(&only, &[]).unwrap();
        let cache = MarkdownCache::open(d.path());
        assert_eq!(cache.index.len(), 1);
        assert_eq!(cache.links(&[9; 32]), Some(&a.links[..]));
    }

    #[test]
    fn records_round_trip_append_and_compact() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("c");
        let (a, b, c) = (
            body("<p>a</p>", Some("<p>s</p>")),
            body("b", None),
            body("c", None),
        );
        let live: HashSet<[u8; 32]> = [[1; 32], [2; 32]].into();
        MarkdownCache::empty(&dir)
            .save(&live, &[([1; 32], [1; 32], &a), ([2; 32], [2; 32], &b)])
            .unwrap();
        let cache = MarkdownCache::open(&dir);
        assert!(same(&cache.get(&[1; 32]).unwrap(), &a));
        assert!(same(&cache.get(&[2; 32]).unwrap(), &b));
        assert_eq!(cache.summary(&[1; 32]), Some(summary_digest(&a)));
        assert_ne!(cache.summary(&[1; 32]), cache.summary(&[2; 32]));
        assert!(cache.get(&[3; 32]).is_none());
        // A new record is appended; the old ones stay where they were.
        let len = std::fs::metadata(data_path(&dir)).unwrap().len();
        let live3: HashSet<[u8; 32]> = [[1; 32], [2; 32], [3; 32]].into();
        cache.save(&live3, &[([3; 32], [3; 32], &c)]).unwrap();
        assert!(std::fs::metadata(data_path(&dir)).unwrap().len() > len);
        let cache = MarkdownCache::open(&dir);
        assert!(same(&cache.get(&[3; 32]).unwrap(), &c));
        // When most records are stale, the files keep only the live ones.
        let mut many = Vec::new();
        for k in 10..90u8 {
            many.push(([k; 32], [k; 32], &b));
        }
        let all: HashSet<[u8; 32]> = many.iter().map(|(k, _, _)| *k).collect();
        cache.save(&all, &many).unwrap();
        let only: HashSet<[u8; 32]> = [[1; 32]].into();
        MarkdownCache::open(&dir).save(&only, &[]).unwrap();
        let cache = MarkdownCache::open(&dir);
        assert_eq!(cache.index.len(), 1);
        assert!(same(&cache.get(&[1; 32]).unwrap(), &a));
    }

    #[test]
    fn damage_costs_misses_never_wrong_bodies() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let (a, b) = (body("aaaa", None), body("bbbb", None));
        let live: HashSet<[u8; 32]> = [[1; 32], [2; 32]].into();
        MarkdownCache::empty(&dir)
            .save(&live, &[([1; 32], [1; 32], &a), ([2; 32], [2; 32], &b)])
            .unwrap();
        // An index pointing at the wrong record (data rewritten, index not): a miss.
        let idx = std::fs::read(index_path(&dir)).unwrap();
        let mut swapped = idx.clone();
        let n = INDEX_MAGIC.len();
        let (e1, e2) = (n..n + INDEX_ENTRY, n + INDEX_ENTRY..n + 2 * INDEX_ENTRY);
        swapped[e1.start + 32..e1.start + 48].copy_from_slice(&idx[e2.start + 32..e2.start + 48]);
        swapped[e2.start + 32..e2.start + 48].copy_from_slice(&idx[e1.start + 32..e1.start + 48]);
        std::fs::write(index_path(&dir), &swapped).unwrap();
        let cache = MarkdownCache::open(&dir);
        assert!(cache.get(&[1; 32]).is_none() && cache.get(&[2; 32]).is_none());
        // A cut data file or a bad index: an empty cache, rewritten on save.
        std::fs::write(index_path(&dir), &idx).unwrap();
        let data = std::fs::read(data_path(&dir)).unwrap();
        std::fs::write(data_path(&dir), &data[..data.len() - 1]).unwrap();
        let cache = MarkdownCache::open(&dir);
        assert!(!cache.appendable && cache.get(&[1; 32]).is_none());
        cache.save(&live, &[([1; 32], [1; 32], &a)]).unwrap();
        assert!(same(&MarkdownCache::open(&dir).get(&[1; 32]).unwrap(), &a));
        std::fs::write(index_path(&dir), b"garbage").unwrap();
        assert!(MarkdownCache::open(&dir).get(&[1; 32]).is_none());
    }
}
