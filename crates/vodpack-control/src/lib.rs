//! vodpack control plane (key manifest types live in `key_manifest`).
pub mod key_manifest;
