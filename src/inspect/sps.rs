//! H.264 sequence parameter set, read to its VUI (ITU-T H.264 §7.3.2.1.1 and Annex E.1.1): what
//! `inspect` shows of a stream beyond its sample entry — chroma format, bit depth, cropped size,
//! colour description and timing. HEVC's VUI follows fields this reader does not walk (short-term
//! reference picture sets); HEVC figures come from hvcC and `colr` instead.
use crate::cenc::nal::BitReader;

/// What an H.264 SPS says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvcSps {
    pub profile_idc: u8,
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub chroma_format_idc: u32,
    pub bit_depth_luma: u32,
    pub bit_depth_chroma: u32,
    /// Picture size after the frame cropping window.
    pub width: u32,
    pub height: u32,
    pub frame_mbs_only: bool,
    pub sar: Option<(u32, u32)>,
    /// video_full_range_flag, when video_signal_type is present.
    pub full_range: Option<bool>,
    /// colour_primaries, transfer_characteristics, matrix_coefficients (ITU-T H.273 code points).
    pub colour: Option<(u8, u8, u8)>,
    /// num_units_in_tick, time_scale, fixed_frame_rate_flag.
    pub timing: Option<(u32, u32, bool)>,
}

/// Why an SPS could not be read (`inspect` shows it as a note on the sample entry).
#[derive(Debug)]
pub enum SpsError {
    /// Not an SPS NAL unit (type 7), or shorter than its fixed fields.
    NotSps,
    /// A syntax element that cannot be read (the bit reader's error).
    Syntax(Box<dyn std::error::Error + Send + Sync>),
    /// The cropped width (`"width"`) or height does not fit in 32 bits.
    OutOfRange(&'static str),
}

impl std::fmt::Display for SpsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpsError::NotSps => f.write_str("not an H.264 SPS NAL unit"),
            SpsError::Syntax(e) => write!(f, "SPS: {e}"),
            SpsError::OutOfRange(what) => write!(f, "SPS {what} out of range"),
        }
    }
}

impl std::error::Error for SpsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpsError::Syntax(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

type R<T> = Result<T, SpsError>;

fn e<E: std::error::Error + Send + Sync + 'static>(err: E) -> SpsError {
    SpsError::Syntax(Box::new(err))
}

/// Table E-1: sample aspect ratios of aspect_ratio_idc 1..=16.
const SAR: [(u32, u32); 16] = [
    (1, 1),
    (12, 11),
    (10, 11),
    (16, 11),
    (40, 33),
    (24, 11),
    (20, 11),
    (32, 11),
    (80, 33),
    (18, 11),
    (15, 11),
    (64, 33),
    (160, 99),
    (4, 3),
    (3, 2),
    (2, 1),
];

/// Parses an SPS NAL unit (with its one-byte NAL header).
pub fn parse_avc_sps(nal: &[u8]) -> R<AvcSps> {
    if nal.len() < 4 || nal[0] & 0x1f != 7 {
        return Err(SpsError::NotSps);
    }
    let mut r = BitReader::new(&nal[1..]);
    let mut s = AvcSps {
        profile_idc: r.bits(8).map_err(e)? as u8,
        constraint_flags: r.bits(8).map_err(e)? as u8,
        level_idc: r.bits(8).map_err(e)? as u8,
        chroma_format_idc: 1,
        bit_depth_luma: 8,
        bit_depth_chroma: 8,
        ..AvcSps::default()
    };
    r.ue_max(31, "seq_parameter_set_id").map_err(e)?;
    let mut separate_colour_plane = false;
    if matches!(
        s.profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        s.chroma_format_idc = r.ue_max(3, "chroma_format_idc").map_err(e)?;
        if s.chroma_format_idc == 3 {
            separate_colour_plane = r.flag().map_err(e)?;
        }
        s.bit_depth_luma = r.ue_max(6, "bit_depth_luma_minus8").map_err(e)? + 8;
        s.bit_depth_chroma = r.ue_max(6, "bit_depth_chroma_minus8").map_err(e)? + 8;
        r.flag().map_err(e)?; // qpprime_y_zero_transform_bypass_flag
        if r.flag().map_err(e)? {
            let lists = if s.chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag().map_err(e)? {
                    scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue_max(12, "log2_max_frame_num_minus4").map_err(e)?;
    let poc_type = r.ue_max(2, "pic_order_cnt_type").map_err(e)?;
    if poc_type == 0 {
        r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")
            .map_err(e)?;
    } else if poc_type == 1 {
        r.flag().map_err(e)?;
        r.se().map_err(e)?;
        r.se().map_err(e)?;
        let n = r
            .ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")
            .map_err(e)?;
        for _ in 0..n {
            r.se().map_err(e)?;
        }
    }
    r.ue().map_err(e)?; // max_num_ref_frames
    r.flag().map_err(e)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue_max(1 << 16, "pic_width_in_mbs_minus1").map_err(e)?) + 1;
    let height_units = u64::from(
        r.ue_max(1 << 16, "pic_height_in_map_units_minus1")
            .map_err(e)?,
    ) + 1;
    s.frame_mbs_only = r.flag().map_err(e)?;
    if !s.frame_mbs_only {
        r.flag().map_err(e)?; // mb_adaptive_frame_field_flag
    }
    r.flag().map_err(e)?; // direct_8x8_inference_flag
    let mut width = width_mbs * 16;
    let mut height = height_units * 16 * if s.frame_mbs_only { 1 } else { 2 };
    if r.flag().map_err(e)? {
        // frame_cropping: offsets in chroma units (§7.4.2.1.1, equations 7-19..7-22).
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            s.chroma_format_idc
        };
        let (sub_w, sub_h) = match chroma_array_type {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let crop_x = if chroma_array_type == 0 { 1 } else { sub_w };
        let crop_y =
            (if chroma_array_type == 0 { 1 } else { sub_h }) * if s.frame_mbs_only { 1 } else { 2 };
        let l = u64::from(r.ue().map_err(e)?);
        let rr = u64::from(r.ue().map_err(e)?);
        let t = u64::from(r.ue().map_err(e)?);
        let b = u64::from(r.ue().map_err(e)?);
        width = width.saturating_sub(crop_x * (l + rr));
        height = height.saturating_sub(crop_y * (t + b));
    }
    s.width = u32::try_from(width).map_err(|_| SpsError::OutOfRange("width"))?;
    s.height = u32::try_from(height).map_err(|_| SpsError::OutOfRange("height"))?;
    if r.flag().map_err(e)? {
        vui(&mut r, &mut s)?;
    }
    Ok(s)
}

/// Annex E.1.1 vui_parameters(), up to the timing information.
fn vui(r: &mut BitReader, s: &mut AvcSps) -> R<()> {
    if r.flag().map_err(e)? {
        let idc = r.bits(8).map_err(e)?;
        s.sar = match idc {
            1..=16 => Some(SAR[idc as usize - 1]),
            255 => Some((r.bits(16).map_err(e)?, r.bits(16).map_err(e)?)),
            _ => None,
        };
    }
    if r.flag().map_err(e)? {
        r.flag().map_err(e)?; // overscan_appropriate_flag
    }
    if r.flag().map_err(e)? {
        r.bits(3).map_err(e)?; // video_format
        s.full_range = Some(r.flag().map_err(e)?);
        if r.flag().map_err(e)? {
            s.colour = Some((
                r.bits(8).map_err(e)? as u8,
                r.bits(8).map_err(e)? as u8,
                r.bits(8).map_err(e)? as u8,
            ));
        }
    }
    if r.flag().map_err(e)? {
        r.ue().map_err(e)?; // chroma_sample_loc_type_top_field
        r.ue().map_err(e)?; // chroma_sample_loc_type_bottom_field
    }
    if r.flag().map_err(e)? {
        let units = r.bits(32).map_err(e)?;
        let scale = r.bits(32).map_err(e)?;
        let fixed = r.flag().map_err(e)?;
        s.timing = Some((units, scale, fixed));
    }
    Ok(())
}

/// §7.3.2.1.1.1 scaling_list(): only read past.
fn scaling_list(r: &mut BitReader, size: usize) -> R<()> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se().map_err(e)?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
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
            (s.profile_idc, s.constraint_flags, s.level_idc),
            (66, 0xc0, 21)
        );
        assert_eq!((s.width, s.height), (426, 240));
        assert_eq!((s.chroma_format_idc, s.bit_depth_luma), (1, 8));
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
