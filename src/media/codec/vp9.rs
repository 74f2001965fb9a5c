//! VP9 in ISOBMFF (VP Codec ISO Media File Format Binding §2.2): the VPCodecConfigurationBox
//! (`vpcC`) and the full form of its codec string, `vp09.PP.LL.DD.CC.cp.tc.mc.FF` ("Codecs
//! Parameter String" section).
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// What a `vpcC` box (version 1) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Config {
    /// profile.
    pub profile: u8,
    /// level.
    pub level: u8,
    /// bitDepth.
    pub bit_depth: u8,
    /// chromaSubsampling.
    pub chroma_subsampling: u8,
    /// videoFullRangeFlag.
    pub full_range: u8,
    /// colourPrimaries (ITU-T H.273).
    pub primaries: u8,
    /// transferCharacteristics (ITU-T H.273).
    pub transfer: u8,
    /// matrixCoefficients (ITU-T H.273).
    pub matrix: u8,
}

impl Vp9Config {
    /// Reads a `vpcC` body (a FullBox of version 1).
    pub fn parse(vpcc: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(vpcc, *b"vpcC");
        let version = r.u8()?;
        r.skip(3)?; // flags
        if version != 1 {
            return Err(CodecError::invalid(
                "vpcC",
                format!("version {version} (expected 1)"),
            ));
        }
        let profile = r.u8()?;
        let level = r.u8()?;
        let b = r.u8()?;
        Ok(Vp9Config {
            profile,
            level,
            bit_depth: b >> 4,
            chroma_subsampling: (b >> 1) & 0x07,
            full_range: b & 0x01,
            primaries: r.u8()?,
            transfer: r.u8()?,
            matrix: r.u8()?,
        })
    }

    /// The full-form codec string.
    pub fn codec_string(&self) -> String {
        format!(
            "vp09.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}",
            self.profile,
            self.level,
            self.bit_depth,
            self.chroma_subsampling,
            self.primaries,
            self.transfer,
            self.matrix,
            self.full_range
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_form_and_errors() {
        // version 1, profile 0, level 31, 8 bit, 4:2:0 colocated (1), limited range, BT.709.
        let c = Vp9Config::parse(&[1, 0, 0, 0, 0, 31, (8 << 4) | (1 << 1), 1, 1, 1, 0, 0]).unwrap();
        assert_eq!(c.codec_string(), "vp09.00.31.08.01.01.01.01.00");
        let e = Vp9Config::parse(&[0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.to_string(), "vpcC: version 0 (expected 1)");
        assert!(matches!(
            Vp9Config::parse(&[1, 0, 0, 0, 0]).unwrap_err(),
            CodecError::Box(_)
        ));
    }
}
