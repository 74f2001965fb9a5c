//! Multi-layer HEVC (ITU-T H.265 Annex F: MV-HEVC, e.g. Apple spatial video): the video
//! parameter set with its extension (§F.7.3.2.1), read as far as the SPSs and slice segment
//! headers of layers above 0 depend on it, and the layered configuration record `lhvC`
//! (ISO/IEC 14496-15 §9.6.3).
//!
//! What a layer-1 slice header needs from the VPS: the layer's index in the VPS, its direct
//! reference layers (inter-layer prediction fields, NumActiveRefLayerPics),
//! default_ref_layers_active_flag, max_one_active_ref_layer_flag and poc_lsb_not_present_flag;
//! an SPS with MultiLayerExtSpsFlag takes its picture size and chroma format from the VPS's
//! rep_format() structures. Reading is bounded: every loop runs over counts limited by the
//! specification's ranges (at most 64 layers, 1024 layer sets, 64 profile_tier_level()s).
use super::bits::{ceil_log2, BitReader};
use super::error::{CodecError, CodecResult};
use super::nal::{nal_length_size, NAL_LENGTH_SIZE_3};
use crate::mp4::ByteReader;

const VPS: &str = "HEVC VPS";

/// The general profile, tier and level of a profile_tier_level() (§7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileTierLevel {
    /// general_profile_space.
    pub profile_space: u8,
    /// general_tier_flag.
    pub tier_high: bool,
    /// general_profile_idc (6: Multiview Main, Annex G.11).
    pub profile_idc: u8,
    /// general_profile_compatibility_flags.
    pub compatibility: u32,
    /// general_constraint_indicator_flags (48 bits) and the reserved bits after them.
    pub constraints: [u8; 6],
    /// general_level_idc.
    pub level_idc: u8,
}

impl ProfileTierLevel {
    /// The codec string of ISO/IEC 14496-15 Annex E.3 for the sample entry `fourcc`, in the
    /// form [`super::hevc::HevcConfig::codec_string`] writes (e.g. `hvc1.6.40.L156.BF.80`).
    pub fn codec_string(&self, fourcc: &str) -> String {
        let space = ["", "A", "B", "C"][usize::from(self.profile_space & 3)];
        // E.3: the 32 compatibility flags in reverse bit order, hex without leading zeros.
        let mut s = format!(
            "{fourcc}.{space}{}.{:X}.{}{}",
            self.profile_idc,
            self.compatibility.reverse_bits(),
            if self.tier_high { 'H' } else { 'L' },
            self.level_idc
        );
        // E.3: the six constraint bytes, each in hex; trailing zero bytes may be omitted.
        let used = self
            .constraints
            .iter()
            .rposition(|&c| c != 0)
            .map_or(0, |i| i + 1);
        for c in &self.constraints[..used] {
            s.push_str(&format!(".{c:X}"));
        }
        s
    }
}

/// profile_tier_level(profilePresentFlag, maxNumSubLayersMinus1), §7.3.3.
pub(super) fn profile_tier_level(
    r: &mut BitReader,
    profile_present: bool,
    max_sub_layers_minus1: u32,
) -> CodecResult<ProfileTierLevel> {
    let mut p = ProfileTierLevel::default();
    if profile_present {
        let b = r.bits(8)?;
        p.profile_space = (b >> 6) as u8;
        p.tier_high = b & 0x20 != 0;
        p.profile_idc = (b & 0x1f) as u8;
        p.compatibility = r.bits(32)?;
        for c in &mut p.constraints {
            *c = r.bits(8)? as u8;
        }
    }
    p.level_idc = r.bits(8)? as u8;
    // max_sub_layers_minus1 ≤ 7 (a 3-bit field).
    let mut present = Vec::with_capacity(8);
    for _ in 0..max_sub_layers_minus1 {
        present.push((r.flag()?, r.flag()?));
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            r.skip(2)?; // reserved_zero_2bits
        }
    }
    for (profile, level) in present {
        if profile {
            r.skip(88)?;
        }
        if level {
            r.skip(8)?;
        }
    }
    Ok(p)
}

/// One rep_format() (§F.7.3.2.1.2): what an SPS with MultiLayerExtSpsFlag takes from the VPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepFormat {
    /// pic_width_vps_in_luma_samples.
    pub width: u32,
    /// pic_height_vps_in_luma_samples.
    pub height: u32,
    /// chroma_format_vps_idc.
    pub chroma_format_idc: u32,
    /// separate_colour_plane_vps_flag.
    pub separate_colour_plane: bool,
}

/// What the VPS says about one layer (index i in the VPS: LayerIdxInVps).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layer {
    /// Indices in the VPS of the layers it directly depends on (direct_dependency_flag).
    direct_refs: Vec<usize>,
    /// sub_layers_vps_max_minus1[i].
    sub_layers_max_minus1: u32,
    /// poc_lsb_not_present_flag[i].
    poc_lsb_not_present: bool,
    /// vps_rep_format_idx[i].
    rep_format: usize,
}

/// A parsed video parameter set: for single-layer streams only its id matters; for
/// multi-layer ones the extension fields that later syntax depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcVps {
    /// vps_video_parameter_set_id.
    pub id: u32,
    /// nuh_layer_id → LayerIdxInVps.
    layer_idx: Vec<Option<usize>>,
    layers: Vec<Layer>,
    /// max_tid_il_ref_pics_plus1[i][j] (7 when absent).
    max_tid_il_ref_pics_plus1: Vec<Vec<u32>>,
    default_ref_layers_active: bool,
    max_one_active_ref_layer: bool,
    rep_formats: Vec<RepFormat>,
    /// The profile, tier and level of the highest layer of the last output layer set: the
    /// layered stream's (what the codec string of an MV-HEVC track names).
    pub layered_ptl: Option<ProfileTierLevel>,
}

/// The inter-layer fields of a layer-N slice header need these answers from the VPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LayerSliceInfo {
    /// poc_lsb_not_present_flag of the layer.
    pub poc_lsb_not_present: bool,
    /// NumDirectRefLayers of the layer.
    pub num_direct_ref_layers: u32,
    /// NumRefLayerPics for the slice's TemporalId (§F.7.4.7.1: the direct reference layers
    /// whose sub-layers reach that TemporalId).
    pub num_ref_layer_pics: u32,
    /// default_ref_layers_active_flag.
    pub default_ref_layers_active: bool,
    /// max_one_active_ref_layer_flag.
    pub max_one_active_ref_layer: bool,
}

impl HevcVps {
    /// Parses a VPS RBSP (after the two-byte NAL header).
    pub fn parse(rbsp: &[u8]) -> CodecResult<Self> {
        let mut r = BitReader::rbsp(rbsp, VPS);
        let id = r.bits(4)?;
        let base_internal = r.flag()?;
        r.flag()?; // vps_base_layer_available_flag
        let max_layers_minus1 = r.bits(6)?;
        let max_sub_layers_minus1 = r.bits(3)?;
        r.flag()?; // vps_temporal_id_nesting_flag
        r.skip(16)?; // vps_reserved_0xffff_16bits
        profile_tier_level(&mut r, true, max_sub_layers_minus1)?;
        let first = if r.flag()? { 0 } else { max_sub_layers_minus1 };
        for _ in first..=max_sub_layers_minus1 {
            r.ue()?;
            r.ue()?;
            r.ue()?;
        }
        let max_layer_id = r.bits(6)?;
        let num_layer_sets_minus1 = r.ue_max(1023, "vps_num_layer_sets_minus1")? as usize;
        // LayerSetLayerIdList: layer set 0 is the base layer alone.
        let mut layer_sets: Vec<Vec<u32>> = vec![vec![0]];
        for _ in 1..=num_layer_sets_minus1 {
            let mut ids = Vec::new();
            for j in 0..=max_layer_id {
                if r.flag()? {
                    ids.push(j);
                }
            }
            layer_sets.push(ids);
        }
        if r.flag()? {
            // vps_timing_info_present_flag
            r.skip(64)?; // vps_num_units_in_tick, vps_time_scale
            if r.flag()? {
                r.ue()?; // vps_num_ticks_poc_diff_one_minus1
            }
            if r.ue_max(1024, "vps_num_hrd_parameters")? > 0 {
                return Err(CodecError::Unsupported {
                    what: VPS,
                    reason: "hrd_parameters() in the VPS are not supported".into(),
                });
            }
        }
        let mut vps = HevcVps {
            id,
            layer_idx: vec![None; 64],
            layers: Vec::new(),
            max_tid_il_ref_pics_plus1: Vec::new(),
            default_ref_layers_active: false,
            max_one_active_ref_layer: false,
            rep_formats: Vec::new(),
            layered_ptl: None,
        };
        vps.layer_idx[0] = Some(0);
        let extension = r.flag()?;
        if !extension || max_layers_minus1 == 0 {
            // A single-layer stream: nothing past here is needed.
            return Ok(vps);
        }
        if !base_internal {
            return Err(CodecError::Unsupported {
                what: VPS,
                reason: "a base layer outside the stream (vps_base_layer_internal_flag 0)".into(),
            });
        }
        while !r.byte_aligned() {
            r.flag()?; // vps_extension_alignment_bit_equal_to_one
        }
        vps.extension(
            &mut r,
            max_layers_minus1.min(62) as usize,
            max_sub_layers_minus1,
            num_layer_sets_minus1,
            layer_sets,
        )?;
        Ok(vps)
    }

    /// vps_extension(), §F.7.3.2.1.1, up to poc_lsb_not_present_flag (what follows, dpb_size()
    /// and the VUI, no slice depends on). The base layer is internal.
    fn extension(
        &mut self,
        r: &mut BitReader,
        max_layers_minus1: usize,
        max_sub_layers_minus1: u32,
        num_layer_sets_minus1: usize,
        mut layer_sets: Vec<Vec<u32>>,
    ) -> CodecResult<()> {
        let n = max_layers_minus1 + 1;
        profile_tier_level(r, false, max_sub_layers_minus1)?;
        let splitting = r.flag()?;
        let mut num_scalability_types = 0usize;
        let mut multiview_type = None;
        for i in 0..16 {
            if r.flag()? {
                if i == 1 {
                    multiview_type = Some(num_scalability_types);
                }
                num_scalability_types += 1;
            }
        }
        let mut dim_len = vec![0u32; num_scalability_types];
        let signalled = num_scalability_types.saturating_sub(usize::from(splitting));
        for len in dim_len.iter_mut().take(signalled) {
            *len = r.bits(3)? + 1;
        }
        if splitting && num_scalability_types > 0 {
            // (F-1): the last length makes the lengths add up to the six bits of nuh_layer_id.
            let used: u32 = dim_len[..num_scalability_types - 1].iter().sum();
            dim_len[num_scalability_types - 1] = 6u32.checked_sub(used).ok_or_else(|| {
                CodecError::invalid(VPS, "dimension_id_len_minus1 exceed nuh_layer_id's 6 bits")
            })?;
        }
        let id_present = r.flag()?;
        let mut layer_id = vec![0u32; n];
        let mut view_order = vec![0u32; n];
        for i in 1..n {
            layer_id[i] = if id_present { r.bits(6)? } else { i as u32 };
            let mut dims = vec![0u32; num_scalability_types];
            if !splitting {
                for (d, &len) in dims.iter_mut().zip(&dim_len) {
                    *d = r.bits(len)?;
                }
            } else {
                // §F.7.4.3.1.1: the dimensions are bit fields of nuh_layer_id, from bit 0 up
                // (dimBitOffset); the lengths add up to 6.
                let mut offset = 0;
                for (d, &len) in dims.iter_mut().zip(&dim_len) {
                    *d = (layer_id[i] >> offset) & ((1 << len) - 1);
                    offset += len;
                }
            }
            view_order[i] = multiview_type.map_or(0, |t| dims[t]);
        }
        for i in 1..n {
            if layer_id[i] <= layer_id[i - 1] {
                return Err(CodecError::invalid(
                    VPS,
                    "layer_id_in_nuh values are not increasing",
                ));
            }
            self.layer_idx[layer_id[i] as usize] = Some(i);
        }
        // NumViews (F-3): distinct ViewOrderIdx values.
        let mut views: Vec<u32> = view_order.clone();
        views.sort_unstable();
        views.dedup();
        let view_id_len = r.bits(4)?;
        if view_id_len > 0 {
            for _ in 0..views.len() {
                r.skip(view_id_len)?; // view_id_val
            }
        }
        let mut direct = vec![vec![false; n]; n];
        for (i, row) in direct.iter_mut().enumerate().skip(1) {
            for flag in row.iter_mut().take(i) {
                *flag = r.flag()?;
            }
        }
        // DependencyFlag (F-4): the transitive closure, layer indices increasing.
        let mut depends = direct.clone();
        for i in 0..n {
            for k in 0..i {
                if direct[i][k] {
                    let row_k = depends[k].clone();
                    for (j, d) in row_k.into_iter().enumerate() {
                        depends[i][j] |= d;
                    }
                }
            }
        }
        let independent = (0..n).filter(|&i| !direct[i].contains(&true)).count();
        if independent > 1 && r.ue_max(1023, "num_add_layer_sets")? > 0 {
            return Err(CodecError::Unsupported {
                what: VPS,
                reason: "additional layer sets (num_add_layer_sets > 0) are not supported".into(),
            });
        }
        let mut sub_layers_max = vec![max_sub_layers_minus1; n];
        if r.flag()? {
            for s in sub_layers_max.iter_mut() {
                *s = r.bits(3)?;
            }
        }
        let mut max_tid = vec![vec![7u32; n]; n];
        if r.flag()? {
            for i in 0..n.saturating_sub(1) {
                for j in i + 1..n {
                    if direct[j][i] {
                        max_tid[i][j] = r.bits(3)?;
                    }
                }
            }
        }
        self.default_ref_layers_active = r.flag()?;
        let num_ptl_minus1 = r.ue_max(63, "vps_num_profile_tier_level_minus1")? as usize;
        // PTL 0 is the base VPS's, PTL 1 the extension's first (profilePresentFlag 0).
        let mut ptls = vec![ProfileTierLevel::default(); 2];
        for _ in 2..=num_ptl_minus1 {
            let present = r.flag()?;
            let ptl = profile_tier_level(r, present, max_sub_layers_minus1)?;
            // Without a profile, the profile of the previous one applies (§F.7.4.3.1.1).
            let ptl = if present {
                ptl
            } else {
                ProfileTierLevel {
                    level_idc: ptl.level_idc,
                    ..*ptls.last().unwrap_or(&ptl)
                }
            };
            ptls.push(ptl);
        }
        let num_layer_sets = num_layer_sets_minus1 + 1;
        let (num_add_olss, default_output_idc) = if num_layer_sets > 1 {
            (r.ue_max(1023, "num_add_olss")? as usize, r.bits(2)?.min(2))
        } else {
            (0, 0)
        };
        let idx_of = |id: u32| self.layer_idx.get(id as usize).copied().flatten();
        let mut last_ptl = None;
        for i in 1..num_add_olss + num_layer_sets {
            let ls = if i >= num_layer_sets {
                let idx = if num_layer_sets > 2 {
                    r.bits(ceil_log2(num_layer_sets as u32 - 1))? as usize
                } else {
                    0
                };
                idx + 1
            } else {
                i
            };
            let set = layer_sets.get_mut(ls).ok_or_else(|| {
                CodecError::invalid(VPS, "layer_set_idx_for_ols_minus1 out of range")
            })?;
            // Layers of the set that the VPS does not know cannot be in the stream.
            set.retain(|&id| idx_of(id).is_some());
            let set = set.clone();
            let output: Vec<bool> = if i > num_layer_sets_minus1 || default_output_idc == 2 {
                let mut out = Vec::with_capacity(set.len());
                for _ in 0..set.len() {
                    out.push(r.flag()?);
                }
                out
            } else {
                // defaultOutputLayerIdc 0: every layer; 1: the highest layer of the set.
                (0..set.len())
                    .map(|j| default_output_idc == 0 || j + 1 == set.len())
                    .collect()
            };
            // NecessaryLayerFlag (F-10): output layers and the layers they depend on.
            let mut necessary = output.clone();
            for (j, &out) in output.iter().enumerate() {
                if !out {
                    continue;
                }
                let cur = idx_of(set[j]).unwrap_or(0);
                for (k, &ref_id) in set.iter().enumerate().take(j) {
                    if depends[cur][idx_of(ref_id).unwrap_or(0)] {
                        necessary[k] = true;
                    }
                }
            }
            for (j, &needed) in necessary.iter().enumerate() {
                if needed && num_ptl_minus1 > 0 {
                    let p = r.bits(ceil_log2(num_ptl_minus1 as u32 + 1))? as usize;
                    if j + 1 == set.len() {
                        last_ptl = ptls.get(p).copied();
                    }
                }
            }
            let outputs: Vec<usize> = (0..set.len()).filter(|&j| output[j]).collect();
            if outputs.len() == 1 {
                let highest = idx_of(set[outputs[0]]).unwrap_or(0);
                if direct[highest].contains(&true) {
                    r.flag()?; // alt_output_layer_flag
                }
            }
        }
        self.layered_ptl = last_ptl.filter(|p| p.profile_idc != 0);
        let num_rep_formats = r.ue_max(255, "vps_num_rep_formats_minus1")? as usize + 1;
        for i in 0..num_rep_formats {
            let width = r.bits(16)?;
            let height = r.bits(16)?;
            let (chroma_format_idc, separate_colour_plane) = if r.flag()? {
                let chroma = r.bits(2)?;
                let separate = chroma == 3 && r.flag()?;
                r.skip(8)?; // bit_depth_vps_luma_minus8, bit_depth_vps_chroma_minus8
                (chroma, separate)
            } else {
                // §F.7.4.3.1.2: inferred from the previous rep_format(); the first has them.
                let prev = self.rep_formats.last().ok_or_else(|| {
                    CodecError::invalid(
                        VPS,
                        format!("rep_format {i} has no chroma format and none precedes it"),
                    )
                })?;
                (prev.chroma_format_idc, prev.separate_colour_plane)
            };
            if r.flag()? {
                for _ in 0..4 {
                    r.ue()?; // conf_win_vps_*_offset
                }
            }
            self.rep_formats.push(RepFormat {
                width,
                height,
                chroma_format_idc,
                separate_colour_plane,
            });
        }
        let idx_present = num_rep_formats > 1 && r.flag()?;
        let mut rep_format = vec![0usize; n];
        for (i, f) in rep_format.iter_mut().enumerate() {
            *f = if idx_present && i > 0 {
                let v = r.bits(ceil_log2(num_rep_formats as u32))? as usize;
                if v >= num_rep_formats {
                    return Err(CodecError::invalid(VPS, "vps_rep_format_idx out of range"));
                }
                v
            } else {
                i.min(num_rep_formats - 1)
            };
        }
        self.max_one_active_ref_layer = r.flag()?;
        r.flag()?; // vps_poc_lsb_aligned_flag
        let mut poc_lsb_not_present = vec![false; n];
        for (i, p) in poc_lsb_not_present.iter_mut().enumerate().skip(1) {
            if !direct[i].contains(&true) {
                *p = r.flag()?;
            }
        }
        self.layers = (0..n)
            .map(|i| Layer {
                direct_refs: (0..n).filter(|&j| direct[i][j]).collect(),
                sub_layers_max_minus1: sub_layers_max[i],
                poc_lsb_not_present: poc_lsb_not_present[i],
                rep_format: rep_format[i],
            })
            .collect();
        self.max_tid_il_ref_pics_plus1 = max_tid;
        Ok(())
    }

    fn layer(&self, nuh_layer_id: u32) -> CodecResult<(usize, &Layer)> {
        self.layer_idx
            .get(nuh_layer_id as usize)
            .copied()
            .flatten()
            .and_then(|i| self.layers.get(i).map(|l| (i, l)))
            .ok_or_else(|| {
                CodecError::invalid(
                    VPS,
                    format!(
                        "nuh_layer_id {nuh_layer_id} is not a layer of VPS {}",
                        self.id
                    ),
                )
            })
    }

    /// The rep_format() of layer `nuh_layer_id`, or the one `sps_rep_format_idx` names.
    pub(super) fn rep_format(
        &self,
        nuh_layer_id: u32,
        sps_rep_format_idx: Option<u32>,
    ) -> CodecResult<RepFormat> {
        let idx = match sps_rep_format_idx {
            Some(i) => i as usize,
            None => self.layer(nuh_layer_id)?.1.rep_format,
        };
        self.rep_formats.get(idx).copied().ok_or_else(|| {
            CodecError::invalid(VPS, format!("rep_format {idx} is not in VPS {}", self.id))
        })
    }

    /// What a slice header of layer `nuh_layer_id` (> 0) with `temporal_id` needs.
    pub(super) fn slice_info(
        &self,
        nuh_layer_id: u32,
        temporal_id: u32,
    ) -> CodecResult<LayerSliceInfo> {
        let (idx, layer) = self.layer(nuh_layer_id)?;
        // NumRefLayerPics (§F.7.4.7.1): reference layers whose sub-layers reach this TemporalId.
        let num_ref_layer_pics = layer
            .direct_refs
            .iter()
            .filter(|&&j| {
                let sub = self.layers.get(j).map_or(0, |l| l.sub_layers_max_minus1);
                let tid = self.max_tid_il_ref_pics_plus1[j][idx];
                sub >= temporal_id && (temporal_id == 0 || tid > temporal_id)
            })
            .count() as u32;
        Ok(LayerSliceInfo {
            poc_lsb_not_present: layer.poc_lsb_not_present,
            num_direct_ref_layers: layer.direct_refs.len() as u32,
            num_ref_layer_pics,
            default_ref_layers_active: self.default_ref_layers_active,
            max_one_active_ref_layer: self.max_one_active_ref_layer,
        })
    }
}

/// The parameter sets of an `lhvC` box body (LHEVCDecoderConfigurationRecord, ISO/IEC
/// 14496-15 §9.6.3): VPS, SPS and PPS NAL units of the layers above 0, in record order, and
/// the NAL unit length size (which must equal `hvcC`'s).
pub fn lhvc_parameter_sets(lhvc: &[u8]) -> CodecResult<(u8, Vec<Vec<u8>>)> {
    let mut r = ByteReader::new(lhvc, *b"lhvC");
    let version = r.u8()?;
    if version != 1 {
        return Err(CodecError::invalid(
            "lhvC",
            format!("configurationVersion {version} (expected 1)"),
        ));
    }
    r.skip(3)?; // min_spatial_segmentation_idc(16), parallelismType(8)
    let length_size = nal_length_size(r.u8()? & 0x03)
        .ok_or_else(|| CodecError::invalid("lhvC", NAL_LENGTH_SIZE_3))?;
    let mut sets = Vec::new();
    for _ in 0..r.u8()? {
        let kind = r.u8()? & 0x3f;
        for _ in 0..r.u16()? {
            let len = usize::from(r.u16()?);
            let nal = r.bytes(len)?;
            if (32..=34).contains(&kind) {
                sets.push(nal.to_vec());
            }
        }
    }
    Ok((length_size, sets))
}

#[cfg(test)]
mod tests {
    use super::super::hevc::{nal_type, HevcConfig, HevcParameterSets, NAL_VPS};
    use super::super::nal::NalClass;
    use super::*;

    /// fixtures/shaka-video/water-mv-hevc.mp4 (Shaka Packager's MV-HEVC test clip, 5 frames of
    /// two views): its hvcC and lhvC bodies and its one chunk of samples.
    fn clip() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/shaka-video/water-mv-hevc.mp4");
        let file = std::fs::read(path).unwrap();
        let body = |kind: &[u8]| {
            let at = file.windows(4).position(|w| w == kind).unwrap();
            let size = u32::from_be_bytes(file[at - 4..at].try_into().unwrap()) as usize;
            file[at + 4..at - 4 + size].to_vec()
        };
        // The mdat has a 64-bit size; its body is the chunk stco points at (byte 44).
        let mdat = file.windows(4).position(|w| w == b"mdat").unwrap();
        let size = u64::from_be_bytes(file[mdat + 4..mdat + 12].try_into().unwrap()) as usize;
        let samples = file[mdat + 12..mdat - 4 + size].to_vec();
        (body(b"hvcC"), body(b"lhvC"), samples)
    }

    fn clip_parameter_sets() -> Vec<Vec<u8>> {
        let (hvcc, lhvc, _) = clip();
        let mut sets = HevcConfig::parse(&hvcc).unwrap().parameter_sets;
        let (len, more) = lhvc_parameter_sets(&lhvc).unwrap();
        assert_eq!(len, 4);
        sets.extend(more);
        sets
    }

    #[test]
    fn vps_extension_of_the_spatial_video_clip() {
        let sets = clip_parameter_sets();
        let vps = sets.iter().find(|n| nal_type(n[0]) == NAL_VPS).unwrap();
        let vps = HevcVps::parse(&vps[2..]).unwrap();
        // Layer 1 (the second view) predicts from layer 0.
        let info = vps.slice_info(1, 0).unwrap();
        assert_eq!(info.num_direct_ref_layers, 1);
        assert_eq!(info.num_ref_layer_pics, 1);
        // ffprobe: 1934x2160 (coded 1936x2160) for both views.
        let f = vps.rep_format(1, None).unwrap();
        assert_eq!((f.width, f.height, f.chroma_format_idc), (1936, 2160, 1));
        // Multiview Main (profile 6), level 5.2, constraint bytes bf 80: Shaka Packager 3.8
        // writes `hvc1.6.40.L156.bf`, leaving out the non-zero second constraint byte that
        // ISO/IEC 14496-15 E.3 keeps (docs/mv-hevc.md).
        assert_eq!(
            vps.layered_ptl.unwrap().codec_string("hvc1"),
            "hvc1.6.40.L156.BF.80"
        );
        assert!(vps.slice_info(2, 0).is_err(), "no layer 2");
    }

    #[test]
    fn slice_headers_of_both_layers_end_where_shaka_packagers_do() {
        let mut p = HevcParameterSets::default();
        for ps in clip_parameter_sets() {
            assert_eq!(p.classify(&ps).unwrap(), NalClass::NonVcl);
        }
        let (_, _, mut data) = clip();
        let mut headers = Vec::new();
        while data.len() >= 4 {
            let len = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
            if let NalClass::Vcl { header_len } = p.classify(&data[4..4 + len]).unwrap() {
                headers.push(header_len);
            }
            data.drain(..4 + len);
        }
        // NAL + slice segment header lengths in Shaka Packager's cbcs subsample maps of this
        // clip (its clear bytes less the 4-byte length fields and the SEI): layer 0, layer 1
        // for each of the 5 pictures.
        assert_eq!(headers, [99, 93, 94, 94, 86, 86, 77, 78, 77, 78]);
    }

    #[test]
    fn mutated_multi_layer_parameter_sets_never_panic() {
        // Every byte of the clip's VPS (with its extension), SPSs and PPSs of both layers set
        // to 0, 1, 0x80 and 0xff; each mutant set must parse or be refused, and the slices of
        // both layers after it likewise, never panic.
        let sets = clip_parameter_sets();
        let (_, _, data) = clip();
        // The first picture's NAL units (SEI, layer-0 IDR, layer-1 CRA), cut to 256 bytes each.
        let mut nals = Vec::new();
        let mut at = 0;
        for _ in 0..3 {
            let len = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            nals.push(data[at + 4..at + 4 + len.min(256)].to_vec());
            at += 4 + len;
        }
        let mut tried = 0;
        for (i, ps) in sets.iter().enumerate() {
            for byte in 0..ps.len() {
                for v in [0u8, 1, 0x80, 0xff] {
                    let mut mutant = sets.clone();
                    mutant[i][byte] = v;
                    tried += 1;
                    let mut p = HevcParameterSets::default();
                    if mutant.iter().all(|m| p.classify(m).is_ok()) {
                        for nal in &nals {
                            let _ = p.classify(nal);
                        }
                    }
                }
            }
        }
        assert!(tried > 400, "{tried} mutants");
    }
}
