//! DTS in ISOBMFF: the `dtsc`, `dtse`, `dtsh` and `dtsl` entries with their DTSSpecificBox
//! (`ddts`, ETSI TS 102 114 Annex E.2.2) and DTS:X / DTS-UHD, the `dtsx` entry with its
//! UDTSSpecificBox (`udts`, ETSI TS 103 491 Annex B.2). The codec strings are the entry 4CCs, as
//! Shaka Packager writes them; the channel count is the AudioSampleEntry's, and DTS:X adds the
//! 32-bit loudspeaker mask of `udts`, which DASH signals in hex (docs/audio-signalling.md).
use super::bits::BitReader;
use super::error::{CodecError, CodecResult};

/// Bytes of a `ddts` body: SamplingFrequency(32), MaxBitrate(32), AvgBitrate(32),
/// pcmSampleDepth(8), then 48 bits of frame duration, stream construction, core layout,
/// channel layout and flags (E.2.2.2).
const DDTS_LEN: usize = 20;

/// What a `ddts` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DdtsConfig {
    /// SamplingFrequency (Hz).
    pub sample_rate: u32,
    /// pcmSampleDepth (16 or 24).
    pub sample_depth: u8,
}

impl DdtsConfig {
    /// Reads a `ddts` body.
    pub fn parse(ddts: &[u8]) -> CodecResult<Self> {
        if ddts.len() < DDTS_LEN {
            return Err(CodecError::invalid(
                "ddts",
                format!("{} bytes (the box has {DDTS_LEN})", ddts.len()),
            ));
        }
        let mut b = BitReader::new(ddts, "ddts");
        let sample_rate = b.bits(32)?;
        b.skip(64)?; // MaxBitrate, AvgBitrate
                     // 8 bits: the cast cannot truncate.
        let sample_depth = b.bits(8)? as u8;
        if sample_rate == 0 {
            return Err(CodecError::invalid("ddts", "SamplingFrequency 0"));
        }
        Ok(DdtsConfig {
            sample_rate,
            sample_depth,
        })
    }
}

/// What a `udts` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdtsConfig {
    /// DecoderProfileCode + 2 (the DTS-UHD profile).
    pub decoder_profile: u8,
    /// NumPresentationsCode + 1.
    pub presentations: u8,
    /// ChannelMask: one bit per loudspeaker location (TS 103 491 Table B-3).
    pub channel_mask: u32,
}

impl UdtsConfig {
    /// Reads a `udts` body (B.2.2): DecoderProfileCode(6), FrameDurationCode(2),
    /// MaxPayloadCode(3), NumPresentationsCode(5), ChannelMask(32), ...
    pub fn parse(udts: &[u8]) -> CodecResult<Self> {
        let mut b = BitReader::new(udts, "udts");
        // 6 and 5 bits: the additions cannot overflow, the casts cannot truncate.
        let decoder_profile = b.bits(6)? as u8 + 2;
        b.skip(2 + 3)?; // FrameDurationCode, MaxPayloadCode
        let presentations = b.bits(5)? as u8 + 1;
        let channel_mask = b.bits(32)?;
        Ok(UdtsConfig {
            decoder_profile,
            presentations,
            channel_mask,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udts_and_ddts_of_real_entries() {
        // The udts of Shaka Packager's bear-dtsx.mp4 (5.1: mask 0x3f).
        let udts = [0x01, 0x20, 0x00, 0x00, 0x00, 0x3f, 0x80, 0x00, 0x00, 0x00];
        let c = UdtsConfig::parse(&udts).unwrap();
        assert_eq!(
            (c.decoder_profile, c.presentations, c.channel_mask),
            (2, 1, 0x3f)
        );
        for len in 0..6 {
            assert!(UdtsConfig::parse(&udts[..len]).is_err(), "cut at {len}");
        }
        // The ddts Shaka Packager writes for an ffmpeg DTS 5.1 stream (48 kHz, 16 bit).
        let ddts = [
            0x00, 0x00, 0xbb, 0x80, 0x00, 0x15, 0x9e, 0x40, 0x00, 0x15, 0x9e, 0x40, 0x10, 0xe4,
            0x7c, 0x00, 0x04, 0x00, 0x0f, 0x00,
        ];
        let c = DdtsConfig::parse(&ddts).unwrap();
        assert_eq!((c.sample_rate, c.sample_depth), (48000, 16));
        for len in 0..ddts.len() {
            assert!(DdtsConfig::parse(&ddts[..len]).is_err(), "cut at {len}");
        }
    }
}
