//! vodpack control plane: the companion library of the packager.
//!
//! A backend service depends on this crate alone (light dependencies by default) to read the key
//! manifest that `vodpack package` writes (`key_manifest`). The HTTP server behind `vodpack serve`
//! is behind the `server` cargo feature.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod key_manifest;

pub use error::{Error, Result};
pub use key_manifest::{
    DrmSystemEntry, KeyEntry, KeyManifest, ManifestPaths, PsshEntry, RenditionEntry,
    KEY_MANIFEST_SCHEMA_VERSION,
};
