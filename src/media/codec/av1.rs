//! AV1 in ISOBMFF (AV1 Codec ISO Media File Format Binding §2.3): the
//! AV1CodecConfigurationRecord (`av1C`) and the short form of its codec string, `av01.P.LLT.DD`
//! ("Codecs Parameter String" section).
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// What an `av1C` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Av1Config {
    /// seq_profile.
    pub profile: u8,
    /// seq_level_idx_0.
    pub level: u8,
    /// seq_tier_0 (true: high tier).
    pub tier_high: bool,
    /// Bit depth from high_bitdepth and twelve_bit: 8, 10 or 12.
    pub bit_depth: u8,
    /// mono_chrome.
    pub mono_chrome: bool,
    /// chroma_subsampling_x.
    pub subsampling_x: bool,
    /// chroma_subsampling_y.
    pub subsampling_y: bool,
}

impl Av1Config {
    /// Reads an `av1C` body (§2.3.3): marker/version, profile/level, tier and bit depth flags.
    pub fn parse(av1c: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(av1c, *b"av1C");
        let marker_version = r.u8()?;
        if marker_version != 0x81 {
            return Err(CodecError::invalid(
                "av1C",
                format!("marker/version byte {marker_version:#04x} (expected 0x81)"),
            ));
        }
        let b = r.u8()?;
        let profile = b >> 5;
        let level = b & 0x1f;
        let c = r.u8()?;
        let high_bitdepth = c & 0x40 != 0;
        let twelve_bit = c & 0x20 != 0;
        let bit_depth = match (high_bitdepth, twelve_bit && profile == 2) {
            (false, _) => 8,
            (true, false) => 10,
            (true, true) => 12,
        };
        Ok(Av1Config {
            profile,
            level,
            tier_high: c & 0x80 != 0,
            bit_depth,
            mono_chrome: c & 0x10 != 0,
            subsampling_x: c & 0x08 != 0,
            subsampling_y: c & 0x04 != 0,
        })
    }

    /// The codec string `av01.P.LLT.DD`.
    pub fn codec_string(&self) -> String {
        let tier = if self.tier_high { 'H' } else { 'M' };
        format!(
            "av01.{}.{:02}{tier}.{:02}",
            self.profile, self.level, self.bit_depth
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn av1c_of_a_real_entry() {
        // Shaka Packager: av01.0.00M.08.
        let e = entry("av1");
        let c = Av1Config::parse(child_body(&e, b"av1C")).unwrap();
        assert_eq!(c.codec_string(), "av01.0.00M.08");
        // ffprobe: yuv420p.
        assert!(!c.mono_chrome && c.subsampling_x && c.subsampling_y);
    }

    #[test]
    fn high_bitdepth_and_bad_marker() {
        let c = Av1Config::parse(&[0x81, (2 << 5) | 13, 0xe0]).unwrap();
        assert_eq!(c.codec_string(), "av01.2.13H.12");
        let c = Av1Config::parse(&[0x81, (2 << 5) | 13, 0xc0]).unwrap();
        assert_eq!(c.codec_string(), "av01.2.13H.10");
        let e = Av1Config::parse(&[0x80, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("expected 0x81"), "{e}");
        assert!(matches!(
            Av1Config::parse(&[0x81, 0]).unwrap_err(),
            CodecError::Box(_)
        ));
    }
}
