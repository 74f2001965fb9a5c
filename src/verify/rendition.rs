//! The checks of one rendition: its init segment, every media segment, its timing against the
//! MPD and HLS, its encryption, and (with keys and sources) its samples.
use std::path::Path;

use super::fmp4::{self, Fragment, Init};
use super::{read_res, Described, Findings, IFrameTarget, RenditionReport, Res, VerifyOptions};
use crate::cenc::decrypt::{scheme_from_fourcc, SampleDecryptor};
use crate::cenc::{Scheme, Subsample};
use crate::media::codec::av1::Av1TileFinder;
use crate::media::codec::parse_sample_entry;
use crate::media::codec::vp9::Vp9FrameParser;
use crate::media::TrackKind;
use crate::mp4::fourcc_str;

/// What one rendition's check produced.
pub(crate) struct Outcome {
    pub report: RenditionReport,
    pub findings: Findings,
    pub files: u64,
    pub bytes: u64,
    pub hls_playlist: Option<String>,
    pub iframes: Vec<IFrameTarget>,
}

/// How a video track's samples are structured (for NAL checks).
#[derive(Clone, Copy)]
struct Nal {
    length_size: usize,
    header: usize,
    hevc: bool,
}

/// The codec walker of an AV1 or VP9 track: where each sample's protectable ranges are (tiles;
/// frames after their uncompressed headers), which subsample maps must keep to.
enum RangeWalker {
    Av1(Box<Av1TileFinder>),
    Vp9(Vp9FrameParser),
    Vp8,
}

impl RangeWalker {
    /// Protectable (start, end) ranges of one sample; its headers are clear even when encrypted.
    fn ranges(&mut self, sample: &[u8]) -> Result<Vec<(usize, usize)>, String> {
        match self {
            RangeWalker::Av1(f) => f
                .tiles(sample)
                .map(|t| t.iter().map(|t| (t.start, t.start + t.len)).collect())
                .map_err(|e| e.to_string()),
            RangeWalker::Vp9(p) => p
                .frames(sample)
                .map(|fr| {
                    fr.iter()
                        .map(|f| (f.start + f.header_len, f.start + f.len))
                        .collect()
                })
                .map_err(|e| e.to_string()),
            RangeWalker::Vp8 => crate::media::codec::vp8::uncompressed_header_len(sample)
                .map(|h| vec![(h, sample.len())])
                .map_err(|e| e.to_string()),
        }
    }
}

/// Whether a subsample map protects only bytes inside the protectable `ranges`, at most one
/// protected run per range (one subsample per tile or frame), in whole 16-byte blocks when
/// `whole_blocks` (VP9: its binding §4.2 requires block-aligned protected bytes).
fn check_subsamples_against_ranges(
    subs: &[Subsample],
    ranges: &[(usize, usize)],
    whole_blocks: bool,
) -> Result<(), String> {
    let mut pos = 0usize;
    let mut used = vec![false; ranges.len()];
    for s in subs {
        pos += s.clear as usize;
        if s.protected == 0 {
            continue;
        }
        let (p, q) = (pos, pos + s.protected as usize);
        pos = q;
        let Some(i) = ranges.iter().position(|&(a, b)| p >= a && q <= b) else {
            return Err(format!(
                "protected bytes {p}..{q} are not inside one tile/frame body (headers must stay clear)"
            ));
        };
        if std::mem::replace(&mut used[i], true) {
            return Err(format!(
                "two protected ranges in the tile/frame body at {}..{}",
                ranges[i].0, ranges[i].1
            ));
        }
        if whole_blocks && s.protected % 16 != 0 {
            return Err(format!(
                "{} protected bytes at {p} are not whole 16-byte blocks",
                s.protected
            ));
        }
    }
    Ok(())
}

/// One segment to walk: where it is, and what the manifests say about it.
struct SegPlan {
    res: Res,
    /// MPD SegmentTimeline (t, d), or sidx-derived.
    mpd: Option<(u64, u64)>,
    hls: Option<super::HlsSeg>,
}

pub(crate) fn check(out: &Path, d: &Described, opts: &VerifyOptions) -> Outcome {
    let mut f = Findings::new(Some(&d.id));
    let mut o = Outcome {
        report: RenditionReport {
            id: d.id.clone(),
            ..Default::default()
        },
        findings: Findings::new(Some(&d.id)),
        files: 0,
        bytes: 0,
        hls_playlist: d.hls_playlist.clone(),
        iframes: Vec::new(),
    };
    run(out, d, opts, &mut f, &mut o);
    o.findings = f;
    o
}

fn run(out: &Path, d: &Described, opts: &VerifyOptions, f: &mut Findings, o: &mut Outcome) {
    if !d.in_mpd && d.expect_mpd {
        f.error(
            d.hls_playlist.as_deref(),
            "HLS lists this rendition but the MPD has no Representation with its init segment",
        );
    }
    let Some(init_res) = &d.init else { return };
    let init_file = Some(init_res.path.as_str());
    let init_bytes = match read_res(out, init_res) {
        Ok(b) => b,
        Err(e) => {
            f.error(init_file, format!("init segment: {e}"));
            return;
        }
    };
    o.files += 1;
    o.bytes += init_bytes.len() as u64;
    let init = match fmp4::parse_init(&init_bytes) {
        Ok(i) => i,
        Err(e) => {
            f.error(init_file, format!("init segment: {e}"));
            return;
        }
    };
    if init_res.range.is_some() && init.len != init_bytes.len() {
        f.error(
            init_file,
            format!(
                "the init byte range holds {} bytes but ftyp+moov take {}",
                init_bytes.len(),
                init.len
            ),
        );
    }
    o.report.kind = init.kind.as_str().into();
    let media = matches!(init.kind, TrackKind::Video | TrackKind::Audio);
    // HLS carries subtitles as WebVTT files, not as the MPD's fMP4 text track.
    if d.hls_playlist.is_none() && d.expect_hls && media {
        f.error(
            None,
            "the MPD lists this rendition but no HLS media playlist uses its init segment",
        );
    }

    // Codec string (text tracks: the sample entry's 4CC, as the packager writes it).
    let codec = match parse_sample_entry(&init.entries[0]) {
        Ok(c) => c,
        Err(_) if !media => crate::media::codec::CodecInfo {
            fourcc: fourcc_str(&[
                init.entries[0][4],
                init.entries[0][5],
                init.entries[0][6],
                init.entries[0][7],
            ]),
            codec_string: fourcc_str(&[
                init.entries[0][4],
                init.entries[0][5],
                init.entries[0][6],
                init.entries[0][7],
            ]),
            ..Default::default()
        },
        Err(e) => {
            f.error(init_file, format!("sample entry: {e}"));
            return;
        }
    };
    o.report.codec = codec.codec_string.clone();
    if let Some(c) = &d.mpd_codecs {
        if *c != codec.codec_string {
            f.error(
                init_file,
                format!(
                    "MPD codecs=\"{c}\" but the init segment says \"{}\"",
                    codec.codec_string
                ),
            );
        }
    }
    let nal = match (init.kind, codec.base_fourcc()) {
        (TrackKind::Video, "avc1" | "avc3") => Some(Nal {
            length_size: codec.nal_length_size.unwrap_or(4) as usize,
            header: 1,
            hevc: false,
        }),
        (TrackKind::Video, "hvc1" | "hev1") => Some(Nal {
            length_size: codec.nal_length_size.unwrap_or(4) as usize,
            header: 2,
            hevc: true,
        }),
        _ => None,
    };
    let mut walker = match (init.kind, codec.base_fourcc()) {
        (TrackKind::Video, "av01") => match Av1TileFinder::new(&codec.parameter_sets.concat()) {
            Ok(w) => Some(RangeWalker::Av1(Box::new(w))),
            Err(e) => {
                f.error(init_file, format!("av1C configOBUs: {e}"));
                None
            }
        },
        (TrackKind::Video, "vp09") => Some(RangeWalker::Vp9(Vp9FrameParser::new())),
        (TrackKind::Video, "vp08") => Some(RangeWalker::Vp8),
        _ => None,
    };
    let whole_blocks = matches!(codec.fourcc.as_str(), "vp09" | "vp08");

    // Encryption signalling.
    let prot = init.entry_protection[0].clone();
    let mut decryptor: Option<SampleDecryptor> = None;
    let mut scheme: Option<Scheme> = None;
    if let Some(p) = &prot {
        o.report.scheme = Some(fourcc_str(&p.scheme_type));
        o.report.kid = Some(hex::encode(p.tenc.kid));
        if !p.tenc.is_protected {
            f.error(
                init_file,
                "tenc says default_isProtected = 0: samples are not encrypted",
            );
        }
        match scheme_from_fourcc(&p.scheme_type) {
            Ok(s) => scheme = Some(s),
            Err(e) => f.error(init_file, e.to_string()),
        }
        if d.in_mpd {
            let scheme_str = fourcc_str(&p.scheme_type);
            match d.mpd_protection.iter().find(|m| m.scheme == scheme_str) {
                None => f.error(
                    init_file,
                    format!(
                        "init segment is encrypted with '{scheme_str}' but the MPD has no mp4protection ContentProtection with value=\"{scheme_str}\""
                    ),
                ),
                Some(m) if m.default_kid != Some(p.tenc.kid) => f.error(
                    init_file,
                    format!(
                        "MPD cenc:default_KID {} differs from tenc's KID {}",
                        m.default_kid.map(hex::encode).unwrap_or_else(|| "(none)".into()),
                        hex::encode(p.tenc.kid)
                    ),
                ),
                Some(_) => {}
            }
        }
        if init.kind == TrackKind::Video
            && scheme == Some(Scheme::Cbcs)
            && (p.tenc.crypt_byte_block, p.tenc.skip_byte_block) == (0, 0)
        {
            f.warning(init_file, "cbcs video without a pattern (1:9 expected)");
        }
        if !opts.keys.is_empty() {
            match opts.keys.get(&p.tenc.kid) {
                Some(key) => {
                    if let Some(s) = scheme {
                        decryptor = Some(SampleDecryptor::new(
                            s,
                            key,
                            p.tenc.constant_iv,
                            (p.tenc.crypt_byte_block, p.tenc.skip_byte_block),
                        ));
                    }
                }
                None => f.error(
                    init_file,
                    format!("no key was given for KID {}", hex::encode(p.tenc.kid)),
                ),
            }
        }
        for (i, e) in init.entries.iter().enumerate().skip(1) {
            if let Some(ep) = &init.entry_protection[i] {
                if ep.tenc.kid != p.tenc.kid || ep.scheme_type != p.scheme_type {
                    f.error(
                        init_file,
                        format!("sample entry {} uses another scheme or KID", i + 1),
                    );
                }
            } else if e[4..8] != p.original_format {
                f.error(
                    init_file,
                    format!(
                        "clear sample entry {} is '{}' but the protected one was '{}'",
                        i + 1,
                        fourcc_str(&[e[4], e[5], e[6], e[7]]),
                        fourcc_str(&p.original_format)
                    ),
                );
            }
        }
    } else {
        if !d.mpd_protection.is_empty() {
            f.error(
                init_file,
                "the MPD signals ContentProtection but the init segment is clear",
            );
        }
        if init.entry_protection.iter().any(|p| p.is_some()) {
            f.error(
                init_file,
                "the first sample entry is clear but another one is protected",
            );
        }
    }

    // The segment list: MPD and HLS must agree.
    let mut plan: Vec<SegPlan> = Vec::new();
    let mpd_segs: Option<Vec<(Res, u64, u64)>> = match (&d.mpd_segments, &d.mpd_base) {
        (Some(s), _) => Some(s.clone()),
        (None, Some((path, (a, b), _))) => {
            let idx = Res {
                path: path.clone(),
                range: Some((*a, b - a + 1)),
            };
            match read_res(out, &idx)
                .map_err(|e| e.to_string())
                .and_then(|x| fmp4::parse_sidx(&x).map_err(|e| e.to_string()))
            {
                Ok(sidx) => {
                    if u64::from(sidx.timescale) != d.mpd_timescale {
                        f.error(
                            Some(path),
                            format!(
                                "sidx timescale {} differs from the MPD's {}",
                                sidx.timescale, d.mpd_timescale
                            ),
                        );
                    }
                    let mut off = b.saturating_add(1).saturating_add(sidx.first_offset);
                    let mut t = sidx.earliest;
                    let mut v = Vec::new();
                    for (size, dur) in sidx.refs {
                        v.push((
                            Res {
                                path: path.clone(),
                                range: Some((off, size)),
                            },
                            t,
                            dur,
                        ));
                        off = off.saturating_add(size);
                        t = t.saturating_add(dur);
                    }
                    Some(v)
                }
                Err(e) => {
                    f.error(Some(path), format!("sidx: {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    let timescale = init.timescale as u64;
    if d.in_mpd && d.mpd_timescale != timescale {
        f.error(
            init_file,
            format!(
                "MPD timescale {} differs from mdhd's {timescale}",
                d.mpd_timescale
            ),
        );
    }
    match (&mpd_segs, &d.hls_segments) {
        (Some(m), Some(h)) => {
            if m.len() != h.len() {
                f.error(
                    None,
                    format!(
                        "the MPD lists {} segments, the HLS playlist {}",
                        m.len(),
                        h.len()
                    ),
                );
            }
            for (i, ((res, _, dd), hs)) in m.iter().zip(h).enumerate() {
                if let Some((off, len)) = hs.res.range {
                    let size = std::fs::metadata(out.join(&hs.res.path)).map(|m| m.len());
                    if let Ok(size) = size {
                        if off.saturating_add(len) > size {
                            f.error(
                                d.hls_playlist.as_deref(),
                                format!("segment {}: byte range {off}..{} runs past the end of the file {} ({size} bytes)", i + 1, off.saturating_add(len), hs.res.path),
                            );
                        }
                    }
                }
                if *res != hs.res {
                    f.error(
                        None,
                        format!(
                            "segment {}: MPD addresses {} but HLS {}",
                            i + 1,
                            res.describe(),
                            hs.res.describe()
                        ),
                    );
                }
                let secs = *dd as f64 / timescale.max(1) as f64;
                let diff = (secs - hs.extinf).abs();
                if diff > 1e-3 {
                    f.error(
                        d.hls_playlist.as_deref(),
                        format!(
                            "segment {}: EXTINF {} but the MPD says {secs:.6} s",
                            i + 1,
                            hs.extinf
                        ),
                    );
                } else if diff > 1e-6 {
                    f.warning(
                        d.hls_playlist.as_deref(),
                        format!("segment {}: EXTINF {} differs from the MPD's {secs:.6} s by {diff:.6} s", i + 1, hs.extinf),
                    );
                }
            }
            for (i, (res, t, dd)) in m.iter().enumerate() {
                plan.push(SegPlan {
                    res: res.clone(),
                    mpd: Some((*t, *dd)),
                    hls: h.get(i).cloned(),
                });
            }
        }
        (Some(m), None) => plan.extend(m.iter().map(|(res, t, dd)| SegPlan {
            res: res.clone(),
            mpd: Some((*t, *dd)),
            hls: None,
        })),
        (None, Some(h)) => plan.extend(h.iter().map(|hs| SegPlan {
            res: hs.res.clone(),
            mpd: None,
            hls: Some(hs.clone()),
        })),
        (None, None) => {}
    }
    if plan.is_empty() {
        f.error(None, "no media segments");
        return;
    }
    o.report.segments = plan.len();

    let source = opts.sources.get(&d.id);
    if let Some(s) = source {
        if s.track.timescale == 0 {
            f.error(None, "the source track has timescale 0");
            return;
        }
    }
    let mut src_buf: Vec<u8> = Vec::new();
    let mut dec_buf: Vec<u8> = Vec::new();
    let mut sample_index = 0usize;
    let mut expected_dts: Option<u64> = None;
    let mut encrypted_seen = false;
    // (earliest presentation, end of presentation) per segment, in track ticks.
    let mut seg_times: Vec<Option<(i64, i64)>> = Vec::with_capacity(plan.len());
    let out_edit = init.edit_media_time.unwrap_or(0);

    for (si, seg) in plan.iter().enumerate() {
        let file = Some(seg.res.path.as_str());
        let n = si + 1;
        let bytes = match read_res(out, &seg.res) {
            Ok(b) => b,
            Err(e) => {
                f.error(file, format!("segment {n}: {e}"));
                seg_times.push(None);
                expected_dts = None;
                continue;
            }
        };
        o.files += 1;
        o.bytes += bytes.len() as u64;
        let frags = match fmp4::parse_segment(&bytes, &init, expected_dts.unwrap_or(0)) {
            Ok(x) => x,
            Err(e) => {
                f.error(file, format!("segment {n}: {e}"));
                seg_times.push(None);
                expected_dts = None;
                continue;
            }
        };
        let seg_offset = seg.res.range.map(|r| r.0).unwrap_or(0);
        let mut seg_encrypted: Option<bool> = None;
        let mut ept = i64::MAX;
        let mut end = i64::MIN;
        for fr in &frags {
            check_fragment_header(fr, &init, f, file, n, &mut expected_dts);
            let entry_protected = init
                .entry_protection
                .get(fr.sample_description_index.saturating_sub(1) as usize)
                .map(|p| p.is_some());
            let Some(entry_protected) = entry_protected else {
                f.error(
                    file,
                    format!(
                        "segment {n}: tfhd names sample entry {} of {}",
                        fr.sample_description_index,
                        init.entries.len()
                    ),
                );
                continue;
            };
            let frag_encrypted = entry_protected && fr.aux.is_some();
            if entry_protected && fr.aux.is_none() {
                f.error(file, format!("segment {n}: fragment {} uses the protected sample entry but has no senc (its samples are not encrypted)", fr.sequence));
            }
            if !entry_protected && fr.aux.is_some() {
                f.error(
                    file,
                    format!(
                        "segment {n}: fragment {} has senc but uses a clear sample entry",
                        fr.sequence
                    ),
                );
            }
            if prot.is_some() && !entry_protected && fr.sample_description_index == 1 {
                f.error(
                    file,
                    format!("segment {n}: clear sample entry in an encrypted track"),
                );
            }
            match seg_encrypted {
                None => seg_encrypted = Some(frag_encrypted),
                Some(e) if e != frag_encrypted => f.error(
                    file,
                    format!("segment {n}: some fragments are encrypted and some are clear"),
                ),
                _ => {}
            }
            for p in &fr.aux_problems {
                f.error(file, format!("segment {n}: fragment {}: {p}", fr.sequence));
            }
            if nal.is_some() {
                if let Some(first) = fr.samples.first() {
                    if !first.is_sync {
                        f.error(
                            file,
                            format!(
                                "segment {n}: fragment {} does not start with a sync sample",
                                fr.sequence
                            ),
                        );
                    }
                }
            }
            for (k, s) in fr.samples.iter().enumerate() {
                o.report.samples += 1;
                let pts = (s.dts as i64)
                    .saturating_add(s.cto)
                    .saturating_sub(out_edit);
                ept = ept.min(pts);
                end = end.max(pts.saturating_add(s.duration as i64));
                let data = &bytes[s.data..s.data + s.size as usize];
                let aux = fr.aux.as_ref().and_then(|a| a.get(k));
                let seig = fr.seig.get(k).and_then(|g| g.as_ref());
                let label = || format!("segment {n}: sample {} (fragment {})", k + 1, fr.sequence);
                // AV1/VP9: every sample goes through the walker (its reference state runs on).
                let ranges = match walker.as_mut().map(|w| w.ranges(data)) {
                    Some(Err(e)) => {
                        f.error(file, format!("{}: {e}", label()));
                        walker = None;
                        None
                    }
                    Some(Ok(r)) => Some(r),
                    None => None,
                };
                let clear_bytes: Option<&[u8]> = if frag_encrypted {
                    o.report.encrypted_samples += 1;
                    if let Some(g) = seig {
                        if !g.is_protected {
                            f.error(
                                file,
                                format!("{}: a seig sample group marks it clear", label()),
                            );
                        }
                    }
                    let Some(aux) = aux else { continue };
                    if !aux.subsamples.is_empty() {
                        let total: u64 = aux
                            .subsamples
                            .iter()
                            .map(|x| x.clear as u64 + x.protected as u64)
                            .sum();
                        if total != s.size as u64 {
                            f.error(
                                file,
                                format!(
                                    "{}: subsamples cover {total} bytes of {}",
                                    label(),
                                    s.size
                                ),
                            );
                            continue;
                        }
                    } else if nal.is_some() || ranges.is_some() {
                        f.error(
                            file,
                            format!(
                                "{}: video sample without a subsample map (headers encrypted)",
                                label()
                            ),
                        );
                    }
                    if let Some(r) = &ranges {
                        if let Err(e) =
                            check_subsamples_against_ranges(&aux.subsamples, r, whole_blocks)
                        {
                            f.error(file, format!("{}: {e}", label()));
                        }
                    }
                    if let Some(nl) = nal {
                        if let Err(e) = check_subsamples_against_nals(data, &aux.subsamples, nl) {
                            f.error(file, format!("{}: {e}", label()));
                        }
                    }
                    match &decryptor {
                        Some(dec) => {
                            dec_buf.clear();
                            dec_buf.extend_from_slice(data);
                            match dec.decrypt(&mut dec_buf, aux) {
                                Ok(()) => {
                                    o.report.decrypted_samples += 1;
                                    Some(&dec_buf[..])
                                }
                                Err(e) => {
                                    f.error(file, format!("{}: does not decrypt: {e}", label()));
                                    None
                                }
                            }
                        }
                        None => None,
                    }
                } else {
                    Some(data)
                };
                if let (Some(clear), Some(nl)) = (clear_bytes, nal) {
                    match nal_units(clear, nl) {
                        Err(e) => f.error(
                            file,
                            format!(
                                "{}: {e}{}",
                                label(),
                                if frag_encrypted {
                                    " after decryption (wrong key?)"
                                } else {
                                    ""
                                }
                            ),
                        ),
                        Ok(units) => {
                            if frag_encrypted {
                                if let Some(at) = units
                                    .iter()
                                    .find_map(|&(a, b)| start_code_inside(&clear[a..b]))
                                {
                                    f.error(file, format!("{}: decrypted NAL data holds a start code at byte {at} (wrong key?)", label()));
                                }
                            }
                            if s.is_sync
                                && k == 0
                                && !units.iter().any(|&(a, _)| is_random_access(clear[a], nl))
                            {
                                f.warning(
                                    file,
                                    format!(
                                        "{}: sync sample without an IDR/IRAP NAL unit",
                                        label()
                                    ),
                                );
                            }
                        }
                    }
                }
                if let Some(src) = source {
                    let Some(clear) = clear_bytes else {
                        sample_index += 1;
                        continue;
                    };
                    match src.track.samples.get(sample_index) {
                        None => f.error(
                            file,
                            format!(
                                "{}: the source has only {} samples",
                                label(),
                                src.track.samples.len()
                            ),
                        ),
                        Some(ss) => {
                            src_buf.resize(ss.size as usize, 0);
                            if let Err(e) = src.file.read_exact_at(&mut src_buf, ss.offset) {
                                f.error(
                                    None,
                                    format!(
                                        "{}: reading source sample {}: {e}",
                                        src.path.display(),
                                        sample_index + 1
                                    ),
                                );
                            } else if src_buf[..] != *clear {
                                let at = src_buf
                                    .iter()
                                    .zip(clear)
                                    .position(|(a, b)| a != b)
                                    .unwrap_or(src_buf.len().min(clear.len()));
                                f.error(file, format!("{}: differs from source sample {} ({} vs {} bytes, first difference at byte {at})", label(), sample_index + 1, clear.len(), src_buf.len()));
                            } else {
                                let ts_out = init.timescale as i128;
                                let ts_src = src.track.timescale as i128;
                                let src_pts = ss.dts.0 as i128 + ss.cts_offset.0 as i128
                                    - src.track.edit_media_time.unwrap_or_default().0 as i128;
                                if s.dts as i128 * ts_src != ss.dts.0 as i128 * ts_out {
                                    f.error(file, format!("{}: decode time {} differs from the source's {} (timescales {ts_out}/{ts_src})", label(), s.dts, ss.dts.0));
                                } else if pts as i128 * ts_src != src_pts * ts_out {
                                    f.error(file, format!("{}: presentation time {pts} differs from the source's {src_pts}", label()));
                                } else if s.is_sync != ss.is_sync && nal.is_some() {
                                    f.error(
                                        file,
                                        format!(
                                            "{}: sync flag {} but the source's is {}",
                                            label(),
                                            s.is_sync,
                                            ss.is_sync
                                        ),
                                    );
                                } else {
                                    o.report.compared_samples += 1;
                                }
                            }
                        }
                    }
                }
                sample_index += 1;
            }
            // Every video codec has an I-frame playlist (AV1 and VP9 too, not only NAL video).
            if init.kind == TrackKind::Video {
                if let Some(s0) = fr.samples.first() {
                    o.iframes.push(IFrameTarget {
                        path: seg.res.path.clone(),
                        offset: seg_offset + fr.moof_offset as u64,
                        end: seg_offset + (s0.data + s0.size as usize) as u64,
                        ticks: 0,
                    });
                }
            }
        }
        let enc = seg_encrypted.unwrap_or(false);
        if prot.is_some() {
            if enc {
                if !encrypted_seen && o.report.clear_lead_segments > 0 {
                    // The clear lead ends where this segment starts, counted from the first one.
                    if let (Some(Some((first, _))), true) = (seg_times.first(), ept != i64::MAX) {
                        o.report.clear_lead_seconds =
                            ept.saturating_sub(*first) as f64 / timescale.max(1) as f64;
                    }
                }
                encrypted_seen = true;
            } else {
                if encrypted_seen {
                    f.error(file, format!("segment {n} is clear but earlier segments are encrypted (a clear lead is only at the start)"));
                }
                o.report.clear_lead_segments += 1;
            }
        }
        if let Some(h) = &seg.hls {
            check_hls_key(
                h,
                enc,
                prot.as_ref().map(|p| (&p.scheme_type, &p.tenc.kid)),
                f,
                d.hls_playlist.as_deref(),
                n,
            );
        }
        if ept != i64::MAX {
            let secs = end.saturating_sub(ept) as f64 / timescale.max(1) as f64;
            o.report.longest_segment = o.report.longest_segment.max(secs);
        }
        seg_times.push((ept != i64::MAX).then_some((ept, end)));
    }
    if let Some(src) = source {
        if sample_index != src.track.samples.len() {
            f.error(
                None,
                format!(
                    "{} samples written, the source has {}",
                    sample_index,
                    src.track.samples.len()
                ),
            );
        }
    }

    // Timing against the MPD timeline: d = next segment's earliest presentation time - this one's,
    // and t - earliest presentation time the same for every segment.
    let mut offset: Option<i64> = None;
    for (i, seg) in plan.iter().enumerate() {
        let (Some((t, dd)), Some(Some((ept, end)))) = (seg.mpd, seg_times.get(i)) else {
            continue;
        };
        let file = Some(seg.res.path.as_str());
        let o_i = (t as i64).saturating_sub(*ept);
        match offset {
            None => offset = Some(o_i),
            Some(o0) if o0 != o_i => f.error(file, format!("segment {}: SegmentTimeline t={t} but the segment starts at {ept} (earlier segments were offset by {o0})", i + 1)),
            _ => {}
        }
        let next = match seg_times.get(i + 1) {
            Some(Some((next_ept, _))) => Some(*next_ept),
            Some(None) => None,
            None => Some(*end),
        };
        if let Some(next) = next {
            let actual = next.saturating_sub(*ept);
            if actual != dd as i64 {
                f.error(
                    file,
                    format!(
                        "segment {}: SegmentTimeline d={dd} but the segment lasts {actual} ticks",
                        i + 1
                    ),
                );
            }
        }
    }
}

fn check_fragment_header(
    fr: &Fragment,
    init: &Init,
    f: &mut Findings,
    file: Option<&str>,
    n: usize,
    expected_dts: &mut Option<u64>,
) {
    if fr.track_id != init.track_id {
        f.error(
            file,
            format!(
                "segment {n}: tfhd track_ID {} but the init segment's track is {}",
                fr.track_id, init.track_id
            ),
        );
    }
    if !fr.has_tfdt {
        f.error(
            file,
            format!("segment {n}: fragment {} has no tfdt", fr.sequence),
        );
    }
    if fr.samples.is_empty() {
        f.error(
            file,
            format!("segment {n}: fragment {} has no samples", fr.sequence),
        );
        return;
    }
    let first = fr.samples[0].dts;
    if let Some(e) = *expected_dts {
        if first != e {
            f.error(file, format!("segment {n}: fragment {} starts at decode time {first} but the previous one ended at {e} ({})", fr.sequence, if first > e { "gap" } else { "overlap" }));
        }
    }
    let last = fr.samples[fr.samples.len() - 1];
    *expected_dts = Some(last.dts + last.duration as u64);
}

fn check_hls_key(
    h: &super::HlsSeg,
    encrypted: bool,
    prot: Option<(&[u8; 4], &[u8; 16])>,
    f: &mut Findings,
    playlist: Option<&str>,
    n: usize,
) {
    match (encrypted, h.methods.is_empty()) {
        (true, true) => f.error(
            playlist,
            format!("segment {n} is encrypted but the playlist says METHOD=NONE (or no EXT-X-KEY)"),
        ),
        (false, false) => f.error(
            playlist,
            format!(
                "segment {n} is clear but the playlist signals {} for it",
                h.methods[0].0
            ),
        ),
        (true, false) => {
            let Some((scheme, kid)) = prot else { return };
            let want = if scheme == b"cbcs" {
                "SAMPLE-AES"
            } else {
                "SAMPLE-AES-CTR"
            };
            for (m, keyid) in &h.methods {
                if m != want {
                    f.error(
                        playlist,
                        format!(
                            "segment {n}: METHOD={m} but the track is '{}' ({want} expected)",
                            fourcc_str(scheme)
                        ),
                    );
                }
                if let Some(k) = keyid {
                    let k = k
                        .trim_start_matches("0x")
                        .trim_start_matches("0X")
                        .to_ascii_lowercase();
                    if k != hex::encode(kid) {
                        f.error(
                            playlist,
                            format!(
                                "segment {n}: KEYID 0x{k} but tenc's KID is {}",
                                hex::encode(kid)
                            ),
                        );
                    }
                }
            }
        }
        (false, true) => {}
    }
}

/// A video sample whose NAL structure is wrong (byte offsets inside the sample).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NalError {
    /// Bytes left at the end that cannot hold a NAL length.
    TrailingBytes(usize),
    /// A NAL unit (at) whose length (claims) is more than remains (remain).
    TooLong {
        at: usize,
        claims: usize,
        remain: usize,
    },
    /// A NAL unit shorter than its header.
    ShorterThanHeader(usize),
    /// A NAL unit with forbidden_zero_bit set.
    ForbiddenBit(usize),
    /// A length field and NAL header that run past the sample.
    HeaderPastSample(usize),
    /// A length field or NAL header inside an encrypted range.
    HeaderEncrypted(usize),
    /// A NAL unit whose length runs past the sample end.
    PastSampleEnd { at: usize, claims: usize },
    /// An encrypted range (start, end) across a NAL unit boundary.
    RangeAcrossUnits(usize, usize),
}

impl std::fmt::Display for NalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NalError::TrailingBytes(n) => {
                write!(f, "{n} trailing bytes are too short for a NAL length")
            }
            NalError::TooLong { at, claims, remain } => {
                write!(
                    f,
                    "NAL unit at byte {at} claims {claims} bytes, {remain} remain"
                )
            }
            NalError::ShorterThanHeader(at) => {
                write!(f, "NAL unit at byte {at} is shorter than its header")
            }
            NalError::ForbiddenBit(at) => {
                write!(f, "NAL unit at byte {at} has forbidden_zero_bit set")
            }
            NalError::HeaderPastSample(at) => write!(
                f,
                "NAL unit at byte {at}: length field and header run past the sample"
            ),
            NalError::HeaderEncrypted(at) => write!(
                f,
                "NAL unit at byte {at}: its length field or header is inside an encrypted range"
            ),
            NalError::PastSampleEnd { at, claims } => write!(
                f,
                "NAL unit at byte {at} claims {claims} bytes past the sample end"
            ),
            NalError::RangeAcrossUnits(p, q) => {
                write!(f, "encrypted range {p}..{q} spans a NAL unit boundary")
            }
        }
    }
}

impl std::error::Error for NalError {}

/// The NAL units of a length-prefixed sample: (payload start, end) — the payload starts with the
/// NAL header. The units must tile the sample exactly.
fn nal_units(sample: &[u8], nal: Nal) -> Result<Vec<(usize, usize)>, NalError> {
    let ls = nal.length_size;
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < sample.len() {
        if sample.len() - pos < ls {
            return Err(NalError::TrailingBytes(sample.len() - pos));
        }
        let len = sample[pos..pos + ls]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        let start = pos + ls;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= sample.len())
            .ok_or(NalError::TooLong {
                at: pos,
                claims: len,
                remain: sample.len() - start,
            })?;
        if len < nal.header {
            return Err(NalError::ShorterThanHeader(pos));
        }
        if sample[start] & 0x80 != 0 {
            return Err(NalError::ForbiddenBit(pos));
        }
        out.push((start, end));
        pos = end;
    }
    Ok(out)
}

/// Whether subsample maps leave every NAL length field and NAL header clear and keep every
/// protected range inside one NAL unit (ISO/IEC 23001-7 §10.2, §10.4). Reads only clear bytes.
fn check_subsamples_against_nals(
    sample: &[u8],
    subs: &[Subsample],
    nal: Nal,
) -> Result<(), NalError> {
    if subs.is_empty() {
        return Ok(());
    }
    // Protected ranges in sample byte offsets.
    let mut prot: Vec<(usize, usize)> = Vec::with_capacity(subs.len());
    let mut pos = 0usize;
    for s in subs {
        pos += s.clear as usize;
        if s.protected > 0 {
            prot.push((pos, pos + s.protected as usize));
        }
        pos += s.protected as usize;
    }
    let in_protected = |a: usize, b: usize| prot.iter().any(|&(p, q)| a < q && p < b);
    let ls = nal.length_size;
    let mut at = 0usize;
    let mut units = Vec::new();
    while at < sample.len() {
        let hdr_end = at + ls + nal.header;
        if hdr_end > sample.len() {
            return Err(NalError::HeaderPastSample(at));
        }
        if in_protected(at, hdr_end) {
            return Err(NalError::HeaderEncrypted(at));
        }
        let len = sample[at..at + ls]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | b as usize);
        let end = (at + ls)
            .checked_add(len)
            .filter(|&e| e <= sample.len())
            .ok_or(NalError::PastSampleEnd { at, claims: len })?;
        units.push((at + ls + nal.header, end));
        at = end;
    }
    for &(p, q) in &prot {
        if !units.iter().any(|&(a, b)| p >= a && q <= b) {
            return Err(NalError::RangeAcrossUnits(p, q));
        }
    }
    Ok(())
}

/// A three-byte start-code prefix (0x000000, 0x000001, 0x000002) inside a NAL unit, which the
/// emulation prevention of H.264/HEVC (§7.4.1) never leaves: after decryption it means the
/// bytes are not what was encrypted. Trailing zero bytes (cabac_zero_words padding) are ignored.
fn start_code_inside(nal: &[u8]) -> Option<usize> {
    let end = nal
        .iter()
        .rposition(|&b| b != 0)
        .map(|i| i + 1)
        .unwrap_or(0);
    let body = &nal[..end];
    let mut i = 0;
    while i + 2 < body.len() {
        if body[i + 1] != 0 {
            i += 2;
            continue;
        }
        if body[i] == 0 && body[i + 2] <= 2 {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn is_random_access(header: u8, nal: Nal) -> bool {
    if nal.hevc {
        (16..=23).contains(&((header >> 1) & 0x3f))
    } else {
        header & 0x1f == 5
    }
}

/// Checks an I-frame playlist: every entry addresses a fragment's moof through the end of its
/// first (sync) sample, in order, one per fragment of the rendition with that init segment.
pub(crate) fn check_iframe_playlist(
    out: &Path,
    playlist: &str,
    codecs: &[String],
    results: &[Outcome],
    top: &mut Findings,
) {
    let text = match super::read_text(out, playlist)
        .and_then(|t| Ok(super::hls::parse_media_playlist(&t)?))
    {
        Ok(t) => t,
        Err(e) => {
            top.error(Some(playlist), e.to_string());
            return;
        }
    };
    if !text.iframes_only {
        top.error(
            Some(playlist),
            "I-frame playlist without EXT-X-I-FRAMES-ONLY",
        );
    }
    let base = super::hls::parent(playlist).to_string();
    let init = text
        .map
        .as_ref()
        .and_then(|m| super::resolve_uri(out, &base, &m.uri).ok());
    let Some(r) = results.iter().find(|o| {
        !o.iframes.is_empty()
            && init.as_deref().is_some_and(|i| {
                let init_dir = super::hls::parent(i);
                // Two-scheme output: the init is in `<id>/cenc|cbcs/` under the playlist's folder.
                let set_parent = init_dir
                    .strip_suffix("/cbcs")
                    .or_else(|| init_dir.strip_suffix("/cenc"));
                let playlist_dir = o.hls_playlist.as_deref().map(super::hls::parent);
                o.report.kind == "video"
                    && (playlist_dir == Some(init_dir)
                        || (set_parent.is_some() && playlist_dir == set_parent))
            })
    }) else {
        top.error(
            Some(playlist),
            "no video rendition shares this I-frame playlist's init segment",
        );
        return;
    };
    if !codecs.contains(&r.report.codec) {
        top.error(
            Some(playlist),
            format!(
                "EXT-X-I-FRAME-STREAM-INF CODECS \"{}\" but the init segment says \"{}\"",
                codecs.join(","),
                r.report.codec
            ),
        );
    }
    if text.segments.len() != r.iframes.len() {
        top.error(
            Some(playlist),
            format!(
                "{} I-frames listed, the segments hold {} fragments",
                text.segments.len(),
                r.iframes.len()
            ),
        );
    }
    for (i, (s, t)) in text.segments.iter().zip(&r.iframes).enumerate() {
        let path = super::resolve_uri(out, &base, &s.resource.uri).unwrap_or_default();
        let Some((len, off)) = s.resource.range else {
            top.error(
                Some(playlist),
                format!("I-frame {} has no EXT-X-BYTERANGE", i + 1),
            );
            continue;
        };
        if path != t.path || off != t.offset {
            top.error(
                Some(playlist),
                format!(
                    "I-frame {}: {path} @{off} but the fragment is at {} @{}",
                    i + 1,
                    t.path,
                    t.offset
                ),
            );
            continue;
        }
        let size = std::fs::metadata(out.join(&path))
            .map(|m| m.len())
            .unwrap_or(0);
        if off.saturating_add(len) > size {
            top.error(
                Some(playlist),
                format!(
                    "I-frame {}: byte range {off}..{} runs past the end of {path} ({size} bytes)",
                    i + 1,
                    off.saturating_add(len)
                ),
            );
        } else if off.saturating_add(len) < t.end {
            top.error(
                Some(playlist),
                format!(
                    "I-frame {}: byte range ends at {} before the sync sample ends at {}",
                    i + 1,
                    off.saturating_add(len),
                    t.end
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVC: Nal = Nal {
        length_size: 4,
        header: 1,
        hevc: false,
    };

    #[test]
    fn start_codes_and_nal_tiling() {
        assert_eq!(start_code_inside(&[0x65, 1, 0, 0, 3, 0, 0, 0]), None);
        assert_eq!(start_code_inside(&[0x65, 1, 0, 0, 1, 5]), Some(2));
        let s = [0, 0, 0, 2, 0x65, 7, 0, 0, 0, 1, 0x41];
        assert_eq!(nal_units(&s, AVC).unwrap(), vec![(4, 6), (10, 11)]);
        assert!(nal_units(&s[..9], AVC).is_err());
    }

    #[test]
    fn subsample_maps_must_keep_headers_clear() {
        let mut s = vec![0, 0, 0, 40, 0x65];
        s.resize(44, 9);
        let good = [Subsample {
            clear: 12,
            protected: 32,
        }];
        assert!(check_subsamples_against_nals(&s, &good, AVC).is_ok());
        let bad = [Subsample {
            clear: 2,
            protected: 42,
        }];
        assert!(check_subsamples_against_nals(&s, &bad, AVC)
            .unwrap_err()
            .to_string()
            .contains("header"));
        // Two NAL units; one protected range running across both.
        let two = [
            vec![0, 0, 0, 20, 0x41],
            vec![7; 19],
            vec![0, 0, 0, 20, 0x41],
            vec![7; 19],
        ]
        .concat();
        let across = [
            Subsample {
                clear: 8,
                protected: 32,
            },
            Subsample {
                clear: 8,
                protected: 0,
            },
        ];
        assert!(check_subsamples_against_nals(&two, &across, AVC).is_err());
    }
}
