//! Scheduled backups while serving: one at start-up when the last backup is older than the
//! interval (or there is none: a missed one is caught up at once), then one every interval,
//! while requests and views go on. When the last one was taken is what the store remembers
//! (`backup::record::last_taken`), so a restart does not back up again right away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::Result;

/// When the newest good backup was taken (None: there is none).
pub type NewestFn = Box<dyn Fn() -> Result<Option<SystemTime>> + Send>;
/// Takes one backup; returns a line to print (its file, its size).
pub type CreateFn = Box<dyn FnMut() -> Result<String> + Send>;

/// How long to wait before the first backup.
pub fn first_delay(newest: Option<SystemTime>, interval: Duration, now: SystemTime) -> Duration {
    match newest {
        None => Duration::ZERO,
        Some(t) => {
            let age = now.duration_since(t).unwrap_or(Duration::ZERO);
            interval.saturating_sub(age)
        }
    }
}

/// Starts the schedule; it stops (between backups) when `stop` is set.
pub fn spawn_backups(
    interval: Duration,
    newest: NewestFn,
    mut create: CreateFn,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bloggo-backups".into())
        .spawn(move || {
            let mut wait = match newest() {
                Ok(t) => first_delay(t, interval, SystemTime::now()),
                Err(e) => {
                    eprintln!("backup: cannot tell when the last backup was taken ({e:#}); taking one now");
                    Duration::ZERO
                }
            };
            if !wait.is_zero() {
                let whole = Duration::from_secs(wait.as_secs());
                println!(
                    "backup: the last one is recent; next in {}",
                    humantime::format_duration(whole)
                );
            }
            loop {
                if !sleep_unless_stopped(wait, &stop) {
                    return;
                }
                match create() {
                    Ok(line) => {
                        println!("backup: {line}");
                        wait = interval;
                    }
                    Err(e) => {
                        let retry = interval.min(Duration::from_secs(600));
                        eprintln!(
                            "backup failed: {e:#}; retrying in {}",
                            humantime::format_duration(retry)
                        );
                        wait = retry;
                    }
                }
            }
        })
}

/// Sleeps in short steps; false when `stop` was set.
fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) -> bool {
    let step = Duration::from_millis(200);
    let mut left = total;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        if left.is_zero() {
            return true;
        }
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_backup_waits_for_the_newest_to_age() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100_000);
        let day = Duration::from_secs(86_400);
        assert_eq!(first_delay(None, day, now), Duration::ZERO);
        let hour_ago = now - Duration::from_secs(3600);
        assert_eq!(
            first_delay(Some(hour_ago), day, now),
            day - Duration::from_secs(3600)
        );
        let old = now - 2 * day;
        assert_eq!(first_delay(Some(old), day, now), Duration::ZERO);
    }

    #[test]
    fn backups_run_on_schedule_until_stopped() {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = spawn_backups(
            Duration::from_millis(100),
            Box::new(|| Ok(None)),
            Box::new(move || {
                tx.send(()).unwrap();
                Ok("taken".into())
            }),
            stop.clone(),
        )
        .unwrap();
        for _ in 0..2 {
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
    }
}
