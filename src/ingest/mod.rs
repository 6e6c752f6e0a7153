//! `bloggo views ingest`: counts the page views of a deployed site from its web server's
//! access logs, as `bloggo serve` counts those it serves.
//!
//! - [`input`]: a file, plain or gzip, in chunks of whole lines;
//! - [`combined`], [`cloudfront`]: the parsers (nginx/Apache combined and common formats,
//!   CloudFront standard logs), each giving a [`record::LogRecord`];
//! - [`site_map`]: request path → post, through the live site's pages and redirect pages;
//! - [`judge`]: a record → a view, or why not (serve's bot, device and address rules);
//! - [`dedupe`]: the key each counted line is remembered by, so nothing counts twice;
//! - [`summary`]: what was counted and skipped.
//!
//! Chunks of lines are parsed and judged in parallel (rayon); a writer thread records each
//! chunk's views with their keys in one transaction (`Store::record_ingested`) while the next
//! chunk is parsed.

pub mod cloudfront;
pub mod combined;
pub mod dedupe;
pub mod input;
pub mod judge;
pub mod record;
pub mod site_map;
pub mod summary;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver};

use anyhow::{anyhow, Context, Result};
use rayon::prelude::*;

use crate::config::Settings;
use crate::serve::device::Classifier;
use crate::serve::privacy::IpAnonymiser;
use crate::store::ingest::{IngestedBatch, LineKey};
use crate::store::views::NewView;
use crate::store::Store;
use cloudfront::Fields;
use input::Input;
use judge::Judge;
use site_map::SiteMap;
pub use summary::{Skip, Summary};

/// Files smaller than this show no progress bar.
const BAR_FROM: u64 = 16 << 20;

/// How the lines of a file are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    /// nginx/Apache combined or common (told per line).
    Ncsa,
    /// CloudFront, in the order of the file's `#Fields:` header.
    CloudFront(Fields),
}

/// Counts the views in access-log files into the site's store. `progress`: show a bar for
/// long files (the caller checks that stderr is a terminal).
pub fn ingest(settings: &Settings, files: &[PathBuf], progress: bool) -> Result<Summary> {
    let snap = crate::pipeline::live_snapshot(settings, &settings.output)?;
    let site = SiteMap::of(&snap, &settings.build_base_url(None)?);
    let store = Store::open_ingest_writer(&settings.store)
        .with_context(|| format!("{}: cannot open the store", settings.store.display()))?;
    let devices = Classifier::default();
    let anonymiser = IpAnonymiser::new()?;
    let judge = Judge {
        site: &site,
        devices: &devices,
        anonymiser: &anonymiser,
    };
    let (tx, rx) = sync_channel::<Vec<(LineKey, NewView)>>(2);
    let writer = std::thread::Builder::new()
        .name("bloggo-ingest".into())
        .spawn(move || write_batches(store, rx))?;
    let mut summary = Summary::default();
    let mut read = Ok(());
    for file in files {
        summary.files += 1;
        read = read_file(file, &judge, progress, &mut summary, &mut |batch| {
            tx.send(batch).is_ok()
        });
        if read.is_err() {
            break;
        }
    }
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| anyhow!("the view writer stopped"))?;
    // A writer error is why sending stopped: it comes first.
    let written = written.context("cannot record the views")?;
    read?;
    summary.add_batch(&written);
    Ok(summary)
}

/// Records every batch received; the sums of what the store did.
fn write_batches(mut store: Store, rx: Receiver<Vec<(LineKey, NewView)>>) -> Result<IngestedBatch> {
    let mut sum = IngestedBatch::default();
    for batch in rx {
        let b = store.record_ingested(&batch)?;
        for (s, n) in sum.recorded.iter_mut().zip(b.recorded) {
            *s += n;
        }
        sum.duplicates += b.duplicates;
        sum.gone += b.gone;
    }
    Ok(sum)
}

/// Reads one file, judging its lines chunk by chunk and handing each chunk's views to `send`
/// (false: the writer is gone).
fn read_file(
    path: &Path,
    judge: &Judge,
    progress: bool,
    summary: &mut Summary,
    send: &mut dyn FnMut(Vec<(LineKey, NewView)>) -> bool,
) -> Result<()> {
    let mut input = Input::open(path)?;
    let bar = if progress && input.size >= BAR_FROM {
        let bar = indicatif::ProgressBar::new(input.size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(path.display().to_string());
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let name = path.display().to_string();
    let mut format = Format::Ncsa;
    let mut line_no = 0u64;
    while let Some(chunk) = input
        .next_chunk()
        .with_context(|| format!("{name}: cannot read"))?
    {
        // Line numbers and headers in order; the lines in between are judged in parallel.
        let mut lines: Vec<(u64, &[u8])> = Vec::new();
        for line in chunk.split(|b| *b == b'\n') {
            line_no += 1;
            if line.is_empty() || line == b"\r" {
                continue;
            }
            if line[0] == b'#' {
                let text = String::from_utf8_lossy(line);
                let next = match Fields::from_header(text.trim_end()) {
                    Some(fields) => Format::CloudFront(fields),
                    None if text.starts_with("#Version") => Format::CloudFront(Fields::default()),
                    None => continue,
                };
                if next != format {
                    judge_lines(&lines, &format, judge, &name, summary, send)?;
                    lines.clear();
                    format = next;
                }
                continue;
            }
            lines.push((line_no, line));
        }
        // The split gives one empty piece after the chunk's last newline.
        if chunk.ends_with(b"\n") {
            line_no -= 1;
        }
        judge_lines(&lines, &format, judge, &name, summary, send)?;
        bar.set_position(input.read.load(Ordering::Relaxed));
    }
    summary.lines += line_no;
    bar.finish_and_clear();
    Ok(())
}

/// Judges lines in parallel, adds the reasons of those skipped to `summary` and sends the
/// views of the rest.
fn judge_lines(
    lines: &[(u64, &[u8])],
    format: &Format,
    judge: &Judge,
    file: &str,
    summary: &mut Summary,
    send: &mut dyn FnMut(Vec<(LineKey, NewView)>) -> bool,
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let judged: Vec<Result<(LineKey, NewView), (Skip, u64)>> = lines
        .par_iter()
        .with_min_len(256)
        .map(|&(n, bytes)| {
            let line = std::str::from_utf8(bytes).map_err(|_| (Skip::Unparseable, n))?;
            let line = line.strip_suffix('\r').unwrap_or(line);
            let record = match format {
                Format::Ncsa => combined::parse(line),
                Format::CloudFront(fields) => fields.parse(line),
            }
            .ok_or((Skip::Unparseable, n))?;
            let view = judge.judge(&record).map_err(|why| (why, n))?;
            Ok((dedupe::line_key(record.time, bytes), view))
        })
        .collect();
    let mut views = Vec::with_capacity(judged.len());
    for j in judged {
        match j {
            Ok(v) => views.push(v),
            Err((why, n)) => {
                summary.skip(why, 1);
                if why == Skip::Unparseable && summary.first_unparseable.is_none() {
                    summary.first_unparseable = Some((file.to_string(), n));
                }
            }
        }
    }
    if !views.is_empty() && !send(views) {
        return Err(anyhow!("the view writer stopped"));
    }
    Ok(())
}
