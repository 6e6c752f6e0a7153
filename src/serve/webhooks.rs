//! Webhook deliveries while serving: a thread that sends the due deliveries after each
//! rebuild (woken through [`Wake`]) and every few seconds (retries, scheduled posts' events,
//! events queued by other programs), until told to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the queue is looked at when nothing wakes the thread.
pub const EVERY: Duration = Duration::from_secs(5);

/// Sends the due deliveries once (see `webhooks::deliver_due`).
pub type DeliverFn = Box<dyn FnMut() + Send>;

/// Wakes the delivery thread (after a rebuild queued events).
#[derive(Clone)]
pub struct Wake(Sender<()>);

impl Wake {
    pub fn wake(&self) {
        let _ = self.0.send(());
    }
}

/// Starts the thread; it stops (between passes) when `stop` is set.
pub fn spawn_deliveries(
    every: Duration,
    mut deliver: DeliverFn,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(Wake, JoinHandle<()>)> {
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name("bloggo-webhooks".into())
        .spawn(move || {
            while wait(&rx, every, &stop) {
                deliver();
            }
        })?;
    Ok((Wake(tx), handle))
}

/// Waits for a wake-up or `every`, looking at `stop` often; false when stopped.
fn wait(rx: &Receiver<()>, every: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + every;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(()) => {
                while rx.try_recv().is_ok() {}
                return !stop.load(Ordering::Relaxed);
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Nobody can wake it any more: the timer goes on.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left.min(Duration::from_millis(200)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_run_when_woken_and_on_the_timer_until_stopped() {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let (wake, handle) = spawn_deliveries(
            Duration::from_secs(3600),
            Box::new(move || tx.send(()).unwrap()),
            stop.clone(),
        )
        .unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        wake.wake();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let (_wake, handle) = spawn_deliveries(
            Duration::from_millis(50),
            Box::new(move || tx.send(()).unwrap()),
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
