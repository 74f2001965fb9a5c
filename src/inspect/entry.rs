//! What a sample entry says beyond the codec string: profile and level, pixel format, bit depth
//! and chroma, colour description and HDR metadata, and for `encv`/`enca` the protection scheme
//! (ISO/IEC 23001-7 §8: sinf → frma, schm, schi/tenc). Every read is bounded by its box; a field
//! that cannot be read is left out, never guessed.
use super::sps::{parse_avc_sps, AvcSps};
use crate::media::codec::av1::Av1Config;
use crate::media::codec::avc::AvcConfig;
use crate::media::codec::hevc::{first_sps, HevcConfig};
use crate::media::codec::parse_sample_entry;
use crate::media::codec::vp9::Vp9Config;
use crate::mp4::boxes::Sinf;
use crate::mp4::{fourcc_str, BoxIter, ByteReader, Mp4Box, RawBox};
use serde::Serialize;

/// Bytes between a visual / audio sample entry's header and its first child box
/// (ISO/IEC 14496-12 §12.1.3.2, §12.2.3.2).
const VISUAL_HEADER: usize = 78;
const AUDIO_HEADER: usize = 28;

/// Details of one sample entry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EntryDetails {
    /// The 4CC as stored (`encv` for a protected entry).
    pub sample_entry: String,
    /// The codec's 4CC (`frma` of a protected entry).
    pub codec: String,
    /// RFC 6381 `codecs` string built from the codec configuration box (e.g. `avc1.64001f`).
    pub codec_string: Option<String>,
    /// Profile name as ffprobe prints it (e.g. `High`, `Main 10`, AAC `LC`), from the codec
    /// configuration box or, for AAC, the codec string's object type.
    pub profile: Option<String>,
    /// Level as text: `4.1` for AVC/VP9 (level_idc / 10), `4.1 Main tier` for HEVC
    /// (general_level_idc / 30 plus the tier), `seq_level_idx N` for AV1.
    pub level: Option<String>,
    /// Sample entry width in pixels (the coded size the entry declares, not tkhd's display size).
    pub width: Option<u32>,
    /// Sample entry height in pixels.
    pub height: Option<u32>,
    /// Pixel aspect ratio (pasp, else the SPS VUI).
    pub sar: Option<String>,
    /// ffprobe's name for the decoded picture format (`yuv420p`, `yuv420p10le`, ...).
    pub pixel_format: Option<String>,
    /// Luma bit depth (8, 10, 12) from the SPS or the codec configuration box.
    pub bit_depth: Option<u32>,
    /// `4:2:0`, `4:2:2`, `4:4:4`, `4:0:0`.
    pub chroma: Option<String>,
    /// Colour description, when the entry (colr) or the bitstream (SPS VUI, av1C, vpcC) states one.
    pub colour: Option<Colour>,
    /// `PQ` (SMPTE ST 2084) or `HLG` (ARIB STD-B67) when the transfer says so; else none (SDR).
    pub hdr: Option<String>,
    /// mdcv: max/min mastering luminance in cd/m².
    pub mastering_luminance: Option<(f64, f64)>,
    /// clli: MaxCLL, MaxFALL in cd/m².
    pub content_light: Option<(u16, u16)>,
    /// Frame rate the SPS VUI timing states (time_scale / 2 / num_units_in_tick).
    pub vui_frame_rate: Option<f64>,
    /// Audio sample rate in Hz: the entry's 16.16 field, replaced by the AudioSpecificConfig or
    /// version-2 sound description rate when those state one.
    pub sample_rate: Option<u32>,
    /// Audio channel count (entry field, or the AudioSpecificConfig's channel configuration).
    pub channels: Option<u16>,
    /// btrt: buffer size, max and average bitrate.
    pub btrt: Option<(u32, u32, u32)>,
    /// Protection scheme from the entry's sinf, for `encv`/`enca` entries.
    pub protection: Option<Protection>,
    /// Problems met while reading the entry (the rest is still shown).
    pub notes: Vec<String>,
}

/// Colour description (ITU-T H.273 code points, named as ffprobe names them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Colour {
    /// `colr` (nclx/nclc), `vui` (H.264 SPS), `av1C`/`vpcC`.
    pub source: String,
    /// Colour primaries (H.273 ColourPrimaries), e.g. `bt709`, `bt2020`.
    pub primaries: String,
    /// Transfer characteristics (H.273 TransferCharacteristics), e.g. `bt709`, `smpte2084`.
    pub transfer: String,
    /// Matrix coefficients (H.273 MatrixCoefficients), e.g. `bt709`, `bt2020nc`.
    pub matrix: String,
    /// `tv` (limited) or `pc` (full), when stated.
    pub range: Option<String>,
}

/// sinf of a protected sample entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Protection {
    /// schm scheme_type: `cenc`, `cbcs`, `cens`, `cbc1`.
    pub scheme: String,
    /// schm scheme_version as `major.minor` (the 32-bit field split 16/16; `1.0` for CENC v3).
    pub scheme_version: String,
    /// frma data_format: the codec 4CC the protected entry stands for (`avc1`, `mp4a`...).
    pub original_format: String,
    /// tenc default_isProtected.
    pub protected: bool,
    /// tenc default_KID as a UUID.
    pub default_kid: String,
    /// tenc default_Per_Sample_IV_Size in bytes: 8 or 16, or 0 when a constant IV is used.
    pub per_sample_iv_size: u8,
    /// tenc default_constant_IV (hex), when per_sample_iv_size is 0.
    pub constant_iv: Option<String>,
    /// crypt:skip blocks of the pattern (tenc version 1), e.g. `1:9`.
    pub pattern: Option<String>,
}

/// Formats 16 bytes as a UUID (8-4-4-4-12).
pub fn uuid(b: &[u8]) -> String {
    let h = hex::encode(b);
    if h.len() != 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Reads a whole sample entry box.
pub fn details(entry: &[u8]) -> EntryDetails {
    let mut d = EntryDetails::default();
    let Some(Ok(b)) = BoxIter::new(entry).next() else {
        d.notes.push("sample entry: not a box".into());
        return d;
    };
    d.sample_entry = b.name();
    d.codec = d.sample_entry.clone();
    match parse_sample_entry(entry) {
        Ok(c) => {
            d.codec = c.fourcc.clone();
            d.codec_string = Some(c.codec_string.clone());
            d.width = c.width;
            d.height = c.height;
            d.sample_rate = c.sample_rate;
            d.channels = c.channels;
            d.sar = c.sar.map(|(h, v)| format!("{h}:{v}"));
        }
        Err(e) => d.notes.push(e.to_string()),
    }
    let header = if matches!(
        &b.fourcc,
        b"mp4a" | b"enca" | b"Opus" | b"ac-3" | b"ec-3" | b"fLaC" | b"alac" | b".mp3"
    ) {
        AUDIO_HEADER
    } else {
        VISUAL_HEADER
    };
    let Some(children) = b.body.get(header..) else {
        d.notes
            .push(format!("{}: shorter than its header", d.sample_entry));
        return d;
    };
    for c in BoxIter::new(children) {
        let c = match c {
            Ok(c) => c,
            Err(e) => {
                d.notes.push(format!("{}: {e}", d.sample_entry));
                break;
            }
        };
        let r = match &c.fourcc {
            b"avcC" => avcc(&c, &mut d),
            b"hvcC" => hvcc(&c, &mut d),
            b"av1C" => av1c(&c, &mut d),
            b"vpcC" => vpcc(&c, &mut d),
            b"colr" => colr(&c, &mut d),
            b"mdcv" => mdcv(&c, &mut d),
            b"clli" => clli(&c, &mut d),
            b"btrt" => btrt(&c, &mut d),
            b"esds" => esds(&c, &mut d),
            b"sinf" => sinf(&c, &mut d),
            _ => Ok(()),
        };
        if let Err(e) = r {
            d.notes.push(format!("{}: {e}", c.name()));
        }
    }
    if let Some(c) = &d.colour {
        d.hdr = match c.transfer.as_str() {
            "smpte2084" => Some("PQ (SMPTE ST 2084)".into()),
            "arib-std-b67" => Some("HLG (ARIB STD-B67)".into()),
            _ => None,
        };
    }
    d
}

/// Why one child box of a sample entry could not be read for the report (it becomes a note).
#[derive(Debug)]
enum DetailError {
    /// A field of the box is truncated.
    Box(crate::mp4::BoxError),
    /// The configuration record or a parameter set in it does not parse.
    Codec(crate::media::codec::CodecError),
    /// The avcC lists no SPS.
    NoSps,
}

impl std::fmt::Display for DetailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetailError::Box(e) => write!(f, "{e}"),
            DetailError::Codec(e) => write!(f, "{e}"),
            DetailError::NoSps => f.write_str("no SPS"),
        }
    }
}

impl std::error::Error for DetailError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DetailError::Box(e) => Some(e),
            DetailError::Codec(e) => Some(e),
            DetailError::NoSps => None,
        }
    }
}

impl From<crate::mp4::BoxError> for DetailError {
    fn from(e: crate::mp4::BoxError) -> Self {
        DetailError::Box(e)
    }
}

impl From<crate::media::codec::CodecError> for DetailError {
    fn from(e: crate::media::codec::CodecError) -> Self {
        DetailError::Codec(e)
    }
}

type R = Result<(), DetailError>;

fn rd<'a>(b: &RawBox<'a>) -> ByteReader<'a> {
    ByteReader::new(b.body, b.fourcc)
}

fn pixel_format(chroma_idc: u32, depth: u32, full_range_jpeg: bool) -> String {
    let base = match chroma_idc {
        0 => "gray".to_string(),
        2 => "yuv422p".into(),
        3 => "yuv444p".into(),
        _ => if full_range_jpeg {
            "yuvj420p"
        } else {
            "yuv420p"
        }
        .into(),
    };
    if depth > 8 {
        format!("{base}{depth}le")
    } else {
        base
    }
}

fn chroma_name(chroma_idc: u32) -> String {
    match chroma_idc {
        0 => "4:0:0",
        2 => "4:2:2",
        3 => "4:4:4",
        _ => "4:2:0",
    }
    .into()
}

/// H.264 profile names (Annex A.2), as ffprobe prints them.
fn avc_profile(idc: u8, constraints: u8) -> String {
    let c1 = constraints & 0x40 != 0;
    let c3 = constraints & 0x10 != 0;
    match idc {
        66 if c1 => "Constrained Baseline".into(),
        66 => "Baseline".into(),
        77 => "Main".into(),
        88 => "Extended".into(),
        100 => "High".into(),
        110 if c3 => "High 10 Intra".into(),
        110 => "High 10".into(),
        122 => "High 4:2:2".into(),
        244 => "High 4:4:4 Predictive".into(),
        n => format!("profile_idc {n}"),
    }
}

fn avcc(b: &RawBox, d: &mut EntryDetails) -> R {
    let c = AvcConfig::parse(b.body)?;
    d.profile = Some(avc_profile(c.profile, c.compatibility));
    d.level = Some(format!("{}.{}", c.level / 10, c.level % 10));
    let nal = c.first_sps().ok_or(DetailError::NoSps)?;
    let sps: AvcSps = parse_avc_sps(nal)?;
    let full = sps.full_range == Some(true);
    d.pixel_format = Some(pixel_format(
        sps.sps.chroma_format_idc,
        sps.bit_depth_luma,
        full,
    ));
    d.bit_depth = Some(sps.bit_depth_luma);
    d.chroma = Some(chroma_name(sps.sps.chroma_format_idc));
    if d.sar.is_none() {
        d.sar = sps.sar.map(|(h, v)| format!("{h}:{v}"));
    }
    if let Some((units, scale, _)) = sps.timing {
        if units > 0 {
            d.vui_frame_rate = Some(f64::from(scale) / 2.0 / f64::from(units));
        }
    }
    if d.colour.is_none() {
        d.colour = vui_colour(sps.colour, sps.full_range);
    }
    Ok(())
}

/// The colour an SPS VUI states (colour description and/or full-range flag), if any.
fn vui_colour(description: Option<(u8, u8, u8)>, full: Option<bool>) -> Option<Colour> {
    match (description, full) {
        (Some((p, t, m)), full) => Some(colour("vui", p.into(), t.into(), m.into(), full)),
        (None, Some(full)) => Some(Colour {
            source: "vui".into(),
            primaries: "unknown".into(),
            transfer: "unknown".into(),
            matrix: "unknown".into(),
            range: Some(if full { "pc" } else { "tv" }.into()),
        }),
        (None, None) => None,
    }
}

/// HEVC profile names (H.265 Annex A.3), as ffprobe prints them.
fn hevc_profile(idc: u8) -> String {
    match idc {
        1 => "Main".into(),
        2 => "Main 10".into(),
        3 => "Main Still Picture".into(),
        4 => "Rext".into(),
        n => format!("profile_idc {n}"),
    }
}

fn hvcc(b: &RawBox, d: &mut EntryDetails) -> R {
    let c = HevcConfig::parse(b.body)?;
    d.profile = Some(hevc_profile(c.profile_idc));
    // general_level_idc is 30 × the level number (H.265 §A.4).
    d.level = Some(format!(
        "{}{}",
        f64::from(c.level_idc) / 30.0,
        if c.tier_high {
            " High tier"
        } else {
            " Main tier"
        }
    ));
    let chroma = u32::from(c.chroma_format_idc);
    let luma = u32::from(c.bit_depth_luma);
    d.pixel_format = Some(pixel_format(chroma, luma, false));
    d.bit_depth = Some(luma);
    d.chroma = Some(chroma_name(chroma));
    // The colour from the SPS VUI, unless a colr box already gave one (a later colr replaces it).
    if let (None, Some(sps)) = (&d.colour, first_sps(&c.parameter_sets)) {
        d.colour = vui_colour(sps.colour, sps.full_range);
    }
    Ok(())
}

fn av1c(b: &RawBox, d: &mut EntryDetails) -> R {
    let c = Av1Config::parse(b.body)?;
    d.profile = Some(
        match c.profile {
            0 => "Main",
            1 => "High",
            _ => "Professional",
        }
        .into(),
    );
    d.level = Some(format!("seq_level_idx {}", c.level));
    let depth = u32::from(c.bit_depth);
    let chroma = match (c.mono_chrome, c.subsampling_x, c.subsampling_y) {
        (true, _, _) => 0,
        (false, true, true) => 1,
        (false, true, false) => 2,
        _ => 3,
    };
    d.pixel_format = Some(pixel_format(chroma, depth, false));
    d.bit_depth = Some(depth);
    d.chroma = Some(chroma_name(chroma));
    Ok(())
}

fn vpcc(b: &RawBox, d: &mut EntryDetails) -> R {
    let c = Vp9Config::parse(b.body)?;
    let depth = u32::from(c.bit_depth);
    let chroma = match c.chroma_subsampling {
        0 | 1 => 1,
        2 => 2,
        _ => 3,
    };
    let full = c.full_range != 0;
    d.profile = Some(format!("Profile {}", c.profile));
    d.level = Some(format!("{}.{}", c.level / 10, c.level % 10));
    d.pixel_format = Some(pixel_format(chroma, depth, false));
    d.bit_depth = Some(depth);
    d.chroma = Some(chroma_name(chroma));
    d.colour = Some(colour(
        "vpcC",
        c.primaries.into(),
        c.transfer.into(),
        c.matrix.into(),
        Some(full),
    ));
    Ok(())
}

/// ISO/IEC 14496-12 §12.1.5 ColourInformationBox.
fn colr(b: &RawBox, d: &mut EntryDetails) -> R {
    let mut r = rd(b);
    let kind = r.fourcc()?;
    match &kind {
        b"nclx" | b"nclc" => {
            let p = r.u16()?;
            let t = r.u16()?;
            let m = r.u16()?;
            let full = if &kind == b"nclx" {
                Some(r.u8()? & 0x80 != 0)
            } else {
                None
            };
            d.colour = Some(colour(&fourcc_str(&kind), p, t, m, full));
        }
        other => d.notes.push(format!(
            "colr '{}' (an ICC profile) not interpreted",
            fourcc_str(other)
        )),
    }
    Ok(())
}

fn colour(source: &str, p: u16, t: u16, m: u16, full: Option<bool>) -> Colour {
    Colour {
        source: source.into(),
        primaries: primaries_name(p),
        transfer: transfer_name(t),
        matrix: matrix_name(m),
        range: full.map(|f| if f { "pc" } else { "tv" }.into()),
    }
}

/// ITU-T H.273 colour primaries, named as ffmpeg names them.
fn primaries_name(v: u16) -> String {
    match v {
        1 => "bt709",
        2 => "unknown",
        4 => "bt470m",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "film",
        9 => "bt2020",
        10 => "smpte428",
        11 => "smpte431",
        12 => "smpte432",
        22 => "ebu3213",
        _ => return format!("reserved ({v})"),
    }
    .into()
}

/// ITU-T H.273 transfer characteristics, named as ffmpeg names them.
fn transfer_name(v: u16) -> String {
    match v {
        1 => "bt709",
        2 => "unknown",
        4 => "bt470m",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "linear",
        9 => "log100",
        10 => "log316",
        11 => "iec61966-2-4",
        12 => "bt1361e",
        13 => "iec61966-2-1",
        14 => "bt2020-10",
        15 => "bt2020-12",
        16 => "smpte2084",
        17 => "smpte428",
        18 => "arib-std-b67",
        _ => return format!("reserved ({v})"),
    }
    .into()
}

/// ITU-T H.273 matrix coefficients, named as ffmpeg names them.
fn matrix_name(v: u16) -> String {
    match v {
        0 => "gbr",
        1 => "bt709",
        2 => "unknown",
        4 => "fcc",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "ycgco",
        9 => "bt2020nc",
        10 => "bt2020c",
        11 => "smpte2085",
        12 => "chroma-derived-nc",
        13 => "chroma-derived-c",
        14 => "ictcp",
        _ => return format!("reserved ({v})"),
    }
    .into()
}

/// ISO/IEC 23001-8 / 14496-12 MasteringDisplayColourVolumeBox: luminance in 0.0001 cd/m².
fn mdcv(b: &RawBox, d: &mut EntryDetails) -> R {
    let mut r = rd(b);
    r.skip(16)?; // display primaries and white point
    let max = r.u32()?;
    let min = r.u32()?;
    d.mastering_luminance = Some((f64::from(max) / 10000.0, f64::from(min) / 10000.0));
    Ok(())
}

fn clli(b: &RawBox, d: &mut EntryDetails) -> R {
    let mut r = rd(b);
    d.content_light = Some((r.u16()?, r.u16()?));
    Ok(())
}

fn btrt(b: &RawBox, d: &mut EntryDetails) -> R {
    let mut r = rd(b);
    d.btrt = Some((r.u32()?, r.u32()?, r.u32()?));
    Ok(())
}

/// AAC profile from the codec string's object type (ISO/IEC 14496-3 Table 1.17).
fn esds(_b: &RawBox, d: &mut EntryDetails) -> R {
    if let Some(cs) = &d.codec_string {
        d.profile = match cs.rsplit('.').next() {
            Some("2") => Some("LC".into()),
            Some("5") => Some("HE-AAC".into()),
            Some("29") => Some("HE-AACv2".into()),
            Some("1") => Some("Main".into()),
            Some("34") => Some("MP3".into()),
            _ => None,
        };
    }
    Ok(())
}

/// ISO/IEC 23001-7 §8.1 (frma, schm) and §8.2 (tenc), read by the box layer.
fn sinf(b: &RawBox, d: &mut EntryDetails) -> R {
    let sinf = Sinf::read(b)?;
    let mut p = Protection {
        original_format: fourcc_str(&sinf.frma.data_format),
        ..Protection::default()
    };
    if let Some(schm) = &sinf.schm {
        p.scheme = fourcc_str(&schm.scheme_type);
        let v = schm.scheme_version;
        p.scheme_version = format!("{}.{}", v >> 16, v & 0xffff);
    }
    if let Some(tenc) = &sinf.tenc {
        if tenc.version >= 1 {
            p.pattern = Some(format!(
                "{}:{}",
                tenc.default_crypt_byte_block, tenc.default_skip_byte_block
            ));
        }
        p.protected = tenc.default_is_protected != 0;
        p.per_sample_iv_size = tenc.default_per_sample_iv_size;
        p.default_kid = uuid(&tenc.default_kid);
        p.constant_iv = tenc.default_constant_iv.as_deref().map(hex::encode);
    }
    d.protection = Some(p);
    Ok(())
}
