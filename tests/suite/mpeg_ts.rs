//! `--hls-segments ts`: HLS over MPEG-TS segments beside DASH over CMAF, from one run
//! (docs/mpeg-ts.md). Judged by readers nobody here wrote: ffmpeg decodes every segment alone
//! and the whole playlist to the source's frames; ffprobe's packet timestamps equal the CMAF
//! set's plus the shared offset; Debian's tstools (`tsreport`) finds the continuity counters and
//! PCRs in order.
use crate::common::{find_box, fixture, framemd5, package, run_ok, segment_starts, tools, Seconds};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The TS timestamps' offset over the CMAF presentation times (src/ts/mod.rs), 90 kHz ticks.
pub(crate) const OFFSET: i64 = 900_000;

pub(crate) fn ts_segments(dir: &Path) -> Vec<PathBuf> {
    let mut n = 1;
    let mut out = Vec::new();
    while dir.join(format!("seg_{n}.ts")).is_file() {
        out.push(dir.join(format!("seg_{n}.ts")));
        n += 1;
    }
    assert!(!out.is_empty(), "no seg_N.ts in {}", dir.display());
    out
}

/// Every packet's (pts, dts, flags) of the one stream of a TS file, 90 kHz.
pub(crate) fn ts_packets(file: &Path) -> Vec<(i64, i64, String)> {
    let out = run_ok(
        Command::new(&tools().ffprobe)
            .args([
                "-v",
                "error",
                "-show_entries",
                "packet=pts,dts,flags",
                "-of",
                "json",
            ])
            .arg(file),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pts"].as_i64().unwrap(),
                p["dts"].as_i64().unwrap(),
                p["flags"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The edit list's media_time of a CMAF init segment (0 without one), in its timescale.
pub(crate) fn edit_start(init: &Path) -> i64 {
    let bytes = std::fs::read(init).unwrap();
    match find_box(&bytes, &["moov", "trak", "edts", "elst"]) {
        Some(elst) if elst[0] == 1 => i64::from_be_bytes(elst[16..24].try_into().unwrap()),
        Some(elst) => i64::from(i32::from_be_bytes(elst[12..16].try_into().unwrap())),
        None => 0,
    }
}

pub(crate) fn timescale(init: &Path) -> i64 {
    let bytes = std::fs::read(init).unwrap();
    let mdhd = find_box(&bytes, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    let at = if mdhd[0] == 1 { 20 } else { 12 };
    i64::from(u32::from_be_bytes(mdhd[at..at + 4].try_into().unwrap()))
}

/// The MD5 of every stored audio packet (stream copy through `bsf`), in order.
pub(crate) fn packet_md5s(file: &Path, bsf: &[&str]) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
            .arg(file)
            .args(["-map", "0:a:0", "-c", "copy"])
            .args(bsf)
            .args(["-f", "framemd5", "-"]),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let md5s: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').nth(5).map(|m| m.trim().to_string()))
        .collect();
    assert!(!md5s.is_empty(), "no audio packets in {}", file.display());
    md5s
}

fn md5s(frames: &[crate::common::DecodedFrame]) -> Vec<&str> {
    frames.iter().map(|f| f.md5.as_str()).collect()
}

#[test]
fn ts_segments_decode_alone_and_as_a_playlist_to_the_source_on_the_cmaf_timeline() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 240p: no B-frames; 360p: B-frames with negative composition offsets; AAC with priming.
    let inputs = ["h264_240p.mp4", "h264_360p.mp4", "aac_en.mp4"];
    let mut args: Vec<String> = vec!["--hls-segments".into(), "ts".into()];
    args.extend(inputs.iter().map(|f| fixture(f).display().to_string()));
    package(&out, &args);

    let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
    let ids: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in &ids {
        let dir = out.join(id);
        let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
        assert!(!playlist.contains("#EXT-X-MAP"), "{playlist}");
        assert!(playlist.contains("ts/seg_1.ts"), "{playlist}");
        assert!(master.contains(&format!("{id}/playlist.m3u8")), "{master}");
        // DASH keeps CMAF in the rendition's folder.
        assert!(dir.join("init.mp4").is_file() && mpd.contains(id.as_str()));

        let source = match id.as_str() {
            "video_240p" => fixture("h264_240p.mp4"),
            "video_360p" => fixture("h264_360p.mp4"),
            _ => fixture("aac_en.mp4"),
        };
        let video = id.starts_with("video");
        let stream = if video { "v:0" } else { "a:0" };
        // The source decoded whole; audio with its priming (TS carries every frame, the
        // timestamps say where presentation starts).
        let expected = framemd5(&source, stream, &["-ignore_editlist", "1"]);

        // Every segment alone, then the whole playlist through ffmpeg's HLS demuxer. Video:
        // decoded frames. Audio: the stored frames (ADTS headers removed), since an AAC
        // decoder started mid-stream lacks the previous frame's overlap.
        let segs = ts_segments(&dir.join("ts"));
        if video {
            let mut alone = Vec::new();
            for seg in &segs {
                alone.extend(framemd5(seg, stream, &[]));
            }
            assert_eq!(
                md5s(&alone),
                md5s(&expected),
                "{id}: segments decoded alone"
            );
        } else {
            let want = packet_md5s(&source, &[]);
            let mut alone = Vec::new();
            for seg in &segs {
                alone.extend(packet_md5s(seg, &["-bsf:a", "aac_adtstoasc"]));
            }
            assert_eq!(alone, want, "{id}: audio frames of the segments alone");
        }
        let whole = framemd5(&dir.join("playlist.m3u8"), stream, &[]);
        assert_eq!(md5s(&whole), md5s(&expected), "{id}: the playlist");
        if video {
            // Presentation order and spacing too.
            let pts = |f: &[crate::common::DecodedFrame]| -> Vec<Seconds> {
                f.iter().map(|x| x.pts).collect()
            };
            assert_eq!(pts(&whole), pts(&expected), "{id}: frame times");
        }

        // Timestamps: each segment's earliest PTS is the CMAF segment's start (after the edit
        // list) plus the offset every rendition shares; DTS never after PTS.
        let ts = timescale(&dir.join("init.mp4"));
        let edit = if video {
            0
        } else {
            edit_start(&dir.join("init.mp4"))
        };
        let starts = segment_starts(&dir);
        assert_eq!(starts.len(), segs.len(), "{id}: same segment boundaries");
        for (i, (seg, start)) in segs.iter().zip(&starts).enumerate() {
            let packets = ts_packets(seg);
            for (pts, dts, _) in &packets {
                assert!(
                    dts <= pts,
                    "{id} segment {}: DTS {dts} after PTS {pts}",
                    i + 1
                );
            }
            let earliest = packets.iter().map(|p| p.0).min().unwrap();
            let want = start.sub(Seconds::new(edit, 1, ts));
            let got = Seconds::new(earliest - OFFSET, 1, 90_000);
            let diff = got.sub(want).as_f64().abs();
            assert!(
                diff <= 1.0 / 90_000.0,
                "{id} segment {}: TS starts at {got:?}, CMAF at {want:?}",
                i + 1
            );
            assert!(
                packets[0].2.starts_with('K'),
                "{id} segment {} starts with a keyframe",
                i + 1
            );
        }
    }
}

#[test]
fn tsreport_finds_continuous_counters_and_pcrs_at_most_100_ms_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args: Vec<String> = vec![
        "--hls-segments".into(),
        "ts".into(),
        fixture("h264_360p.mp4").display().to_string(),
        fixture("aac_en.mp4").display().to_string(),
    ];
    package(&out, &args);
    let tsreport = which("tsreport");
    for entry in std::fs::read_dir(&out).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        // The playlist as a player's buffer sees it: every segment, in order.
        let mut all = Vec::new();
        for seg in ts_segments(&dir.join("ts")) {
            all.extend(std::fs::read(seg).unwrap());
        }
        let joined = tmp.path().join("all.ts");
        std::fs::write(&joined, &all).unwrap();
        // tsreport -cnt writes every continuity counter of the PID to continuity_counter.txt
        // in its working folder.
        let work = tmp.path().join("cnt");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir(&work).unwrap();
        let report = run_ok(
            Command::new(&tsreport)
                .current_dir(&work)
                .args(["-cnt", "256", "-timing"])
                .arg(&joined),
        );
        let text = String::from_utf8_lossy(&report.stdout).into_owned();
        for clean in ["Bad (>.1s) gaps: 0", "duplicate packets: 0"] {
            assert!(text.contains(clean), "{}: {clean}?\n{text}", dir.display());
        }
        let counters = std::fs::read_to_string(work.join("continuity_counter.txt")).unwrap();
        let values: Vec<u32> = counters
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(values.len() > 100, "{counters}");
        check_pcrs(&all, dir.display().to_string());
    }
}

/// Reads the PCRs of the ES PID straight from the packets: present, increasing, at most 100 ms
/// apart (ISO/IEC 13818-1 §2.7.2), and every payload packet's continuity counter one more than
/// the last.
pub(crate) fn check_pcrs(ts: &[u8], what: String) {
    assert_eq!(ts.len() % 188, 0);
    let mut last_pcr: Option<u64> = None;
    let mut last_cc: std::collections::HashMap<u16, u8> = Default::default();
    for p in ts.chunks(188) {
        assert_eq!(p[0], 0x47, "{what}: sync byte");
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        let afc = (p[3] >> 4) & 3;
        let cc = p[3] & 0x0f;
        if afc & 1 == 1 {
            if let Some(prev) = last_cc.insert(pid, cc) {
                assert_eq!(cc, (prev + 1) & 0x0f, "{what}: continuity on PID {pid}");
            }
        }
        if afc & 2 == 2 && p[4] > 0 && p[5] & 0x10 != 0 {
            let b = &p[6..12];
            let base = (u64::from(b[0]) << 25)
                | (u64::from(b[1]) << 17)
                | (u64::from(b[2]) << 9)
                | (u64::from(b[3]) << 1)
                | u64::from(b[4] >> 7);
            if let Some(l) = last_pcr {
                assert!(base >= l, "{what}: PCR went back");
                assert!(
                    base - l <= 9000,
                    "{what}: PCRs {} ms apart",
                    (base - l) / 90
                );
            }
            last_pcr = Some(base);
        }
    }
    assert!(last_pcr.is_some(), "{what}: no PCR");
}

pub(crate) fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} is missing: run scripts/install-tstools.sh (scripts/test.sh does)")
        })
}

#[test]
fn hevc_ac3_and_eac3_are_carried_and_decode_to_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    // AC-3 and E-AC-3 made from the AAC fixture by ffmpeg (fragmented MP4, as vodpack reads).
    let mut inputs = vec![fixture("hevc_360p.mp4")];
    for (codec, name) in [("ac3", "ac3.mp4"), ("eac3", "eac3.mp4")] {
        let dest = tmp.path().join(name);
        run_ok(
            Command::new(&tools().ffmpeg)
                .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
                .arg(fixture("aac_en.mp4"))
                .args(["-c:a", codec, "-b:a", "192k", "-t", "4"])
                .args(["-movflags", "+frag_keyframe+delay_moov+default_base_moof"])
                .arg(&dest),
        );
        inputs.push(dest);
    }
    let ids = ["video_hevc_360p", "ac3", "eac3"];
    let out = tmp.path().join("out");
    let mut args: Vec<String> = vec!["--hls-segments".into(), "ts".into()];
    args.push(inputs[0].display().to_string());
    for (p, id) in inputs[1..].iter().zip(&ids[1..]) {
        args.push(format!("in={},id={id}", p.display()));
    }
    package(&out, &args);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 3);
    for dir in dirs {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let video = id.starts_with("video");
        let source = match id.as_str() {
            "ac3" => tmp.path().join("ac3.mp4"),
            "eac3" => tmp.path().join("eac3.mp4"),
            _ => fixture("hevc_360p.mp4"),
        };
        let stream = if video { "v:0" } else { "a:0" };
        let expected = framemd5(&source, stream, &["-ignore_editlist", "1"]);
        let whole = framemd5(&dir.join("playlist.m3u8"), stream, &[]);
        assert_eq!(md5s(&whole), md5s(&expected), "{id}: the playlist");
    }
}

/// The ladder packaged with `--hls-segments ts`, then played by `player` over `protocol` in
/// Chromium: load, play, seek, switch to every video rendition (tests/browser/run.mjs).
fn play_ts_ladder(player: &str, protocol: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args: Vec<String> = vec!["--hls-segments".into(), "ts".into()];
    for n in ["h264_240p", "h264_360p", "h264_720p", "aac_en"] {
        args.push(fixture(&format!("{n}.mp4")).display().to_string());
    }
    package(&out, &args);
    let mut cmd = crate::common::browser_harness(&out, player, protocol);
    cmd.args(["--drm", "none", "--expect", "play"])
        .args(["--expect-heights", "240,360,720"])
        .args(["--port", &crate::common::free_port().to_string()]);
    crate::common::assert_harness_ok(&mut cmd, &format!("{player} {protocol}"));
}

#[test]
fn hlsjs_plays_seeks_and_switches_the_ts_playlists() {
    play_ts_ladder("hlsjs", "hls");
}

#[test]
fn shaka_plays_seeks_and_switches_the_ts_playlists() {
    play_ts_ladder("shaka", "hls");
}

#[test]
fn dash_of_the_same_run_still_plays() {
    play_ts_ladder("shaka", "dash");
}
