//! The per-track slice-header parser: learns parameter sets as they pass and tells, for each NAL
//! unit, whether it is a coded slice and how long its NAL and slice headers are. Subsample
//! encryption (`cenc::subsample`) asks only this; the syntax lives in [`super::avc`] and
//! [`super::hevc`].
use super::avc::AvcParameterSets;
use super::error::CodecResult;
use super::hevc::HevcParameterSets;
use super::nal::{NalClass, VideoCodec};

/// Tracks parameter sets and classifies the NAL units of one video track.
#[derive(Debug, Clone)]
pub enum SliceHeaderParser {
    /// H.264 parameter sets.
    Avc(AvcParameterSets),
    /// HEVC parameter sets.
    Hevc(HevcParameterSets),
}

impl SliceHeaderParser {
    /// A parser knowing `parameter_sets`: NAL units (no length prefix) from avcC / hvcC, in
    /// record order.
    pub fn new(codec: VideoCodec, parameter_sets: &[Vec<u8>]) -> CodecResult<Self> {
        let mut p = match codec {
            VideoCodec::Avc => SliceHeaderParser::Avc(AvcParameterSets::default()),
            VideoCodec::Hevc => SliceHeaderParser::Hevc(HevcParameterSets::default()),
        };
        for ps in parameter_sets {
            p.classify(ps)?;
        }
        Ok(p)
    }

    /// The codec this parser reads.
    pub fn codec(&self) -> VideoCodec {
        match self {
            SliceHeaderParser::Avc(_) => VideoCodec::Avc,
            SliceHeaderParser::Hevc(_) => VideoCodec::Hevc,
        }
    }

    /// Classifies one NAL unit (no length prefix), learning parameter sets as they pass (in-band
    /// parameter sets of avc3/hev1).
    pub fn classify(&mut self, nal: &[u8]) -> CodecResult<NalClass> {
        match self {
            SliceHeaderParser::Avc(p) => p.classify(nal),
            SliceHeaderParser::Hevc(p) => p.classify(nal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_sets_of_the_record_are_learnt() {
        // SPS/PPS of an x264 320x240 encode.
        let sps = hex::decode("6764000dacd94141fb011000000300100000030320f1429960").unwrap();
        let pps = hex::decode("68ebe3cb22c0").unwrap();
        let mut p = SliceHeaderParser::new(VideoCodec::Avc, &[sps, pps]).unwrap();
        assert_eq!(p.codec(), VideoCodec::Avc);
        // An IDR slice referring to PPS 0 now parses (to some header length).
        let mut idr = vec![0x65, 0b1000_1000, 0x84, 0x00];
        idr.extend_from_slice(&[0x55; 32]);
        assert!(matches!(p.classify(&idr).unwrap(), NalClass::Vcl { .. }));
        // A bad parameter set in the record is an error naming it.
        let e = SliceHeaderParser::new(VideoCodec::Hevc, &[vec![0x42, 0x01, 0x01]]).unwrap_err();
        assert!(e.to_string().starts_with("HEVC SPS"), "{e}");
    }

    #[test]
    fn mutated_real_parameter_sets_never_panic() {
        // Every byte of the real SPS/PPS (and VPS) of x264 and x265 entries set to 0, 1, 0x80
        // and 0xff; each mutant set must parse or be refused, and slices after it likewise.
        for (name, codec, slices) in [
            (
                "h264_high",
                VideoCodec::Avc,
                vec![
                    vec![0x65, 0x88, 0x84, 0x00, 0x55, 0x55],
                    vec![0x41, 0x9a, 0x02, 0x55],
                ],
            ),
            (
                "h265_hvc1",
                VideoCodec::Hevc,
                vec![
                    vec![0x26, 0x01, 0xaf, 0x55, 0x55],
                    vec![0x02, 0x01, 0xd0, 0x55, 0x55],
                ],
            ),
        ] {
            let info =
                super::super::parse_sample_entry(&super::super::test_data::entry(name)).unwrap();
            let mut tried = 0;
            for (i, ps) in info.parameter_sets.iter().enumerate() {
                for at in 0..ps.len() {
                    for v in [0u8, 1, 0x80, 0xff] {
                        let mut sets = info.parameter_sets.clone();
                        sets[i][at] = v;
                        tried += 1;
                        if let Ok(mut p) = SliceHeaderParser::new(codec, &sets) {
                            for slice in &slices {
                                let _ = p.classify(slice);
                            }
                        }
                    }
                }
            }
            assert!(tried > 100, "{name}: {tried} mutants");
        }
    }
}
