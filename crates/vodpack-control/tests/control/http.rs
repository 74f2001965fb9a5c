//! HTTP tests of `vodpack serve` with real requests on loopback, over the Shaka-Packager-made
//! fixture in `tests/fixtures/cenc-shaka` (see its README).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{json, Value};
use vodpack_control::api::{
    unix_now, LicenceClaims, SessionClaims, LICENCE_PURPOSE, SESSION_PURPOSE,
};
use vodpack_control::serve::{start, ServeConfig, ServeKeys, Server};

use crate::common::{cenc_fixture as fixture_dir, temp_dir};

const ASSET: &str = "fixture_cenc";
const KID_VIDEO: &str = "11111111111111111111111111111111";
const KEY_VIDEO: &str = "00112233445566778899aabbccddeeff";
const KID_AUDIO: &str = "22222222222222222222222222222222";
const KEY_AUDIO: &str = "ffeeddccbbaa99887766554433221100";

async fn server_with(tag: &str, edit: impl FnOnce(&mut ServeConfig, &Path)) -> (Server, PathBuf) {
    let tmp = temp_dir(&format!("http-{tag}"));
    let mut config = ServeConfig::new(fixture_dir());
    config.port = 0;
    config.events_path = Some(tmp.join("events.ndjson"));
    config.keys = Some(ServeKeys::random());
    edit(&mut config, &tmp);
    (start(config).await.unwrap(), tmp)
}

fn client() -> reqwest::Client {
    crate::common::http_client().build().unwrap()
}

fn device() -> Value {
    json!({"platform": "web", "protocols": ["dash", "hls"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc", "cbcs"]})
}

fn bearer(s: &Server, sub: &str, plans: &[&str]) -> String {
    format!(
        "Bearer {}",
        s.control.identity.issue(sub, plans, unix_now(), 600)
    )
}

async fn start_playback(s: &Server, auth: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = client()
        .post(format!("{}/v1/playback/start", s.url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn playback(s: &Server) -> Value {
    let (status, v) = start_playback(
        s,
        Some(&bearer(s, "alice", &[])),
        &json!({"asset_id": ASSET, "device": device()}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Sends a request byte-for-byte (reqwest would normalise `..` and `//` away).
fn raw_get(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let head = String::from_utf8_lossy(&out[..out.len().min(64)]).to_string();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_start_and_origin_serve_the_asset() {
    let (s, tmp) = server_with("origin", |_, _| {}).await;
    let pb = playback(&s).await;
    assert_eq!(pb["asset_id"], ASSET);
    assert_eq!(pb["protocol"], "dash");
    let sid = pb["session_id"].as_str().unwrap();
    assert!(sid.starts_with("ps_") && sid.len() == 35, "{sid}");
    assert_eq!(pb["drm"]["key_system"], "org.w3.clearkey");
    assert_eq!(pb["drm"]["scheme"], "cenc");
    // The asset's key ids, in rendition order (video, audio), for clients that must ask for the
    // Clear Key licence themselves (Shaka's HLS parser).
    assert_eq!(pb["drm"]["key_ids"], json!([KID_VIDEO, KID_AUDIO]));
    assert!(pb["expires_at"].as_u64().unwrap() > unix_now());
    let manifest_url = pb["manifest_url"].as_str().unwrap();
    assert!(
        manifest_url.starts_with(&format!("/v/{ASSET}/tok=st=")),
        "{manifest_url}"
    );
    assert!(manifest_url.contains(&format!("~id={sid}~")));
    assert!(manifest_url.ends_with("/manifest.mpd"));

    // The manifest, then a segment resolved relative to it, as a player does.
    let base = format!("{}{}", s.url(), manifest_url);
    let res = get(&base).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/dash+xml");
    assert_eq!(res.headers()["cache-control"], "public, max-age=5");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let mpd = res.text().await.unwrap();
    assert_eq!(
        mpd,
        std::fs::read_to_string(fixture_dir().join("manifest.mpd")).unwrap()
    );
    let seg_url = reqwest::Url::parse(&base)
        .unwrap()
        .join("video/seg_1.m4s")
        .unwrap();
    let res = get(seg_url.as_str()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "video/mp4");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let seg = std::fs::read(fixture_dir().join("video/seg_1.m4s")).unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), seg.as_slice());
    let audio = reqwest::Url::parse(&base)
        .unwrap()
        .join("audio/init.mp4")
        .unwrap();
    let res = get(audio.as_str()).await;
    assert_eq!(res.headers()["content-type"], "audio/mp4");
    let hls = reqwest::Url::parse(&base)
        .unwrap()
        .join("master.m3u8")
        .unwrap();
    let res = get(hls.as_str()).await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );

    // Range requests.
    let res = client()
        .get(seg_url.as_str())
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 100-199/{}", seg.len()).as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &seg[100..200]);
    let res = client()
        .get(seg_url.as_str())
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap().as_ref(), &seg[seg.len() - 10..]);
    let res = client()
        .get(seg_url.as_str())
        .header("range", format!("bytes={}-", seg.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    let res = client().head(seg_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["etag"].to_str().unwrap().starts_with('"'));
    assert!(res.headers().contains_key("last-modified"));
    assert_eq!(
        res.headers()["content-length"],
        seg.len().to_string().as_str()
    );

    // The same token as a query parameter and as a cookie.
    let token = manifest_url
        .split('/')
        .find_map(|p| p.strip_prefix("tok="))
        .unwrap()
        .to_string();
    let plain = format!("{}/v/{ASSET}/video/seg_2.m4s", s.url());
    assert_eq!(get(&format!("{plain}?tok={token}")).await.status(), 200);
    let res = client()
        .get(&plain)
        .header("cookie", format!("other=1; tok={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(get(&plain).await.status(), 403);

    // Never the key manifest nor any other non-media file, even with a valid token.
    let tokened = format!("{}/v/{ASSET}/tok={token}", s.url());
    for f in [
        "key-manifest.json",
        "README.md",
        "video/../key-manifest.json",
    ] {
        let status = raw_get(s.addr, &format!("/v/{ASSET}/tok={token}/{f}"));
        assert!(status == 404 || status == 400, "{f}: {status}");
    }
    assert_eq!(
        get(&format!("{tokened}/key-manifest.json")).await.status(),
        404
    );
    assert_eq!(
        get(&format!("{tokened}/video/missing.m4s")).await.status(),
        404
    );

    // The player page works without Shaka configured (it says so) and embeds an identity for
    // a same-origin load.
    let page = get(&format!("{}/", s.url())).await.text().await.unwrap();
    assert!(page.contains("\"identity_token\":\"vpid1."), "{page}");

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_start_refusals() {
    let (s, tmp) = server_with("refusals", |c, tmp| {
        let policy = tmp.join("policy.toml");
        std::fs::write(
            &policy,
            r#"
[assets.fixture_cenc]
plans = ["premium"]
subjects = ["bob"]
geo_allow = ["FR", "DE"]
geo_deny = ["DE"]
"#,
        )
        .unwrap();
        c.policy_path = Some(policy);
        c.policy_reload = vodpack_control::policy::ReloadOptions {
            poll_interval: std::time::Duration::from_millis(50),
            settle: std::time::Duration::from_millis(150),
        };
        c.country_header = Some("x-client-country".into());
    })
    .await;
    let body = json!({"asset_id": ASSET, "device": device()});
    let reason = |v: &Value| v["reason"].as_str().unwrap().to_string();
    let try_start = |auth: Option<String>, body: Value, country: Option<&'static str>| {
        let url = format!("{}/v1/playback/start", s.url());
        async move {
            let mut req = client().post(url).body(body.to_string());
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if let Some(c) = country {
                req = req.header("x-client-country", c);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };

    // 401: missing, tampered, expired, wrong audience, wrong kind of token.
    let (st, v) = try_start(None, body.clone(), Some("FR")).await;
    assert_eq!((st, reason(&v).as_str()), (401, "missing_token"));
    let good = bearer(&s, "alice", &["premium"]);
    let mut tampered = good.clone().into_bytes();
    let n = tampered.len();
    tampered[n - 5] ^= 1;
    let (st, _) = try_start(
        Some(String::from_utf8(tampered).unwrap()),
        body.clone(),
        Some("FR"),
    )
    .await;
    assert_eq!(st, 401);
    let expired = s
        .control
        .identity
        .issue("alice", &["premium"], unix_now() - 3600, 60);
    let (st, v) = try_start(Some(format!("Bearer {expired}")), body.clone(), Some("FR")).await;
    assert_eq!((st, reason(&v).as_str()), (401, "expired"));
    let other_aud = vodpack_control::identity::IdentityVerifier::new(
        vodpack_control::signed::Keyring::random("x"),
        "other",
    );
    let (st, _) = try_start(
        Some(format!(
            "Bearer {}",
            other_aud.issue("alice", &[], unix_now(), 60)
        )),
        body.clone(),
        Some("FR"),
    )
    .await;
    assert_eq!(st, 401);

    // 200 for an entitled plan in an allowed country; and for a listed subject.
    let (st, v) = try_start(Some(good.clone()), body.clone(), Some("FR")).await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = try_start(Some(bearer(&s, "bob", &[])), body.clone(), Some("fr")).await;
    assert_eq!(st, 200);

    // 403 with reasons.
    let (st, v) = try_start(
        Some(bearer(&s, "carol", &["basic"])),
        body.clone(),
        Some("FR"),
    )
    .await;
    assert_eq!((st, reason(&v).as_str()), (403, "not_entitled"));
    let (st, v) = try_start(Some(good.clone()), body.clone(), Some("US")).await;
    assert_eq!((st, reason(&v).as_str()), (403, "geo_blocked"));
    let (st, v) = try_start(Some(good.clone()), body.clone(), Some("DE")).await;
    assert_eq!((st, reason(&v).as_str()), (403, "geo_blocked"));
    let (st, v) = try_start(Some(good.clone()), body.clone(), None).await;
    assert_eq!((st, reason(&v).as_str()), (403, "geo_blocked"));
    let widevine_only = json!({"asset_id": ASSET, "device": {"platform": "tv", "protocols": ["dash"], "key_systems": ["com.widevine.alpha"], "schemes": ["cenc"]}});
    let (st, v) = try_start(Some(good.clone()), widevine_only, Some("FR")).await;
    assert_eq!((st, reason(&v).as_str()), (403, "unsupported_device"));
    let cbcs_only = json!({"asset_id": ASSET, "device": {"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cbcs"]}});
    let (st, v) = try_start(Some(good.clone()), cbcs_only, Some("FR")).await;
    assert_eq!((st, reason(&v).as_str()), (403, "unsupported_device"));

    // 404 and 400.
    let (st, v) = try_start(
        Some(good.clone()),
        json!({"asset_id": "nope", "device": device()}),
        Some("FR"),
    )
    .await;
    assert_eq!((st, reason(&v).as_str()), (404, "unknown_asset"));
    for bad in [
        json!({"asset_id": ASSET}),
        json!({"asset_id": ASSET, "device": device(), "extra": 1}),
        json!({"asset_id": "../x", "device": device()}),
        json!({"asset_id": ASSET, "device": {"platform": "web", "protocols": ["smooth"]}}),
        json!([1, 2]),
    ] {
        let (st, v) = try_start(Some(good.clone()), bad.clone(), Some("FR")).await;
        assert_eq!((st, reason(&v).as_str()), (400, "malformed_body"), "{bad}");
    }
    let res = client()
        .post(format!("{}/v1/playback/start", s.url()))
        .header("authorization", &good)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client()
        .post(format!("{}/v1/playback/start", s.url()))
        .header("authorization", &good)
        .body(vec![b' '; 20_000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    // The policy file is reloaded without restart (once it has been stable briefly).
    std::fs::write(
        tmp.join("policy.toml"),
        "[assets.fixture_cenc]\nplans = [\"basic\"]\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (st, v) = try_start(
            Some(bearer(&s, "carol", &["basic"])),
            body.clone(),
            Some("US"),
        )
        .await;
        if st == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not reloaded: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // An invalid edit keeps the last good policy.
    std::fs::write(tmp.join("policy.toml"), "[assets.fixture_cenc\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (st, _) = try_start(
        Some(bearer(&s, "carol", &["basic"])),
        body.clone(),
        Some("US"),
    )
    .await;
    assert_eq!(st, 200);

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_refuses_bad_tokens_and_paths() {
    let (s, tmp) = server_with("edge", |_, _| {}).await;
    let now = unix_now();
    let acl = format!("/v/{ASSET}/*");
    let token = s
        .control
        .edge
        .sign(now - 10, now + 600, &[&acl], Some("ps_x"), None)
        .unwrap();
    let ok = format!("/v/{ASSET}/tok={token}/video/seg_1.m4s");
    assert_eq!(raw_get(s.addr, &ok), 200);

    // Every byte of the token flipped (two different bits) is refused.
    let prefix = format!("/v/{ASSET}/tok=");
    let mut tried = 0;
    for i in 0..token.len() {
        for bit in [0x01u8, 0x02] {
            let mut b = token.clone().into_bytes();
            b[i] ^= bit;
            let Ok(t) = String::from_utf8(b) else {
                continue;
            };
            if t.bytes()
                .any(|c| !c.is_ascii_graphic() || c == b'/' || c == b'?' || c == b'#')
            {
                continue; // not a sendable request line
            }
            let status = raw_get(s.addr, &format!("{prefix}{t}/video/seg_1.m4s"));
            assert!(
                status == 403 || status == 400,
                "flip {bit:#x} at {i}: {status}"
            );
            tried += 1;
        }
    }
    assert!(tried > token.len(), "only {tried} variants sent");

    // Expired, not yet valid, wrong prefix, unknown key.
    let expired = s
        .control
        .edge
        .sign(now - 7200, now - 3600, &[&acl], None, None)
        .unwrap();
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={expired}/video/seg_1.m4s")),
        403
    );
    let future = s
        .control
        .edge
        .sign(now + 3600, now + 7200, &[&acl], None, None)
        .unwrap();
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={future}/video/seg_1.m4s")),
        403
    );
    let other = s
        .control
        .edge
        .sign(now, now + 600, &["/v/other_asset/*"], None, None)
        .unwrap();
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={other}/video/seg_1.m4s")),
        403
    );
    let narrow = s
        .control
        .edge
        .sign(
            now,
            now + 600,
            &[&format!("/v/{ASSET}/audio/*")],
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={narrow}/video/seg_1.m4s")),
        403
    );
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={narrow}/audio/seg_1.m4s")),
        200
    );
    let foreign =
        vodpack_control::edge_token::EdgeAuth::new(vodpack_control::signed::Keyring::random("e1"))
            .sign(now, now + 600, &[&acl], None, None)
            .unwrap();
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={foreign}/video/seg_1.m4s")),
        403
    );

    // Paths: traversal, encoded slash and dot, doubled slash, two tokens, oversized, malformed.
    for path in [
        format!("/v/{ASSET}/tok={token}/../{ASSET}/video/seg_1.m4s"),
        format!("/v/{ASSET}/tok={token}/video/../video/seg_1.m4s"),
        format!("/v/{ASSET}/tok={token}/video%2fseg_1.m4s"),
        format!("/v/{ASSET}/tok={token}/video%2Fseg_1.m4s"),
        format!("/v/{ASSET}/tok={token}/%2e%2e/key-manifest.json"),
        format!("/v/{ASSET}/tok={token}//video/seg_1.m4s"),
        format!("/v/{ASSET}/tok={token}/./video/seg_1.m4s"),
    ] {
        assert_eq!(raw_get(s.addr, &path), 400, "{path}");
    }
    assert_eq!(
        raw_get(
            s.addr,
            &format!("/v/{ASSET}/tok={token}/tok={token}/video/seg_1.m4s")
        ),
        403
    );
    let huge = format!("{token}{}", "a".repeat(2000));
    assert_eq!(
        raw_get(s.addr, &format!("/v/{ASSET}/tok={huge}/video/seg_1.m4s")),
        403
    );
    for bad in ["tok=", "tok=garbage", "tok=st=1~exp=2~hmac=00"] {
        assert_eq!(
            raw_get(s.addr, &format!("/v/{ASSET}/{bad}/video/seg_1.m4s")),
            403,
            "{bad}"
        );
    }
    // Reasons are machine-readable.
    let res = get(&format!(
        "{}/v/{ASSET}/tok={expired}/video/seg_1.m4s",
        s.url()
    ))
    .await;
    assert_eq!(res.json::<Value>().await.unwrap()["reason"], "expired");

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

/// Licence claims of a permissive start (subject, no plans, the test device, no country).
fn licence_claims() -> LicenceClaims {
    LicenceClaims {
        sid: "ps_1".into(),
        asset: ASSET.into(),
        exp: unix_now() + 60,
        sub: "alice".into(),
        plans: Vec::new(),
        device: serde_json::from_value(device()).unwrap(),
        country: None,
    }
}

fn kid_b64(hex_kid: &str) -> String {
    B64URL.encode(hex::decode(hex_kid).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearkey_licence() {
    let (s, tmp) = server_with("licence", |c, _| {
        c.allow_origins = vec!["https://app.example.test".into()];
    })
    .await;
    let pb = playback(&s).await;
    let url = format!("{}{}", s.url(), pb["drm"]["licence_url"].as_str().unwrap());
    assert_eq!(url, format!("{}/v1/licence/clearkey", s.url()));
    let token = pb["drm"]["licence_token"].as_str().unwrap().to_string();
    let body =
        json!({"kids": [kid_b64(KID_VIDEO), kid_b64(KID_AUDIO)], "type": "temporary"}).to_string();

    // Without a content type (Shaka, hls.js) and with JSON (dash.js); the token as a bearer.
    for content_type in [None, Some("application/json")] {
        let mut req = client()
            .post(&url)
            .header("authorization", format!("Bearer {token}"))
            .header("origin", "https://app.example.test")
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            "https://app.example.test"
        );
        let text = res.text().await.unwrap();
        assert!(
            !text.contains('=') && !text.contains('+') && !text.contains('/'),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "temporary");
        let keys = v["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for (k, (kid, key)) in keys
            .iter()
            .zip([(KID_VIDEO, KEY_VIDEO), (KID_AUDIO, KEY_AUDIO)])
        {
            assert_eq!(k["kty"], "oct");
            assert_eq!(k["kid"], kid_b64(kid));
            assert_eq!(
                B64URL.decode(k["k"].as_str().unwrap()).unwrap(),
                hex::decode(key).unwrap()
            );
        }
    }
    let res = client()
        .post(format!("{}/v1/licence/clearkey", s.url()))
        .header("authorization", format!("Bearer {token}"))
        .body(json!({"kids": [kid_b64(KID_AUDIO)]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // CORS preflight: answered for the allowed origin only.
    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let res = preflight("https://app.example.test").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.test"
    );
    assert!(res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    let res = preflight("http://example.test").await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    // The token travels in the Authorization header; `tok` below is the header's token.
    let post_with = |tok: Option<String>, body: String| {
        let base = format!("{}/v1/licence/clearkey", s.url());
        async move {
            let mut req = client().post(base).body(body);
            if let Some(t) = tok {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            (status, v["reason"].as_str().unwrap_or("").to_string())
        }
    };
    let post = |_url: String, body: String| post_with(Some(token.clone()), body);
    let base = format!("{}/v1/licence/clearkey", s.url());
    // Never in the URL (it would end up in logs).
    let (st, r) = {
        let res = client()
            .post(format!("{base}?token={token}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let st = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        (st, v["reason"].as_str().unwrap().to_string())
    };
    assert_eq!((st, r.as_str()), (400, "token_in_url"));
    // A KID of another asset; a token issued for another asset; expired; tampered; missing.
    let (st, r) = post(
        url.clone(),
        json!({"kids": [kid_b64("33333333333333333333333333333333")]}).to_string(),
    )
    .await;
    assert_eq!((st, r.as_str()), (403, "kid_not_in_asset"));
    let other = s.control.internal.sign(
        LICENCE_PURPOSE,
        &LicenceClaims {
            sid: "ps_1".into(),
            asset: "other_asset".into(),
            exp: unix_now() + 60,
            ..licence_claims()
        },
    );
    let (st, _) = post_with(Some(other), body.clone()).await;
    assert_eq!(st, 404);
    let expired = s.control.internal.sign(
        LICENCE_PURPOSE,
        &LicenceClaims {
            sid: "ps_1".into(),
            asset: ASSET.into(),
            exp: unix_now() - 1,
            ..licence_claims()
        },
    );
    let (st, r) = post_with(Some(expired), body.clone()).await;
    assert_eq!((st, r.as_str()), (401, "expired"));
    let session = s.control.internal.sign(
        SESSION_PURPOSE,
        &SessionClaims {
            sid: "ps_1".into(),
            asset: ASSET.into(),
            sub: "a".into(),
            iat: 0,
            exp: unix_now() + 60,
        },
    );
    let (st, r) = post_with(Some(session), body.clone()).await;
    assert_eq!((st, r.as_str()), (401, "wrong_token_kind"));
    let mut t = token.clone().into_bytes();
    t[10] ^= 1;
    let (st, _) = post_with(Some(String::from_utf8(t).unwrap()), body.clone()).await;
    assert_eq!(st, 401);
    let (st, r) = post_with(None, body.clone()).await;
    assert_eq!((st, r.as_str()), (401, "missing_token"));
    // Malformed and oversized bodies.
    for bad in [
        "",
        "{",
        "{\"kids\":[]}",
        "{\"kids\":[\"AAAA\"]}",
        "{\"kids\":\"x\"}",
    ] {
        let (st, _) = post(url.clone(), bad.to_string()).await;
        assert_eq!(st, 400, "{bad}");
    }
    let (st, r) = post(
        url.clone(),
        json!({"kids": [kid_b64(KID_VIDEO)], "type": "persistent-license"}).to_string(),
    )
    .await;
    assert_eq!((st, r.as_str()), (400, "unsupported_session_type"));
    let (st, _) = post(
        url.clone(),
        format!("{{\"kids\":[\"{}\"]}}", "A".repeat(20_000)),
    )
    .await;
    assert_eq!(st, 413);

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_events() {
    let (s, tmp) = server_with("events", |_, _| {}).await;
    let pb = playback(&s).await;
    let session = pb["telemetry"]["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}{}", s.url(), pb["telemetry"]["url"].as_str().unwrap());
    let now_ms = (unix_now() * 1000) as i64;
    let ev = |id: &str, seq: u64, kind: &str| json!({"session_token": session, "event_id": id, "seq": seq, "type": kind, "ts": now_ms, "position": 1.5});
    let post = |body: String| {
        let url = url.clone();
        async move {
            let res = client().post(url).body(body).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let mut quality = ev("e3", 3, "quality_change");
    quality["bitrate"] = json!(180292);
    quality["width"] = json!(320);
    quality["height"] = json!(180);
    quality["cmcd"] = json!({"br": 180, "bl": 2000, "sid": "abc", "com.example-x": "y"});
    let mut error = ev("e4", 4, "error");
    error["error_code"] = json!("6012");
    let mut seek = ev("e5", 5, "seek");
    seek["from_position"] = json!(0.5);
    let batch = json!({"events": [ev("e1", 1, "start"), ev("e2", 2, "play"), quality, error, seek, ev("e6", 6, "end")]});
    let (st, v) = post(batch.to_string()).await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["accepted"], 6);
    // Durable before the answer: the file holds the lines now.
    let events_path = s.events_path.clone().unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(&events_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["schema_version"], 1);
    assert_eq!(lines[0]["session_id"], pb["session_id"]);
    assert_eq!(lines[0]["asset_id"], ASSET);
    assert_eq!(lines[2]["event"]["type"], "quality_change");
    assert!(lines[0]["event"].get("session_token").is_none());
    // Re-sent events are accepted but not written twice.
    let (st, v) =
        post(json!({"events": [ev("e1", 1, "start"), ev("e7", 7, "pause")]}).to_string()).await;
    assert_eq!(
        (st, v["accepted"].clone(), v["duplicates"].clone()),
        (202, json!(1), json!(1))
    );
    assert_eq!(
        std::fs::read_to_string(&events_path)
            .unwrap()
            .lines()
            .count(),
        7
    );

    // Refusals, each with a reason.
    let forged = {
        let mut t = session.clone().into_bytes();
        let n = t.len();
        t[n - 3] ^= 1;
        String::from_utf8(t).unwrap()
    };
    let mut cases: Vec<(Value, &str)> = Vec::new();
    cases.push((
        json!({"events": [ev("x1", 1, "teleport")]}),
        "invalid_event",
    ));
    let mut no_session = ev("x2", 1, "play");
    no_session.as_object_mut().unwrap().remove("session_token");
    cases.push((json!({"events": [no_session]}), "invalid_session"));
    let mut forged_ev = ev("x3", 1, "play");
    forged_ev["session_token"] = json!(forged);
    cases.push((json!({"events": [forged_ev]}), "invalid_session"));
    for (field, value) in [
        ("position", json!(-1.0)),
        ("position", json!(1e9)),
        ("ts", json!(now_ms + 3_600_000)),
        ("ts", json!(now_ms - 3 * 86_400_000)),
        ("event_id", json!("")),
        ("bitrate", json!(5000)),
    ] {
        let mut e = ev("x4", 1, "play");
        e[field] = value;
        cases.push((json!({"events": [e]}), "invalid_event"));
    }
    let mut absurd = ev("x5", 1, "quality_change");
    absurd["bitrate"] = json!(5_000_000_000u64);
    absurd["width"] = json!(320);
    absurd["height"] = json!(180);
    cases.push((json!({"events": [absurd]}), "invalid_event"));
    let mut bad_cmcd = ev("x6", 1, "play");
    bad_cmcd["cmcd"] = json!({"zz": 1});
    cases.push((json!({"events": [bad_cmcd]}), "invalid_event"));
    let mut unknown_field = ev("x7", 1, "play");
    unknown_field["extra"] = json!(1);
    cases.push((json!({"events": [unknown_field]}), "malformed_body"));
    cases.push((json!({"events": []}), "bad_batch_size"));
    let many: Vec<Value> = (0..101)
        .map(|i| ev(&format!("m{i}"), i, "heartbeat"))
        .collect();
    cases.push((json!({"events": many}), "bad_batch_size"));
    cases.push((json!({"nope": 1}), "malformed_body"));
    for (body, reason) in &cases {
        let (st, v) = post(body.to_string()).await;
        assert_eq!(
            (st, v["reason"].as_str().unwrap()),
            (400, *reason),
            "{body}"
        );
    }
    let (st, v) = post("x".repeat(70_000)).await;
    assert_eq!((st, v["reason"].as_str().unwrap()), (413, "body_too_large"));
    // Nothing of the refused batches reached the sink; they went to the dead-letter file.
    assert_eq!(
        std::fs::read_to_string(&events_path)
            .unwrap()
            .lines()
            .count(),
        7
    );
    // Only the authenticated refusals are dead-lettered (10 of them), without any token.
    let rejected = std::fs::read_to_string(format!("{}.rejected", events_path.display())).unwrap();
    assert_eq!(rejected.lines().count(), 10, "{rejected}");
    assert!(!rejected.contains("vps1."), "{rejected}");
    for line in rejected.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["session_id"], pb["session_id"]);
        assert!(!v["reason"].as_str().unwrap().is_empty());
    }

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

/// `GET /v1/licence/key/<kid>`: the raw key an HLS-over-TS playlist's `#EXT-X-KEY` names (the
/// default `--hls-key-uri`), released with the Clear Key licence's checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_key_for_hls_over_ts() {
    let (s, tmp) = server_with("raw-key", |_, _| {}).await;
    let pb = playback(&s).await;
    let token = pb["drm"]["licence_token"].as_str().unwrap().to_string();
    let get_key = |kid: &str, tok: Option<String>| {
        let url = format!("{}/v1/licence/key/{kid}", s.url());
        async move {
            let mut req = client().get(url);
            if let Some(t) = tok {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let cache = res
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_string());
            let body = res.bytes().await.unwrap().to_vec();
            (status, cache, body)
        }
    };
    let reason = |body: &[u8]| -> String {
        let v: Value = serde_json::from_slice(body).unwrap();
        v["reason"].as_str().unwrap_or("").to_string()
    };
    for (kid, key) in [(KID_VIDEO, KEY_VIDEO), (KID_AUDIO, KEY_AUDIO)] {
        let (st, cache, body) = get_key(kid, Some(token.clone())).await;
        assert_eq!(st, 200);
        assert_eq!(cache.as_deref(), Some("no-store"));
        assert_eq!(body, hex::decode(key).unwrap());
    }
    // Refused: no token; a KID of another asset; a token of another asset; expired; forged
    // (one bit flipped); a session token; the token in the URL; a malformed KID.
    let (st, _, b) = get_key(KID_VIDEO, None).await;
    assert_eq!((st, reason(&b).as_str()), (401, "missing_token"));
    let (st, _, b) = get_key("33333333333333333333333333333333", Some(token.clone())).await;
    assert_eq!((st, reason(&b).as_str()), (403, "kid_not_in_asset"));
    let sign = |claims: LicenceClaims| s.control.internal.sign(LICENCE_PURPOSE, &claims);
    let other = sign(LicenceClaims {
        asset: "other_asset".into(),
        ..licence_claims()
    });
    let (st, _, b) = get_key(KID_VIDEO, Some(other)).await;
    assert_eq!((st, reason(&b).as_str()), (404, "unknown_asset"));
    let expired = sign(LicenceClaims {
        exp: unix_now() - 1,
        ..licence_claims()
    });
    let (st, _, b) = get_key(KID_VIDEO, Some(expired)).await;
    assert_eq!((st, reason(&b).as_str()), (401, "expired"));
    let mut forged = token.clone().into_bytes();
    forged[10] ^= 1;
    let (st, _, b) = get_key(KID_VIDEO, Some(String::from_utf8(forged).unwrap())).await;
    assert_eq!(st, 401, "{}", reason(&b));
    let session = s.control.internal.sign(
        SESSION_PURPOSE,
        &SessionClaims {
            sid: "ps_1".into(),
            asset: ASSET.into(),
            sub: "a".into(),
            iat: 0,
            exp: unix_now() + 60,
        },
    );
    let (st, _, b) = get_key(KID_VIDEO, Some(session)).await;
    assert_eq!((st, reason(&b).as_str()), (401, "wrong_token_kind"));
    let res = client()
        .get(format!(
            "{}/v1/licence/key/{KID_VIDEO}?token={token}",
            s.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (st, _, b) = get_key("xyz", Some(token.clone())).await;
    assert_eq!((st, reason(&b).as_str()), (400, "bad_kid"));

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}
