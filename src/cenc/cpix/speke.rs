//! SPEKE v2 (AWS Secure Packager and Encoder Key Exchange, CPIX 2.3 over HTTP): the request is
//! POSTed with `X-Speke-Version: 2.0` and the user's headers, retried with back-off on 5xx
//! answers, refused connections and time-outs, and the answer is checked against what was asked
//! (docs/cpix.md). Also the GET of `--cpix URL`.
//!
//! The HTTP client is reqwest on the storage runtime (`storage::store::block_on`, which also
//! installs rustls's ring provider): `http://` and `https://`, the server's certificate checked
//! against the system's roots, or those of `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (docs/cpix.md).
use super::cpix_err;
use super::model::Document;
use crate::error::Result;
use std::sync::OnceLock;
use std::time::Duration;

/// Per-attempt connect and read time-out.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts in all (the first and the retries).
const ATTEMPTS: u32 = 4;
/// First back-off; doubled after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Largest answer read (a CPIX answer is kilobytes).
const MAX_BODY: usize = 16 << 20;

/// An HTTP failure: retried when `transient`.
struct Failure {
    transient: bool,
    message: String,
}

/// Checks that `url` is an http(s) URL with a host.
fn check_url(url: &str) -> Result<reqwest::Url> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| cpix_err(format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(cpix_err(format!(
            "'{url}' is not an http:// or https:// URL"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(cpix_err(format!("'{url}' has no host")));
    }
    Ok(parsed)
}

/// The one client (connection pool, roots loaded once).
fn client() -> Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // The runtime installs the TLS provider the client is built with.
            crate::storage::store::block_on(async {
                reqwest::Client::builder()
                    .connect_timeout(TIMEOUT)
                    .read_timeout(TIMEOUT)
                    .user_agent(concat!("vodpack/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| error_chain(&e))
            })
        })
        .as_ref()
        .map_err(|e| cpix_err(format!("cannot set up the HTTP client: {e}")))
}

/// An error and its sources, joined (reqwest's own text omits the TLS cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cur = s.source();
    }
    text
}

/// Classifies a request error: an untrusted or invalid certificate is final, with a hint.
fn failure(url: &reqwest::Url, e: &reqwest::Error) -> Failure {
    let text = error_chain(e);
    if text.contains("certificate") {
        return Failure {
            transient: false,
            message: format!(
                "TLS: {} presented a certificate vodpack does not trust ({text}); trust its CA \
                 with SSL_CERT_FILE=ca.pem (docs/cpix.md)",
                url.host_str().unwrap_or_default()
            ),
        };
    }
    Failure {
        transient: e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
        message: text,
    }
}

/// Checks a `Name: value` header.
pub fn parse_header(h: &str) -> Result<(String, String)> {
    let (n, v) = h
        .split_once(':')
        .ok_or_else(|| cpix_err(format!("header '{h}': expected 'Name: value'")))?;
    let n = n.trim();
    if n.is_empty()
        || !n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
        || v.contains(['\r', '\n'])
    {
        return Err(cpix_err(format!("header '{h}': not a valid HTTP header")));
    }
    Ok((n.to_string(), v.trim().to_string()))
}

fn once(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<std::result::Result<(u16, String), Failure>> {
    let parsed = check_url(url)?;
    let client = client()?;
    let mut req = match method {
        "POST" => client.post(parsed.clone()),
        _ => client.get(parsed.clone()),
    };
    for (n, v) in headers {
        req = req.header(n.as_str(), v.as_str());
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/xml")
            .body(b.to_string());
    }
    let attempt = async {
        let mut resp = req.send().await.map_err(|e| failure(&parsed, &e))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| failure(&parsed, &e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Failure {
                    transient: false,
                    message: "answer too large".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    Ok(crate::storage::store::block_on(attempt))
}

/// One HTTP exchange with retries: 5xx answers, refused connections and time-outs are retried
/// `ATTEMPTS - 1` times with doubling back-off; any other non-2xx answer fails at once.
fn exchange(method: &str, url: &str, headers: &[String], body: Option<&str>) -> Result<String> {
    let mut hs = Vec::new();
    for h in headers {
        hs.push(parse_header(h)?);
    }
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match once(method, url, &hs, body)? {
            Ok((status, text)) if (200..300).contains(&status) => return Ok(text),
            Ok((status, text)) => {
                let excerpt: String = text.chars().take(300).collect();
                last = format!("HTTP {status}: {}", excerpt.trim());
                if status < 500 {
                    break;
                }
            }
            Err(f) => {
                last = f.message;
                if !f.transient {
                    break;
                }
            }
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
    Err(cpix_err(format!("{method} {url} failed: {last}")))
}

/// GETs a CPIX document.
pub fn get(url: &str, headers: &[String]) -> Result<String> {
    exchange("GET", url, headers, None)
}

/// POSTs a SPEKE v2 request and returns the answer's text.
pub fn post(url: &str, headers: &[String], request: &str) -> Result<String> {
    let mut all = vec!["X-Speke-Version: 2.0".to_string()];
    all.extend(headers.iter().cloned());
    exchange("POST", url, &all, Some(request))
}

/// Checks a SPEKE answer against the request: the same KIDs, a key for each, and the data asked
/// for every DRM system (a PSSH for DASH systems, HLS signalling for FairPlay).
pub fn check_answer(
    answer: &Document,
    kids: &[[u8; 16]],
    ask: &[([u8; 16], [u8; 16], super::write::Ask)],
) -> Result<()> {
    use super::model::KeyValue;
    use super::write::Ask;
    use crate::cenc::keys::uuid_string;
    for kid in kids {
        let k = answer.keys.iter().find(|k| &k.kid == kid).ok_or_else(|| {
            cpix_err(format!(
                "the SPEKE answer has no ContentKey {}",
                uuid_string(kid)
            ))
        })?;
        if matches!(k.value, KeyValue::Absent) {
            return Err(cpix_err(format!(
                "the SPEKE answer has no key value for {}",
                uuid_string(kid)
            )));
        }
    }
    if let Some(extra) = answer.keys.iter().find(|k| !kids.contains(&k.kid)) {
        return Err(cpix_err(format!(
            "the SPEKE answer has a ContentKey {} that was not asked for",
            uuid_string(&extra.kid)
        )));
    }
    for (system, kid, what) in ask {
        let d = answer.drm_system(system, kid).ok_or_else(|| {
            cpix_err(format!(
                "the SPEKE answer has no DRMSystem {} for kid {}",
                uuid_string(system),
                uuid_string(kid)
            ))
        })?;
        let missing = match what {
            Ask::Dash => d.pssh.is_none(),
            Ask::Hls => d.hls.is_empty(),
            Ask::Both => d.pssh.is_none() || d.hls.is_empty(),
        };
        if missing {
            return Err(cpix_err(format!(
                "the SPEKE answer's DRMSystem {} for kid {} lacks the signalling asked for",
                uuid_string(system),
                uuid_string(kid)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_headers() {
        assert!(check_url("http://127.0.0.1:8080/speke/v2").is_ok());
        assert!(check_url("https://keys.example/").is_ok());
        assert!(check_url("ftp://keys.example/")
            .unwrap_err()
            .to_string()
            .contains("not an http"));
        assert!(check_url("keys.example").is_err());
        assert_eq!(
            parse_header("Authorization: Bearer x").unwrap(),
            ("Authorization".into(), "Bearer x".into())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("X: a\r\nInjected: b").is_err());
    }
}
