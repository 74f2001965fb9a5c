//! `vodpack serve` in each CDN mode, with real HTTP requests on loopback: playback start answers
//! the manifest URL signed in the CDN's format plus the query and cookies for the segments (and
//! sets the cookies); the origin serves manifests and segments with either, refuses requests
//! without them, outside the asset, tampered, or once the session has expired (a 2 s policy TTL,
//! so the expiry happens during the test). Tokens bound to a client IP (Akamai `ip=`, CloudFront
//! `IpAddress`) are checked against the connection's remote address, and `bind_client_ip` makes
//! playback start sign such tokens for the requesting client (requests from 127.0.0.2, another
//! loopback address on Linux, stand in for another client).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vodpack_control::api::unix_now;
use vodpack_control::cdn::akamai::{self, TokenParams};
use vodpack_control::cdn::cloudfront::{self, CloudFrontSigner};
use vodpack_control::cdn::playback::{CdnEdge, CdnMode};
use vodpack_control::serve::{start, ServeConfig, ServeKeys, Server};

use crate::common::temp_dir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A CDN config with two keys per CDN (rotation: the second only verifies), with `top`
/// (top-level settings such as `bind_client_ip = true`) first.
fn write_config_with(dir: &Path, top: &str) -> PathBuf {
    let cdn = fixtures().join("cdn");
    for f in [
        "cloudfront-test-1.pem",
        "cloudfront-test-1.pub.pem",
        "cloudfront-test-2.pub.pem",
    ] {
        std::fs::copy(cdn.join(f), dir.join(f)).unwrap();
    }
    let keys = std::fs::read_to_string(cdn.join("mediacdn-test-keys.txt")).unwrap();
    let field = |line: usize, k: &str| {
        keys.lines()
            .nth(line)
            .unwrap()
            .split(' ')
            .find_map(|f| f.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    let text = format!(
        r#"{}
[akamai]
keys = ["5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f", "00112233445566778899aabbccddeeff"]
algorithm = "sha256"
[cloudfront]
key_pair_id = "KTEST1"
private_key = "cloudfront-test-1.pem"
trusted_keys = [ {{ id = "KTEST1", public_key = "cloudfront-test-1.pub.pem" }},
                 {{ id = "KTEST2", public_key = "cloudfront-test-2.pub.pem" }} ]
[mediacdn]
key_name = "mediacdn-test-1"
private_key = "{}"
keyset = [ {{ name = "mediacdn-test-1", public_key = "{}" }},
           {{ name = "mediacdn-test-2", public_key = "{}" }} ]
"#,
        top,
        field(0, "private="),
        field(0, "public="),
        field(1, "public=")
    );
    let p = dir.join("cdn.toml");
    std::fs::write(&p, text).unwrap();
    p
}

async fn server(mode: CdnMode, tmp: &Path) -> Server {
    server_with(mode, tmp, "").await
}

async fn server_with(mode: CdnMode, tmp: &Path, top: &str) -> Server {
    let policy = tmp.join("policy.toml");
    std::fs::write(
        &policy,
        "session_ttl_secs = 2\n[default]\nplans = [\"*\"]\n",
    )
    .unwrap();
    let mut c = ServeConfig::new(fixtures().join("cenc-shaka"));
    c.port = 0;
    c.events_path = Some(tmp.join("events.ndjson"));
    c.keys = Some(ServeKeys::random());
    c.policy_path = Some(policy);
    c.cdn = Some(Arc::new(
        CdnEdge::load(mode, &write_config_with(tmp, top)).unwrap(),
    ));
    start(c).await.unwrap()
}

async fn get(url: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = crate::common::http_client().build().unwrap().get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

fn reason(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string())
}

async fn run_mode(mode: CdnMode) {
    let tmp = temp_dir(&format!("cdn-{}", mode.name()));
    let s = server(mode, &tmp).await;
    let token = s.control.identity.issue("alice", &[], unix_now(), 600);
    let res = crate::common::http_client().build().unwrap()
        .post(format!("{}/v1/playback/start", s.url()))
        .header("authorization", format!("Bearer {token}"))
        .body(json!({"asset_id": "fixture_cenc", "device": {"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc"]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let set_cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let answer: Value = res.json().await.unwrap();
    let edge = &answer["edge"];
    assert_eq!(edge["cdn"], json!(mode.name()), "{answer}");
    let manifest_url = answer["manifest_url"].as_str().unwrap();
    assert_eq!(edge["manifest_url"].as_str().unwrap(), manifest_url);
    let expires = edge["expires_at"].as_u64().unwrap();
    assert_eq!(expires, answer["expires_at"].as_u64().unwrap());
    let query = edge["query"].as_str().unwrap();
    let cookies: Vec<String> = edge["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["path"], json!("/v/fixture_cenc/"));
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(set_cookies.len(), cookies.len());
    for (sc, c) in set_cookies.iter().zip(&cookies) {
        assert!(
            sc.starts_with(&format!("{c}; Path=/v/fixture_cenc/")),
            "{sc}"
        );
    }
    let cookie_header = cookies.join("; ");
    // Format of each CDN.
    match mode {
        CdnMode::Akamai => {
            assert!(query.starts_with("__token__=exp="), "{query}");
            assert!(query.contains("~acl=/v/fixture_cenc/*~id=ps_"), "{query}");
        }
        CdnMode::Cloudfront => {
            assert!(query.starts_with("Policy="), "{query}");
            assert!(query.ends_with("&Key-Pair-Id=KTEST1"), "{query}");
            assert!(cookie_header.starts_with("CloudFront-Policy="));
        }
        CdnMode::Mediacdn => {
            assert!(query.starts_with("URLPrefix="), "{query}");
            assert!(
                query.contains("&KeyName=mediacdn-test-1&Signature="),
                "{query}"
            );
            assert!(cookie_header.starts_with("Edge-Cache-Cookie=URLPrefix="));
        }
    }
    assert!(
        manifest_url.starts_with(&format!("{}/v/fixture_cenc/manifest.mpd?", s.url()))
            || manifest_url.starts_with("/v/fixture_cenc/manifest.mpd?"),
        "{manifest_url}"
    );
    let abs = |u: &str| {
        if u.starts_with("http") {
            u.to_string()
        } else {
            format!("{}{u}", s.url())
        }
    };
    let (st, body) = get(&abs(manifest_url), None).await;
    assert_eq!(st, 200, "{mode:?} manifest: {body}");
    assert!(body.contains("<MPD"));
    let seg = format!("{}/v/fixture_cenc/video/seg_1.m4s", s.url());
    let (st, body) = get(&format!("{seg}?{query}"), None).await;
    assert_eq!(st, 200, "{mode:?} segment by query: {}", reason(&body));
    let (st, body) = get(&seg, Some(&cookie_header)).await;
    assert_eq!(st, 200, "{mode:?} segment by cookie: {}", reason(&body));
    let (st, body) = get(&seg, None).await;
    assert_eq!(
        (st, reason(&body).as_str()),
        (403, "missing_token"),
        "{mode:?}"
    );
    // Outside the asset prefix (the signature covers /v/fixture_cenc/ only).
    let (st, body) = get(
        &format!("{}/v/other_asset/video/seg_1.m4s?{query}", s.url()),
        None,
    )
    .await;
    assert_eq!(
        (st, reason(&body).as_str()),
        (403, "outside_acl"),
        "{mode:?}"
    );
    // Tampered: a later expiry.
    let later = query.replacen(&expires.to_string(), &(expires + 60).to_string(), 1);
    if later != query {
        let (st, body) = get(&format!("{seg}?{later}"), None).await;
        assert_eq!(
            (st, reason(&body).as_str()),
            (403, "bad_signature"),
            "{mode:?}"
        );
    }
    // The session expires (TTL 2 s): the same query and cookies are refused afterwards.
    let wait = (expires + 1).saturating_sub(unix_now());
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    let (st, body) = get(&format!("{seg}?{query}"), None).await;
    assert_eq!((st, reason(&body).as_str()), (403, "expired"), "{mode:?}");
    let (st, body) = get(&seg, Some(&cookie_header)).await;
    assert_eq!((st, reason(&body).as_str()), (403, "expired"), "{mode:?}");
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn akamai_mode() {
    run_mode(CdnMode::Akamai).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudfront_mode() {
    run_mode(CdnMode::Cloudfront).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mediacdn_mode() {
    run_mode(CdnMode::Mediacdn).await;
}

/// A GET from the local address `from` (127.0.0.1 when `None`).
async fn get_from(url: &str, cookie: Option<&str>, from: Option<IpAddr>) -> (u16, String) {
    let client = crate::common::http_client()
        .local_address(from)
        .build()
        .unwrap();
    let mut req = client.get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// Playback start from the local address `from`: the answer's `edge`.
async fn start_from(s: &Server, from: Option<IpAddr>) -> Value {
    let token = s.control.identity.issue("alice", &[], unix_now(), 600);
    let res = crate::common::http_client()
        .local_address(from)
        .build()
        .unwrap()
        .post(format!("{}/v1/playback/start", s.url()))
        .header("authorization", format!("Bearer {token}"))
        .body(json!({"asset_id": "fixture_cenc", "device": {"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc"]}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let answer: Value = res.json().await.unwrap();
    answer["edge"].clone()
}

fn cookie_header(edge: &Value) -> String {
    let cookies: Vec<String> = edge["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect();
    cookies.join("; ")
}

/// (query, cookie header) authorising `/v/fixture_cenc/*` for `ip`, signed here with the
/// config's first key as a backend would.
fn ip_bound(mode: CdnMode, base: &str, ip: &str, expires: u64) -> (String, String) {
    match mode {
        CdnMode::Akamai => {
            let p = TokenParams {
                end_time: expires,
                ip: Some(ip.to_string()),
                ..Default::default()
            };
            let t = akamai::generate_acl_token(
                "5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f",
                &p,
                &["/v/fixture_cenc/*"],
            )
            .unwrap();
            (format!("__token__={t}"), format!("__token__={t}"))
        }
        CdnMode::Cloudfront => {
            let pem =
                std::fs::read_to_string(fixtures().join("cdn/cloudfront-test-1.pem")).unwrap();
            let signer = CloudFrontSigner::from_pem("KTEST1", &pem).unwrap();
            let policy = cloudfront::custom_policy(
                &format!("{base}/v/fixture_cenc/*"),
                expires,
                None,
                Some(&format!("{ip}/32")),
            );
            let url = signer.signed_url_custom("https://x/", &policy).unwrap();
            let query = url.split_once('?').unwrap().1.to_string();
            let cookies: Vec<String> = signer
                .cookies_custom(&policy)
                .unwrap()
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            (query, cookies.join("; "))
        }
        CdnMode::Mediacdn => unreachable!("Media CDN has no IP binding"),
    }
}

async fn ip_bound_tokens_at_the_origin(mode: CdnMode) {
    let tmp = temp_dir(&format!("cdn-ip-{}", mode.name()));
    let s = server(mode, &tmp).await;
    let edge = start_from(&s, None).await;
    // The CDN base the server signs for (its own address): the manifest URL up to /v/.
    let manifest_url = edge["manifest_url"].as_str().unwrap();
    let base = &manifest_url[..manifest_url.find("/v/").unwrap()];
    let seg = format!("{}/v/fixture_cenc/video/seg_1.m4s", s.url());
    let expires = unix_now() + 300;
    for (ip, want) in [("127.0.0.1", None), ("10.1.2.3", Some("wrong_ip"))] {
        let (query, cookies) = ip_bound(mode, base, ip, expires);
        for (how, url, cookie) in [
            ("query", format!("{seg}?{query}"), None),
            ("cookie", seg.clone(), Some(cookies.as_str())),
        ] {
            let (st, body) = get_from(&url, cookie, None).await;
            match want {
                None => assert_eq!(st, 200, "{mode:?} {ip} {how}: {}", reason(&body)),
                Some(r) => assert_eq!(
                    (st, reason(&body).as_str()),
                    (403, r),
                    "{mode:?} {ip} {how}"
                ),
            }
        }
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn akamai_ip_bound_tokens() {
    ip_bound_tokens_at_the_origin(CdnMode::Akamai).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudfront_ip_bound_tokens() {
    ip_bound_tokens_at_the_origin(CdnMode::Cloudfront).await;
}

/// `bind_client_ip = true`: the playback answer's query and cookies carry the client's address
/// and work from it; from another address (127.0.0.2, Linux routes all of 127/8 to loopback)
/// they are refused as `wrong_ip`, and that client gets its own tokens.
async fn bind_client_ip(mode: CdnMode) {
    let tmp = temp_dir(&format!("cdn-bind-{}", mode.name()));
    let s = server_with(mode, &tmp, "bind_client_ip = true").await;
    let seg = format!("{}/v/fixture_cenc/video/seg_1.m4s", s.url());
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let other_works = cfg!(target_os = "linux");
    let clients: &[(Option<IpAddr>, &str)] = if other_works {
        &[(None, "127.0.0.1"), (Some(other), "127.0.0.2")]
    } else {
        &[(None, "127.0.0.1")]
    };
    for &(from, ip) in clients {
        let edge = start_from(&s, from).await;
        let query = edge["query"].as_str().unwrap().to_string();
        let cookies = cookie_header(&edge);
        match mode {
            CdnMode::Akamai => {
                assert!(
                    query.starts_with(&format!("__token__=ip={ip}~exp=")),
                    "{query}"
                )
            }
            _ => {
                let policy = query.split('&').next().unwrap();
                let policy = policy.strip_prefix("Policy=").unwrap();
                let json = String::from_utf8(cloudfront::cf_b64decode(policy).unwrap()).unwrap();
                assert!(
                    json.contains(&format!(r#""IpAddress":{{"AWS:SourceIp":"{ip}/32"}}"#)),
                    "{json}"
                );
            }
        }
        let manifest = edge["manifest_url"].as_str().unwrap();
        let (st, body) = get_from(manifest, None, from).await;
        assert_eq!(st, 200, "{mode:?} {ip} manifest: {}", reason(&body));
        for (how, url, cookie) in [
            ("query", format!("{seg}?{query}"), None),
            ("cookie", seg.clone(), Some(cookies.as_str())),
        ] {
            let (st, body) = get_from(&url, cookie, from).await;
            assert_eq!(st, 200, "{mode:?} {ip} {how}: {}", reason(&body));
            if other_works {
                // The same token from the other client.
                let elsewhere = if from.is_some() { None } else { Some(other) };
                let (st, body) = get_from(&url, cookie, elsewhere).await;
                assert_eq!(
                    (st, reason(&body).as_str()),
                    (403, "wrong_ip"),
                    "{mode:?} {ip} {how} from elsewhere"
                );
            }
        }
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn akamai_bind_client_ip() {
    bind_client_ip(CdnMode::Akamai).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudfront_bind_client_ip() {
    bind_client_ip(CdnMode::Cloudfront).await;
}

#[test]
fn mediacdn_refuses_bind_client_ip() {
    let tmp = temp_dir("cdn-bind-mediacdn");
    let err = CdnEdge::load(
        CdnMode::Mediacdn,
        &write_config_with(&tmp, "bind_client_ip = true"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no IP field"), "{err}");
    std::fs::remove_dir_all(tmp).ok();
}

/// `delivery = "query"`: the answer has no cookies and serve sets none; the query alone works.
#[tokio::test(flavor = "multi_thread")]
async fn delivery_by_query_sets_no_cookies() {
    for mode in [CdnMode::Akamai, CdnMode::Cloudfront, CdnMode::Mediacdn] {
        let tmp = temp_dir(&format!("cdn-q-{}", mode.name()));
        let s = server_with(mode, &tmp, "delivery = \"query\"").await;
        let token = s.control.identity.issue("alice", &[], unix_now(), 600);
        let res = crate::common::http_client().build().unwrap()
            .post(format!("{}/v1/playback/start", s.url()))
            .header("authorization", format!("Bearer {token}"))
            .body(json!({"asset_id": "fixture_cenc", "device": {"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc"]}}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert!(res.headers().get("set-cookie").is_none(), "{mode:?}");
        let answer: Value = res.json().await.unwrap();
        let edge = &answer["edge"];
        assert_eq!(edge["cookies"], json!([]), "{mode:?}");
        let query = edge["query"].as_str().unwrap();
        let seg = format!("{}/v/fixture_cenc/video/seg_1.m4s", s.url());
        let (st, body) = get(&format!("{seg}?{query}"), None).await;
        assert_eq!(st, 200, "{mode:?}: {}", reason(&body));
        s.shutdown().await.unwrap();
        std::fs::remove_dir_all(tmp).ok();
    }
    let tmp = temp_dir("cdn-q-bad");
    let err = CdnEdge::load(
        CdnMode::Akamai,
        &write_config_with(&tmp, "delivery = \"header\""),
    )
    .unwrap_err();
    assert!(err.to_string().contains("delivery \"header\""), "{err}");
    std::fs::remove_dir_all(tmp).ok();
}
