//! The playback flow in a CDN's native format: [`CdnEdge`] signs what a player needs for one
//! asset (`sign_playback`) and verifies a media request exactly as that CDN would
//! (`verify_request`). The playback API and `vodpack serve`'s origin call only these two.
//!
//! Configured by a TOML file (`vodpack serve --cdn MODE --cdn-config FILE`, docs/cdn/):
//! ```toml
//! # base_url = "https://media.example.com"   # the CDN hostname; serve defaults to its own address
//! # bind_client_ip = true   # tokens bound to the client's IP (Akamai, CloudFront; not Media CDN)
//! # delivery = "query"      # no cookies: players append `edge.query` (default "both")
//! [akamai]
//! keys = ["52a1…", "0f3c…"]     # hex; the first signs, all verify (rotation)
//! algorithm = "sha256"           # sha256 | sha1 | md5
//! # salt = "…"; escape_early = false; token_name = "__token__"
//! [cloudfront]
//! key_pair_id = "K2JCJMDEHXQW5F" # the signing key's id in the trusted key group
//! private_key = "cf-private.pem" # relative to the config file
//! trusted_keys = [{ id = "K2JCJMDEHXQW5F", public_key = "cf-public.pem" }, …]
//! [mediacdn]
//! key_name = "vodpack-key-1"
//! private_key = "<base64url 32-byte seed>"
//! keyset = [{ name = "vodpack-key-1", public_key = "<base64url>" }, …]
//! ```

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::akamai::{self, AkamaiVerifier, Algorithm, TokenParams, DEFAULT_TOKEN_NAME};
use super::cloudfront::{self, CloudFrontSigner, CloudFrontVerifier};
use super::mediacdn::{MediaCdnSigner, MediaCdnVerifier, COOKIE_NAME};
use super::{cookie_value, query_value, sign_err, Refusal, SignError};

/// Which CDN's format the playback flow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CdnMode {
    /// Akamai EdgeAuth 2.0.
    Akamai,
    /// Amazon CloudFront.
    Cloudfront,
    /// Google Media CDN.
    Mediacdn,
}

impl CdnMode {
    /// `akamai`, `cloudfront` or `mediacdn`.
    pub fn parse(s: &str) -> Option<CdnMode> {
        match s {
            "akamai" => Some(CdnMode::Akamai),
            "cloudfront" => Some(CdnMode::Cloudfront),
            "mediacdn" => Some(CdnMode::Mediacdn),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            CdnMode::Akamai => "akamai",
            CdnMode::Cloudfront => "cloudfront",
            CdnMode::Mediacdn => "mediacdn",
        }
    }
}

/// The CDN configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdnConfig {
    /// The CDN's scheme and host (`https://media.example.com`), no trailing `/`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Bind the playback tokens to the requesting client's address (Akamai `ip`, CloudFront
    /// `IpAddress` `/32` or `/128`). Media CDN signatures have no IP field: refused there.
    #[serde(default)]
    pub bind_client_ip: bool,
    /// How the player authorises segment requests: `both` (default: the answer has the query
    /// and the cookies, and serve sets the cookies) or `query` (no cookies: the player appends
    /// `edge.query` to every request, as vodpack's player page does then).
    #[serde(default)]
    pub delivery: Option<String>,
    /// Akamai settings.
    #[serde(default)]
    pub akamai: Option<AkamaiConfig>,
    /// CloudFront settings.
    #[serde(default)]
    pub cloudfront: Option<CloudFrontConfig>,
    /// Media CDN settings.
    #[serde(default)]
    pub mediacdn: Option<MediaCdnConfig>,
}

/// `[akamai]`: the property's Token Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkamaiConfig {
    /// Hex keys; the first signs, every one verifies.
    pub keys: Vec<String>,
    /// `sha256` (default), `sha1` or `md5`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Salt.
    #[serde(default)]
    pub salt: Option<String>,
    /// Escape token inputs.
    #[serde(default)]
    pub escape_early: bool,
    /// Query parameter and cookie name (default `__token__`).
    #[serde(default)]
    pub token_name: Option<String>,
}

/// A public key of the trusted key group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudFrontKey {
    /// Its id (`Key-Pair-Id`).
    pub id: String,
    /// PEM file (relative to the config file).
    pub public_key: String,
}

/// `[cloudfront]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudFrontConfig {
    /// The signing key's id.
    pub key_pair_id: String,
    /// PEM file of the signing key (relative to the config file).
    pub private_key: String,
    /// The trusted key group (default: the signing key alone).
    #[serde(default)]
    pub trusted_keys: Vec<CloudFrontKey>,
}

/// A public key of the keyset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaCdnKey {
    /// Key name.
    pub name: String,
    /// Base64url Ed25519 public key.
    pub public_key: String,
}

/// `[mediacdn]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaCdnConfig {
    /// The signing key's name.
    pub key_name: String,
    /// Base64url Ed25519 seed.
    pub private_key: String,
    /// The keyset (default: the signing key alone).
    #[serde(default)]
    pub keyset: Vec<MediaCdnKey>,
}

/// A cookie the player (or the API's `Set-Cookie`) must set for the asset's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Cookie path (the asset prefix).
    pub path: String,
}

/// What a player needs for an asset's requests, in the CDN's native way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackAuth {
    /// `akamai`, `cloudfront` or `mediacdn`.
    pub cdn: String,
    /// The signed manifest URL.
    pub manifest_url: String,
    /// A query string (without `?`) that authorises every URL under the asset prefix when
    /// appended to it (Akamai `__token__=…`, CloudFront custom-policy parameters, Media CDN
    /// URL-prefix signature).
    pub query: String,
    /// Or the same authorisation as cookies for the asset prefix.
    pub cookies: Vec<SignedCookie>,
    /// Expiry (Unix seconds).
    pub expires_at: u64,
}

enum Inner {
    Akamai {
        key: String,
        params: TokenParams,
        token_name: String,
        verifier: AkamaiVerifier,
    },
    CloudFront {
        signer: CloudFrontSigner,
        verifier: CloudFrontVerifier,
    },
    MediaCdn {
        signer: MediaCdnSigner,
        verifier: MediaCdnVerifier,
    },
}

/// A CDN-native signer and verifier for the playback flow.
pub struct CdnEdge {
    mode: CdnMode,
    inner: Inner,
    bind_client_ip: bool,
    query_only: bool,
    base_url: OnceLock<String>,
}

impl std::fmt::Debug for CdnEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdnEdge")
            .field("mode", &self.mode)
            .field("bind_client_ip", &self.bind_client_ip)
            .field("base_url", &self.base_url.get())
            .finish()
    }
}

fn read(dir: &Path, file: &str) -> Result<String, SignError> {
    let p = dir.join(file);
    std::fs::read_to_string(&p).map_err(|e| sign_err(format!("{}: {e}", p.display())))
}

impl CdnEdge {
    /// Loads `mode`'s section of a config file.
    pub fn load(mode: CdnMode, config_path: &Path) -> Result<Self, SignError> {
        let text = std::fs::read_to_string(config_path)
            .map_err(|e| sign_err(format!("{}: {e}", config_path.display())))?;
        let cfg: CdnConfig = toml::from_str(&text)
            .map_err(|e| sign_err(format!("{}: {e}", config_path.display())))?;
        Self::from_config(mode, &cfg, config_path.parent().unwrap_or(Path::new(".")))
    }

    /// Builds from a parsed config; relative key files are taken from `dir`.
    pub fn from_config(mode: CdnMode, cfg: &CdnConfig, dir: &Path) -> Result<Self, SignError> {
        let missing = || sign_err(format!("the CDN config has no [{}] section", mode.name()));
        let inner = match mode {
            CdnMode::Akamai => {
                let a = cfg.akamai.as_ref().ok_or_else(missing)?;
                let algorithm = match a.algorithm.as_deref() {
                    None => Algorithm::Sha256,
                    Some(s) => Algorithm::parse(s)
                        .ok_or_else(|| sign_err(format!("unknown algorithm {s:?}")))?,
                };
                let keys: Vec<&str> = a.keys.iter().map(String::as_str).collect();
                let mut verifier = AkamaiVerifier::new(&keys, algorithm)?;
                verifier.salt = a.salt.clone();
                verifier.escape_early = a.escape_early;
                let token_name = a
                    .token_name
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TOKEN_NAME.into());
                if token_name.is_empty()
                    || !token_name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                {
                    return Err(sign_err("token_name must be [A-Za-z0-9_-]+"));
                }
                Inner::Akamai {
                    key: a.keys[0].clone(),
                    params: TokenParams {
                        algorithm,
                        salt: a.salt.clone(),
                        escape_early: a.escape_early,
                        ..Default::default()
                    },
                    token_name,
                    verifier,
                }
            }
            CdnMode::Cloudfront => {
                let c = cfg.cloudfront.as_ref().ok_or_else(missing)?;
                let signer =
                    CloudFrontSigner::from_pem(&c.key_pair_id, &read(dir, &c.private_key)?)?;
                let mut verifier = CloudFrontVerifier::new();
                if c.trusted_keys.is_empty() {
                    verifier.add_key(&c.key_pair_id, signer.public_key())?;
                }
                for k in &c.trusted_keys {
                    let key = cloudfront::public_key_from_pem(&read(dir, &k.public_key)?)?;
                    verifier.add_key(&k.id, key)?;
                }
                Inner::CloudFront { signer, verifier }
            }
            CdnMode::Mediacdn => {
                let m = cfg.mediacdn.as_ref().ok_or_else(missing)?;
                let signer = MediaCdnSigner::from_base64(&m.key_name, &m.private_key)?;
                let mut verifier = MediaCdnVerifier::new();
                if m.keyset.is_empty() {
                    verifier.add_key(&m.key_name, &signer.public_key_b64())?;
                }
                for k in &m.keyset {
                    verifier.add_key(&k.name, &k.public_key)?;
                }
                Inner::MediaCdn { signer, verifier }
            }
        };
        if cfg.bind_client_ip && mode == CdnMode::Mediacdn {
            return Err(sign_err(
                "bind_client_ip: Media CDN signed URLs and cookies have no IP field; \
                 remove it for mediacdn",
            ));
        }
        let query_only = match cfg.delivery.as_deref() {
            None | Some("both") => false,
            Some("query") => true,
            Some(other) => {
                return Err(sign_err(format!(
                    "delivery {other:?}: must be \"both\" or \"query\""
                )))
            }
        };
        let edge = CdnEdge {
            mode,
            inner,
            bind_client_ip: cfg.bind_client_ip,
            query_only,
            base_url: OnceLock::new(),
        };
        if let Some(b) = &cfg.base_url {
            edge.set_base_url(b)?;
        }
        Ok(edge)
    }

    /// The mode.
    pub fn mode(&self) -> CdnMode {
        self.mode
    }

    /// Sets the CDN's scheme and host once (a later call is ignored: the config file wins over
    /// the server's own address).
    pub fn set_base_url(&self, base: &str) -> Result<(), SignError> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://"))
            || base.contains(['?', '#', ' '])
        {
            return Err(sign_err(format!(
                "base_url {base:?} must be http(s)://host[:port]"
            )));
        }
        let _ = self.base_url.set(base.to_string());
        Ok(())
    }

    fn base(&self) -> &str {
        self.base_url.get().map_or("", String::as_str)
    }

    /// True when the config binds tokens to the client's IP.
    pub fn binds_client_ip(&self) -> bool {
        self.bind_client_ip
    }

    /// Signs an asset: `asset_prefix` is `/v/<asset>/`, `manifest` the manifest path under it.
    /// `client_ip` is the requesting client's address; with `bind_client_ip` the tokens carry it
    /// (and signing without it is an error), otherwise it is ignored.
    pub fn sign_playback(
        &self,
        asset_prefix: &str,
        manifest: &str,
        session_id: &str,
        expires: u64,
        client_ip: Option<IpAddr>,
    ) -> Result<PlaybackAuth, SignError> {
        let ip = if self.bind_client_ip {
            Some(client_ip.map(|a| a.to_canonical()).ok_or_else(|| {
                sign_err("bind_client_ip is set but the client's address is unknown")
            })?)
        } else {
            None
        };
        let base = self.base();
        let manifest_full = format!("{base}{asset_prefix}{manifest}");
        let (query, cookies) = match &self.inner {
            Inner::Akamai {
                key,
                params,
                token_name,
                ..
            } => {
                let p = TokenParams {
                    end_time: expires,
                    session_id: Some(session_id.to_string()),
                    ip: ip.map(|a| a.to_string()),
                    ..params.clone()
                };
                let token = akamai::generate_acl_token(key, &p, &[&format!("{asset_prefix}*")])?;
                (
                    format!("{token_name}={token}"),
                    vec![(token_name.clone(), token)],
                )
            }
            Inner::CloudFront { signer, .. } => {
                let resource = format!("{base}{asset_prefix}*");
                let cidr = ip.map(|a| match a {
                    IpAddr::V4(v4) => format!("{v4}/32"),
                    IpAddr::V6(v6) => format!("{v6}/128"),
                });
                let policy = cloudfront::custom_policy(&resource, expires, None, cidr.as_deref());
                let signed = signer.signed_url_custom(&manifest_full, &policy)?;
                let query = signed
                    .rsplit_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                (query, signer.cookies_custom(&policy)?)
            }
            Inner::MediaCdn { signer, .. } => {
                let prefix = format!("{base}{asset_prefix}");
                (
                    signer.prefix_query(&prefix, expires),
                    vec![(
                        COOKIE_NAME.to_string(),
                        signer.cookie_value(&prefix, expires),
                    )],
                )
            }
        };
        Ok(PlaybackAuth {
            cdn: self.mode.name().into(),
            manifest_url: format!("{manifest_full}?{query}"),
            query,
            cookies: cookies
                .into_iter()
                .filter(|_| !self.query_only)
                .map(|(name, value)| SignedCookie {
                    name,
                    value,
                    path: asset_prefix.to_string(),
                })
                .collect(),
            expires_at: expires,
        })
    }

    /// Verifies a media request as the CDN does: the signature in the query if there is one,
    /// else the signed cookies. `path` is the request path, `query` the raw query string.
    pub fn verify_request(
        &self,
        path: &str,
        query: Option<&str>,
        cookie_header: Option<&str>,
        client_ip: Option<IpAddr>,
        now: u64,
    ) -> Result<(), Refusal> {
        let query = query.filter(|q| !q.is_empty());
        match &self.inner {
            Inner::Akamai {
                token_name,
                verifier,
                ..
            } => {
                let token = query
                    .and_then(|q| query_value(q, token_name))
                    .or_else(|| cookie_header.and_then(|c| cookie_value(c, token_name)))
                    .ok_or(Refusal::Missing)?;
                verifier.verify(token, path, client_ip, now).map(|_| ())
            }
            Inner::CloudFront { verifier, .. } => {
                let base = self.base();
                let signed_query = query.is_some_and(|q| {
                    q.split('&')
                        .any(|p| p.starts_with("Signature=") || p.starts_with("Key-Pair-Id="))
                });
                if signed_query {
                    let url = format!("{base}{path}?{}", query.unwrap_or_default());
                    verifier.verify_url(&url, client_ip, now).map(|_| ())
                } else {
                    let url = match query {
                        Some(q) => format!("{base}{path}?{q}"),
                        None => format!("{base}{path}"),
                    };
                    let cookies = cookie_header.ok_or(Refusal::Missing)?;
                    verifier
                        .verify_cookies(&url, cookies, client_ip, now)
                        .map(|_| ())
                }
            }
            Inner::MediaCdn { verifier, .. } => {
                let base = self.base();
                let signed_query =
                    query.is_some_and(|q| q.split('&').any(|p| p.starts_with("Signature=")));
                if signed_query {
                    let url = format!("{base}{path}?{}", query.unwrap_or_default());
                    verifier.verify_url(&url, now).map(|_| ())
                } else {
                    let url = match query {
                        Some(q) => format!("{base}{path}?{q}"),
                        None => format!("{base}{path}"),
                    };
                    let cookies = cookie_header.ok_or(Refusal::Missing)?;
                    verifier.verify_cookie(&url, cookies, now).map(|_| ())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdn")
    }

    fn edge(mode: CdnMode) -> CdnEdge {
        edge_with(mode, "")
    }

    fn edge_with(mode: CdnMode, top: &str) -> CdnEdge {
        try_edge(mode, top).unwrap()
    }

    fn try_edge(mode: CdnMode, top: &str) -> Result<CdnEdge, SignError> {
        let keys = std::fs::read_to_string(fixtures().join("mediacdn-test-keys.txt")).unwrap();
        let seed = keys
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .find_map(|f| f.strip_prefix("private="))
            .unwrap();
        let text = format!(
            r#"
base_url = "https://cdn.example.com"
{top}
[akamai]
keys = ["0123456789abcdef0123456789abcdef", "ffee"]
[cloudfront]
key_pair_id = "KTEST1"
private_key = "cloudfront-test-1.pem"
trusted_keys = [{{ id = "KTEST1", public_key = "cloudfront-test-1.pub.pem" }},
                {{ id = "KTEST2", public_key = "cloudfront-test-2.pub.pem" }}]
[mediacdn]
key_name = "k1"
private_key = "{seed}"
"#
        );
        let cfg: CdnConfig = toml::from_str(&text).unwrap();
        CdnEdge::from_config(mode, &cfg, &fixtures())
    }

    #[test]
    fn bind_client_ip_binds_akamai_and_cloudfront_tokens() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        let other: IpAddr = "10.1.2.3".parse().unwrap();
        for mode in [CdnMode::Akamai, CdnMode::Cloudfront] {
            let e = edge_with(mode, "bind_client_ip = true");
            assert!(e.binds_client_ip());
            assert!(e
                .sign_playback("/v/m1/", "manifest.mpd", "ps_1", 2000, None)
                .is_err());
            // An IPv4-mapped address is bound as the IPv4 address.
            let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
            for (ip, signed_as) in [(v4, v4), (v6, v6), (mapped, v4)] {
                let a = e
                    .sign_playback("/v/m1/", "manifest.mpd", "ps_1", 2000, Some(ip))
                    .unwrap();
                match mode {
                    CdnMode::Akamai => {
                        assert!(a.query.starts_with(&format!("__token__=ip={signed_as}~")))
                    }
                    _ => {
                        let want = match signed_as {
                            IpAddr::V4(_) => format!("{signed_as}/32"),
                            IpAddr::V6(_) => format!("{signed_as}/128"),
                        };
                        let policy = a.query.split('&').next().unwrap();
                        let policy = policy.strip_prefix("Policy=").unwrap();
                        let json = cloudfront::cf_b64decode(policy).unwrap();
                        let json = String::from_utf8(json).unwrap();
                        assert!(
                            json.contains(&format!("\"AWS:SourceIp\":\"{want}\"")),
                            "{json}"
                        );
                    }
                }
                let header: Vec<String> = a
                    .cookies
                    .iter()
                    .map(|c| format!("{}={}", c.name, c.value))
                    .collect();
                let header = header.join("; ");
                let p = "/v/m1/720p/seg_3.m4s";
                for (q, c) in [
                    (Some(a.query.as_str()), None),
                    (None, Some(header.as_str())),
                ] {
                    e.verify_request(p, q, c, Some(signed_as), 1999)
                        .unwrap_or_else(|r| panic!("{mode:?} {ip}: {r}"));
                    assert_eq!(
                        e.verify_request(p, q, c, Some(other), 1999),
                        Err(Refusal::WrongIp),
                        "{mode:?} {ip}"
                    );
                    assert_eq!(
                        e.verify_request(p, q, c, None, 1999),
                        Err(Refusal::WrongIp),
                        "{mode:?} {ip}"
                    );
                }
            }
        }
        let err = try_edge(CdnMode::Mediacdn, "bind_client_ip = true").unwrap_err();
        assert!(err.to_string().contains("no IP field"), "{err}");
    }

    #[test]
    fn every_mode_round_trips_by_query_and_by_cookie() {
        for mode in [CdnMode::Akamai, CdnMode::Cloudfront, CdnMode::Mediacdn] {
            let e = edge(mode);
            let a = e
                .sign_playback("/v/m1/", "manifest.mpd", "ps_1", 2000, None)
                .unwrap();
            assert!(a.manifest_url.contains("/v/m1/manifest.mpd?"), "{a:?}");
            let header: Vec<String> = a
                .cookies
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect();
            let header = header.join("; ");
            for path in ["/v/m1/manifest.mpd", "/v/m1/720p/seg_3.m4s"] {
                e.verify_request(path, Some(&a.query), None, None, 1999)
                    .unwrap_or_else(|r| panic!("{mode:?} query {path}: {r}"));
                e.verify_request(path, None, Some(&header), None, 1999)
                    .unwrap_or_else(|r| panic!("{mode:?} cookie {path}: {r}"));
                assert_eq!(
                    e.verify_request(path, Some(&a.query), None, None, 2000),
                    Err(Refusal::Expired)
                );
                assert_eq!(
                    e.verify_request(path, None, Some(&header), None, 2001),
                    Err(Refusal::Expired)
                );
            }
            assert_eq!(
                e.verify_request("/v/m2/seg_1.m4s", Some(&a.query), None, None, 1),
                Err(Refusal::OutsideScope),
                "{mode:?}"
            );
            assert_eq!(
                e.verify_request("/v/m2/seg_1.m4s", None, Some(&header), None, 1),
                Err(Refusal::OutsideScope),
                "{mode:?}"
            );
            assert_eq!(
                e.verify_request("/v/m1/seg_1.m4s", None, None, None, 1),
                Err(Refusal::Missing)
            );
        }
    }
}
