//! From samples to CMAF segments: the segment plan (aligned boundaries across renditions), the
//! init segment and fragment writers, and the per-rendition segment writer.
pub mod fragment;
pub mod init;
pub mod plan;
pub mod writer;

pub use plan::SegmentPlan;
