//! The control crate's integration tests: one test binary (`cargo test --release --all-features
//! -p vodpack-control --test control`), one module per topic, and the shared harness in `common`
//! (the locks that keep Chromium runs and memory measurements apart, the fixture, scratch folders,
//! the browser tests' setup; the locks come from crates/vodpack-test-support). Each module keeps the
//! features it always needed (`server`, and `kafka` for the telemetry sink); without them it is
//! left out of the build, as its binary used to be.

#[cfg(feature = "server")]
mod common;

#[cfg(feature = "server")]
mod attacks;
#[cfg(feature = "server")]
mod browser;
#[cfg(feature = "server")]
mod cdn_browser;
mod cdn_judges;
#[cfg(feature = "server")]
mod cdn_serve;
#[cfg(feature = "server")]
mod http;
#[cfg(all(feature = "kafka", feature = "server"))]
mod kafka;
#[cfg(feature = "server")]
mod origin_memory;
#[cfg(feature = "server")]
mod player_page;
