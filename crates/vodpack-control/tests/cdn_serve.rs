//! `vodpack serve` in each CDN mode, with real HTTP requests on loopback: playback start answers
//! the manifest URL signed in the CDN's format plus the query and cookies for the segments (and
//! sets the cookies); the origin serves manifests and segments with either, refuses requests
//! without them, outside the asset, tampered, or once the session has expired (a 2 s policy TTL,
//! so the expiry happens during the test).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vodpack_control::api::unix_now;
use vodpack_control::cdn::playback::{CdnEdge, CdnMode};
use vodpack_control::serve::{start, ServeConfig, ServeKeys, Server};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vodpack-cdn-{tag}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CDN config with two keys per CDN (rotation: the second only verifies).
fn write_config(dir: &Path) -> PathBuf {
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
        r#"[akamai]
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
        field(0, "private="),
        field(0, "public="),
        field(1, "public=")
    );
    let p = dir.join("cdn.toml");
    std::fs::write(&p, text).unwrap();
    p
}

async fn server(mode: CdnMode, tmp: &Path) -> Server {
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
    c.cdn = Some(Arc::new(CdnEdge::load(mode, &write_config(tmp)).unwrap()));
    start(c).await.unwrap()
}

async fn get(url: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
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
    let tmp = temp_dir(mode.name());
    let s = server(mode, &tmp).await;
    let token = s.control.identity.issue("alice", &[], unix_now(), 600);
    let res = reqwest::Client::new()
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
