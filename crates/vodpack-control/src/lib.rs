//! vodpack control plane: the companion library of the packager.
//!
//! A backend service depends on this crate alone (light dependencies by default) for:
//! - [`key_manifest`]: the key manifest that `vodpack package` writes (shared schema types);
//! - [`identity`]: HMAC-signed identity bearer tokens;
//! - [`policy`]: entitlement, geo and device choice, with a reloading policy file;
//! - [`api`]: playback start and the W3C Clear Key licence, HTTP-stack independent;
//! - [`edge_token`]: vodpack's own signed URLs (EdgeAuth 2.0 layout plus a key id; `vodpack` mode);
//! - [`cdn`]: signed URLs and cookies in Akamai's, CloudFront's and Media CDN's native formats;
//! - [`telemetry`]: strict validation of player events and the event sink trait.
//!
//! The HTTP server behind `vodpack serve` is the `server` feature ([`serve`]); the Kafka sink is
//! the `kafka` feature.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod cdn;
pub mod edge_token;
pub mod error;
pub mod identity;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod key_manifest;
#[cfg(feature = "server")]
mod listener;
#[cfg(feature = "server")]
pub mod origin;
#[cfg(feature = "server")]
pub mod player_assets;
pub mod policy;
#[cfg(feature = "server")]
pub mod serve;
pub mod signed;
pub mod telemetry;

pub use error::{Error, Result};
pub use key_manifest::{
    DrmSystemEntry, KeyEntry, KeyManifest, ManifestPaths, PsshEntry, RenditionEntry,
    KEY_MANIFEST_SCHEMA_VERSION,
};
