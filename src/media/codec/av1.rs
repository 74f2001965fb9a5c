//! AV1 in ISOBMFF (AV1 Codec ISO Media File Format Binding §2.3): the
//! AV1CodecConfigurationRecord (`av1C`) and the short form of its codec string, `av01.P.LLT.DD`
//! ("Codecs Parameter String" section); and where the tile data of a sample lies, which is all
//! that Common Encryption protects (binding §4, "Common Encryption"): [`Av1TileFinder`].
//!
//! Finding tiles means reading every OBU header, the sequence header and each frame header up to
//! its end (AV1 Bitstream & Decoding Process Specification §5.3–§5.11): the frame header's length
//! depends on the frame size (which an inter frame may copy from a reference frame), on whether
//! the frame is lossless (which segmentation data of a reference frame decides) and on the
//! reference frames' order hints (skip mode). So the finder keeps the little reference state
//! those need (§7.20, §7.21) from sample to sample.
use super::bits::BitReader;
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
    /// chroma_sample_position (2 bits).
    pub chroma_sample_position: u8,
}

/// A `colr` box's `nclx`/`nclc` colour description (ISO/IEC 14496-12 §12.1.5; ITU-T H.273 code
/// points), which the long form of the AV1 codec string carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    /// colour_primaries.
    pub primaries: u16,
    /// transfer_characteristics.
    pub transfer: u16,
    /// matrix_coefficients.
    pub matrix: u16,
    /// full_range_flag (`nclx` only; 0 for `nclc`).
    pub full_range: bool,
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
            chroma_sample_position: c & 0x03,
        })
    }

    /// The codec string: the short form `av01.P.LLT.DD` without a colour description, else the
    /// long form `av01.P.LLT.DD.M.CCC.cp.tc.mc.F` (the optional fields are all or none, binding
    /// "Codecs Parameter String"). Shaka Packager 3.8 writes the long form exactly when the entry
    /// has a `colr` box, and so do we: the transfer field is how a player tells PQ/HLG AV1 apart.
    pub fn codec_string(&self, colour: Option<Colour>) -> String {
        let tier = if self.tier_high { 'H' } else { 'M' };
        let short = format!(
            "av01.{}.{:02}{tier}.{:02}",
            self.profile, self.level, self.bit_depth
        );
        let Some(c) = colour else { return short };
        format!(
            "{short}.{}.{}{}{}.{:02}.{:02}.{:02}.{}",
            u8::from(self.mono_chrome),
            u8::from(self.subsampling_x),
            u8::from(self.subsampling_y),
            self.chroma_sample_position,
            c.primaries,
            c.transfer,
            c.matrix,
            u8::from(c.full_range)
        )
    }
}

/// One tile's coded bytes in a sample: what Common Encryption protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    /// Offset of the tile's first byte in the sample.
    pub start: usize,
    /// The tile's size in bytes (tile_size_minus_1 + 1, or the rest of the tile group).
    pub len: usize,
}

// OBU types (§6.2.2).
const OBU_SEQUENCE_HEADER: u32 = 1;
const OBU_FRAME_HEADER: u32 = 3;
const OBU_TILE_GROUP: u32 = 4;
const OBU_FRAME: u32 = 6;
const OBU_REDUNDANT_FRAME_HEADER: u32 = 7;
const OBU_TILE_LIST: u32 = 8;

// Frame types (§6.8.2).
const KEY_FRAME: u32 = 0;
const INTER_FRAME: u32 = 1;
const INTRA_ONLY_FRAME: u32 = 2;
const SWITCH_FRAME: u32 = 3;

const SELECT: u32 = 2;
const PRIMARY_REF_NONE: u32 = 7;
const NUM_REF_FRAMES: usize = 8;
const REFS_PER_FRAME: usize = 7;
const ALL_FRAMES: u32 = 0xff;
const MAX_TILE_WIDTH: u32 = 4096;
const MAX_TILE_AREA: u32 = 4096 * 2304;
const MAX_TILE_COLS: u32 = 64;
const MAX_TILE_ROWS: u32 = 64;
// Segmentation feature sizes (§5.9.14, Segmentation_Feature_Bits / _Signed / _Max).
const SEG_FEATURE_BITS: [u32; 8] = [8, 6, 6, 6, 6, 3, 0, 0];
const SEG_FEATURE_SIGNED: [bool; 8] = [true, true, true, true, true, false, false, false];
const SEG_FEATURE_MAX: [i32; 8] = [255, 63, 63, 63, 63, 7, 0, 0];

/// The sequence header fields frame header parsing needs (§5.5).
#[derive(Debug, Clone, Default)]
struct SequenceHeader {
    reduced_still_picture_header: bool,
    equal_picture_interval: bool,
    decoder_model_info_present: bool,
    buffer_removal_time_length: u32,
    frame_presentation_time_length: u32,
    /// operating_point_idc and decoder_model_present_for_this_op per operating point.
    operating_points: Vec<(u32, bool)>,
    frame_width_bits: u32,
    frame_height_bits: u32,
    max_frame_width: u32,
    max_frame_height: u32,
    frame_id_numbers_present: bool,
    delta_frame_id_length: u32,
    frame_id_length: u32,
    use_128x128_superblock: bool,
    enable_warped_motion: bool,
    enable_order_hint: bool,
    enable_ref_frame_mvs: bool,
    seq_force_screen_content_tools: u32,
    seq_force_integer_mv: u32,
    order_hint_bits: u32,
    enable_superres: bool,
    enable_cdef: bool,
    enable_restoration: bool,
    mono_chrome: bool,
    subsampling_x: bool,
    subsampling_y: bool,
    separate_uv_delta_q: bool,
    film_grain_params_present: bool,
}

/// Segmentation features, kept per reference frame (load_previous(), §7.20).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Segmentation {
    enabled_features: [[bool; 8]; 8],
    feature_data: [[i32; 8]; 8],
}

/// What a reference slot remembers (§7.20) that later frame headers read.
#[derive(Debug, Clone, Copy, Default)]
struct RefFrame {
    frame_type: u32,
    upscaled_width: u32,
    frame_width: u32,
    frame_height: u32,
    order_hint: u32,
    segmentation: Segmentation,
}

/// The frame being decoded: its header's results that tile groups and the wrap-up need.
#[derive(Debug, Clone, Copy, Default)]
struct FrameState {
    frame_type: u32,
    show_existing_frame: bool,
    frame_to_show_map_idx: usize,
    refresh_frame_flags: u32,
    upscaled_width: u32,
    frame_width: u32,
    frame_height: u32,
    order_hint: u32,
    segmentation: Segmentation,
    tile_cols: u32,
    tile_rows: u32,
    tile_cols_log2: u32,
    tile_rows_log2: u32,
    tile_size_bytes: u32,
}

/// Finds the tiles of AV1 samples (low-overhead bitstream format with `obu_size` fields, as
/// AV1-ISOBMFF §2.4 stores them), keeping the sequence header and reference state across the
/// samples of one track.
#[derive(Debug, Clone, Default)]
pub struct Av1TileFinder {
    seq: Option<SequenceHeader>,
    refs: [RefFrame; NUM_REF_FRAMES],
    /// The frame whose header was seen and whose tile groups are still to come.
    frame: Option<FrameState>,
}

impl Av1TileFinder {
    /// A finder that knows the `configOBUs` of the track's `av1C` (the sequence header, maybe
    /// metadata OBUs); they may be empty when every key frame carries its sequence header.
    pub fn new(config_obus: &[u8]) -> CodecResult<Self> {
        let mut f = Av1TileFinder::default();
        f.tiles(config_obus)?;
        Ok(f)
    }

    /// The tiles of one sample (a temporal unit), in stored order. Every OBU header, `obu_size`,
    /// sequence header, frame header, tile group header, tile size field, metadata and padding OBU
    /// lies outside them.
    pub fn tiles(&mut self, sample: &[u8]) -> CodecResult<Vec<TileRange>> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos < sample.len() {
            let mut r = BitReader::new(&sample[pos..], "AV1 OBU header");
            if r.bit()? {
                return Err(CodecError::invalid(
                    "AV1 OBU header",
                    "obu_forbidden_bit is 1",
                ));
            }
            let obu_type = r.bits(4)?;
            let extension = r.flag()?;
            let has_size = r.flag()?;
            r.skip(1)?;
            let mut temporal_id = 0;
            let mut spatial_id = 0;
            if extension {
                temporal_id = r.bits(3)?;
                spatial_id = r.bits(2)?;
                r.skip(3)?;
            }
            let mut header_len = r.bit_position() / 8;
            let size = if has_size {
                let (v, n) = leb128(&sample[pos + header_len..])?;
                header_len += n;
                v
            } else {
                (sample.len() - pos - header_len) as u64
            };
            let start = pos + header_len;
            let end = usize::try_from(size)
                .ok()
                .and_then(|s| start.checked_add(s))
                .filter(|&e| e <= sample.len())
                .ok_or_else(|| {
                    CodecError::invalid(
                        "AV1 OBU header",
                        format!(
                            "obu_size {size} at offset {pos} runs past the end of the sample ({} bytes)",
                            sample.len()
                        ),
                    )
                })?;
            let payload = &sample[start..end];
            match obu_type {
                OBU_SEQUENCE_HEADER => self.seq = Some(parse_sequence_header(payload)?),
                // A copy of a header already seen (frame_header_copy()) changes nothing.
                OBU_FRAME_HEADER | OBU_REDUNDANT_FRAME_HEADER if self.frame.is_none() => {
                    let mut r = BitReader::new(payload, "AV1 frame header");
                    self.frame_header(&mut r, temporal_id, spatial_id)?;
                }
                OBU_FRAME => {
                    if self.frame.is_some() {
                        return Err(CodecError::invalid(
                            "AV1 frame OBU",
                            "a frame OBU follows a frame header whose tiles are incomplete",
                        ));
                    }
                    let mut r = BitReader::new(payload, "AV1 frame header");
                    self.frame_header(&mut r, temporal_id, spatial_id)?;
                    r.byte_align_zero()?;
                    let at = r.bit_position() / 8;
                    self.tile_group(&payload[at..], start + at, &mut out)?;
                }
                OBU_TILE_GROUP => self.tile_group(payload, start, &mut out)?,
                OBU_TILE_LIST => {
                    return Err(CodecError::Unsupported {
                        what: "AV1 OBU",
                        reason: "tile list OBUs (large scale tile decoding)".into(),
                    })
                }
                // Temporal delimiter, metadata, padding, reserved: not tile data.
                _ => {}
            }
            pos = end;
        }
        Ok(out)
    }

    fn seq(&self) -> CodecResult<&SequenceHeader> {
        self.seq.as_ref().ok_or_else(|| {
            CodecError::invalid(
                "AV1 frame header",
                "a frame header before any sequence header",
            )
        })
    }

    /// frame_header_obu() / uncompressed_header() (§5.9.1–§5.9.2). Leaves `self.frame` set when
    /// tile groups are to follow; a shown existing frame is wrapped up at once.
    fn frame_header(
        &mut self,
        r: &mut BitReader<'_>,
        temporal_id: u32,
        spatial_id: u32,
    ) -> CodecResult<()> {
        let seq = self.seq()?.clone();
        let mut f = FrameState::default();
        let id_len = seq.frame_id_length;
        let show_frame;
        let showable_frame;
        let error_resilient_mode;
        if seq.reduced_still_picture_header {
            f.frame_type = KEY_FRAME;
            show_frame = true;
            showable_frame = false;
            error_resilient_mode = true;
        } else {
            f.show_existing_frame = r.flag()?;
            if f.show_existing_frame {
                f.frame_to_show_map_idx = r.bits(3)? as usize;
                if seq.decoder_model_info_present && !seq.equal_picture_interval {
                    r.skip(seq.frame_presentation_time_length)?;
                }
                if seq.frame_id_numbers_present {
                    r.skip(id_len)?;
                }
                f.frame_type = self.refs[f.frame_to_show_map_idx].frame_type;
                f.refresh_frame_flags = if f.frame_type == KEY_FRAME {
                    ALL_FRAMES
                } else {
                    0
                };
                self.frame = Some(f);
                self.wrap_up();
                return Ok(());
            }
            f.frame_type = r.bits(2)?;
            show_frame = r.flag()?;
            if show_frame && seq.decoder_model_info_present && !seq.equal_picture_interval {
                r.skip(seq.frame_presentation_time_length)?;
            }
            showable_frame = if show_frame {
                f.frame_type != KEY_FRAME
            } else {
                r.flag()?
            };
            error_resilient_mode =
                if f.frame_type == SWITCH_FRAME || (f.frame_type == KEY_FRAME && show_frame) {
                    true
                } else {
                    r.flag()?
                };
        }
        let frame_is_intra = matches!(f.frame_type, KEY_FRAME | INTRA_ONLY_FRAME);
        if f.frame_type == KEY_FRAME && show_frame {
            for rf in &mut self.refs {
                rf.order_hint = 0;
            }
        }
        let disable_cdf_update = r.flag()?;
        let allow_screen_content_tools = if seq.seq_force_screen_content_tools == SELECT {
            r.flag()?
        } else {
            seq.seq_force_screen_content_tools == 1
        };
        let mut force_integer_mv = if allow_screen_content_tools {
            if seq.seq_force_integer_mv == SELECT {
                r.flag()?
            } else {
                seq.seq_force_integer_mv == 1
            }
        } else {
            false
        };
        if frame_is_intra {
            force_integer_mv = true;
        }
        if seq.frame_id_numbers_present {
            r.skip(id_len)?; // current_frame_id
        }
        let frame_size_override_flag = if f.frame_type == SWITCH_FRAME {
            true
        } else if seq.reduced_still_picture_header {
            false
        } else {
            r.flag()?
        };
        f.order_hint = r.bits(seq.order_hint_bits)?;
        let primary_ref_frame = if frame_is_intra || error_resilient_mode {
            PRIMARY_REF_NONE
        } else {
            r.bits(3)?
        };
        if seq.decoder_model_info_present && r.flag()? {
            // buffer_removal_time_present_flag
            for &(idc, model_present) in &seq.operating_points {
                if model_present {
                    let in_temporal = (idc >> temporal_id) & 1 == 1;
                    let in_spatial = (idc >> (spatial_id + 8)) & 1 == 1;
                    if idc == 0 || (in_temporal && in_spatial) {
                        r.skip(seq.buffer_removal_time_length)?;
                    }
                }
            }
        }
        let mut allow_intrabc = false;
        let mut allow_high_precision_mv = false;
        f.refresh_frame_flags =
            if f.frame_type == SWITCH_FRAME || (f.frame_type == KEY_FRAME && show_frame) {
                ALL_FRAMES
            } else {
                r.bits(8)?
            };
        if (!frame_is_intra || f.refresh_frame_flags != ALL_FRAMES)
            && error_resilient_mode
            && seq.enable_order_hint
        {
            for i in 0..NUM_REF_FRAMES {
                let hint = r.bits(seq.order_hint_bits)?;
                if hint != self.refs[i].order_hint {
                    self.refs[i] = RefFrame {
                        order_hint: hint,
                        ..RefFrame::default()
                    };
                }
            }
        }
        let mut ref_frame_idx = [0usize; REFS_PER_FRAME];
        if frame_is_intra {
            self.frame_size(r, &seq, frame_size_override_flag, &mut f)?;
            render_size(r)?;
            if allow_screen_content_tools && f.upscaled_width == f.frame_width {
                allow_intrabc = r.flag()?;
            }
        } else {
            let short_signaling = seq.enable_order_hint && r.flag()?;
            if short_signaling {
                let last = r.bits(3)? as usize;
                let gold = r.bits(3)? as usize;
                ref_frame_idx = self.set_frame_refs(&seq, f.order_hint, last, gold)?;
            }
            for idx in &mut ref_frame_idx {
                if !short_signaling {
                    *idx = r.bits(3)? as usize;
                }
                if seq.frame_id_numbers_present {
                    r.skip(seq.delta_frame_id_length)?;
                }
            }
            if frame_size_override_flag && !error_resilient_mode {
                // frame_size_with_refs()
                let mut found = None;
                for &idx in &ref_frame_idx {
                    if r.flag()? {
                        found = Some(idx);
                        break;
                    }
                }
                match found {
                    Some(idx) => {
                        let rf = self.refs[idx];
                        f.upscaled_width = rf.upscaled_width;
                        f.frame_width = rf.upscaled_width;
                        f.frame_height = rf.frame_height;
                        if f.frame_width == 0 || f.frame_height == 0 {
                            return Err(CodecError::invalid(
                                "AV1 frame header",
                                format!("frame size taken from reference frame {idx}, which holds no frame"),
                            ));
                        }
                        superres_params(r, &seq, &mut f)?;
                    }
                    None => {
                        self.frame_size(r, &seq, frame_size_override_flag, &mut f)?;
                        render_size(r)?;
                    }
                }
            } else {
                self.frame_size(r, &seq, frame_size_override_flag, &mut f)?;
                render_size(r)?;
            }
            allow_high_precision_mv = !force_integer_mv && r.flag()?;
            if !r.flag()? {
                r.skip(2)?; // interpolation_filter
            }
            r.skip(1)?; // is_motion_mode_switchable
            if !error_resilient_mode && seq.enable_ref_frame_mvs {
                r.skip(1)?; // use_ref_frame_mvs
            }
        }
        if !(seq.reduced_still_picture_header || disable_cdf_update) {
            r.skip(1)?; // disable_frame_end_update_cdf
        }
        // load_previous(): segmentation features come from the primary reference frame.
        let previous = if primary_ref_frame == PRIMARY_REF_NONE {
            Segmentation::default()
        } else {
            self.refs[ref_frame_idx[primary_ref_frame as usize]].segmentation
        };
        self.tile_info(r, &seq, &mut f)?;
        // quantization_params()
        let base_q_idx = r.bits(8)?;
        let mut deltas_zero = read_delta_q(r)? == 0;
        if !seq.mono_chrome {
            let diff_uv_delta = seq.separate_uv_delta_q && r.flag()?;
            deltas_zero &= read_delta_q(r)? == 0 && read_delta_q(r)? == 0;
            if diff_uv_delta {
                deltas_zero &= read_delta_q(r)? == 0 && read_delta_q(r)? == 0;
            }
        }
        if r.flag()? {
            // using_qmatrix: qm_y, qm_u, qm_v
            r.skip(if seq.separate_uv_delta_q { 12 } else { 8 })?;
        }
        // segmentation_params()
        let segmentation_enabled = r.flag()?;
        if segmentation_enabled {
            let update_data = if primary_ref_frame == PRIMARY_REF_NONE {
                true
            } else {
                if r.flag()? {
                    r.skip(1)?; // segmentation_temporal_update
                }
                r.flag()?
            };
            if update_data {
                for i in 0..8 {
                    for j in 0..8 {
                        let enabled = r.flag()?;
                        let mut value = 0;
                        if enabled {
                            let bits = SEG_FEATURE_BITS[j];
                            let limit = SEG_FEATURE_MAX[j];
                            value = if SEG_FEATURE_SIGNED[j] {
                                su(r, 1 + bits)?.clamp(-limit, limit)
                            } else {
                                (r.bits(bits)? as i32).clamp(0, limit)
                            };
                        }
                        f.segmentation.enabled_features[i][j] = enabled;
                        f.segmentation.feature_data[i][j] = value;
                    }
                }
            } else {
                f.segmentation = previous;
            }
        }
        // delta_q_params(), delta_lf_params()
        let delta_q_present = base_q_idx > 0 && r.flag()?;
        if delta_q_present {
            r.skip(2)?; // delta_q_res
            if !allow_intrabc && r.flag()? {
                r.skip(3)?; // delta_lf_res, delta_lf_multi
            }
        }
        // CodedLossless: every segment's qindex is 0 with no DC/AC deltas.
        let coded_lossless = deltas_zero
            && (0..8).all(|seg| {
                let q = if segmentation_enabled && f.segmentation.enabled_features[seg][0] {
                    (base_q_idx as i32 + f.segmentation.feature_data[seg][0]).clamp(0, 255)
                } else {
                    base_q_idx as i32
                };
                q == 0
            });
        let all_lossless = coded_lossless && f.frame_width == f.upscaled_width;
        // loop_filter_params()
        if !(coded_lossless || allow_intrabc) {
            let l0 = r.bits(6)?;
            let l1 = r.bits(6)?;
            if !seq.mono_chrome && (l0 != 0 || l1 != 0) {
                r.skip(12)?;
            }
            r.skip(3)?; // loop_filter_sharpness
            if r.flag()? && r.flag()? {
                // loop_filter_delta_enabled, loop_filter_delta_update
                for _ in 0..(8 + 2) {
                    if r.flag()? {
                        r.skip(7)?;
                    }
                }
            }
        }
        // cdef_params()
        if !(coded_lossless || allow_intrabc || !seq.enable_cdef) {
            r.skip(2)?; // cdef_damping_minus_3
            let cdef_bits = r.bits(2)?;
            let per = if seq.mono_chrome { 6 } else { 12 };
            r.skip(per * (1 << cdef_bits))?;
        }
        // lr_params()
        if !(all_lossless || allow_intrabc || !seq.enable_restoration) {
            let planes = if seq.mono_chrome { 1 } else { 3 };
            let mut uses_lr = false;
            let mut uses_chroma_lr = false;
            for i in 0..planes {
                if r.bits(2)? != 0 {
                    uses_lr = true;
                    uses_chroma_lr |= i > 0;
                }
            }
            if uses_lr {
                if seq.use_128x128_superblock {
                    r.skip(1)?;
                } else if r.flag()? {
                    r.skip(1)?; // lr_unit_extra_shift
                }
                if seq.subsampling_x && seq.subsampling_y && uses_chroma_lr {
                    r.skip(1)?; // lr_uv_shift
                }
            }
        }
        // read_tx_mode()
        if !coded_lossless {
            r.skip(1)?; // tx_mode_select
        }
        // frame_reference_mode()
        let reference_select = !frame_is_intra && r.flag()?;
        // skip_mode_params()
        if !frame_is_intra
            && reference_select
            && seq.enable_order_hint
            && self.skip_mode_allowed(&seq, f.order_hint, &ref_frame_idx)
        {
            r.skip(1)?; // skip_mode_present
        }
        if !(frame_is_intra || error_resilient_mode || !seq.enable_warped_motion) {
            r.skip(1)?; // allow_warped_motion
        }
        r.skip(1)?; // reduced_tx_set
        if !frame_is_intra {
            global_motion_params(r, allow_high_precision_mv)?;
        }
        // film_grain_params()
        if seq.film_grain_params_present && (show_frame || showable_frame) && r.flag()? {
            film_grain_params(r, &seq, f.frame_type)?;
        }
        self.frame = Some(f);
        Ok(())
    }

    /// frame_size() with superres_params() and compute_image_size() (§5.9.5, §5.9.8).
    fn frame_size(
        &self,
        r: &mut BitReader<'_>,
        seq: &SequenceHeader,
        override_flag: bool,
        f: &mut FrameState,
    ) -> CodecResult<()> {
        if override_flag {
            f.frame_width = r.bits(seq.frame_width_bits)? + 1;
            f.frame_height = r.bits(seq.frame_height_bits)? + 1;
        } else {
            f.frame_width = seq.max_frame_width;
            f.frame_height = seq.max_frame_height;
        }
        f.upscaled_width = f.frame_width;
        superres_params(r, seq, f)
    }

    /// tile_info() (§5.9.15).
    fn tile_info(
        &self,
        r: &mut BitReader<'_>,
        seq: &SequenceHeader,
        f: &mut FrameState,
    ) -> CodecResult<()> {
        let mi_cols = 2 * ((f.frame_width + 7) >> 3);
        let mi_rows = 2 * ((f.frame_height + 7) >> 3);
        let (sb_cols, sb_rows, sb_shift) = if seq.use_128x128_superblock {
            ((mi_cols + 31) >> 5, (mi_rows + 31) >> 5, 5)
        } else {
            ((mi_cols + 15) >> 4, (mi_rows + 15) >> 4, 4)
        };
        let sb_size = sb_shift + 2;
        let max_tile_width_sb = MAX_TILE_WIDTH >> sb_size;
        let mut max_tile_area_sb = MAX_TILE_AREA >> (2 * sb_size);
        let min_log2_tile_cols = tile_log2(max_tile_width_sb, sb_cols);
        let max_log2_tile_cols = tile_log2(1, sb_cols.min(MAX_TILE_COLS));
        let max_log2_tile_rows = tile_log2(1, sb_rows.min(MAX_TILE_ROWS));
        let min_log2_tiles = min_log2_tile_cols.max(tile_log2(max_tile_area_sb, sb_rows * sb_cols));
        if r.flag()? {
            // uniform_tile_spacing_flag
            f.tile_cols_log2 = min_log2_tile_cols;
            while f.tile_cols_log2 < max_log2_tile_cols && r.flag()? {
                f.tile_cols_log2 += 1;
            }
            let tile_width_sb = (sb_cols + (1 << f.tile_cols_log2) - 1) >> f.tile_cols_log2;
            f.tile_cols = sb_cols.div_ceil(tile_width_sb);
            let min_log2_tile_rows = min_log2_tiles.saturating_sub(f.tile_cols_log2);
            f.tile_rows_log2 = min_log2_tile_rows;
            while f.tile_rows_log2 < max_log2_tile_rows && r.flag()? {
                f.tile_rows_log2 += 1;
            }
            let tile_height_sb = (sb_rows + (1 << f.tile_rows_log2) - 1) >> f.tile_rows_log2;
            f.tile_rows = sb_rows.div_ceil(tile_height_sb);
        } else {
            let mut widest_tile_sb = 0;
            let mut start_sb = 0;
            let mut cols = 0;
            while start_sb < sb_cols {
                let max_width = (sb_cols - start_sb).min(max_tile_width_sb);
                let size_sb = ns(r, max_width)? + 1;
                widest_tile_sb = widest_tile_sb.max(size_sb);
                start_sb += size_sb;
                cols += 1;
            }
            f.tile_cols = cols;
            f.tile_cols_log2 = tile_log2(1, cols);
            max_tile_area_sb = if min_log2_tiles > 0 {
                (sb_rows * sb_cols) >> (min_log2_tiles + 1)
            } else {
                sb_rows * sb_cols
            };
            let max_tile_height_sb = (max_tile_area_sb / widest_tile_sb).max(1);
            let mut start_sb = 0;
            let mut rows = 0;
            while start_sb < sb_rows {
                let max_height = (sb_rows - start_sb).min(max_tile_height_sb);
                start_sb += ns(r, max_height)? + 1;
                rows += 1;
            }
            f.tile_rows = rows;
            f.tile_rows_log2 = tile_log2(1, rows);
        }
        if f.tile_cols > MAX_TILE_COLS || f.tile_rows > MAX_TILE_ROWS {
            return Err(CodecError::invalid(
                "AV1 frame header",
                format!("{}x{} tiles (at most 64x64)", f.tile_cols, f.tile_rows),
            ));
        }
        if f.tile_cols_log2 > 0 || f.tile_rows_log2 > 0 {
            r.skip(f.tile_cols_log2 + f.tile_rows_log2)?; // context_update_tile_id
            f.tile_size_bytes = r.bits(2)? + 1;
        } else {
            f.tile_size_bytes = 4;
        }
        Ok(())
    }

    /// set_frame_refs() (§7.8): the reference frames of frame_refs_short_signaling.
    fn set_frame_refs(
        &self,
        seq: &SequenceHeader,
        order_hint: u32,
        last: usize,
        gold: usize,
    ) -> CodecResult<[usize; REFS_PER_FRAME]> {
        let mut idx: [Option<usize>; REFS_PER_FRAME] = [None; REFS_PER_FRAME];
        idx[0] = Some(last);
        idx[3] = Some(gold);
        let mut used = [false; NUM_REF_FRAMES];
        used[last] = true;
        used[gold] = true;
        let cur = 1i64 << (seq.order_hint_bits - 1);
        let shifted: Vec<i64> = self
            .refs
            .iter()
            .map(|rf| cur + relative_dist(seq, rf.order_hint, order_hint))
            .collect();
        if shifted[last] >= cur || shifted[gold] >= cur {
            return Err(CodecError::invalid(
                "AV1 frame header",
                "frame_refs_short_signaling names a LAST or GOLDEN frame that is not in the past",
            ));
        }
        let pick = |used: &[bool; NUM_REF_FRAMES], backward: bool, latest: bool| {
            let mut best: Option<(usize, i64)> = None;
            for (i, &hint) in shifted.iter().enumerate() {
                let side = if backward { hint >= cur } else { hint < cur };
                if used[i] || !side {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((_, b)) if latest => hint >= b,
                    Some((_, b)) => hint < b,
                };
                if better {
                    best = Some((i, hint));
                }
            }
            best.map(|(i, _)| i)
        };
        // ALTREF (6): latest backward; BWDREF (4): earliest backward; ALTREF2 (5): next earliest.
        for (slot, latest) in [(6usize, true), (4, false), (5, false)] {
            if let Some(i) = pick(&used, true, latest) {
                idx[slot] = Some(i);
                used[i] = true;
            }
        }
        // LAST2, LAST3, BWDREF, ALTREF2, ALTREF: latest forward references first.
        for slot in [1usize, 2, 4, 5, 6] {
            if idx[slot].is_none() {
                if let Some(i) = pick(&used, false, true) {
                    idx[slot] = Some(i);
                    used[i] = true;
                }
            }
        }
        let mut earliest = 0;
        for i in 1..NUM_REF_FRAMES {
            if shifted[i] < shifted[earliest] {
                earliest = i;
            }
        }
        Ok(idx.map(|v| v.unwrap_or(earliest)))
    }

    /// skip_mode_params()'s skipModeAllowed (§5.9.22).
    fn skip_mode_allowed(
        &self,
        seq: &SequenceHeader,
        order_hint: u32,
        ref_frame_idx: &[usize; REFS_PER_FRAME],
    ) -> bool {
        let hints = ref_frame_idx.map(|i| self.refs[i].order_hint);
        let mut forward: Option<u32> = None;
        let mut backward: Option<u32> = None;
        for &h in &hints {
            let d = relative_dist(seq, h, order_hint);
            if d < 0 {
                if forward.is_none_or(|fh| relative_dist(seq, h, fh) > 0) {
                    forward = Some(h);
                }
            } else if d > 0 && backward.is_none_or(|bh| relative_dist(seq, h, bh) < 0) {
                backward = Some(h);
            }
        }
        match (forward, backward) {
            (None, _) => false,
            (Some(_), Some(_)) => true,
            (Some(fh), None) => hints.iter().any(|&h| relative_dist(seq, h, fh) < 0),
        }
    }

    /// tile_group_obu() (§5.11.1): the tiles of `payload`, which starts at `offset` in the
    /// sample.
    fn tile_group(
        &mut self,
        payload: &[u8],
        offset: usize,
        out: &mut Vec<TileRange>,
    ) -> CodecResult<()> {
        let f = self.frame.ok_or_else(|| {
            CodecError::invalid("AV1 tile group", "a tile group without a frame header")
        })?;
        let mut r = BitReader::new(payload, "AV1 tile group");
        let num_tiles = f.tile_cols * f.tile_rows;
        let (mut tg_start, mut tg_end) = (0, num_tiles - 1);
        if num_tiles > 1 && r.flag()? {
            let bits = f.tile_cols_log2 + f.tile_rows_log2;
            tg_start = r.bits(bits)?;
            tg_end = r.bits(bits)?;
        }
        if tg_start > tg_end || tg_end >= num_tiles {
            return Err(CodecError::invalid(
                "AV1 tile group",
                format!("tiles {tg_start}..={tg_end} of a frame with {num_tiles}"),
            ));
        }
        r.byte_align_zero()?;
        let mut pos = r.bit_position() / 8;
        for tile in tg_start..=tg_end {
            let len = if tile == tg_end {
                payload.len() - pos
            } else {
                let n = f.tile_size_bytes as usize;
                let field = payload.get(pos..pos + n).ok_or_else(|| {
                    CodecError::invalid("AV1 tile group", "a tile size field past its end")
                })?;
                pos += n;
                // le(TileSizeBytes), at most 4 bytes.
                field
                    .iter()
                    .rev()
                    .fold(0usize, |a, &b| (a << 8) | b as usize)
                    + 1
            };
            if len > payload.len() - pos || len == 0 {
                return Err(CodecError::invalid(
                    "AV1 tile group",
                    format!(
                        "tile {tile} of {len} bytes at byte {pos} runs past the tile group ({} bytes)",
                        payload.len()
                    ),
                ));
            }
            out.push(TileRange {
                start: offset + pos,
                len,
            });
            pos += len;
        }
        if tg_end == num_tiles - 1 {
            self.wrap_up();
        }
        Ok(())
    }

    /// decode_frame_wrapup(): the reference frame loading (§7.21, a shown key frame) and update
    /// (§7.20) processes, for what later headers read.
    fn wrap_up(&mut self) {
        let Some(mut f) = self.frame.take() else {
            return;
        };
        if f.show_existing_frame && f.frame_type == KEY_FRAME {
            let rf = self.refs[f.frame_to_show_map_idx];
            f.upscaled_width = rf.upscaled_width;
            f.frame_width = rf.frame_width;
            f.frame_height = rf.frame_height;
            f.order_hint = rf.order_hint;
            f.segmentation = rf.segmentation;
        }
        for (i, slot) in self.refs.iter_mut().enumerate() {
            if (f.refresh_frame_flags >> i) & 1 == 1 {
                *slot = RefFrame {
                    frame_type: f.frame_type,
                    upscaled_width: f.upscaled_width,
                    frame_width: f.frame_width,
                    frame_height: f.frame_height,
                    order_hint: f.order_hint,
                    segmentation: f.segmentation,
                };
            }
        }
    }
}

/// sequence_header_obu() (§5.5).
fn parse_sequence_header(payload: &[u8]) -> CodecResult<SequenceHeader> {
    let mut r = BitReader::new(payload, "AV1 sequence header");
    let r = &mut r;
    let mut s = SequenceHeader::default();
    let seq_profile = r.bits(3)?;
    r.skip(1)?; // still_picture
    s.reduced_still_picture_header = r.flag()?;
    let mut buffer_delay_length = 0;
    if s.reduced_still_picture_header {
        r.skip(5)?; // seq_level_idx[0]
        s.operating_points.push((0, false));
    } else {
        if r.flag()? {
            // timing_info()
            r.skip(64)?;
            s.equal_picture_interval = r.flag()?;
            if s.equal_picture_interval {
                uvlc(r)?;
            }
            s.decoder_model_info_present = r.flag()?;
            if s.decoder_model_info_present {
                buffer_delay_length = r.bits(5)? + 1;
                r.skip(32)?; // num_units_in_decoding_tick
                s.buffer_removal_time_length = r.bits(5)? + 1;
                s.frame_presentation_time_length = r.bits(5)? + 1;
            }
        }
        let initial_display_delay_present = r.flag()?;
        let count = r.bits(5)? + 1;
        for _ in 0..count {
            let idc = r.bits(12)?;
            if r.bits(5)? > 7 {
                r.skip(1)?; // seq_tier
            }
            let mut model_present = false;
            if s.decoder_model_info_present {
                model_present = r.flag()?;
                if model_present {
                    // operating_parameters_info(): decoder/encoder_buffer_delay, low_delay_mode_flag
                    r.skip(2 * buffer_delay_length + 1)?;
                }
            }
            if initial_display_delay_present && r.flag()? {
                r.skip(4)?;
            }
            s.operating_points.push((idc, model_present));
        }
    }
    s.frame_width_bits = r.bits(4)? + 1;
    s.frame_height_bits = r.bits(4)? + 1;
    s.max_frame_width = r.bits(s.frame_width_bits)? + 1;
    s.max_frame_height = r.bits(s.frame_height_bits)? + 1;
    s.frame_id_numbers_present = !s.reduced_still_picture_header && r.flag()?;
    if s.frame_id_numbers_present {
        s.delta_frame_id_length = r.bits(4)? + 2;
        s.frame_id_length = r.bits(3)? + 1 + s.delta_frame_id_length;
    }
    s.use_128x128_superblock = r.flag()?;
    r.skip(2)?; // enable_filter_intra, enable_intra_edge_filter
    if s.reduced_still_picture_header {
        s.seq_force_screen_content_tools = SELECT;
        s.seq_force_integer_mv = SELECT;
    } else {
        r.skip(2)?; // enable_interintra_compound, enable_masked_compound
        s.enable_warped_motion = r.flag()?;
        r.skip(1)?; // enable_dual_filter
        s.enable_order_hint = r.flag()?;
        if s.enable_order_hint {
            r.skip(1)?; // enable_jnt_comp
            s.enable_ref_frame_mvs = r.flag()?;
        }
        s.seq_force_screen_content_tools = if r.flag()? { SELECT } else { r.bits(1)? };
        s.seq_force_integer_mv = if s.seq_force_screen_content_tools > 0 {
            if r.flag()? {
                SELECT
            } else {
                r.bits(1)?
            }
        } else {
            SELECT
        };
        if s.enable_order_hint {
            s.order_hint_bits = r.bits(3)? + 1;
        }
    }
    s.enable_superres = r.flag()?;
    s.enable_cdef = r.flag()?;
    s.enable_restoration = r.flag()?;
    // color_config() (§5.5.2)
    let high_bitdepth = r.flag()?;
    let bit_depth = if seq_profile == 2 && high_bitdepth {
        if r.flag()? {
            12
        } else {
            10
        }
    } else if high_bitdepth {
        10
    } else {
        8
    };
    s.mono_chrome = seq_profile != 1 && r.flag()?;
    let (mut cp, mut tc, mut mc) = (2, 2, 2);
    if r.flag()? {
        cp = r.bits(8)?;
        tc = r.bits(8)?;
        mc = r.bits(8)?;
    }
    if s.mono_chrome {
        r.skip(1)?; // color_range
        s.subsampling_x = true;
        s.subsampling_y = true;
    } else {
        if cp == 1 && tc == 13 && mc == 0 {
            // sRGB: 4:4:4, full range.
        } else {
            r.skip(1)?; // color_range
            match seq_profile {
                0 => (s.subsampling_x, s.subsampling_y) = (true, true),
                1 => {}
                _ if bit_depth == 12 => {
                    s.subsampling_x = r.flag()?;
                    s.subsampling_y = s.subsampling_x && r.flag()?;
                }
                _ => s.subsampling_x = true,
            }
            if s.subsampling_x && s.subsampling_y {
                r.skip(2)?; // chroma_sample_position
            }
        }
        s.separate_uv_delta_q = r.flag()?;
    }
    s.film_grain_params_present = r.flag()?;
    Ok(s)
}

/// superres_params() and compute_image_size() (§5.9.8, §5.9.9).
fn superres_params(
    r: &mut BitReader<'_>,
    seq: &SequenceHeader,
    f: &mut FrameState,
) -> CodecResult<()> {
    if seq.enable_superres && r.flag()? {
        let denom = r.bits(3)? + 9;
        f.frame_width = (f.upscaled_width * 8 + denom / 2) / denom;
    }
    Ok(())
}

/// render_size() (§5.9.6): only skipped.
fn render_size(r: &mut BitReader<'_>) -> CodecResult<()> {
    if r.flag()? {
        r.skip(32)?;
    }
    Ok(())
}

/// read_delta_q() (§5.9.13).
fn read_delta_q(r: &mut BitReader<'_>) -> CodecResult<i32> {
    if r.flag()? {
        su(r, 7)
    } else {
        Ok(0)
    }
}

/// global_motion_params() (§5.9.24): only skipped; how many bits decode_subexp() reads does
/// not depend on the reference frame's parameters, only on the field's range.
fn global_motion_params(r: &mut BitReader<'_>, allow_high_precision_mv: bool) -> CodecResult<()> {
    const IDENTITY: u8 = 0;
    const TRANSLATION: u8 = 1;
    const ROTZOOM: u8 = 2;
    const AFFINE: u8 = 3;
    for _ in 0..REFS_PER_FRAME {
        let kind = if !r.flag()? {
            IDENTITY
        } else if r.flag()? {
            ROTZOOM
        } else if r.flag()? {
            TRANSLATION
        } else {
            AFFINE
        };
        let params: &[usize] = match kind {
            IDENTITY => &[],
            TRANSLATION => &[0, 1],
            ROTZOOM => &[2, 3, 0, 1],
            _ => &[2, 3, 4, 5, 0, 1],
        };
        for &idx in params {
            // read_global_param(): GM_ABS_ALPHA_BITS, GM_ABS_TRANS_BITS, GM_ABS_TRANS_ONLY_BITS.
            let abs_bits = match (idx < 2, kind == TRANSLATION) {
                (true, true) => 9 - u32::from(!allow_high_precision_mv),
                _ => 12,
            };
            let mx = 1u32 << abs_bits;
            // decode_signed_subexp_with_ref(-mx, mx + 1, r) reads decode_subexp(2 * mx + 1).
            decode_subexp(r, 2 * mx + 1)?;
        }
    }
    Ok(())
}

/// decode_subexp(numSyms) (§5.9.28): only skipped.
fn decode_subexp(r: &mut BitReader<'_>, num_syms: u32) -> CodecResult<()> {
    let (mut i, mut mk, k) = (0u32, 0u32, 3u32);
    loop {
        let b2 = if i > 0 { k + i - 1 } else { k };
        let a = 1u32 << b2;
        if num_syms <= mk + 3 * a {
            ns(r, num_syms - mk)?;
            return Ok(());
        }
        if !r.flag()? {
            return r.skip(b2);
        }
        i += 1;
        mk += a;
    }
}

/// film_grain_params() (§5.9.30) after apply_grain = 1: only skipped.
fn film_grain_params(
    r: &mut BitReader<'_>,
    seq: &SequenceHeader,
    frame_type: u32,
) -> CodecResult<()> {
    r.skip(16)?; // grain_seed
    let update_grain = frame_type != INTER_FRAME || r.flag()?;
    if !update_grain {
        return r.skip(3); // film_grain_params_ref_idx
    }
    let num_y_points = r.bits(4)?;
    r.skip(16 * num_y_points)?;
    let chroma_scaling_from_luma = !seq.mono_chrome && r.flag()?;
    let (mut num_cb, mut num_cr) = (0, 0);
    if !(seq.mono_chrome
        || chroma_scaling_from_luma
        || (seq.subsampling_x && seq.subsampling_y && num_y_points == 0))
    {
        num_cb = r.bits(4)?;
        r.skip(16 * num_cb)?;
        num_cr = r.bits(4)?;
        r.skip(16 * num_cr)?;
    }
    r.skip(2)?; // grain_scaling_minus_8
    let lag = r.bits(2)?;
    let num_pos_luma = 2 * lag * (lag + 1);
    let num_pos_chroma = if num_y_points > 0 {
        r.skip(8 * num_pos_luma)?;
        num_pos_luma + 1
    } else {
        num_pos_luma
    };
    if chroma_scaling_from_luma || num_cb > 0 {
        r.skip(8 * num_pos_chroma)?;
    }
    if chroma_scaling_from_luma || num_cr > 0 {
        r.skip(8 * num_pos_chroma)?;
    }
    r.skip(4)?; // ar_coeff_shift_minus_6, grain_scale_shift
    if num_cb > 0 {
        r.skip(25)?;
    }
    if num_cr > 0 {
        r.skip(25)?;
    }
    r.skip(2) // overlap_flag, clip_restricted_range
}

/// get_relative_dist() (§7.12.3 helper in §5.9.2 semantics).
fn relative_dist(seq: &SequenceHeader, a: u32, b: u32) -> i64 {
    if !seq.enable_order_hint {
        return 0;
    }
    let diff = i64::from(a) - i64::from(b);
    let m = 1i64 << (seq.order_hint_bits - 1);
    (diff & (m - 1)) - (diff & m)
}

/// tile_log2() (§5.9.16): the smallest k with blk_size << k ≥ target.
fn tile_log2(blk_size: u32, target: u32) -> u32 {
    let mut k = 0;
    while (u64::from(blk_size) << k) < u64::from(target) {
        k += 1;
    }
    k
}

/// su(n) (§4.10.6).
fn su(r: &mut BitReader<'_>, n: u32) -> CodecResult<i32> {
    let v = r.bits(n)? as i64;
    let sign = 1i64 << (n - 1);
    Ok((if v & sign != 0 { v - 2 * sign } else { v }) as i32)
}

/// ns(n) (§4.10.7): a value in 0..n.
fn ns(r: &mut BitReader<'_>, n: u32) -> CodecResult<u32> {
    let w = 32 - n.leading_zeros(); // FloorLog2(n) + 1
    let m = (1u32 << w) - n;
    let v = r.bits(w - 1)?;
    if v < m {
        return Ok(v);
    }
    let extra = r.bits(1)?;
    Ok((v << 1) - m + extra)
}

/// uvlc() (§4.10.3).
fn uvlc(r: &mut BitReader<'_>) -> CodecResult<u32> {
    let mut zeros = 0;
    while !r.bit()? {
        zeros += 1;
        if zeros >= 32 {
            return Ok(u32::MAX);
        }
    }
    Ok(((1u64 << zeros) - 1 + u64::from(r.bits(zeros)?)) as u32)
}

/// leb128() (§4.10.5): the value and the bytes it took.
fn leb128(data: &[u8]) -> CodecResult<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..8 {
        let b = *data.get(i).ok_or(CodecError::BitsExhausted {
            what: "AV1 obu_size",
            at_bit: i * 8,
        })?;
        value |= u64::from(b & 0x7f) << (i * 7);
        if b & 0x80 == 0 {
            if value > u64::from(u32::MAX) {
                return Err(CodecError::invalid(
                    "AV1 obu_size",
                    format!("{value} exceeds 2^32 - 1"),
                ));
            }
            return Ok((value, i + 1));
        }
    }
    Err(CodecError::invalid(
        "AV1 obu_size",
        "a leb128 value longer than 8 bytes",
    ))
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
        assert_eq!(c.codec_string(None), "av01.0.00M.08");
        // ffprobe: yuv420p.
        assert!(!c.mono_chrome && c.subsampling_x && c.subsampling_y);
    }

    #[test]
    fn long_form_with_a_colour_description() {
        // 10-bit 4:2:0 with chroma_sample_position 2; a 12-bit monochrome one (profile 2, where
        // twelve_bit counts): every field lands in its place, two digits where the form says.
        let c = Av1Config::parse(&[0x81, 0x04, 0x4e, 0]).unwrap();
        let colour = Colour {
            primaries: 10,
            transfer: 8,
            matrix: 4,
            full_range: true,
        };
        assert_eq!(c.codec_string(None), "av01.0.04M.10");
        assert_eq!(
            c.codec_string(Some(colour)),
            "av01.0.04M.10.0.112.10.08.04.1"
        );
        let c = Av1Config::parse(&[0x81, 0x55, 0xf4, 0]).unwrap();
        let bt709 = Colour {
            primaries: 1,
            transfer: 1,
            matrix: 1,
            full_range: false,
        };
        assert_eq!(
            c.codec_string(Some(bt709)),
            "av01.2.21H.12.1.010.01.01.01.0"
        );
    }

    #[test]
    fn high_bitdepth_and_bad_marker() {
        let c = Av1Config::parse(&[0x81, (2 << 5) | 13, 0xe0]).unwrap();
        assert_eq!(c.codec_string(None), "av01.2.13H.12");
        let c = Av1Config::parse(&[0x81, (2 << 5) | 13, 0xc0]).unwrap();
        assert_eq!(c.codec_string(None), "av01.2.13H.10");
        let e = Av1Config::parse(&[0x80, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("expected 0x81"), "{e}");
        assert!(matches!(
            Av1Config::parse(&[0x81, 0]).unwrap_err(),
            CodecError::Box(_)
        ));
    }

    #[test]
    fn malformed_obus_are_errors() {
        let mut f = Av1TileFinder::default();
        // Temporal delimiter (type 2, has_size) with obu_size 0, then padding claiming 9 bytes.
        let e = f.tiles(&[0x12, 0x00, 0x7a, 0x09, 1, 2]).unwrap_err();
        assert!(
            e.to_string().contains("runs past the end of the sample"),
            "{e}"
        );
        let e = f.tiles(&[0x92, 0x00]).unwrap_err();
        assert!(e.to_string().contains("obu_forbidden_bit"), "{e}");
        // A frame OBU (type 6) before any sequence header.
        let e = f.tiles(&[0x32, 0x01, 0x10]).unwrap_err();
        assert!(e.to_string().contains("before any sequence header"), "{e}");
        // A tile group OBU (type 4) without a frame header.
        let e = f.tiles(&[0x22, 0x01, 0x00]).unwrap_err();
        assert!(e.to_string().contains("without a frame header"), "{e}");
        // leb128 longer than 8 bytes, and over 2^32 - 1.
        assert!(f
            .tiles(&[0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
            .is_err());
        assert!(f.tiles(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x1f]).is_err());
        // Only clear OBUs: no tiles.
        assert_eq!(
            f.tiles(&[0x12, 0x00, 0x7a, 0x02, 0xaa, 0xbb]).unwrap(),
            vec![]
        );
    }

    #[test]
    fn field_readers_follow_the_spec() {
        // ns(5): w = 3, m = 3; 2 bits 0b10 = 2 < 3 -> 2; 0b11 then 1 -> (3 << 1) - 3 + 1 = 4.
        let mut r = BitReader::new(&[0b1011_1000], "t");
        assert_eq!(ns(&mut r, 5).unwrap(), 2);
        assert_eq!(ns(&mut r, 5).unwrap(), 4);
        // su(7) of 0b1111111 = -1.
        assert_eq!(su(&mut BitReader::new(&[0xfe], "t"), 7).unwrap(), -1);
        assert_eq!(tile_log2(1, 10), 4);
        assert_eq!(tile_log2(64, 10), 0);
        assert_eq!(leb128(&[0x80, 0x01]).unwrap(), (128, 2));
        // uvlc: 001 then 2 bits 01 -> 3 + 1 = 4.
        assert_eq!(uvlc(&mut BitReader::new(&[0b0010_1000], "t")).unwrap(), 4);
    }
}
