//! The playback decisions: the key manifest a packaged asset comes with ([`key_manifest`]), the
//! policy that entitles a viewer and picks protocol, scheme and key system ([`policy`]), the
//! operations that answer playback start and Clear Key licence requests ([`api`]), and the
//! session check of telemetry batches ([`session_events`]). Uses `tokens` and `telemetry`.

pub mod api;
pub mod key_manifest;
pub mod policy;
pub mod session_events;
