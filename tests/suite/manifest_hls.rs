//! HLS playlists written from a realistic ladder model, parsed back with two parsers nobody here
//! wrote (m3u8-rs and hls_m3u8) and compared with the model: variants, bandwidths, codecs, audio
//! groups, segment durations, byte ranges, keys.

use std::collections::BTreeSet;

use crate::manifest_support::*;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use vodpack::manifest::hls::{iframe_playlist, media_playlist, multivariant_playlist};
use vodpack::manifest::model::*;
use vodpack::media::TrackKind;

fn m3u8rs_master(text: &str) -> m3u8_rs::MasterPlaylist {
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(m3u8_rs::Playlist::MasterPlaylist(p)) => p,
        Ok(_) => panic!("m3u8-rs read a media playlist:\n{text}"),
        Err(e) => panic!("m3u8-rs: {e:?}\n{text}"),
    }
}

fn m3u8rs_media(text: &str) -> m3u8_rs::MediaPlaylist {
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
        Ok(_) => panic!("m3u8-rs read a multivariant playlist:\n{text}"),
        Err(e) => panic!("m3u8-rs: {e:?}\n{text}"),
    }
}

/// hls_m3u8 0.7 knows METHOD=NONE/AES-128/SAMPLE-AES only; SAMPLE-AES-CTR (cenc, from Apple's
/// HLS spec for fMP4 and the Widevine/PlayReady HLS profiles) is not in RFC 8216. For cenc
/// playlists it reads a copy where only that method name differs; m3u8-rs reads the original,
/// and `key_lines` checks the original text.
fn for_hls_m3u8(text: &str) -> String {
    text.replace("METHOD=SAMPLE-AES-CTR,", "METHOD=SAMPLE-AES,")
}

fn hlsm3u8_master(text: &str) -> hls_m3u8::MasterPlaylist<'static> {
    let copy = for_hls_m3u8(text);
    hls_m3u8::MasterPlaylist::try_from(copy.as_str())
        .unwrap_or_else(|e| panic!("hls_m3u8: {e}\n{text}"))
        .into_owned()
}

fn hlsm3u8_media(text: &str) -> hls_m3u8::MediaPlaylist<'static> {
    let copy = for_hls_m3u8(text);
    hls_m3u8::MediaPlaylist::try_from(copy.as_str())
        .unwrap_or_else(|e| panic!("hls_m3u8: {e}\n{text}"))
        .into_owned()
}

fn videos(asset: &PackagedAsset) -> Vec<&PackagedRendition> {
    asset
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Video)
        .collect()
}

fn audios(asset: &PackagedAsset) -> Vec<&PackagedRendition> {
    asset
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Audio)
        .collect()
}

fn method(asset: &PackagedAsset) -> &'static str {
    match asset.protection.as_ref().map(|p| p.scheme.as_str()) {
        Some("cbcs") => "SAMPLE-AES",
        _ => "SAMPLE-AES-CTR",
    }
}

#[test]
fn multivariant_matches_the_model_in_both_parsers() {
    for (name, asset) in all_ladders() {
        let text = multivariant_playlist(&asset);
        let a = m3u8rs_master(&text);
        let b = hlsm3u8_master(&text);
        assert!(
            a.independent_segments && b.has_independent_segments,
            "{name}"
        );
        assert!(a.version.unwrap() >= 6, "{name}: fMP4 needs version 6+");

        // Audio: one group (both renditions are mp4a.40.2), English default.
        let audio = audios(&asset);
        assert_eq!(a.alternatives.len(), audio.len(), "{name}");
        assert_eq!(b.media.len(), audio.len(), "{name}");
        let group = a.alternatives[0].group_id.clone();
        for (alt, r) in a.alternatives.iter().zip(&audio) {
            assert_eq!(alt.media_type, m3u8_rs::AlternativeMediaType::Audio);
            assert_eq!(alt.group_id, group, "{name}: one group for one audio codec");
            assert_eq!(alt.language.as_deref(), r.language.as_deref(), "{name}");
            assert_eq!(Some(alt.name.as_str()), r.name.as_deref(), "{name}");
            assert_eq!(
                alt.default,
                r.id == "audio_en",
                "{name}: the main-role rendition is DEFAULT"
            );
            assert!(alt.autoselect, "{name}");
            assert_eq!(alt.channels.as_deref(), Some("2"), "{name}");
            assert_eq!(
                resolve(&asset.hls_multivariant, alt.uri.as_deref().unwrap()),
                r.hls_playlist,
                "{name}"
            );
        }
        for (m, r) in b.media.iter().zip(&audio) {
            assert_eq!(
                m.language().map(|l| l.to_string()),
                r.language.clone(),
                "{name}"
            );
            assert_eq!(m.name().as_ref(), r.name.as_deref().unwrap(), "{name}");
            assert_eq!(m.channels.as_ref().map(|c| c.number()), Some(2), "{name}");
            assert_eq!(m.is_default, r.id == "audio_en", "{name}");
        }

        // Variants: every video rendition with the audio group; BANDWIDTH = video peak + the
        // largest audio peak in the group (RFC 8216 §4.3.4.2).
        let audio_peak = audio.iter().map(|r| r.peak_bandwidth).max().unwrap();
        let audio_avg = audio.iter().map(|r| r.average_bandwidth).max().unwrap();
        let video = videos(&asset);
        let streams: Vec<&m3u8_rs::VariantStream> =
            a.variants.iter().filter(|v| !v.is_i_frame).collect();
        assert_eq!(streams.len(), video.len(), "{name}");
        for (s, v) in streams.iter().zip(&video) {
            assert_eq!(
                s.bandwidth,
                v.peak_bandwidth + audio_peak,
                "{name} {}",
                v.id
            );
            assert_eq!(
                s.average_bandwidth,
                Some(v.average_bandwidth + audio_avg),
                "{name}"
            );
            assert_eq!(
                s.codecs.as_deref(),
                Some(format!("{},mp4a.40.2", v.codec_string).as_str()),
                "{name}"
            );
            let res = s.resolution.unwrap();
            assert_eq!(
                (res.width, res.height),
                (u64::from(v.width.unwrap()), u64::from(v.height.unwrap()))
            );
            assert_eq!(s.frame_rate, Some(30.0), "{name}");
            assert_eq!(s.audio.as_deref(), Some(group.as_str()), "{name}");
            assert_eq!(
                resolve(&asset.hls_multivariant, &s.uri),
                v.hls_playlist,
                "{name}"
            );
        }
        let b_streams: Vec<_> = b
            .variant_streams
            .iter()
            .filter_map(|vs| match vs {
                hls_m3u8::tags::VariantStream::ExtXStreamInf {
                    uri,
                    audio,
                    stream_data,
                    ..
                } => Some((
                    uri.to_string(),
                    audio.as_ref().map(|a| a.to_string()),
                    stream_data.clone(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(b_streams.len(), video.len(), "{name}");
        for ((uri, audio_group, data), v) in b_streams.iter().zip(&video) {
            assert_eq!(resolve(&asset.hls_multivariant, uri), v.hls_playlist);
            assert_eq!(audio_group.as_deref(), Some(group.as_str()));
            assert_eq!(data.bandwidth(), v.peak_bandwidth + audio_peak);
            let codecs: Vec<String> = data
                .codecs()
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(
                codecs,
                vec![v.codec_string.clone(), "mp4a.40.2".to_string()]
            );
        }

        // I-frame streams: one per video rendition, pointing at its I-frame playlist.
        let iframes: Vec<&m3u8_rs::VariantStream> =
            a.variants.iter().filter(|v| v.is_i_frame).collect();
        assert_eq!(iframes.len(), video.len(), "{name}");
        for (s, v) in iframes.iter().zip(&video) {
            assert_eq!(
                resolve(&asset.hls_multivariant, &s.uri),
                v.hls_iframe_playlist.clone().unwrap()
            );
            assert_eq!(s.codecs.as_deref(), Some(v.codec_string.as_str()));
            let ts = u64::from(v.timescale);
            let peak = v
                .iframes
                .iter()
                .map(|f| f.length * 8 * ts / f.duration.0)
                .max()
                .unwrap();
            assert_eq!(
                s.bandwidth, peak,
                "{name}: I-frame BANDWIDTH is the peak I-frame bitrate"
            );
        }
        let b_iframes = b
            .variant_streams
            .iter()
            .filter(|vs| matches!(vs, hls_m3u8::tags::VariantStream::ExtXIFrame { .. }))
            .count();
        assert_eq!(b_iframes, video.len(), "{name}");

        // Session keys: every protected rendition's key lines, once each.
        let kids: BTreeSet<[u8; 16]> = asset
            .renditions
            .iter()
            .filter_map(|r| r.protection.as_ref().map(|p| p.default_kid))
            .collect();
        // Clear Key, Widevine, PlayReady, FairPlay per KID.
        assert_eq!(a.session_key.len(), kids.len() * 4, "{name}");
        assert_eq!(b.session_keys.len(), kids.len() * 4, "{name}");
        for k in &b.session_keys {
            assert_eq!(k.0.method, hls_m3u8::types::EncryptionMethod::SampleAes);
        }
        for k in &a.session_key {
            let expected = method(&asset);
            match &k.0.method {
                m3u8_rs::KeyMethod::SampleAES => assert_eq!(expected, "SAMPLE-AES"),
                m3u8_rs::KeyMethod::Other(m) => assert_eq!(m, expected),
                m => panic!("{name}: unexpected session key method {m:?}"),
            }
        }
    }
}

#[test]
fn audio_only_asset_lists_audio_variants() {
    let mut asset = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Clear,
        hevc: false,
    });
    asset.renditions.retain(|r| r.kind == TrackKind::Audio);
    let text = multivariant_playlist(&asset);
    let a = m3u8rs_master(&text);
    hlsm3u8_master(&text);
    assert_eq!(a.variants.len(), 2);
    for (v, r) in a.variants.iter().zip(&asset.renditions) {
        assert_eq!(v.bandwidth, r.peak_bandwidth);
        assert_eq!(v.codecs.as_deref(), Some("mp4a.40.2"));
        assert_eq!(resolve(&asset.hls_multivariant, &v.uri), r.hls_playlist);
    }
}

/// The attribute lists of the EXT-X-KEY lines directly before a segment URI line.
fn key_lines(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for line in text.lines() {
        if let Some(attrs) = line.strip_prefix("#EXT-X-KEY:") {
            pending.push(attrs.to_string());
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push(std::mem::take(&mut pending));
        }
    }
    out
}

fn check_segment_keys(
    name: &str,
    asset: &PackagedAsset,
    r: &PackagedRendition,
    text: &str,
    clear: &[bool],
) {
    let b = hlsm3u8_media(text);
    let a = m3u8rs_media(text);
    let p = match &r.protection {
        None => {
            assert!(
                !text.contains("#EXT-X-KEY"),
                "{name}: clear rendition has keys"
            );
            return;
        }
        Some(p) => p,
    };
    let kid_hex = hex::encode(p.default_kid);
    let lines = key_lines(text);
    for (i, is_clear) in clear.iter().enumerate() {
        let seg = &b.segments[i];
        let keys: Vec<&hls_m3u8::types::DecryptionKey> =
            seg.keys.iter().filter_map(|k| k.0.as_ref()).collect();
        if *is_clear {
            assert!(
                keys.is_empty(),
                "{name} {}: clear-lead segment {i} has keys",
                r.id
            );
            if i == 0 {
                assert_eq!(
                    lines[0],
                    vec!["METHOD=NONE".to_string()],
                    "{name}: METHOD=NONE before the clear lead"
                );
            }
            continue;
        }
        assert_eq!(
            keys.len(),
            4,
            "{name} {} segment {i}: one key per DRM system",
            r.id
        );
        let mut formats = BTreeSet::new();
        for k in keys {
            let uri = k.uri().to_string();
            let format = k.format.clone().expect("KEYFORMAT");
            assert_eq!(
                k.versions.as_ref().map(|v| v.to_string()),
                Some("\"1\"".into()),
                "{name}"
            );
            match format {
                hls_m3u8::types::KeyFormat::Widevine => {
                    let pssh = BASE64
                        .decode(uri.strip_prefix("data:text/plain;base64,").unwrap())
                        .unwrap();
                    let signal = p
                        .drm
                        .iter()
                        .find(|d| d.system == DrmSystem::Widevine)
                        .unwrap();
                    assert_eq!(
                        Some(pssh),
                        signal.pssh,
                        "{name}: Widevine URI carries the pssh box"
                    );
                }
                hls_m3u8::types::KeyFormat::PlayReady => {
                    let pro = BASE64
                        .decode(
                            uri.strip_prefix("data:text/plain;charset=UTF-16;base64,")
                                .unwrap(),
                        )
                        .unwrap();
                    let signal = p
                        .drm
                        .iter()
                        .find(|d| d.system == DrmSystem::PlayReady)
                        .unwrap();
                    assert!(
                        signal.pssh.as_ref().unwrap().ends_with(&pro),
                        "{name}: PlayReady URI is the PRO"
                    );
                    assert_eq!(pro, playready_object(&p.default_kid));
                }
                hls_m3u8::types::KeyFormat::FairPlay => assert_eq!(uri, format!("skd://{kid_hex}")),
                hls_m3u8::types::KeyFormat::Other(ref f) if f == "org.w3.clearkey" => {
                    let kid = BASE64
                        .decode(uri.strip_prefix("data:text/plain;base64,").unwrap())
                        .unwrap();
                    assert_eq!(kid, p.default_kid, "{name}: Clear Key URI carries the KID");
                }
                other => panic!("{name}: unexpected KEYFORMAT {other:?}"),
            }
            formats.insert(format!("{format:?}"));
        }
        assert_eq!(formats.len(), 4, "{name}");
        // m3u8-rs keeps one key per segment; it must be the same method (from the real text).
        if let Some(key) = &a.segments[i].key {
            let m = match &key.method {
                m3u8_rs::KeyMethod::SampleAES => "SAMPLE-AES".to_string(),
                m3u8_rs::KeyMethod::Other(m) => m.clone(),
                m => format!("{m:?}"),
            };
            assert_eq!(m, method(asset), "{name}");
        }
    }
    // The real key lines sit right before the first encrypted segment, each with KEYID (except
    // FairPlay) and the scheme's METHOD; neither parser keeps KEYID, so check the text.
    let first_encrypted = clear.iter().position(|c| !c).unwrap();
    assert_eq!(lines[first_encrypted].len(), 4, "{name}");
    for attrs in &lines[first_encrypted] {
        assert!(
            attrs.starts_with(&format!("METHOD={},", method(asset))),
            "{name}: {attrs}"
        );
        if !attrs.contains("com.apple.streamingkeydelivery") {
            assert!(
                attrs.contains(&format!(",KEYID=0x{kid_hex},")),
                "{name}: {attrs}"
            );
        }
    }
    for later in &lines[first_encrypted + 1..] {
        assert!(
            later.is_empty(),
            "{name}: keys repeated after the first encrypted segment"
        );
    }
}

#[test]
fn media_playlists_match_segments_in_both_parsers() {
    for (name, asset) in all_ladders() {
        for r in &asset.renditions {
            let text = media_playlist(&asset, r);
            let a = m3u8rs_media(&text);
            let b = hlsm3u8_media(&text);
            assert!(a.version.unwrap() >= 6, "{name}");
            assert_eq!(
                a.playlist_type,
                Some(m3u8_rs::MediaPlaylistType::Vod),
                "{name}"
            );
            assert!(a.end_list && b.has_end_list, "{name}");
            assert!(!a.i_frames_only, "{name}");
            assert_eq!(a.segments.len(), r.segments.len(), "{name} {}", r.id);
            assert_eq!(
                b.segments.num_elements(),
                r.segments.len(),
                "{name} {}",
                r.id
            );

            // Target duration: every EXTINF rounded is ≤ it (RFC 8216 §4.3.3.1), and it is the
            // smallest whole number ≥ the longest segment.
            let longest = r
                .segments
                .iter()
                .map(|s| secs(s.duration.0, r.timescale))
                .fold(0.0, f64::max);
            assert_eq!(a.target_duration, longest.ceil() as u64, "{name} {}", r.id);
            assert_eq!(b.target_duration.as_secs(), longest.ceil() as u64);

            let mut sum_a = 0.0f64;
            let mut sum_b = 0.0f64;
            for (i, s) in r.segments.iter().enumerate() {
                let (sa, sb) = (&a.segments[i], b.segments.get(i).unwrap());
                let expected = secs(s.duration.0, r.timescale);
                assert!(
                    (f64::from(sa.duration) - expected).abs() < 1e-4,
                    "{name} {} seg {i}",
                    r.id
                );
                assert!(
                    (sb.duration.duration().as_secs_f64() - expected).abs() < 1e-6,
                    "{name} {} seg {i}",
                    r.id
                );
                sum_a += f64::from(sa.duration);
                sum_b += sb.duration.duration().as_secs_f64();
                assert_eq!(resolve(&r.hls_playlist, &sa.uri), s.path, "{name}");
                assert_eq!(resolve(&r.hls_playlist, sb.uri()), s.path, "{name}");
                match &r.layout {
                    SegmentLayout::SingleFile { .. } => {
                        let br = sa.byte_range.as_ref().expect("EXT-X-BYTERANGE");
                        assert_eq!(
                            (br.length, br.offset),
                            (s.size, Some(s.offset)),
                            "{name} seg {i}"
                        );
                        let br = sb.byte_range.as_ref().expect("EXT-X-BYTERANGE");
                        assert_eq!(br.start(), Some(s.offset as usize));
                        assert_eq!(br.end(), (s.offset + s.size) as usize);
                    }
                    SegmentLayout::Files { .. } => assert!(sa.byte_range.is_none(), "{name}"),
                }
            }
            // Durations add up to the track's duration (within EXTINF's microsecond rounding).
            let total = secs(r.segments.iter().map(|s| s.duration.0).sum(), r.timescale);
            assert!((sum_a - total).abs() < 1e-3, "{name}: {sum_a} vs {total}");
            assert!(
                (sum_b - total).abs() < 1e-5 * r.segments.len() as f64,
                "{name}: {sum_b} vs {total}"
            );
            assert!((total - DURATION).abs() < 0.03, "{name}: {total}");

            // EXT-X-MAP: the init segment, with its byte range in single-file layout.
            let map = a.segments[0].map.as_ref().expect("EXT-X-MAP");
            assert_eq!(resolve(&r.hls_playlist, &map.uri), r.init_path);
            let map_b = b.segments.get(0).unwrap().map.as_ref().expect("EXT-X-MAP");
            match &r.layout {
                SegmentLayout::SingleFile { init_range, .. } => {
                    let br = map.byte_range.as_ref().expect("map BYTERANGE");
                    assert_eq!(
                        (br.length, br.offset),
                        (init_range.1 - init_range.0 + 1, Some(init_range.0))
                    );
                    assert_eq!(map_b.range().unwrap().start(), Some(init_range.0 as usize));
                    assert_eq!(map_b.range().unwrap().end(), init_range.1 as usize + 1);
                }
                SegmentLayout::Files { .. } => assert!(map.byte_range.is_none()),
            }
            assert!(
                text.find("#EXT-X-MAP").unwrap() < text.find("#EXT-X-KEY").unwrap_or(usize::MAX)
            );

            let clear: Vec<bool> = r.segments.iter().map(|s| s.clear).collect();
            check_segment_keys(&name, &asset, r, &text, &clear);
        }
    }
}

#[test]
fn iframe_playlists_match_sync_samples_in_both_parsers() {
    for (name, asset) in all_ladders() {
        for r in videos(&asset) {
            let text = iframe_playlist(&asset, r);
            let a = m3u8rs_media(&text);
            let b = hlsm3u8_media(&text);
            assert!(a.i_frames_only && b.has_i_frames_only, "{name}");
            assert!(a.end_list, "{name}");
            assert_eq!(a.segments.len(), r.iframes.len(), "{name}");
            let path = r.hls_iframe_playlist.as_deref().unwrap();
            for (i, f) in r.iframes.iter().enumerate() {
                let s = &a.segments[i];
                let br = s.byte_range.as_ref().expect("I-frame byte range");
                assert_eq!(
                    (br.length, br.offset),
                    (f.length, Some(f.offset)),
                    "{name} I-frame {i}"
                );
                assert_eq!(resolve(path, &s.uri), f.path);
                assert!((f64::from(s.duration) - secs(f.duration.0, r.timescale)).abs() < 1e-4);
                let sb = b.segments.get(i).unwrap();
                let br = sb.byte_range.as_ref().unwrap();
                assert_eq!(
                    (br.start(), br.end()),
                    (Some(f.offset as usize), (f.offset + f.length) as usize)
                );
            }
            let map = a.segments[0].map.as_ref().expect("EXT-X-MAP");
            assert_eq!(resolve(path, &map.uri), r.init_path);
            // I-frames lie in their segments, so they are clear exactly where the segments are.
            let clear: Vec<bool> = r
                .iframes
                .iter()
                .zip(&r.segments)
                .map(|(_, s)| s.clear)
                .collect();
            check_segment_keys(&name, &asset, r, &text, &clear);
        }
    }
}

#[test]
fn clear_playlists_have_no_key_tags_and_protected_ones_do() {
    let clear = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Clear,
        hevc: false,
    });
    let text = multivariant_playlist(&clear);
    assert!(!text.contains("KEY"), "{text}");
    let cbcs = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Cbcs,
        hevc: false,
    });
    let text = media_playlist(&cbcs, &cbcs.renditions[0]);
    assert_eq!(
        text.matches("#EXT-X-KEY:METHOD=SAMPLE-AES,").count(),
        4,
        "{text}"
    );
    assert_eq!(text.matches("#EXT-X-KEY:METHOD=NONE").count(), 1, "{text}");
    let cenc = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Cenc,
        hevc: false,
    });
    let text = media_playlist(&cenc, &cenc.renditions[0]);
    assert_eq!(
        text.matches("#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,").count(),
        4,
        "{text}"
    );
}
