//! FLAC in ISOBMFF ("Encapsulation of FLAC in ISO Base Media File Format", xiph.org, §3.3): the
//! `fLaC` sample entry and its FLACSpecificBox (`dfLa`), whose first metadata block must be
//! STREAMINFO (RFC 9639 §8.2) with the rate and channels. The codec string is `flac`, as Shaka
//! Packager writes it and browsers' `MediaSource.isTypeSupported` accepts it (RFC 9639 §12.1
//! registers `audio/flac`; the ISOBMFF entry's 4CC `fLaC` is not what players test for).
use super::bits::BitReader;
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// The codec string Shaka Packager 3.8 writes for `fLaC` entries.
pub const CODEC_STRING: &str = "flac";

/// STREAMINFO's block type (RFC 9639 §8.1) and its fixed length (§8.2).
const STREAMINFO: u8 = 0;
const STREAMINFO_LEN: usize = 34;

/// What a `dfLa` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlacConfig {
    /// Sample rate in Hz (20 bits; never 0 in a valid stream).
    pub sample_rate: u32,
    /// Channels (1..=8).
    pub channels: u16,
    /// Bits per sample (4..=32).
    pub bits_per_sample: u8,
}

impl FlacConfig {
    /// Reads a `dfLa` body: version 0, flags, then metadata blocks of which the first is
    /// STREAMINFO (`last_metadata_block_flag`(1), `BLOCK_TYPE`(7), `LENGTH`(24), data).
    pub fn parse(dfla: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(dfla, *b"dfLa");
        let version = r.u8()?;
        if version != 0 {
            return Err(CodecError::invalid(
                "dfLa",
                format!("version {version} (expected 0)"),
            ));
        }
        r.skip(3)?; // flags
        let header = r.u8()?;
        let length = r.u24()?;
        if header & 0x7f != STREAMINFO {
            return Err(CodecError::invalid(
                "dfLa",
                format!(
                    "first metadata block has type {} (expected STREAMINFO, 0)",
                    header & 0x7f
                ),
            ));
        }
        if usize::try_from(length).ok() != Some(STREAMINFO_LEN) {
            return Err(CodecError::invalid(
                "dfLa",
                format!("STREAMINFO length {length} (expected {STREAMINFO_LEN})"),
            ));
        }
        let info = r.bytes(STREAMINFO_LEN)?;
        let mut b = BitReader::new(info, "STREAMINFO");
        b.skip(16 + 16 + 24 + 24)?; // block sizes, frame sizes
        let sample_rate = b.bits(20)?;
        // 3 and 5 bits: the additions cannot overflow and the casts cannot truncate.
        let channels = b.bits(3)? as u16 + 1;
        let bits_per_sample = b.bits(5)? as u8 + 1;
        if sample_rate == 0 {
            return Err(CodecError::invalid("dfLa", "STREAMINFO sample rate 0"));
        }
        Ok(FlacConfig {
            sample_rate,
            channels,
            bits_per_sample,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn dfla_of_a_real_entry() {
        // ffprobe: 5.1 at 44.1 kHz, s16.
        let e = entry("flac_51");
        let c = FlacConfig::parse(child_body(&e, b"dfLa")).unwrap();
        assert_eq!(
            (c.sample_rate, c.channels, c.bits_per_sample),
            (44100, 6, 16)
        );
    }

    #[test]
    fn bad_dfla_is_an_error() {
        let e = entry("flac_51");
        let good = child_body(&e, b"dfLa").to_vec();
        for len in 0..good.len() {
            assert!(FlacConfig::parse(&good[..len]).is_err(), "cut at {len}");
        }
        let mut v1 = good.clone();
        v1[0] = 1;
        assert_eq!(
            FlacConfig::parse(&v1).unwrap_err().to_string(),
            "dfLa: version 1 (expected 0)"
        );
        let mut padding_first = good.clone();
        padding_first[4] = 0x01;
        assert!(FlacConfig::parse(&padding_first)
            .unwrap_err()
            .to_string()
            .contains("STREAMINFO"));
        let mut short = good;
        short[7] = 33;
        assert!(FlacConfig::parse(&short)
            .unwrap_err()
            .to_string()
            .contains("length 33"));
    }
}
