//! Opus in ISOBMFF (Encapsulation of Opus in ISO Base Media File Format §4.3): the
//! OpusSpecificBox (`dOps`). The codec string is `opus` and the decoder always runs at 48 kHz
//! (§4.3.1: the entry's samplerate shall be 48000).
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// The Opus decoder's output rate (§4.3.1).
pub const OPUS_RATE: u32 = 48000;

/// The RFC 6381 codec string of Opus.
pub const CODEC_STRING: &str = "opus";

/// What a `dOps` box says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusConfig {
    /// OutputChannelCount (≥ 1).
    pub channels: u8,
}

impl OpusConfig {
    /// Reads a `dOps` box body (§4.3.2): Version (0), OutputChannelCount, ...
    pub fn parse(dops: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(dops, *b"dOps");
        let version = r.u8()?;
        if version != 0 {
            return Err(CodecError::invalid(
                "dOps",
                format!("version {version} (expected 0)"),
            ));
        }
        let channels = r.u8()?;
        if channels == 0 {
            return Err(CodecError::invalid("dOps", "OutputChannelCount is 0"));
        }
        Ok(OpusConfig { channels })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn dops_of_a_real_entry() {
        // ffprobe: stereo.
        let e = entry("opus");
        assert_eq!(
            OpusConfig::parse(child_body(&e, b"dOps")).unwrap().channels,
            2
        );
    }

    #[test]
    fn bad_dops_is_an_error() {
        assert_eq!(
            OpusConfig::parse(&[1, 2]).unwrap_err().to_string(),
            "dOps: version 1 (expected 0)"
        );
        assert!(OpusConfig::parse(&[0, 0]).is_err());
        assert!(matches!(
            OpusConfig::parse(&[0]).unwrap_err(),
            CodecError::Box(_)
        ));
    }
}
