//! The H.264 sequence parameter set as `inspect` reads it: chroma format, bit depth, cropped
//! size, colour description and timing from the SPS and its VUI.
//!
//! The parsing itself is the codec layer's ([`crate::media::codec::avc::AvcSpsDetails`]), the
//! same code subsample encryption uses to find slice headers; this file only adapts it for the
//! inspect report. HEVC's VUI follows fields not walked (short-term reference picture sets);
//! HEVC figures come from hvcC and `colr` instead.
use crate::media::codec::avc::AvcSpsDetails;
use crate::media::codec::CodecResult;

/// What an H.264 SPS says, through its VUI.
pub type AvcSps = AvcSpsDetails;

/// Parses an SPS NAL unit (with its one-byte NAL header).
pub fn parse_avc_sps(nal: &[u8]) -> CodecResult<AvcSps> {
    AvcSpsDetails::parse(nal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sps_of_a_fixture() {
        // fixtures/h264_240p.mp4's avcC SPS (x264, Constrained Baseline, level 2.1,
        // 432x240 coded, cropped to 426x240); ffprobe: "Constrained Baseline", level 21,
        // 426x240, yuv420p, 25/1.
        let sps = [
            0x67, 0x42, 0xc0, 0x15, 0xda, 0x06, 0xc7, 0xf9, 0x3c, 0x04, 0x40, 0x00, 0x00, 0x03,
            0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x8b, 0xa8,
        ];
        let s = parse_avc_sps(&sps).unwrap();
        assert_eq!(
            (s.sps.profile_idc, s.sps.constraint_flags, s.sps.level_idc),
            (66, 0xc0, 21)
        );
        assert_eq!((s.width, s.height), (426, 240));
        assert_eq!((s.sps.chroma_format_idc, s.bit_depth_luma), (1, 8));
        let (units, scale, _) = s.timing.unwrap();
        assert_eq!(scale / (2 * units), 25);
    }

    #[test]
    fn a_truncated_sps_is_an_error() {
        assert!(parse_avc_sps(&[0x67, 0x64, 0x00]).is_err());
        assert!(parse_avc_sps(&[0x68, 0x64, 0x00, 0x0d, 0xac]).is_err());
        assert!(parse_avc_sps(&[0x67, 0x64, 0x00, 0x0d, 0xac]).is_err());
    }
}
