//! Codec configuration read from a sample entry: RFC 6381 codec strings and the fields manifests
//! need. (Stub: owned by the manifests/codecs work.)

/// What a sample entry says about its codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodecInfo {
    /// The sample entry 4CC as found (`avc1`, `hev1`, `mp4a`, `encv` is never seen here).
    pub fourcc: String,
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `hvc1.1.6.L93.B0`, `mp4a.40.2`.
    pub codec_string: String,
    /// Visual sample entry width/height.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Pixel aspect ratio from `pasp` (h_spacing, v_spacing).
    pub sar: Option<(u32, u32)>,
    /// Audio sample rate (Hz) and channel count (from esds AudioSpecificConfig when present).
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    /// NAL unit length field size in bytes (avcC/hvcC lengthSizeMinusOne + 1).
    pub nal_length_size: Option<u8>,
    /// Parameter set NAL units (VPS/SPS/PPS) from avcC/hvcC, without length prefixes.
    pub parameter_sets: Vec<Vec<u8>>,
}

/// Parses a whole sample entry box (header included).
pub fn parse_sample_entry(entry: &[u8]) -> Result<CodecInfo, String> {
    let _ = entry;
    Err("codec parsing not implemented yet".into())
}
