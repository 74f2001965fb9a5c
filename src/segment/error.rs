//! The segment layer's error: why renditions cannot be cut at common points or written as asked
//! (unaligned keyframes, a sidx that cannot index that many segments, a time that does not fit).
//! The writer wraps it with the file and track ([`crate::error::InTrack`]).
use crate::error::{Error, ErrorKind};
use crate::media::time::TimeOverflow;

/// The segment layer's error: why renditions cannot be cut together or written as asked.
#[derive(Debug)]
pub enum SegmentError {
    /// A video rendition has no keyframe where the reference rendition cuts a segment.
    Unaligned {
        /// The rendition that lacks the keyframe.
        rendition: String,
        /// The rendition whose keyframes choose the cuts.
        reference: String,
        /// The cut, in seconds.
        at: f64,
        /// The rendition's nearest keyframe, in seconds.
        nearest: Option<f64>,
    },
    /// More segments than a single file's `sidx` can index.
    TooManyForSidx {
        /// The number of segments.
        segments: usize,
    },
    /// A time computed from the file's values does not fit (`what` names the boxes).
    Time {
        /// The boxes or fields the value comes from.
        what: &'static str,
        /// The overflow.
        source: TimeOverflow,
    },
}

impl SegmentError {
    /// How the error is reported: unaligned renditions are an alignment failure, too many
    /// segments for a sidx is unsupported, a time overflow is invalid input.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SegmentError::Unaligned { .. } => ErrorKind::Alignment,
            SegmentError::TooManyForSidx { .. } => ErrorKind::Unsupported,
            SegmentError::Time { .. } => ErrorKind::InvalidInput,
        }
    }
}

impl std::fmt::Display for SegmentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SegmentError::Unaligned {
                rendition,
                reference,
                at,
                nearest,
            } => {
                let nearest = nearest.map_or_else(|| "none".into(), |t| format!("{t:.3} s"));
                write!(
                    f,
                    "rendition '{rendition}' has no keyframe at {at:.3} s where '{reference}' cuts a segment (its nearest keyframe is at {nearest}); re-encode with aligned GOPs or pass --cut-at-common-keyframes"
                )
            }
            SegmentError::TooManyForSidx { segments } => write!(
                f,
                "{segments} segments, but a single-file output's sidx indexes at most 65535 (ISO/IEC 14496-12 §8.16.3 reference_count is 16 bits); write segment files instead or use longer segments"
            ),
            SegmentError::Time { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for SegmentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SegmentError::Time { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<SegmentError> for Error {
    fn from(e: SegmentError) -> Self {
        Error::layer(e.kind(), None, e)
    }
}
