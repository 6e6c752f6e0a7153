//! What triggers a rebuild: file changes (notify, debounced) under the site's sources, and
//! changes another program commits to the store (polled with `PRAGMA data_version`).
//!
//! The output folder, the store's own files (`-wal`, `-shm`, `-journal`), backups and editor
//! temp files are ignored, so the server never rebuilds because of its own writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, DebouncedEvent};

use crate::config::{Settings, CONFIG_FILE};

/// Something changed that the site is built from.
#[derive(Debug, Clone)]
pub struct Change {
    /// When the first change of this burst happened (for "saved → reloaded" timings).
    pub at: Instant,
    /// What changed, for the log line.
    pub what: String,
}

/// The folders and files watched, and what inside them is ignored.
#[derive(Debug, Clone)]
pub struct WatchSet {
    /// Watched recursively.
    pub folders: Vec<PathBuf>,
    /// The site folder, watched without recursion for `bloggo.toml` only.
    pub root: PathBuf,
    /// Changes under these are ignored (the output folder, backups).
    pub ignored: Vec<PathBuf>,
}

impl WatchSet {
    /// Content, static files, templates and the theme of a site; the output is ignored.
    /// Paths are made absolute and resolved, as the watcher reports them.
    pub fn for_site(settings: &Settings, output: &Path) -> WatchSet {
        let mut folders = vec![
            settings.content.clone(),
            settings.static_dir.clone(),
            settings.templates.clone(),
        ];
        folders.extend(settings.theme_dir.clone());
        WatchSet {
            folders: folders.iter().map(|f| resolved(f)).collect(),
            root: resolved(&settings.root),
            ignored: vec![resolved(output), resolved(&settings.backup_dir)],
        }
    }

    /// Whether a change to this path should rebuild the site.
    pub fn is_relevant(&self, path: &Path) -> bool {
        if self.ignored.iter().any(|i| path.starts_with(i)) {
            return false;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        if is_temp_name(name) {
            return false;
        }
        if path.parent() == Some(self.root.as_path()) {
            return name == CONFIG_FILE;
        }
        self.folders.iter().any(|f| path.starts_with(f))
    }
}

/// The real path of an existing file, else the absolute path.
fn resolved(p: &Path) -> PathBuf {
    p.canonicalize()
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Editor swap, backup and lock files, and hidden files (`.#x`, `x.swp`, `x~`, `4913`, `#x#`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || [
            ".swp",
            ".swx",
            ".swo",
            ".tmp",
            ".bak",
            ".part",
            ".crdownload",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
        || name.contains(".sqlite-")
}

fn kind_counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
    }
}

/// Starts watching; each debounced burst of relevant changes becomes one [`Change`].
pub fn watch(
    set: WatchSet,
    debounce: Duration,
    tx: Sender<Change>,
) -> Result<
    notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
> {
    let filter = set.clone();
    let mut debouncer = new_debouncer(debounce, None, move |res: DebounceEventResult| match res {
        Ok(events) => {
            if let Some(change) = summarise(&filter, &events) {
                let _ = tx.send(change);
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("watch: {e}");
            }
        }
    })
    .context("cannot start the file watcher")?;
    for f in &set.folders {
        if f.is_dir() {
            debouncer
                .watch(f, RecursiveMode::Recursive)
                .with_context(|| format!("{}: cannot watch", f.display()))?;
        }
    }
    debouncer
        .watch(&set.root, RecursiveMode::NonRecursive)
        .with_context(|| format!("{}: cannot watch", set.root.display()))?;
    Ok(debouncer)
}

/// One change for a burst of events, or none when nothing relevant changed.
fn summarise(set: &WatchSet, events: &[DebouncedEvent]) -> Option<Change> {
    let mut at: Option<Instant> = None;
    let mut paths: Vec<&Path> = Vec::new();
    for e in events.iter().filter(|e| kind_counts(&e.event.kind)) {
        for p in e.event.paths.iter().filter(|p| set.is_relevant(p)) {
            at = Some(at.map_or(e.time, |a| a.min(e.time)));
            if !paths.contains(&p.as_path()) {
                paths.push(p);
            }
        }
    }
    let at = at?;
    let mut what = paths
        .iter()
        .take(3)
        .map(|p| p.strip_prefix(&set.root).unwrap_or(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > 3 {
        what.push_str(&format!(" and {} more", paths.len() - 3));
    }
    Some(Change { at, what })
}

/// The content fingerprint the last rebuild saw; the store poller compares against it.
pub type Fingerprint = Arc<Mutex<Option<String>>>;

/// Polls the store for commits by other programs; content changes become a [`Change`].
///
/// `data_version` moves on every commit by any other connection, including this server's view
/// writer, so a move only counts when the content fingerprint differs from the last rebuild's.
pub fn poll_store(
    store: PathBuf,
    every: Duration,
    known: Fingerprint,
    tx: Sender<Change>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bloggo-store-watch".into())
        .spawn(move || {
            let store = match crate::store::Store::open_read_only(&store) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("watch: cannot watch the store for changes: {e}");
                    return;
                }
            };
            let mut version = store.data_version().ok();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let v = store.data_version().ok();
                if v == version {
                    continue;
                }
                version = v;
                // Under the lock: a rebuild in progress finishes (and records what it wrote)
                // before the store is compared.
                let mut k = known.lock().unwrap();
                let Ok(now) = store.content_fingerprint() else {
                    continue;
                };
                if k.as_deref() != Some(now.as_str()) {
                    *k = Some(now);
                    let _ = tx.send(Change {
                        at: Instant::now(),
                        what: "the store (changed by another program)".into(),
                    });
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_output_temp_files_and_the_store() {
        let set = WatchSet {
            folders: vec!["/s/content".into(), "/s/static".into()],
            root: "/s".into(),
            ignored: vec!["/s/public".into()],
        };
        assert!(set.is_relevant(Path::new("/s/content/posts/a.md")));
        assert!(set.is_relevant(Path::new("/s/bloggo.toml")));
        assert!(set.is_relevant(Path::new("/s/static/css/site.css")));
        for p in [
            "/s/public/index.html",
            "/s/content/.a.md.swp",
            "/s/content/a.md~",
            "/s/content/#a.md#",
            "/s/content/4913",
            "/s/content/.#a.md",
            "/s/bloggo.sqlite-wal",
            "/s/bloggo.sqlite",
            "/s/other.txt",
        ] {
            assert!(!set.is_relevant(Path::new(p)), "{p}");
        }
    }
}
