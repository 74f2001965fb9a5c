//! Codec configuration read from a sample entry: RFC 6381 codec strings and the fields manifests
//! and the fragment writer need (dimensions, pixel aspect, audio rate/channels, NAL length size,
//! parameter sets).
//!
//! Every read is bounded by the box it belongs to: a size that lies or a truncated record is an
//! `Err` naming the box, never a panic, and no allocation is sized from a field of the file.

/// What a sample entry says about its codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodecInfo {
    /// The sample entry 4CC as found (`avc1`, `hev1`, `mp4a`, `Opus`...). For a protected entry
    /// (`encv`/`enca`) this is the original format from `sinf/frma`.
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
pub fn parse_sample_entry(entry: &[u8]) -> Result<CodecInfo, String> {
    let (kind, body) = whole_box(entry)?;
    let mut fourcc = kind;
    if &kind == b"encv" || &kind == b"enca" {
        // ISO/IEC 23001-7 §4: the original format is in sinf/frma; parse the entry as that.
        let header = if &kind == b"encv" {
            VISUAL_HEADER
        } else {
            AUDIO_HEADER
        };
        let children = child_boxes(
            slice_from(body, header, fourcc_str(&kind).as_str())?,
            "encv/enca",
        )?;
        let sinf = find(&children, b"sinf").ok_or("protected sample entry has no sinf box")?;
        let sinf_children = child_boxes(sinf, "sinf")?;
        let frma = find(&sinf_children, b"frma").ok_or("sinf has no frma box")?;
        let mut r = Reader::new(frma, "frma");
        fourcc = r.array4()?;
    }
    match &fourcc {
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"av01" | b"vp09" => parse_visual(fourcc, body),
        b"mp4a" | b"Opus" | b"ac-3" | b"ec-3" => parse_audio(fourcc, body),
        _ => Err(format!(
            "unsupported sample entry '{}'",
            fourcc_str(&fourcc)
        )),
    }
}

fn parse_visual(fourcc: [u8; 4], body: &[u8]) -> Result<CodecInfo, String> {
    let name = fourcc_str(&fourcc);
    let mut r = Reader::new(body, "visual sample entry");
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
        let mut r = Reader::new(pasp, "pasp");
        let h = r.u32()?;
        let v = r.u32()?;
        if h == 0 || v == 0 {
            return Err(format!("pasp has a zero spacing ({h}:{v})"));
        }
        info.sar = Some((h, v));
    }
    let config = |kind: &[u8; 4]| {
        find(&children, kind)
            .ok_or_else(|| format!("{name} sample entry has no {} box", fourcc_str(kind)))
    };
    match &fourcc {
        b"avc1" | b"avc3" => parse_avcc(&name, config(b"avcC")?, &mut info)?,
        b"hvc1" | b"hev1" => parse_hvcc(&name, config(b"hvcC")?, &mut info)?,
        b"av01" => info.codec_string = av1_codec_string(config(b"av1C")?)?,
        _ => info.codec_string = vp9_codec_string(config(b"vpcC")?)?,
    }
    Ok(info)
}

fn parse_audio(fourcc: [u8; 4], body: &[u8]) -> Result<CodecInfo, String> {
    let name = fourcc_str(&fourcc);
    let mut r = Reader::new(body, "audio sample entry");
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
                Ok(children) if children.iter().all(|(k, _)| plausible_fourcc(k)) => children,
                _ => child_boxes(slice_from(body, AUDIO_HEADER, &name)?, &name)?,
            }
        }
        2 => {
            // QTFF v2: sizeOfStructOnly(32), audioSampleRate(f64), numAudioChannels(32), ...
            let mut v2 = Reader::new(
                slice_from(body, AUDIO_HEADER, &name)?,
                "sound description v2",
            );
            v2.skip(4)?;
            let rate = f64::from_bits(v2.u64()?);
            let count = v2.u32()?;
            if rate.is_finite() && rate >= 1.0 && rate <= f64::from(u32::MAX) {
                sample_rate = rate.round() as u32;
            }
            channels = u16::try_from(count)
                .map_err(|_| format!("{name}: channel count {count} too large"))?;
            child_boxes(
                slice_from(body, AUDIO_HEADER + QT_AUDIO_V2_EXTRA, &name)?,
                &name,
            )?
        }
        v => return Err(format!("{name}: unknown audio sample entry version {v}")),
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
            .ok_or_else(|| format!("{name} sample entry has no {} box", fourcc_str(kind)))
    };
    match &fourcc {
        b"mp4a" => parse_esds(config(b"esds")?, &mut info)?,
        b"Opus" => parse_dops(config(b"dOps")?, &mut info)?,
        b"ac-3" => parse_dac3(config(b"dac3")?, &mut info)?,
        _ => parse_dec3(config(b"dec3")?, &mut info)?,
    }
    Ok(info)
}

/// AVCDecoderConfigurationRecord, ISO/IEC 14496-15 §5.3.3.1; codec string per RFC 6381 §3.3
/// (`avc1.PPCCLL`: profile_idc, constraint flags, level_idc in hex).
fn parse_avcc(name: &str, avcc: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut r = Reader::new(avcc, "avcC");
    let version = r.u8()?;
    if version != 1 {
        return Err(format!("avcC configurationVersion {version} (expected 1)"));
    }
    let profile = r.u8()?;
    let compat = r.u8()?;
    let level = r.u8()?;
    info.nal_length_size = Some(nal_length_size(r.u8()? & 0x03, "avcC")?);
    let sps_count = r.u8()? & 0x1f;
    for _ in 0..sps_count {
        let len = usize::from(r.u16()?);
        info.parameter_sets.push(r.take(len)?.to_vec());
    }
    let pps_count = r.u8()?;
    for _ in 0..pps_count {
        let len = usize::from(r.u16()?);
        info.parameter_sets.push(r.take(len)?.to_vec());
    }
    // Profiles 100/110/122/144 may carry chroma/bit-depth fields and SPS extensions after the PPS
    // list (§5.3.3.1.2); nothing here needs them.
    info.codec_string = format!("{name}.{profile:02x}{compat:02x}{level:02x}");
    Ok(())
}

/// HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 §8.3.3.1; codec string per Annex E.3.
fn parse_hvcc(name: &str, hvcc: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut r = Reader::new(hvcc, "hvcC");
    let version = r.u8()?;
    if version != 1 {
        return Err(format!("hvcC configurationVersion {version} (expected 1)"));
    }
    let b = r.u8()?;
    let profile_space = b >> 6;
    let tier_high = b & 0x20 != 0;
    let profile_idc = b & 0x1f;
    let compat = r.u32()?;
    let constraints = r.take(6)?;
    let level_idc = r.u8()?;
    // min_spatial_segmentation(16), parallelismType(8), chromaFormat(8), bitDepthLuma(8),
    // bitDepthChroma(8), avgFrameRate(16)
    r.skip(8)?;
    info.nal_length_size = Some(nal_length_size(r.u8()? & 0x03, "hvcC")?);
    let arrays = r.u8()?;
    for _ in 0..arrays {
        let nal_type = r.u8()? & 0x3f;
        let count = r.u16()?;
        for _ in 0..count {
            let len = usize::from(r.u16()?);
            let nal = r.take(len)?;
            // VPS, SPS, PPS (ITU-T H.265 Table 7-1); SEI arrays are not parameter sets.
            if (32..=34).contains(&nal_type) {
                info.parameter_sets.push(nal.to_vec());
            }
        }
    }
    let space = match profile_space {
        0 => "",
        1 => "A",
        2 => "B",
        _ => "C",
    };
    // E.3: the 32 compatibility flags in reverse bit order, hex without leading zeros.
    let mut s = format!(
        "{name}.{space}{profile_idc}.{:X}.{}{level_idc}",
        compat.reverse_bits(),
        if tier_high { 'H' } else { 'L' }
    );
    // E.3: the six constraint bytes, each in hex; trailing zero bytes may be omitted.
    let used = constraints
        .iter()
        .rposition(|&c| c != 0)
        .map_or(0, |i| i + 1);
    for c in &constraints[..used] {
        s.push_str(&format!(".{c:X}"));
    }
    info.codec_string = s;
    Ok(())
}

fn nal_length_size(minus_one: u8, what: &str) -> Result<u8, String> {
    match minus_one {
        0 | 1 | 3 => Ok(minus_one + 1),
        _ => Err(format!(
            "{what}: lengthSizeMinusOne 2 (3-byte NAL lengths) is not allowed"
        )),
    }
}

/// AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3); codec string in the short form of
/// AV1-ISOBMFF "Codecs Parameter String": `av01.P.LLT.DD`.
fn av1_codec_string(av1c: &[u8]) -> Result<String, String> {
    let mut r = Reader::new(av1c, "av1C");
    let marker_version = r.u8()?;
    if marker_version != 0x81 {
        return Err(format!(
            "av1C marker/version byte {marker_version:#04x} (expected 0x81)"
        ));
    }
    let b = r.u8()?;
    let profile = b >> 5;
    let level = b & 0x1f;
    let c = r.u8()?;
    let tier = if c & 0x80 != 0 { 'H' } else { 'M' };
    let high_bitdepth = c & 0x40 != 0;
    let twelve_bit = c & 0x20 != 0;
    let depth = match (high_bitdepth, twelve_bit && profile == 2) {
        (false, _) => 8,
        (true, false) => 10,
        (true, true) => 12,
    };
    Ok(format!("av01.{profile}.{level:02}{tier}.{depth:02}"))
}

/// VPCodecConfigurationBox (VP Codec ISO Media File Format Binding §2.2); codec string in the
/// full form `vp09.PP.LL.DD.CC.cp.tc.mc.FF` (§"Codecs Parameter String").
fn vp9_codec_string(vpcc: &[u8]) -> Result<String, String> {
    let mut r = Reader::new(vpcc, "vpcC");
    let version = r.u8()?;
    r.skip(3)?; // flags
    if version != 1 {
        return Err(format!("vpcC version {version} (expected 1)"));
    }
    let profile = r.u8()?;
    let level = r.u8()?;
    let b = r.u8()?;
    let (depth, chroma, full_range) = (b >> 4, (b >> 1) & 0x07, b & 0x01);
    let (primaries, transfer, matrix) = (r.u8()?, r.u8()?, r.u8()?);
    Ok(format!(
        "vp09.{profile:02}.{level:02}.{depth:02}.{chroma:02}.{primaries:02}.{transfer:02}.{matrix:02}.{full_range:02}"
    ))
}

/// ES_Descriptor in an `esds` FullBox (ISO/IEC 14496-14 §3.1.2, descriptors per 14496-1 §7.2.6);
/// codec string `mp4a.OTI[.AOT]` per RFC 6381 §3.3.
fn parse_esds(esds: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut r = Reader::new(esds, "esds");
    r.skip(4)?; // version, flags
    let es = descriptor(&mut r, 0x03, "ES_Descriptor")?;
    let mut r = Reader::new(es, "ES_Descriptor");
    r.skip(2)?; // ES_ID
    let flags = r.u8()?;
    if flags & 0x80 != 0 {
        r.skip(2)?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let len = usize::from(r.u8()?);
        r.skip(len)?; // URL
    }
    if flags & 0x20 != 0 {
        r.skip(2)?; // OCR_ES_Id
    }
    let dcd = descriptor(&mut r, 0x04, "DecoderConfigDescriptor")?;
    let mut r = Reader::new(dcd, "DecoderConfigDescriptor");
    let oti = r.u8()?;
    r.skip(12)?; // streamType etc.(8), bufferSizeDB(24), maxBitrate(32), avgBitrate(32)
    let asc = if r.remaining() > 0 {
        Some(descriptor(&mut r, 0x05, "DecoderSpecificInfo")?)
    } else {
        None
    };
    if oti != 0x40 {
        // Not MPEG-4 Audio (e.g. 0x6b MP3): RFC 6381 gives only the OTI.
        info.codec_string = format!("mp4a.{oti:02x}");
        return Ok(());
    }
    let asc = asc.ok_or("esds: MPEG-4 Audio without an AudioSpecificConfig")?;
    let config = audio_specific_config(asc)?;
    info.codec_string = format!("mp4a.40.{}", config.object_type);
    if let Some(rate) = config.sample_rate {
        info.sample_rate = Some(rate);
    }
    if let Some(ch) = config.channels {
        info.channels = Some(ch);
    }
    Ok(())
}

/// Reads one descriptor with the expected tag (ISO/IEC 14496-1 §8.3.3: tag, then a size in up to
/// four 7-bit groups) and returns its payload.
fn descriptor<'a>(r: &mut Reader<'a>, tag: u8, what: &str) -> Result<&'a [u8], String> {
    let found = r.u8()?;
    if found != tag {
        return Err(format!(
            "esds: expected {what} (tag {tag:#04x}), found tag {found:#04x}"
        ));
    }
    let mut size = 0usize;
    for i in 0..4 {
        let b = r.u8()?;
        size = (size << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(format!("esds: {what} size runs over 4 bytes"));
        }
    }
    r.take(size).map_err(|e| format!("esds: {what}: {e}"))
}

struct AudioConfig {
    object_type: u32,
    sample_rate: Option<u32>,
    channels: Option<u16>,
}

/// Sampling frequencies by samplingFrequencyIndex (ISO/IEC 14496-3 §1.6.3.3, Table 1.18).
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// AudioSpecificConfig, ISO/IEC 14496-3 §1.6.2.1: audio object type (with the escape 31 →
/// 32 + 6 bits), sampling frequency, channel configuration; explicit SBR/PS signalling
/// (AOT 5/29) gives the output rate in extensionSamplingFrequency.
fn audio_specific_config(asc: &[u8]) -> Result<AudioConfig, String> {
    let mut b = Bits::new(asc, "AudioSpecificConfig");
    let object_type = read_object_type(&mut b)?;
    let mut sample_rate = read_frequency(&mut b)?;
    let channel_config = b.read(4)?;
    let mut channels = match channel_config {
        0 => None, // defined by a program_config_element: keep the sample entry's count
        1..=6 => Some(channel_config as u16),
        7 | 12 | 14 => Some(8),
        11 => Some(7),
        13 => Some(24),
        _ => {
            return Err(format!(
                "AudioSpecificConfig: reserved channelConfiguration {channel_config}"
            ))
        }
    };
    if object_type == 5 || object_type == 29 {
        // SBR doubles the output rate; PS turns mono into stereo.
        sample_rate = read_frequency(&mut b)?;
        if object_type == 29 {
            channels = Some(2);
        }
    }
    Ok(AudioConfig {
        object_type,
        sample_rate,
        channels,
    })
}

fn read_object_type(b: &mut Bits) -> Result<u32, String> {
    let aot = b.read(5)?;
    if aot == 31 {
        Ok(32 + b.read(6)?)
    } else {
        Ok(aot)
    }
}

fn read_frequency(b: &mut Bits) -> Result<Option<u32>, String> {
    let index = b.read(4)?;
    if index == 0x0f {
        return Ok(Some(b.read(24)?).filter(|&r| r > 0));
    }
    AAC_RATES
        .get(index as usize)
        .copied()
        .map(Some)
        .ok_or_else(|| format!("AudioSpecificConfig: reserved samplingFrequencyIndex {index}"))
}

/// OpusSpecificBox (Opus in ISOBMFF §4.3.2): OutputChannelCount. The codec string is `opus` and
/// the decoder always runs at 48 kHz (§4.3.1: the entry's samplerate shall be 48000).
fn parse_dops(dops: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut r = Reader::new(dops, "dOps");
    let version = r.u8()?;
    if version != 0 {
        return Err(format!("dOps version {version} (expected 0)"));
    }
    let channels = r.u8()?;
    if channels == 0 {
        return Err("dOps OutputChannelCount is 0".into());
    }
    info.channels = Some(u16::from(channels));
    info.sample_rate = Some(48000);
    info.codec_string = "opus".into();
    Ok(())
}

/// Channels per acmod (ETSI TS 102 366 Table 4.3), without the LFE.
const AC3_CHANNELS: [u16; 8] = [2, 1, 2, 3, 3, 4, 4, 5];
const AC3_RATES: [Option<u32>; 4] = [Some(48000), Some(44100), Some(32000), None];

/// AC3SpecificBox (ETSI TS 102 366 Annex F.4): fscod, bsid, bsmod, acmod, lfeon.
fn parse_dac3(dac3: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut b = Bits::new(dac3, "dac3");
    let fscod = b.read(2)?;
    b.read(5 + 3)?; // bsid, bsmod
    let acmod = b.read(3)?;
    let lfe = b.read(1)?;
    info.channels = Some(AC3_CHANNELS[acmod as usize] + lfe as u16);
    if let Some(rate) = AC3_RATES[fscod as usize] {
        info.sample_rate = Some(rate);
    }
    info.codec_string = "ac-3".into();
    Ok(())
}

/// EC3SpecificBox (ETSI TS 102 366 Annex F.6): the first independent substream's acmod/lfeon
/// plus the channels its dependent substreams add (chan_loc, Table F.6.1: bits 8..0 = Lc/Rc,
/// Lrs/Rrs, Cs, Ts, Lsd/Rsd, Lw/Rw, Lvh/Rvh, Cvh, LFE2).
fn parse_dec3(dec3: &[u8], info: &mut CodecInfo) -> Result<(), String> {
    let mut b = Bits::new(dec3, "dec3");
    b.read(13)?; // data_rate
    let _num_ind_sub = b.read(3)?;
    let fscod = b.read(2)?;
    b.read(5 + 1 + 1 + 3)?; // bsid, reserved, asvc, bsmod
    let acmod = b.read(3)?;
    let lfe = b.read(1)?;
    b.read(3)?; // reserved
    let num_dep_sub = b.read(4)?;
    let mut channels = AC3_CHANNELS[acmod as usize] + lfe as u16;
    if num_dep_sub > 0 {
        let chan_loc = b.read(9)?;
        const PAIRS: u32 = 0b1_1001_1100; // Lc/Rc, Lrs/Rrs, Lsd/Rsd, Lw/Rw, Lvh/Rvh
        channels +=
            (2 * (chan_loc & PAIRS).count_ones() + (chan_loc & !PAIRS & 0x1ff).count_ones()) as u16;
    }
    info.channels = Some(channels);
    if let Some(rate) = AC3_RATES[fscod as usize] {
        info.sample_rate = Some(rate);
    }
    info.codec_string = "ec-3".into();
    Ok(())
}

// ---- bounded readers -------------------------------------------------------------------------

/// Splits a whole box into its type and body, checking the size against the bytes given
/// (ISO/IEC 14496-12 §4.2: 32-bit size, or 1 + 64-bit largesize).
fn whole_box(data: &[u8]) -> Result<([u8; 4], &[u8]), String> {
    let mut r = Reader::new(data, "sample entry");
    let size32 = r.u32()?;
    let kind = r.array4()?;
    let size = match size32 {
        0 => data.len() as u64,
        1 => r.u64()?,
        s => u64::from(s),
    };
    let header = r.position();
    if size != data.len() as u64 {
        return Err(format!(
            "sample entry '{}' says {size} bytes but {} were given",
            fourcc_str(&kind),
            data.len()
        ));
    }
    if (size as usize) < header {
        return Err(format!(
            "sample entry '{}' size {size} is smaller than its header",
            fourcc_str(&kind)
        ));
    }
    Ok((kind, &data[header..]))
}

/// A child box: its type and body.
type Child<'a> = ([u8; 4], &'a [u8]);

/// The child boxes laid end to end in `data`. A size that runs past the parent is an error; up to
/// 7 trailing zero bytes (a QuickTime terminator) are tolerated.
fn child_boxes<'a>(data: &'a [u8], parent: &str) -> Result<Vec<Child<'a>>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 8 {
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err(format!(
                "{parent}: {} stray bytes after the last child box",
                rest.len()
            ));
        }
        let mut r = Reader::new(rest, "box header");
        let size32 = r.u32()?;
        let kind = r.array4()?;
        let size = match size32 {
            0 => rest.len() as u64,
            1 => r.u64().map_err(|e| format!("{parent}: {e}"))?,
            s => u64::from(s),
        };
        let header = r.position() as u64;
        if size < header || size > rest.len() as u64 {
            return Err(format!(
                "{parent}: child box '{}' says {size} bytes but {} remain",
                fourcc_str(&kind),
                rest.len()
            ));
        }
        out.push((kind, &rest[header as usize..size as usize]));
        pos += size as usize;
    }
    Ok(out)
}

fn find<'a>(children: &[Child<'a>], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children.iter().find(|(k, _)| k == kind).map(|(_, b)| *b)
}

fn slice_from<'a>(body: &'a [u8], offset: usize, what: &str) -> Result<&'a [u8], String> {
    body.get(offset..).ok_or_else(|| {
        format!(
            "{what} sample entry is truncated: {} bytes, its fields need {offset}",
            body.len()
        )
    })
}

fn plausible_fourcc(kind: &[u8; 4]) -> bool {
    kind.iter()
        .all(|&c| c == b' ' || c == b'-' || c.is_ascii_alphanumeric())
        || kind == &[0; 4]
}

fn fourcc_str(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c)
            } else {
                '?'
            }
        })
        .collect()
}

/// A cursor over a byte slice whose reads fail (with the structure's name) instead of running
/// past the end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { data, pos: 0, what }
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "{} truncated: needs {n} bytes at offset {}, {} left",
                self.what,
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array4()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    fn array4(&mut self) -> Result<[u8; 4], String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(a)
    }
}

/// MSB-first bit reader for the bit-packed configs (AudioSpecificConfig, dac3, dec3).
struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
    what: &'static str,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Bits { data, bit: 0, what }
    }

    /// Reads `n` ≤ 32 bits.
    fn read(&mut self, n: u32) -> Result<u32, String> {
        debug_assert!(n <= 32);
        if self.bit + n as usize > self.data.len() * 8 {
            return Err(format!(
                "{} truncated: needs {n} bits at bit {}",
                self.what, self.bit
            ));
        }
        let mut v = 0u64;
        for _ in 0..n {
            let byte = self.data[self.bit / 8];
            v = (v << 1) | u64::from((byte >> (7 - self.bit % 8)) & 1);
            self.bit += 1;
        }
        Ok(v as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/codec")
    }

    fn entry(name: &str) -> Vec<u8> {
        let path = data_dir().join(format!("{name}.bin"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

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
        // dec3 with one dependent substream adding Lrs/Rrs (chan_loc bit 7): 5.1 + 2 = 8.
        let mut body = vec![0u8; 28];
        body[7] = 1;
        body[16..18].copy_from_slice(&2u16.to_be_bytes());
        body[24..28].copy_from_slice(&(48000u32 << 16).to_be_bytes());
        // data_rate(13)=0x180, num_ind_sub(3)=0 | fscod 0, bsid 16, res, asvc 0, bsmod 0 |
        // acmod 7, lfe 1, res 000, num_dep_sub 1, chan_loc 0b0_1000_0000
        let dec3 = [0x0c, 0x00, 0x20, 0x0f, 0x02, 0x80, 0x00];
        body.extend_from_slice(&bx(b"dec3", &dec3));
        let info = parse_sample_entry(&bx(b"ec-3", &body)).unwrap();
        assert_eq!(
            (info.codec_string.as_str(), info.channels),
            ("ec-3", Some(8))
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
        let err = parse_sample_entry(&bx(b"mp4v", &[0u8; 78])).unwrap_err();
        assert!(err.contains("unsupported sample entry 'mp4v'"), "{err}");
        let mut e = entry("h264_high");
        e[3] = e[3].wrapping_add(1);
        let err = parse_sample_entry(&e).unwrap_err();
        assert!(err.contains("says"), "{err}");
        let err = parse_sample_entry(&bx(b"avc1", &[0u8; 78])).unwrap_err();
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
