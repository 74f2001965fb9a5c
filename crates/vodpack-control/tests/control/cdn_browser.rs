//! Headless Chromium plays the encrypted fixture through `vodpack serve` in each CDN mode
//! (Akamai, CloudFront, Media CDN) with Shaka Player, DASH and HLS: the page's playback start
//! sets the CDN's signed cookies for the asset prefix, the manifest URL carries the CDN's
//! signature, and every segment request is verified in that CDN's format. The session TTL is
//! short (15 s): once it has passed, the very manifest query the browser used and the cookies
//! are refused as expired. With `delivery = "query"` (no cookies), the page appends the playback
//! answer's `edge.query` (Akamai `__token__=`) to every manifest and segment request. Needs what
//! browser.rs needs (tests/serve npm packages, node, Chromium; common::browser_test checks them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vodpack_control::api::unix_now;
use vodpack_control::cdn::playback::{CdnEdge, CdnMode};
use vodpack_control::serve::start;

use crate::common::{browser_test, cenc_fixture, play, player_config};

const TTL: u64 = 15;

fn config(dir: &Path) -> PathBuf {
    config_with(dir, "")
}

/// The config with `top` (top-level settings) first.
fn config_with(dir: &Path, top: &str) -> PathBuf {
    let cdn = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdn");
    std::fs::copy(cdn.join("cloudfront-test-1.pem"), dir.join("cf.pem")).unwrap();
    let keys = std::fs::read_to_string(cdn.join("mediacdn-test-keys.txt")).unwrap();
    let seed = keys
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .find_map(|f| f.strip_prefix("private="))
        .unwrap();
    let p = dir.join("cdn.toml");
    std::fs::write(
        &p,
        format!(
            "{top}\n[akamai]\nkeys = [\"7d3a7d3a7d3a7d3a7d3a7d3a7d3a7d3a\"]\n\
             [cloudfront]\nkey_pair_id = \"KTEST1\"\nprivate_key = \"cf.pem\"\n\
             [mediacdn]\nkey_name = \"mediacdn-test-1\"\nprivate_key = \"{seed}\"\n"
        ),
    )
    .unwrap();
    p
}

/// One play.mjs run of the page in `protocol` (dash or hls), 20 s budget.
async fn play_protocol(url: String, protocol: &'static str) -> Value {
    play(url, "play", 20000, Some(json!({ "protocol": protocol }))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_through_each_cdn_format_until_the_tokens_expire() {
    let (_slot, tmp) = browser_test("cdn-browser");
    let cfg = config(&tmp);
    let policy = tmp.join("policy.toml");
    std::fs::write(
        &policy,
        format!("session_ttl_secs = {TTL}\n[default]\nplans = [\"*\"]\n"),
    )
    .unwrap();
    let fixture = cenc_fixture();
    let started = std::time::Instant::now();
    // (server, manifest request URL the browser used, its expiry)
    let mut used = Vec::new();
    for mode in [CdnMode::Akamai, CdnMode::Cloudfront, CdnMode::Mediacdn] {
        for protocol in ["dash", "hls"] {
            let mut c = player_config(
                fixture.clone(),
                tmp.join(format!("{}-{protocol}.ndjson", mode.name())),
            );
            c.policy_path = Some(policy.clone());
            c.cdn = Some(Arc::new(CdnEdge::load(mode, &cfg).unwrap()));
            let server = start(c).await.unwrap();
            let t0 = unix_now();
            let r = play_protocol(format!("{}/", server.url()), protocol).await;
            let ctx = format!(
                "{mode:?} {protocol}: {}",
                serde_json::to_string(&r["network"]).unwrap()
            );
            assert_ne!(r["state"], "error", "{ctx} {}", r["log"]);
            assert_eq!(r["protocol"], protocol, "{ctx}");
            assert!(r["playedBeforeSeek"].as_f64().unwrap() > 1.5, "{ctx}");
            assert!(r["playedAfterSeek"].as_f64().unwrap() > 1.0, "{ctx}");
            let net = r["network"].as_array().unwrap();
            let media: Vec<&Value> = net
                .iter()
                .filter(|n| n["path"].as_str().unwrap().starts_with("/v/fixture_cenc/"))
                .collect();
            assert!(
                media
                    .iter()
                    .all(|n| matches!(n["status"].as_u64(), Some(200 | 206))),
                "{ctx}"
            );
            // Segments came through the origin without any token in the path.
            assert!(
                media
                    .iter()
                    .filter(|n| n["path"].as_str().unwrap().ends_with(".m4s"))
                    .count()
                    >= 2,
                "{ctx}"
            );
            assert!(
                media
                    .iter()
                    .all(|n| !n["path"].as_str().unwrap().contains("tok=")),
                "{ctx}"
            );
            let manifest = media
                .iter()
                .find(|n| {
                    n["path"]
                        .as_str()
                        .unwrap()
                        .ends_with(if protocol == "dash" {
                            ".mpd"
                        } else {
                            "master.m3u8"
                        })
                })
                .unwrap_or_else(|| panic!("no manifest request: {ctx}"));
            let url = format!(
                "{}{}{}",
                server.url(),
                manifest["path"].as_str().unwrap(),
                manifest["query"].as_str().unwrap()
            );
            match mode {
                CdnMode::Akamai => assert!(url.contains("?__token__=exp="), "{url}"),
                CdnMode::Cloudfront => assert!(url.contains("?Policy="), "{url}"),
                CdnMode::Mediacdn => assert!(url.contains("?URLPrefix="), "{url}"),
            }
            used.push((server, url, t0 + TTL, format!("{mode:?} {protocol}")));
        }
    }
    eprintln!("6 playbacks in {:.1} s", started.elapsed().as_secs_f64());
    let last = used.iter().map(|u| u.2).max().unwrap();
    let wait = (last + 5).saturating_sub(unix_now());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    for (server, url, _, what) in used {
        let res = crate::common::http_client()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            (status, body["reason"].as_str()),
            (403, Some("expired")),
            "{what}: {url}"
        );
        server.shutdown().await.unwrap();
    }
    eprintln!("whole test {:.1} s", started.elapsed().as_secs_f64());
    std::fs::remove_dir_all(tmp).ok();
}

/// Akamai with `delivery = "query"`: the answer has no cookies and serve sets none, so every
/// segment request authorises itself by the `__token__` query the page appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_akamai_by_query_without_cookies() {
    let (_slot, tmp) = browser_test("cdn-browser-q");
    let cfg = config_with(&tmp, "delivery = \"query\"");
    let policy = tmp.join("policy.toml");
    std::fs::write(
        &policy,
        "session_ttl_secs = 120\n[default]\nplans = [\"*\"]\n",
    )
    .unwrap();
    let fixture = cenc_fixture();
    for protocol in ["dash", "hls"] {
        let mut c = player_config(fixture.clone(), tmp.join(format!("q-{protocol}.ndjson")));
        c.policy_path = Some(policy.clone());
        c.cdn = Some(Arc::new(CdnEdge::load(CdnMode::Akamai, &cfg).unwrap()));
        let server = start(c).await.unwrap();
        let r = play_protocol(format!("{}/", server.url()), protocol).await;
        let ctx = format!(
            "{protocol}: {}",
            serde_json::to_string(&r["network"]).unwrap()
        );
        assert_ne!(r["state"], "error", "{ctx} {}", r["log"]);
        assert!(r["playedBeforeSeek"].as_f64().unwrap() > 1.5, "{ctx}");
        assert!(r["playedAfterSeek"].as_f64().unwrap() > 1.0, "{ctx}");
        let net = r["network"].as_array().unwrap();
        let media: Vec<&Value> = net
            .iter()
            .filter(|n| n["path"].as_str().unwrap().starts_with("/v/fixture_cenc/"))
            .collect();
        assert!(
            media
                .iter()
                .all(|n| matches!(n["status"].as_u64(), Some(200 | 206))),
            "{ctx}"
        );
        let segments: Vec<&&Value> = media
            .iter()
            .filter(|n| n["path"].as_str().unwrap().ends_with(".m4s"))
            .collect();
        assert!(segments.len() >= 2, "{ctx}");
        // Every media request (manifests, playlists, segments) carries the token as a query.
        assert!(
            media.iter().all(|n| n["query"]
                .as_str()
                .unwrap_or("")
                .starts_with("?__token__=exp=")),
            "{ctx}"
        );
        server.shutdown().await.unwrap();
    }
    std::fs::remove_dir_all(tmp).ok();
}
