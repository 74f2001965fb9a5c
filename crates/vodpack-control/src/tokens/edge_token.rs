//! Signed URLs verified at the edge, in the field layout of Akamai EdgeAuth 2.0 plus a key id.
//!
//! A token authorises a whole path prefix (an ACL glob such as `/v/movie_123/*`) and rides in a
//! path segment `tok=<token>`, so the relative segment URLs of a manifest inherit it without any
//! manifest rewriting (RFC 3986 §5.2 keeps path segments and drops a query). The exact format, the
//! verification algorithm and test vectors are in `docs/edge-token.md`; a CDN worker in another
//! language implements that document, and `tests` check the vectors against this code.

use std::fmt;

use subtle::ConstantTimeEq;

use crate::tokens::signed::Keyring;

/// The path segment (and query parameter and cookie name) prefix of a token.
pub const TOKEN_PREFIX: &str = "tok=";
/// The query parameter and cookie name that may carry a token for single URLs.
pub const TOKEN_PARAM: &str = "tok";
/// Longest token accepted (the value after `tok=`).
pub const MAX_TOKEN_LEN: usize = 1024;
/// Longest request path accepted.
pub const MAX_PATH_LEN: usize = 4096;
/// Default clock skew tolerated on `st` and `exp`, in seconds.
pub const DEFAULT_SKEW_SECS: u64 = 30;

/// The fields of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeClaims {
    /// Start time (Unix seconds): not valid before `st - skew`.
    pub st: u64,
    /// Expiry (Unix seconds): not valid after `exp + skew`.
    pub exp: u64,
    /// ACL globs (decoded), each starting with `/`; `*` matches any run of characters.
    pub acl: Vec<String>,
    /// Session id (`id` field), e.g. the playback session.
    pub id: Option<String>,
    /// Opaque `data` field.
    pub data: Option<String>,
    /// Id of the signing key.
    pub kid: String,
}

/// Why a request was refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeError {
    /// The path is not acceptable: not absolute, too long, non-printable characters, a
    /// percent-encoding, a `.`/`..` segment, an empty segment (`//`), a backslash.
    BadPath(&'static str),
    /// No token in the path, query or cookie.
    MissingToken,
    /// More than one `tok=` path segment.
    MultipleTokens,
    /// The token does not follow the format.
    Malformed(&'static str),
    /// The signing key id is unknown.
    UnknownKey,
    /// The HMAC does not match.
    BadSignature,
    /// `now < st - skew`.
    NotYetValid,
    /// `now > exp + skew`.
    Expired,
    /// The path does not match any ACL glob.
    AclMismatch,
}

impl EdgeError {
    /// A stable machine-readable reason (documented in `docs/edge-token.md`).
    pub fn reason(&self) -> &'static str {
        match self {
            EdgeError::BadPath(_) => "bad_path",
            EdgeError::MissingToken => "missing_token",
            EdgeError::MultipleTokens => "multiple_tokens",
            EdgeError::Malformed(_) => "malformed_token",
            EdgeError::UnknownKey => "unknown_key_id",
            EdgeError::BadSignature => "bad_signature",
            EdgeError::NotYetValid => "not_yet_valid",
            EdgeError::Expired => "expired",
            EdgeError::AclMismatch => "acl_mismatch",
        }
    }

    /// The HTTP status an edge answers: 400 for a bad path, 403 for every token refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            EdgeError::BadPath(_) => 400,
            _ => 403,
        }
    }
}

impl fmt::Display for EdgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeError::BadPath(why) => write!(f, "bad_path: {why}"),
            EdgeError::Malformed(why) => write!(f, "malformed_token: {why}"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for EdgeError {}

/// Where the accepted token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// A `tok=` path segment.
    Path,
    /// The `tok` query parameter.
    Query,
    /// The `tok` cookie.
    Cookie,
}

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The normalised path without the token segment: the cache key and the origin path.
    pub cache_key: String,
    /// The token's fields.
    pub claims: EdgeClaims,
    /// Where the token was.
    pub source: TokenSource,
}

/// Signs and verifies edge tokens with a [`Keyring`] (the edge holds the same keys).
#[derive(Debug, Clone)]
pub struct EdgeAuth {
    keys: Keyring,
    skew_secs: u64,
}

impl EdgeAuth {
    /// An edge signer/verifier with [`DEFAULT_SKEW_SECS`] of tolerated clock skew.
    pub fn new(keys: Keyring) -> Self {
        EdgeAuth {
            keys,
            skew_secs: DEFAULT_SKEW_SECS,
        }
    }

    /// Sets the tolerated clock skew.
    pub fn with_skew(mut self, skew_secs: u64) -> Self {
        self.skew_secs = skew_secs;
        self
    }

    /// The keyring.
    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// Makes a token for `acl` globs valid from `st` to `exp`, signed with the current key.
    /// Globs must start with `/` and hold only printable ASCII other than `!`; `id` and `data`
    /// only `[A-Za-z0-9_.-]`.
    pub fn sign(
        &self,
        st: u64,
        exp: u64,
        acl: &[&str],
        id: Option<&str>,
        data: Option<&str>,
    ) -> Result<String, EdgeError> {
        if acl.is_empty()
            || acl.iter().any(|g| {
                !g.starts_with('/') || g.contains('!') || !g.bytes().all(|b| b.is_ascii_graphic())
            })
        {
            return Err(EdgeError::Malformed("acl globs must start with '/'"));
        }
        let mut fields = format!("st={st}~exp={exp}~acl={}", encode_acl(&acl.join("!")));
        for (name, value) in [("id", id), ("data", data)] {
            if let Some(v) = value {
                if !is_plain_field(v, 256) {
                    return Err(EdgeError::Malformed("id/data must be [A-Za-z0-9_.-]"));
                }
                fields.push_str(&format!("~{name}={v}"));
            }
        }
        let kid = self.keys.current_kid();
        fields.push_str(&format!("~kid={kid}"));
        let mac = self
            .keys
            .mac(kid, fields.as_bytes())
            .expect("the current key is in the ring");
        let token = format!("{fields}~hmac={}", hex::encode(mac));
        if token.len() > MAX_TOKEN_LEN {
            return Err(EdgeError::Malformed("token longer than the limit"));
        }
        Ok(token)
    }

    /// Verifies a request path that carries its token in a `tok=` segment (what a CDN edge runs).
    pub fn verify(&self, path: &str, now: u64) -> Result<Verified, EdgeError> {
        self.verify_request(path, None, None, now)
    }

    /// Verifies a request: the token is taken from the path segment if there is one, else from
    /// the raw query string's `tok` parameter, else from the `Cookie` header's `tok` cookie.
    /// Values are taken verbatim (not percent-decoded): the MAC covers the token as sent.
    pub fn verify_request(
        &self,
        path: &str,
        query: Option<&str>,
        cookie_header: Option<&str>,
        now: u64,
    ) -> Result<Verified, EdgeError> {
        let (cache_key, path_token) = split_path(path)?;
        let (token, source) = match path_token {
            Some(t) => (t, TokenSource::Path),
            None => match query.and_then(|q| find_param(q, '&', TOKEN_PARAM)) {
                Some(t) => (t, TokenSource::Query),
                None => match cookie_header.and_then(|c| find_param(c, ';', TOKEN_PARAM)) {
                    Some(t) => (t, TokenSource::Cookie),
                    None => return Err(EdgeError::MissingToken),
                },
            },
        };
        let claims = self.verify_token(token, now)?;
        if !claims.acl.iter().any(|g| glob_match(g, &cache_key)) {
            return Err(EdgeError::AclMismatch);
        }
        Ok(Verified {
            cache_key,
            claims,
            source,
        })
    }

    /// Checks a token's format, MAC (constant time) and validity window; not its ACL.
    pub fn verify_token(&self, token: &str, now: u64) -> Result<EdgeClaims, EdgeError> {
        let (claims, signed_part, mac_hex) = parse_token(token)?;
        let Some(expected) = self.keys.mac(&claims.kid, signed_part.as_bytes()) else {
            return Err(EdgeError::UnknownKey);
        };
        let mut given = [0u8; 32];
        // parse_token has checked 64 lowercase hex digits.
        hex::decode_to_slice(mac_hex, &mut given)
            .map_err(|_| EdgeError::Malformed("hmac is not hex"))?;
        if !bool::from(given.ct_eq(&expected)) {
            return Err(EdgeError::BadSignature);
        }
        if now.saturating_add(self.skew_secs) < claims.st {
            return Err(EdgeError::NotYetValid);
        }
        if now > claims.exp.saturating_add(self.skew_secs) {
            return Err(EdgeError::Expired);
        }
        Ok(claims)
    }
}

/// Splits a request path into its normalised form without the token segment (the cache key)
/// and the token, refusing paths that could escape or alias (see `docs/edge-token.md`).
pub fn split_path(path: &str) -> Result<(String, Option<&str>), EdgeError> {
    if path.len() > MAX_PATH_LEN {
        return Err(EdgeError::BadPath("path too long"));
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(EdgeError::BadPath("path must start with '/'"));
    };
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EdgeError::BadPath("non-printable or non-ASCII character"));
    }
    if path.contains('\\') {
        return Err(EdgeError::BadPath("backslash"));
    }
    if path.contains('?') || path.contains('#') {
        return Err(EdgeError::BadPath("query or fragment in path"));
    }
    let mut token = None;
    let mut key = String::with_capacity(path.len());
    for segment in rest.split('/') {
        if let Some(t) = segment.strip_prefix(TOKEN_PREFIX) {
            if token.is_some() {
                return Err(EdgeError::MultipleTokens);
            }
            token = Some(t);
            continue;
        }
        if segment.is_empty() {
            return Err(EdgeError::BadPath(
                "empty segment (double or trailing slash)",
            ));
        }
        if segment == "." || segment == ".." {
            return Err(EdgeError::BadPath("dot segment"));
        }
        if segment.contains('%') {
            // Covers %2f, %5c, %2e and every other alias of a plain path.
            return Err(EdgeError::BadPath("percent-encoding outside the token"));
        }
        key.push('/');
        key.push_str(segment);
    }
    if key.is_empty() {
        return Err(EdgeError::BadPath("no path besides the token"));
    }
    Ok((key, token))
}

/// `*` matches any run of characters (including `/`); every other character matches itself.
pub fn glob_match(glob: &str, path: &str) -> bool {
    crate::tokens::cdn::star_match(glob.as_bytes(), path.as_bytes(), None)
}

/// Percent-encodes an ACL: every byte outside `[A-Za-z0-9._*!-]` as `%xx`, lowercase hex.
pub fn encode_acl(acl: &str) -> String {
    let mut out = String::with_capacity(acl.len() * 2);
    for b in acl.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'*' | b'!' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn decode_acl(enc: &str) -> Result<String, EdgeError> {
    let bytes = enc.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hexpair = bytes
                .get(i + 1..i + 3)
                .ok_or(EdgeError::Malformed("truncated %-escape in acl"))?;
            let mut v = [0u8; 1];
            hex::decode_to_slice(hexpair, &mut v)
                .map_err(|_| EdgeError::Malformed("bad %-escape in acl"))?;
            out.push(v[0]);
            i += 3;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'*' | b'!' | b'-') {
            out.push(b);
            i += 1;
        } else {
            return Err(EdgeError::Malformed("unencoded character in acl"));
        }
    }
    let text = String::from_utf8(out).map_err(|_| EdgeError::Malformed("acl is not UTF-8"))?;
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EdgeError::Malformed("acl has non-printable characters"));
    }
    Ok(text)
}

fn is_plain_field(v: &str, max: usize) -> bool {
    !v.is_empty()
        && v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_decimal(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Parses `st=…~exp=…~acl=…[~id=…][~data=…]~kid=…~hmac=…` strictly, in this order.
fn parse_token(token: &str) -> Result<(EdgeClaims, &str, &str), EdgeError> {
    if token.is_empty() {
        return Err(EdgeError::MissingToken);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(EdgeError::Malformed("token longer than the limit"));
    }
    let Some(hmac_at) = token.rfind("~hmac=") else {
        return Err(EdgeError::Malformed("no hmac field"));
    };
    let signed_part = &token[..hmac_at];
    let mac_hex = &token[hmac_at + "~hmac=".len()..];
    if mac_hex.len() != 64
        || !mac_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(EdgeError::Malformed("hmac must be 64 lowercase hex digits"));
    }
    let mut fields = signed_part.split('~').peekable();
    let mut take = |name: &str| -> Option<&str> {
        let f = fields.peek()?;
        let v = f.strip_prefix(name)?.strip_prefix('=')?;
        fields.next();
        Some(v)
    };
    let st = take("st")
        .and_then(is_decimal)
        .ok_or(EdgeError::Malformed("st must be first, in decimal seconds"))?;
    let exp = take("exp")
        .and_then(is_decimal)
        .ok_or(EdgeError::Malformed(
            "exp must follow st, in decimal seconds",
        ))?;
    let acl_enc = take("acl").ok_or(EdgeError::Malformed("acl must follow exp"))?;
    let id = take("id");
    let data = take("data");
    let kid = take("kid").ok_or(EdgeError::Malformed("kid must precede hmac"))?;
    if fields.next().is_some() {
        return Err(EdgeError::Malformed("unknown, repeated or misplaced field"));
    }
    if exp < st {
        return Err(EdgeError::Malformed("exp before st"));
    }
    for v in [id, data].into_iter().flatten() {
        if !is_plain_field(v, 256) {
            return Err(EdgeError::Malformed("id/data must be [A-Za-z0-9_.-]"));
        }
    }
    if !is_plain_field(kid, 32) || kid.contains('.') {
        return Err(EdgeError::Malformed("kid must be [A-Za-z0-9_-]{1,32}"));
    }
    let acl_text = decode_acl(acl_enc)?;
    let acl: Vec<String> = acl_text.split('!').map(str::to_string).collect();
    if acl.iter().any(|g| !g.starts_with('/')) {
        return Err(EdgeError::Malformed("each acl glob must start with '/'"));
    }
    Ok((
        EdgeClaims {
            st,
            exp,
            acl,
            id: id.map(str::to_string),
            data: data.map(str::to_string),
            kid: kid.to_string(),
        },
        signed_part,
        mac_hex,
    ))
}

/// Finds `name=value` in `a=b<sep>c=d` (query with `&`, cookies with `;` and spaces), verbatim.
fn find_param<'a>(text: &'a str, sep: char, name: &str) -> Option<&'a str> {
    text.split(sep)
        .map(str::trim_start)
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> EdgeAuth {
        EdgeAuth::new(
            Keyring::new(
                "k1",
                &hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                    .unwrap(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn globbing() {
        assert!(glob_match("/v/movie_123/*", "/v/movie_123/a/b.m4s"));
        assert!(!glob_match("/v/movie_123/*", "/v/movie_1234/a"));
        assert!(!glob_match("/v/movie_123/*", "/v/movie_123"));
        assert!(glob_match("/v/*/x.mpd", "/v/a/b/x.mpd"));
        assert!(glob_match("/a*b*c", "/aXbYbZc"));
        assert!(!glob_match("/a*b*c", "/aXbYbZ"));
        assert!(glob_match("/exact", "/exact"));
    }

    #[test]
    fn path_token_round_trip_and_cache_key() {
        let a = auth();
        let tok = a
            .sign(1000, 2000, &["/v/movie_123/*"], Some("ps_abc"), None)
            .unwrap();
        assert!(tok.starts_with("st=1000~exp=2000~acl=%2fv%2fmovie_123%2f*~id=ps_abc~kid=k1~hmac="));
        let path = format!("/v/movie_123/tok={tok}/video/seg_1.m4s");
        let v = a.verify(&path, 1500).unwrap();
        assert_eq!(v.cache_key, "/v/movie_123/video/seg_1.m4s");
        assert_eq!(v.claims.id.as_deref(), Some("ps_abc"));
        assert_eq!(v.source, TokenSource::Path);
        // Skew: 30 s either side.
        assert!(a.verify(&path, 970).is_ok());
        assert_eq!(a.verify(&path, 969).unwrap_err(), EdgeError::NotYetValid);
        assert!(a.verify(&path, 2030).is_ok());
        assert_eq!(a.verify(&path, 2031).unwrap_err(), EdgeError::Expired);
        // Query and cookie.
        let v = a
            .verify_request(
                "/v/movie_123/manifest.mpd",
                Some(&format!("x=1&tok={tok}")),
                None,
                1500,
            )
            .unwrap();
        assert_eq!(v.source, TokenSource::Query);
        let v = a
            .verify_request(
                "/v/movie_123/manifest.mpd",
                None,
                Some(&format!("a=b; tok={tok}")),
                1500,
            )
            .unwrap();
        assert_eq!(v.source, TokenSource::Cookie);
        assert_eq!(
            a.verify("/v/movie_123/manifest.mpd", 1500).unwrap_err(),
            EdgeError::MissingToken
        );
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let a = auth();
        let tok = a.sign(1000, 2000, &["/v/m/*"], Some("ps_1"), None).unwrap();
        for i in 0..tok.len() {
            for bit in [0x01u8, 0x20] {
                let mut b = tok.clone().into_bytes();
                b[i] ^= bit;
                let Ok(t) = String::from_utf8(b) else {
                    continue;
                };
                if t.contains('/') {
                    continue; // would split the segment: refused as a path instead
                }
                let path = format!("/v/m/tok={t}/a.m4s");
                assert!(a.verify(&path, 1500).is_err(), "flip {bit:#x} at {i}: {t}");
            }
        }
    }

    #[test]
    fn refusals() {
        let a = auth();
        let tok = a.sign(1000, 2000, &["/v/m/*"], None, None).unwrap();
        let bad = |p: String| a.verify(&p, 1500).unwrap_err();
        assert_eq!(
            bad(format!("/v/other/tok={tok}/a.m4s")),
            EdgeError::AclMismatch
        );
        assert!(matches!(
            bad(format!("/v/m/tok={tok}/../other/a.m4s")),
            EdgeError::BadPath(_)
        ));
        assert!(matches!(
            bad(format!("/v/m/tok={tok}/./a.m4s")),
            EdgeError::BadPath(_)
        ));
        assert!(matches!(
            bad(format!("/v/m/tok={tok}/x%2f..%2fy")),
            EdgeError::BadPath(_)
        ));
        assert!(matches!(
            bad(format!("/v/m/tok={tok}//a.m4s")),
            EdgeError::BadPath(_)
        ));
        assert!(matches!(
            bad(format!("/v/m/tok={tok}/a\\b")),
            EdgeError::BadPath(_)
        ));
        assert!(matches!(
            bad(format!("v/m/tok={tok}/a")),
            EdgeError::BadPath(_)
        ));
        assert_eq!(
            bad(format!("/v/m/tok={tok}/tok={tok}/a")),
            EdgeError::MultipleTokens
        );
        let long = format!("/v/m/tok={tok}{}/a", "0".repeat(MAX_TOKEN_LEN));
        assert!(matches!(bad(long), EdgeError::Malformed(_)));
        let wrong_kid = tok.replace("kid=k1", "kid=k9");
        assert_eq!(
            bad(format!("/v/m/tok={wrong_kid}/a")),
            EdgeError::UnknownKey
        );
        let reordered = tok.replacen("st=1000~exp=2000", "exp=2000~st=1000", 1);
        assert!(matches!(
            bad(format!("/v/m/tok={reordered}/a")),
            EdgeError::Malformed(_)
        ));
        let upper = format!(
            "{}{}",
            &tok[..tok.len() - 64],
            tok[tok.len() - 64..].to_uppercase()
        );
        assert!(matches!(
            bad(format!("/v/m/tok={upper}/a")),
            EdgeError::Malformed(_)
        ));
    }

    /// The vectors of docs/edge-token.md (computed there with Python's hmac module).
    #[test]
    fn documented_vectors() {
        let doc = include_str!("../../../../docs/edge-token.md");
        let mut ring = Keyring::new(
            "k1",
            &hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap(),
        )
        .unwrap();
        ring.add(
            "2026-01",
            &hex::decode("feedfacecafebeef00112233445566778899aabbccddeeff0123456789abcdef")
                .unwrap(),
        )
        .unwrap();
        let mut tokens: Vec<String> = Vec::new();
        let (mut signs, mut verifies) = (0, 0);
        for block in doc
            .split("\n\n")
            .filter(|b| b.lines().any(|l| l.starts_with("vector: ")))
        {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .map(str::to_string)
            };
            let kind = field("vector").unwrap();
            if kind.starts_with("sign") {
                let mut signer = ring.clone();
                signer.set_current(&field("kid").unwrap()).unwrap();
                assert_eq!(
                    hex::encode(signer.secret(&field("kid").unwrap()).unwrap()),
                    field("key").unwrap()
                );
                let auth = EdgeAuth::new(signer);
                let acl = field("acl").unwrap();
                let acls: Vec<&str> = acl.split('!').collect();
                let token = auth
                    .sign(
                        field("st").unwrap().parse().unwrap(),
                        field("exp").unwrap().parse().unwrap(),
                        &acls,
                        field("id").as_deref(),
                        field("data").as_deref(),
                    )
                    .unwrap();
                let expected = field("token").unwrap();
                assert_eq!(token, expected.trim_end_matches("\n```"));
                tokens.push(token);
                signs += 1;
            } else {
                let auth = EdgeAuth::new(ring.clone());
                let path = field("path")
                    .unwrap()
                    .replace("T1", &tokens[0])
                    .replace("T2", &tokens[1]);
                let now: u64 = field("now").unwrap().parse().unwrap();
                let result = field("result").unwrap();
                let result = result.trim_end_matches("\n```");
                match auth.verify(&path, now) {
                    Ok(v) => assert_eq!(format!("ok {}", v.cache_key), result, "{path}"),
                    Err(e) => assert_eq!(e.reason(), result, "{path}"),
                }
                verifies += 1;
            }
        }
        assert_eq!((signs, verifies), (2, 14));
    }
}
