//! Amazon CloudFront signed URLs and signed cookies, canned and custom policies.
//!
//! The policy is compact JSON, `{"Statement":[{"Resource":R,"Condition":{"DateLessThan":
//! {"AWS:EpochTime":E}[,"IpAddress":{"AWS:SourceIp":CIDR}][,"DateGreaterThan":
//! {"AWS:EpochTime":S}]}}]}` (a canned policy has only `DateLessThan` and the URL as `Resource`);
//! strings are escaped as Python's `json.dumps` does (`ensure_ascii`). The signature is RSA-SHA1
//! PKCS#1 v1.5 over the policy's bytes. Policy and signature travel in CloudFront's base64 (`+`→`-`,
//! `=`→`_`, `/`→`~`): a canned URL gets `Expires=E&Signature=S&Key-Pair-Id=K`, a custom one
//! `Policy=P&Signature=S&Key-Pair-Id=K`; cookies are `CloudFront-Expires` or `CloudFront-Policy`,
//! `CloudFront-Signature`, `CloudFront-Key-Pair-Id`. Byte for byte what botocore's
//! `CloudFrontSigner` produces (`tests/cdn_judges.rs` compares them).

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

use super::{
    check_window, cookie_value, sign_err, split_url_query, wildcard_match, Cidr, Refusal,
    SignError, MAX_INPUT_LEN,
};

/// Cookie names of CloudFront signed cookies.
pub const COOKIE_POLICY: &str = "CloudFront-Policy";
/// Cookie of a canned policy's expiry.
pub const COOKIE_EXPIRES: &str = "CloudFront-Expires";
/// Cookie of the signature.
pub const COOKIE_SIGNATURE: &str = "CloudFront-Signature";
/// Cookie of the key pair id (the public key's id in the trusted key group).
pub const COOKIE_KEY_PAIR_ID: &str = "CloudFront-Key-Pair-Id";

/// CloudFront's base64: standard base64 with `+`→`-`, `=`→`_`, `/`→`~`.
pub fn cf_b64encode(data: &[u8]) -> String {
    B64.encode(data)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

/// The inverse of [`cf_b64encode`] (strict: only CloudFront's alphabet).
pub fn cf_b64decode(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|b| matches!(b, b'+' | b'=' | b'/')) {
        return None;
    }
    let std: String = s
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    B64.decode(std).ok()
}

/// A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`): `"` and `\`
/// escaped, `\b\f\n\r\t` short, every other character outside `' '..='~'` as `\uxxxx`
/// (lowercase, UTF-16 surrogate pairs above U+FFFF).
pub fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A custom policy, as botocore's `build_policy(resource, date_less_than, date_greater_than,
/// ip_address)` (an address without `/` becomes `/32`).
pub fn custom_policy(
    resource: &str,
    expires: u64,
    not_before: Option<u64>,
    ip_address: Option<&str>,
) -> String {
    let mut cond = format!("{{\"DateLessThan\":{{\"AWS:EpochTime\":{expires}}}");
    if let Some(ip) = ip_address.filter(|s| !s.is_empty()) {
        let ip = if ip.contains('/') {
            ip.to_string()
        } else {
            format!("{ip}/32")
        };
        cond.push_str(&format!(
            ",\"IpAddress\":{{\"AWS:SourceIp\":{}}}",
            py_json_string(&ip)
        ));
    }
    if let Some(nb) = not_before.filter(|&n| n != 0) {
        cond.push_str(&format!(",\"DateGreaterThan\":{{\"AWS:EpochTime\":{nb}}}"));
    }
    cond.push('}');
    format!(
        "{{\"Statement\":[{{\"Resource\":{},\"Condition\":{cond}}}]}}",
        py_json_string(resource)
    )
}

/// A canned policy: the URL as resource and only an expiry.
pub fn canned_policy(url: &str, expires: u64) -> String {
    custom_policy(url, expires, None, None)
}

fn append_params(url: &str, params: &[String]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", params.join("&"))
}

/// Signs with a private key of a CloudFront public key (its id is the `Key-Pair-Id`).
#[derive(Clone)]
pub struct CloudFrontSigner {
    key_pair_id: String,
    key: RsaPrivateKey,
}

impl std::fmt::Debug for CloudFrontSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFrontSigner")
            .field("key_pair_id", &self.key_pair_id)
            .finish()
    }
}

impl CloudFrontSigner {
    /// A signer from a PEM RSA private key (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    pub fn from_pem(key_pair_id: &str, pem: &str) -> Result<Self, SignError> {
        check_key_pair_id(key_pair_id).map_err(sign_err)?;
        let key = RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|e| sign_err(format!("not an RSA private key in PEM: {e}")))?;
        Ok(CloudFrontSigner::new(key_pair_id, key))
    }

    /// A signer from a key.
    pub fn new(key_pair_id: &str, key: RsaPrivateKey) -> Self {
        CloudFrontSigner {
            key_pair_id: key_pair_id.to_string(),
            key,
        }
    }

    /// The key pair id.
    pub fn key_pair_id(&self) -> &str {
        &self.key_pair_id
    }

    /// The public half (for a verifier).
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }

    /// RSA-SHA1 PKCS#1 v1.5 signature of the policy, in CloudFront's base64.
    pub fn sign_policy(&self, policy: &str) -> Result<String, SignError> {
        let digest = Sha1::digest(policy.as_bytes());
        let sig = self
            .key
            .sign(Pkcs1v15Sign::new::<Sha1>(), &digest)
            .map_err(|e| sign_err(format!("RSA signing failed: {e}")))?;
        Ok(cf_b64encode(&sig))
    }

    /// A canned-policy signed URL (`generate_presigned_url(url, date_less_than=…)`).
    pub fn signed_url_canned(&self, url: &str, expires: u64) -> Result<String, SignError> {
        let sig = self.sign_policy(&canned_policy(url, expires))?;
        Ok(append_params(
            url,
            &[
                format!("Expires={expires}"),
                format!("Signature={sig}"),
                format!("Key-Pair-Id={}", self.key_pair_id),
            ],
        ))
    }

    /// A custom-policy signed URL (`generate_presigned_url(url, policy=…)`).
    pub fn signed_url_custom(&self, url: &str, policy: &str) -> Result<String, SignError> {
        let sig = self.sign_policy(policy)?;
        Ok(append_params(
            url,
            &[
                format!("Policy={}", cf_b64encode(policy.as_bytes())),
                format!("Signature={sig}"),
                format!("Key-Pair-Id={}", self.key_pair_id),
            ],
        ))
    }

    /// Signed cookies (name, value) for a custom policy.
    pub fn cookies_custom(&self, policy: &str) -> Result<Vec<(String, String)>, SignError> {
        Ok(vec![
            (COOKIE_POLICY.into(), cf_b64encode(policy.as_bytes())),
            (COOKIE_SIGNATURE.into(), self.sign_policy(policy)?),
            (COOKIE_KEY_PAIR_ID.into(), self.key_pair_id.clone()),
        ])
    }

    /// Signed cookies (name, value) for a canned policy on one URL.
    pub fn cookies_canned(
        &self,
        url: &str,
        expires: u64,
    ) -> Result<Vec<(String, String)>, SignError> {
        Ok(vec![
            (COOKIE_EXPIRES.into(), expires.to_string()),
            (
                COOKIE_SIGNATURE.into(),
                self.sign_policy(&canned_policy(url, expires))?,
            ),
            (COOKIE_KEY_PAIR_ID.into(), self.key_pair_id.clone()),
        ])
    }
}

fn check_key_pair_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
    {
        return Err(format!("key pair id {id:?} must be 1-128 of [A-Za-z0-9_-]"));
    }
    Ok(())
}

/// Parses a PEM RSA public key (`PUBLIC KEY` SPKI, or PKCS#1 `RSA PUBLIC KEY`).
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, SignError> {
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| sign_err(format!("not an RSA public key in PEM: {e}")))
}

/// The conditions of a verified policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFrontPolicy {
    /// `Resource` (absent: any URL).
    pub resource: Option<String>,
    /// `DateLessThan`.
    pub expires: u64,
    /// `DateGreaterThan`.
    pub not_before: Option<u64>,
    /// `IpAddress` (`AWS:SourceIp`).
    pub source_ip: Option<String>,
    /// Whether it was a canned policy.
    pub canned: bool,
}

/// Verifies signed URLs and cookies with the public keys of a trusted key group.
#[derive(Debug, Clone, Default)]
pub struct CloudFrontVerifier {
    keys: Vec<(String, RsaPublicKey)>,
}

impl CloudFrontVerifier {
    /// An empty key group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a public key under its id (a key group holds several for rotation).
    pub fn add_key(&mut self, key_pair_id: &str, key: RsaPublicKey) -> Result<(), SignError> {
        check_key_pair_id(key_pair_id).map_err(sign_err)?;
        self.keys.push((key_pair_id.to_string(), key));
        Ok(())
    }

    /// Verifies a full signed URL (`scheme://host/path?…&Signature=…&Key-Pair-Id=…`) as the
    /// edge does: the signing parameters are removed, the rest is the URL the policy speaks of.
    pub fn verify_url(
        &self,
        signed_url: &str,
        client_ip: Option<IpAddr>,
        now: u64,
    ) -> Result<CloudFrontPolicy, Refusal> {
        if signed_url.len() > MAX_INPUT_LEN {
            return Err(Refusal::malformed("URL too long"));
        }
        let (base, query) = split_url_query(signed_url);
        let mut kept = Vec::new();
        let (mut expires, mut policy, mut sig, mut kid) = (None, None, None, None);
        for pair in query.unwrap_or("").split('&') {
            let slot = match pair.split_once('=') {
                Some(("Expires", _)) => &mut expires,
                Some(("Policy", _)) => &mut policy,
                Some(("Signature", _)) => &mut sig,
                Some(("Key-Pair-Id", _)) => &mut kid,
                _ => {
                    if !pair.is_empty() {
                        kept.push(pair);
                    }
                    continue;
                }
            };
            if slot.is_some() {
                return Err(Refusal::malformed("a signing parameter is repeated"));
            }
            *slot = pair.split_once('=').map(|(_, v)| v);
        }
        let unsigned = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        if expires.is_none() && policy.is_none() && sig.is_none() && kid.is_none() {
            return Err(Refusal::Missing);
        }
        self.verify_parts(&unsigned, expires, policy, sig, kid, client_ip, now)
    }

    /// Verifies CloudFront signed cookies from a `Cookie` header for a request of `url` (the
    /// full URL without signing parameters).
    pub fn verify_cookies(
        &self,
        url: &str,
        cookie_header: &str,
        client_ip: Option<IpAddr>,
        now: u64,
    ) -> Result<CloudFrontPolicy, Refusal> {
        if cookie_header.len() > MAX_INPUT_LEN || url.len() > MAX_INPUT_LEN {
            return Err(Refusal::malformed("cookie header or URL too long"));
        }
        let get = |n| cookie_value(cookie_header, n);
        let (expires, policy, sig, kid) = (
            get(COOKIE_EXPIRES),
            get(COOKIE_POLICY),
            get(COOKIE_SIGNATURE),
            get(COOKIE_KEY_PAIR_ID),
        );
        if expires.is_none() && policy.is_none() && sig.is_none() && kid.is_none() {
            return Err(Refusal::Missing);
        }
        self.verify_parts(url, expires, policy, sig, kid, client_ip, now)
    }

    #[allow(clippy::too_many_arguments)]
    fn verify_parts(
        &self,
        url: &str,
        expires: Option<&str>,
        policy_b64: Option<&str>,
        sig: Option<&str>,
        kid: Option<&str>,
        client_ip: Option<IpAddr>,
        now: u64,
    ) -> Result<CloudFrontPolicy, Refusal> {
        let sig = sig.ok_or_else(|| Refusal::malformed("no Signature"))?;
        let kid = kid.ok_or_else(|| Refusal::malformed("no Key-Pair-Id"))?;
        let (policy_text, canned_expires) = match (expires, policy_b64) {
            (Some(e), None) => {
                let e = parse_epoch(e)?;
                (canned_policy(url, e), Some(e))
            }
            (None, Some(p)) => {
                let bytes = cf_b64decode(p)
                    .ok_or_else(|| Refusal::malformed("Policy is not CloudFront base64"))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Refusal::malformed("Policy is not UTF-8"))?;
                (text, None)
            }
            (Some(_), Some(_)) => return Err(Refusal::malformed("both Expires and Policy")),
            (None, None) => return Err(Refusal::malformed("neither Expires nor Policy")),
        };
        let sig = cf_b64decode(sig)
            .ok_or_else(|| Refusal::malformed("Signature is not CloudFront base64"))?;
        let mut known = false;
        let mut valid = false;
        let digest = Sha1::digest(policy_text.as_bytes());
        for (id, key) in &self.keys {
            if id == kid {
                known = true;
                if key
                    .verify(Pkcs1v15Sign::new::<Sha1>(), &digest, &sig)
                    .is_ok()
                {
                    valid = true;
                    break;
                }
            }
        }
        if !known {
            return Err(Refusal::UnknownKey);
        }
        if !valid {
            return Err(Refusal::BadSignature);
        }
        let policy = match canned_expires {
            Some(e) => CloudFrontPolicy {
                resource: Some(url.to_string()),
                expires: e,
                not_before: None,
                source_ip: None,
                canned: true,
            },
            None => parse_policy(&policy_text)?,
        };
        check_window(policy.not_before, policy.expires, now)?;
        if let Some(cidr) = &policy.source_ip {
            let net = Cidr::parse(cidr).ok_or_else(|| Refusal::malformed("bad AWS:SourceIp"))?;
            if !client_ip.is_some_and(|ip| net.contains(ip)) {
                return Err(Refusal::WrongIp);
            }
        }
        if let Some(r) = &policy.resource {
            if !wildcard_match(r, url) {
                return Err(Refusal::OutsideScope);
            }
        }
        Ok(policy)
    }
}

fn parse_epoch(s: &str) -> Result<u64, Refusal> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::malformed("Expires is not a decimal number"));
    }
    s.parse()
        .map_err(|_| Refusal::malformed("Expires is out of range"))
}

/// Parses a (signature-checked) custom policy: one statement, `DateLessThan` required.
pub fn parse_policy(text: &str) -> Result<CloudFrontPolicy, Refusal> {
    use serde_json::Value;
    let v: Value =
        serde_json::from_str(text).map_err(|e| Refusal::malformed(format!("policy JSON: {e}")))?;
    let stmts = v
        .get("Statement")
        .and_then(Value::as_array)
        .ok_or_else(|| Refusal::malformed("policy has no Statement array"))?;
    let [stmt] = stmts.as_slice() else {
        return Err(Refusal::malformed("policy must have exactly one statement"));
    };
    let resource = match stmt.get("Resource") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Refusal::malformed("Resource is not a string")),
    };
    let cond = stmt
        .get("Condition")
        .ok_or_else(|| Refusal::malformed("policy has no Condition"))?;
    let epoch = |name: &str| -> Result<Option<u64>, Refusal> {
        match cond.get(name) {
            None => Ok(None),
            Some(c) => c
                .get("AWS:EpochTime")
                .and_then(Value::as_u64)
                .map(Some)
                .ok_or_else(|| {
                    Refusal::malformed(format!("{name} needs an integer AWS:EpochTime"))
                }),
        }
    };
    let expires = epoch("DateLessThan")?.ok_or_else(|| Refusal::malformed("no DateLessThan"))?;
    let not_before = epoch("DateGreaterThan")?;
    let source_ip = match cond.get("IpAddress") {
        None => None,
        Some(c) => Some(
            c.get("AWS:SourceIp")
                .and_then(Value::as_str)
                .ok_or_else(|| Refusal::malformed("IpAddress needs a string AWS:SourceIp"))?
                .to_string(),
        ),
    };
    Ok(CloudFrontPolicy {
        resource,
        expires,
        not_before,
        source_ip,
        canned: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn signer() -> &'static CloudFrontSigner {
        static S: OnceLock<CloudFrontSigner> = OnceLock::new();
        S.get_or_init(|| {
            let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
            CloudFrontSigner::new("K2JCJMDEHXQW5F", key)
        })
    }

    fn verifier() -> CloudFrontVerifier {
        let mut v = CloudFrontVerifier::new();
        v.add_key("K2JCJMDEHXQW5F", signer().public_key()).unwrap();
        v
    }

    #[test]
    fn policy_json_like_python() {
        assert_eq!(
            canned_policy("https://d.net/a b\"é😀", 7),
            r#"{"Statement":[{"Resource":"https://d.net/a b\"\u00e9\ud83d\ude00","Condition":{"DateLessThan":{"AWS:EpochTime":7}}}]}"#
        );
        assert_eq!(
            custom_policy("https://d.net/*", 9, Some(3), Some("10.0.0.1")),
            r#"{"Statement":[{"Resource":"https://d.net/*","Condition":{"DateLessThan":{"AWS:EpochTime":9},"IpAddress":{"AWS:SourceIp":"10.0.0.1/32"},"DateGreaterThan":{"AWS:EpochTime":3}}}]}"#
        );
        assert_eq!(py_json_string("\u{7f}\u{1}\t"), "\"\\u007f\\u0001\\t\"");
    }

    #[test]
    fn base64_alphabet() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let e = cf_b64encode(&bytes);
        assert!(!e.contains(['+', '=', '/']));
        assert_eq!(cf_b64decode(&e).unwrap(), bytes);
        assert_eq!(cf_b64decode("ab+c"), None);
    }

    #[test]
    fn canned_url_round_trip_and_refusals() {
        let s = signer();
        let v = verifier();
        let url = s
            .signed_url_canned("https://d.net/v/a/seg_1.m4s?x=1", 2000)
            .unwrap();
        assert!(url.starts_with("https://d.net/v/a/seg_1.m4s?x=1&Expires=2000&Signature="));
        assert!(url.ends_with("&Key-Pair-Id=K2JCJMDEHXQW5F"));
        let p = v.verify_url(&url, None, 1999).unwrap();
        assert!(p.canned);
        assert_eq!(v.verify_url(&url, None, 2000), Err(Refusal::Expired));
        let moved = url.replace("seg_1", "seg_2");
        assert_eq!(v.verify_url(&moved, None, 1), Err(Refusal::BadSignature));
        let later = url.replace("Expires=2000", "Expires=3000");
        assert_eq!(v.verify_url(&later, None, 1), Err(Refusal::BadSignature));
        let other = url.replace("K2JCJMDEHXQW5F", "KOTHER");
        assert_eq!(v.verify_url(&other, None, 1), Err(Refusal::UnknownKey));
        assert_eq!(
            v.verify_url("https://d.net/x", None, 1),
            Err(Refusal::Missing)
        );
    }

    #[test]
    fn custom_policy_conditions() {
        let s = signer();
        let v = verifier();
        let policy = custom_policy(
            "https://d.net/v/a/*",
            2000,
            Some(1000),
            Some("192.0.2.0/24"),
        );
        let url = s
            .signed_url_custom("https://d.net/v/a/seg_1.m4s", &policy)
            .unwrap();
        let ip = Some("192.0.2.7".parse().unwrap());
        assert!(v.verify_url(&url, ip, 1500).is_ok());
        assert_eq!(v.verify_url(&url, ip, 999), Err(Refusal::NotYetValid));
        assert_eq!(v.verify_url(&url, ip, 2001), Err(Refusal::Expired));
        assert_eq!(
            v.verify_url(&url, Some("198.51.100.1".parse().unwrap()), 1500),
            Err(Refusal::WrongIp)
        );
        assert_eq!(v.verify_url(&url, None, 1500), Err(Refusal::WrongIp));
        let outside = s
            .signed_url_custom("https://d.net/v/b/seg_1.m4s", &policy)
            .unwrap();
        assert_eq!(v.verify_url(&outside, ip, 1500), Err(Refusal::OutsideScope));
        // Cookies for the prefix.
        let cookies = s.cookies_custom(&policy).unwrap();
        let header: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let header = header.join("; ");
        assert!(v
            .verify_cookies("https://d.net/v/a/720p/seg_9.m4s", &header, ip, 1500)
            .is_ok());
        assert_eq!(
            v.verify_cookies("https://d.net/v/b/x", &header, ip, 1500),
            Err(Refusal::OutsideScope)
        );
        assert_eq!(
            v.verify_cookies("https://d.net/v/a/x", "a=b", ip, 1),
            Err(Refusal::Missing)
        );
    }

    #[test]
    fn malformed_inputs() {
        let v = verifier();
        for u in [
            "https://d.net/x?Expires=1&Expires=2",
            "https://d.net/x?Expires=z&Signature=a&Key-Pair-Id=K2JCJMDEHXQW5F",
            "https://d.net/x?Policy=!!&Signature=a&Key-Pair-Id=K2JCJMDEHXQW5F",
            "https://d.net/x?Expires=1&Key-Pair-Id=K2JCJMDEHXQW5F",
            "https://d.net/x?Expires=1&Signature=a",
            "https://d.net/x?Expires=1&Policy=e30_&Signature=YQ__&Key-Pair-Id=K2JCJMDEHXQW5F",
            "https://d.net/x?Expires=1&Signature=YQ=_&Key-Pair-Id=K2JCJMDEHXQW5F",
        ] {
            assert!(
                matches!(v.verify_url(u, None, 1), Err(Refusal::Malformed(_))),
                "{u}"
            );
        }
        for p in [
            "{}",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Statement":[{"Condition":{}}]}"#,
        ] {
            assert!(parse_policy(p).is_err());
        }
    }
}
