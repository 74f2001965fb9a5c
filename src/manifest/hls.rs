//! HLS playlists (RFC 8216), written as text from the packaged model.
//!
//! Layout: the multivariant playlist sits at `PackagedAsset::hls_multivariant` (OUT root), each
//! rendition's media playlist at `PackagedRendition::hls_playlist` (`<rendition>/playlist.m3u8`);
//! every URI is written relative to the playlist that contains it (RFC 8216 §4.1 resolves it
//! against that playlist's URI), so the folder can be served from anywhere.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::drm::{pssh_data, WIDEVINE_SYSTEM};
use super::model::{
    hdr_range, DrmSystem, PackagedAsset, PackagedRendition, RenditionProtection, SegmentLayout,
};
use crate::media::time::TickDuration;
use crate::media::TrackKind;

/// EXT-X-VERSION for every playlist: 6 is the minimum for EXT-X-MAP in a media playlist
/// (RFC 8216 §4.3.2.5, §7); Apple's HLS authoring specification asks for 7 with fMP4.
pub const HLS_VERSION: u32 = 7;

/// EXT-X-VERSION of a multivariant playlist with a `REQ-` attribute (RFC 8216bis §7: version
/// 12 for REQ-VIDEO-LAYOUT).
const HLS_VERSION_REQ: u32 = 12;

/// `REQ-VIDEO-LAYOUT` of a video rendition (RFC 8216bis §4.4.6.2, Apple's HLS authoring
/// specification for spatial video): `CH-STEREO` for MV-HEVC, whose codec string names the
/// Multiview Main profile (general_profile_idc 6, ITU-T H.265 §G.11.1.1; Apple's HEVC Stereo
/// Video profile codes the left and right eyes as its two views). docs/mv-hevc.md.
fn video_layout(v: &PackagedRendition) -> Option<&'static str> {
    let (fourcc, rest) = v.codec_string.split_once('.')?;
    (matches!(fourcc, "hvc1" | "hev1") && rest.starts_with("6.")).then_some("CH-STEREO")
}

/// The multivariant (master) playlist: audio groups (EXT-X-MEDIA), one EXT-X-STREAM-INF per
/// video rendition × audio group, I-frame streams and session keys (RFC 8216 §4.3.4).
pub fn multivariant_playlist(asset: &PackagedAsset) -> String {
    let base = parent_dir(&asset.hls_multivariant);
    let mut out = String::new();
    out.push_str("#EXTM3U\n");
    let req = asset
        .renditions
        .iter()
        .any(|r| r.kind == TrackKind::Video && video_layout(r).is_some());
    let version = if req { HLS_VERSION_REQ } else { HLS_VERSION };
    let _ = writeln!(out, "#EXT-X-VERSION:{version}");
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");

    // EXT-X-SESSION-KEY (§4.3.4.5): every distinct key line of every protected rendition, so a
    // client can start licence requests before it loads a media playlist.
    let mut session_keys: Vec<String> = Vec::new();
    for r in &asset.renditions {
        // A TS set's raw keys are fetched per playlist; nothing to start early.
        if let Some(p) = r.protection.as_ref().filter(|p| p.hls_key_uri.is_none()) {
            for attrs in key_attributes(asset, p) {
                if !session_keys.contains(&attrs) {
                    session_keys.push(attrs);
                }
            }
        }
    }
    if !session_keys.is_empty() {
        out.push('\n');
        for attrs in &session_keys {
            let _ = writeln!(out, "#EXT-X-SESSION-KEY:{attrs}");
        }
    }

    let groups = audio_groups(asset);
    if !groups.is_empty() {
        out.push('\n');
    }
    for group in &groups {
        let mut names: Vec<String> = Vec::new();
        let default = group.members.iter().position(|r| is_main(r)).unwrap_or(0);
        for (i, r) in group.members.iter().enumerate() {
            let mut name = r
                .name
                .clone()
                .or_else(|| r.language.clone())
                .unwrap_or_else(|| r.id.clone());
            if names.contains(&name) {
                // NAME must be unique within a group (§4.3.4.1.1).
                name = format!("{name} ({})", r.id);
            }
            names.push(name.clone());
            let mut line = format!(
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID={},NAME={}",
                quoted(&group.id),
                quoted(&name)
            );
            if let Some(lang) = &r.language {
                let _ = write!(line, ",LANGUAGE={}", quoted(lang));
            }
            let _ = write!(
                line,
                ",DEFAULT={},AUTOSELECT=YES",
                if i == default { "YES" } else { "NO" }
            );
            match (&r.channel_signalling, r.channels) {
                (Some(s), _) => {
                    let _ = write!(line, ",CHANNELS={}", quoted(&s.hls));
                }
                (None, Some(ch)) => {
                    let _ = write!(line, ",CHANNELS=\"{ch}\"");
                }
                (None, None) => {}
            }
            let _ = write!(line, ",URI={}", quoted(&relative(&base, &r.hls_playlist)));
            out.push_str(&line);
            out.push('\n');
        }
    }

    let subtitles = subtitle_media_lines(asset, &base);
    if !subtitles.is_empty() {
        out.push('\n');
        out.push_str(&subtitles);
    }
    // Every variant names the subtitle group (§4.3.4.2: SUBTITLES on EXT-X-STREAM-INF).
    let subs_attr = if subtitles.is_empty() {
        String::new()
    } else {
        format!(",SUBTITLES={}", quoted(SUBTITLE_GROUP))
    };

    let videos: Vec<&PackagedRendition> = asset
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Video)
        .collect();
    out.push('\n');
    if videos.is_empty() {
        // Audio-only asset: every audio rendition is a variant stream of its own.
        for r in asset
            .renditions
            .iter()
            .filter(|r| r.kind == TrackKind::Audio)
        {
            let _ = writeln!(
                out,
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS={}{subs_attr}",
                r.peak_bandwidth,
                r.average_bandwidth,
                quoted(&r.codec_string)
            );
            let _ = writeln!(out, "{}", relative(&base, &r.hls_playlist));
        }
    }
    for v in &videos {
        let variants: Vec<Option<&AudioGroup>> = if groups.is_empty() {
            vec![None]
        } else {
            groups.iter().map(Some).collect()
        };
        for group in variants {
            let (audio_peak, audio_avg, audio_codec) = match group {
                Some(g) => (
                    g.members
                        .iter()
                        .map(|a| a.peak_bandwidth)
                        .max()
                        .unwrap_or(0),
                    g.members
                        .iter()
                        .map(|a| a.average_bandwidth)
                        .max()
                        .unwrap_or(0),
                    Some(g.codec.as_str()),
                ),
                None => (0, 0, None),
            };
            let codecs = match audio_codec {
                Some(a) => format!("{},{a}", v.codec_string),
                None => v.codec_string.clone(),
            };
            let mut line = format!(
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS={}",
                v.peak_bandwidth + audio_peak,
                v.average_bandwidth + audio_avg,
                quoted(&codecs)
            );
            line.push_str(&supplemental_codecs(v));
            if let (Some(w), Some(h)) = (v.width, v.height) {
                let _ = write!(line, ",RESOLUTION={w}x{h}");
            }
            if let Some((num, den)) = v.frame_rate.filter(|&(_, d)| d > 0) {
                let _ = write!(line, ",FRAME-RATE={:.3}", f64::from(num) / f64::from(den));
            }
            // RFC 8216bis VIDEO-RANGE for HDR video (absent means SDR).
            if let Some(range) = hdr_range(v.transfer_characteristics) {
                let _ = write!(line, ",VIDEO-RANGE={range}");
            }
            if let Some(layout) = video_layout(v) {
                let _ = write!(line, ",REQ-VIDEO-LAYOUT={}", quoted(layout));
            }
            if let Some(g) = group {
                let _ = write!(line, ",AUDIO={}", quoted(&g.id));
            }
            line.push_str(&subs_attr);
            line.push_str(",CLOSED-CAPTIONS=NONE");
            out.push_str(&line);
            out.push('\n');
            let _ = writeln!(out, "{}", relative(&base, &v.hls_playlist));
        }
    }

    // EXT-X-I-FRAME-STREAM-INF (§4.3.4.3) for renditions with an I-frame playlist.
    let mut first = true;
    for v in &videos {
        let (Some(path), false) = (&v.hls_iframe_playlist, v.iframes.is_empty()) else {
            continue;
        };
        if first {
            out.push('\n');
            first = false;
        }
        let (peak, average) = iframe_bandwidth(v);
        let mut line = format!(
            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS={}",
            quoted(&v.codec_string)
        );
        line.push_str(&supplemental_codecs(v));
        if let (Some(w), Some(h)) = (v.width, v.height) {
            let _ = write!(line, ",RESOLUTION={w}x{h}");
        }
        if let Some(range) = hdr_range(v.transfer_characteristics) {
            let _ = write!(line, ",VIDEO-RANGE={range}");
        }
        if let Some(layout) = video_layout(v) {
            let _ = write!(line, ",REQ-VIDEO-LAYOUT={}", quoted(layout));
        }
        let _ = write!(line, ",URI={}", quoted(&relative(&base, path)));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `,SUPPLEMENTAL-CODECS="dvh1.08.01/db2g"` (RFC 8216bis §4.4.6.2: a codec string, then `/` and
/// the compatibility brand) for a rendition with Dolby Vision metadata on a compatible base
/// layer; empty otherwise.
fn supplemental_codecs(v: &PackagedRendition) -> String {
    match &v.supplemental_codec {
        Some((codec, Some(brand))) => format!(
            ",SUPPLEMENTAL-CODECS={}",
            quoted(&format!("{codec}/{brand}"))
        ),
        Some((codec, None)) => format!(",SUPPLEMENTAL-CODECS={}", quoted(codec)),
        None => String::new(),
    }
}

/// GROUP-ID of the subtitle renditions.
pub const SUBTITLE_GROUP: &str = "subs";

/// EXT-X-MEDIA:TYPE=SUBTITLES lines (§4.3.4.1), one per text rendition, in one group: NAME
/// unique in the group, LANGUAGE, DEFAULT=YES only for a `main` role, AUTOSELECT=YES,
/// FORCED=YES for `forced-subtitle`, CHARACTERISTICS for captions (SDH) and descriptions.
fn subtitle_media_lines(asset: &PackagedAsset, base: &str) -> String {
    let mut out = String::new();
    let mut names: Vec<String> = Vec::new();
    for r in asset
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Text)
    {
        let mut name = r
            .name
            .clone()
            .or_else(|| r.language.clone())
            .unwrap_or_else(|| r.id.clone());
        if names.contains(&name) {
            name = format!("{name} ({})", r.id);
        }
        names.push(name.clone());
        let has = |role: &str| r.roles.iter().any(|x| x == role);
        let _ = write!(
            out,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID={},NAME={}",
            quoted(SUBTITLE_GROUP),
            quoted(&name)
        );
        if let Some(lang) = &r.language {
            let _ = write!(out, ",LANGUAGE={}", quoted(lang));
        }
        let _ = write!(
            out,
            ",DEFAULT={},AUTOSELECT=YES",
            if has("main") { "YES" } else { "NO" }
        );
        if has("forced-subtitle") {
            out.push_str(",FORCED=YES");
        }
        let mut characteristics = Vec::new();
        if has("caption") {
            characteristics.push("public.accessibility.transcribes-spoken-dialog");
            characteristics.push("public.accessibility.describes-music-and-sound");
        }
        if has("description") {
            characteristics.push("public.accessibility.describes-video");
        }
        if !characteristics.is_empty() {
            let _ = write!(
                out,
                ",CHARACTERISTICS={}",
                quoted(&characteristics.join(","))
            );
        }
        let _ = writeln!(out, ",URI={}", quoted(&relative(base, &r.hls_playlist)));
    }
    out
}

/// A text rendition's media playlist: its WebVTT segments (no EXT-X-MAP, never encrypted).
fn text_media_playlist(asset: &PackagedAsset, rendition: &PackagedRendition) -> String {
    let base = parent_dir(&rendition.hls_playlist);
    let segs = &rendition.hls_text_segments;
    let longest = segs.iter().map(|s| s.duration).max().unwrap_or_default();
    let mut out = header(target_duration(longest, rendition.timescale));
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    for s in segs {
        let _ = writeln!(out, "#EXTINF:{},", seconds(s.duration, rendition.timescale));
        let _ = writeln!(out, "{}", media_uri(asset, &base, &s.path));
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// A rendition's media playlist (RFC 8216 §4.3.3): VOD, EXT-X-MAP, one EXTINF per segment, byte
/// ranges for single-file layout, EXT-X-KEY lines where encryption starts (after any clear lead).
pub fn media_playlist(asset: &PackagedAsset, rendition: &PackagedRendition) -> String {
    if rendition.kind == TrackKind::Text {
        return text_media_playlist(asset, rendition);
    }
    let base = parent_dir(&rendition.hls_playlist);
    let longest = rendition
        .segments
        .iter()
        .map(|s| s.duration)
        .max()
        .unwrap_or_default();
    let mut out = header(target_duration(longest, rendition.timescale));
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    out.push_str(&map_line(asset, &base, rendition));
    let single_file = matches!(rendition.layout, SegmentLayout::SingleFile { .. });
    let mut keys = KeyState::new(asset, rendition);
    for s in &rendition.segments {
        keys.before_segment(!s.clear, &mut out);
        let _ = writeln!(out, "#EXTINF:{},", seconds(s.duration, rendition.timescale));
        if single_file {
            let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", s.size, s.offset);
        }
        let _ = writeln!(out, "{}", media_uri(asset, &base, &s.path));
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// A media URI in a media playlist: absolute under `--base-url` when given, else relative to
/// the playlist.
fn media_uri(asset: &PackagedAsset, base: &str, path: &str) -> String {
    match &asset.base_url {
        Some(url) => format!("{url}{path}"),
        None => relative(base, path),
    }
}

/// A rendition's I-frame playlist (RFC 8216 §4.3.3.6): each sync sample addressed by the byte
/// range of its fragment's moof, mdat header and the sample.
pub fn iframe_playlist(asset: &PackagedAsset, rendition: &PackagedRendition) -> String {
    let base = rendition
        .hls_iframe_playlist
        .as_deref()
        .map(parent_dir)
        .unwrap_or_else(|| parent_dir(&rendition.hls_playlist));
    let longest = rendition
        .iframes
        .iter()
        .map(|f| f.duration)
        .max()
        .unwrap_or_default();
    let mut out = header(target_duration(longest, rendition.timescale));
    out.push_str("#EXT-X-I-FRAMES-ONLY\n");
    out.push_str(&map_line(asset, &base, rendition));
    let mut keys = KeyState::new(asset, rendition);
    for f in &rendition.iframes {
        // An I-frame is clear when the segment holding its bytes is.
        let clear = rendition
            .segments
            .iter()
            .find(|s| {
                s.path == f.path && f.offset >= s.offset && f.offset < s.offset + s.size.max(1)
            })
            .is_some_and(|s| s.clear);
        keys.before_segment(!clear, &mut out);
        let _ = writeln!(out, "#EXTINF:{},", seconds(f.duration, rendition.timescale));
        let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", f.length, f.offset);
        let _ = writeln!(out, "{}", media_uri(asset, &base, &f.path));
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// Peak and average bitrate of an I-frame stream: each I-frame's bytes over the time it stands
/// for (§4.3.4.3: BANDWIDTH is the peak over the I-frames).
fn iframe_bandwidth(r: &PackagedRendition) -> (u64, u64) {
    let ts = u128::from(r.timescale.max(1));
    let mut peak = 0u128;
    let (mut bytes, mut ticks) = (0u128, 0u128);
    for f in &r.iframes {
        if f.duration.0 > 0 {
            peak = peak.max(u128::from(f.length) * 8 * ts / u128::from(f.duration.0));
        }
        bytes += u128::from(f.length);
        ticks += u128::from(f.duration.0);
    }
    let average = (bytes * 8 * ts).checked_div(ticks).unwrap_or(0);
    (clamp_u64(peak), clamp_u64(average))
}

fn clamp_u64(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn header(target: u64) -> String {
    format!("#EXTM3U\n#EXT-X-VERSION:{HLS_VERSION}\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n")
}

/// EXT-X-MAP for the init segment; with BYTERANGE in single-file layout (§4.3.2.5).
fn map_line(asset: &PackagedAsset, base: &str, r: &PackagedRendition) -> String {
    if r.init_path.is_empty() {
        // MPEG-TS segments: each starts with its PAT and PMT, there is no init segment.
        return String::new();
    }
    let uri = quoted(&media_uri(asset, base, &r.init_path));
    match &r.layout {
        SegmentLayout::SingleFile {
            init_range: (start, end),
            ..
        } => {
            format!(
                "#EXT-X-MAP:URI={uri},BYTERANGE=\"{}@{start}\"\n",
                end.saturating_sub(*start) + 1
            )
        }
        SegmentLayout::Files { .. } => format!("#EXT-X-MAP:URI={uri}\n"),
    }
}

/// EXT-X-TARGETDURATION: the longest segment rounded up to whole seconds, computed in exact
/// ticks. §4.3.3.1 requires every EXTINF rounded to the nearest integer to be ≤ the target; the
/// ceiling satisfies that for any duration (and players that compare without rounding too).
pub fn target_duration(longest: TickDuration, timescale: u32) -> u64 {
    let ts = u64::from(timescale.max(1));
    longest.0.div_ceil(ts).max(1)
}

/// Ticks as decimal seconds with microsecond precision (EXTINF decimal-floating-point, §4.3.2.1).
fn seconds(ticks: TickDuration, timescale: u32) -> String {
    let ts = u128::from(timescale.max(1));
    let micros = (u128::from(ticks.0) * 1_000_000 + ts / 2) / ts;
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Emits EXT-X-KEY lines when a run of encrypted segments starts and METHOD=NONE when a clear run
/// starts (§4.3.2.4: a key applies until the next EXT-X-KEY of the same KEYFORMAT).
struct KeyState {
    keys: Vec<String>,
    current: Option<bool>,
}

impl KeyState {
    fn new(asset: &PackagedAsset, r: &PackagedRendition) -> Self {
        let keys = r
            .protection
            .as_ref()
            .map(|p| key_attributes(asset, p))
            .unwrap_or_default();
        KeyState {
            keys,
            current: None,
        }
    }

    fn before_segment(&mut self, encrypted: bool, out: &mut String) {
        if self.keys.is_empty() || self.current == Some(encrypted) {
            return;
        }
        if encrypted {
            for attrs in &self.keys {
                let _ = writeln!(out, "#EXT-X-KEY:{attrs}");
            }
        } else {
            out.push_str("#EXT-X-KEY:METHOD=NONE\n");
        }
        self.current = Some(encrypted);
    }
}

/// The attribute lists of a rendition's EXT-X-KEY / EXT-X-SESSION-KEY lines, one per DRM
/// system: METHOD=SAMPLE-AES for `cbcs`, SAMPLE-AES-CTR for `cenc`; KEYFORMAT and URI as each
/// system's clients expect them.
fn key_attributes(asset: &PackagedAsset, p: &RenditionProtection) -> Vec<String> {
    let scheme = asset
        .protection
        .as_ref()
        .map_or("cenc", |a| a.scheme.as_str());
    // An encrypted TS set: one key tag naming where the raw key is (KEYFORMAT identity, the
    // default), with the IV when one is given (else each segment's media sequence number).
    if let Some(uri) = &p.hls_key_uri {
        let method = if scheme == "aes-128" {
            "AES-128"
        } else {
            "SAMPLE-AES"
        };
        let mut attrs = format!("METHOD={method},URI={}", quoted(uri));
        if let Some(iv) = asset.protection.as_ref().and_then(|a| a.hls_iv) {
            let _ = write!(attrs, ",IV=0x{}", hex::encode(iv));
        }
        return vec![attrs];
    }
    let method = if scheme == "cenc" || scheme == "cens" {
        "SAMPLE-AES-CTR"
    } else {
        "SAMPLE-AES"
    };
    let kid_hex = hex::encode(p.default_kid);
    let mut lines = Vec::new();
    for signal in &p.drm {
        // A CPIX document's HLSSignalingData is written as the document says.
        if let Some(attrs) = &signal.hls_key {
            lines.push(attrs.clone());
            continue;
        }
        let (uri, keyformat, with_keyid) = match signal.system {
            // hls.js takes the KID from the first 16 bytes of a data: URI for this KEYFORMAT
            // (and from KEYID), then asks its Clear Key licence server for it.
            DrmSystem::ClearKey => (
                format!("data:text/plain;base64,{}", BASE64.encode(p.default_kid)),
                "org.w3.clearkey".to_string(),
                true,
            ),
            // The whole pssh box as a data: URI (Widevine's HLS convention).
            DrmSystem::Widevine => {
                let Some(pssh) = &signal.pssh else { continue };
                (
                    format!("data:text/plain;base64,{}", BASE64.encode(pssh)),
                    format!("urn:uuid:{WIDEVINE_SYSTEM}"),
                    true,
                )
            }
            // The PlayReady Object (the pssh Data) in UTF-16 form, as PlayReady HLS clients read it.
            DrmSystem::PlayReady => {
                let Some(pro) = signal.pssh.as_deref().and_then(pssh_data) else {
                    continue;
                };
                (
                    format!(
                        "data:text/plain;charset=UTF-16;base64,{}",
                        BASE64.encode(pro)
                    ),
                    "com.microsoft.playready".to_string(),
                    true,
                )
            }
            // FairPlay: the key server resolves the skd:// asset id; here the KID in hex.
            DrmSystem::FairPlay => (
                format!("skd://{kid_hex}"),
                "com.apple.streamingkeydelivery".to_string(),
                false,
            ),
        };
        // A CPIX document's URIExtXKey replaces the URI.
        let uri = signal.hls_uri.clone().unwrap_or(uri);
        let mut attrs = format!("METHOD={method},URI={}", quoted(&uri));
        if with_keyid {
            let _ = write!(attrs, ",KEYID=0x{kid_hex}");
        }
        let _ = write!(
            attrs,
            ",KEYFORMAT={},KEYFORMATVERSIONS=\"1\"",
            quoted(&keyformat)
        );
        lines.push(attrs);
    }
    lines
}

struct AudioGroup<'a> {
    id: String,
    codec: String,
    members: Vec<&'a PackagedRendition>,
}

/// Audio renditions grouped by codec string (a group's renditions must be alternatives a player
/// can switch between with the variant's CODECS, §4.3.4.1.1), in first-seen order.
fn audio_groups(asset: &PackagedAsset) -> Vec<AudioGroup<'_>> {
    let mut order: Vec<String> = Vec::new();
    let mut by_codec: BTreeMap<String, Vec<&PackagedRendition>> = BTreeMap::new();
    for r in asset
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Audio)
    {
        if !by_codec.contains_key(&r.codec_string) {
            order.push(r.codec_string.clone());
        }
        by_codec.entry(r.codec_string.clone()).or_default().push(r);
    }
    order
        .into_iter()
        .map(|codec| AudioGroup {
            id: format!("audio-{codec}"),
            members: by_codec.remove(&codec).unwrap_or_default(),
            codec,
        })
        .collect()
}

fn is_main(r: &PackagedRendition) -> bool {
    r.roles.is_empty() || r.roles.iter().any(|role| role == "main")
}

/// A quoted-string (§4.2): no double quote, CR or LF allowed inside, so those are replaced.
fn quoted(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\r' | '\n') {
                '\''
            } else {
                c
            }
        })
        .collect();
    format!("\"{clean}\"")
}

/// The folder part of an OUT-relative path ("" for a file at the root).
pub(crate) fn parent_dir(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(dir, _)| dir.to_string())
        .unwrap_or_default()
}

/// `rel` (a path that may climb with `..`, as a DASH media template relative to its init
/// segment's folder) seen from OUT, where `base` is that folder relative to OUT; the inverse of
/// [`relative`]. `None` if it climbs out of OUT.
pub(crate) fn resolve(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in base.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// `target` (relative to OUT) as seen from the folder `base` (relative to OUT).
pub(crate) fn relative(base: &str, target: &str) -> String {
    let base_parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let target_parts: Vec<&str> = target
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let common = base_parts
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count()
        .min(target_parts.len().saturating_sub(1));
    let mut parts: Vec<&str> = vec![".."; base_parts.len() - common];
    parts.extend_from_slice(&target_parts[common..]);
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_is_the_inverse_of_relative() {
        for (base, target) in [
            ("video_240p/cenc", "cenc/video_240p/seg_$Number%05d$.m4s"),
            ("a", "a/seg_$Number$.m4s"),
            ("", "chunks/a_$Time$.m4s"),
        ] {
            assert_eq!(
                resolve(base, &relative(base, target)).as_deref(),
                Some(target)
            );
        }
        assert_eq!(resolve("a", "../../x.m4s"), None);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("", "video/playlist.m3u8"), "video/playlist.m3u8");
        assert_eq!(relative("video", "video/seg_1.m4s"), "seg_1.m4s");
        assert_eq!(relative("video", "audio/seg_1.m4s"), "../audio/seg_1.m4s");
        assert_eq!(relative("hls/x", "video/init.mp4"), "../../video/init.mp4");
    }

    #[test]
    fn target_duration_is_the_ceiling_in_exact_ticks() {
        assert_eq!(target_duration(TickDuration(4 * 90_000), 90_000), 4);
        assert_eq!(target_duration(TickDuration(4 * 90_000 + 1), 90_000), 5);
        assert_eq!(target_duration(TickDuration(0), 90_000), 1);
    }

    #[test]
    fn seconds_rounds_to_microseconds() {
        assert_eq!(seconds(TickDuration(1024), 48_000), "0.021333");
        assert_eq!(seconds(TickDuration(360_000), 90_000), "4.000000");
        assert_eq!(seconds(TickDuration(1001), 30_000), "0.033367");
    }
}
