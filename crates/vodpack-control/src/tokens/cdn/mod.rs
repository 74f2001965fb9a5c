//! Signed URLs and cookies in each CDN's own format, so that the CDN itself checks every media
//! request without calling the backend:
//! - [`akamai`]: Akamai EdgeAuth 2.0 (Token Auth) tokens, byte-identical to Akamai's
//!   `akamai-edgeauth` Python library;
//! - [`cloudfront`]: Amazon CloudFront signed URLs and cookies, canned and custom policies,
//!   byte-identical to botocore's `CloudFrontSigner`;
//! - [`mediacdn`]: Google Media CDN Ed25519 signed URLs, URL-prefix signatures and
//!   `Edge-Cache-Cookie` cookies, as Google's published signing samples make them;
//! - [`playback`]: one signer/verifier pair per mode behind a small interface, used by the
//!   playback API and by `vodpack serve`'s origin.
//!
//! Every verifier answers a typed [`Refusal`]; none panics on any input (`fuzz/` runs the parsers).
//! The formats, and how to configure each CDN, are in `docs/cdn/`.

use std::fmt;
use std::net::IpAddr;

pub mod akamai;
pub mod cloudfront;
pub mod mediacdn;
pub mod playback;

/// Longest token, signed URL or cookie header a verifier looks at.
pub const MAX_INPUT_LEN: usize = 16 * 1024;

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request carries no token, signature or signed cookie.
    Missing,
    /// The token or signed URL does not follow the format.
    Malformed(String),
    /// The key named by the token (Key-Pair-Id, KeyName) is not configured.
    UnknownKey,
    /// The signature or MAC does not match.
    BadSignature,
    /// The time is at or past the expiry.
    Expired,
    /// The time is before the start time (`st`, `DateGreaterThan`).
    NotYetValid,
    /// The requested path or URL is outside the token's ACL, resource or URL prefix.
    OutsideScope,
    /// The client's address is not the one (or not in the range) the token names.
    WrongIp,
}

impl Refusal {
    /// A stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "missing_token",
            Refusal::Malformed(_) => "malformed",
            Refusal::UnknownKey => "unknown_key",
            Refusal::BadSignature => "bad_signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::OutsideScope => "outside_acl",
            Refusal::WrongIp => "wrong_ip",
        }
    }

    pub(crate) fn malformed(why: impl Into<String>) -> Self {
        Refusal::Malformed(why.into())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Missing => f.write_str("missing: no token, signature or signed cookie"),
            Refusal::Malformed(why) => write!(f, "malformed: {why}"),
            Refusal::UnknownKey => f.write_str("unknown key: the key id is not configured"),
            Refusal::BadSignature => f.write_str("bad signature"),
            Refusal::Expired => f.write_str("expired"),
            Refusal::NotYetValid => f.write_str("not yet valid"),
            Refusal::OutsideScope => {
                f.write_str("outside ACL or prefix: the path is not covered by the token")
            }
            Refusal::WrongIp => f.write_str("wrong IP: the client address is not allowed"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Why a token could not be signed (bad parameters or key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError(pub String);

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SignError {}

pub(crate) fn sign_err(msg: impl Into<String>) -> SignError {
    SignError(msg.into())
}

/// Checks a validity window: `now` must be at or after `start` (if any) and before `expires`.
pub(crate) fn check_window(start: Option<u64>, expires: u64, now: u64) -> Result<(), Refusal> {
    if now >= expires {
        return Err(Refusal::Expired);
    }
    if start.is_some_and(|st| now < st) {
        return Err(Refusal::NotYetValid);
    }
    Ok(())
}

/// Wildcard match as the CDNs define it for ACLs and policy resources: `*` matches any run of
/// characters (including `/`), `?` exactly one character; everything else matches itself.
/// Linear in practice (greedy with one backtrack point), never recursive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    star_match(pattern.as_bytes(), text.as_bytes(), Some(b'?'))
}

/// The one matcher behind [`wildcard_match`] and vodpack's own ACL globs
/// (`edge_token::glob_match`, which has no single-character wildcard): `*` matches any run of
/// bytes, `any_one` (if given) exactly one, everything else itself. Greedy with one backtrack
/// point, never recursive.
pub(crate) fn star_match(g: &[u8], p: &[u8], any_one: Option<u8>) -> bool {
    let (mut gi, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while pi < p.len() {
        if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, pi));
            gi += 1;
        } else if gi < g.len() && (g[gi] == p[pi] || Some(g[gi]) == any_one) {
            gi += 1;
            pi += 1;
        } else if let Some((sg, sp)) = star {
            gi = sg + 1;
            pi = sp + 1;
            star = Some((sg, sp + 1));
        } else {
            return false;
        }
    }
    while gi < g.len() && g[gi] == b'*' {
        gi += 1;
    }
    gi == g.len()
}

/// The value of the first cookie named `name` in a `Cookie` header (RFC 6265 §4.2: pairs
/// separated by `;` and optional spaces), verbatim.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim_start_matches([' ', '\t']).split_once('=')?;
        (k.trim_end() == name).then(|| v.trim_end_matches([' ', '\t']))
    })
}

/// The value of the first query parameter named `name` in a raw query string, verbatim.
pub fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// An IPv4 or IPv6 address range (`a.b.c.d/n`, `x::y/n`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `addr[/bits]`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, bits) = match s.split_once('/') {
            Some((a, b)) => {
                if b.is_empty() || b.len() > 3 || !b.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                (a, Some(b.parse::<u8>().ok()?))
            }
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// Whether `ip` is in the range (an IPv4-mapped IPv6 client counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Splits a URL into the part before the query and the raw query (after the first `?`, before a
/// `#`), as Python's `urlsplit` does for the query.
pub fn split_url_query(url: &str) -> (&str, Option<&str>) {
    let no_frag = url.split_once('#').map_or(url, |(u, _)| u);
    match no_frag.split_once('?') {
        Some((base, q)) => (base, Some(q)),
        None => (no_frag, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("/v/a/*", "/v/a/x/seg_1.m4s"));
        assert!(wildcard_match("/v/a/*", "/v/a/"));
        assert!(!wildcard_match("/v/a/*", "/v/ab/x"));
        assert!(wildcard_match("/v/?/x", "/v/a/x"));
        assert!(!wildcard_match("/v/?/x", "/v/ab/x"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("http*://h/*.m4s", "https://h/a/b.m4s"));
        assert!(!wildcard_match("/exact", "/exact/more"));
        let long = "*a".repeat(200);
        assert!(!wildcard_match(&long, &"b".repeat(4000)));
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(c.contains("192.0.2.77".parse().unwrap()));
        assert!(!c.contains("192.0.3.1".parse().unwrap()));
        assert!(c.contains("::ffff:192.0.2.9".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8:1::5".parse().unwrap()));
        for bad in ["1.2.3.4/33", "1.2.3.4/", "x/8", "::/129", "1.2.3.4/+1", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert!(Cidr::parse("10.0.0.1")
            .unwrap()
            .contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn cookies_and_queries() {
        let h = "a=1; __token__=exp=5~hmac=ab ;b=2";
        assert_eq!(cookie_value(h, "__token__"), Some("exp=5~hmac=ab"));
        assert_eq!(cookie_value(h, "b"), Some("2"));
        assert_eq!(cookie_value(h, "c"), None);
        assert_eq!(query_value("x=1&__token__=t=1", "__token__"), Some("t=1"));
        assert_eq!(
            split_url_query("https://h/p?a=1#f"),
            ("https://h/p", Some("a=1"))
        );
        assert_eq!(split_url_query("https://h/p"), ("https://h/p", None));
    }
}
