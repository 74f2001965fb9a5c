//! NAL-structured video (H.264 and HEVC) seen from outside the codec files: which codec, what a
//! NAL unit is (a coded slice and how long its header is, or not a slice), and the size of NAL
//! length fields. The vocabulary both codec files and the slice-header parser (`slice.rs`)
//! share; it imports nothing of theirs, so no file depends on itself through another.
//!
//! Subsample encryption (`cenc::subsample`) asks only these questions; the syntax behind them
//! lives in [`super::avc`] and [`super::hevc`].
use std::fmt;

/// Which video codec's NAL syntax applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 / AVC (avc1, avc3).
    Avc,
    /// H.265 / HEVC (hvc1, hev1).
    Hevc,
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VideoCodec::Avc => "H.264",
            VideoCodec::Hevc => "HEVC",
        })
    }
}

/// What a NAL unit is, as far as encryption cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalClass {
    /// Not a coded slice (parameter set, SEI, AUD...).
    NonVcl,
    /// A coded slice whose first `header_len` bytes are its NAL header and slice header.
    Vcl {
        /// NAL header plus slice (segment) header, in bytes as stored.
        header_len: usize,
    },
}

/// NAL unit length field size from lengthSizeMinusOne (ISO/IEC 14496-15 §5.3.3.1.2, §8.3.3.1.2):
/// 1, 2 or 4 bytes; `None` for 3, which is not allowed ([`NAL_LENGTH_SIZE_3`] says why).
pub(crate) fn nal_length_size(minus_one: u8) -> Option<u8> {
    match minus_one {
        0 | 1 | 3 => Some(minus_one + 1),
        _ => None,
    }
}

/// The error text for lengthSizeMinusOne 2.
pub(crate) const NAL_LENGTH_SIZE_3: &str =
    "lengthSizeMinusOne 2 (3-byte NAL lengths) is not allowed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_size_three_is_refused() {
        assert_eq!(nal_length_size(3), Some(4));
        assert_eq!(nal_length_size(1), Some(2));
        assert_eq!(nal_length_size(0), Some(1));
        assert_eq!(nal_length_size(2), None);
    }
}
