//! vodpack control plane: the companion library of the packager.
//!
//! A backend service depends on this crate alone (light dependencies by default). Its rooms, each
//! importing only the ones listed before it (`error` is shared by all):
//! - [`tokens`]: what is signed and verified: [`signed`] HMAC claim tokens with key ids,
//!   [`identity`] bearer tokens, [`edge_token`] (vodpack's own signed URLs, EdgeAuth 2.0 layout
//!   plus a key id) and [`cdn`] (Akamai's, CloudFront's and Media CDN's native formats);
//! - [`telemetry`]: player events, their strict rules, the event sink trait and the NDJSON file
//!   sink (the Kafka sink is the `kafka` feature);
//! - [`playback`]: the decisions: [`key_manifest`] (the file `vodpack package` writes, shared
//!   schema types), [`policy`] (entitlement, geo and device choice, a reloading policy file),
//!   [`api`] (playback start and the W3C Clear Key licence, HTTP-stack independent) and the
//!   session check of telemetry batches;
//! - `http` (the `server` feature): the server behind `vodpack serve`: routes, the
//!   token-checking origin, the connection loop.
//!
//! Each module is also reachable at the crate root (`vodpack_control::key_manifest`, ...), the
//! paths the packager, the tests and backends use.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
#[cfg(feature = "server")]
pub mod http;
pub mod playback;
pub mod telemetry;
pub mod tokens;

#[cfg(feature = "server")]
pub use http::{origin, player_assets, serve};
pub use playback::{api, key_manifest, policy};
#[cfg(feature = "kafka")]
pub use telemetry::kafka;
pub use tokens::{cdn, edge_token, identity, signed};

pub use error::{Error, Result};
pub use key_manifest::{
    DrmSystemEntry, KeyEntry, KeyManifest, ManifestPaths, PsshEntry, RenditionEntry,
    KEY_MANIFEST_SCHEMA_VERSION,
};
