//! Quantities as messages and listings write them for people: byte sizes.

/// Bytes as B, KB, MB, GB or TB (powers of 1024), one decimal above bytes: `512 B`, `1.5 KB`.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_read_in_the_largest_unit_that_fits() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KB");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MB");
        assert_eq!(bytes(2 << 30), "2.0 GB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TB");
    }
}
