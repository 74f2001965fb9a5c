//! What a browser test needs before it starts and how it drives the `vodpack serve` player page:
//! Chromium (`$CHROMIUM` or /usr/bin/chromium, the path tests/serve/play.mjs and
//! tests/browser/run.mjs launch too), node, playwright-core in tests/serve (the driver; the
//! page's players are embedded in `vodpack serve`), and one run of tests/serve/play.mjs. A
//! missing piece fails the test with the command that installs it (scripts/test.sh runs them
//! all), never a silent pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (where the root Cargo.toml, tests/serve and scripts/ live).
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        here.canonicalize().unwrap_or(here)
    })
}

/// A system tool the tests need (xmllint, node): fails with how to install it when missing.
pub fn system_tool(name: &str, install_hint: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found on PATH: {install_hint} (scripts/test.sh does)")
        })
}

/// node on PATH, for the player harnesses (tests/browser/run.mjs, tests/serve/play.mjs).
pub fn node() -> PathBuf {
    system_tool("node", "apt-get install nodejs npm")
}

/// The Chromium the player harnesses launch: `$CHROMIUM`, or /usr/bin/chromium.
pub fn chromium() -> PathBuf {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.is_file(),
        "browser test: Chromium is missing at {}: apt-get install chromium (scripts/test.sh does), or set $CHROMIUM",
        chromium.display()
    );
    chromium
}

/// Checks that a browser test can start: Chromium and node are there.
pub fn browser_requirements() {
    chromium();
    node();
}

/// Checks that tests/serve/play.mjs can drive Chromium: playwright-core in tests/serve/node_modules.
/// The player page needs nothing installed: `vodpack serve` embeds its players.
pub fn serve_driver() {
    let serve = workspace_root().join("tests/serve");
    assert!(
        serve.join("node_modules/playwright-core").is_dir(),
        "browser test: run `npm ci --prefix tests/serve --no-audit --no-fund` (playwright-core, the test driver) first (scripts/test.sh does)"
    );
}

/// Runs tests/serve/play.mjs: headless Chromium opens the player page of the `vodpack serve` at
/// `url`, expecting it to `expect` ("play" or "fail") within `timeout_ms`, with `options` (a JSON
/// object of page options, e.g. the protocol) when given. Answers the script's stdout, whose last
/// line is its JSON report; panics with stdout and stderr when the script fails.
pub fn play_page(url: &str, expect: &str, timeout_ms: u32, options: Option<&str>) -> String {
    let script = workspace_root().join("tests/serve/play.mjs");
    let mut cmd = Command::new(node());
    cmd.arg(&script)
        .arg(url)
        .arg(expect)
        .arg(timeout_ms.to_string());
    if let Some(options) = options {
        cmd.arg(options);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run node {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "play.mjs failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
