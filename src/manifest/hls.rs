//! HLS playlists (RFC 8216), written as text. (Stub: owned by the manifests work.)
