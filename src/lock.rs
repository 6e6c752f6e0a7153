//! The serve lock: a running `bloggo serve` holds an exclusive lock on a file in the site folder,
//! so commands that replace the store (`backup restore`) can refuse while it runs.
//!
//! The lock is an OS advisory lock (fs4, `flock` on Unix): it is released when the process
//! exits, even on a crash, so a stale lock file never blocks anything. The file holds the pid
//! of the holder, only to name it in messages.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fs4::TryLockError;

use crate::config::Settings;

/// The lock file's name, in the site folder.
pub const LOCK_FILE: &str = ".bloggo-serve.lock";

/// Path of a site's lock file.
pub fn lock_path(settings: &Settings) -> PathBuf {
    settings.root.join(LOCK_FILE)
}

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct ServeLock {
    file: File,
    path: PathBuf,
}

impl ServeLock {
    /// Takes the site's lock, or explains who holds it.
    pub fn acquire(settings: &Settings) -> Result<ServeLock> {
        let path = lock_path(settings);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => bail!(
                "{}: the store is in use by a running `bloggo serve`{}; stop it first",
                path.display(),
                holder(&path)
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default()
            ),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("{}: cannot lock", path.display()))
            }
        }
        file.set_len(0)
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .with_context(|| format!("{}: cannot write the lock file", path.display()))?;
        Ok(ServeLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ServeLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Whether a process (this one included, through another handle) holds the site's lock.
pub fn held_by_server(settings: &Settings) -> bool {
    let path = lock_path(settings);
    let Ok(file) = File::open(&path) else {
        return false;
    };
    match fs4::FileExt::try_lock_shared(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// The pid written in the lock file, when there is one.
fn holder(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        let c = toml::from_str(&crate::config::starter_config("T")).unwrap();
        Settings::from_config(dir, c).unwrap()
    }

    #[test]
    fn a_second_acquire_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let s = settings(tmp.path());
        assert!(!held_by_server(&s));
        let lock = ServeLock::acquire(&s).unwrap();
        assert!(held_by_server(&s));
        let err = ServeLock::acquire(&s).unwrap_err().to_string();
        assert!(err.contains("running `bloggo serve`"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!held_by_server(&s));
        ServeLock::acquire(&s).unwrap();
    }
}
