//! A full disk, told apart from other write failures, and how much room a folder's disk has:
//! what the build and backups say when they run out of space.

use std::path::Path;

use crate::store::StoreError;

/// Whether an I/O error means the disk (or the user's quota on it) is full.
pub fn is_full_io(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Whether an error, or any cause under it, is a full disk: `ENOSPC`/`EDQUOT` from a write,
/// or SQLite's `SQLITE_FULL` from a database being written.
pub fn is_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return is_full_io(io);
        }
        match c.downcast_ref::<StoreError>() {
            Some(StoreError::Io { source, .. }) => is_full_io(source),
            _ => crate::store::is_disk_full(c),
        }
    })
}

/// `12.0 MB free of 2.0 GB` for the disk holding `dir` (or the nearest folder above it that
/// exists); empty when the system cannot say.
pub fn room(dir: &Path) -> String {
    let mut at = Some(dir);
    while let Some(d) = at {
        if let Ok(s) = fs4::statvfs(d) {
            return format!(
                "{} free of {}",
                crate::units::bytes(s.available_space()),
                crate::units::bytes(s.total_space())
            );
        }
        at = d.parent();
    }
    String::new()
}

/// Bytes free for this user on the disk holding `dir`, when the system can say.
pub fn available(dir: &Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(is_full_io(&enospc));
        let e = anyhow::Error::new(enospc).context("x: cannot write");
        assert!(is_full(&e));
        let denied = anyhow::Error::new(std::io::Error::from_raw_os_error(13));
        assert!(!is_full(&denied));
        let io = StoreError::Io {
            path: "s".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert!(is_full(&anyhow::Error::new(io).context("copy")));
        assert!(room(Path::new("/definitely/not/here")).contains("free of"));
    }
}
