//! H.265 / HEVC syntax: the HEVCDecoderConfigurationRecord (`hvcC`) and its codec string, NAL
//! unit types, the SPS and PPS fields slice segment headers depend on, and the slice segment
//! header up to byte_alignment(), for every layer: parameter sets and slices with
//! nuh_layer_id > 0 (MV-HEVC) follow the multi-layer syntax of Annex F, with the VPS extension
//! read by [`super::hevc_layers`].
//!
//! The slice segment header length is what subsample encryption leaves clear (ISO/IEC 23001-7
//! §10.2/§10.4). Syntax per ITU-T H.265 §7.3; the codec string per ISO/IEC 14496-15 Annex E.3.
use std::collections::HashMap;
use std::sync::Arc;

use super::bits::{ceil_log2, BitReader};
use super::error::{CodecError, CodecResult};
use super::hevc_layers::{profile_tier_level, HevcVps, LayerSliceInfo, ProfileTierLevel};
use super::nal::{nal_length_size, NalClass, VideoCodec, NAL_LENGTH_SIZE_3};
use crate::mp4::ByteReader;

/// nal_unit_type of a VPS (Table 7-1).
pub const NAL_VPS: u8 = 32;
/// nal_unit_type of an SPS (Table 7-1).
pub const NAL_SPS: u8 = 33;
/// nal_unit_type of a PPS (Table 7-1).
pub const NAL_PPS: u8 = 34;

/// nal_unit_type from the first byte of a NAL unit (§7.3.1.2: bits 1..=6).
pub fn nal_type(header: u8) -> u8 {
    (header >> 1) & 0x3f
}

/// The first SPS among an hvcC's parameter sets, parsed; `None` when there is none or it does
/// not parse (for what is only reported, such as the VUI colour).
pub fn first_sps(parameter_sets: &[Vec<u8>]) -> Option<HevcSps> {
    parameter_sets
        .iter()
        .find(|n| n.len() > 2 && nal_type(n[0]) == NAL_SPS)
        .and_then(|n| HevcSps::parse(&n[2..]).ok())
}

/// What an HEVCDecoderConfigurationRecord says (ISO/IEC 14496-15 §8.3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcConfig {
    /// general_profile_space (0..=3).
    pub profile_space: u8,
    /// general_tier_flag.
    pub tier_high: bool,
    /// general_profile_idc.
    pub profile_idc: u8,
    /// general_profile_compatibility_flags.
    pub compatibility: u32,
    /// general_constraint_indicator_flags (48 bits).
    pub constraints: [u8; 6],
    /// general_level_idc.
    pub level_idc: u8,
    /// chromaFormat (chroma_format_idc, 0..=3).
    pub chroma_format_idc: u8,
    /// bitDepthLumaMinus8 + 8.
    pub bit_depth_luma: u8,
    /// lengthSizeMinusOne + 1: 1, 2 or 4.
    pub nal_length_size: u8,
    /// VPS, SPS and PPS NAL units (not SEI), without length prefixes, in record order.
    pub parameter_sets: Vec<Vec<u8>>,
}

impl HevcConfig {
    /// Reads an `hvcC` box body.
    pub fn parse(hvcc: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(hvcc, *b"hvcC");
        let version = r.u8()?;
        if version != 1 {
            return Err(CodecError::invalid(
                "hvcC",
                format!("configurationVersion {version} (expected 1)"),
            ));
        }
        let b = r.u8()?;
        let compatibility = r.u32()?;
        let mut constraints = [0u8; 6];
        constraints.copy_from_slice(r.bytes(6)?);
        let level_idc = r.u8()?;
        r.skip(3)?; // min_spatial_segmentation_idc(16), parallelismType(8)
        let chroma_format_idc = r.u8()? & 0x03;
        let bit_depth_luma = (r.u8()? & 0x07) + 8;
        r.skip(3)?; // bitDepthChromaMinus8(8), avgFrameRate(16)
        let nal_length_size = nal_length_size(r.u8()? & 0x03)
            .ok_or_else(|| CodecError::invalid("hvcC", NAL_LENGTH_SIZE_3))?;
        let mut parameter_sets = Vec::new();
        let arrays = r.u8()?;
        for _ in 0..arrays {
            let kind = r.u8()? & 0x3f;
            let count = r.u16()?;
            for _ in 0..count {
                let len = usize::from(r.u16()?);
                let nal = r.bytes(len)?;
                // VPS, SPS, PPS (Table 7-1); SEI arrays are not parameter sets.
                if (NAL_VPS..=NAL_PPS).contains(&kind) {
                    parameter_sets.push(nal.to_vec());
                }
            }
        }
        Ok(HevcConfig {
            profile_space: b >> 6,
            tier_high: b & 0x20 != 0,
            profile_idc: b & 0x1f,
            compatibility,
            constraints,
            level_idc,
            chroma_format_idc,
            bit_depth_luma,
            nal_length_size,
            parameter_sets,
        })
    }

    /// The codec string of ISO/IEC 14496-15 Annex E.3 for the sample entry 4CC `fourcc`
    /// (`hvc1` or `hev1`), e.g. `hvc1.1.6.L93.B0`.
    pub fn codec_string(&self, fourcc: &str) -> String {
        ProfileTierLevel {
            profile_space: self.profile_space,
            tier_high: self.tier_high,
            profile_idc: self.profile_idc,
            compatibility: self.compatibility,
            constraints: self.constraints,
            level_idc: self.level_idc,
        }
        .codec_string(fourcc)
    }
}

/// One short-term reference picture set, §7.4.8 (only what later sets and slices need).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StRps {
    /// DeltaPocS0 / UsedByCurrPicS0 (negative pictures), then S1 (positive).
    s0: Vec<(i32, bool)>,
    s1: Vec<(i32, bool)>,
}

impl StRps {
    fn num_delta_pocs(&self) -> usize {
        self.s0.len() + self.s1.len()
    }

    fn used(&self) -> u32 {
        // At most 32 pictures per set (checked when a set is built).
        self.s0.iter().chain(&self.s1).filter(|e| e.1).count() as u32
    }
}

/// st_ref_pic_set(stRpsIdx), §7.3.7 with the derivation of §7.4.8.
fn st_ref_pic_set(
    r: &mut BitReader,
    idx: usize,
    num_sets: usize,
    sets: &[StRps],
) -> CodecResult<StRps> {
    let inter = idx != 0 && r.flag()?;
    if !inter {
        let neg = r.ue_max(16, "num_negative_pics")?;
        let pos = r.ue_max(16, "num_positive_pics")?;
        let mut out = StRps::default();
        let mut poc = 0i32;
        // At most 16 steps of at most 2^15 + 1: no overflow.
        for _ in 0..neg {
            poc -= r.ue_max(1 << 15, "delta_poc_s0_minus1")? as i32 + 1;
            out.s0.push((poc, r.flag()?));
        }
        poc = 0;
        for _ in 0..pos {
            poc += r.ue_max(1 << 15, "delta_poc_s1_minus1")? as i32 + 1;
            out.s1.push((poc, r.flag()?));
        }
        return Ok(out);
    }
    let delta_idx = if idx == num_sets {
        // idx ≥ 1 here, and idx ≤ 64.
        r.ue_max(idx as u32 - 1, "delta_idx_minus1")? as usize + 1
    } else {
        1
    };
    let sign = r.flag()?;
    let abs = r.ue_max(1 << 15, "abs_delta_rps_minus1")? as i32 + 1;
    let delta_rps = if sign { -abs } else { abs };
    let reference = sets
        .get(idx - delta_idx)
        .ok_or_else(|| CodecError::invalid("HEVC SPS", "st_ref_pic_set refers to a missing set"))?;
    let n = reference.num_delta_pocs();
    let mut used = Vec::with_capacity(n + 1);
    let mut use_delta = Vec::with_capacity(n + 1);
    for _ in 0..=n {
        let u = r.flag()?;
        used.push(u);
        use_delta.push(if u { true } else { r.flag()? });
    }
    // (7-61) and (7-62); j indexes: 0..neg are S0, neg..n are S1, n is the reference itself.
    // Deltas stay within 64 · (2^15 + 1) in magnitude: no overflow.
    let neg = reference.s0.len();
    let mut out = StRps::default();
    for j in (0..reference.s1.len()).rev() {
        let d = reference.s1[j].0 + delta_rps;
        if d < 0 && use_delta[neg + j] {
            out.s0.push((d, used[neg + j]));
        }
    }
    if delta_rps < 0 && use_delta[n] {
        out.s0.push((delta_rps, used[n]));
    }
    for j in 0..neg {
        let d = reference.s0[j].0 + delta_rps;
        if d < 0 && use_delta[j] {
            out.s0.push((d, used[j]));
        }
    }
    for j in (0..neg).rev() {
        let d = reference.s0[j].0 + delta_rps;
        if d > 0 && use_delta[j] {
            out.s1.push((d, used[j]));
        }
    }
    if delta_rps > 0 && use_delta[n] {
        out.s1.push((delta_rps, used[n]));
    }
    for j in 0..reference.s1.len() {
        let d = reference.s1[j].0 + delta_rps;
        if d > 0 && use_delta[neg + j] {
            out.s1.push((d, used[neg + j]));
        }
    }
    if out.num_delta_pocs() > 32 {
        return Err(CodecError::invalid(
            "HEVC SPS",
            "st_ref_pic_set has too many pictures",
        ));
    }
    Ok(out)
}

/// scaling_list_data(), §7.3.4: read past.
fn scaling_list_data(r: &mut BitReader) -> CodecResult<()> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        let mut matrix_id = 0;
        while matrix_id < 6 {
            if !r.flag()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
            } else {
                let coef_num = 64.min(1u32 << (4 + (size_id << 1)));
                if size_id > 1 {
                    r.se()?; // scaling_list_dc_coef_minus8
                }
                for _ in 0..coef_num {
                    r.se()?; // scaling_list_delta_coef
                }
            }
            matrix_id += step;
        }
    }
    Ok(())
}

/// The SPS fields slice segment headers depend on (§7.3.2.2.1, up to
/// sps_temporal_mvp_enabled_flag), and the VUI's colour description (§E.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcSps {
    /// sps_seq_parameter_set_id.
    pub id: u32,
    /// sps_video_parameter_set_id.
    pub vps_id: u32,
    separate_colour_plane: bool,
    chroma_array_type: u32,
    log2_max_poc_lsb: u32,
    /// PicSizeInCtbsY (7-19).
    pub pic_size_in_ctbs: u32,
    sample_adaptive_offset: bool,
    st_rps: Vec<StRps>,
    long_term_ref_pics_present: bool,
    num_long_term_ref_pics_sps: u32,
    /// used_by_curr_pic_lt_sps_flag per SPS long-term picture.
    lt_used: Vec<bool>,
    temporal_mvp: bool,
    /// colour_primaries, transfer_characteristics, matrix_coeffs from the VUI (ITU-T H.273
    /// code points), when it has a colour description.
    pub colour: Option<(u8, u8, u8)>,
    /// video_full_range_flag, when the VUI has a video signal type.
    pub full_range: Option<bool>,
}

/// The head of the SPS VUI (§E.2.1) up to the colour description: what `inspect` reports.
#[derive(Default)]
struct VuiColour {
    colour: Option<(u8, u8, u8)>,
    full_range: Option<bool>,
}

/// Reads the VUI head that follows sps_temporal_mvp_enabled_flag.
fn vui_colour(r: &mut BitReader) -> CodecResult<VuiColour> {
    let mut v = VuiColour::default();
    r.flag()?; // strong_intra_smoothing_enabled_flag
    if !r.flag()? {
        return Ok(v); // vui_parameters_present_flag
    }
    if r.flag()? && r.bits(8)? == 255 {
        // aspect_ratio_info_present_flag, aspect_ratio_idc == EXTENDED_SAR
        r.skip(32)?; // sar_width, sar_height
    }
    if r.flag()? {
        r.flag()?; // overscan_appropriate_flag
    }
    if r.flag()? {
        // video_signal_type_present_flag
        r.skip(3)?; // video_format
        v.full_range = Some(r.flag()?);
        if r.flag()? {
            let primaries = r.bits(8)? as u8;
            let transfer = r.bits(8)? as u8;
            let matrix = r.bits(8)? as u8;
            v.colour = Some((primaries, transfer, matrix));
        }
    }
    Ok(v)
}

/// The VPS id an SPS RBSP of layer `nuh_layer_id` takes its picture format from, when it
/// has MultiLayerExtSpsFlag (§F.7.3.2.2.1: the first byte holds sps_video_parameter_set_id
/// and sps_ext_or_max_sub_layers_minus1).
pub fn sps_needs_vps(rbsp: &[u8], nuh_layer_id: u32) -> Option<u32> {
    let b = *rbsp.first()?;
    (nuh_layer_id != 0 && (b >> 1) & 7 == 7).then_some(u32::from(b >> 4))
}

impl HevcSps {
    /// Parses an SPS RBSP (after the two-byte NAL header).
    pub fn parse(rbsp: &[u8]) -> CodecResult<Self> {
        Self::parse_in_layer(rbsp, 0, None)
    }

    /// Parses the SPS RBSP of a NAL unit with `nuh_layer_id` (§F.7.3.2.2.1): above layer 0,
    /// sps_ext_or_max_sub_layers_minus1 7 (MultiLayerExtSpsFlag) leaves out the
    /// profile_tier_level() and takes the picture format from the rep_format() of `vps` (the
    /// VPS it names: see [`sps_needs_vps`]).
    pub fn parse_in_layer(
        rbsp: &[u8],
        nuh_layer_id: u32,
        vps: Option<&HevcVps>,
    ) -> CodecResult<Self> {
        let mut r = BitReader::rbsp(rbsp, "HEVC SPS");
        let vps_id = r.bits(4)?;
        let max_sub_layers_minus1 = r.bits(3)?;
        let multi_layer_ext = nuh_layer_id != 0 && max_sub_layers_minus1 == 7;
        if !multi_layer_ext {
            r.flag()?; // sps_temporal_id_nesting_flag
            profile_tier_level(&mut r, true, max_sub_layers_minus1)?;
        }
        let id = r.ue_max(15, "sps_seq_parameter_set_id")?;
        let (chroma_format_idc, separate_colour_plane, width, height) = if multi_layer_ext {
            // update_rep_format_flag, sps_rep_format_idx
            let idx = if r.flag()? { Some(r.bits(8)?) } else { None };
            let vps = vps
                .filter(|v| v.id == vps_id)
                .ok_or(CodecError::UnknownParameterSet {
                    codec: VideoCodec::Hevc,
                    referrer: "SPS",
                    kind: "VPS",
                    id: vps_id,
                })?;
            let f = vps.rep_format(nuh_layer_id, idx)?;
            (
                f.chroma_format_idc,
                f.separate_colour_plane,
                f.width,
                f.height,
            )
        } else {
            let chroma_format_idc = r.ue_max(3, "chroma_format_idc")?;
            let separate_colour_plane = chroma_format_idc == 3 && r.flag()?;
            let width = r.ue()?;
            let height = r.ue()?;
            if r.flag()? {
                for _ in 0..4 {
                    r.ue()?; // conformance window offsets
                }
            }
            r.ue()?; // bit_depth_luma_minus8
            r.ue()?; // bit_depth_chroma_minus8
            (chroma_format_idc, separate_colour_plane, width, height)
        };
        let log2_max_poc_lsb = r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? + 4;
        if !multi_layer_ext {
            let ordering_all = r.flag()?;
            let first = if ordering_all {
                0
            } else {
                max_sub_layers_minus1
            };
            for _ in first..=max_sub_layers_minus1 {
                r.ue()?; // sps_max_dec_pic_buffering_minus1
                r.ue()?; // sps_max_num_reorder_pics
                r.ue()?; // sps_max_latency_increase_plus1
            }
        }
        let min_cb_log2 = r.ue_max(4, "log2_min_luma_coding_block_size_minus3")? + 3;
        let ctb_log2 = min_cb_log2 + r.ue_max(3, "log2_diff_max_min_luma_coding_block_size")?;
        r.ue()?; // log2_min_luma_transform_block_size_minus2
        r.ue()?; // log2_diff_max_min_luma_transform_block_size
        r.ue()?; // max_transform_hierarchy_depth_inter
        r.ue()?; // max_transform_hierarchy_depth_intra
        if r.flag()? {
            // scaling_list_enabled_flag; sps_infer_scaling_list_flag (multi-layer) refers to
            // another layer's list by sps_scaling_list_ref_layer_id.
            if multi_layer_ext && r.flag()? {
                r.skip(6)?;
            } else if r.flag()? {
                scaling_list_data(&mut r)?;
            }
        }
        r.flag()?; // amp_enabled_flag
        let sample_adaptive_offset = r.flag()?;
        if r.flag()? {
            // pcm_enabled_flag
            r.skip(8)?;
            r.ue()?;
            r.ue()?;
            r.flag()?;
        }
        let num_sets = r.ue_max(64, "num_short_term_ref_pic_sets")? as usize;
        let mut st_rps = Vec::with_capacity(num_sets);
        for i in 0..num_sets {
            let set = st_ref_pic_set(&mut r, i, num_sets, &st_rps)?;
            st_rps.push(set);
        }
        let long_term_ref_pics_present = r.flag()?;
        let mut num_long_term_ref_pics_sps = 0;
        let mut lt_used = Vec::new();
        if long_term_ref_pics_present {
            num_long_term_ref_pics_sps = r.ue_max(32, "num_long_term_ref_pics_sps")?;
            for _ in 0..num_long_term_ref_pics_sps {
                r.skip(log2_max_poc_lsb)?;
                lt_used.push(r.flag()?);
            }
        }
        let temporal_mvp = r.flag()?;
        // Slices need nothing past this point: a VUI that cannot be read only leaves the colour
        // unknown.
        let vui = vui_colour(&mut r).unwrap_or_default();
        // ctb_log2 ≤ 10: both quotients are below 2^32, their product fits in u64.
        let ctb = 1u32 << ctb_log2;
        let pic_size_in_ctbs =
            u32::try_from(u64::from(width.div_ceil(ctb)) * u64::from(height.div_ceil(ctb)))
                .map_err(|_| CodecError::invalid("HEVC SPS", "picture size out of range"))?;
        Ok(HevcSps {
            id,
            vps_id,
            separate_colour_plane,
            chroma_array_type: if separate_colour_plane {
                0
            } else {
                chroma_format_idc
            },
            log2_max_poc_lsb,
            pic_size_in_ctbs,
            sample_adaptive_offset,
            st_rps,
            long_term_ref_pics_present,
            num_long_term_ref_pics_sps,
            lt_used,
            temporal_mvp,
            colour: vui.colour,
            full_range: vui.full_range,
        })
    }
}

/// The PPS fields slice segment headers depend on (§7.3.2.3.1, with the range extension's
/// chroma_qp_offset_list_enabled_flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcPps {
    /// pps_pic_parameter_set_id.
    pub id: u32,
    /// pps_seq_parameter_set_id.
    pub sps_id: u32,
    dependent_slice_segments_enabled: bool,
    output_flag_present: bool,
    num_extra_slice_header_bits: u32,
    cabac_init_present: bool,
    num_ref_idx_l0_default_minus1: u32,
    num_ref_idx_l1_default_minus1: u32,
    slice_chroma_qp_offsets_present: bool,
    weighted_pred: bool,
    weighted_bipred: bool,
    tiles_enabled: bool,
    entropy_coding_sync_enabled: bool,
    loop_filter_across_slices_enabled: bool,
    deblocking_filter_override_enabled: bool,
    pps_deblocking_filter_disabled: bool,
    lists_modification_present: bool,
    slice_segment_header_extension_present: bool,
    chroma_qp_offset_list_enabled: bool,
}

impl HevcPps {
    /// Parses a PPS RBSP (after the two-byte NAL header).
    pub fn parse(rbsp: &[u8]) -> CodecResult<Self> {
        let mut r = BitReader::rbsp(rbsp, "HEVC PPS");
        let id = r.ue_max(63, "pps_pic_parameter_set_id")?;
        let sps_id = r.ue_max(15, "pps_seq_parameter_set_id")?;
        let dependent_slice_segments_enabled = r.flag()?;
        let output_flag_present = r.flag()?;
        let num_extra_slice_header_bits = r.bits(3)?;
        r.flag()?; // sign_data_hiding_enabled_flag
        let cabac_init_present = r.flag()?;
        let num_ref_idx_l0_default_minus1 = r.ue_max(14, "num_ref_idx_l0_default_active_minus1")?;
        let num_ref_idx_l1_default_minus1 = r.ue_max(14, "num_ref_idx_l1_default_active_minus1")?;
        r.se()?; // init_qp_minus26
        r.flag()?; // constrained_intra_pred_flag
        let transform_skip_enabled = r.flag()?;
        if r.flag()? {
            r.ue()?; // diff_cu_qp_delta_depth
        }
        r.se()?; // pps_cb_qp_offset
        r.se()?; // pps_cr_qp_offset
        let slice_chroma_qp_offsets_present = r.flag()?;
        let weighted_pred = r.flag()?;
        let weighted_bipred = r.flag()?;
        r.flag()?; // transquant_bypass_enabled_flag
        let tiles_enabled = r.flag()?;
        let entropy_coding_sync_enabled = r.flag()?;
        if tiles_enabled {
            let cols = r.ue_max(255, "num_tile_columns_minus1")?;
            let rows = r.ue_max(255, "num_tile_rows_minus1")?;
            if !r.flag()? {
                for _ in 0..cols {
                    r.ue()?;
                }
                for _ in 0..rows {
                    r.ue()?;
                }
            }
            r.flag()?; // loop_filter_across_tiles_enabled_flag
        }
        let loop_filter_across_slices_enabled = r.flag()?;
        let mut deblocking_filter_override_enabled = false;
        let mut pps_deblocking_filter_disabled = false;
        if r.flag()? {
            deblocking_filter_override_enabled = r.flag()?;
            pps_deblocking_filter_disabled = r.flag()?;
            if !pps_deblocking_filter_disabled {
                r.se()?;
                r.se()?;
            }
        }
        if r.flag()? {
            scaling_list_data(&mut r)?;
        }
        let lists_modification_present = r.flag()?;
        r.ue()?; // log2_parallel_merge_level_minus2
        let slice_segment_header_extension_present = r.flag()?;
        let mut chroma_qp_offset_list_enabled = false;
        if r.flag()? {
            let range = r.flag()?;
            let _multilayer = r.flag()?;
            let _three_d = r.flag()?;
            let scc = r.flag()?;
            r.skip(4)?;
            if scc {
                return Err(CodecError::Unsupported {
                    what: "HEVC PPS",
                    reason: "screen content coding extensions are not supported".into(),
                });
            }
            if range {
                if transform_skip_enabled {
                    r.ue()?; // log2_max_transform_skip_block_size_minus2
                }
                r.flag()?; // cross_component_prediction_enabled_flag
                chroma_qp_offset_list_enabled = r.flag()?;
            }
        }
        Ok(HevcPps {
            id,
            sps_id,
            dependent_slice_segments_enabled,
            output_flag_present,
            num_extra_slice_header_bits,
            cabac_init_present,
            num_ref_idx_l0_default_minus1,
            num_ref_idx_l1_default_minus1,
            slice_chroma_qp_offsets_present,
            weighted_pred,
            weighted_bipred,
            tiles_enabled,
            entropy_coding_sync_enabled,
            loop_filter_across_slices_enabled,
            deblocking_filter_override_enabled,
            pps_deblocking_filter_disabled,
            lists_modification_present,
            slice_segment_header_extension_present,
            chroma_qp_offset_list_enabled,
        })
    }
}

/// The HEVC parameter sets of one track, learnt from `hvcC` and in band, and the slice segment
/// header lengths they determine.
///
/// Parameter set ids share one value space across layers (§F.7.4.3.2.1, §F.7.4.3.3.1), so one
/// map per kind serves every layer. A VPS is only parsed when a layer above 0 needs it: a
/// single-layer stream never depends on its VPS, whatever it holds.
#[derive(Debug, Clone, Default)]
pub struct HevcParameterSets {
    /// VPS NAL units as stored, by id; parsed into `vps` on first use.
    vps_nal: HashMap<u32, Vec<u8>>,
    vps: HashMap<u32, Arc<HevcVps>>,
    sps: HashMap<u32, HevcSps>,
    pps: HashMap<u32, HevcPps>,
}

impl HevcParameterSets {
    /// Classifies one NAL unit (no length prefix), learning VPS, SPS and PPS of every layer as
    /// they pass.
    pub fn classify(&mut self, nal: &[u8]) -> CodecResult<NalClass> {
        if nal.len() < 2 {
            return Ok(NalClass::NonVcl);
        }
        let kind = nal_type(nal[0]);
        let layer_id = u32::from(((nal[0] & 1) << 5) | (nal[1] >> 3));
        // nuh_temporal_id_plus1 is never 0 in a conforming stream; 0 reads as TemporalId 0.
        let temporal_id = u32::from(nal[1] & 7).saturating_sub(1);
        match kind {
            NAL_VPS if layer_id == 0 => {
                if let Some(&b) = nal.get(2) {
                    let id = u32::from(b >> 4);
                    self.vps_nal.insert(id, nal[2..].to_vec());
                    self.vps.remove(&id);
                }
                Ok(NalClass::NonVcl)
            }
            NAL_SPS => {
                let rbsp = &nal[2..];
                let vps = match sps_needs_vps(rbsp, layer_id) {
                    Some(id) => Some(self.vps(id, "SPS")?),
                    None => None,
                };
                let sps = HevcSps::parse_in_layer(rbsp, layer_id, vps.as_deref())?;
                self.sps.insert(sps.id, sps);
                Ok(NalClass::NonVcl)
            }
            NAL_PPS => {
                let pps = HevcPps::parse(&nal[2..])?;
                self.pps.insert(pps.id, pps);
                Ok(NalClass::NonVcl)
            }
            0..=9 | 16..=21 => {
                let header_bytes =
                    self.slice_header_len_in_layer(kind, layer_id, temporal_id, &nal[2..])?;
                Ok(NalClass::Vcl {
                    header_len: 2 + header_bytes,
                })
            }
            _ => Ok(NalClass::NonVcl),
        }
    }

    /// The VPS `id`, parsed on first use; `referrer` names what needs it.
    fn vps(&mut self, id: u32, referrer: &'static str) -> CodecResult<Arc<HevcVps>> {
        if let Some(v) = self.vps.get(&id) {
            return Ok(v.clone());
        }
        let nal = self
            .vps_nal
            .get(&id)
            .ok_or(CodecError::UnknownParameterSet {
                codec: VideoCodec::Hevc,
                referrer,
                kind: "VPS",
                id,
            })?;
        let v = Arc::new(HevcVps::parse(nal)?);
        self.vps.insert(id, v.clone());
        Ok(v)
    }

    /// For a slice above layer 0: the VPS id of the SPS its PPS names (`None` at layer 0, or
    /// when the PPS or SPS is unknown: the header parse reports that).
    fn slice_vps_id(&self, nal_type: u8, nuh_layer_id: u32, rbsp: &[u8]) -> Option<u32> {
        if nuh_layer_id == 0 {
            return None;
        }
        let mut r = BitReader::rbsp(rbsp, "HEVC slice segment header");
        r.flag().ok()?; // first_slice_segment_in_pic_flag
        if (16..=23).contains(&nal_type) {
            r.flag().ok()?; // no_output_of_prior_pics_flag
        }
        let pps_id = r.ue_max(63, "slice_pic_parameter_set_id").ok()?;
        let sps_id = self.pps.get(&pps_id)?.sps_id;
        Some(self.sps.get(&sps_id)?.vps_id)
    }

    /// Length in bytes (after the two-byte NAL header, emulation prevention bytes included) of
    /// a layer-0 slice segment header, §7.3.6.1, through byte_alignment().
    pub fn slice_header_len(&mut self, nal_type: u8, rbsp: &[u8]) -> CodecResult<usize> {
        self.slice_header_len_in_layer(nal_type, 0, 0, rbsp)
    }

    /// Length in bytes of a slice segment header of layer `nuh_layer_id` (§F.7.3.6.1: above
    /// layer 0, the POC LSBs of IDR pictures and the inter-layer prediction fields).
    pub fn slice_header_len_in_layer(
        &mut self,
        nal_type: u8,
        nuh_layer_id: u32,
        temporal_id: u32,
        rbsp: &[u8],
    ) -> CodecResult<usize> {
        // Above layer 0 the VPS of the slice's SPS is needed: find it first (the main parse
        // below holds the PPS and SPS borrowed), parsing it if this is its first use.
        let layer = match self.slice_vps_id(nal_type, nuh_layer_id, rbsp) {
            Some(vps_id) => Some(
                self.vps(vps_id, "slice")?
                    .slice_info(nuh_layer_id, temporal_id)?,
            ),
            None => None,
        };
        let mut r = BitReader::rbsp(rbsp, "HEVC slice segment header");
        let first_slice_segment_in_pic = r.flag()?;
        if (16..=23).contains(&nal_type) {
            r.flag()?; // no_output_of_prior_pics_flag
        }
        let pps_id = r.ue_max(63, "slice_pic_parameter_set_id")?;
        let pps = self
            .pps
            .get(&pps_id)
            .ok_or(CodecError::UnknownParameterSet {
                codec: VideoCodec::Hevc,
                referrer: "slice",
                kind: "PPS",
                id: pps_id,
            })?;
        let sps = self
            .sps
            .get(&pps.sps_id)
            .ok_or(CodecError::UnknownParameterSet {
                codec: VideoCodec::Hevc,
                referrer: "PPS",
                kind: "SPS",
                id: pps.sps_id,
            })?;
        let mut dependent = false;
        if !first_slice_segment_in_pic {
            if pps.dependent_slice_segments_enabled {
                dependent = r.flag()?;
            }
            r.skip(ceil_log2(sps.pic_size_in_ctbs))?; // slice_segment_address
        }
        if !dependent {
            independent_fields(&mut r, nal_type, sps, pps, layer)?;
        }
        if pps.tiles_enabled || pps.entropy_coding_sync_enabled {
            let n = r.ue_max(1 << 20, "num_entry_point_offsets")?;
            if n > 0 {
                let len = r.ue_max(31, "offset_len_minus1")? + 1;
                for _ in 0..n {
                    r.skip(len)?;
                }
            }
        }
        if pps.slice_segment_header_extension_present {
            let n = r.ue_max(256, "slice_segment_header_extension_length")?;
            r.skip(8 * n)?;
        }
        // byte_alignment(): alignment_bit_equal_to_one, then zero bits to the byte boundary.
        if !r.flag()? {
            return Err(CodecError::invalid(
                "HEVC slice segment header",
                "byte_alignment() does not start with a 1 bit",
            ));
        }
        Ok(r.bytes_consumed())
    }
}

/// The slice segment header fields of an independent slice segment (§7.3.6.1, from
/// slice_reserved_flag to slice_loop_filter_across_slices_enabled_flag), with the fields of
/// §F.7.3.6.1 for a slice of a layer above 0 (`layer`: what its VPS says about the layer).
fn independent_fields(
    r: &mut BitReader,
    nal_type: u8,
    sps: &HevcSps,
    pps: &HevcPps,
    layer: Option<LayerSliceInfo>,
) -> CodecResult<()> {
    // discardable_flag and cross_layer_bla_flag (Annex F) are the first extra bits: skipped
    // alike.
    r.skip(pps.num_extra_slice_header_bits)?;
    let slice_type = r.ue_max(2, "slice_type")?;
    let (is_b, is_p) = (slice_type == 0, slice_type == 1);
    if pps.output_flag_present {
        r.flag()?; // pic_output_flag
    }
    if sps.separate_colour_plane {
        r.skip(2)?; // colour_plane_id
    }
    let mut temporal_mvp = false;
    let mut num_pic_total_curr = 0u32;
    let idr = nal_type == 19 || nal_type == 20;
    // §F.7.3.6.1: above layer 0, IDR pictures carry POC LSBs unless the VPS says not.
    if !idr || layer.is_some_and(|l| !l.poc_lsb_not_present) {
        r.skip(sps.log2_max_poc_lsb)?; // slice_pic_order_cnt_lsb
    }
    if !idr {
        let num_sets = sps.st_rps.len();
        let rps = if !r.flag()? {
            st_ref_pic_set(r, num_sets, num_sets, &sps.st_rps)?
        } else {
            let idx = if num_sets > 1 {
                r.bits(ceil_log2(num_sets as u32))? as usize
            } else {
                0
            };
            sps.st_rps.get(idx).cloned().ok_or_else(|| {
                CodecError::invalid(
                    "HEVC slice segment header",
                    "short_term_ref_pic_set_idx out of range",
                )
            })?
        };
        num_pic_total_curr += rps.used();
        if sps.long_term_ref_pics_present {
            let num_lt_sps = if sps.num_long_term_ref_pics_sps > 0 {
                r.ue_max(sps.num_long_term_ref_pics_sps, "num_long_term_sps")?
            } else {
                0
            };
            let num_lt_pics = r.ue_max(32, "num_long_term_pics")?;
            for i in 0..num_lt_sps + num_lt_pics {
                if i < num_lt_sps {
                    let idx = if sps.num_long_term_ref_pics_sps > 1 {
                        r.bits(ceil_log2(sps.num_long_term_ref_pics_sps))? as usize
                    } else {
                        0
                    };
                    let used = sps.lt_used.get(idx).ok_or_else(|| {
                        CodecError::invalid("HEVC slice segment header", "lt_idx_sps out of range")
                    })?;
                    if *used {
                        num_pic_total_curr += 1;
                    }
                } else {
                    r.skip(sps.log2_max_poc_lsb)?; // poc_lsb_lt
                    if r.flag()? {
                        num_pic_total_curr += 1;
                    }
                }
                if r.flag()? {
                    r.ue()?; // delta_poc_msb_cycle_lt
                }
            }
        }
        if sps.temporal_mvp {
            temporal_mvp = r.flag()?;
        }
    }
    if let Some(l) = layer {
        num_pic_total_curr += inter_layer_fields(r, l)?;
    }
    let mut sao_luma = false;
    let mut sao_chroma = false;
    if sps.sample_adaptive_offset {
        sao_luma = r.flag()?;
        if sps.chroma_array_type != 0 {
            sao_chroma = r.flag()?;
        }
    }
    if is_p || is_b {
        let mut l0 = pps.num_ref_idx_l0_default_minus1;
        let mut l1 = pps.num_ref_idx_l1_default_minus1;
        if r.flag()? {
            l0 = r.ue_max(14, "num_ref_idx_l0_active_minus1")?;
            if is_b {
                l1 = r.ue_max(14, "num_ref_idx_l1_active_minus1")?;
            }
        }
        if pps.lists_modification_present && num_pic_total_curr > 1 {
            let bits = ceil_log2(num_pic_total_curr);
            if r.flag()? {
                r.skip(bits * (l0 + 1))?; // list_entry_l0
            }
            if is_b && r.flag()? {
                r.skip(bits * (l1 + 1))?; // list_entry_l1
            }
        }
        if is_b {
            r.flag()?; // mvd_l1_zero_flag
        }
        if pps.cabac_init_present {
            r.flag()?; // cabac_init_flag
        }
        if temporal_mvp {
            let collocated_from_l0 = if is_b { r.flag()? } else { true };
            if (collocated_from_l0 && l0 > 0) || (!collocated_from_l0 && l1 > 0) {
                r.ue()?; // collocated_ref_idx
            }
        }
        if (pps.weighted_pred && is_p) || (pps.weighted_bipred && is_b) {
            pred_weight_table(r, sps.chroma_array_type, l0, is_b.then_some(l1))?;
        }
        r.ue()?; // five_minus_max_num_merge_cand
    }
    r.se()?; // slice_qp_delta
    if pps.slice_chroma_qp_offsets_present {
        r.se()?;
        r.se()?;
    }
    if pps.chroma_qp_offset_list_enabled {
        r.flag()?; // cu_chroma_qp_offset_enabled_flag
    }
    let mut override_flag = false;
    if pps.deblocking_filter_override_enabled {
        override_flag = r.flag()?;
    }
    let mut deblocking_disabled = pps.pps_deblocking_filter_disabled;
    if override_flag {
        deblocking_disabled = r.flag()?;
        if !deblocking_disabled {
            r.se()?;
            r.se()?;
        }
    }
    if pps.loop_filter_across_slices_enabled && (sao_luma || sao_chroma || !deblocking_disabled) {
        r.flag()?; // slice_loop_filter_across_slices_enabled_flag
    }
    Ok(())
}

/// The inter-layer prediction fields of a slice above layer 0 (§F.7.3.6.1); returns
/// NumActiveRefLayerPics (§F.7.4.7.1), which NumPicTotalCurr counts.
fn inter_layer_fields(r: &mut BitReader, l: LayerSliceInfo) -> CodecResult<u32> {
    let direct = l.num_direct_ref_layers;
    if direct == 0 {
        return Ok(0);
    }
    if l.default_ref_layers_active {
        return Ok(l.num_ref_layer_pics);
    }
    if !r.flag()? {
        return Ok(0); // inter_layer_pred_enabled_flag
    }
    // NumActiveRefLayerPics is 0 when no reference layer's sub-layers reach this picture.
    let reachable = |n: u32| if l.num_ref_layer_pics == 0 { 0 } else { n };
    if direct == 1 {
        return Ok(reachable(1));
    }
    let bits = ceil_log2(direct);
    let active = if l.max_one_active_ref_layer {
        1
    } else {
        // num_inter_layer_ref_pics_minus1, at most NumDirectRefLayers − 1 (≤ 62).
        let n = r.bits(bits)? + 1;
        if n > direct {
            return Err(CodecError::invalid(
                "HEVC slice segment header",
                "num_inter_layer_ref_pics_minus1 exceeds the direct reference layers",
            ));
        }
        reachable(n)
    };
    if active != direct {
        r.skip(bits * active)?; // inter_layer_pred_layer_idc
    }
    Ok(active)
}

/// pred_weight_table(), §7.3.6.3 (single layer: every reference has another POC).
fn pred_weight_table(
    r: &mut BitReader,
    chroma_array_type: u32,
    l0: u32,
    l1: Option<u32>,
) -> CodecResult<()> {
    r.ue()?; // luma_log2_weight_denom
    if chroma_array_type != 0 {
        r.se()?; // delta_chroma_log2_weight_denom
    }
    for n in std::iter::once(l0).chain(l1) {
        // n ≤ 14 (checked by ue_max): at most 15 entries.
        let count = n as usize + 1;
        let mut luma = [false; 16];
        let mut chroma = [false; 16];
        for f in luma.iter_mut().take(count) {
            *f = r.flag()?;
        }
        if chroma_array_type != 0 {
            for f in chroma.iter_mut().take(count) {
                *f = r.flag()?;
            }
        }
        for (&l, &c) in luma.iter().zip(&chroma).take(count) {
            if l {
                r.se()?;
                r.se()?;
            }
            if c {
                for _ in 0..4 {
                    r.se()?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn hvcc_of_real_entries() {
        // expected.txt: Shaka Packager's codec strings for these files.
        for (name, fourcc) in [("h265_hvc1", "hvc1"), ("h265_hev1", "hev1")] {
            let e = entry(name);
            let c = HevcConfig::parse(child_body(&e, b"hvcC")).unwrap();
            assert_eq!(c.codec_string(fourcc), format!("{fourcc}.1.6.L63.90"));
            assert_eq!(c.nal_length_size, 4);
            // ffprobe: yuv420p.
            assert_eq!((c.chroma_format_idc, c.bit_depth_luma), (1, 8), "{name}");
            let types: Vec<u8> = c.parameter_sets.iter().map(|n| nal_type(n[0])).collect();
            assert_eq!(types, vec![NAL_VPS, NAL_SPS, NAL_PPS], "{name}");
            // The parameter sets parse, and the PPS refers to the SPS.
            let sps = HevcSps::parse(&c.parameter_sets[1][2..]).unwrap();
            let pps = HevcPps::parse(&c.parameter_sets[2][2..]).unwrap();
            assert_eq!(pps.sps_id, sps.id);
            // 640x360 in 64x64 CTBs (x265's default): 10 x 6.
            assert_eq!(sps.pic_size_in_ctbs, 60, "{name}");
        }
    }

    #[test]
    fn codec_string_profile_space_tier_and_constraints() {
        let c = HevcConfig {
            profile_space: 1,
            tier_high: true,
            profile_idc: 2,
            compatibility: 0x2000_0000,
            constraints: [0xb0, 0, 0, 1, 0, 0],
            level_idc: 153,
            chroma_format_idc: 1,
            bit_depth_luma: 8,
            nal_length_size: 4,
            parameter_sets: Vec::new(),
        };
        assert_eq!(c.codec_string("hvc1"), "hvc1.A2.4.H153.B0.0.0.1");
    }

    #[test]
    fn unknown_pps_and_truncation_are_errors() {
        let mut p = HevcParameterSets::default();
        let e = p.classify(&[0x26, 0x01, 0xac]).unwrap_err();
        assert!(
            matches!(
                e,
                CodecError::UnknownParameterSet {
                    codec: VideoCodec::Hevc,
                    ..
                }
            ),
            "{e}"
        );
        // A truncated SPS is an error, never a panic.
        assert!(p.classify(&[0x42, 0x01, 0x01]).is_err());
        assert_eq!(p.classify(&[0x4e, 0x01, 0x05]).unwrap(), NalClass::NonVcl); // SEI
        let c = HevcConfig::parse(child_body(&entry("h265_hvc1"), b"hvcC")).unwrap();
        for ps in &c.parameter_sets[1..] {
            for len in 2..ps.len() {
                let _ = HevcParameterSets::default().classify(&ps[..len]);
            }
        }
    }

    #[test]
    fn hvcc_errors_name_the_field() {
        let e = HevcConfig::parse(&[0]).unwrap_err();
        assert_eq!(e.to_string(), "hvcC: configurationVersion 0 (expected 1)");
        assert!(matches!(
            HevcConfig::parse(&[1, 1]).unwrap_err(),
            CodecError::Box(_)
        ));
    }
}
