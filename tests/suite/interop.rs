//! End-to-end interoperability of vodpack's output with tools nobody here wrote:
//! - lossless: ffmpeg decodes init + segments of every rendition to frames whose hashes, pts and
//!   durations equal the source track's, and ffprobe reads the same samples (count, bytes, sizes,
//!   timestamps, sync flags);
//! - Common Encryption: Shaka Packager's decrypter and ffmpeg's `-decryption_key` recover the source
//!   frames (and Shaka the exact sample bytes) for cenc and cbcs, H.264, HEVC and AAC; a wrong key
//!   does not;
//! - manifests against the files on disk, the MPD against the MPEG schema (xmllint), and identical
//!   segment boundaries across video renditions.
//!
//! The same checks run on Shaka Packager's output of the same fixtures
//! (`checks_accept_shaka_packager_output`), and a corrupted segment must fail them
//! (`checks_reject_a_corrupted_segment`): that proves the checks themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// One source track and the rendition vodpack makes from it.
struct Rendition {
    /// Rendition id given with `id=` (also the output folder).
    id: &'static str,
    /// Fixture file and optional `#selector`.
    input: &'static str,
    selector: &'static str,
    /// ffmpeg/ffprobe stream specifier of the track in the source file.
    stream: &'static str,
    /// Key label vodpack's default mapping gives this rendition (AUDIO, SD below 720 lines, HD).
    label: &'static str,
}

impl Rendition {
    fn descriptor(&self) -> String {
        format!(
            "in={}{},id={}",
            fixture(self.input).display(),
            self.selector,
            self.id
        )
    }

    fn is_video(&self) -> bool {
        self.stream.starts_with('v')
    }
}

const H264_240: Rendition = r("h264_240p", "h264_240p.mp4", "", "v:0", "SD");
const H264_360: Rendition = r("h264_360p", "h264_360p.mp4", "", "v:0", "SD");
const H264_720: Rendition = r("h264_720p", "h264_720p.mp4", "", "v:0", "HD");
const AAC_EN: Rendition = r("aac_en", "aac_en.mp4", "", "a:0", "AUDIO");
const AAC_FR: Rendition = r("aac_fr", "aac_fr.mp4", "", "a:0", "AUDIO");
const HEVC_360: Rendition = r("hevc_360p", "hevc_360p.mp4", "", "v:0", "SD");
const PROGRESSIVE: Rendition = r("progressive", "progressive_bframes.mp4", "", "v:0", "SD");
const MUXED_VIDEO: Rendition = r("muxed_video", "muxed_av.mp4", "#video", "v:0", "SD");
const MUXED_AUDIO: Rendition = r("muxed_audio", "muxed_av.mp4", "#audio", "a:0", "AUDIO");

const fn r(
    id: &'static str,
    input: &'static str,
    selector: &'static str,
    stream: &'static str,
    label: &'static str,
) -> Rendition {
    Rendition {
        id,
        input,
        selector,
        stream,
        label,
    }
}

const LADDER: [&Rendition; 5] = [&H264_240, &H264_360, &H264_720, &AAC_EN, &AAC_FR];

fn package_set(out: &Path, set: &[&Rendition], extra: &[String]) {
    let mut args: Vec<String> = extra.to_vec();
    args.extend(set.iter().map(|r| r.descriptor()));
    package(out, &args);
}

/// Decoded frames and stored samples of the packaged rendition equal the source track's.
fn assert_lossless(out: &Path, r: &Rendition, scratch: &Path) {
    let source = fixture(r.input);
    let packaged = concat_rendition(&out.join(r.id), &scratch.join(format!("{}.mp4", r.id)));
    let what = format!("{} ({})", r.id, out.display());
    assert_same_frames(
        &format!("{what}: framemd5"),
        &framemd5(&source, r.stream, &[]),
        &framemd5(&packaged, "0", &[]),
    );
    assert_same_samples(
        &format!("{what}: samples"),
        &samples(&source, r.stream, &[]),
        &samples(&packaged, "0", &[]),
    );
}

fn lossless_set(set: &[&Rendition], extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    package_set(&out, set, &extra);
    for r in set {
        assert_lossless(&out, r, tmp.path());
    }
}

#[test]
fn clear_h264_ladder_and_aac_are_lossless() {
    lossless_set(&LADDER, &[]);
}

#[test]
fn clear_ladder_with_2s_segments_is_lossless() {
    lossless_set(
        &[&H264_240, &H264_720, &AAC_EN],
        &["--segment-duration", "2"],
    );
}

#[test]
fn clear_hevc_is_lossless() {
    lossless_set(&[&HEVC_360], &[]);
}

#[test]
fn clear_progressive_with_bframes_and_edit_list_is_lossless() {
    lossless_set(&[&PROGRESSIVE], &[]);
}

#[test]
fn clear_muxed_file_gives_one_lossless_rendition_per_track() {
    lossless_set(&[&MUXED_VIDEO, &MUXED_AUDIO], &[]);
}

#[test]
fn clear_single_file_output_is_lossless() {
    // --single-file: one file per rendition holding init + all fragments (with a sidx).
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let set = [&H264_240, &H264_720, &AAC_EN];
    package_set(&out, &set, &["--single-file".to_string()]);
    for r in set {
        let dir = out.join(r.id);
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        assert_eq!(
            files.len(),
            1,
            "{}: one media file expected, got {files:?}",
            dir.display()
        );
        assert!(
            find_box(&std::fs::read(&files[0]).unwrap(), &["sidx"]).is_some(),
            "{}: no sidx",
            files[0].display()
        );
        assert_same_frames(
            &format!("{} single file", r.id),
            &framemd5(&fixture(r.input), r.stream, &[]),
            &framemd5(&files[0], "0", &[]),
        );
    }
}

/// Every video rendition has the same number of segments starting at the same times.
fn assert_aligned(out: &Path, set: &[&Rendition]) -> Vec<Seconds> {
    let videos: Vec<&&Rendition> = set.iter().filter(|r| r.is_video()).collect();
    let reference = segment_starts(&out.join(videos[0].id));
    for r in &videos[1..] {
        assert_eq!(
            segment_starts(&out.join(r.id)),
            reference,
            "{} and {} have different segment boundaries",
            r.id,
            videos[0].id
        );
    }
    reference
}

#[test]
fn video_renditions_share_segment_boundaries() {
    for duration in ["2", "4", "6"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let set = [&H264_240, &H264_360, &H264_720, &HEVC_360, &AAC_EN];
        package_set(&out, &set, &["--segment-duration".into(), duration.into()]);
        let starts = assert_aligned(&out, &set);
        // The fixtures have keyframes every 2 s over 8 s: every boundary is a multiple of 2 s.
        let expected: Vec<f64> = match duration {
            "2" => vec![0.0, 2.0, 4.0, 6.0],
            "4" => vec![0.0, 4.0],
            _ => vec![0.0, 6.0],
        };
        let got: Vec<f64> = starts.iter().map(|s| s.as_f64()).collect();
        assert_eq!(
            got, expected,
            "segment starts with --segment-duration {duration}"
        );
    }
}

/// URIs in a playlist, relative to it, each checked to exist; returns the resolved paths.
fn playlist_uris(playlist: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(playlist).unwrap();
    let dir = playlist.parent().unwrap();
    let mut uris = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            // URI="..." attributes (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF), not keys.
            if line.starts_with("#EXT-X-KEY") || line.starts_with("#EXT-X-SESSION-KEY") {
                continue;
            }
            if let Some(start) = line.find("URI=\"") {
                let rest = &line[start + 5..];
                uris.push(dir.join(&rest[..rest.find('"').unwrap()]));
            }
        } else {
            uris.push(dir.join(line));
        }
    }
    for uri in &uris {
        assert!(
            uri.is_file(),
            "{} references missing {}",
            playlist.display(),
            uri.display()
        );
    }
    uris
}

fn check_manifests_against_disk(out: &Path, set: &[&Rendition]) {
    // HLS: both parsers accept every playlist; every URI exists; segment counts match the disk.
    let master = out.join("master.m3u8");
    let master_text = std::fs::read(&master).unwrap();
    match m3u8_rs::parse_playlist_res(&master_text) {
        Ok(m3u8_rs::Playlist::MasterPlaylist(_)) => {}
        other => panic!(
            "m3u8-rs does not read {} as multivariant: {other:?}",
            master.display()
        ),
    }
    for child in playlist_uris(&master) {
        let text = std::fs::read(&child).unwrap();
        let media = match m3u8_rs::parse_playlist_res(&text) {
            Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
            other => panic!(
                "m3u8-rs does not read {} as media: {other:?}",
                child.display()
            ),
        };
        assert!(media.end_list, "{}: no EXT-X-ENDLIST", child.display());
        let rendition = child.parent().unwrap();
        if child.file_name().unwrap() == "playlist.m3u8" {
            assert_eq!(
                media.segments.len(),
                segments(rendition).len(),
                "{}: segment count vs files on disk",
                child.display()
            );
        }
        playlist_uris(&child);
    }
    for r in set {
        assert!(
            out.join(r.id).join("playlist.m3u8").is_file(),
            "{}: no playlist",
            r.id
        );
        if r.is_video() {
            assert!(
                out.join(r.id).join("iframes.m3u8").is_file(),
                "{}: no I-frame playlist",
                r.id
            );
        }
    }

    // DASH: schema-valid; every Representation's SegmentTemplate names files that exist, one
    // SegmentTimeline entry per segment on disk.
    let mpd_path = out.join("manifest.mpd");
    xmllint_mpd(&mpd_path);
    let mpd = dash_mpd_core::parse(&std::fs::read_to_string(&mpd_path).unwrap())
        .unwrap_or_else(|e| panic!("dash-mpd-core: {e:?}"));
    let mut seen = Vec::new();
    for period in &mpd.periods {
        for set_ in &period.adaptations {
            for rep in &set_.representations {
                let id = rep.id.clone().expect("Representation@id");
                let st = rep
                    .SegmentTemplate
                    .as_ref()
                    .or(set_.SegmentTemplate.as_ref())
                    .unwrap_or_else(|| panic!("{id}: no SegmentTemplate"));
                let subst = |t: &str| t.replace("$RepresentationID$", &id);
                let init = out.join(subst(st.initialization.as_deref().expect("initialization")));
                assert!(init.is_file(), "MPD names missing {}", init.display());
                let media = subst(st.media.as_deref().expect("media"));
                let timeline = st.SegmentTimeline.as_ref().expect("SegmentTimeline");
                let count: i64 = timeline.segments.iter().map(|s| 1 + s.r.unwrap_or(0)).sum();
                let start = st.startNumber.unwrap_or(1);
                for n in start..start + count as u64 {
                    let seg = out.join(media.replace("$Number$", &n.to_string()));
                    assert!(seg.is_file(), "MPD names missing {}", seg.display());
                }
                let on_disk = segments(init.parent().unwrap()).len();
                assert_eq!(
                    count as usize, on_disk,
                    "{id}: SegmentTimeline vs files on disk"
                );
                seen.push(init.parent().unwrap().file_name().unwrap().to_owned());
            }
        }
    }
    for r in set {
        assert!(
            seen.iter().any(|s| s == r.id),
            "{} missing from the MPD",
            r.id
        );
    }
}

#[test]
fn manifests_match_the_segments_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    package_set(&out, &LADDER, &[]);
    check_manifests_against_disk(&out, &LADDER);
}

#[test]
fn encrypted_manifests_match_the_segments_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = protection_args("cbcs");
    args.extend(["--drm".into(), "clearkey,widevine,playready".into()]);
    package_set(&out, &LADDER, &args);
    check_manifests_against_disk(&out, &LADDER);
}

/// For one scheme: every rendition decrypts, with both decrypters, to the source.
fn decrypts_to_source(scheme: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let set = [&H264_240, &H264_720, &HEVC_360, &AAC_EN];
    package_set(&out, &set, &protection_args(scheme));
    for r in set {
        let key = test_key(r.label);
        let what = format!("{scheme} {} (key {})", r.id, r.label);
        let encrypted = concat_rendition(
            &out.join(r.id),
            &tmp.path().join(format!("{}.enc.mp4", r.id)),
        );
        let source = fixture(r.input);
        let clear_frames = framemd5(&source, r.stream, &[]);
        let clear_samples = samples(&source, r.stream, &[]);

        // Encryption really happened: the stored bytes differ from the source's.
        let stored = samples(&encrypted, "0", &[]);
        let changed = stored
            .iter()
            .zip(&clear_samples)
            .filter(|(a, b)| a.md5 != b.md5)
            .count();
        assert!(
            changed * 2 > stored.len(),
            "{what}: only {changed} of {} samples differ from the clear source",
            stored.len()
        );

        // Shaka Packager's decrypter: exact sample bytes back, hence the same frames.
        let decrypted = tmp.path().join(format!("{}.shaka-dec.mp4", r.id));
        let kind = if r.is_video() { "video" } else { "audio" };
        shaka_decrypt(&encrypted, kind, &decrypted, key.kid, key.key);
        assert_same_samples(
            &format!("{what}: Shaka-decrypted samples"),
            &clear_samples,
            &samples(&decrypted, "0", &[]),
        );
        assert_same_frames(
            &format!("{what}: Shaka-decrypted frames"),
            &clear_frames,
            &framemd5(&decrypted, "0", &[]),
        );

        // ffmpeg's decrypter.
        assert_same_frames(
            &format!("{what}: ffmpeg -decryption_key"),
            &clear_frames,
            &framemd5(&encrypted, "0", &["-decryption_key", key.key]),
        );

        // A wrong key must not give the source frames (ffmpeg may also refuse to decode at all).
        let wrong_key_matches =
            match ffmpeg_frames_or_error(&encrypted, "ffffffffffffffffffffffffffffffff") {
                Err(_) => false,
                Ok(hashes) => {
                    hashes.len() == clear_frames.len()
                        && hashes.iter().zip(&clear_frames).all(|(h, f)| *h == f.md5)
                }
            };
        assert!(
            !wrong_key_matches,
            "{what}: a wrong key decoded to the source frames"
        );
    }
}

fn ffmpeg_frames_or_error(file: &Path, key: &str) -> Result<Vec<String>, String> {
    let out = Command::new(&tools().ffmpeg)
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-decryption_key",
            key,
            "-i",
        ])
        .arg(file)
        .args([
            "-map",
            "0:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "framemd5",
            "-",
        ])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_string()))
        .collect())
}

#[test]
fn cenc_decrypts_to_the_source_in_shaka_packager_and_ffmpeg() {
    decrypts_to_source("cenc");
}

#[test]
fn cbcs_decrypts_to_the_source_in_shaka_packager_and_ffmpeg() {
    decrypts_to_source("cbcs");
}

#[test]
fn fixed_keys_and_iv_give_byte_identical_output() {
    let tmp = tempfile::tempdir().unwrap();
    for scheme in ["cenc", "cbcs"] {
        let a = tmp.path().join(format!("{scheme}-a"));
        let b = tmp.path().join(format!("{scheme}-b"));
        package_set(&a, &[&H264_240, &AAC_EN], &protection_args(scheme));
        package_set(&b, &[&H264_240, &AAC_EN], &protection_args(scheme));
        for r in [&H264_240, &AAC_EN] {
            for seg in segments(&a.join(r.id)) {
                let other = b.join(r.id).join(seg.file_name().unwrap());
                assert!(
                    std::fs::read(&seg).unwrap() == std::fs::read(&other).unwrap(),
                    "{scheme}: {} differs between two runs with the same keys and IV",
                    seg.display()
                );
            }
        }
    }
}

// ---- checks of the checks: a reference packager's output passes, a corrupted one fails ----------

fn shaka_package(out: &Path, set: &[&Rendition]) {
    let mut cmd = Command::new(root().join("scripts/shaka-package.sh"));
    cmd.env("PACKAGER", &tools().packager)
        .env("FFPROBE", &tools().ffprobe)
        .arg(out)
        .arg("none");
    // shaka-package.sh names renditions after the file; link each fixture under its rendition id.
    let links = out.with_extension("inputs");
    std::fs::create_dir_all(&links).unwrap();
    for r in set {
        let link = links.join(format!("{}.mp4", r.id));
        std::os::unix::fs::symlink(fixture(r.input), &link).unwrap();
        cmd.arg(link);
    }
    run_ok(&mut cmd);
}

#[test]
fn checks_accept_shaka_packager_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("shaka");
    shaka_package(&out, &LADDER);
    for r in LADDER {
        assert_lossless(&out, r, tmp.path());
    }
    assert_aligned(&out, &LADDER);
    check_manifests_against_disk(&out, &LADDER);
}

#[test]
fn checks_reject_a_corrupted_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("shaka");
    shaka_package(&out, &[&H264_360]);
    // Flip bytes in the middle of the second segment's mdat payload (a P/B slice).
    let seg = out.join("h264_360p/seg_2.m4s");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() * 3 / 4;
    for b in &mut bytes[at..at + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&seg, bytes).unwrap();
    let caught = std::panic::catch_unwind(|| assert_lossless(&out, &H264_360, tmp.path()));
    assert!(
        caught.is_err(),
        "the lossless check accepted a corrupted segment"
    );
}

#[test]
fn tracks_that_are_not_media_are_left_out_with_a_warning_and_the_media_stays_lossless() {
    // As cameras and editors write them: video and audio beside an in-file text track (mov_text)
    // and a timecode track (tmcd), made by ffmpeg.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("camera.mp4");
    run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error", "-y", "-i"])
            .arg(fixture("muxed_av.mp4"))
            .arg("-i")
            .arg(fixture("subs_fr.srt"))
            .args([
                "-map", "0:v", "-map", "0:a", "-map", "1", "-c", "copy", "-c:s", "mov_text",
            ])
            .args(["-timecode", "01:00:00:00", "-write_tmcd", "on"])
            .arg(&input),
    );
    let out = tmp.path().join("out");
    let run = run_ok(
        vodpack()
            .args(["package", "--json", "-o"])
            .arg(&out)
            .arg(&input),
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = summary["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 2, "{summary}");
    let warnings = summary["warnings"].as_array().unwrap();
    let dropped: Vec<&str> = warnings
        .iter()
        .filter(|w| w["kind"] == "dropped_track")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(dropped.len(), 2, "{summary}");
    assert!(
        dropped[0].contains("track 3") && dropped[0].contains("sbtl"),
        "{dropped:?}"
    );
    assert!(
        dropped[1].contains("track 4") && dropped[1].contains("tmcd"),
        "{dropped:?}"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    for line in &dropped {
        assert!(
            stderr.contains(&format!("vodpack: warning: {line}")),
            "{stderr}"
        );
    }
    for (id, kind) in kinds {
        let stream = if kind == "video" { "v:0" } else { "a:0" };
        let packaged = concat_rendition(&out.join(id), &tmp.path().join(format!("{id}.mp4")));
        assert_same_frames(
            id,
            &framemd5(&input, stream, &[]),
            &framemd5(&packaged, "0", &[]),
        );
    }
    // Chosen by the user, a track that is not media is an error (exit 4), not a warning.
    let chosen = vodpack()
        .args(["package", "-o"])
        .arg(tmp.path().join("out2"))
        .arg(format!("{}#3", input.display()))
        .output()
        .unwrap();
    assert_eq!(chosen.status.code(), Some(4), "{chosen:?}");
    let stderr = String::from_utf8_lossy(&chosen.stderr);
    assert!(
        stderr.contains("track 3") && stderr.contains("sbtl"),
        "{stderr}"
    );
    assert!(!tmp.path().join("out2").exists());
}

#[test]
fn hdr_video_is_signalled_in_hls_and_dash() {
    // HEVC made by x265 (the judges' libx265 is 8-bit only): PQ stated in the SPS VUI only, HLG
    // in a colr box too; and an SDR H.264 fixture, which must stay unsignalled.
    let tmp = tempfile::tempdir().unwrap();
    let tag = |trc: &str| {
        format!("setparams=color_primaries=bt2020:color_trc={trc}:colorspace=bt2020nc:range=tv")
    };
    let x265 = |vf: &str, extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["-vf", vf, "-c:v", "libx265", "-tag:v", "hvc1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(["-x265-params", "log-level=error:keyint=25:min-keyint=25"].map(String::from));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let pq = tmp.path().join("pq.mp4");
    let args = x265(&tag("smpte2084"), &[]);
    synth_video(
        &pq,
        "320x180",
        4,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let hlg = tmp.path().join("hlg.mp4");
    let args = x265(&tag("arib-std-b67"), &["-movflags", "+write_colr"]);
    synth_video(
        &hlg,
        "320x180",
        4,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for (input, range, element, value) in [
        (pq.clone(), Some("PQ"), "SupplementalProperty", "16"),
        (hlg.clone(), Some("HLG"), "SupplementalProperty", "18"),
        (fixture("h264_240p.mp4"), None, "", ""),
    ] {
        let out = tmp.path().join(format!("out_{}", range.unwrap_or("sdr")));
        package(&out, &[input.display().to_string()]);
        let master = std::fs::read(out.join("master.m3u8")).unwrap();
        let m3u8_rs::Playlist::MasterPlaylist(pl) = m3u8_rs::parse_playlist_res(&master).unwrap()
        else {
            panic!("not a multivariant playlist")
        };
        for v in &pl.variants {
            let got = v
                .other_attributes
                .as_ref()
                .and_then(|a| a.get("VIDEO-RANGE"))
                .map(|r| r.to_string());
            assert_eq!(got.as_deref(), range, "{range:?}: {v:?}");
        }
        let text = String::from_utf8_lossy(&master);
        let iframe = text
            .lines()
            .find(|l| l.starts_with("#EXT-X-I-FRAME-STREAM-INF"))
            .unwrap();
        assert_eq!(
            iframe.contains(&format!(",VIDEO-RANGE={}", range.unwrap_or("-"))),
            range.is_some(),
            "{iframe}"
        );
        let mpd_path = out.join("manifest.mpd");
        xmllint_mpd(&mpd_path);
        let mpd = std::fs::read_to_string(&mpd_path).unwrap();
        let cicp = "urn:mpeg:mpegB:cicp:TransferCharacteristics";
        match range {
            Some(_) => assert!(
                mpd.contains(&format!(
                    r#"<{element} schemeIdUri="{cicp}" value="{value}"/>"#
                )),
                "{mpd}"
            ),
            None => assert!(!mpd.contains(cicp), "{mpd}"),
        }
        dash_mpd_core::parse(&mpd).expect("dash-mpd-core reads the MPD");
        if range.is_none() {
            continue;
        }
        // Shaka Packager signals the same file the same way.
        let shaka = tmp.path().join(format!("shaka_{}", range.unwrap()));
        std::fs::create_dir_all(&shaka).unwrap();
        run_ok(
            Command::new(&tools().packager)
                .arg(format!(
                    "in={},stream=video,init_segment={}/init.mp4,segment_template={}/$Number$.m4s",
                    input.display(),
                    shaka.display(),
                    shaka.display()
                ))
                .arg("--mpd_output")
                .arg(shaka.join("m.mpd"))
                .arg("--hls_master_playlist_output")
                .arg(shaka.join("master.m3u8"))
                .arg("--quiet"),
        );
        let their_master = std::fs::read_to_string(shaka.join("master.m3u8")).unwrap();
        assert!(
            their_master.contains(&format!(",VIDEO-RANGE={},", range.unwrap())),
            "{their_master}"
        );
        let their_mpd = std::fs::read_to_string(shaka.join("m.mpd")).unwrap();
        assert!(
            their_mpd.contains(&format!(
                r#"<{element} schemeIdUri="{cicp}" value="{value}"/>"#
            )),
            "{their_mpd}"
        );
    }
}
