//! Sign-in attempts per client address: after [`Lockout::max_failures`] failures within
//! [`Lockout::window`], the address is locked out for [`Lockout::lock_for`] (the API answers
//! 429 with `Retry-After`), whatever it sends. An attempt counts as a failure from the moment
//! it begins (argon2 takes a while, and parallel attempts must not slip through while the
//! first ones are being verified); a success clears the address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Addresses tracked at most; beyond it, entries with nothing left to remember are dropped,
/// then (a flood of addresses) the oldest.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

/// The failures of each address.
#[derive(Debug)]
pub struct Lockout {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
    by_addr: HashMap<IpAddr, Entry>,
}

impl Default for Lockout {
    /// 5 failures in 15 minutes lock an address out for 15 minutes.
    fn default() -> Self {
        Lockout::new(
            5,
            Duration::from_secs(15 * 60),
            Duration::from_secs(15 * 60),
        )
    }
}

impl Lockout {
    pub fn new(max_failures: u32, window: Duration, lock_for: Duration) -> Lockout {
        Lockout {
            max_failures,
            window,
            lock_for,
            by_addr: HashMap::new(),
        }
    }

    /// Begins an attempt from `addr`: `Err(retry_after)` while it is locked out, else the
    /// attempt is counted as a failure until [`Lockout::succeeded`] says otherwise.
    pub fn begin(&mut self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        self.make_room(now);
        let e = self.by_addr.entry(addr).or_insert(Entry {
            failures: 0,
            first: now,
            locked_until: None,
        });
        if let Some(until) = e.locked_until {
            if now < until {
                return Err(until - now);
            }
            *e = Entry {
                failures: 0,
                first: now,
                locked_until: None,
            };
        }
        if now.duration_since(e.first) > self.window {
            e.failures = 0;
            e.first = now;
        }
        e.failures += 1;
        if e.failures >= self.max_failures {
            e.locked_until = Some(now + self.lock_for);
        }
        Ok(())
    }

    /// The attempt succeeded: the address starts afresh.
    pub fn succeeded(&mut self, addr: IpAddr) {
        self.by_addr.remove(&addr);
    }

    fn make_room(&mut self, now: Instant) {
        if self.by_addr.len() < MAX_TRACKED {
            return;
        }
        let (window, lock_for) = (self.window, self.lock_for);
        self.by_addr.retain(|_, e| match e.locked_until {
            Some(until) => now < until,
            None => now.duration_since(e.first) <= window.max(lock_for),
        });
        while self.by_addr.len() >= MAX_TRACKED {
            let oldest = self
                .by_addr
                .iter()
                .min_by_key(|(_, e)| e.first)
                .map(|(a, _)| *a);
            match oldest {
                Some(a) => self.by_addr.remove(&a),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn failures_lock_an_address_out_for_a_while() {
        let t0 = Instant::now();
        let min = Duration::from_secs(60);
        let mut l = Lockout::new(3, 10 * min, 5 * min);
        for _ in 0..3 {
            assert_eq!(l.begin(A, t0), Ok(()));
        }
        // The third failure locked A out; B is not affected.
        assert_eq!(l.begin(A, t0 + min), Err(4 * min));
        assert_eq!(l.begin(B, t0 + min), Ok(()));
        // Even a right passphrase is not tried until the lock ends; then A starts afresh.
        assert_eq!(l.begin(A, t0 + 5 * min), Ok(()));
        l.succeeded(A);
        assert_eq!(l.begin(A, t0 + 5 * min), Ok(()));
        assert_eq!(l.begin(A, t0 + 5 * min), Ok(()));
        l.succeeded(A);
        assert_eq!(l.begin(A, t0 + 5 * min), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let t0 = Instant::now();
        let min = Duration::from_secs(60);
        let mut l = Lockout::new(3, 10 * min, 5 * min);
        l.begin(A, t0).unwrap();
        l.begin(A, t0 + min).unwrap();
        // Eleven minutes after the first: a new window.
        l.begin(A, t0 + 11 * min).unwrap();
        l.begin(A, t0 + 11 * min).unwrap();
        assert!(l.begin(A, t0 + 11 * min).is_ok());
        assert!(l.begin(A, t0 + 11 * min).is_err());
    }
}
