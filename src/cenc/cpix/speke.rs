//! SPEKE v2 (AWS Secure Packager and Encoder Key Exchange, CPIX 2.3 over HTTP): the request is
//! POSTed with `X-Speke-Version: 2.0` and the user's headers, retried with back-off on 5xx
//! answers, refused connections and time-outs, and the answer is checked against what was asked
//! (docs/cpix.md). Also the GET of `--cpix URL`.
//!
//! The HTTP client is a small HTTP/1.1 one over `std::net` (one request per connection,
//! `Content-Length` or chunked answers): `http://` only, see docs/cpix.md for TLS.
use super::cpix_err;
use super::model::Document;
use crate::error::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

fn parse_url(url: &str) -> Result<(String, u16, String)> {
    if url.starts_with("https://") {
        return Err(cpix_err(format!(
            "{url}: https is not built in; reach the key server through a local TLS proxy (docs/cpix.md)"
        )));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| cpix_err(format!("'{url}' is not an http:// URL")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| cpix_err(format!("'{url}': bad port")))?,
        ),
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        return Err(cpix_err(format!("'{url}' has no host")));
    }
    Ok((host, port, path.to_string()))
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
    let (host, port, path) = parse_url(url)?;
    let transient = |e: std::io::Error| Failure {
        transient: true,
        message: e.to_string(),
    };
    let attempt = || -> std::result::Result<(u16, String), Failure> {
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(transient)?
            .next()
            .ok_or(Failure {
                transient: false,
                message: format!("{host} has no address"),
            })?;
        let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(transient)?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(transient)?;
        s.set_write_timeout(Some(TIMEOUT)).map_err(transient)?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nUser-Agent: vodpack/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/xml\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).map_err(transient)?;
        if let Some(b) = body {
            s.write_all(b.as_bytes()).map_err(transient)?;
        }
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).map_err(transient)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Failure {
                transient: true,
                message: format!("not an HTTP answer: '{}'", line.trim()),
            })?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        loop {
            line.clear();
            r.read_line(&mut line).map_err(transient)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':') {
                let (n, v) = (n.trim().to_ascii_lowercase(), v.trim());
                if n == "content-length" {
                    length = v.parse().ok();
                } else if n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line).map_err(transient)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| Failure {
                    transient: true,
                    message: "bad chunked answer".into(),
                })?;
                if size == 0 {
                    break;
                }
                if body.len() + size > MAX_BODY {
                    return Err(Failure {
                        transient: false,
                        message: "answer too large".into(),
                    });
                }
                let mut chunk = vec![0u8; size + 2];
                r.read_exact(&mut chunk).map_err(transient)?;
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            if n > MAX_BODY {
                return Err(Failure {
                    transient: false,
                    message: "answer too large".into(),
                });
            }
            body.resize(n, 0);
            r.read_exact(&mut body).map_err(transient)?;
        } else {
            r.take(MAX_BODY as u64 + 1)
                .read_to_end(&mut body)
                .map_err(transient)?;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    Ok(attempt())
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
        assert_eq!(
            parse_url("http://127.0.0.1:8080/speke/v2").unwrap(),
            ("127.0.0.1".into(), 8080, "/speke/v2".into())
        );
        assert_eq!(
            parse_url("http://keys.example").unwrap(),
            ("keys.example".into(), 80, "/".into())
        );
        assert!(parse_url("https://keys.example/")
            .unwrap_err()
            .to_string()
            .contains("TLS proxy"));
        assert_eq!(
            parse_header("Authorization: Bearer x").unwrap(),
            ("Authorization".into(), "Bearer x".into())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("X: a\r\nInjected: b").is_err());
    }
}
