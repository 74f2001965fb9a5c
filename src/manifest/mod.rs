//! Manifests written from what the packager produced (the `model`), never from the muxer's
//! internals: HLS playlists as text, the DASH MPD with quick-xml.
pub mod dash;
pub mod drm;
pub mod hls;
pub mod model;
