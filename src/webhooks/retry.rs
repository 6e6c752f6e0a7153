//! When a failed delivery is tried again: exponential backoff from `[webhooks]
//! backoff_seconds` (doubling each attempt, with up to a quarter more at random so receivers
//! that failed together are not hit together again), capped at an hour, until `[webhooks]
//! max_attempts` attempts were made.

use std::time::Duration;

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How failed deliveries are retried (`[webhooks]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included; then the delivery is given up (`failed`).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each next one.
    pub base: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 8,
            base: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// How long to wait after `attempts` failed attempts, or `None` when that was the last one
    /// allowed. `jitter` (0 to 1) adds up to a quarter of the wait.
    pub fn after(&self, attempts: u32, jitter: f64) -> Option<Duration> {
        (attempts < self.max_attempts).then(|| backoff(self.base, attempts, jitter))
    }
}

/// The wait after `attempts` (≥ 1) failed attempts: `base × 2^(attempts-1)`, plus up to a quarter
/// of that as `jitter` (0 to 1) says, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: u32, jitter: f64) -> Duration {
    let doubled = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let extra = doubled.mul_f64(jitter.clamp(0.0, 1.0) / 4.0);
    doubled.saturating_add(extra).min(MAX_BACKOFF)
}

/// A jitter for [`backoff`]: a random fraction from 0 to 1.
pub fn random_jitter() -> f64 {
    getrandom::u32().map_or(0.5, |n| f64::from(n) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let ten = Duration::from_secs(10);
        assert_eq!(backoff(ten, 1, 0.0), ten);
        assert_eq!(backoff(ten, 2, 0.0), Duration::from_secs(20));
        assert_eq!(backoff(ten, 4, 0.0), Duration::from_secs(80));
        assert_eq!(backoff(ten, 4, 1.0), Duration::from_secs(100));
        assert_eq!(backoff(ten, 30, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 5, 1.0), Duration::ZERO);
    }

    #[test]
    fn retries_stop_at_the_limit() {
        let r = Retry {
            max_attempts: 3,
            base: Duration::from_secs(1),
        };
        assert_eq!(r.after(1, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(r.after(2, 0.0), Some(Duration::from_secs(2)));
        assert_eq!(r.after(3, 0.0), None);
        let j = random_jitter();
        assert!((0.0..=1.0).contains(&j));
    }
}
