//! The control tests' shared harness. Tests of every module run as threads of one process, so
//! Chromium runs and memory measurements take a slot ([`browser_slot`], [`heavy_slot`], from
//! crates/vodpack-test-support, which the root crate's suite shares) instead of relying on
//! running in a binary of their own. Also here: the encrypted fixture, scratch folders, and the
//! setup the browser tests (browser, cdn_browser) share: their requirements, the player page's
//! serve config, and one run of tests/serve/play.mjs.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vodpack_control::serve::{ServeConfig, ServeKeys};
pub use vodpack_test_support::{browser_slot, heavy_slot, Permit};

/// The encrypted fixture the serve tests use (Shaka Packager output, cenc), with its key
/// manifest beside it (`cenc-shaka.keys.json`).
pub fn cenc_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cenc-shaka")
}

/// A fresh folder `vodpack-<tag>-<random>` in the system's temp dir (the test removes it at the
/// end).
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vodpack-{tag}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Copies the folder `from` to `to`, recursively (a private copy of a fixture to change).
pub fn copy_dir(from: &Path, to: &Path) {
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

/// Starts a browser test: waits for the one browser slot, checks Chromium, node and the page's
/// driver (playwright-core in tests/serve), and makes a scratch folder `vodpack-<tag>-<random>`.
/// Answers the permit (bind it to a named variable such as `_slot` for the whole test, not to
/// `_`, which drops it at once) and the scratch folder.
pub fn browser_test(tag: &str) -> (Permit, PathBuf) {
    let slot = browser_slot();
    vodpack_test_support::serve_driver();
    vodpack_test_support::browser_requirements();
    (slot, temp_dir(tag))
}

/// The serve config of a browser test: `out` on a free loopback port, fresh random keys, the
/// player page with its embedded players, telemetry into `events`.
pub fn player_config(out: PathBuf, events: PathBuf) -> ServeConfig {
    let mut config = ServeConfig::new(out);
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.events_path = Some(events);
    config
}

/// Runs tests/serve/play.mjs against the player page at `url` (expecting `expect`, "play" or
/// "fail", within `timeout_ms`, with page `options` when given) in a blocking thread, so the
/// server keeps running on the test's runtime; answers the script's JSON report.
pub async fn play(
    url: String,
    expect: &'static str,
    timeout_ms: u32,
    options: Option<Value>,
) -> Value {
    let stdout = tokio::task::spawn_blocking(move || {
        let options = options.map(|o| o.to_string());
        vodpack_test_support::play_page(&url, expect, timeout_ms, options.as_deref())
    })
    .await
    .unwrap();
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// A reqwest client builder for the tests. In a workspace build reqwest has the root crate's
/// `rustls-no-provider` feature (object storage), so a rustls crypto provider must be installed
/// before any client is built, even one that speaks plain HTTP only.
pub fn http_client() -> reqwest::ClientBuilder {
    // ring's provider, as src/storage/store.rs installs it (deprecated only for lacking
    // post-quantum key exchange; these clients speak plain HTTP to loopback).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
