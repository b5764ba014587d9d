//! Random secrets (session ids, API tokens, the setup secret) and how they are
//! kept: only a SHA-256 digest is stored, so a copy of the database opens no
//! session and authenticates no script.
//!
//! A fast hash is right here, unlike for passwords: each secret is 256 random
//! bits, so there is nothing to guess.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of every API token, so that secret scanners and people can tell
/// one when they see it.
pub const TOKEN_PREFIX: &str = "tally_";

/// 256 random bits from the operating system, URL-safe base64 (43 characters).
pub fn random() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new API token: `tally_` and 256 random bits.
pub fn new_token() -> Result<String, getrandom::Error> {
    Ok(format!("{TOKEN_PREFIX}{}", random()?))
}

/// The hex SHA-256 digest a secret is stored and looked up by.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hash {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `raw` has the shape of a token this server makes (checked before
/// any lookup, so junk never reaches the database).
pub fn looks_like_token(raw: &str) -> bool {
    raw.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `raw` has the shape of a session id this server makes.
pub fn looks_like_session(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let a = random().expect("random");
        let b = random().expect("random");
        assert_ne!(a, b);
        assert!(looks_like_session(&a));
        let token = new_token().expect("random");
        assert!(looks_like_token(&token), "{token}");
        assert!(!looks_like_token("tally_short"));
        assert!(!looks_like_token(&a));
        assert_eq!(digest("abc").len(), 64);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same("a", "ab"));
    }
}
