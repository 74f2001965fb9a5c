//! A hand-built model of a realistic packaged ladder for the manifest tests: three H.264 video
//! rungs (optionally an HEVC rung), AAC in English and French, 30.5 s in 4 s segments, in
//! one-file-per-segment or single-file layout, clear or protected (cenc/cbcs, four DRM systems,
//! clear lead of one segment). Sizes are deterministic pseudo-random; bandwidths are computed
//! from them the way the packager does, so the manifests can be checked against the segments.
#![allow(dead_code)]

use vodpack::manifest::model::*;
use vodpack::media::time::{PresentationTime, TickDuration};
use vodpack::media::TrackKind;

pub const VIDEO_TIMESCALE: u32 = 15_360;
pub const AUDIO_TIMESCALE: u32 = 48_000;
/// Presentation length: seven 4 s segments and a 2.5 s one.
pub const DURATION: f64 = 30.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Files,
    SingleFile,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    Clear,
    Cenc,
    Cbcs,
}

pub struct Options {
    pub layout: Layout,
    pub protection: Protection,
    /// Adds a fourth video rung in HEVC (a separate DASH AdaptationSet, its own HLS variants).
    pub hevc: bool,
}

/// Deterministic sizes (xorshift) so every run builds the same model.
struct Sizes(u64);

impl Sizes {
    fn next(&mut self, mean: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        mean / 2 + self.0 % mean
    }
}

pub const VIDEO_KID_SD: [u8; 16] =
    *b"\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19";
pub const VIDEO_KID_HD: [u8; 16] =
    *b"\x20\x21\x22\x23\x24\x25\x26\x27\x28\x29\x2a\x2b\x2c\x2d\x2e\x2f";
pub const AUDIO_KID: [u8; 16] =
    *b"\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf";

pub const COMMON_SYSTEM_ID: [u8; 16] = [
    0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02, 0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b,
];
pub const WIDEVINE_SYSTEM_ID: [u8; 16] = [
    0xed, 0xef, 0x8b, 0xa9, 0x79, 0xd6, 0x4a, 0xce, 0xa3, 0xc8, 0x27, 0xdc, 0xd5, 0x1d, 0x21, 0xed,
];
pub const PLAYREADY_SYSTEM_ID: [u8; 16] = [
    0x9a, 0x04, 0xf0, 0x79, 0x98, 0x40, 0x42, 0x86, 0xab, 0x92, 0xe6, 0x5b, 0xe0, 0x88, 0x5f, 0x95,
];
pub const FAIRPLAY_SYSTEM_ID: [u8; 16] = [
    0x94, 0xce, 0x86, 0xfb, 0x07, 0xff, 0x4f, 0x43, 0xad, 0xb8, 0x93, 0xd2, 0xfa, 0x96, 0x8c, 0xa2,
];

/// A pssh box (ISO/IEC 23001-7 §8.1): v1 with the KID list when `kids` is given.
pub fn pssh(system: [u8; 16], kids: Option<&[[u8; 16]]>, data: &[u8]) -> Vec<u8> {
    let mut body = vec![if kids.is_some() { 1 } else { 0 }, 0, 0, 0];
    body.extend_from_slice(&system);
    if let Some(kids) = kids {
        body.extend_from_slice(&(kids.len() as u32).to_be_bytes());
        for k in kids {
            body.extend_from_slice(k);
        }
    }
    body.extend_from_slice(&(data.len() as u32).to_be_bytes());
    body.extend_from_slice(data);
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(b"pssh");
    out.extend_from_slice(&body);
    out
}

/// Widevine pssh data: protobuf WidevinePsshData { key_id (2) = kid, protection_scheme (9) }.
pub fn widevine_data(kid: &[u8; 16], scheme: &str) -> Vec<u8> {
    let mut d = vec![0x12, 16];
    d.extend_from_slice(kid);
    d.push(0x48); // field 9, varint
    let fourcc = u32::from_be_bytes(scheme.as_bytes().try_into().unwrap());
    let mut v = fourcc;
    while v >= 0x80 {
        d.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    d.push(v as u8);
    d
}

/// A PlayReady Object with one WRMHEADER 4.3 record (UTF-16LE), the pssh data PlayReady reads.
pub fn playready_object(kid: &[u8; 16]) -> Vec<u8> {
    use base64::Engine as _;
    // The WRMHEADER KID is a GUID: the first three groups little-endian.
    let mut guid = *kid;
    guid[0..4].reverse();
    guid[4..6].reverse();
    guid[6..8].reverse();
    let kid_b64 = base64::engine::general_purpose::STANDARD.encode(guid);
    let xml = format!(
        "<WRMHEADER xmlns=\"http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader\" version=\"4.3.0.0\"><DATA><PROTECTINFO><KIDS><KID ALGID=\"AESCTR\" VALUE=\"{kid_b64}\"></KID></KIDS></PROTECTINFO></DATA></WRMHEADER>"
    );
    let record: Vec<u8> = xml.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut pro = ((record.len() + 10) as u32).to_le_bytes().to_vec();
    pro.extend_from_slice(&1u16.to_le_bytes());
    pro.extend_from_slice(&1u16.to_le_bytes());
    pro.extend_from_slice(&(record.len() as u16).to_le_bytes());
    pro.extend_from_slice(&record);
    pro
}

fn protection_for(kid: [u8; 16], label: &str, scheme: &str) -> RenditionProtection {
    RenditionProtection {
        key_label: label.into(),
        default_kid: kid,
        drm: vec![
            DrmSignal {
                system: DrmSystem::ClearKey,
                pssh: Some(pssh(COMMON_SYSTEM_ID, Some(&[kid]), &[])),
                content_protection_data: None,
                hls_key: None,
                hls_uri: None,
            },
            DrmSignal {
                system: DrmSystem::Widevine,
                pssh: Some(pssh(WIDEVINE_SYSTEM_ID, None, &widevine_data(&kid, scheme))),
                content_protection_data: None,
                hls_key: None,
                hls_uri: None,
            },
            DrmSignal {
                system: DrmSystem::PlayReady,
                pssh: Some(pssh(PLAYREADY_SYSTEM_ID, None, &playready_object(&kid))),
                content_protection_data: None,
                hls_key: None,
                hls_uri: None,
            },
            DrmSignal {
                system: DrmSystem::FairPlay,
                pssh: None,
                content_protection_data: None,
                hls_key: None,
                hls_uri: None,
            },
        ],
        hls_key_uri: None,
    }
}

struct Spec {
    id: &'static str,
    kind: TrackKind,
    codec: &'static str,
    fourcc: &'static str,
    size: Option<(u32, u32)>,
    kbps: u64,
    language: Option<&'static str>,
    name: Option<&'static str>,
    roles: &'static [&'static str],
}

/// Segment boundaries in ticks: video every 4 s; audio at the AAC frame (1024 ticks) nearest to
/// each video boundary, as the packager aligns them.
fn boundaries(kind: TrackKind) -> Vec<u64> {
    let count = (DURATION / 4.0).ceil() as u64;
    match kind {
        TrackKind::Video => {
            let ts = u64::from(VIDEO_TIMESCALE);
            let mut b: Vec<u64> = (0..count).map(|i| i * 4 * ts).collect();
            b.push((DURATION * ts as f64) as u64);
            b
        }
        _ => {
            let frame = 1024u64;
            let ts = AUDIO_TIMESCALE as f64;
            let mut b: Vec<u64> = (0..count)
                .map(|i| ((i as f64 * 4.0 * ts / frame as f64).round() as u64) * frame)
                .collect();
            b.push((DURATION * ts / frame as f64).ceil() as u64 * frame);
            b
        }
    }
}

fn rendition(spec: &Spec, opts: &Options, seed: u64) -> PackagedRendition {
    let timescale = if spec.kind == TrackKind::Video {
        VIDEO_TIMESCALE
    } else {
        AUDIO_TIMESCALE
    };
    let bounds = boundaries(spec.kind);
    let mut sizes = Sizes(seed);
    let folder = spec.id;
    let single = format!("{folder}/{folder}.mp4");
    let init_len = 1187u64;
    let sidx_len = 12 + 20 + 12 * (bounds.len() as u64 - 1);
    let mut offset = init_len + sidx_len;
    let clear_lead = opts.protection != Protection::Clear;
    let mut segments = Vec::new();
    let mut iframes = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let duration = w[1] - w[0];
        let mean = spec.kbps * 1000 / 8 * duration / u64::from(timescale);
        let size = sizes.next(mean.max(1));
        let number = i as u64 + 1;
        let (path, seg_offset) = match opts.layout {
            Layout::Files => (format!("{folder}/seg_{number}.m4s"), 0),
            Layout::SingleFile => (single.clone(), offset),
        };
        if spec.kind == TrackKind::Video {
            // styp (24 bytes, Files only) then moof; the I-frame range is moof + mdat header +
            // the first (sync) sample.
            let moof_at = if opts.layout == Layout::Files {
                24
            } else {
                seg_offset
            };
            iframes.push(IFrameRecord {
                path: path.clone(),
                offset: moof_at,
                length: 900 + 8 + size / 6,
                start: PresentationTime::checked_from_ticks(w[0]).unwrap(),
                duration: TickDuration(duration),
            });
        }
        segments.push(SegmentRecord {
            number,
            start: PresentationTime::checked_from_ticks(w[0]).unwrap(),
            duration: TickDuration(duration),
            size,
            path,
            offset: seg_offset,
            clear: clear_lead && i == 0,
        });
        offset += size;
    }
    // Peak: the largest segment bitrate; average: all bytes over the whole duration.
    let ts = u64::from(timescale);
    let peak = segments
        .iter()
        .map(|s| s.size * 8 * ts / s.duration.0)
        .max()
        .unwrap();
    let total_bytes: u64 = segments.iter().map(|s| s.size).sum();
    let total_ticks: u64 = segments.iter().map(|s| s.duration.0).sum();
    let average = total_bytes * 8 * ts / total_ticks;
    let scheme = match opts.protection {
        Protection::Cbcs => "cbcs",
        _ => "cenc",
    };
    let protection = (opts.protection != Protection::Clear).then(|| match (spec.kind, spec.size) {
        (TrackKind::Audio, _) => protection_for(AUDIO_KID, "AUDIO", scheme),
        (_, Some((_, h))) if h >= 720 => protection_for(VIDEO_KID_HD, "HD", scheme),
        _ => protection_for(VIDEO_KID_SD, "SD", scheme),
    });
    let layout = match opts.layout {
        Layout::Files => SegmentLayout::Files {
            template: "seg_$Number$.m4s".into(),
            start_number: 1,
        },
        Layout::SingleFile => SegmentLayout::SingleFile {
            init_range: (0, init_len - 1),
            index_range: (init_len, init_len + sidx_len - 1),
        },
    };
    let video = spec.kind == TrackKind::Video;
    PackagedRendition {
        id: spec.id.into(),
        kind: spec.kind,
        codec_string: spec.codec.into(),
        supplemental_codec: None,
        fourcc: spec.fourcc.into(),
        language: spec.language.map(Into::into),
        name: spec.name.map(Into::into),
        roles: spec.roles.iter().map(|r| r.to_string()).collect(),
        width: spec.size.map(|s| s.0),
        height: spec.size.map(|s| s.1),
        sar: video.then_some((1, 1)),
        frame_rate: video.then_some((30, 1)),
        transfer_characteristics: None,
        sample_rate: (!video).then_some(48_000),
        channels: (!video).then_some(2),
        channel_signalling: None,
        timescale,
        peak_bandwidth: peak,
        average_bandwidth: average,
        init_path: match opts.layout {
            Layout::Files => format!("{folder}/init.mp4"),
            Layout::SingleFile => single.clone(),
        },
        layout,
        segments,
        iframes: if video { iframes } else { Vec::new() },
        protection,
        hls_playlist: format!("{folder}/playlist.m3u8"),
        hls_iframe_playlist: video.then(|| format!("{folder}/iframes.m3u8")),
        hls_text_segments: Vec::new(),
        origin: None,
    }
}

pub fn ladder(opts: Options) -> PackagedAsset {
    let mut specs = vec![
        Spec {
            id: "video_1280x720_3000k",
            kind: TrackKind::Video,
            codec: "avc1.64001f",
            fourcc: "avc1",
            size: Some((1280, 720)),
            kbps: 3000,
            language: None,
            name: None,
            roles: &[],
        },
        Spec {
            id: "video_854x480_1500k",
            kind: TrackKind::Video,
            codec: "avc1.64001e",
            fourcc: "avc1",
            size: Some((854, 480)),
            kbps: 1500,
            language: None,
            name: None,
            roles: &[],
        },
        Spec {
            id: "video_640x360_800k",
            kind: TrackKind::Video,
            codec: "avc1.4d401e",
            fourcc: "avc1",
            size: Some((640, 360)),
            kbps: 800,
            language: None,
            name: None,
            roles: &[],
        },
        Spec {
            id: "audio_en",
            kind: TrackKind::Audio,
            codec: "mp4a.40.2",
            fourcc: "mp4a",
            size: None,
            kbps: 128,
            language: Some("en"),
            name: Some("English"),
            roles: &["main"],
        },
        Spec {
            id: "audio_fr",
            kind: TrackKind::Audio,
            codec: "mp4a.40.2",
            fourcc: "mp4a",
            size: None,
            kbps: 96,
            language: Some("fr"),
            name: Some("Français"),
            roles: &["alternate"],
        },
    ];
    if opts.hevc {
        specs.push(Spec {
            id: "video_1920x1080_hevc",
            kind: TrackKind::Video,
            codec: "hvc1.1.6.L120.90",
            fourcc: "hvc1",
            size: Some((1920, 1080)),
            kbps: 4000,
            language: None,
            name: None,
            roles: &[],
        });
    }
    let renditions: Vec<PackagedRendition> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| rendition(s, &opts, 0x1234_5678 + i as u64 * 7919))
        .collect();
    PackagedAsset {
        segment_duration: 4.0,
        duration: DURATION,
        renditions,
        hls_multivariant: "main.m3u8".into(),
        dash_mpd: "manifest.mpd".into(),
        protection: match opts.protection {
            Protection::Clear => None,
            Protection::Cenc => Some(AssetProtection {
                scheme: "cenc".into(),
                clearkey_license_url: None,
                hls_iv: None,
            }),
            Protection::Cbcs => Some(AssetProtection {
                scheme: "cbcs".into(),
                clearkey_license_url: Some(
                    "https://license.example.com/clearkey?asset=1&x=2".into(),
                ),
                hls_iv: None,
            }),
        },
        write_hls: true,
        write_dash: true,
        base_url: None,
    }
}

/// Every combination the tests run: layouts × protections, with and without the HEVC rung.
pub fn all_ladders() -> Vec<(String, PackagedAsset)> {
    let mut out = Vec::new();
    for layout in [Layout::Files, Layout::SingleFile] {
        for protection in [Protection::Clear, Protection::Cenc, Protection::Cbcs] {
            for hevc in [false, true] {
                let name = format!("{layout:?}/{protection:?}/hevc={hevc}");
                out.push((
                    name,
                    ladder(Options {
                        layout,
                        protection,
                        hevc,
                    }),
                ));
            }
        }
    }
    out
}

/// Resolves a URI found in a manifest at `manifest_path` (relative to OUT) to a path relative
/// to OUT, the way RFC 3986 §5.2 does for relative references.
pub fn resolve(manifest_path: &str, uri: &str) -> String {
    assert!(
        !uri.contains("://") && !uri.starts_with('/'),
        "expected a relative URI, got {uri}"
    );
    let mut parts: Vec<&str> = manifest_path.split('/').collect();
    parts.pop();
    for p in uri.split('/') {
        match p {
            ".." => {
                assert!(
                    parts.pop().is_some(),
                    "{uri} escapes OUT from {manifest_path}"
                );
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Ticks as seconds.
pub fn secs(ticks: u64, timescale: u32) -> f64 {
    ticks as f64 / f64::from(timescale)
}
