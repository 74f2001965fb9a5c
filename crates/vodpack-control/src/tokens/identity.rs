//! Identity bearer tokens: HMAC-signed claims (subject, audience, expiry, plans) verified by the
//! library, so a backend needs no JWT stack. Format: a [`crate::tokens::signed`] token with purpose
//! [`IDENTITY_PURPOSE`], sent as `Authorization: Bearer <token>`.

use serde::{Deserialize, Serialize};

use crate::tokens::signed::{Keyring, SignedTokenError};

/// The purpose prefix of identity tokens.
pub const IDENTITY_PURPOSE: &str = "vpid1";

/// The claims of an identity token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityClaims {
    /// The subject (user or account id).
    pub sub: String,
    /// The audience the token was issued for (the playback service's name).
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issue time, Unix seconds.
    pub iat: u64,
    /// Subscription plans of the subject, used by entitlement rules.
    #[serde(default)]
    pub plans: Vec<String>,
}

/// Issues and verifies identity tokens.
#[derive(Debug, Clone)]
pub struct IdentityVerifier {
    keys: Keyring,
    audience: String,
    skew_secs: u64,
}

impl IdentityVerifier {
    /// A verifier for tokens addressed to `audience`, tolerating 30 s of clock skew.
    pub fn new(keys: Keyring, audience: &str) -> Self {
        IdentityVerifier {
            keys,
            audience: audience.to_string(),
            skew_secs: 30,
        }
    }

    /// The audience this verifier accepts.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Issues a token for `sub` with `plans`, valid for `ttl_secs` from `now`, for this audience.
    pub fn issue(&self, sub: &str, plans: &[&str], now: u64, ttl_secs: u64) -> String {
        self.keys.sign(
            IDENTITY_PURPOSE,
            &IdentityClaims {
                sub: sub.to_string(),
                aud: self.audience.clone(),
                exp: now.saturating_add(ttl_secs),
                iat: now,
                plans: plans.iter().map(|p| p.to_string()).collect(),
            },
        )
    }

    /// Verifies signature, expiry and audience.
    pub fn verify(&self, token: &str, now: u64) -> Result<IdentityClaims, SignedTokenError> {
        let claims: IdentityClaims = self.keys.verify(IDENTITY_PURPOSE, token)?;
        if now > claims.exp.saturating_add(self.skew_secs) {
            return Err(SignedTokenError::Expired);
        }
        if claims.aud != self.audience {
            return Err(SignedTokenError::WrongAudience);
        }
        if claims.sub.is_empty() {
            return Err(SignedTokenError::Malformed("empty subject"));
        }
        Ok(claims)
    }

    /// Verifies an `Authorization` header value (`Bearer <token>`).
    pub fn verify_header(
        &self,
        header: Option<&str>,
        now: u64,
    ) -> Result<IdentityClaims, SignedTokenError> {
        let Some(h) = header else {
            return Err(SignedTokenError::Missing);
        };
        let Some(token) = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
        else {
            return Err(SignedTokenError::Malformed("not a Bearer token"));
        };
        self.verify(token.trim(), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_expiry_audience() {
        let v = IdentityVerifier::new(Keyring::new("i1", &[3u8; 32]).unwrap(), "vodpack");
        let t = v.issue("alice", &["premium"], 1000, 60);
        let c = v.verify(&t, 1030).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.plans, vec!["premium"]);
        assert_eq!(v.verify(&t, 1091).unwrap_err(), SignedTokenError::Expired);
        let other = IdentityVerifier::new(Keyring::new("i1", &[3u8; 32]).unwrap(), "billing");
        assert_eq!(
            other.verify(&t, 1000).unwrap_err(),
            SignedTokenError::WrongAudience
        );
        assert!(v.verify_header(Some(&format!("Bearer {t}")), 1000).is_ok());
        assert_eq!(
            v.verify_header(None, 1000).unwrap_err(),
            SignedTokenError::Missing
        );
        assert!(v.verify_header(Some(&format!("Basic {t}")), 1000).is_err());
    }
}
