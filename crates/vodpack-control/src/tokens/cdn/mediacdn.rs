//! Google Cloud Media CDN signed requests (Ed25519), as Google's published signing samples make
//! them:
//! - signed URL: `URL{?|&}Expires=E&KeyName=K&Signature=S`, where `S` is the base64url (with `=`
//!   padding) Ed25519 signature of everything before `&Signature=`;
//! - URL-prefix signature: `URL{?|&}URLPrefix=P&Expires=E&KeyName=K&Signature=S`, with `P` the
//!   base64url (padded) of the prefix and `S` the signature of `URLPrefix=P&Expires=E&KeyName=K`;
//! - signed cookie: `Edge-Cache-Cookie=URLPrefix=P:Expires=E:KeyName=K:Signature=S`, `S` the
//!   signature of `URLPrefix=P:Expires=E:KeyName=K`, base64url without padding.
//!
//! The separator is `&` when the URL already has a query parameter, else `?`. Verification
//! accepts the signature with or without padding. Keys are 32-byte Ed25519 seeds (private) and
//! 32-byte public keys, both base64url, grouped in a keyset by key name.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, URL_SAFE as B64URL_PAD,
};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::{
    check_window, cookie_value, sign_err, split_url_query, Refusal, SignError, MAX_INPUT_LEN,
};

/// The cookie that carries a Media CDN signed cookie.
pub const COOKIE_NAME: &str = "Edge-Cache-Cookie";

const B64URL_ANY: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes base64url with or without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    B64URL_ANY.decode(s).ok()
}

/// Whether the query part of `url` holds any parameter (Python's `parse_qs(…,
/// keep_blank_values=True)` is not empty): decides `&` or `?`.
fn has_query_params(url: &str) -> bool {
    split_url_query(url)
        .1
        .is_some_and(|q| q.split('&').any(|p| !p.is_empty()))
}

fn separator(url: &str) -> char {
    if has_query_params(url) {
        '&'
    } else {
        '?'
    }
}

/// Signs with one key of a Media CDN keyset.
#[derive(Clone)]
pub struct MediaCdnSigner {
    key_name: String,
    key: SigningKey,
}

impl std::fmt::Debug for MediaCdnSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaCdnSigner")
            .field("key_name", &self.key_name)
            .finish()
    }
}

fn check_key_name(name: &str) -> Result<(), SignError> {
    // Key names are Google Cloud resource ids: 1-63 of [a-z0-9-]; refuse what would break a URL.
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        return Err(sign_err(format!(
            "key name {name:?} must be 1-63 of [A-Za-z0-9_-]"
        )));
    }
    Ok(())
}

impl MediaCdnSigner {
    /// A signer from the base64url 32-byte Ed25519 seed (what Google's samples take).
    pub fn from_base64(key_name: &str, seed_b64: &str) -> Result<Self, SignError> {
        check_key_name(key_name)?;
        let seed = b64url_decode(seed_b64.trim())
            .ok_or_else(|| sign_err("the private key is not base64url"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| sign_err("the private key must be a 32-byte Ed25519 seed"))?;
        Ok(MediaCdnSigner {
            key_name: key_name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key name.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The public key (base64url, padded), as configured in the keyset.
    pub fn public_key_b64(&self) -> String {
        B64URL_PAD.encode(self.key.verifying_key().as_bytes())
    }

    fn sign_b64(&self, msg: &str) -> String {
        B64URL_PAD.encode(self.key.sign(msg.as_bytes()).to_bytes())
    }

    /// A signed URL for exactly `url` (trimmed, as the samples do).
    pub fn sign_url(&self, url: &str, expires: u64) -> String {
        let url = url.trim();
        let to_sign = format!(
            "{url}{}Expires={expires}&KeyName={}",
            separator(url),
            self.key_name
        );
        let sig = self.sign_b64(&to_sign);
        format!("{to_sign}&Signature={sig}")
    }

    /// The `URLPrefix=…&Expires=…&KeyName=…&Signature=…` query for a prefix.
    pub fn prefix_query(&self, url_prefix: &str, expires: u64) -> String {
        let policy = format!(
            "URLPrefix={}&Expires={expires}&KeyName={}",
            B64URL_PAD.encode(url_prefix.trim().as_bytes()),
            self.key_name
        );
        let sig = self.sign_b64(&policy);
        format!("{policy}&Signature={sig}")
    }

    /// `url` signed with a URL-prefix signature.
    pub fn sign_url_prefix(&self, url: &str, url_prefix: &str, expires: u64) -> String {
        let url = url.trim();
        format!(
            "{url}{}{}",
            separator(url),
            self.prefix_query(url_prefix, expires)
        )
    }

    /// The `Edge-Cache-Cookie` value for a prefix (without the cookie name).
    pub fn cookie_value(&self, url_prefix: &str, expires: u64) -> String {
        let policy = format!(
            "URLPrefix={}:Expires={expires}:KeyName={}",
            B64URL_PAD.encode(url_prefix.trim().as_bytes()),
            self.key_name
        );
        let sig = self.sign_b64(&policy);
        let sig = sig.trim_end_matches('=');
        format!("{policy}:Signature={sig}")
    }
}

/// What a verified request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCdnGrant {
    /// The URL prefix (`None`: the exact URL was signed).
    pub url_prefix: Option<String>,
    /// Expiry.
    pub expires: u64,
    /// Key name.
    pub key_name: String,
}

/// Verifies with the public keys of a keyset.
#[derive(Debug, Clone, Default)]
pub struct MediaCdnVerifier {
    keys: Vec<(String, VerifyingKey)>,
}

impl MediaCdnVerifier {
    /// An empty keyset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a public key (base64url, 32 bytes) under its name.
    pub fn add_key(&mut self, key_name: &str, public_b64: &str) -> Result<(), SignError> {
        check_key_name(key_name)?;
        let raw = b64url_decode(public_b64.trim())
            .ok_or_else(|| sign_err("the public key is not base64url"))?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| sign_err("an Ed25519 public key has 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|e| sign_err(format!("not an Ed25519 public key: {e}")))?;
        self.keys.push((key_name.to_string(), key));
        Ok(())
    }

    fn check_sig(&self, key_name: &str, msg: &str, sig_b64: &str) -> Result<(), Refusal> {
        let sig = b64url_decode(sig_b64)
            .ok_or_else(|| Refusal::malformed("Signature is not base64url"))?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| Refusal::malformed("an Ed25519 signature has 64 bytes"))?;
        let sig = Signature::from_bytes(&sig);
        let mut known = false;
        for (name, key) in &self.keys {
            if name == key_name {
                known = true;
                if key.verify_strict(msg.as_bytes(), &sig).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(if known {
            Refusal::BadSignature
        } else {
            Refusal::UnknownKey
        })
    }

    /// Verifies a signed URL (exact-URL or URL-prefix signature) at `now`.
    pub fn verify_url(&self, signed_url: &str, now: u64) -> Result<MediaCdnGrant, Refusal> {
        if signed_url.len() > MAX_INPUT_LEN {
            return Err(Refusal::malformed("URL too long"));
        }
        if signed_url.contains('#') {
            return Err(Refusal::malformed("a signed URL has no fragment"));
        }
        let Some(qpos) = signed_url.find('?') else {
            return Err(Refusal::Missing);
        };
        let query = &signed_url[qpos + 1..];
        let Some(sig_at) = query
            .rfind("Signature=")
            .filter(|&i| i == 0 || query.as_bytes()[i - 1] == b'&')
        else {
            return Err(Refusal::Missing);
        };
        let sig = &query[sig_at + "Signature=".len()..];
        if sig.contains('&') {
            return Err(Refusal::malformed("Signature must be the last parameter"));
        }
        if sig_at == 0 {
            return Err(Refusal::malformed(
                "no Expires and KeyName before Signature",
            ));
        }
        // Everything before "&Signature=" is what was signed.
        let signed_end = qpos + sig_at;
        let signed = &signed_url[..signed_end];
        let signed_query = &query[..sig_at - 1];
        let params: Vec<&str> = signed_query.split('&').collect();
        let n = params.len();
        if n >= 3 && params[n - 3].starts_with("URLPrefix=") {
            let policy_start =
                signed_end - (params[n - 3].len() + params[n - 2].len() + params[n - 1].len() + 2);
            let policy = &signed_url[policy_start..signed_end];
            let request_url = &signed_url[..policy_start.saturating_sub(1)];
            let grant = self.verify_policy(policy, '&', sig, now)?;
            let prefix = grant.url_prefix.as_deref().unwrap_or_default();
            if !request_url.starts_with(prefix) {
                return Err(Refusal::OutsideScope);
            }
            return Ok(grant);
        }
        if n < 2 {
            return Err(Refusal::malformed(
                "no Expires and KeyName before Signature",
            ));
        }
        let expires = params[n - 2]
            .strip_prefix("Expires=")
            .ok_or_else(|| Refusal::malformed("Expires must come before KeyName"))?;
        let key_name = params[n - 1]
            .strip_prefix("KeyName=")
            .ok_or_else(|| Refusal::malformed("KeyName must come before Signature"))?;
        let expires = parse_epoch(expires)?;
        self.check_sig(key_name, signed, sig)?;
        check_window(None, expires, now)?;
        Ok(MediaCdnGrant {
            url_prefix: None,
            expires,
            key_name: key_name.to_string(),
        })
    }

    /// Verifies the `Edge-Cache-Cookie` of a `Cookie` header for a request of `url` (the full
    /// URL, `scheme://host/path…`).
    pub fn verify_cookie(
        &self,
        url: &str,
        cookie_header: &str,
        now: u64,
    ) -> Result<MediaCdnGrant, Refusal> {
        if cookie_header.len() > MAX_INPUT_LEN {
            return Err(Refusal::malformed("cookie header too long"));
        }
        let value = cookie_value(cookie_header, COOKIE_NAME).ok_or(Refusal::Missing)?;
        let Some((policy, sig)) = value.rsplit_once(":Signature=") else {
            return Err(Refusal::malformed("no Signature in the cookie"));
        };
        let grant = self.verify_policy(policy, ':', sig, now)?;
        if !url.starts_with(grant.url_prefix.as_deref().unwrap_or_default()) {
            return Err(Refusal::OutsideScope);
        }
        Ok(grant)
    }

    /// `URLPrefix=P{sep}Expires=E{sep}KeyName=K`, signature checked, then the expiry.
    fn verify_policy(
        &self,
        policy: &str,
        sep: char,
        sig: &str,
        now: u64,
    ) -> Result<MediaCdnGrant, Refusal> {
        let mut parts = policy.split(sep);
        let (Some(p), Some(e), Some(k), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::malformed("expected URLPrefix, Expires, KeyName"));
        };
        let p = p
            .strip_prefix("URLPrefix=")
            .ok_or_else(|| Refusal::malformed("URLPrefix first"))?;
        let e = e
            .strip_prefix("Expires=")
            .ok_or_else(|| Refusal::malformed("Expires second"))?;
        let k = k
            .strip_prefix("KeyName=")
            .ok_or_else(|| Refusal::malformed("KeyName third"))?;
        let prefix = b64url_decode(p)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Refusal::malformed("URLPrefix is not base64url UTF-8"))?;
        let expires = parse_epoch(e)?;
        self.check_sig(k, policy, sig)?;
        check_window(None, expires, now)?;
        Ok(MediaCdnGrant {
            url_prefix: Some(prefix),
            expires,
            key_name: k.to_string(),
        })
    }
}

fn parse_epoch(s: &str) -> Result<u64, Refusal> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::malformed("Expires is not a decimal number"));
    }
    s.parse()
        .map_err(|_| Refusal::malformed("Expires is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 §7.1 test 1 seed.
    const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

    fn pair() -> (MediaCdnSigner, MediaCdnVerifier) {
        let s = MediaCdnSigner::from_base64("key-1", SEED).unwrap();
        let mut v = MediaCdnVerifier::new();
        v.add_key("key-1", &s.public_key_b64()).unwrap();
        (s, v)
    }

    #[test]
    fn rfc8032_public_key() {
        let (s, _) = pair();
        // RFC 8032 §7.1 TEST 1 public key d75a9801…511a.
        assert_eq!(
            b64url_decode(&s.public_key_b64()).unwrap(),
            hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
                .unwrap()
        );
    }

    #[test]
    fn signed_url() {
        let (s, v) = pair();
        let u = s.sign_url("https://m.example.com/v/a/seg_1.m4s", 2000);
        assert!(u.starts_with(
            "https://m.example.com/v/a/seg_1.m4s?Expires=2000&KeyName=key-1&Signature="
        ));
        assert!(u.ends_with("=="), "padded like the sample");
        assert!(v.verify_url(&u, 1999).is_ok());
        assert!(v.verify_url(u.trim_end_matches('='), 1999).is_ok());
        assert_eq!(v.verify_url(&u, 2000), Err(Refusal::Expired));
        assert_eq!(
            v.verify_url(&u.replace("seg_1", "seg_2"), 1),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            v.verify_url(&u.replace("KeyName=key-1", "KeyName=key-2"), 1),
            Err(Refusal::UnknownKey)
        );
        let q = s.sign_url("https://m.example.com/x?a=1", 5);
        assert!(q.contains("?a=1&Expires=5&KeyName=key-1&Signature="));
        assert!(v.verify_url(&q, 1).is_ok());
    }

    #[test]
    fn prefix_url_and_cookie() {
        let (s, v) = pair();
        let prefix = "https://m.example.com/v/a/";
        let u = s.sign_url_prefix("https://m.example.com/v/a/720p/seg_1.m4s", prefix, 2000);
        assert!(v.verify_url(&u, 1).is_ok());
        let moved = u.replace("/v/a/720p", "/v/b/720p");
        assert_eq!(v.verify_url(&moved, 1), Err(Refusal::OutsideScope));
        let c = s.cookie_value(prefix, 2000);
        assert!(!c.ends_with('='));
        let header = format!("x=1; {COOKIE_NAME}={c}");
        assert!(v
            .verify_cookie("https://m.example.com/v/a/init.mp4", &header, 1)
            .is_ok());
        assert_eq!(
            v.verify_cookie("https://m.example.com/v/c/init.mp4", &header, 1),
            Err(Refusal::OutsideScope)
        );
        assert_eq!(
            v.verify_cookie("https://m.example.com/v/a/x", &header, 2000),
            Err(Refusal::Expired)
        );
        let tampered = header.replace("Expires=2000", "Expires=2001");
        assert_eq!(
            v.verify_cookie("https://m.example.com/v/a/x", &tampered, 1),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn malformed() {
        let (_, v) = pair();
        for u in [
            "https://h/x?Signature=AA",
            "https://h/x?KeyName=k&Expires=1&Signature=AA",
            "https://h/x?Expires=1&KeyName=key-1&Signature=!!",
            "https://h/x?Expires=x&KeyName=key-1&Signature=AA",
            "https://h/x?Expires=1&KeyName=key-1&Signature=AA&z=1",
            "https://h/x?URLPrefix=%%&Expires=1&KeyName=key-1&Signature=AA",
        ] {
            assert!(
                matches!(v.verify_url(u, 1), Err(Refusal::Malformed(_))),
                "{u}"
            );
        }
        assert_eq!(v.verify_url("https://h/x", 1), Err(Refusal::Missing));
        assert_eq!(
            v.verify_cookie("https://h/x", "a=b", 1),
            Err(Refusal::Missing)
        );
        assert!(MediaCdnSigner::from_base64("k", "AAAA").is_err());
        assert!(MediaCdnSigner::from_base64("bad name", SEED).is_err());
    }
}
