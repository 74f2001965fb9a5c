//! Subsample maps for video (ISO/IEC 23001-7 §9.5.2 subsample encryption, §10.1 for `cenc`,
//! §10.4 for `cbcs`; the CMAF (ISO/IEC 23000-19) rules on BytesOfProtectedData; AV1-ISOBMFF
//! "Common Encryption"; the VP codec binding "Subsample Encryption"). Which of these clause
//! numbers were verified, and from which sources: docs/subsample-encryption.md.
//!
//! Each codec names the protectable ranges of a sample: the bytes after the slice header of each
//! coded slice NAL unit (H.264, HEVC), each AV1 tile, each VP9 frame after its uncompressed
//! header. Everything else (non-VCL NAL units, NAL length fields and headers, slice headers, OBU
//! headers and `obu_size`, sequence/frame/tile group headers, tile size fields, metadata and
//! padding OBUs, the superframe index) is clear. One subsample per protectable range; for `cenc`
//! the protected part is a whole number of 16-byte blocks with the remainder in the *leading*
//! clear bytes (the layout smart-TV decrypters accept; Shaka Packager 3.5–3.8's trailing clear
//! range broke them); for `cbcs` it starts on the range's first byte ([`Alignment`]).
//!
//! Where the ranges are is codec syntax, asked of [`crate::media::codec`]
//! ([`SliceHeaderParser`], [`Av1TileFinder`], [`Vp9FrameParser`]); this file only decides the
//! byte ranges.
use std::fmt;

use crate::media::codec::av1::Av1TileFinder;
use crate::media::codec::vp9::Vp9FrameParser;
use crate::media::codec::{CodecError, NalClass, SliceHeaderParser, VideoCodec};

pub use crate::mp4::boxes::Subsample;

/// Why a subsample map could not be made.
#[derive(Debug)]
pub enum SubsampleError {
    /// The NAL length field size is not 1, 2 or 4.
    LengthSize(u8),
    /// Bytes at the end of a sample too few for a NAL length field.
    ShortLengthField {
        /// Offset of those bytes in the sample.
        offset: usize,
        /// How many there are.
        left: usize,
    },
    /// A NAL length that runs past the end of the sample.
    NalOverrun {
        /// Offset of the length field in the sample.
        offset: usize,
        /// The length it gives.
        claimed: usize,
        /// Bytes left after the length field.
        left: usize,
    },
    /// A parameter set of the configuration record could not be parsed.
    ParameterSet(CodecError),
    /// An AV1 or VP9 sample could not be parsed (an OBU, frame header, superframe index).
    Sample {
        /// What the codec layer found.
        source: CodecError,
    },
    /// A NAL unit of the sample could not be parsed.
    Nal {
        /// Offset of the NAL unit's length field in the sample.
        offset: usize,
        /// What the codec layer found.
        source: CodecError,
    },
}

impl SubsampleError {
    /// Valid syntax vodpack does not read (e.g. a multi-layer VPS whose base layer is outside
    /// the stream) is unsupported input; anything else is invalid input.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            SubsampleError::ParameterSet(CodecError::Unsupported { .. })
            | SubsampleError::Sample {
                source: CodecError::Unsupported { .. },
            }
            | SubsampleError::Nal {
                source: CodecError::Unsupported { .. },
                ..
            } => crate::error::ErrorKind::Unsupported,
            _ => crate::error::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for SubsampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubsampleError::LengthSize(n) => {
                write!(f, "NAL length size {n} (must be 1, 2 or 4)")
            }
            SubsampleError::ShortLengthField { offset, left } => write!(
                f,
                "{left} trailing bytes at offset {offset} are too short for a NAL length field"
            ),
            SubsampleError::NalOverrun {
                offset,
                claimed,
                left,
            } => write!(
                f,
                "NAL unit at offset {offset} claims {claimed} bytes, but only {left} remain"
            ),
            SubsampleError::ParameterSet(e) => write!(f, "parameter set: {e}"),
            SubsampleError::Sample { source } => write!(f, "{source}"),
            SubsampleError::Nal { offset, source } => {
                write!(f, "NAL unit at offset {offset}: {source}")
            }
        }
    }
}

impl std::error::Error for SubsampleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubsampleError::ParameterSet(e)
            | SubsampleError::Sample { source: e }
            | SubsampleError::Nal { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// How an H.264/HEVC track's samples are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NalFormat {
    /// H.264 or HEVC.
    pub codec: VideoCodec,
    /// Size of the NAL unit length prefix in bytes (avcC/hvcC lengthSizeMinusOne + 1): 1, 2 or 4.
    pub nal_length_size: u8,
    /// VPS/SPS/PPS NAL units (no length prefix) from avcC/hvcC.
    pub parameter_sets: Vec<Vec<u8>>,
}

/// The structure of a video track's samples, which decides what subsample encryption leaves
/// clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoLayout {
    /// Length-prefixed NAL units (H.264, HEVC): slice data is protected.
    Nal(NalFormat),
    /// AV1 OBUs (AV1-ISOBMFF §4): tile data is protected. `config_obus` are the `av1C`
    /// configOBUs (the sequence header, when the record carries it).
    Av1 {
        /// configOBUs of the `av1C` box.
        config_obus: Vec<u8>,
    },
    /// VP9 frames and superframes (VP codec binding, "Subsample Encryption"): everything after each frame's
    /// uncompressed header is protected, in whole blocks.
    Vp9,
    /// VP8 frames (VP codec binding, "Subsample Encryption"; RFC 6386 §9.1): everything after
    /// the uncompressed data chunk (3 bytes, 10 for a key frame) is protected, in whole blocks.
    Vp8,
}

impl From<NalFormat> for VideoLayout {
    fn from(f: NalFormat) -> Self {
        VideoLayout::Nal(f)
    }
}

/// Where the bytes of a protectable range that do not fill a whole 16-byte block go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alignment {
    /// Protected range = whole blocks ending at the range's end; the remainder joins the leading
    /// clear bytes. vodpack's choice for `cenc`, and for VP9 under both schemes.
    #[default]
    LeadingClear,
    /// Protected range = whole blocks right at the range's start; the remainder is clear after
    /// it (Shaka Packager 3.5–3.8 `cenc`, and its VP9 under both schemes). Kept for byte-exact
    /// comparisons with that tool.
    TrailingClear,
    /// Protected range = the whole range, starting on its first byte (the first byte after the
    /// slice header, the first byte of an AV1 tile): `cbcs` per ISO/IEC 23001-7 §10.4 and the
    /// CMAF rule (ISO/IEC 23000-19: "BytesOfProtectedData SHALL start on the first byte of
    /// video data following the slice header"), vodpack's and Shaka Packager's choice; the
    /// pattern leaves a trailing partial block clear. VP9 stays block-aligned (its binding
    /// requires it), so it is mapped as [`Alignment::LeadingClear`] there.
    Unaligned,
}

impl Alignment {
    /// vodpack's layout for `scheme`: start alignment for `cbcs`, end alignment for `cenc`.
    pub fn for_scheme(scheme: crate::cenc::Scheme) -> Self {
        match scheme {
            crate::cenc::Scheme::Cenc => Alignment::LeadingClear,
            crate::cenc::Scheme::Cbcs => Alignment::Unaligned,
        }
    }
}

/// The codec syntax a mapper walks.
#[derive(Debug, Clone)]
enum Walker {
    Nal {
        parser: SliceHeaderParser,
        nal_length_size: u8,
    },
    // Boxed: the finder's reference state is much larger than the other walkers.
    Av1(Box<Av1TileFinder>),
    Vp9(Vp9FrameParser),
    Vp8,
}

/// Computes subsample maps for one video track's samples.
#[derive(Debug, Clone)]
pub struct SubsampleMapper {
    walker: Walker,
    alignment: Alignment,
}

impl SubsampleMapper {
    /// A mapper for samples laid out as `layout`, placing the alignment remainder per
    /// `alignment`.
    pub fn new(
        layout: impl Into<VideoLayout>,
        alignment: Alignment,
    ) -> Result<Self, SubsampleError> {
        let walker = match layout.into() {
            VideoLayout::Nal(format) => {
                if !matches!(format.nal_length_size, 1 | 2 | 4) {
                    return Err(SubsampleError::LengthSize(format.nal_length_size));
                }
                Walker::Nal {
                    parser: SliceHeaderParser::new(format.codec, &format.parameter_sets)
                        .map_err(SubsampleError::ParameterSet)?,
                    nal_length_size: format.nal_length_size,
                }
            }
            VideoLayout::Av1 { config_obus } => Walker::Av1(Box::new(
                Av1TileFinder::new(&config_obus).map_err(SubsampleError::ParameterSet)?,
            )),
            VideoLayout::Vp9 => Walker::Vp9(Vp9FrameParser::new()),
            VideoLayout::Vp8 => Walker::Vp8,
        };
        let alignment = match (&walker, alignment) {
            (Walker::Vp9(_) | Walker::Vp8, Alignment::Unaligned) => Alignment::LeadingClear,
            (_, a) => a,
        };
        Ok(SubsampleMapper { walker, alignment })
    }

    /// The subsample map of one sample; the sizes add up to `sample.len()`.
    pub fn map(&mut self, sample: &[u8]) -> Result<Vec<Subsample>, SubsampleError> {
        let ranges = match &mut self.walker {
            Walker::Nal {
                parser,
                nal_length_size,
            } => nal_ranges(parser, *nal_length_size, sample)?,
            Walker::Av1(finder) => finder
                .tiles(sample)
                .map_err(|source| SubsampleError::Sample { source })?
                .into_iter()
                .map(|t| (t.start, t.len))
                .collect(),
            Walker::Vp9(parser) => parser
                .frames(sample)
                .map_err(|source| SubsampleError::Sample { source })?
                .into_iter()
                .map(|f| (f.start + f.header_len, f.len - f.header_len))
                .collect(),
            Walker::Vp8 => {
                let header = crate::media::codec::vp8::uncompressed_header_len(sample)
                    .map_err(|source| SubsampleError::Sample { source })?;
                vec![(header, sample.len() - header)]
            }
        };
        Ok(layout(&ranges, sample.len(), self.alignment))
    }
}

/// The protectable range (start, length) of each coded slice of a length-prefixed sample: the
/// bytes after its slice header.
fn nal_ranges(
    parser: &mut SliceHeaderParser,
    nal_length_size: u8,
    sample: &[u8],
) -> Result<Vec<(usize, usize)>, SubsampleError> {
    let ls = nal_length_size as usize;
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < sample.len() {
        if sample.len() - pos < ls {
            return Err(SubsampleError::ShortLengthField {
                offset: pos,
                left: sample.len() - pos,
            });
        }
        let nal_len = sample[pos..pos + ls]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        let start = pos + ls;
        let end = start
            .checked_add(nal_len)
            .filter(|&e| e <= sample.len())
            .ok_or(SubsampleError::NalOverrun {
                offset: pos,
                claimed: nal_len,
                left: sample.len() - start,
            })?;
        let class = parser
            .classify(&sample[start..end])
            .map_err(|source| SubsampleError::Nal {
                offset: pos,
                source,
            })?;
        if let NalClass::Vcl { header_len } = class {
            let header_len = header_len.min(nal_len);
            out.push((start + header_len, nal_len - header_len));
        }
        pos = end;
    }
    Ok(out)
}

/// Lays out a sample of `size` bytes whose protectable ranges are `ranges` (in order, not
/// overlapping): one subsample per range that protects at least one byte, everything else
/// clear, the block remainder placed per `alignment`.
fn layout(ranges: &[(usize, usize)], size: usize, alignment: Alignment) -> Vec<Subsample> {
    let mut out = Vec::new();
    let mut pending_clear: u64 = 0;
    let mut pos = 0usize;
    for &(start, len) in ranges {
        pending_clear += (start - pos) as u64;
        pos = start + len;
        let protected = match alignment {
            Alignment::Unaligned => len,
            _ => len & !15,
        };
        if protected == 0 {
            pending_clear += len as u64;
            continue;
        }
        let remainder = (len - protected) as u64;
        match alignment {
            Alignment::LeadingClear => {
                push(&mut out, pending_clear + remainder, protected as u32);
                pending_clear = 0;
            }
            Alignment::TrailingClear | Alignment::Unaligned => {
                push(&mut out, pending_clear, protected as u32);
                pending_clear = remainder;
            }
        }
    }
    pending_clear += (size - pos) as u64;
    if pending_clear > 0 || out.is_empty() {
        push(&mut out, pending_clear, 0);
    }
    out
}

/// Appends a subsample, splitting clear runs longer than u16 into clear-only entries first.
fn push(out: &mut Vec<Subsample>, mut clear: u64, protected: u32) {
    while clear > u16::MAX as u64 {
        out.push(Subsample {
            clear: u16::MAX,
            protected: 0,
        });
        clear -= u16::MAX as u64;
    }
    out.push(Subsample {
        clear: clear as u16,
        protected,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake codec setup where every NAL is non-VCL (AVC type 6 = SEI) except type 1 slices; we
    /// use HEVC-free AVC with an SPS/PPS pair written by x264 (320x240 High profile).
    fn avc_format() -> NalFormat {
        // SPS/PPS from an x264 320x240 encode (avcC of ffmpeg testsrc2).
        let sps = hex::decode("6764000dacd94141fb011000000300100000030320f1429960").unwrap();
        let pps = hex::decode("68ebe3cb22c0").unwrap();
        NalFormat {
            codec: VideoCodec::Avc,
            nal_length_size: 4,
            parameter_sets: vec![sps, pps],
        }
    }

    fn nal(bytes: &[u8]) -> Vec<u8> {
        let mut v = (bytes.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn non_vcl_only_sample_is_one_clear_subsample() {
        let mut m = SubsampleMapper::new(avc_format(), Alignment::LeadingClear).unwrap();
        let sample = [nal(&[0x09, 0xf0]), nal(&[0x06, 5, 1, 0, 0x80])].concat();
        assert_eq!(
            m.map(&sample).unwrap(),
            vec![Subsample {
                clear: sample.len() as u16,
                protected: 0
            }]
        );
    }

    #[test]
    fn huge_clear_runs_are_split_at_u16() {
        let mut m = SubsampleMapper::new(avc_format(), Alignment::LeadingClear).unwrap();
        let mut sei = vec![0x06];
        sei.resize(70_000, 0x55);
        let sample = nal(&sei);
        let map = m.map(&sample).unwrap();
        assert_eq!(
            map,
            vec![
                Subsample {
                    clear: 65535,
                    protected: 0
                },
                Subsample {
                    clear: (70_004 - 65535) as u16,
                    protected: 0
                }
            ]
        );
    }

    #[test]
    fn malformed_lengths_are_errors() {
        let mut m = SubsampleMapper::new(avc_format(), Alignment::LeadingClear).unwrap();
        assert!(m
            .map(&[0, 0, 0, 9, 0x06, 1])
            .unwrap_err()
            .to_string()
            .contains("claims 9 bytes"));
        assert!(m
            .map(&[0, 0])
            .unwrap_err()
            .to_string()
            .contains("too short"));
        let bad = NalFormat {
            nal_length_size: 3,
            ..avc_format()
        };
        assert!(SubsampleMapper::new(bad, Alignment::LeadingClear).is_err());
    }

    #[test]
    fn codec_errors_keep_the_nal_offset_and_cause() {
        use std::error::Error as _;
        let mut m = SubsampleMapper::new(avc_format(), Alignment::LeadingClear).unwrap();
        // An AUD, then an IDR slice referring to PPS 1 (only PPS 0 is known).
        let sample = [nal(&[0x09, 0xf0]), nal(&[0x65, 0b1000_1010, 0x40, 0x55])].concat();
        let e = m.map(&sample).unwrap_err();
        assert!(matches!(e, SubsampleError::Nal { offset: 6, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "NAL unit at offset 6: slice refers to unknown H.264 PPS 1"
        );
        assert!(e.source().is_some());
        // A parameter set of the record that does not parse.
        let bad = NalFormat {
            parameter_sets: vec![vec![0x67, 0x64]],
            ..avc_format()
        };
        let e = SubsampleMapper::new(bad, Alignment::LeadingClear).unwrap_err();
        assert!(matches!(e, SubsampleError::ParameterSet(_)), "{e}");
    }
}
