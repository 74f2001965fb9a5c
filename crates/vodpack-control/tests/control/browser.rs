//! Headless Chromium plays the encrypted fixture through `vodpack serve`: the page calls playback
//! start, Shaka Player loads the DASH manifest through the token-checking origin with the Clear
//! Key licence from the licence endpoint, and its telemetry lands in the NDJSON sink. A second run
//! with a wrong key in the key manifest must fail to play: decryption really happens.
//! The page's Shaka Player is the one embedded in the binary. Needs node, /usr/bin/chromium (or
//! `$CHROMIUM`) and playwright-core (`npm ci --prefix tests/serve --no-audit --no-fund`, the
//! driver); common::browser_test checks them.

use std::path::PathBuf;

use serde_json::Value;
use vodpack_control::serve::start;

use crate::common::{browser_test, cenc_fixture, copy_dir, play, player_config};

async fn serve(out_dir: PathBuf, events: PathBuf) -> vodpack_control::serve::Server {
    start(player_config(out_dir, events)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_the_encrypted_fixture_and_reports_telemetry() {
    let (_slot, tmp) = browser_test("browser-play");
    let events = tmp.join("events.ndjson");
    let fixture = cenc_fixture();
    let server = serve(fixture.clone(), events.clone()).await;
    let r = play(format!("{}/", server.url()), "play", 30000, None).await;
    eprintln!("right key: {r}");
    assert_ne!(r["state"], "error", "{r}");
    assert!(r["playedBeforeSeek"].as_f64().unwrap() > 1.5, "{r}");
    assert!(r["playedAfterSeek"].as_f64().unwrap() > 1.0, "{r}");
    let session = r["sessionId"].as_str().unwrap().to_string();
    server.shutdown().await.unwrap();

    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["event"]["type"].as_str().unwrap())
        .collect();
    assert!(
        lines.iter().all(|l| l["session_id"] == session.as_str()),
        "{lines:?}"
    );
    for t in ["start", "play", "seek"] {
        assert!(types.contains(&t), "no {t} event in {types:?}");
    }
    assert!(!types.contains(&"error"), "{types:?}");

    // The same page with a wrong key in the key manifest must not play.
    let wrong = tmp.join("wrong-key");
    copy_dir(&fixture, &wrong);
    // The key manifest lives beside the folder (`<OUT>.keys.json`).
    let km =
        std::fs::read_to_string(vodpack_control::key_manifest::default_path(&fixture)).unwrap();
    std::fs::write(
        vodpack_control::key_manifest::default_path(&wrong),
        km.replace(
            "00112233445566778899aabbccddeeff",
            "0f112233445566778899aabbccddeeff",
        ),
    )
    .unwrap();
    let server = serve(wrong, tmp.join("events-wrong.ndjson")).await;
    let r = play(format!("{}/", server.url()), "fail", 30000, None).await;
    eprintln!("wrong key: {r}");
    assert_eq!(
        r["state"], "error",
        "a wrong key must make playback fail: {r}"
    );
    // Shaka's VIDEO_ERROR: the media element failed to decode, i.e. decryption produced garbage.
    assert_eq!(r["error"], "3016", "{r}");
    server.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}
