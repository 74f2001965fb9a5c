//! Codec syntax in one place: sample entries, codec configuration records with their RFC 6381
//! codec strings, and the H.264/HEVC NAL syntax subsample encryption and `inspect` need.
//!
//! [`parse_sample_entry`] reads a sample entry (ISO/IEC 14496-12 §8.5.2, visual §12.1.3, audio
//! §12.2.3, protected ISO/IEC 23001-7 §4) with the mp4 reader's box splitting, then hands the
//! configuration box to the file of its codec: [`avc`] (avcC, SPS/PPS, slice header), [`hevc`]
//! (hvcC, SPS/PPS, slice segment header), [`av1`], [`vp9`], [`aac`] (esds, AudioSpecificConfig),
//! [`opus`], [`ac3`] (dac3, dec3), [`ac4`] (dac4), [`flac`] (dfLa), [`alac`] (the ALAC magic cookie), [`dts`]
//! (ddts, udts), [`iamf`] (iacb);
//! [`channels`] turns the audio ones into HLS/DASH channel signalling. Bit-packed syntax goes through the one [`bits::BitReader`].
//!
//! Every read is bounded by the box it belongs to: a size that lies or a truncated record is a
//! [`CodecError`] naming the box or structure, never a panic, and no allocation is sized from a
//! field of the file.
pub mod aac;
pub mod ac3;
pub mod ac4;
pub mod alac;
pub mod audio_fuzz;
pub mod av1;
pub mod avc;
pub mod bits;
pub mod channels;
pub mod dovi;
pub mod dts;
pub mod error;
pub mod flac;
pub mod hevc;
pub mod hevc_layers;
pub mod iamf;
pub mod nal;
pub mod opus;
pub mod slice;
pub mod vp8;
pub mod vp9;

pub use channels::ChannelSignalling;
pub use error::{CodecError, CodecResult};
pub use nal::{NalClass, VideoCodec};
pub use slice::SliceHeaderParser;

use crate::mp4::reader::parse_header;
use crate::mp4::{fourcc_str, BoxIter, ByteReader, RawBox};

/// What a sample entry says about its codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodecInfo {
    /// The sample entry 4CC as found (`avc1`, `hev1`, `mp4a`, `Opus`...). For a protected entry
    /// (`encv`/`enca`) this is the original format from `sinf/frma`.
    pub fourcc: String,
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `hvc1.1.6.L93.B0`, `mp4a.40.2`.
    pub codec_string: String,
    /// Visual sample entry width.
    pub width: Option<u32>,
    /// Visual sample entry height.
    pub height: Option<u32>,
    /// Pixel aspect ratio from `pasp` (h_spacing, v_spacing).
    pub sar: Option<(u32, u32)>,
    /// Audio sample rate (Hz), from the configuration record when it says.
    pub sample_rate: Option<u32>,
    /// Audio channel count, from the configuration record when it says.
    pub channels: Option<u16>,
    /// NAL unit length field size in bytes (avcC/hvcC lengthSizeMinusOne + 1).
    pub nal_length_size: Option<u8>,
    /// Parameter set NAL units (VPS/SPS/PPS) from avcC/hvcC, without length prefixes; for AV1,
    /// the `av1C` configOBUs as one entry.
    pub parameter_sets: Vec<Vec<u8>>,
    /// Transfer characteristics (ITU-T H.273 code point: 16 = PQ, 18 = HLG) from the entry's
    /// `colr` box (`nclx`/`nclc`), else from an HEVC SPS's VUI; `None` when neither states one.
    pub transfer_characteristics: Option<u8>,
    /// `mp4a`: the esds DecoderSpecificInfo (the AudioSpecificConfig), for ADTS headers.
    pub decoder_specific_info: Option<Vec<u8>>,
    /// Audio: what HLS `CHANNELS` and DASH `AudioChannelConfiguration` say (a count unless the
    /// codec says more: E-AC-3 layouts and JOC, DTS), docs/audio-signalling.md.
    pub channel_signalling: Option<ChannelSignalling>,
    /// A generic video entry with Dolby Vision metadata (`dvvC`/`dvcC`/`dvwC` beside `hvcC` or
    /// `av1C`): the Dolby Vision codec string, e.g. `dvh1.08.01` (HLS `SUPPLEMENTAL-CODECS`,
    /// DASH `scte214:supplementalCodecs`). See [`dovi`].
    pub supplemental_codec: Option<String>,
    /// With [`CodecInfo::supplemental_codec`]: the base layer's compatibility brand, e.g.
    /// `db1p` (HLS `/db1p` suffix, DASH `scte214:supplementalProfiles`).
    pub supplemental_profile: Option<String>,
    /// An HEVC entry with an `lhvC` record (ISO/IEC 14496-15 §9: layered HEVC, e.g. MV-HEVC
    /// spatial video): its samples carry NAL units of layers above 0, whose parameter sets are in
    /// `lhvC` and whose slice headers follow the multi-layer syntax (H.265 Annex F).
    pub layered_hevc: bool,
}

impl CodecInfo {
    /// The NAL syntax of this entry's video codec: H.264 for `avc1`/`avc3`, HEVC for
    /// `hvc1`/`hev1`, `None` for anything else.
    pub fn video_codec(&self) -> Option<VideoCodec> {
        match self.base_fourcc() {
            "avc1" | "avc3" => Some(VideoCodec::Avc),
            "hvc1" | "hev1" => Some(VideoCodec::Hevc),
            _ => None,
        }
    }

    /// MPEG-1/2 audio (MP3, or layer I/II) in an `mp4a` entry (objectTypeIndication 0x6B or
    /// 0x69, ISO/IEC 14496-1 Table 5) or QuickTime's `.mp3` entry: `Some(true)` for MPEG-2's
    /// half sample rates (0x69, or a `.mp3` entry below 32 kHz), `None` for anything else.
    pub fn mpeg_audio(&self) -> Option<bool> {
        match (self.fourcc.as_str(), self.codec_string.as_str()) {
            ("mp4a" | ".mp3", "mp4a.6b") => Some(false),
            ("mp4a" | ".mp3", "mp4a.69") => Some(true),
            _ => None,
        }
    }

    /// The generic sample entry whose bitstream syntax this entry carries: the entry itself,
    /// or for a Dolby Vision entry its base codec's (`dvh1` → `hvc1`, `dav1` → `av01`...), so
    /// subsample encryption and verification treat it by that codec's rules.
    pub fn base_fourcc(&self) -> &str {
        dovi::base_fourcc_of(&self.fourcc).unwrap_or(&self.fourcc)
    }
}

/// Bytes of the SampleEntry fields before a VisualSampleEntry's own fields (ISO/IEC 14496-12
/// §8.5.2.2: reserved(6) + data_reference_index(2)) plus the visual fields (§12.1.3.2): 78 bytes
/// from the end of the box header to the first child box.
const VISUAL_HEADER: usize = 78;
/// SampleEntry + AudioSampleEntry fields (§12.2.3.2): 28 bytes before the children.
const AUDIO_HEADER: usize = 28;
/// QuickTime sound description version 1 adds four 32-bit fields (QTFF "Sound Sample
/// Description (Version 1)").
const QT_AUDIO_V1_EXTRA: usize = 16;
/// QuickTime sound description version 2 adds 36 bytes (QTFF "Version 2").
const QT_AUDIO_V2_EXTRA: usize = 36;

/// Parses a whole sample entry box (header included): ISO/IEC 14496-12 §8.5.2 SampleEntry with
/// its VisualSampleEntry (§12.1.3) or AudioSampleEntry (§12.2.3) fields, then the codec
/// configuration box (avcC, hvcC, av1C, vpcC, esds, dOps, dac3, dec3).
pub fn parse_sample_entry(entry: &[u8]) -> CodecResult<CodecInfo> {
    let (kind, body) = whole_box(entry)?;
    let mut fourcc = kind;
    if &kind == b"encv" || &kind == b"enca" {
        // ISO/IEC 23001-7 §4: the original format is in sinf/frma; parse the entry as that.
        let header = if &kind == b"encv" {
            VISUAL_HEADER
        } else {
            AUDIO_HEADER
        };
        let name = fourcc_str(&kind);
        let children = child_boxes(slice_from(body, header, &name)?, &name)?;
        let sinf = find(&children, b"sinf").ok_or_else(|| CodecError::MissingBox {
            parent: "protected sample entry".into(),
            child: "sinf".into(),
        })?;
        let sinf_children = child_boxes(sinf, "sinf")?;
        let frma = find(&sinf_children, b"frma").ok_or_else(|| CodecError::MissingBox {
            parent: "sinf".into(),
            child: "frma".into(),
        })?;
        fourcc = ByteReader::new(frma, *b"frma").fourcc()?;
    }
    match &fourcc {
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"av01" | b"vp09" | b"vp08" | b"dvh1" | b"dvhe"
        | b"dav1" | b"dva1" | b"dvav" => parse_visual(fourcc, body),
        b"mp4a" | b"Opus" | b"ac-3" | b"ec-3" | b"ac-4" | b"fLaC" | b"alac" | b"dtsc" | b"dtse"
        | b"dtsh" | b"dtsl" | b"dtsx" | b"iamf" | b".mp3" => parse_audio(fourcc, body),
        _ => Err(CodecError::UnsupportedEntry(fourcc_str(&fourcc))),
    }
}

/// The body of the configuration box `kind` among `children`, or an error naming the entry.
fn config<'a>(children: &[Child<'a>], name: &str, kind: &[u8; 4]) -> CodecResult<&'a [u8]> {
    find(children, kind).ok_or_else(|| CodecError::MissingBox {
        parent: format!("{name} sample entry"),
        child: fourcc_str(kind),
    })
}

fn parse_visual(fourcc: [u8; 4], body: &[u8]) -> CodecResult<CodecInfo> {
    let name = fourcc_str(&fourcc);
    let mut r = ByteReader::new(body, fourcc);
    // reserved(6), data_reference_index(2), pre_defined(2), reserved(2), pre_defined(12)
    r.skip(24)?;
    let width = r.u16()?;
    let height = r.u16()?;
    let children = child_boxes(slice_from(body, VISUAL_HEADER, &name)?, &name)?;
    let mut info = CodecInfo {
        fourcc: name.clone(),
        width: Some(u32::from(width)),
        height: Some(u32::from(height)),
        ..CodecInfo::default()
    };
    if let Some(pasp) = find(&children, b"pasp") {
        // §12.1.4.2 PixelAspectRatioBox: hSpacing, vSpacing.
        let mut r = ByteReader::new(pasp, *b"pasp");
        let h = r.u32()?;
        let v = r.u32()?;
        if h == 0 || v == 0 {
            return Err(CodecError::invalid(
                "pasp",
                format!("a zero spacing ({h}:{v})"),
            ));
        }
        info.sar = Some((h, v));
    }
    let mut colour = None;
    if let Some(colr) = find(&children, b"colr") {
        // §12.1.5 ColourInformationBox: colour_type, then (nclx/nclc) primaries, transfer,
        // matrix, and (nclx) full_range_flag(1) + reserved(7).
        let mut r = ByteReader::new(colr, *b"colr");
        let kind = r.fourcc()?;
        if matches!(&kind, b"nclx" | b"nclc") {
            let primaries = r.u16()?;
            let transfer = r.u16()?;
            let matrix = r.u16()?;
            let full_range = &kind == b"nclx" && r.u8()? & 0x80 != 0;
            info.transfer_characteristics = u8::try_from(transfer).ok();
            colour = Some(av1::Colour {
                primaries,
                transfer,
                matrix,
                full_range,
            });
        }
    }
    let base = dovi::base_fourcc_of(&name).unwrap_or(&name).to_owned();
    match base.as_bytes() {
        b"avc1" | b"avc3" => {
            let c = avc::AvcConfig::parse(config(&children, &name, b"avcC")?)?;
            info.codec_string = c.codec_string(&name);
            info.nal_length_size = Some(c.nal_length_size);
            info.parameter_sets = c.parameter_sets;
        }
        b"hvc1" | b"hev1" => {
            let c = hevc::HevcConfig::parse(config(&children, &name, b"hvcC")?)?;
            info.codec_string = c.codec_string(&name);
            info.nal_length_size = Some(c.nal_length_size);
            info.parameter_sets = c.parameter_sets;
            if let Some(lhvc) = find(&children, b"lhvC") {
                layered_hevc(&mut info, lhvc, &name, c.nal_length_size)?;
            }
            if info.transfer_characteristics.is_none() {
                // Encoders (x265) state the colour in the VUI; ffmpeg writes no colr in MP4.
                info.transfer_characteristics = hevc::first_sps(&info.parameter_sets)
                    .and_then(|sps| sps.colour)
                    .map(|(_, transfer, _)| transfer);
            }
        }
        b"av01" => {
            let av1c = config(&children, &name, b"av1C")?;
            info.codec_string = av1::Av1Config::parse(av1c)?.codec_string(colour);
            // configOBUs (the sequence header), for finding tiles: see `parameter_sets`.
            if av1c.len() > 4 {
                info.parameter_sets = vec![av1c[4..].to_vec()];
            }
        }
        _ => {
            // vp09 and vp08 share the vpcC record and the string's form.
            info.codec_string =
                vp9::Vp9Config::parse(config(&children, &name, b"vpcC")?)?.codec_string_for(&name)
        }
    }
    dolby_vision(&mut info, &children, &name, &base)?;
    Ok(info)
}

/// An HEVC entry with an `lhvC` (MV-HEVC, see [`hevc_layers`]): the layers' parameter sets
/// join the base layer's, and the codec string names the layered stream's profile (the
/// highest layer's profile_tier_level() in the VPS extension) as Shaka Packager 3.8 does.
fn layered_hevc(
    info: &mut CodecInfo,
    lhvc: &[u8],
    name: &str,
    nal_length_size: u8,
) -> CodecResult<()> {
    let (length_size, sets) = hevc_layers::lhvc_parameter_sets(lhvc)?;
    if length_size != nal_length_size {
        return Err(CodecError::invalid(
            "lhvC",
            format!(
                "lengthSizeMinusOne says {length_size}-byte NAL lengths, hvcC {nal_length_size}"
            ),
        ));
    }
    info.layered_hevc = true;
    info.parameter_sets.extend(sets);
    // A VPS that cannot be read leaves the base layer's string (encryption reports the VPS).
    let ptl = info
        .parameter_sets
        .iter()
        .find(|n| n.len() > 2 && hevc::nal_type(n[0]) == hevc::NAL_VPS)
        .and_then(|n| hevc_layers::HevcVps::parse(&n[2..]).ok())
        .and_then(|v| v.layered_ptl);
    if let Some(ptl) = ptl {
        info.codec_string = ptl.codec_string(name);
    }
    Ok(())
}

/// Dolby Vision signalling (see [`dovi`]): a Dolby Vision entry (`dvh1`...) takes the record's
/// codec string as its own; a generic entry with a record gets it as a supplemental codec with
/// the base layer's compatibility brand.
fn dolby_vision(
    info: &mut CodecInfo,
    children: &[Child<'_>],
    name: &str,
    base: &str,
) -> CodecResult<()> {
    let record = dovi::CONFIG_BOXES
        .iter()
        .find_map(|kind| find(children, kind).map(|body| (**kind, body)));
    let dolby_entry = base != name;
    let Some((kind, body)) = record else {
        if dolby_entry {
            return Err(CodecError::MissingBox {
                parent: format!("{name} sample entry"),
                child: "dvcC/dvvC/dvwC".into(),
            });
        }
        return Ok(());
    };
    let dv = dovi::DoviConfig::parse(body, kind)?;
    if dolby_entry {
        info.codec_string = dv.codec_string(name);
        if dv.profile == 5 {
            // Profile 5 has no compatible base layer: its IPTPQc2 picture is PQ-coded while the
            // SPS VUI says "unspecified" (2). Shaka Packager signals it as PQ (VIDEO-RANGE=PQ,
            // cicp TransferCharacteristics 16); so do we.
            info.transfer_characteristics = Some(16);
        }
    } else if let Some(dv_fourcc) = dovi::dolby_fourcc_for(base) {
        info.supplemental_codec = Some(dv.codec_string(dv_fourcc));
        info.supplemental_profile = dv
            .compatible_brand(info.transfer_characteristics)
            .map(str::to_owned);
    }
    Ok(())
}

fn parse_audio(fourcc: [u8; 4], body: &[u8]) -> CodecResult<CodecInfo> {
    let name = fourcc_str(&fourcc);
    let mut r = ByteReader::new(body, fourcc);
    r.skip(8)?; // reserved(6), data_reference_index(2)
                // ISO: reserved(32)[2]; QuickTime: version(16), revision(16), vendor(32).
    let version = r.u16()?;
    r.skip(6)?;
    let mut channels = r.u16()?;
    r.skip(6)?; // samplesize(16), pre_defined(16), reserved(16)
    let mut sample_rate = r.u32()? >> 16; // 16.16 fixed point
    let children = match version {
        0 => child_boxes(slice_from(body, AUDIO_HEADER, &name)?, &name)?,
        1 => {
            // QuickTime v1 has 16 more bytes; an ISO AudioSampleEntryV1 (§12.2.3.2, in an stsd
            // of version 1) has none. Take the reading whose children are well-formed boxes.
            let qt = slice_from(body, AUDIO_HEADER + QT_AUDIO_V1_EXTRA, &name)
                .and_then(|b| child_boxes(b, &name));
            match qt {
                Ok(children) if children.iter().all(|c| plausible_fourcc(&c.fourcc)) => children,
                _ => child_boxes(slice_from(body, AUDIO_HEADER, &name)?, &name)?,
            }
        }
        2 => {
            // QTFF v2: sizeOfStructOnly(32), audioSampleRate(f64), numAudioChannels(32), ...
            let mut v2 = ByteReader::new(slice_from(body, AUDIO_HEADER, &name)?, fourcc);
            v2.skip(4)?;
            let rate = f64::from_bits(v2.u64()?);
            let count = v2.u32()?;
            if rate.is_finite() && rate >= 1.0 && rate <= f64::from(u32::MAX) {
                // In range and finite: the cast is exact after rounding.
                sample_rate = rate.round() as u32;
            }
            channels = u16::try_from(count).map_err(|_| {
                CodecError::invalid(
                    "sound description v2",
                    format!("channel count {count} too large"),
                )
            })?;
            child_boxes(
                slice_from(body, AUDIO_HEADER + QT_AUDIO_V2_EXTRA, &name)?,
                &name,
            )?
        }
        v => {
            return Err(CodecError::invalid(
                "audio sample entry",
                format!("{name}: unknown version {v}"),
            ))
        }
    };
    let mut info = CodecInfo {
        fourcc: name.clone(),
        sample_rate: (sample_rate > 0).then_some(sample_rate),
        channels: (channels > 0).then_some(channels),
        ..CodecInfo::default()
    };
    // QuickTime v1 puts the codec boxes inside a `wave` box.
    let wave_children = match find(&children, b"wave") {
        Some(wave) => child_boxes(wave, "wave")?,
        None => Vec::new(),
    };
    let config = |kind: &[u8; 4]| {
        find(&children, kind)
            .or_else(|| find(&wave_children, kind))
            .ok_or_else(|| CodecError::MissingBox {
                parent: format!("{name} sample entry"),
                child: fourcc_str(kind),
            })
    };
    match &fourcc {
        b"mp4a" => {
            let c = aac::EsdsConfig::parse(config(b"esds")?)?;
            info.codec_string = c.codec_string();
            info.decoder_specific_info = c.decoder_specific_info;
            if let Some(asc) = c.audio {
                if let Some(rate) = asc.sample_rate {
                    info.sample_rate = Some(rate);
                }
                if let Some(ch) = asc.channels {
                    info.channels = Some(ch);
                }
            }
        }
        b".mp3" => {
            // QuickTime's MP3 entry (ffmpeg's mov muxer): no configuration box; named as the
            // `mp4a` entry of the same stream would be, MPEG-1 audio (OTI 0x6B) or, below
            // 32 kHz, MPEG-2 audio (0x69).
            let lsf = info.sample_rate.is_some_and(|r| r < 32_000);
            info.codec_string = if lsf { "mp4a.69" } else { "mp4a.6b" }.into();
        }
        b"Opus" => {
            let c = opus::OpusConfig::parse(config(b"dOps")?)?;
            info.channels = Some(u16::from(c.channels));
            info.sample_rate = Some(opus::OPUS_RATE);
            info.codec_string = opus::CODEC_STRING.into();
        }
        b"ac-3" | b"ec-3" => {
            let c = if &fourcc == b"ac-3" {
                ac3::Ac3Config::parse_dac3(config(b"dac3")?)?
            } else {
                ac3::Ac3Config::parse_dec3(config(b"dec3")?)?
            };
            info.channels = Some(c.channels);
            if let Some(rate) = c.sample_rate {
                info.sample_rate = Some(rate);
            }
            info.codec_string = name.clone();
            info.channel_signalling = Some(ChannelSignalling::dolby(&c));
        }
        b"ac-4" => {
            // The channel count is the entry's (TS 103 190-2 E.4.5 asks for 2 unless the
            // presentation needs more), as Shaka Packager signals it in HLS.
            let c = ac4::Ac4Config::parse(config(b"dac4")?)?;
            info.codec_string = c.codec_string();
            info.channel_signalling = Some(ChannelSignalling::ac4(&c, info.channels.unwrap_or(2)));
        }
        b"fLaC" => {
            let c = flac::FlacConfig::parse(config(b"dfLa")?)?;
            info.channels = Some(c.channels);
            info.sample_rate = Some(c.sample_rate);
            info.codec_string = flac::CODEC_STRING.into();
        }
        b"alac" => {
            let c = alac::AlacConfig::parse(config(b"alac")?)?;
            info.channels = Some(c.channels);
            info.sample_rate = Some(c.sample_rate);
            info.codec_string = alac::CODEC_STRING.into();
        }
        b"dtsc" | b"dtse" | b"dtsh" | b"dtsl" => {
            let c = dts::DdtsConfig::parse(config(b"ddts")?)?;
            info.sample_rate = Some(c.sample_rate);
            info.codec_string = name.clone();
            info.channel_signalling = info
                .channels
                .map(|ch| ChannelSignalling::count_in(channels::SCHEME_DTS, ch));
        }
        b"dtsx" => {
            let c = dts::UdtsConfig::parse(config(b"udts")?)?;
            // A 32-bit mask has at most 32 bits set: the cast cannot truncate.
            let ch = info.channels.unwrap_or(c.channel_mask.count_ones() as u16);
            info.channels = Some(ch);
            info.codec_string = name.clone();
            info.channel_signalling = Some(ChannelSignalling::dtsx(ch, c.channel_mask));
        }
        b"iamf" => {
            // The channels and rate are the mix presentation's, not the entry's (whose fields
            // are 0): none is signalled (docs/audio-signalling.md).
            info.codec_string = iamf::IamfConfig::parse(config(b"iacb")?)?.codec_string();
            info.channels = None;
            info.sample_rate = None;
            return Ok(info);
        }
        _ => return Err(CodecError::UnsupportedEntry(name)),
    }
    if info.channel_signalling.is_none() {
        info.channel_signalling = info.channels.map(ChannelSignalling::count);
    }
    Ok(info)
}

// ---- box splitting over the mp4 reader --------------------------------------------------------

/// Splits a whole box into its type and body, checking the size against the bytes given
/// (ISO/IEC 14496-12 §4.2).
fn whole_box(data: &[u8]) -> CodecResult<([u8; 4], &[u8])> {
    let (kind, size, header) = parse_header(data)?;
    if size != data.len() as u64 {
        return Err(CodecError::EntrySize {
            entry: fourcc_str(&kind),
            size,
            given: data.len(),
        });
    }
    // parse_header checked header ≤ size = data.len().
    Ok((kind, &data[header..]))
}

/// A child box.
type Child<'a> = RawBox<'a>;

/// The child boxes laid end to end in `data`. A size that runs past the parent is an error; up to
/// 7 trailing zero bytes (a QuickTime terminator) are tolerated.
fn child_boxes<'a>(data: &'a [u8], parent: &str) -> CodecResult<Vec<Child<'a>>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 8 && rest.iter().all(|&b| b == 0) {
            break;
        }
        if rest.len() < 8 {
            return Err(CodecError::StrayBytes {
                parent: parent.to_string(),
                count: rest.len(),
            });
        }
        let child = match BoxIter::new(rest).next() {
            Some(Ok(b)) => b,
            Some(Err(source)) => {
                return Err(CodecError::ChildBox {
                    parent: parent.to_string(),
                    source,
                })
            }
            None => break,
        };
        pos += child.bytes.len();
        out.push(child);
    }
    Ok(out)
}

fn find<'a>(children: &[Child<'a>], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children.iter().find(|c| &c.fourcc == kind).map(|c| c.body)
}

fn slice_from<'a>(body: &'a [u8], offset: usize, what: &str) -> CodecResult<&'a [u8]> {
    body.get(offset..)
        .ok_or_else(|| CodecError::EntryTruncated {
            entry: what.to_string(),
            len: body.len(),
            need: offset,
        })
}

fn plausible_fourcc(kind: &[u8; 4]) -> bool {
    kind.iter()
        .all(|&c| c == b' ' || c == b'-' || c.is_ascii_alphanumeric())
        || kind == &[0; 4]
}

/// Real sample entries extracted from ffmpeg-made files (tests/data/codec, see make.sh) for the
/// codec files' unit tests.
#[cfg(test)]
pub(crate) mod test_data {
    use std::path::PathBuf;

    /// The directory of the extracted entries.
    pub fn data_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/codec")
    }

    /// The whole sample entry `name`.bin.
    pub fn entry(name: &str) -> Vec<u8> {
        let path = data_dir().join(format!("{name}.bin"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The body of the first box `kind` found anywhere in `entry` (a configuration box).
    pub fn child_body<'a>(entry: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
        let at = entry
            .windows(4)
            .position(|w| w == kind)
            .unwrap_or_else(|| panic!("no {kind:?} in the entry"));
        let size = u32::from_be_bytes(entry[at - 4..at].try_into().unwrap()) as usize;
        &entry[at + 4..at - 4 + size]
    }
}

#[cfg(test)]
mod tests {
    use super::test_data::{data_dir, entry};
    use super::*;

    /// One line of expected.txt: what Shaka Packager (codecs=) and ffprobe reported for the file
    /// each entry was extracted from (see make.sh).
    struct Expected {
        name: String,
        fourcc: String,
        codecs: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
        sar: Option<(u32, u32)>,
        sample_rate: Option<u32>,
        channels: Option<u16>,
    }

    fn expected() -> Vec<Expected> {
        let text = std::fs::read_to_string(data_dir().join("expected.txt")).expect("expected.txt");
        let opt = |s: &str| (s != "-").then(|| s.to_string());
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(f.len(), 8, "bad expected.txt line {l:?}");
                Expected {
                    name: f[0].into(),
                    fourcc: f[1].into(),
                    codecs: opt(f[2]),
                    width: opt(f[3]).map(|v| v.parse().unwrap()),
                    height: opt(f[4]).map(|v| v.parse().unwrap()),
                    sar: opt(f[5]).map(|v| {
                        let (h, v) = v.split_once(':').unwrap();
                        (h.parse().unwrap(), v.parse().unwrap())
                    }),
                    sample_rate: opt(f[6]).map(|v| v.parse().unwrap()),
                    channels: opt(f[7]).map(|v| v.parse().unwrap()),
                }
            })
            .collect()
    }

    #[test]
    fn real_entries_match_shaka_packager_and_ffprobe() {
        let all = expected();
        assert!(all.len() >= 12, "expected.txt lists {} entries", all.len());
        for e in &all {
            let info = parse_sample_entry(&entry(&e.name))
                .unwrap_or_else(|err| panic!("{}: {err}", e.name));
            assert_eq!(info.fourcc, e.fourcc, "{}", e.name);
            if let Some(codecs) = &e.codecs {
                assert_eq!(
                    &info.codec_string, codecs,
                    "{}: codec string vs Shaka Packager",
                    e.name
                );
            }
            assert_eq!(info.width, e.width, "{} width", e.name);
            assert_eq!(info.height, e.height, "{} height", e.name);
            assert_eq!(info.sample_rate, e.sample_rate, "{} sample rate", e.name);
            assert_eq!(info.channels, e.channels, "{} channels", e.name);
            if e.width.is_some() {
                assert_eq!(
                    info.sar, e.sar,
                    "{} sar (ffmpeg writes pasp for every video entry)",
                    e.name
                );
            }
        }
    }

    #[test]
    fn quicktime_v1_sound_description_reads_esds_inside_wave() {
        // ffprobe reports profile LC for this file (AOT 2); Shaka cannot read .mov.
        let info = parse_sample_entry(&entry("aac_qt_v1")).unwrap();
        assert_eq!(info.codec_string, "mp4a.40.2");
        assert_eq!((info.sample_rate, info.channels), (Some(48000), Some(2)));
    }

    /// nal_unit_type of each H.264 NAL unit (ITU-T H.264 §7.3.1: low 5 bits of the first byte).
    fn nal_types_h264(sets: &[Vec<u8>]) -> Vec<u8> {
        sets.iter().map(|n| n[0] & 0x1f).collect()
    }

    #[test]
    fn avcc_gives_nal_length_size_and_parameter_sets() {
        for name in ["h264_high", "h264_main", "h264_baseline", "h264_avc3"] {
            let info = parse_sample_entry(&entry(name)).unwrap();
            assert_eq!(info.nal_length_size, Some(4), "{name}");
            assert_eq!(
                nal_types_h264(&info.parameter_sets),
                vec![7, 8],
                "{name}: one SPS then one PPS"
            );
            // The SPS carries profile_idc, constraint flags and level_idc right after its header
            // (ITU-T H.264 §7.3.2.1.1): they must agree with the codec string.
            let sps = &info.parameter_sets[0];
            let from_sps = format!("{}.{:02x}{:02x}{:02x}", info.fourcc, sps[1], sps[2], sps[3]);
            assert_eq!(info.codec_string, from_sps, "{name}");
        }
    }

    #[test]
    fn hvcc_gives_vps_sps_pps_without_sei() {
        for name in ["h265_hvc1", "h265_hev1"] {
            let info = parse_sample_entry(&entry(name)).unwrap();
            assert_eq!(info.nal_length_size, Some(4), "{name}");
            let types: Vec<u8> = info
                .parameter_sets
                .iter()
                .map(|n| (n[0] >> 1) & 0x3f)
                .collect();
            assert_eq!(types, vec![32, 33, 34], "{name}: VPS, SPS, PPS");
        }
    }

    #[test]
    fn audio_entries_have_no_nal_fields() {
        let info = parse_sample_entry(&entry("aac_stereo48k")).unwrap();
        assert_eq!(info.nal_length_size, None);
        assert!(info.parameter_sets.is_empty());
    }

    /// Builds a box: 32-bit size, type, body.
    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// An mp4a entry (v0) around an esds with the given AudioSpecificConfig.
    fn mp4a_with_asc(asc: &[u8]) -> Vec<u8> {
        let mut dsi = vec![0x05, asc.len() as u8];
        dsi.extend_from_slice(asc);
        let mut dcd = vec![
            0x04,
            (13 + dsi.len()) as u8,
            0x40,
            0x15,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        dcd.extend_from_slice(&dsi);
        let mut es = vec![0x03, (3 + dcd.len()) as u8, 0, 1, 0];
        es.extend_from_slice(&dcd);
        let mut esds_body = vec![0, 0, 0, 0];
        esds_body.extend_from_slice(&es);
        let mut body = vec![0u8; 28];
        body[7] = 1; // data_reference_index
        body[16..18].copy_from_slice(&2u16.to_be_bytes());
        body[18..20].copy_from_slice(&16u16.to_be_bytes());
        body[24..28].copy_from_slice(&(44100u32 << 16).to_be_bytes());
        body.extend_from_slice(&bx(b"esds", &esds_body));
        bx(b"mp4a", &body)
    }

    #[test]
    fn quicktime_mp3_entry_is_mpeg_audio() {
        // `.mp3` as ffmpeg's mov muxer writes it: a QuickTime v1 sound description (16 more
        // bytes), no configuration box.
        let entry = |rate: u32| {
            let mut body = vec![0u8; 28 + 16];
            body[7] = 1; // data_reference_index
            body[8..10].copy_from_slice(&1u16.to_be_bytes()); // version 1
            body[16..18].copy_from_slice(&2u16.to_be_bytes());
            body[24..28].copy_from_slice(&(rate << 16).to_be_bytes());
            bx(b".mp3", &body)
        };
        let info = parse_sample_entry(&entry(44100)).unwrap();
        assert_eq!(
            (info.codec_string.as_str(), info.mpeg_audio()),
            ("mp4a.6b", Some(false))
        );
        assert_eq!((info.sample_rate, info.channels), (Some(44100), Some(2)));
        let info = parse_sample_entry(&entry(22050)).unwrap();
        assert_eq!(
            (info.codec_string.as_str(), info.mpeg_audio()),
            ("mp4a.69", Some(true))
        );
        // AAC is not MPEG-1/2 audio.
        let aac = parse_sample_entry(&mp4a_with_asc(&[0x12, 0x10])).unwrap();
        assert_eq!(aac.mpeg_audio(), None);
    }

    #[test]
    fn asc_escape_object_type_31() {
        // AOT 31 + 6 bits 10 = 42 (USAC), frequency index 3 (48 kHz), channelConfiguration 2:
        // 11111 001010 0011 0010 -> 1111 1001 0100 0110 0100 0000
        let info = parse_sample_entry(&mp4a_with_asc(&[0xf9, 0x46, 0x40])).unwrap();
        assert_eq!(info.codec_string, "mp4a.40.42");
        assert_eq!((info.sample_rate, info.channels), (Some(48000), Some(2)));
    }

    #[test]
    fn asc_explicit_sbr_and_ps() {
        // AOT 5 (SBR), 24 kHz core (index 6), mono, extension index 3 (48 kHz), then AOT 2:
        // 00101 0110 0001 0011 00010 -> 0010 1011 0000 1001 1000 1000
        let info = parse_sample_entry(&mp4a_with_asc(&[0x2b, 0x09, 0x88])).unwrap();
        assert_eq!(info.codec_string, "mp4a.40.5");
        assert_eq!((info.sample_rate, info.channels), (Some(48000), Some(1)));
        // AOT 29 (PS): same layout, PS outputs stereo.
        // 11101 0110 0001 0011 00010 -> 1110 1011 0000 1001 1000 1000
        let info = parse_sample_entry(&mp4a_with_asc(&[0xeb, 0x09, 0x88])).unwrap();
        assert_eq!(info.codec_string, "mp4a.40.29");
        assert_eq!((info.sample_rate, info.channels), (Some(48000), Some(2)));
    }

    #[test]
    fn asc_explicit_frequency_and_pce_channels() {
        // AOT 2, index 15 + 24-bit 22000 Hz, channelConfiguration 0 (PCE): channels come from
        // the entry (2). 00010 1111 000000000101010111110000 0000
        // -> 0001 0111 1000 0000 0010 1010 1111 1000 0000 0000
        let info = parse_sample_entry(&mp4a_with_asc(&[0x17, 0x80, 0x2a, 0xf8, 0x00])).unwrap();
        assert_eq!(info.codec_string, "mp4a.40.2");
        assert_eq!((info.sample_rate, info.channels), (Some(22000), Some(2)));
    }

    #[test]
    fn hvcc_profile_space_tier_and_constraints() {
        // Replace the hvcC fixed header of a real entry: profile space 1, high tier, idc 2,
        // compatibility flag bit for idc 2 (0x20000000 -> reversed 0x4), constraints B0 00 00 01,
        // level 153.
        let mut e = entry("h265_hvc1");
        let at = e.windows(4).position(|w| w == b"hvcC").unwrap() + 4;
        e[at + 1] = (1 << 6) | (1 << 5) | 2; // profile_space 1, tier 1, profile_idc 2
        e[at + 2..at + 6].copy_from_slice(&0x2000_0000u32.to_be_bytes());
        e[at + 6..at + 12].copy_from_slice(&[0xb0, 0, 0, 1, 0, 0]);
        e[at + 12] = 153;
        let info = parse_sample_entry(&e).unwrap();
        assert_eq!(info.codec_string, "hvc1.A2.4.H153.B0.0.0.1");
    }

    #[test]
    fn av1_high_bitdepth() {
        let mut e = entry("av1");
        let at = e.windows(4).position(|w| w == b"av1C").unwrap() + 4;
        e[at + 1] = (2 << 5) | 13; // profile 2, level 13
        e[at + 2] |= 0x80 | 0x40 | 0x20; // high tier, 12 bit
        assert_eq!(
            parse_sample_entry(&e).unwrap().codec_string,
            "av01.2.13H.12"
        );
        e[at + 2] &= !0x20; // 10 bit
        assert_eq!(
            parse_sample_entry(&e).unwrap().codec_string,
            "av01.2.13H.10"
        );
    }

    #[test]
    fn vp09_full_form() {
        let mut body = vec![0u8; 78];
        body[7] = 1;
        body[24..26].copy_from_slice(&1280u16.to_be_bytes());
        body[26..28].copy_from_slice(&720u16.to_be_bytes());
        // version 1, profile 0, level 31, 8 bit, 4:2:0 colocated (1), limited range, BT.709.
        body.extend_from_slice(&bx(
            b"vpcC",
            &[1, 0, 0, 0, 0, 31, (8 << 4) | (1 << 1), 1, 1, 1, 0, 0],
        ));
        let info = parse_sample_entry(&bx(b"vp09", &body)).unwrap();
        assert_eq!(info.codec_string, "vp09.00.31.08.01.01.01.01.00");
        assert_eq!((info.width, info.height), (Some(1280), Some(720)));
    }

    #[test]
    fn ac3_and_ec3_channels_from_config() {
        // dac3 of the 5.1 file: acmod 7 + LFE = 6 (ffprobe says 6).
        assert_eq!(
            parse_sample_entry(&entry("ac3_51")).unwrap().channels,
            Some(6)
        );
        // dec3 with one dependent substream adding Lrs/Rrs (chan_loc bit 1, counted from the
        // least significant bit as Shaka Packager does, docs/audio-signalling.md): 5.1 + 2 = 8.
        let mut body = vec![0u8; 28];
        body[7] = 1;
        body[16..18].copy_from_slice(&2u16.to_be_bytes());
        body[24..28].copy_from_slice(&(48000u32 << 16).to_be_bytes());
        // data_rate(13)=0x180, num_ind_sub(3)=0 | fscod 0, bsid 16, res, asvc 0, bsmod 0 |
        // acmod 7, lfe 1, res 000, num_dep_sub 1, chan_loc 0b0_0000_0010
        let dec3 = [0x0c, 0x00, 0x20, 0x0f, 0x02, 0x02];
        body.extend_from_slice(&bx(b"dec3", &dec3));
        let info = parse_sample_entry(&bx(b"ec-3", &body)).unwrap();
        assert_eq!(
            (info.codec_string.as_str(), info.channels),
            ("ec-3", Some(8))
        );
        let s = info.channel_signalling.unwrap();
        assert_eq!(
            (s.dash.scheme, s.dash.value.as_str()),
            (channels::SCHEME_CICP, "12")
        );
    }

    #[test]
    fn protected_entry_uses_original_format() {
        let mut e = entry("h264_high");
        e[4..8].copy_from_slice(b"encv");
        let mut sinf = bx(b"frma", b"avc1");
        sinf.extend_from_slice(&bx(
            b"schm",
            &[0, 0, 0, 0, b'c', b'b', b'c', b's', 0, 1, 0, 0],
        ));
        e.extend_from_slice(&bx(b"sinf", &sinf));
        let size = e.len() as u32;
        e[0..4].copy_from_slice(&size.to_be_bytes());
        let info = parse_sample_entry(&e).unwrap();
        assert_eq!(
            (info.fourcc.as_str(), info.codec_string.as_str()),
            ("avc1", "avc1.64001e")
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let err = parse_sample_entry(&bx(b"mp4v", &[0u8; 78]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported sample entry 'mp4v'"), "{err}");
        let mut e = entry("h264_high");
        e[3] = e[3].wrapping_add(1);
        let err = parse_sample_entry(&e).unwrap_err().to_string();
        assert!(err.contains("says"), "{err}");
        let err = parse_sample_entry(&bx(b"avc1", &[0u8; 78]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no avcC"), "{err}");
        assert!(parse_sample_entry(&[]).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for e in expected() {
            let full = entry(&e.name);
            for len in 0..full.len() {
                let mut cut = full[..len].to_vec();
                // Also fix the size field so the children, not the header check, see the cut.
                if len >= 4 {
                    cut[0..4].copy_from_slice(&(len as u32).to_be_bytes());
                }
                let _ = parse_sample_entry(&cut);
                assert!(
                    parse_sample_entry(&full[..len]).is_err(),
                    "{} cut at {len}",
                    e.name
                );
            }
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        // xorshift: deterministic, no dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for e in expected() {
            let full = entry(&e.name);
            for _ in 0..2000 {
                let mut bad = full.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() % bad.len() as u64) as usize;
                    bad[i] = next() as u8;
                }
                let _ = parse_sample_entry(&bad);
            }
        }
    }
}
