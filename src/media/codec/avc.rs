//! H.264 / AVC syntax: the AVCDecoderConfigurationRecord (`avcC`) and its RFC 6381 codec string,
//! NAL unit types, the sequence and picture parameter sets, and the slice header up to its last
//! bit.
//!
//! The slice header length is what subsample encryption needs (ISO/IEC 23001-7 §10.2/§10.4: NAL
//! header and slice header stay clear); the SPS through its VUI is what `vodpack inspect` shows.
//! Both read the SPS with the same code ([`AvcSps::read`]). Syntax per ITU-T H.264 §7.3.
use std::collections::HashMap;

use super::bits::{ceil_log2, BitReader};
use super::error::{CodecError, CodecResult};
use super::nal::{nal_length_size, NalClass, VideoCodec, NAL_LENGTH_SIZE_3};
use crate::mp4::ByteReader;

/// nal_unit_type of an SPS (Table 7-1).
pub const NAL_SPS: u8 = 7;
/// nal_unit_type of a PPS (Table 7-1).
pub const NAL_PPS: u8 = 8;
/// nal_unit_type of an IDR slice (Table 7-1).
pub const NAL_IDR: u8 = 5;

/// nal_unit_type from the first byte of a NAL unit (§7.3.1: its low 5 bits).
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

/// What an AVCDecoderConfigurationRecord says (ISO/IEC 14496-15 §5.3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// AVCProfileIndication (profile_idc).
    pub profile: u8,
    /// profile_compatibility (the constraint_set flags).
    pub compatibility: u8,
    /// AVCLevelIndication (level_idc).
    pub level: u8,
    /// lengthSizeMinusOne + 1: 1, 2 or 4.
    pub nal_length_size: u8,
    /// The SPS then the PPS NAL units, without length prefixes.
    pub parameter_sets: Vec<Vec<u8>>,
}

impl AvcConfig {
    /// Reads an `avcC` box body.
    pub fn parse(avcc: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(avcc, *b"avcC");
        let version = r.u8()?;
        if version != 1 {
            return Err(CodecError::invalid(
                "avcC",
                format!("configurationVersion {version} (expected 1)"),
            ));
        }
        let profile = r.u8()?;
        let compatibility = r.u8()?;
        let level = r.u8()?;
        let nal_length_size = nal_length_size(r.u8()? & 0x03)
            .ok_or_else(|| CodecError::invalid("avcC", NAL_LENGTH_SIZE_3))?;
        let mut parameter_sets = Vec::new();
        let sps_count = r.u8()? & 0x1f;
        for _ in 0..sps_count {
            let len = usize::from(r.u16()?);
            parameter_sets.push(r.bytes(len)?.to_vec());
        }
        let pps_count = r.u8()?;
        for _ in 0..pps_count {
            let len = usize::from(r.u16()?);
            parameter_sets.push(r.bytes(len)?.to_vec());
        }
        // Profiles 100/110/122/144 may carry chroma/bit-depth fields and SPS extensions after
        // the PPS list (§5.3.3.1.2); nothing here needs them.
        Ok(AvcConfig {
            profile,
            compatibility,
            level,
            nal_length_size,
            parameter_sets,
        })
    }

    /// The first SPS of the record, if it lists one.
    pub fn first_sps(&self) -> Option<&[u8]> {
        self.parameter_sets
            .iter()
            .find(|n| n.first().is_some_and(|&h| nal_type(h) == NAL_SPS))
            .map(Vec::as_slice)
    }

    /// The RFC 6381 §3.3 codec string `avc1.PPCCLL` (profile_idc, constraint flags, level_idc in
    /// hex) for the sample entry 4CC `fourcc` (`avc1` or `avc3`).
    pub fn codec_string(&self, fourcc: &str) -> String {
        format!(
            "{fourcc}.{:02x}{:02x}{:02x}",
            self.profile, self.compatibility, self.level
        )
    }
}

/// The fields of a sequence parameter set up to frame_mbs_only_flag (§7.3.2.1.1): what slice
/// headers depend on, plus profile, level, chroma format and bit depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcSps {
    /// profile_idc.
    pub profile_idc: u8,
    /// constraint_set0..5_flag and reserved_zero_2bits.
    pub constraint_flags: u8,
    /// level_idc.
    pub level_idc: u8,
    /// seq_parameter_set_id.
    pub id: u32,
    /// chroma_format_idc (1 when the profile does not code it).
    pub chroma_format_idc: u32,
    /// separate_colour_plane_flag.
    pub separate_colour_plane: bool,
    /// bit_depth_luma_minus8 as coded (0 when the profile does not code it).
    pub bit_depth_luma_minus8: u32,
    /// bit_depth_chroma_minus8 as coded.
    pub bit_depth_chroma_minus8: u32,
    /// log2_max_frame_num_minus4 + 4.
    pub log2_max_frame_num: u32,
    /// pic_order_cnt_type.
    pub poc_type: u32,
    /// log2_max_pic_order_cnt_lsb_minus4 + 4 (0 unless poc_type is 0).
    pub log2_max_poc_lsb: u32,
    /// delta_pic_order_always_zero_flag.
    pub delta_pic_order_always_zero: bool,
    /// pic_width_in_mbs_minus1 + 1.
    pub width_mbs: u64,
    /// pic_height_in_map_units_minus1 + 1.
    pub height_map_units: u64,
    /// frame_mbs_only_flag.
    pub frame_mbs_only: bool,
    /// PicSizeInMapUnits (7-13).
    pub pic_size_in_map_units: u32,
}

/// Profiles whose SPS codes chroma_format_idc, bit depths and scaling matrices (§7.3.2.1.1).
fn has_chroma_fields(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

impl AvcSps {
    /// ChromaArrayType (§7.4.2.1.1): 0 with separate colour planes, else chroma_format_idc.
    pub fn chroma_array_type(&self) -> u32 {
        if self.separate_colour_plane {
            0
        } else {
            self.chroma_format_idc
        }
    }

    /// Parses an SPS RBSP (the bytes after the one-byte NAL header) up to frame_mbs_only_flag.
    pub fn parse(rbsp: &[u8]) -> CodecResult<Self> {
        Self::read(&mut BitReader::rbsp(rbsp, "H.264 SPS"))
    }

    /// Reads the SPS fields up to frame_mbs_only_flag from `r`, leaving it just after them.
    pub fn read(r: &mut BitReader) -> CodecResult<Self> {
        // u(8) values: the casts cannot truncate.
        let profile_idc = r.bits(8)? as u8;
        let constraint_flags = r.bits(8)? as u8;
        let level_idc = r.bits(8)? as u8;
        let id = r.ue_max(31, "seq_parameter_set_id")?;
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        let mut bit_depth_luma_minus8 = 0;
        let mut bit_depth_chroma_minus8 = 0;
        if has_chroma_fields(profile_idc) {
            chroma_format_idc = r.ue_max(3, "chroma_format_idc")?;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.flag()?;
            }
            bit_depth_luma_minus8 = r.ue()?;
            bit_depth_chroma_minus8 = r.ue()?;
            r.flag()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        scaling_list(r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let log2_max_frame_num = r.ue_max(12, "log2_max_frame_num_minus4")? + 4;
        let poc_type = r.ue_max(2, "pic_order_cnt_type")?;
        let mut log2_max_poc_lsb = 0;
        let mut delta_pic_order_always_zero = false;
        if poc_type == 0 {
            log2_max_poc_lsb = r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? + 4;
        } else if poc_type == 1 {
            delta_pic_order_always_zero = r.flag()?;
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let n = r.ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")?;
            for _ in 0..n {
                r.se()?;
            }
        }
        r.ue()?; // max_num_ref_frames
        r.flag()?; // gaps_in_frame_num_value_allowed_flag
        let width_mbs = u64::from(r.ue()?) + 1;
        let height_map_units = u64::from(r.ue()?) + 1;
        let frame_mbs_only = r.flag()?;
        // Both factors are below 2^32: the product fits in u64.
        let pic_size_in_map_units = u32::try_from(width_mbs * height_map_units)
            .map_err(|_| CodecError::invalid("H.264 SPS", "picture size out of range"))?;
        Ok(AvcSps {
            profile_idc,
            constraint_flags,
            level_idc,
            id,
            chroma_format_idc,
            separate_colour_plane,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            log2_max_frame_num,
            poc_type,
            log2_max_poc_lsb,
            delta_pic_order_always_zero,
            width_mbs,
            height_map_units,
            frame_mbs_only,
            pic_size_in_map_units,
        })
    }
}

/// A whole SPS read through its VUI timing information (§7.3.2.1.1 and Annex E.1.1): what
/// `vodpack inspect` shows beyond the sample entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcSpsDetails {
    /// The fields slices depend on, profile and level.
    pub sps: AvcSps,
    /// Luma bit depth (8..=14).
    pub bit_depth_luma: u32,
    /// Chroma bit depth (8..=14).
    pub bit_depth_chroma: u32,
    /// Picture width after the frame cropping window.
    pub width: u32,
    /// Picture height after the frame cropping window.
    pub height: u32,
    /// Sample aspect ratio from the VUI.
    pub sar: Option<(u32, u32)>,
    /// video_full_range_flag, when video_signal_type is present.
    pub full_range: Option<bool>,
    /// colour_primaries, transfer_characteristics, matrix_coefficients (ITU-T H.273 code points).
    pub colour: Option<(u8, u8, u8)>,
    /// num_units_in_tick, time_scale, fixed_frame_rate_flag.
    pub timing: Option<(u32, u32, bool)>,
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

fn at_most(value: u64, max: u64, field: &'static str) -> CodecResult<()> {
    if value > max {
        return Err(CodecError::OutOfRange {
            what: "H.264 SPS",
            field,
            value,
            max,
        });
    }
    Ok(())
}

impl AvcSpsDetails {
    /// Parses an SPS NAL unit (with its one-byte NAL header) through the VUI timing fields.
    pub fn parse(nal: &[u8]) -> CodecResult<Self> {
        if nal.len() < 4 || nal_type(nal[0]) != NAL_SPS {
            return Err(CodecError::invalid(
                "H.264 SPS",
                "not an H.264 SPS NAL unit",
            ));
        }
        let mut r = BitReader::rbsp(&nal[1..], "H.264 SPS");
        let sps = AvcSps::read(&mut r)?;
        at_most(sps.bit_depth_luma_minus8.into(), 6, "bit_depth_luma_minus8")?;
        at_most(
            sps.bit_depth_chroma_minus8.into(),
            6,
            "bit_depth_chroma_minus8",
        )?;
        at_most(sps.width_mbs - 1, 1 << 16, "pic_width_in_mbs_minus1")?;
        at_most(
            sps.height_map_units - 1,
            1 << 16,
            "pic_height_in_map_units_minus1",
        )?;
        if !sps.frame_mbs_only {
            r.flag()?; // mb_adaptive_frame_field_flag
        }
        r.flag()?; // direct_8x8_inference_flag
        let frame_factor = if sps.frame_mbs_only { 1 } else { 2 };
        let mut width = sps.width_mbs * 16;
        let mut height = sps.height_map_units * 16 * frame_factor;
        if r.flag()? {
            // frame_cropping: offsets in chroma units (§7.4.2.1.1, equations 7-19..7-22).
            let chroma_array_type = sps.chroma_array_type();
            let (sub_w, sub_h) = match chroma_array_type {
                1 => (2, 2),
                2 => (2, 1),
                _ => (1, 1),
            };
            let crop_x = if chroma_array_type == 0 { 1 } else { sub_w };
            let crop_y = (if chroma_array_type == 0 { 1 } else { sub_h }) * frame_factor;
            let left = u64::from(r.ue()?);
            let right = u64::from(r.ue()?);
            let top = u64::from(r.ue()?);
            let bottom = u64::from(r.ue()?);
            width = width.saturating_sub(crop_x * (left + right));
            height = height.saturating_sub(crop_y * (top + bottom));
        }
        let mut d = AvcSpsDetails {
            bit_depth_luma: sps.bit_depth_luma_minus8 + 8,
            bit_depth_chroma: sps.bit_depth_chroma_minus8 + 8,
            sps,
            width: u32::try_from(width)
                .map_err(|_| CodecError::invalid("H.264 SPS", "width out of range"))?,
            height: u32::try_from(height)
                .map_err(|_| CodecError::invalid("H.264 SPS", "height out of range"))?,
            sar: None,
            full_range: None,
            colour: None,
            timing: None,
        };
        if r.flag()? {
            d.read_vui(&mut r)?;
        }
        Ok(d)
    }

    /// Annex E.1.1 vui_parameters(), up to the timing information.
    fn read_vui(&mut self, r: &mut BitReader) -> CodecResult<()> {
        if r.flag()? {
            let idc = r.bits(8)?;
            self.sar = match idc {
                1..=16 => SAR.get(idc as usize - 1).copied(),
                255 => Some((r.bits(16)?, r.bits(16)?)),
                _ => None,
            };
        }
        if r.flag()? {
            r.flag()?; // overscan_appropriate_flag
        }
        if r.flag()? {
            r.bits(3)?; // video_format
            self.full_range = Some(r.flag()?);
            if r.flag()? {
                // u(8) each: the casts cannot truncate.
                self.colour = Some((r.bits(8)? as u8, r.bits(8)? as u8, r.bits(8)? as u8));
            }
        }
        if r.flag()? {
            r.ue()?; // chroma_sample_loc_type_top_field
            r.ue()?; // chroma_sample_loc_type_bottom_field
        }
        if r.flag()? {
            let units = r.bits(32)?;
            let scale = r.bits(32)?;
            let fixed = r.flag()?;
            self.timing = Some((units, scale, fixed));
        }
        Ok(())
    }
}

/// §7.3.2.1.1.1 scaling_list(): read past.
fn scaling_list(r: &mut BitReader, size: u32) -> CodecResult<()> {
    let mut last = 8i32;
    let mut next = 8i32;
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            // |delta| < 2^31 and 0 ≤ last < 256: no overflow in i64.
            next = (i64::from(last) + i64::from(delta) + 256).rem_euclid(256) as i32;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// The fields of a picture parameter set that slice headers depend on (§7.3.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcPps {
    /// pic_parameter_set_id.
    pub id: u32,
    /// seq_parameter_set_id.
    pub sps_id: u32,
    /// entropy_coding_mode_flag.
    pub entropy_coding_mode: bool,
    /// bottom_field_pic_order_in_frame_present_flag.
    pub bottom_field_pic_order_in_frame_present: bool,
    /// num_slice_groups_minus1.
    pub num_slice_groups_minus1: u32,
    /// slice_group_map_type.
    pub slice_group_map_type: u32,
    /// slice_group_change_rate_minus1 + 1.
    pub slice_group_change_rate: u32,
    /// num_ref_idx_l0_default_active_minus1.
    pub num_ref_idx_l0_default_minus1: u32,
    /// num_ref_idx_l1_default_active_minus1.
    pub num_ref_idx_l1_default_minus1: u32,
    /// weighted_pred_flag.
    pub weighted_pred: bool,
    /// weighted_bipred_idc.
    pub weighted_bipred_idc: u32,
    /// deblocking_filter_control_present_flag.
    pub deblocking_filter_control_present: bool,
    /// redundant_pic_cnt_present_flag.
    pub redundant_pic_cnt_present: bool,
}

impl AvcPps {
    /// Parses a PPS RBSP (after the NAL header), §7.3.2.2, up to redundant_pic_cnt_present_flag.
    pub fn parse(rbsp: &[u8]) -> CodecResult<Self> {
        let mut r = BitReader::rbsp(rbsp, "H.264 PPS");
        let id = r.ue_max(255, "pic_parameter_set_id")?;
        let sps_id = r.ue_max(31, "seq_parameter_set_id")?;
        let entropy_coding_mode = r.flag()?;
        let bottom_field_pic_order_in_frame_present = r.flag()?;
        let num_slice_groups_minus1 = r.ue_max(7, "num_slice_groups_minus1")?;
        let mut slice_group_map_type = 0;
        let mut slice_group_change_rate = 1;
        if num_slice_groups_minus1 > 0 {
            slice_group_map_type = r.ue_max(6, "slice_group_map_type")?;
            match slice_group_map_type {
                0 => {
                    for _ in 0..=num_slice_groups_minus1 {
                        r.ue()?; // run_length_minus1
                    }
                }
                2 => {
                    for _ in 0..num_slice_groups_minus1 {
                        r.ue()?; // top_left
                        r.ue()?; // bottom_right
                    }
                }
                3..=5 => {
                    r.flag()?; // slice_group_change_direction_flag
                    slice_group_change_rate = r.ue()?.saturating_add(1);
                }
                6 => {
                    let n = u64::from(r.ue()?) + 1;
                    let bits = ceil_log2(num_slice_groups_minus1 + 1);
                    for _ in 0..n {
                        r.skip(bits)?; // slice_group_id
                    }
                }
                _ => {}
            }
        }
        let num_ref_idx_l0_default_minus1 = r.ue_max(31, "num_ref_idx_l0_default_active_minus1")?;
        let num_ref_idx_l1_default_minus1 = r.ue_max(31, "num_ref_idx_l1_default_active_minus1")?;
        let weighted_pred = r.flag()?;
        let weighted_bipred_idc = r.bits(2)?;
        r.se()?; // pic_init_qp_minus26
        r.se()?; // pic_init_qs_minus26
        r.se()?; // chroma_qp_index_offset
        let deblocking_filter_control_present = r.flag()?;
        r.flag()?; // constrained_intra_pred_flag
        let redundant_pic_cnt_present = r.flag()?;
        Ok(AvcPps {
            id,
            sps_id,
            entropy_coding_mode,
            bottom_field_pic_order_in_frame_present,
            num_slice_groups_minus1,
            slice_group_map_type,
            slice_group_change_rate,
            num_ref_idx_l0_default_minus1,
            num_ref_idx_l1_default_minus1,
            weighted_pred,
            weighted_bipred_idc,
            deblocking_filter_control_present,
            redundant_pic_cnt_present,
        })
    }
}

/// The H.264 parameter sets of one track, learnt from `avcC` and in band, and the slice header
/// lengths they determine.
#[derive(Debug, Clone, Default)]
pub struct AvcParameterSets {
    sps: HashMap<u32, AvcSps>,
    pps: HashMap<u32, AvcPps>,
}

impl AvcParameterSets {
    /// Classifies one NAL unit (no length prefix), learning SPS and PPS as they pass.
    pub fn classify(&mut self, nal: &[u8]) -> CodecResult<NalClass> {
        let Some(&h) = nal.first() else {
            return Ok(NalClass::NonVcl);
        };
        let kind = nal_type(h);
        match kind {
            NAL_SPS => {
                let sps = AvcSps::parse(&nal[1..])?;
                self.sps.insert(sps.id, sps);
                Ok(NalClass::NonVcl)
            }
            NAL_PPS => {
                let pps = AvcPps::parse(&nal[1..])?;
                self.pps.insert(pps.id, pps);
                Ok(NalClass::NonVcl)
            }
            1..=5 => {
                let header_bytes = self.slice_header_len(kind, (h >> 5) & 3, &nal[1..])?;
                Ok(NalClass::Vcl {
                    header_len: 1 + header_bytes,
                })
            }
            _ => Ok(NalClass::NonVcl),
        }
    }

    /// Length in bytes (after the one-byte NAL header, emulation prevention bytes included) of
    /// a slice header, §7.3.3.
    pub fn slice_header_len(
        &self,
        nal_type: u8,
        nal_ref_idc: u8,
        rbsp: &[u8],
    ) -> CodecResult<usize> {
        let mut r = BitReader::rbsp(rbsp, "H.264 slice header");
        r.ue()?; // first_mb_in_slice
        let slice_type = r.ue_max(9, "slice_type")? % 5;
        let (is_p, is_b, is_i, is_sp, is_si) = (
            slice_type == 0,
            slice_type == 1,
            slice_type == 2,
            slice_type == 3,
            slice_type == 4,
        );
        let pps_id = r.ue_max(255, "pic_parameter_set_id")?;
        let pps = self
            .pps
            .get(&pps_id)
            .ok_or(CodecError::UnknownParameterSet {
                codec: VideoCodec::Avc,
                referrer: "slice",
                kind: "PPS",
                id: pps_id,
            })?;
        let sps = self
            .sps
            .get(&pps.sps_id)
            .ok_or(CodecError::UnknownParameterSet {
                codec: VideoCodec::Avc,
                referrer: "PPS",
                kind: "SPS",
                id: pps.sps_id,
            })?;
        if sps.separate_colour_plane {
            r.skip(2)?; // colour_plane_id
        }
        r.skip(sps.log2_max_frame_num)?; // frame_num
        let mut field_pic = false;
        if !sps.frame_mbs_only {
            field_pic = r.flag()?;
            if field_pic {
                r.flag()?; // bottom_field_flag
            }
        }
        let idr = nal_type == NAL_IDR;
        if idr {
            r.ue()?; // idr_pic_id
        }
        if sps.poc_type == 0 {
            r.skip(sps.log2_max_poc_lsb)?; // pic_order_cnt_lsb
            if pps.bottom_field_pic_order_in_frame_present && !field_pic {
                r.se()?; // delta_pic_order_cnt_bottom
            }
        }
        if sps.poc_type == 1 && !sps.delta_pic_order_always_zero {
            r.se()?; // delta_pic_order_cnt[0]
            if pps.bottom_field_pic_order_in_frame_present && !field_pic {
                r.se()?; // delta_pic_order_cnt[1]
            }
        }
        if pps.redundant_pic_cnt_present {
            r.ue()?;
        }
        if is_b {
            r.flag()?; // direct_spatial_mv_pred_flag
        }
        let mut l0 = pps.num_ref_idx_l0_default_minus1;
        let mut l1 = pps.num_ref_idx_l1_default_minus1;
        // num_ref_idx_active_override_flag
        if (is_p || is_sp || is_b) && r.flag()? {
            l0 = r.ue_max(31, "num_ref_idx_l0_active_minus1")?;
            if is_b {
                l1 = r.ue_max(31, "num_ref_idx_l1_active_minus1")?;
            }
        }
        // ref_pic_list_modification(), §7.3.3.1 (NAL types 20/21 are not classified as VCL).
        if !is_i && !is_si {
            ref_pic_list_modification(&mut r)?;
        }
        if is_b {
            ref_pic_list_modification(&mut r)?;
        }
        if (pps.weighted_pred && (is_p || is_sp)) || (pps.weighted_bipred_idc == 1 && is_b) {
            // pred_weight_table(), §7.3.3.2
            r.ue()?; // luma_log2_weight_denom
            if sps.chroma_array_type() != 0 {
                r.ue()?; // chroma_log2_weight_denom
            }
            let lists = if is_b { 2 } else { 1 };
            for list in 0..lists {
                let n = if list == 0 { l0 } else { l1 };
                for _ in 0..=n {
                    if r.flag()? {
                        r.se()?;
                        r.se()?;
                    }
                    if sps.chroma_array_type() != 0 && r.flag()? {
                        for _ in 0..4 {
                            r.se()?;
                        }
                    }
                }
            }
        }
        if nal_ref_idc != 0 {
            dec_ref_pic_marking(&mut r, idr)?;
        }
        if pps.entropy_coding_mode && !is_i && !is_si {
            r.ue()?; // cabac_init_idc
        }
        r.se()?; // slice_qp_delta
        if is_sp || is_si {
            if is_sp {
                r.flag()?; // sp_for_switch_flag
            }
            r.se()?; // slice_qs_delta
        }
        if pps.deblocking_filter_control_present {
            let idc = r.ue()?;
            if idc != 1 {
                r.se()?;
                r.se()?;
            }
        }
        if pps.num_slice_groups_minus1 > 0 && (3..=5).contains(&pps.slice_group_map_type) {
            let units = sps.pic_size_in_map_units / pps.slice_group_change_rate.max(1);
            // slice_group_change_cycle: Ceil(Log2(PicSizeInMapUnits ÷ SliceGroupChangeRate + 1)).
            r.skip(ceil_log2(units.saturating_add(1)))?;
        }
        Ok(r.bytes_consumed())
    }
}

/// dec_ref_pic_marking(), §7.3.3.3.
fn dec_ref_pic_marking(r: &mut BitReader, idr: bool) -> CodecResult<()> {
    if idr {
        r.skip(2)?; // no_output_of_prior_pics_flag, long_term_reference_flag
        return Ok(());
    }
    if !r.flag()? {
        return Ok(());
    }
    let mut guard = 0;
    loop {
        let op = r.ue()?;
        if op == 0 {
            return Ok(());
        }
        if op == 1 || op == 3 {
            r.ue()?; // difference_of_pic_nums_minus1
        }
        if op == 2 {
            r.ue()?; // long_term_pic_num
        }
        if op == 3 || op == 6 {
            r.ue()?; // long_term_frame_idx
        }
        if op == 4 {
            r.ue()?; // max_long_term_frame_idx_plus1
        }
        guard += 1;
        if guard > 66 || op > 6 {
            return Err(CodecError::invalid(
                "H.264 slice header",
                "bad memory_management_control_operation list",
            ));
        }
    }
}

/// ref_pic_list_modification(), §7.3.3.1, one list.
fn ref_pic_list_modification(r: &mut BitReader) -> CodecResult<()> {
    if !r.flag()? {
        return Ok(());
    }
    let mut guard = 0;
    loop {
        match r.ue()? {
            0..=2 => {
                r.ue()?; // abs_diff_pic_num_minus1 / long_term_pic_num
            }
            3 => return Ok(()),
            _ => {
                return Err(CodecError::invalid(
                    "H.264 slice header",
                    "bad modification_of_pic_nums_idc",
                ))
            }
        }
        guard += 1;
        if guard > 33 {
            return Err(CodecError::invalid(
                "H.264 slice header",
                "ref_pic_list_modification too long",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    /// fixtures/h264_240p.mp4's avcC SPS (x264, Constrained Baseline, level 2.1, 432x240 coded,
    /// cropped to 426x240); ffprobe: "Constrained Baseline", level 21, 426x240, yuv420p, 25/1.
    const SPS_240P: [u8; 23] = [
        0x67, 0x42, 0xc0, 0x15, 0xda, 0x06, 0xc7, 0xf9, 0x3c, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00,
        0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x8b, 0xa8,
    ];

    #[test]
    fn avcc_of_real_entries() {
        // expected.txt: the codec strings Shaka Packager reported for these files.
        for (name, codecs) in [
            ("h264_high", "avc1.64001e"),
            ("h264_main", "avc1.4d400c"),
            ("h264_baseline", "avc1.42c00d"),
        ] {
            let e = entry(name);
            let c = AvcConfig::parse(child_body(&e, b"avcC")).unwrap();
            assert_eq!(c.codec_string("avc1"), codecs, "{name}");
            assert_eq!(c.nal_length_size, 4, "{name}");
            let types: Vec<u8> = c.parameter_sets.iter().map(|n| nal_type(n[0])).collect();
            assert_eq!(types, vec![NAL_SPS, NAL_PPS], "{name}");
            // The SPS agrees with the record on profile, constraints and level.
            let sps = AvcSpsDetails::parse(&c.parameter_sets[0]).unwrap().sps;
            assert_eq!(
                (sps.profile_idc, sps.constraint_flags, sps.level_idc),
                (c.profile, c.compatibility, c.level),
                "{name}"
            );
        }
    }

    #[test]
    fn avcc_errors_name_the_field() {
        let e = AvcConfig::parse(&[2, 0x64, 0, 0x1e, 0xff]).unwrap_err();
        assert_eq!(e.to_string(), "avcC: configurationVersion 2 (expected 1)");
        let e = AvcConfig::parse(&[1, 0x64, 0, 0x1e, 0xfe]).unwrap_err();
        assert!(e.to_string().contains("lengthSizeMinusOne 2"), "{e}");
        // One SPS of 16 bytes announced, 2 given.
        let e = AvcConfig::parse(&[1, 0x64, 0, 0x1e, 0xff, 0xe1, 0, 16, 0x67, 0x64]).unwrap_err();
        assert!(matches!(e, CodecError::Box(_)), "{e}");
    }

    #[test]
    fn sps_details_of_a_fixture() {
        let s = AvcSpsDetails::parse(&SPS_240P).unwrap();
        assert_eq!(
            (s.sps.profile_idc, s.sps.constraint_flags, s.sps.level_idc),
            (66, 0xc0, 21)
        );
        assert_eq!((s.width, s.height), (426, 240));
        assert_eq!((s.sps.chroma_format_idc, s.bit_depth_luma), (1, 8));
        let (units, scale, _) = s.timing.unwrap();
        assert_eq!(scale / (2 * units), 25);
        // The slice-header view of the same SPS.
        let core = AvcSps::parse(&SPS_240P[1..]).unwrap();
        assert_eq!(core, s.sps);
        assert_eq!(core.pic_size_in_map_units, 27 * 15);
    }

    #[test]
    fn a_truncated_sps_is_an_error() {
        assert!(AvcSpsDetails::parse(&[0x67, 0x64, 0x00]).is_err());
        assert!(AvcSpsDetails::parse(&[0x68, 0x64, 0x00, 0x0d, 0xac]).is_err());
        let e = AvcSpsDetails::parse(&[0x67, 0x64, 0x00, 0x0d, 0xac]).unwrap_err();
        assert!(
            matches!(
                e,
                CodecError::BitsExhausted {
                    what: "H.264 SPS",
                    ..
                }
            ),
            "{e}"
        );
        // Every cut fails until the timing fields are complete; after them nothing is read.
        let full = AvcSpsDetails::parse(&SPS_240P).unwrap();
        let first_ok = (0..SPS_240P.len())
            .find(|&len| AvcSpsDetails::parse(&SPS_240P[..len]).is_ok())
            .unwrap_or(SPS_240P.len());
        assert!(first_ok >= 19, "parsed with only {first_ok} bytes");
        for len in first_ok..SPS_240P.len() {
            assert_eq!(AvcSpsDetails::parse(&SPS_240P[..len]).unwrap(), full);
        }
    }

    #[test]
    fn unknown_pps_is_an_error_not_a_panic() {
        let mut p = AvcParameterSets::default();
        // IDR slice: first_mb 0, slice_type 7 (I), pps_id 0
        let e = p.classify(&[0x65, 0b1000_1000, 0x80]).unwrap_err();
        assert!(e.to_string().contains("unknown H.264 PPS 0"), "{e}");
        assert_eq!(p.classify(&[0x06, 5, 1, 0]).unwrap(), NalClass::NonVcl);
        assert_eq!(p.classify(&[]).unwrap(), NalClass::NonVcl);
    }

    #[test]
    fn slice_header_length_of_an_idr_slice() {
        // Parameter sets from an x264 320x240 High profile encode; an IDR I slice:
        // first_mb 0 (1), slice_type 7 (0001000), pps 0 (1), frame_num u(4) 0000,
        // idr_pic_id 0 (1), poc lsb u(6) 000000, dec_ref_pic_marking 00, slice_qp_delta 0 (1),
        // deblocking idc 0 (1), alpha 0 (1), beta 0 (1) = 29 bits -> 4 bytes after the header.
        let sps = hex::decode("6764000dacd94141fb011000000300100000030320f1429960").unwrap();
        let pps = hex::decode("68ebe3cb22c0").unwrap();
        let mut p = AvcParameterSets::default();
        p.classify(&sps).unwrap();
        p.classify(&pps).unwrap();
        let core = AvcSps::parse(&sps[1..]).unwrap();
        let slice_bits = format!(
            "1 0001000 1 {} 1 {} 00 1 1 1 1",
            "0".repeat(core.log2_max_frame_num as usize),
            "0".repeat(core.log2_max_poc_lsb as usize)
        )
        .replace(' ', "");
        let mut bytes: Vec<u8> = slice_bits
            .as_bytes()
            .chunks(8)
            .map(|c| {
                let s: String = format!("{:0<8}", std::str::from_utf8(c).unwrap());
                u8::from_str_radix(&s, 2).unwrap()
            })
            .collect();
        let header_bytes = bytes.len();
        bytes.extend_from_slice(&[0xaa; 40]);
        let mut nal = vec![0x65];
        nal.extend_from_slice(&bytes);
        assert_eq!(
            p.classify(&nal).unwrap(),
            NalClass::Vcl {
                header_len: 1 + header_bytes
            }
        );
    }
}
