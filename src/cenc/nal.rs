//! Just enough H.264 and HEVC parsing to find where a slice header ends, so subsample encryption
//! can leave it clear (ISO/IEC 23001-7 §10.2 and §9.5: NAL length, NAL header and slice header
//! stay unencrypted; Apple and Chromium require it for `cbcs`).
//!
//! Parses SPS/PPS (and for HEVC, the SPS fields the slice segment header depends on) from the
//! sample entry's parameter sets and from parameter sets found in band (avc3/hev1), then the slice
//! header syntax of ITU-T H.264 §7.3.3 and H.265 §7.3.6.1 up to its last bit. Emulation prevention
//! bytes (0x000003) are skipped while reading, so positions are in the NAL unit as stored.
use std::collections::HashMap;

use crate::{Error, Result};

fn bad(reason: impl Into<String>) -> Error {
    Error::invalid("<video sample>", reason)
}

/// Reads bits MSB-first from an escaped NAL unit (RBSP view: emulation prevention bytes skipped).
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the next byte to load.
    pos: usize,
    cur: u8,
    /// Bits left in `cur`.
    left: u8,
    zeros: u8,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            cur: 0,
            left: 0,
            zeros: 0,
        }
    }

    fn load(&mut self) -> Result<()> {
        loop {
            let b = *self
                .data
                .get(self.pos)
                .ok_or_else(|| bad("slice header runs past the NAL unit end"))?;
            self.pos += 1;
            if self.zeros >= 2 && b == 3 {
                self.zeros = 0;
                continue;
            }
            self.zeros = if b == 0 { self.zeros + 1 } else { 0 };
            self.cur = b;
            self.left = 8;
            return Ok(());
        }
    }

    pub fn bit(&mut self) -> Result<bool> {
        if self.left == 0 {
            self.load()?;
        }
        self.left -= 1;
        Ok((self.cur >> self.left) & 1 == 1)
    }

    pub fn flag(&mut self) -> Result<bool> {
        self.bit()
    }

    /// u(n), n <= 32.
    pub fn bits(&mut self, n: u32) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()? as u32;
        }
        Ok(v)
    }

    pub fn skip(&mut self, n: u32) -> Result<()> {
        for _ in 0..n {
            self.bit()?;
        }
        Ok(())
    }

    /// ue(v), §9.1 (values up to 2^32 - 2).
    pub fn ue(&mut self) -> Result<u32> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(bad("exp-Golomb code longer than 32 bits"));
            }
        }
        let rest = self.bits(zeros)? as u64;
        Ok(((1u64 << zeros) - 1 + rest) as u32)
    }

    /// se(v), §9.1.1.
    pub fn se(&mut self) -> Result<i32> {
        let k = self.ue()? as i64;
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }

    /// ue(v) that must not exceed `max` (a spec limit; guards loops sized by the stream).
    pub fn ue_max(&mut self, max: u32, what: &str) -> Result<u32> {
        let v = self.ue()?;
        if v > max {
            return Err(bad(format!("{what} = {v} exceeds the limit {max}")));
        }
        Ok(v)
    }

    /// Bytes of the NAL unit consumed so far, counting a partly read byte as whole.
    pub fn bytes_consumed(&self) -> usize {
        self.pos
    }
}

/// Ceil(Log2(n)) for n >= 1.
fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// Which video codec's NAL syntax applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 / AVC (avc1, avc3).
    Avc,
    /// H.265 / HEVC (hvc1, hev1).
    Hevc,
}

/// What a NAL unit means for encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalClass {
    /// Not a coded slice: stays entirely clear.
    NonVcl,
    /// A coded slice whose first `header_len` bytes (NAL header + slice header) stay clear.
    Vcl { header_len: usize },
}

/// Tracks parameter sets and classifies NAL units of one video track.
#[derive(Debug, Clone)]
pub struct SliceHeaderParser {
    codec: VideoCodec,
    avc_sps: HashMap<u32, AvcSps>,
    avc_pps: HashMap<u32, AvcPps>,
    hevc_sps: HashMap<u32, HevcSps>,
    hevc_pps: HashMap<u32, HevcPps>,
}

impl SliceHeaderParser {
    /// `parameter_sets`: NAL units (no length prefix) from avcC / hvcC, any order.
    pub fn new(codec: VideoCodec, parameter_sets: &[Vec<u8>]) -> Result<Self> {
        let mut p = SliceHeaderParser {
            codec,
            avc_sps: HashMap::new(),
            avc_pps: HashMap::new(),
            hevc_sps: HashMap::new(),
            hevc_pps: HashMap::new(),
        };
        // SPS before PPS: an HEVC PPS is parsed on its own, but keep the natural order anyway.
        for ps in parameter_sets {
            p.classify(ps)?;
        }
        Ok(p)
    }

    /// Classifies one NAL unit (no length prefix), learning parameter sets as they pass.
    pub fn classify(&mut self, nal: &[u8]) -> Result<NalClass> {
        match self.codec {
            VideoCodec::Avc => self.classify_avc(nal),
            VideoCodec::Hevc => self.classify_hevc(nal),
        }
    }

    fn classify_avc(&mut self, nal: &[u8]) -> Result<NalClass> {
        let Some(&h) = nal.first() else {
            return Ok(NalClass::NonVcl);
        };
        let nal_type = h & 0x1f;
        match nal_type {
            7 => {
                let sps = AvcSps::parse(&nal[1..])?;
                self.avc_sps.insert(sps.id, sps);
                Ok(NalClass::NonVcl)
            }
            8 => {
                let pps = AvcPps::parse(&nal[1..])?;
                self.avc_pps.insert(pps.id, pps);
                Ok(NalClass::NonVcl)
            }
            1..=5 => {
                let header_bytes = avc_slice_header_len(self, nal_type, (h >> 5) & 3, &nal[1..])?;
                Ok(NalClass::Vcl {
                    header_len: 1 + header_bytes,
                })
            }
            _ => Ok(NalClass::NonVcl),
        }
    }

    fn classify_hevc(&mut self, nal: &[u8]) -> Result<NalClass> {
        if nal.len() < 2 {
            return Ok(NalClass::NonVcl);
        }
        let nal_type = (nal[0] >> 1) & 0x3f;
        let layer_id = ((nal[0] & 1) << 5) | (nal[1] >> 3);
        match nal_type {
            33 if layer_id == 0 => {
                let sps = HevcSps::parse(&nal[2..])?;
                self.hevc_sps.insert(sps.id, sps);
                Ok(NalClass::NonVcl)
            }
            34 if layer_id == 0 => {
                let pps = HevcPps::parse(&nal[2..])?;
                self.hevc_pps.insert(pps.id, pps);
                Ok(NalClass::NonVcl)
            }
            0..=9 | 16..=21 => {
                let header_bytes = hevc_slice_header_len(self, nal_type, &nal[2..])?;
                Ok(NalClass::Vcl {
                    header_len: 2 + header_bytes,
                })
            }
            _ => Ok(NalClass::NonVcl),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// H.264

#[derive(Debug, Clone)]
struct AvcSps {
    id: u32,
    separate_colour_plane: bool,
    chroma_array_type: u32,
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    delta_pic_order_always_zero: bool,
    frame_mbs_only: bool,
    pic_size_in_map_units: u32,
}

impl AvcSps {
    /// H.264 §7.3.2.1.1, up to frame_mbs_only_flag. `rbsp` starts after the NAL header.
    fn parse(rbsp: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(rbsp);
        let profile_idc = r.bits(8)?;
        r.skip(16)?; // constraint flags, level_idc
        let id = r.ue_max(31, "seq_parameter_set_id")?;
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        if matches!(
            profile_idc,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            chroma_format_idc = r.ue_max(3, "chroma_format_idc")?;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.flag()?;
            }
            r.ue()?; // bit_depth_luma_minus8
            r.ue()?; // bit_depth_chroma_minus8
            r.flag()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        avc_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
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
            r.se()?;
            r.se()?;
            let n = r.ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")?;
            for _ in 0..n {
                r.se()?;
            }
        }
        r.ue()?; // max_num_ref_frames
        r.flag()?; // gaps_in_frame_num_value_allowed_flag
        let width_mbs = r.ue()? as u64 + 1;
        let height_map_units = r.ue()? as u64 + 1;
        let frame_mbs_only = r.flag()?;
        let pic_size_in_map_units = u32::try_from(width_mbs * height_map_units)
            .map_err(|_| bad("SPS picture size out of range"))?;
        Ok(AvcSps {
            id,
            separate_colour_plane,
            chroma_array_type: if separate_colour_plane {
                0
            } else {
                chroma_format_idc
            },
            log2_max_frame_num,
            poc_type,
            log2_max_poc_lsb,
            delta_pic_order_always_zero,
            frame_mbs_only,
            pic_size_in_map_units,
        })
    }
}

/// H.264 §7.3.2.1.1.1 scaling_list().
fn avc_scaling_list(r: &mut BitReader, size: u32) -> Result<()> {
    let mut last = 8i32;
    let mut next = 8i32;
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct AvcPps {
    id: u32,
    sps_id: u32,
    entropy_coding_mode: bool,
    bottom_field_pic_order_in_frame_present: bool,
    num_slice_groups_minus1: u32,
    slice_group_map_type: u32,
    slice_group_change_rate: u32,
    num_ref_idx_l0_default_minus1: u32,
    num_ref_idx_l1_default_minus1: u32,
    weighted_pred: bool,
    weighted_bipred_idc: u32,
    deblocking_filter_control_present: bool,
    redundant_pic_cnt_present: bool,
}

impl AvcPps {
    /// H.264 §7.3.2.2, up to redundant_pic_cnt_present_flag.
    fn parse(rbsp: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(rbsp);
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
                        r.ue()?;
                    }
                }
                2 => {
                    for _ in 0..num_slice_groups_minus1 {
                        r.ue()?;
                        r.ue()?;
                    }
                }
                3..=5 => {
                    r.flag()?;
                    slice_group_change_rate = r.ue()?.saturating_add(1);
                }
                6 => {
                    let n = r.ue()? as u64 + 1;
                    let bits = ceil_log2(num_slice_groups_minus1 + 1);
                    for _ in 0..n {
                        r.skip(bits)?;
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

/// Length in bytes (after the 1-byte NAL header) of an H.264 slice header, §7.3.3.
fn avc_slice_header_len(
    p: &SliceHeaderParser,
    nal_type: u8,
    nal_ref_idc: u8,
    rbsp: &[u8],
) -> Result<usize> {
    let mut r = BitReader::new(rbsp);
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
    let pps = p
        .avc_pps
        .get(&pps_id)
        .ok_or_else(|| bad(format!("slice refers to unknown H.264 PPS {pps_id}")))?;
    let sps = p
        .avc_sps
        .get(&pps.sps_id)
        .ok_or_else(|| bad(format!("PPS refers to unknown H.264 SPS {}", pps.sps_id)))?;
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
    let idr = nal_type == 5;
    if idr {
        r.ue()?; // idr_pic_id
    }
    if sps.poc_type == 0 {
        r.skip(sps.log2_max_poc_lsb)?;
        if pps.bottom_field_pic_order_in_frame_present && !field_pic {
            r.se()?;
        }
    }
    if sps.poc_type == 1 && !sps.delta_pic_order_always_zero {
        r.se()?;
        if pps.bottom_field_pic_order_in_frame_present && !field_pic {
            r.se()?;
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
    // ref_pic_list_modification(), §7.3.3.1 (NAL types 20/21 are not classified as VCL here).
    if !is_i && !is_si {
        avc_ref_pic_list_modification(&mut r)?;
    }
    if is_b {
        avc_ref_pic_list_modification(&mut r)?;
    }
    if (pps.weighted_pred && (is_p || is_sp)) || (pps.weighted_bipred_idc == 1 && is_b) {
        // pred_weight_table(), §7.3.3.2
        r.ue()?;
        if sps.chroma_array_type != 0 {
            r.ue()?;
        }
        let lists = if is_b { 2 } else { 1 };
        for list in 0..lists {
            let n = if list == 0 { l0 } else { l1 };
            for _ in 0..=n {
                if r.flag()? {
                    r.se()?;
                    r.se()?;
                }
                if sps.chroma_array_type != 0 && r.flag()? {
                    for _ in 0..4 {
                        r.se()?;
                    }
                }
            }
        }
    }
    if nal_ref_idc != 0 {
        // dec_ref_pic_marking(), §7.3.3.3
        if idr {
            r.skip(2)?;
        } else if r.flag()? {
            let mut guard = 0;
            loop {
                let op = r.ue()?;
                if op == 0 {
                    break;
                }
                if op == 1 || op == 3 {
                    r.ue()?;
                }
                if op == 2 {
                    r.ue()?;
                }
                if op == 3 || op == 6 {
                    r.ue()?;
                }
                if op == 4 {
                    r.ue()?;
                }
                guard += 1;
                if guard > 66 || op > 6 {
                    return Err(bad("bad memory_management_control_operation list"));
                }
            }
        }
    }
    if pps.entropy_coding_mode && !is_i && !is_si {
        r.ue()?; // cabac_init_idc
    }
    r.se()?; // slice_qp_delta
    if is_sp || is_si {
        if is_sp {
            r.flag()?;
        }
        r.se()?;
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
        r.skip(ceil_log2(units + 1))?;
    }
    Ok(r.bytes_consumed())
}

fn avc_ref_pic_list_modification(r: &mut BitReader) -> Result<()> {
    if r.flag()? {
        let mut guard = 0;
        loop {
            let idc = r.ue()?;
            match idc {
                0..=2 => {
                    r.ue()?;
                }
                3 => break,
                _ => return Err(bad("bad modification_of_pic_nums_idc")),
            }
            guard += 1;
            if guard > 33 {
                return Err(bad("ref_pic_list_modification too long"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HEVC

/// One short-term reference picture set, H.265 §7.4.8 (only what later sets and slices need).
#[derive(Debug, Clone, Default)]
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
        self.s0.iter().chain(&self.s1).filter(|e| e.1).count() as u32
    }
}

/// st_ref_pic_set(stRpsIdx), H.265 §7.3.7 with the derivation of §7.4.8.
fn hevc_st_rps(r: &mut BitReader, idx: usize, num_sets: usize, sets: &[StRps]) -> Result<StRps> {
    let inter = idx != 0 && r.flag()?;
    if inter {
        let delta_idx = if idx == num_sets {
            r.ue_max(idx as u32 - 1, "delta_idx_minus1")? as usize + 1
        } else {
            1
        };
        let sign = r.flag()?;
        let abs = r.ue_max(1 << 15, "abs_delta_rps_minus1")? as i32 + 1;
        let delta_rps = if sign { -abs } else { abs };
        let reference = sets
            .get(idx - delta_idx)
            .ok_or_else(|| bad("st_ref_pic_set refers to a missing set"))?;
        let n = reference.num_delta_pocs();
        let mut used = Vec::with_capacity(n + 1);
        let mut use_delta = Vec::with_capacity(n + 1);
        for _ in 0..=n {
            let u = r.flag()?;
            used.push(u);
            use_delta.push(if u { true } else { r.flag()? });
        }
        // (7-61) and (7-62); j indexes: 0..neg are S0, neg..n are S1, n is the reference itself.
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
            return Err(bad("st_ref_pic_set has too many pictures"));
        }
        Ok(out)
    } else {
        let neg = r.ue_max(16, "num_negative_pics")?;
        let pos = r.ue_max(16, "num_positive_pics")?;
        let mut out = StRps::default();
        let mut poc = 0i32;
        for _ in 0..neg {
            poc -= r.ue_max(1 << 15, "delta_poc_s0_minus1")? as i32 + 1;
            out.s0.push((poc, r.flag()?));
        }
        poc = 0;
        for _ in 0..pos {
            poc += r.ue_max(1 << 15, "delta_poc_s1_minus1")? as i32 + 1;
            out.s1.push((poc, r.flag()?));
        }
        Ok(out)
    }
}

/// profile_tier_level(1, maxNumSubLayersMinus1), H.265 §7.3.3.
fn hevc_profile_tier_level(r: &mut BitReader, max_sub_layers_minus1: u32) -> Result<()> {
    r.skip(96)?; // general profile (88 bits) + general_level_idc
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        present.push((r.flag()?, r.flag()?));
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            r.skip(2)?;
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
    Ok(())
}

/// scaling_list_data(), H.265 §7.3.4.
fn hevc_scaling_list_data(r: &mut BitReader) -> Result<()> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        let mut matrix_id = 0;
        while matrix_id < 6 {
            if !r.flag()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
            } else {
                let coef_num = 64.min(1u32 << (4 + (size_id << 1)));
                if size_id > 1 {
                    r.se()?;
                }
                for _ in 0..coef_num {
                    r.se()?;
                }
            }
            matrix_id += step;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct HevcSps {
    id: u32,
    separate_colour_plane: bool,
    chroma_array_type: u32,
    log2_max_poc_lsb: u32,
    pic_size_in_ctbs: u32,
    sample_adaptive_offset: bool,
    st_rps: Vec<StRps>,
    long_term_ref_pics_present: bool,
    num_long_term_ref_pics_sps: u32,
    /// used_by_curr_pic_lt_sps_flag per SPS long-term picture.
    lt_used: Vec<bool>,
    temporal_mvp: bool,
}

impl HevcSps {
    /// H.265 §7.3.2.2.1 up to sps_temporal_mvp_enabled_flag. `rbsp` starts after the NAL header.
    fn parse(rbsp: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(rbsp);
        r.skip(4)?; // sps_video_parameter_set_id
        let max_sub_layers_minus1 = r.bits(3)?;
        r.flag()?; // sps_temporal_id_nesting_flag
        hevc_profile_tier_level(&mut r, max_sub_layers_minus1)?;
        let id = r.ue_max(15, "sps_seq_parameter_set_id")?;
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
        let log2_max_poc_lsb = r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? + 4;
        let ordering_all = r.flag()?;
        let first = if ordering_all {
            0
        } else {
            max_sub_layers_minus1
        };
        for _ in first..=max_sub_layers_minus1 {
            r.ue()?;
            r.ue()?;
            r.ue()?;
        }
        let min_cb_log2 = r.ue_max(4, "log2_min_luma_coding_block_size_minus3")? + 3;
        let ctb_log2 = min_cb_log2 + r.ue_max(3, "log2_diff_max_min_luma_coding_block_size")?;
        r.ue()?; // log2_min_luma_transform_block_size_minus2
        r.ue()?; // log2_diff_max_min_luma_transform_block_size
        r.ue()?; // max_transform_hierarchy_depth_inter
        r.ue()?; // max_transform_hierarchy_depth_intra
        if r.flag()? && r.flag()? {
            hevc_scaling_list_data(&mut r)?;
        }
        r.flag()?; // amp_enabled_flag
        let sample_adaptive_offset = r.flag()?;
        if r.flag()? {
            // pcm
            r.skip(8)?;
            r.ue()?;
            r.ue()?;
            r.flag()?;
        }
        let num_sets = r.ue_max(64, "num_short_term_ref_pic_sets")? as usize;
        let mut st_rps = Vec::with_capacity(num_sets);
        for i in 0..num_sets {
            let set = hevc_st_rps(&mut r, i, num_sets, &st_rps)?;
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
        let ctb = 1u64 << ctb_log2;
        let pic_size_in_ctbs =
            u32::try_from(width.div_ceil(ctb as u32) as u64 * height.div_ceil(ctb as u32) as u64)
                .map_err(|_| bad("SPS picture size out of range"))?;
        Ok(HevcSps {
            id,
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
        })
    }
}

#[derive(Debug, Clone)]
struct HevcPps {
    id: u32,
    sps_id: u32,
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
    /// H.265 §7.3.2.3.1 (with the range extension's chroma_qp_offset_list_enabled_flag).
    fn parse(rbsp: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(rbsp);
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
        r.se()?;
        r.se()?;
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
            hevc_scaling_list_data(&mut r)?;
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
                return Err(bad(
                    "HEVC screen content coding extensions are not supported",
                ));
            }
            if range {
                if transform_skip_enabled {
                    r.ue()?;
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

/// Length in bytes (after the 2-byte NAL header) of an HEVC slice segment header, §7.3.6.1,
/// through byte_alignment().
fn hevc_slice_header_len(p: &SliceHeaderParser, nal_type: u8, rbsp: &[u8]) -> Result<usize> {
    let mut r = BitReader::new(rbsp);
    let first_slice_segment_in_pic = r.flag()?;
    if (16..=23).contains(&nal_type) {
        r.flag()?; // no_output_of_prior_pics_flag
    }
    let pps_id = r.ue_max(63, "slice_pic_parameter_set_id")?;
    let pps = p
        .hevc_pps
        .get(&pps_id)
        .ok_or_else(|| bad(format!("slice refers to unknown HEVC PPS {pps_id}")))?;
    let sps = p
        .hevc_sps
        .get(&pps.sps_id)
        .ok_or_else(|| bad(format!("PPS refers to unknown HEVC SPS {}", pps.sps_id)))?;
    let mut dependent = false;
    if !first_slice_segment_in_pic {
        if pps.dependent_slice_segments_enabled {
            dependent = r.flag()?;
        }
        r.skip(ceil_log2(sps.pic_size_in_ctbs))?; // slice_segment_address
    }
    if !dependent {
        r.skip(pps.num_extra_slice_header_bits)?;
        let slice_type = r.ue_max(2, "slice_type")?;
        let (is_b, is_p) = (slice_type == 0, slice_type == 1);
        if pps.output_flag_present {
            r.flag()?;
        }
        if sps.separate_colour_plane {
            r.skip(2)?;
        }
        let mut temporal_mvp = false;
        let mut num_pic_total_curr = 0u32;
        if nal_type != 19 && nal_type != 20 {
            r.skip(sps.log2_max_poc_lsb)?; // slice_pic_order_cnt_lsb
            let num_sets = sps.st_rps.len();
            let rps = if !r.flag()? {
                hevc_st_rps(&mut r, num_sets, num_sets, &sps.st_rps)?
            } else {
                let idx = if num_sets > 1 {
                    r.bits(ceil_log2(num_sets as u32))? as usize
                } else {
                    0
                };
                sps.st_rps
                    .get(idx)
                    .cloned()
                    .ok_or_else(|| bad("short_term_ref_pic_set_idx out of range"))?
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
                        if *sps
                            .lt_used
                            .get(idx)
                            .ok_or_else(|| bad("lt_idx_sps out of range"))?
                        {
                            num_pic_total_curr += 1;
                        }
                    } else {
                        r.skip(sps.log2_max_poc_lsb)?;
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
                    r.skip(bits * (l0 + 1))?;
                }
                if is_b && r.flag()? {
                    r.skip(bits * (l1 + 1))?;
                }
            }
            if is_b {
                r.flag()?; // mvd_l1_zero_flag
            }
            if pps.cabac_init_present {
                r.flag()?;
            }
            if temporal_mvp {
                let collocated_from_l0 = if is_b { r.flag()? } else { true };
                if (collocated_from_l0 && l0 > 0) || (!collocated_from_l0 && l1 > 0) {
                    r.ue()?; // collocated_ref_idx
                }
            }
            if (pps.weighted_pred && is_p) || (pps.weighted_bipred && is_b) {
                hevc_pred_weight_table(
                    &mut r,
                    sps.chroma_array_type,
                    l0,
                    if is_b { Some(l1) } else { None },
                )?;
            }
            r.ue()?; // five_minus_max_num_merge_cand
        }
        r.se()?; // slice_qp_delta
        if pps.slice_chroma_qp_offsets_present {
            r.se()?;
            r.se()?;
        }
        if pps.chroma_qp_offset_list_enabled {
            r.flag()?;
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
        if pps.loop_filter_across_slices_enabled && (sao_luma || sao_chroma || !deblocking_disabled)
        {
            r.flag()?;
        }
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
        return Err(bad(
            "HEVC slice header byte_alignment() does not start with a 1 bit",
        ));
    }
    Ok(r.bytes_consumed())
}

/// pred_weight_table(), H.265 §7.3.6.3 (single layer: every reference has another POC).
fn hevc_pred_weight_table(
    r: &mut BitReader,
    chroma_array_type: u32,
    l0: u32,
    l1: Option<u32>,
) -> Result<()> {
    r.ue()?; // luma_log2_weight_denom
    if chroma_array_type != 0 {
        r.se()?;
    }
    for n in std::iter::once(l0).chain(l1) {
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
        for i in 0..count {
            if luma[i] {
                r.se()?;
                r.se()?;
            }
            if chroma[i] {
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
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 | 010 | 011 | 00100 => ue 0, 1, 2, 3 ; then se from 00101 => -2
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 2);
        assert_eq!(r.ue().unwrap(), 3);
        assert_eq!(r.se().unwrap(), -2);
        // 00 00 03 01: the 03 is skipped, so the third byte read is 0x01 and 4 bytes are consumed.
        let data = [0x00, 0x00, 0x03, 0x01];
        let mut r = BitReader::new(&data);
        assert_eq!(r.bits(16).unwrap(), 0);
        assert_eq!(r.bits(8).unwrap(), 1);
        assert_eq!(r.bytes_consumed(), 4);
        assert!(r.bit().is_err());
    }

    #[test]
    fn ceil_log2_matches_spec() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(4), 2);
        assert_eq!(ceil_log2(300), 9);
    }

    #[test]
    fn unknown_pps_is_an_error_not_a_panic() {
        let mut p = SliceHeaderParser::new(VideoCodec::Avc, &[]).unwrap();
        // IDR slice: first_mb 0, slice_type 7 (I), pps_id 0
        let e = p.classify(&[0x65, 0b1000_1000, 0x80]).unwrap_err();
        assert!(e.to_string().contains("unknown H.264 PPS 0"), "{e}");
        let mut p = SliceHeaderParser::new(VideoCodec::Hevc, &[]).unwrap();
        assert!(p.classify(&[0x26, 0x01, 0xac]).is_err());
        // Truncated data is an error, never a panic.
        assert!(p.classify(&[0x42, 0x01, 0x01]).is_err());
        assert_eq!(p.classify(&[0x4e, 0x01, 0x05]).unwrap(), NalClass::NonVcl); // SEI
    }
}
