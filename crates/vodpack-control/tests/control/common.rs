//! The control tests' shared harness. Tests of every module run as threads of one process, so
//! Chromium runs and memory measurements take a slot ([`browser_slot`], [`heavy_slot`], from
//! crates/vodpack-test-support, which the root crate's suite shares) instead of relying on
//! running in a binary of their own.

pub use vodpack_test_support::{browser_slot, heavy_slot};
