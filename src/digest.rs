//! Digests: what every stage names content and inputs by (BLAKE3, 32 bytes).

/// A BLAKE3 digest.
pub type Digest = [u8; 32];

/// Serde for a list of digests as one run of bytes (`#[serde(with = "digest_list")]`): the
/// kept build state holds tens of thousands of them, and a digest read as 32 separate bytes
/// cost more than the rest of the state.
pub mod digest_list {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[super::Digest], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v.as_flattened())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<super::Digest>, D::Error> {
        struct Bytes;
        impl Visitor<'_> for Bytes {
            type Value = Vec<super::Digest>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("digests of 32 bytes each")
            }
            fn visit_bytes<E: Error>(self, b: &[u8]) -> Result<Self::Value, E> {
                let (digests, rest) = b.as_chunks::<32>();
                if !rest.is_empty() {
                    return Err(E::invalid_length(b.len(), &self));
                }
                Ok(digests.to_vec())
            }
        }
        d.deserialize_bytes(Bytes)
    }
}
