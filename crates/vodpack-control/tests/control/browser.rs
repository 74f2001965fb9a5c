//! Headless Chromium plays the encrypted fixture through `vodpack serve`: the page calls playback
//! start, Shaka Player loads the DASH manifest through the token-checking origin with the Clear
//! Key licence from the licence endpoint, and its telemetry lands in the NDJSON sink. A second run
//! with a wrong key in the key manifest must fail to play: decryption really happens.
//! Needs `npm install --prefix tests/serve --no-audit --no-fund` (playwright-core, shaka-player) and /usr/bin/chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use vodpack_control::serve::{start, ServeConfig, ServeKeys};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn requirements() -> PathBuf {
    let serve = repo().join("tests/serve");
    let dist = serve.join("node_modules/shaka-player/dist");
    assert!(
        dist.join("shaka-player.compiled.js").is_file()
            && serve.join("node_modules/playwright-core").is_dir(),
        "browser test: run `npm install --prefix tests/serve --no-audit --no-fund` (playwright-core, shaka-player) first"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "browser test: Chromium is missing at {chromium}"
    );
    assert!(
        Command::new("node").arg("--version").output().is_ok(),
        "browser test: node is missing"
    );
    dist
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vodpack-browser-{tag}-{:016x}",
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Runs play.mjs in a blocking thread (the server keeps running on the test's runtime).
async fn play(url: String, expect: &'static str) -> Value {
    let script = repo().join("tests/serve/play.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(url)
            .arg(expect)
            .arg("30000")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "play.mjs failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn serve(out_dir: PathBuf, dist: PathBuf, events: PathBuf) -> vodpack_control::serve::Server {
    let mut config = ServeConfig::new(out_dir);
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.player_dist_dir = Some(dist);
    config.events_path = Some(events);
    start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_the_encrypted_fixture_and_reports_telemetry() {
    let _slot = crate::common::browser_slot();
    let dist = requirements();
    let tmp = temp_dir("play");
    let events = tmp.join("events.ndjson");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cenc-shaka");
    let server = serve(fixture.clone(), dist.clone(), events.clone()).await;
    let r = play(format!("{}/", server.url()), "play").await;
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
    let server = serve(wrong, dist, tmp.join("events-wrong.ndjson")).await;
    let r = play(format!("{}/", server.url()), "fail").await;
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
