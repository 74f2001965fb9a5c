//! The error type of the codec layer: what went wrong reading a sample entry, a codec
//! configuration record or a NAL unit, naming the box, structure and field.
//!
//! It exists so callers can tell a malformed box (with the mp4 reader's [`BoxError`] as the
//! cause) from a bitstream field out of its range or a parameter set that is missing, and add the
//! file, track and sample they know about; the codec layer knows none of those.
use std::fmt;

use crate::media::codec::nal::VideoCodec;
use crate::mp4::BoxError;

/// Why a sample entry, configuration record or NAL unit could not be read.
#[derive(Debug)]
pub enum CodecError {
    /// A box of the sample entry, or a byte-aligned field in it, is malformed (a size that lies,
    /// a truncated field); the mp4 reader's error is the cause.
    Box(BoxError),
    /// A child box of `parent` is malformed (its header, or a size running past the parent).
    ChildBox {
        /// The box holding the children (a sample entry 4CC, `sinf`, `wave`).
        parent: String,
        /// The mp4 reader's error.
        source: BoxError,
    },
    /// The sample entry's size field disagrees with the bytes given for it.
    EntrySize {
        /// The entry's 4CC.
        entry: String,
        /// What its size field says.
        size: u64,
        /// How many bytes the caller gave.
        given: usize,
    },
    /// A sample entry is shorter than the fixed fields before its child boxes.
    EntryTruncated {
        /// The entry's 4CC.
        entry: String,
        /// Bytes of the entry body.
        len: usize,
        /// Bytes its fixed fields need.
        need: usize,
    },
    /// Bytes after the last child box that are not a zero terminator.
    StrayBytes {
        /// The box holding the children.
        parent: String,
        /// How many bytes are left over.
        count: usize,
    },
    /// A box the entry needs is not among its children.
    MissingBox {
        /// The parent (a sample entry 4CC, `sinf`...).
        parent: String,
        /// The child box that is missing.
        child: String,
    },
    /// The sample entry's 4CC is not one vodpack reads.
    UnsupportedEntry(String),
    /// A bit-packed structure (AudioSpecificConfig, dac3, an SPS, a slice header...) ended before
    /// a field it needs.
    BitsExhausted {
        /// The structure being read.
        what: &'static str,
        /// Bit position (in the escaped bytes as stored) where it started.
        at_bit: usize,
    },
    /// An exp-Golomb code with more than 31 leading zeros (ITU-T H.264 §9.1).
    ExpGolombTooLong {
        /// The structure being read.
        what: &'static str,
    },
    /// A field is above the limit the specification gives it.
    OutOfRange {
        /// The structure being read.
        what: &'static str,
        /// The syntax element.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A field has a value the structure does not allow (a version, a marker, a reserved code).
    Invalid {
        /// The structure (a box 4CC or a syntax structure name).
        what: &'static str,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A slice or PPS refers to a parameter set that was not seen (neither in the configuration
    /// record nor in band before it).
    UnknownParameterSet {
        /// H.264 or HEVC.
        codec: VideoCodec,
        /// What refers to it: `slice` or `PPS`.
        referrer: &'static str,
        /// `PPS` or `SPS`.
        kind: &'static str,
        /// The id referred to.
        id: u32,
    },
    /// Valid syntax that vodpack does not parse (e.g. HEVC screen content coding extensions).
    Unsupported {
        /// The structure.
        what: &'static str,
        /// What is not supported.
        reason: String,
    },
}

/// Short for `Result<T, CodecError>`.
pub type CodecResult<T> = Result<T, CodecError>;

impl CodecError {
    /// A [`CodecError::Invalid`].
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        CodecError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Box(e) => write!(f, "{e}"),
            CodecError::ChildBox { parent, source } => write!(f, "{parent}: {source}"),
            CodecError::EntrySize { entry, size, given } => write!(
                f,
                "sample entry '{entry}' says {size} bytes but {given} were given"
            ),
            CodecError::EntryTruncated { entry, len, need } => write!(
                f,
                "{entry} sample entry is truncated: {len} bytes, its fields need {need}"
            ),
            CodecError::StrayBytes { parent, count } => {
                write!(f, "{parent}: {count} stray bytes after the last child box")
            }
            CodecError::MissingBox { parent, child } => {
                write!(f, "{parent} has no {child} box")
            }
            CodecError::UnsupportedEntry(kind) => write!(f, "unsupported sample entry '{kind}'"),
            CodecError::BitsExhausted { what, at_bit } => {
                write!(f, "{what} runs past its end at bit {at_bit}")
            }
            CodecError::ExpGolombTooLong { what } => {
                write!(f, "{what}: exp-Golomb code longer than 32 bits")
            }
            CodecError::OutOfRange {
                what,
                field,
                value,
                max,
            } => write!(f, "{what}: {field} = {value} exceeds the limit {max}"),
            CodecError::Invalid { what, reason } => write!(f, "{what}: {reason}"),
            CodecError::UnknownParameterSet {
                codec,
                referrer,
                kind,
                id,
            } => write!(f, "{referrer} refers to unknown {codec} {kind} {id}"),
            CodecError::Unsupported { what, reason } => write!(f, "{what}: {reason}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Box(e) => Some(e),
            CodecError::ChildBox { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<BoxError> for CodecError {
    fn from(e: BoxError) -> Self {
        CodecError::Box(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_structure_field_and_value() {
        let e = CodecError::OutOfRange {
            what: "H.264 PPS",
            field: "pic_parameter_set_id",
            value: 300,
            max: 255,
        };
        assert_eq!(
            e.to_string(),
            "H.264 PPS: pic_parameter_set_id = 300 exceeds the limit 255"
        );
        let e = CodecError::UnknownParameterSet {
            codec: VideoCodec::Avc,
            referrer: "slice",
            kind: "PPS",
            id: 3,
        };
        assert_eq!(e.to_string(), "slice refers to unknown H.264 PPS 3");
    }

    #[test]
    fn box_errors_keep_their_cause() {
        use std::error::Error as _;
        let cause = crate::mp4::ByteReader::new(&[], *b"avcC").u8().unwrap_err();
        let text = cause.to_string();
        let e = CodecError::from(cause);
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), text);
        assert!(text.contains("avcC"), "{text}");
    }
}
