//! Apple Lossless in ISOBMFF: the `alac` sample entry and its `alac` box holding the
//! ALACSpecificConfig ("Apple Lossless Audio Codec" magic cookie, ALACMagicCookieDescription.txt
//! in Apple's open-source ALAC release): FullBox version 0, then frameLength(32),
//! compatibleVersion(8), bitDepth(8), pb(8), mb(8), kb(8), numChannels(8), maxRun(16),
//! maxFrameBytes(32), avgBitRate(32), sampleRate(32). QuickTime files put it inside `wave`. The
//! codec string is the 4CC `alac`, as Shaka Packager writes it.
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// The codec string of Apple Lossless.
pub const CODEC_STRING: &str = "alac";

/// What an `alac` magic cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlacConfig {
    /// Samples per frame.
    pub frame_length: u32,
    /// Bits per sample.
    pub bit_depth: u8,
    /// Channels (1..=8).
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

impl AlacConfig {
    /// Reads the `alac` box body (version, flags, ALACSpecificConfig).
    pub fn parse(cookie: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(cookie, *b"alac");
        let version = r.u8()?;
        if version != 0 {
            return Err(CodecError::invalid(
                "alac",
                format!("version {version} (expected 0)"),
            ));
        }
        r.skip(3)?; // flags
        let frame_length = r.u32()?;
        let compatible_version = r.u8()?;
        if compatible_version != 0 {
            return Err(CodecError::invalid(
                "alac",
                format!("compatibleVersion {compatible_version} (expected 0)"),
            ));
        }
        let bit_depth = r.u8()?;
        r.skip(3)?; // pb, mb, kb
        let channels = r.u8()?;
        r.skip(2 + 4 + 4)?; // maxRun, maxFrameBytes, avgBitRate
        let sample_rate = r.u32()?;
        if channels == 0 || frame_length == 0 || sample_rate == 0 {
            return Err(CodecError::invalid(
                "alac",
                format!(
                    "numChannels {channels}, frameLength {frame_length}, sampleRate {sample_rate} (none may be 0)"
                ),
            ));
        }
        Ok(AlacConfig {
            frame_length,
            bit_depth,
            channels: u16::from(channels),
            sample_rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_of_a_real_entry() {
        // The `alac` box of ffmpeg's ALAC stereo 48 kHz s16 (fixtures/alac_stereo.mp4).
        let cookie = [
            0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0x10, 0x28, 0x0a, 0x0e, 2, 0, 0, 0, 0, 0x40, 0x04, 0,
            0x17, 0x70, 0, 0, 0, 0xbb, 0x80,
        ];
        let c = AlacConfig::parse(&cookie).unwrap();
        assert_eq!(
            (c.frame_length, c.bit_depth, c.channels, c.sample_rate),
            (4096, 16, 2, 48000)
        );
        for len in 0..cookie.len() {
            assert!(AlacConfig::parse(&cookie[..len]).is_err(), "cut at {len}");
        }
        let mut none = cookie;
        none[13] = 0;
        assert!(AlacConfig::parse(&none)
            .unwrap_err()
            .to_string()
            .contains("numChannels 0"));
    }
}
