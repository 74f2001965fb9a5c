//! HMAC-SHA256 signing keys with key ids (so keys rotate without downtime) and compact signed
//! claim tokens used for identity, playback sessions and licences.
//!
//! A signed token is `<purpose>.<kid>.<payload>.<mac>`: `payload` is the base64url (no padding)
//! JSON of the claims and `mac` the base64url HMAC-SHA256 of `<purpose>.<kid>.<payload>` with the
//! key named `kid`. The purpose prefix is inside the MAC, so a token of one kind is never accepted
//! as another (a licence token is not an identity).

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// Longest signed token accepted: claims are small, and parsing stops before any work is done.
pub const MAX_SIGNED_TOKEN_LEN: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// A set of HMAC keys by key id; `current` signs, every key verifies (for rotation).
#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<String, Vec<u8>>,
    current: String,
}

impl fmt::Debug for Keyring {
    // Secrets never reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

impl Keyring {
    /// A keyring with one key, which signs. Key ids are 1-32 characters of `[A-Za-z0-9_-]`;
    /// secrets are at least 16 bytes.
    pub fn new(kid: &str, secret: &[u8]) -> Result<Self> {
        check_kid(kid)?;
        check_secret(kid, secret)?;
        let mut keys = BTreeMap::new();
        keys.insert(kid.to_string(), secret.to_vec());
        Ok(Keyring {
            keys,
            current: kid.to_string(),
        })
    }

    /// A keyring with one fresh 32-byte key from the operating system's CSPRNG.
    pub fn random(kid: &str) -> Self {
        let secret: [u8; 32] = rand::random();
        Keyring::new(kid, &secret).expect("a random 32-byte key with a checked kid is valid")
    }

    /// Adds a key that verifies but does not sign (an older or upcoming key).
    pub fn add(&mut self, kid: &str, secret: &[u8]) -> Result<()> {
        check_kid(kid)?;
        check_secret(kid, secret)?;
        self.keys.insert(kid.to_string(), secret.to_vec());
        Ok(())
    }

    /// Makes `kid` (already in the ring) the signing key.
    pub fn set_current(&mut self, kid: &str) -> Result<()> {
        if !self.keys.contains_key(kid) {
            return Err(Error::Config(format!(
                "signing key id {kid:?} is not in the keyring"
            )));
        }
        self.current = kid.to_string();
        Ok(())
    }

    /// The id of the signing key.
    pub fn current_kid(&self) -> &str {
        &self.current
    }

    /// The secret of `kid`, if known.
    pub fn secret(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(Vec::as_slice)
    }

    /// HMAC-SHA256 of `message` with the key `kid`.
    pub fn mac(&self, kid: &str, message: &[u8]) -> Option<[u8; 32]> {
        let secret = self.secret(kid)?;
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
        mac.update(message);
        Some(mac.finalize().into_bytes().into())
    }

    /// Signs `claims` for `purpose` with the current key.
    pub fn sign<T: Serialize>(&self, purpose: &str, claims: &T) -> String {
        let json = serde_json::to_vec(claims).expect("claims serialise to JSON");
        let head = format!("{purpose}.{}.{}", self.current, B64URL.encode(json));
        let mac = self
            .mac(&self.current, head.as_bytes())
            .expect("the current key is in the ring");
        format!("{head}.{}", B64URL.encode(mac))
    }

    /// Verifies a token made by [`Keyring::sign`] for `purpose` and returns its claims.
    /// Expiry and audience are the caller's checks: they differ per kind of token.
    pub fn verify<T: DeserializeOwned>(
        &self,
        purpose: &str,
        token: &str,
    ) -> std::result::Result<T, SignedTokenError> {
        if token.is_empty() {
            return Err(SignedTokenError::Missing);
        }
        if token.len() > MAX_SIGNED_TOKEN_LEN {
            return Err(SignedTokenError::Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(p), Some(kid), Some(payload), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SignedTokenError::Malformed("not four dot-separated parts"));
        };
        if p != purpose {
            return Err(SignedTokenError::WrongKind);
        }
        let Ok(given) = B64URL.decode(mac) else {
            return Err(SignedTokenError::Malformed("signature is not base64url"));
        };
        let head_len = token.len() - mac.len() - 1;
        let Some(expected) = self.mac(kid, &token.as_bytes()[..head_len]) else {
            return Err(SignedTokenError::UnknownKey);
        };
        if given.len() != expected.len() || !bool::from(given.ct_eq(&expected)) {
            return Err(SignedTokenError::BadSignature);
        }
        let json = B64URL
            .decode(payload)
            .map_err(|_| SignedTokenError::Malformed("payload is not base64url"))?;
        serde_json::from_slice(&json).map_err(|_| SignedTokenError::Malformed("bad claims"))
    }
}

/// Why a signed token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedTokenError {
    /// No token was given.
    Missing,
    /// The token does not have the expected shape.
    Malformed(&'static str),
    /// A token of another kind (purpose prefix).
    WrongKind,
    /// The key id is not in the keyring.
    UnknownKey,
    /// The MAC does not match.
    BadSignature,
    /// The token has expired.
    Expired,
    /// The token is for another audience.
    WrongAudience,
}

impl SignedTokenError {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            SignedTokenError::Missing => "missing_token",
            SignedTokenError::Malformed(_) => "malformed_token",
            SignedTokenError::WrongKind => "wrong_token_kind",
            SignedTokenError::UnknownKey => "unknown_key_id",
            SignedTokenError::BadSignature => "bad_signature",
            SignedTokenError::Expired => "expired",
            SignedTokenError::WrongAudience => "wrong_audience",
        }
    }
}

impl fmt::Display for SignedTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignedTokenError::Malformed(why) => write!(f, "malformed token: {why}"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for SignedTokenError {}

fn check_kid(kid: &str) -> Result<()> {
    if kid.is_empty()
        || kid.len() > 32
        || !kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::Config(format!(
            "key id {kid:?} must be 1-32 characters of [A-Za-z0-9_-]"
        )));
    }
    Ok(())
}

fn check_secret(kid: &str, secret: &[u8]) -> Result<()> {
    if secret.len() < 16 {
        return Err(Error::Config(format!(
            "key {kid:?}: a secret must be at least 16 bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
    }

    #[test]
    fn sign_verify_rotate_and_refuse() {
        let mut ring = Keyring::new("k1", &[7u8; 32]).unwrap();
        let claims = Claims {
            sub: "alice".into(),
        };
        let old = ring.sign("t1", &claims);
        assert_eq!(ring.verify::<Claims>("t1", &old).unwrap(), claims);
        assert_eq!(
            ring.verify::<Claims>("t2", &old).unwrap_err(),
            SignedTokenError::WrongKind
        );
        ring.add("k2", &[9u8; 32]).unwrap();
        ring.set_current("k2").unwrap();
        let new = ring.sign("t1", &claims);
        assert!(new.starts_with("t1.k2."));
        // Both the old and the new key verify during rotation.
        assert_eq!(ring.verify::<Claims>("t1", &old).unwrap(), claims);
        assert_eq!(ring.verify::<Claims>("t1", &new).unwrap(), claims);
        // Every byte flipped is refused.
        for i in 0..new.len() {
            let mut bytes = new.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(t) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(ring.verify::<Claims>("t1", &t).is_err(), "flip at {i}");
        }
        let other = Keyring::new("k2", &[1u8; 32]).unwrap();
        assert_eq!(
            other.verify::<Claims>("t1", &new).unwrap_err(),
            SignedTokenError::BadSignature
        );
        assert!(Keyring::new("k 1", &[0u8; 32]).is_err());
        assert!(Keyring::new("k1", &[0u8; 8]).is_err());
        assert!(!format!("{ring:?}").contains("9, 9"));
    }
}
