//! The admin API's tokens, as plain values: the signed access token and the random refresh
//! token (what they are, how they are made and checked; where refresh tokens are stored is
//! `store::content::sessions`, what signing in does with them is `content::sessions`).
//!
//! **Access token**: `bga.USER.FAMILY.EXPIRES.MAC`, where `MAC` is HMAC-SHA256 (hex) of the
//! rest under a key drawn at random by each `bloggo serve` process and kept in memory only.
//! It lives [`ACCESS_TTL`]; checking it needs no store read for the signature. The key is not
//! kept in the store because nothing has to outlive the process: a restarted server refuses
//! the old access tokens and clients use their refresh token, which is in the store; and a
//! key at rest would travel in every backup. The token names the refresh-token family it
//! came from, so revoking a sign-in (`DELETE /session`, `bloggo user revoke`) ends its
//! access tokens at once, not when they expire.
//!
//! **Refresh token**: `bgr.` and 256 random bits in hex. Only its SHA-256 is stored; it
//! lives [`REFRESH_TTL`] and is replaced by a new one each time it is used.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::fsx::{hex, sha256_hex};

/// How long an access token is accepted.
pub const ACCESS_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How long an unused refresh token can be exchanged.
pub const REFRESH_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

const ACCESS_PREFIX: &str = "bga";
const REFRESH_PREFIX: &str = "bgr.";

/// What an access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub user_id: i64,
    /// The refresh-token family (the sign-in) it was issued for.
    pub family_id: i64,
    /// Unix seconds.
    pub expires: i64,
}

/// Why an access token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token's signature does not match (forged, or from an earlier run of `bloggo serve`): refresh it")]
    BadSignature,
    #[error("the access token has expired: refresh it")]
    Expired,
}

/// The key access tokens are signed with.
pub struct AccessKey([u8; 32]);

impl AccessKey {
    /// A new random key.
    pub fn generate() -> anyhow::Result<AccessKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| anyhow::anyhow!("cannot draw a random key for access tokens: {e}"))?;
        Ok(AccessKey(key))
    }

    fn mac(&self, body: &str) -> hmac::Hmac<Sha256> {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(body.as_bytes());
        mac
    }

    /// The signed token for `claims`.
    pub fn sign(&self, claims: Claims) -> String {
        let body = format!(
            "{ACCESS_PREFIX}.{}.{}.{}",
            claims.user_id, claims.family_id, claims.expires
        );
        let tag = hex(&self.mac(&body).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The claims of a token signed with this key and not expired at `now` (Unix seconds).
    /// The signature is compared in constant time.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (body, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = body.split('.');
        if parts.next() != Some(ACCESS_PREFIX) {
            return Err(TokenError::Malformed);
        }
        let mut num = || -> Result<i64, TokenError> {
            parts
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or(TokenError::Malformed)
        };
        let claims = Claims {
            user_id: num()?,
            family_id: num()?,
            expires: num()?,
        };
        if parts.next().is_some() {
            return Err(TokenError::Malformed);
        }
        let tag = unhex(tag).ok_or(TokenError::Malformed)?;
        self.mac(body)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        if now >= claims.expires {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A new refresh token: `bgr.` and 256 random bits in hex.
pub fn new_refresh() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot draw a random refresh token: {e}"))?;
    Ok(format!("{REFRESH_PREFIX}{}", hex(&bytes)))
}

/// What the store keeps of a refresh token: its SHA-256, hex.
pub fn refresh_hash(token: &str) -> String {
    sha256_hex(token.trim().as_bytes())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: Claims = Claims {
        user_id: 7,
        family_id: 3,
        expires: 1_000,
    };

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = AccessKey::generate().unwrap();
        let token = key.sign(CLAIMS);
        assert!(token.starts_with("bga.7.3.1000."), "{token}");
        assert_eq!(key.verify(&token, 999), Ok(CLAIMS));
        assert_eq!(key.verify(&token, 1_000), Err(TokenError::Expired));
    }

    #[test]
    fn a_changed_or_foreign_token_is_refused() {
        let key = AccessKey::generate().unwrap();
        let token = key.sign(CLAIMS);
        // Another user id, a later expiry: the signature no longer matches.
        let forged = token.replacen("bga.7.", "bga.1.", 1);
        assert_eq!(key.verify(&forged, 0), Err(TokenError::BadSignature));
        let longer = token.replacen(".1000.", ".9999.", 1);
        assert_eq!(key.verify(&longer, 0), Err(TokenError::BadSignature));
        // Signed by another process's key.
        let other = AccessKey::generate().unwrap();
        assert_eq!(other.verify(&token, 0), Err(TokenError::BadSignature));
        for bad in [
            "",
            "bga",
            "bga.7.3.1000",
            "xyz.7.3.1000.00",
            "bga.7.3.x.00",
            "bga.7.3.1000.zz",
        ] {
            assert_eq!(key.verify(bad, 0), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_as_their_hash() {
        let a = new_refresh().unwrap();
        let b = new_refresh().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(refresh_hash(&a), refresh_hash(&format!(" {a}\n")));
        assert_eq!(refresh_hash(&a).len(), 64);
        assert!(!refresh_hash(&a).contains(&a[4..]));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
