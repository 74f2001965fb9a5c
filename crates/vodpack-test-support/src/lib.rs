//! The test harness that both integration-test binaries need: the root crate's `suite`
//! (tests/suite) and the control crate's `control` (crates/vodpack-control/tests/control). Each
//! binary runs all its topics as threads of one process, so the locks that keep Chromium runs and
//! heavy measurements apart ([`browser_slot`], [`heavy_slot`]) are here once instead of in both
//! harnesses, and so is what a browser test needs before it starts (Chromium, node, the npm
//! packages of tests/serve) and how it runs tests/serve/play.mjs.
//!
//! std only, `publish = false`: a `[dev-dependencies]` path dependency of both crates. Its statics
//! are per test binary (each binary links its own copy), which is what "one Chromium at a time in
//! the whole binary" means. Helpers only one binary uses stay in that binary's `common.rs`.

mod browser;
mod gate;

pub use browser::{
    browser_requirements, chromium, node, play_page, serve_driver, system_tool, workspace_root,
};
pub use gate::{browser_slot, heavy_slot, Gate, Permit};
