//! Reading a log file: plain or gzip-compressed (told by its first bytes, not its name;
//! several gzip members one after the other are read as one file), in chunks of whole lines,
//! with the count of file bytes read so far for the progress bar.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;

/// About how many bytes of lines a chunk holds.
pub const CHUNK: usize = 8 << 20;

/// An open log file.
pub struct Input {
    reader: Box<dyn Read + Send>,
    /// The file's size on disk.
    pub size: u64,
    /// Bytes of the file read so far (compressed bytes for a gzip file).
    pub read: Arc<AtomicU64>,
    /// Bytes read but not yet handed out (the start of a line).
    carry: Vec<u8>,
    done: bool,
}

/// Counts the bytes read from the file.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Input {
    /// Opens a file, gzip-compressed if it starts with gzip's magic bytes.
    pub fn open(path: &Path) -> Result<Input> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let read = Arc::new(AtomicU64::new(0));
        let mut buffered = BufReader::with_capacity(
            256 << 10,
            Counting {
                inner: file,
                read: read.clone(),
            },
        );
        let head = buffered
            .fill_buf()
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let reader: Box<dyn Read + Send> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Input {
            reader,
            size,
            read,
            carry: Vec::new(),
            done: false,
        })
    }

    /// The next chunk of whole lines (about [`CHUNK`] bytes; the last may lack its newline),
    /// `None` at the end of the file.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done && self.carry.is_empty() {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.reserve(CHUNK + (64 << 10));
        while !self.done && buf.len() < CHUNK {
            let start = buf.len();
            buf.resize(start + (64 << 10), 0);
            let n = self.reader.read(&mut buf[start..])?;
            buf.truncate(start + n);
            self.done = n == 0;
        }
        if !self.done {
            if let Some(end) = buf.iter().rposition(|b| *b == b'\n') {
                self.carry = buf.split_off(end + 1);
            }
        }
        Ok((!buf.is_empty()).then_some(buf))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn chunks(path: &Path) -> Vec<u8> {
        let mut input = Input::open(path).unwrap();
        let mut all = Vec::new();
        while let Some(c) = input.next_chunk().unwrap() {
            assert!(c.ends_with(b"\n") || input.next_chunk().unwrap().is_none());
            all.extend(c);
        }
        all
    }

    #[test]
    fn plain_and_gzip_files_read_the_same_whatever_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let text: Vec<u8> = (0..300_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        std::fs::write(dir.path().join("a.gz"), &text).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text[..1000]).unwrap();
        let mut two = gz.finish().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text[1000..]).unwrap();
        two.extend(gz.finish().unwrap());
        std::fs::write(dir.path().join("b.log"), &two).unwrap();
        assert_eq!(chunks(&dir.path().join("a.gz")), text);
        assert_eq!(chunks(&dir.path().join("b.log")), text);
        std::fs::write(dir.path().join("c"), b"no newline").unwrap();
        assert_eq!(chunks(&dir.path().join("c")), b"no newline");
    }
}
