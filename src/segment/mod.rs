//! From samples to CMAF segments: the segment plan (aligned boundaries across renditions), the
//! init segment and fragment writers, and the per-rendition segment writer. [`SegmentError`] is
//! this layer's error.
/// The `track_ID` of every output track file. CMAF track files hold one track, and Shaka
/// Packager numbers it 1; some decrypters (Shaka's own) look for track 1 whatever the source said.
pub const OUTPUT_TRACK_ID: u32 = 1;

pub mod error;
mod file_sink;
pub mod fragment;
pub mod init;
pub mod plan;
pub mod writer;

pub use error::SegmentError;
pub use plan::SegmentPlan;
