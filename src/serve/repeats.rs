//! The rate rule of the public collector (`serve --public`): a post viewed again from the same
//! (hashed) address within [`WINDOW`] counts once, so reloads and a script replaying the
//! beacon do not inflate a post's views.
//!
//! The memory is the hashed address and the post id of recent views, in this process only;
//! entries older than the window are dropped as new ones come in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a view of a post from one address makes the next ones not count.
pub const WINDOW: Duration = Duration::from_secs(30 * 60);
/// Entries remembered before the stale ones are swept (a sweep walks every entry).
const SWEEP_AT: usize = 4096;

/// The recent views the rule remembers.
#[derive(Debug)]
pub struct RecentViews {
    window: Duration,
    seen: HashMap<(String, i64), Instant>,
    /// Size that triggers the next sweep (doubles while the map stays full of fresh entries).
    sweep_at: usize,
}

impl RecentViews {
    pub fn new(window: Duration) -> RecentViews {
        RecentViews {
            window,
            seen: HashMap::new(),
            sweep_at: SWEEP_AT,
        }
    }

    /// Whether a view of `post` from `address` (its hash) at `now` counts: it does unless
    /// one that counted came from there less than the window ago.
    pub fn counts(&mut self, address: &str, post: i64, now: Instant) -> bool {
        let key = (address.to_string(), post);
        if let Some(at) = self.seen.get(&key) {
            if now.saturating_duration_since(*at) < self.window {
                return false;
            }
        }
        self.seen.insert(key, now);
        if self.seen.len() >= self.sweep_at {
            let window = self.window;
            self.seen
                .retain(|_, at| now.saturating_duration_since(*at) < window);
            self.sweep_at = (self.seen.len() * 2).max(SWEEP_AT);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_view_per_address_and_post_within_the_window() {
        let mut r = RecentViews::new(Duration::from_secs(60));
        let t = Instant::now();
        assert!(r.counts("h:a", 1, t));
        assert!(!r.counts("h:a", 1, t + Duration::from_secs(59)));
        assert!(r.counts("h:a", 2, t), "another post");
        assert!(r.counts("h:b", 1, t), "another address");
        assert!(r.counts("h:a", 1, t + Duration::from_secs(60)));
        assert!(!r.counts("h:a", 1, t + Duration::from_secs(61)));
    }

    #[test]
    fn stale_entries_are_swept() {
        let mut r = RecentViews::new(Duration::from_secs(1));
        let t = Instant::now();
        for i in 0..SWEEP_AT as i64 - 1 {
            assert!(r.counts("h:a", i, t));
        }
        assert!(r.counts("h:b", 0, t + Duration::from_secs(2)));
        assert_eq!(r.seen.len(), 1);
    }
}
