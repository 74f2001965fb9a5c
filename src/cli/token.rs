//! `vodpack token sign|verify --cdn akamai|cloudfront|mediacdn …`: CDN-native signed URLs, tokens
//! and cookies for pipelines and for debugging a CDN setup (docs/cdn/). `sign` prints one line (or
//! one `Name=Value` line per cookie); `verify` exits 0 when valid, 1 with the reason on stderr,
//! 2 on usage errors. Failures are a [`TokenError`]; the exit code is chosen from it here, since this
//! command's codes (1 refused, 2 usage) are its own.

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use vodpack_control::cdn::akamai::{self, AkamaiVerifier, Algorithm, TokenParams};
use vodpack_control::cdn::cloudfront::{self, CloudFrontSigner, CloudFrontVerifier};
use vodpack_control::cdn::mediacdn::{MediaCdnSigner, MediaCdnVerifier, COOKIE_NAME};
use vodpack_control::cdn::{query_value, split_url_query, Refusal, SignError};

/// `vodpack token sign` or `vodpack token verify`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Sign a URL, a token or cookies in a CDN's native format.
    Sign(Box<TokenArgs>),
    /// Verify a token, signed URL or signed cookie as the CDN would (exit 0 valid, 1 refused).
    Verify(Box<TokenArgs>),
}

/// The CDN whose native token format `--cdn` selects.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cdn {
    /// Akamai EdgeAuth 2.0 (Token Auth) tokens.
    Akamai,
    /// Amazon CloudFront signed URLs and cookies.
    Cloudfront,
    /// Google Media CDN Ed25519 signed URLs and cookies.
    Mediacdn,
}

/// The options of `vodpack token sign|verify`; which ones apply depends on `--cdn` (others are a
/// usage error).
#[derive(Args)]
pub struct TokenArgs {
    /// The CDN whose format to use.
    #[arg(long, value_enum)]
    cdn: Cdn,
    /// Akamai: the hex key (verify: repeat for rotation, any one verifies).
    #[arg(long = "key")]
    keys: Vec<String>,
    /// Akamai: HMAC algorithm.
    #[arg(long, value_parser = ["sha256", "sha1", "md5"])]
    algorithm: Option<String>,
    /// Akamai: ACL globs, `!`-separated (an ACL token).
    #[arg(long)]
    acl: Option<String>,
    /// Akamai: the path (URL token; verify: the request path). CloudFront/Media CDN: the URL
    /// to sign (verify: the signed URL).
    #[arg(long)]
    url: Option<String>,
    /// Akamai: expiry (Unix seconds).
    #[arg(long)]
    end_time: Option<u64>,
    /// Akamai: start time (Unix seconds).
    #[arg(long)]
    start_time: Option<u64>,
    /// Akamai: client IP bound into the token.
    #[arg(long)]
    ip: Option<String>,
    /// Akamai: session id (`id`).
    #[arg(long)]
    session_id: Option<String>,
    /// Akamai: payload (`data`).
    #[arg(long)]
    payload: Option<String>,
    /// Akamai: salt (MACed, not carried).
    #[arg(long)]
    salt: Option<String>,
    /// Akamai: escape `ip`, `id`, `data` and the URL before signing ("Escape token inputs").
    #[arg(long)]
    escape_early: bool,
    /// Akamai: the token to verify (without `__token__=`).
    #[arg(long)]
    token: Option<String>,
    /// Verify: the client's IP address.
    #[arg(long)]
    client_ip: Option<IpAddr>,
    /// Verify: the time to check against (Unix seconds; default now).
    #[arg(long)]
    now: Option<u64>,
    /// CloudFront: PEM RSA private key (a file, or the PEM text). Media CDN: the base64url
    /// 32-byte Ed25519 seed.
    #[arg(long)]
    private_key: Option<String>,
    /// CloudFront: PEM RSA public key (a file, or the PEM text). Media CDN: the base64url key.
    #[arg(long)]
    public_key: Option<String>,
    /// CloudFront: the public key's id in the trusted key group (verify: default, the URL's).
    #[arg(long)]
    key_pair_id: Option<String>,
    /// CloudFront/Media CDN: expiry (Unix seconds).
    #[arg(long)]
    expires: Option<u64>,
    /// CloudFront: the policy's Resource (wildcards `*` `?`): makes a custom policy.
    #[arg(long)]
    resource: Option<String>,
    /// CloudFront: DateGreaterThan (Unix seconds): makes a custom policy.
    #[arg(long)]
    not_before: Option<u64>,
    /// CloudFront: IpAddress (`a.b.c.d[/n]`): makes a custom policy.
    #[arg(long)]
    ip_address: Option<String>,
    /// CloudFront sign: print signed cookies, one `Name=Value` line each.
    #[arg(long)]
    cookies: bool,
    /// Media CDN: the key name in the keyset.
    #[arg(long)]
    key_name: Option<String>,
    /// Media CDN sign: a URL-prefix signature for this prefix.
    #[arg(long)]
    url_prefix: Option<String>,
    /// Media CDN sign: print the `Edge-Cache-Cookie` for --url-prefix (or --url).
    /// Verify (CloudFront, Media CDN): the request's `Cookie` header to check instead of the URL.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    cookie: Option<String>,
}

/// Why `vodpack token sign|verify` failed: a usage error (exit 2) or a refusal (exit 1).
#[derive(Debug)]
pub enum TokenError {
    /// Options given that this CDN's command does not use.
    NotUsed(Vec<&'static str>),
    /// A required option is missing.
    Missing(&'static str),
    /// The options do not fit together (the message says how to call it).
    Usage(&'static str),
    /// A PEM file named by an option could not be read.
    ReadPem {
        /// The option (`--private-key`, `--public-key`).
        flag: &'static str,
        /// The path it named.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// A key, or the signing itself, was refused by the CDN module.
    Sign(SignError),
    /// The token, URL or cookie does not verify (exit 1).
    Refused(Refusal),
}

impl TokenError {
    /// The exit code: 1 for a refusal, 2 for everything else (usage).
    pub fn exit_code(&self) -> u8 {
        match self {
            TokenError::Refused(_) => 1,
            _ => 2,
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::NotUsed(flags) => write!(
                f,
                "{} not used by this command (see `vodpack token --help` and docs/cdn/)",
                flags.join(", ")
            ),
            TokenError::Missing(flag) => write!(f, "{flag} is required"),
            TokenError::Usage(m) => f.write_str(m),
            TokenError::ReadPem { flag, path, source } => write!(f, "{flag} {path}: {source}"),
            TokenError::Sign(e) => write!(f, "{e}"),
            TokenError::Refused(r) => write!(f, "token refused: {} ({r})", r.reason()),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenError::ReadPem { source, .. } => Some(source),
            TokenError::Sign(e) => Some(e),
            TokenError::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl From<Refusal> for TokenError {
    fn from(r: Refusal) -> Self {
        TokenError::Refused(r)
    }
}

impl From<SignError> for TokenError {
    fn from(e: SignError) -> Self {
        TokenError::Sign(e)
    }
}

/// Runs `vodpack token …`; the exit code is 0, 1 (refused) or 2 (usage).
pub fn run(cmd: &TokenCommand) -> ExitCode {
    let result = match cmd {
        TokenCommand::Sign(a) => sign(a).map(|lines| {
            for l in lines {
                println!("{l}");
            }
        }),
        TokenCommand::Verify(a) => verify(a).map(|ok| println!("valid: {ok}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e {
                TokenError::Refused(_) => eprintln!("vodpack: {e}"),
                _ => eprintln!("vodpack: error: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Options given that `cdn` does not use (for a usage error).
fn reject_others(a: &TokenArgs, allowed: &[&str]) -> Result<(), TokenError> {
    let given: [(&'static str, bool); 24] = [
        ("--key", !a.keys.is_empty()),
        ("--algorithm", a.algorithm.is_some()),
        ("--acl", a.acl.is_some()),
        ("--url", a.url.is_some()),
        ("--end-time", a.end_time.is_some()),
        ("--start-time", a.start_time.is_some()),
        ("--ip", a.ip.is_some()),
        ("--session-id", a.session_id.is_some()),
        ("--payload", a.payload.is_some()),
        ("--salt", a.salt.is_some()),
        ("--escape-early", a.escape_early),
        ("--token", a.token.is_some()),
        ("--client-ip", a.client_ip.is_some()),
        ("--now", a.now.is_some()),
        ("--private-key", a.private_key.is_some()),
        ("--public-key", a.public_key.is_some()),
        ("--key-pair-id", a.key_pair_id.is_some()),
        ("--expires", a.expires.is_some()),
        ("--resource", a.resource.is_some()),
        ("--not-before", a.not_before.is_some()),
        ("--ip-address", a.ip_address.is_some()),
        ("--cookies", a.cookies),
        ("--key-name", a.key_name.is_some()),
        ("--url-prefix", a.url_prefix.is_some()),
    ];
    let mut bad: Vec<&'static str> = given
        .iter()
        .filter(|(n, on)| *on && !allowed.contains(n))
        .map(|(n, _)| *n)
        .collect();
    if a.cookie.is_some() && !allowed.contains(&"--cookie") {
        bad.push("--cookie");
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(TokenError::NotUsed(bad))
    }
}

fn need<'a, T>(v: &'a Option<T>, flag: &'static str) -> Result<&'a T, TokenError> {
    v.as_ref().ok_or(TokenError::Missing(flag))
}

fn algorithm(a: &TokenArgs) -> Algorithm {
    a.algorithm
        .as_deref()
        .and_then(Algorithm::parse)
        .unwrap_or_default()
}

fn pem_text(v: &str, flag: &'static str) -> Result<String, TokenError> {
    if v.trim_start().starts_with("-----BEGIN") {
        return Ok(v.to_string());
    }
    std::fs::read_to_string(Path::new(v)).map_err(|source| TokenError::ReadPem {
        flag,
        path: v.to_string(),
        source,
    })
}

fn now(a: &TokenArgs) -> u64 {
    a.now.unwrap_or_else(vodpack_control::api::unix_now)
}

fn sign(a: &TokenArgs) -> Result<Vec<String>, TokenError> {
    match a.cdn {
        Cdn::Akamai => {
            reject_others(
                a,
                &[
                    "--key",
                    "--algorithm",
                    "--acl",
                    "--url",
                    "--end-time",
                    "--start-time",
                    "--ip",
                    "--session-id",
                    "--payload",
                    "--salt",
                    "--escape-early",
                ],
            )?;
            let [key] = a.keys.as_slice() else {
                return Err(TokenError::Usage("--key HEX is required, once"));
            };
            let params = TokenParams {
                algorithm: algorithm(a),
                start_time: a.start_time,
                end_time: *need(&a.end_time, "--end-time")?,
                ip: a.ip.clone(),
                session_id: a.session_id.clone(),
                payload: a.payload.clone(),
                salt: a.salt.clone(),
                escape_early: a.escape_early,
            };
            let token = match (&a.acl, &a.url) {
                (Some(acl), None) => akamai::generate_acl_token(key, &params, &[acl.as_str()]),
                (None, Some(url)) => akamai::generate_url_token(key, &params, url),
                _ => {
                    return Err(TokenError::Usage(
                        "give exactly one of --acl ACL and --url PATH",
                    ))
                }
            }?;
            Ok(vec![token])
        }
        Cdn::Cloudfront => {
            reject_others(
                a,
                &[
                    "--private-key",
                    "--key-pair-id",
                    "--url",
                    "--expires",
                    "--resource",
                    "--not-before",
                    "--ip-address",
                    "--cookies",
                ],
            )?;
            let pem = pem_text(need(&a.private_key, "--private-key")?, "--private-key")?;
            let signer = CloudFrontSigner::from_pem(need(&a.key_pair_id, "--key-pair-id")?, &pem)?;
            let url = need(&a.url, "--url")?;
            let expires = *need(&a.expires, "--expires")?;
            let custom = a.resource.is_some() || a.not_before.is_some() || a.ip_address.is_some();
            let signed = if custom {
                let policy = cloudfront::custom_policy(
                    a.resource.as_deref().unwrap_or(url),
                    expires,
                    a.not_before,
                    a.ip_address.as_deref(),
                );
                if a.cookies {
                    signer.cookies_custom(&policy).map(cookie_lines)
                } else {
                    signer.signed_url_custom(url, &policy).map(|u| vec![u])
                }
            } else if a.cookies {
                signer.cookies_canned(url, expires).map(cookie_lines)
            } else {
                signer.signed_url_canned(url, expires).map(|u| vec![u])
            };
            Ok(signed?)
        }
        Cdn::Mediacdn => {
            reject_others(
                a,
                &[
                    "--private-key",
                    "--key-name",
                    "--expires",
                    "--url",
                    "--url-prefix",
                    "--cookie",
                ],
            )?;
            if a.cookie.as_deref().is_some_and(|c| !c.is_empty()) {
                return Err(TokenError::Usage("sign --cookie takes no value"));
            }
            let signer = MediaCdnSigner::from_base64(
                need(&a.key_name, "--key-name")?,
                need(&a.private_key, "--private-key")?,
            )?;
            let url = need(&a.url, "--url")?;
            let expires = *need(&a.expires, "--expires")?;
            Ok(vec![match (&a.url_prefix, a.cookie.is_some()) {
                (p, true) => format!(
                    "{COOKIE_NAME}={}",
                    signer.cookie_value(p.as_deref().unwrap_or(url), expires)
                ),
                (Some(p), false) => signer.sign_url_prefix(url, p, expires),
                (None, false) => signer.sign_url(url, expires),
            }])
        }
    }
}

fn cookie_lines(c: Vec<(String, String)>) -> Vec<String> {
    c.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn verify(a: &TokenArgs) -> Result<String, TokenError> {
    let now = now(a);
    match a.cdn {
        Cdn::Akamai => {
            reject_others(
                a,
                &[
                    "--key",
                    "--algorithm",
                    "--salt",
                    "--escape-early",
                    "--client-ip",
                    "--url",
                    "--token",
                    "--now",
                ],
            )?;
            if a.keys.is_empty() {
                return Err(TokenError::Usage("--key HEX is required"));
            }
            let keys: Vec<&str> = a.keys.iter().map(String::as_str).collect();
            let mut v = AkamaiVerifier::new(&keys, algorithm(a))?;
            v.salt = a.salt.clone();
            v.escape_early = a.escape_early;
            let t = v.verify(
                need(&a.token, "--token")?,
                need(&a.url, "--url")?,
                a.client_ip,
                now,
            )?;
            Ok(format!(
                "{} token, expires {}",
                if t.acl.is_some() { "ACL" } else { "URL" },
                t.end_time
            ))
        }
        Cdn::Cloudfront => {
            reject_others(
                a,
                &[
                    "--public-key",
                    "--key-pair-id",
                    "--url",
                    "--client-ip",
                    "--now",
                    "--cookie",
                ],
            )?;
            let pem = pem_text(need(&a.public_key, "--public-key")?, "--public-key")?;
            let key = cloudfront::public_key_from_pem(&pem)?;
            let url = need(&a.url, "--url")?;
            let kpid = match &a.key_pair_id {
                Some(k) => k.clone(),
                None => {
                    let from_url = split_url_query(url)
                        .1
                        .and_then(|q| query_value(q, "Key-Pair-Id"));
                    let from_cookie = a.cookie.as_deref().and_then(|c| {
                        vodpack_control::cdn::cookie_value(c, cloudfront::COOKIE_KEY_PAIR_ID)
                    });
                    from_url.or(from_cookie).unwrap_or("-").to_string()
                }
            };
            let mut v = CloudFrontVerifier::new();
            v.add_key(&kpid, key)?;
            let p = match a.cookie.as_deref() {
                Some(c) if !c.is_empty() => v.verify_cookies(url, c, a.client_ip, now)?,
                Some(_) => {
                    return Err(TokenError::Usage(
                        "verify --cookie needs the Cookie header as value",
                    ))
                }
                None => v.verify_url(url, a.client_ip, now)?,
            };
            Ok(format!(
                "{} policy, expires {}",
                if p.canned { "canned" } else { "custom" },
                p.expires
            ))
        }
        Cdn::Mediacdn => {
            reject_others(
                a,
                &["--public-key", "--key-name", "--url", "--now", "--cookie"],
            )?;
            let mut v = MediaCdnVerifier::new();
            v.add_key(
                need(&a.key_name, "--key-name")?,
                need(&a.public_key, "--public-key")?,
            )?;
            let url = need(&a.url, "--url")?;
            let g = match a.cookie.as_deref() {
                Some(c) if !c.is_empty() => v.verify_cookie(url, c, now)?,
                Some(_) => {
                    return Err(TokenError::Usage(
                        "verify --cookie needs the Cookie header as value",
                    ))
                }
                None => v.verify_url(url, now)?,
            };
            Ok(match g.url_prefix {
                Some(p) => format!("prefix {p}, expires {}", g.expires),
                None => format!("URL signature, expires {}", g.expires),
            })
        }
    }
}
