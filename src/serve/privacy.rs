//! IP anonymisation: addresses are stored as a keyed hash, never as they came.
//!
//! The key is 32 random bytes drawn when `bloggo serve` starts and kept only in memory, and
//! the UTC date is hashed with the address. So the same visitor gives the same value for one
//! day of one server run (enough to tell repeat views apart), nobody can recover the address
//! from the store, and values cannot be linked across days or restarts.

use std::net::IpAddr;

/// Hashes addresses with a key that never leaves memory.
pub struct IpAnonymiser {
    key: [u8; 32],
}

impl IpAnonymiser {
    /// A new random key.
    pub fn new() -> anyhow::Result<IpAnonymiser> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| anyhow::anyhow!("cannot draw a random key for IP hashing: {e}"))?;
        Ok(IpAnonymiser { key })
    }

    /// `h:` and 16 hex digits of BLAKE3(key; date, address).
    pub fn anonymise(&self, ip: IpAddr, date: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(date.as_bytes());
        match ip {
            IpAddr::V4(v4) => h.update(&v4.octets()),
            IpAddr::V6(v6) => h.update(&v6.octets()),
        };
        let hex = h.finalize().to_hex();
        format!("h:{}", &hex.as_str()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_per_day_and_hide_the_address() {
        let a = IpAnonymiser::new().unwrap();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let one = a.anonymise(ip, "2026-01-01");
        assert_eq!(one, a.anonymise(ip, "2026-01-01"));
        assert_ne!(one, a.anonymise(ip, "2026-01-02"));
        assert_ne!(
            one,
            a.anonymise("203.0.113.8".parse().unwrap(), "2026-01-01")
        );
        assert!(!one.contains("203"));
        assert_eq!(one.len(), 18);
        // Another run (another key) gives another value.
        assert_ne!(
            one,
            IpAnonymiser::new().unwrap().anonymise(ip, "2026-01-01")
        );
    }
}
