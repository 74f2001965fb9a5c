//! MP3 in MP4 (`mp4a` with objectTypeIndication 0x6B/0x69) over MPEG-TS and as packed `.mp3`
//! (docs/mpeg-ts.md, "MP3"). ffmpeg reads every segment alone and the playlist to the source's
//! frames and decoded audio; the PMT says MPEG-1 (0x03) or MPEG-2 (0x04) audio; tsreport and the
//! packet walk find the counters and PCRs in order; hls.js plays it in Chromium. CMAF of MP3 and
//! SAMPLE-AES of MP3 are refused (exit 4).
use crate::common::{fixture, framemd5, package, run_ok, segment_starts, tools, vodpack, Seconds};
use crate::mpeg_ts::{
    check_pcrs, edit_start, packet_md5s, timescale, ts_packets, ts_segments, which, OFFSET,
};
use crate::mpeg_ts_encryption::pmt_stream;
use crate::mpeg_ts_packed::{id3_timestamp, numbered, packet_md5s_from};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The MP3 fixture (44.1 kHz, MPEG-1) and the same tones as MPEG-2 audio at 22.05 kHz, made by
/// ffmpeg's LAME encoder into MP4 (OTI 0x69).
fn mp3_inputs(dir: &Path) -> [PathBuf; 2] {
    let lsf = dir.join("mp3_lsf.mp4");
    run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
            .arg(fixture("mp3_stereo.mp4"))
            .args([
                "-c:a",
                "libmp3lame",
                "-ar",
                "22050",
                "-b:a",
                "64k",
                "-t",
                "6",
            ])
            .arg(&lsf),
    );
    [fixture("mp3_stereo.mp4"), lsf]
}

fn args(extra: &[&str], inputs: &[PathBuf]) -> Vec<String> {
    let mut a: Vec<String> = ["--hls-segments", "ts", "--manifests", "hls"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    a.push(fixture("h264_240p.mp4").display().to_string());
    for (p, id) in inputs.iter().zip(["mp3", "mp3_lsf"]) {
        a.push(format!("in={},id={id}", p.display()));
    }
    a
}

/// Decoded audio (MD5 per frame): the source's from its first frame (TS carries the encoder
/// delay, the timestamps say where presentation starts).
fn decoded(file: &Path, input_args: &[&str]) -> Vec<String> {
    framemd5(file, "a:0", input_args)
        .into_iter()
        .map(|f| f.md5)
        .collect()
}

#[test]
fn mp3_in_ts_and_packed_reads_to_the_source_on_the_ts_timeline() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = mp3_inputs(tmp.path());
    let ts = tmp.path().join("ts");
    package(&ts, &args(&[], &inputs));
    let packed = tmp.path().join("packed");
    package(&packed, &args(&["--hls-packed-audio"], &inputs));

    let master = std::fs::read_to_string(ts.join("master.m3u8")).unwrap();
    assert!(
        master.contains("CODECS=\"avc1.42c015,mp4a.40.34\""),
        "{master}"
    );
    assert!(!ts.join("manifest.mpd").exists(), "no MPD of MP3");
    let tsreport = which("tsreport");
    for (source, (id, stream_type)) in inputs.iter().zip([("mp3", 0x03), ("mp3_lsf", 0x04)]) {
        let dir = ts.join(id);
        let segs = ts_segments(&dir.join("ts"));
        let mut all = Vec::new();
        for seg in &segs {
            all.extend(std::fs::read(seg).unwrap());
        }
        // MPEG-1 audio at 44.1 kHz, MPEG-2 audio at 22.05 kHz (ISO/IEC 13818-1 Table 2-34).
        assert_eq!(pmt_stream(&all).0, stream_type, "{id}: stream_type");

        // The stored frames, every segment alone and the playlist; the decoded audio of the
        // playlist equals the source's decoded from its first frame.
        let want = packet_md5s(source, &[]);
        let mut alone = Vec::new();
        for seg in &segs {
            alone.extend(packet_md5s(seg, &[]));
        }
        assert_eq!(alone, want, "{id}: frames of the segments alone");
        let playlist = dir.join("playlist.m3u8");
        assert_eq!(packet_md5s(&playlist, &[]), want, "{id}: playlist frames");
        assert_eq!(
            decoded(&playlist, &[]),
            decoded(source, &["-ignore_editlist", "1"]),
            "{id}: decoded audio"
        );

        // Each segment's first PTS is the (unread) CMAF set's segment start after the edit
        // list (the encoder delay), plus the shared offset; DTS = PTS for audio.
        let init = dir.join("init.mp4");
        let (scale, edit) = (timescale(&init), edit_start(&init));
        assert!(edit > 0, "{id}: the encoder delay is an edit");
        let starts = segment_starts(&dir);
        assert_eq!(starts.len(), segs.len(), "{id}: same segment boundaries");
        for (i, (seg, start)) in segs.iter().zip(&starts).enumerate() {
            let packets = ts_packets(seg);
            assert!(packets.iter().all(|(pts, dts, _)| dts <= pts));
            let got = Seconds::new(packets[0].0 - OFFSET, 1, 90_000);
            let want = start.sub(Seconds::new(edit, 1, scale));
            assert!(
                got.sub(want).as_f64().abs() <= 1.0 / 90_000.0,
                "{id} segment {}: TS {got:?}, CMAF {want:?}",
                i + 1
            );
        }

        // tsreport over the playlist's bytes: no PCR gap over 100 ms, no duplicate packet; the
        // packet walk: counters continuous, PCRs at most 100 ms apart.
        let joined = tmp.path().join(format!("{id}.ts"));
        std::fs::write(&joined, &all).unwrap();
        let work = tmp.path().join(format!("{id}_cnt"));
        std::fs::create_dir(&work).unwrap();
        let report = run_ok(
            Command::new(&tsreport)
                .current_dir(&work)
                .args(["-cnt", "256", "-timing"])
                .arg(&joined),
        );
        let text = String::from_utf8_lossy(&report.stdout).into_owned();
        let kind = if stream_type == 3 {
            "11172-3 audio (MPEG-1)"
        } else {
            "13818-3 audio (MPEG-2)"
        };
        for clean in ["Bad (>.1s) gaps: 0", "duplicate packets: 0", kind] {
            assert!(text.contains(clean), "{id}: {clean}?\n{text}");
        }
        check_pcrs(&all, id.to_string());

        // Packed audio: `.mp3` segments after an ID3 tag holding the TS set's first PTS; ffmpeg's
        // MP3 demuxer skips the tag, its HLS demuxer reads the tag's timestamp.
        let pdir = packed.join(id);
        let psegs = numbered(&pdir.join("ts"), "mp3");
        assert_eq!(psegs.len(), segs.len(), "{id}: packed boundaries");
        let mut alone = Vec::new();
        for (i, (pseg, seg)) in psegs.iter().zip(&segs).enumerate() {
            assert_eq!(
                id3_timestamp(pseg),
                ts_packets(seg)[0].0,
                "{id} packed segment {}",
                i + 1
            );
            alone.extend(packet_md5s_from(pseg, 0, &[]));
        }
        assert_eq!(alone, want, "{id}: packed segments alone");
        let pplaylist = pdir.join("playlist.m3u8");
        assert_eq!(packet_md5s(&pplaylist, &[]), want, "{id}: packed playlist");
        assert_eq!(
            ts_packets(&pplaylist)[0].0,
            ts_packets(&segs[0])[0].0,
            "{id}: packed timeline"
        );
    }
}

#[test]
fn mp3_aes_128_decrypts_in_ffmpeg_to_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let key = crate::common::test_key("AUDIO");
    let mut a: Vec<String> = [
        "--hls-segments",
        "ts",
        "--manifests",
        "hls",
        "--protection",
        "dash=cenc,hls=aes-128",
        "--hls-key-uri",
        "../../keys/{kid}.key",
        "--key",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(format!("label=AUDIO,kid={},key={}", key.kid, key.key));
    a.push(fixture("mp3_stereo.mp4").display().to_string());
    for packed in [false, true] {
        let out = tmp.path().join(format!("out_{packed}"));
        let mut a = a.clone();
        if packed {
            a.push("--hls-packed-audio".into());
        }
        package(&out, &a);
        let keys = tmp.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(
            keys.join(format!("{}.key", key.kid)),
            hex::decode(key.key).unwrap(),
        )
        .unwrap();
        let playlist = out.join("audio_und/playlist.m3u8");
        let text = std::fs::read_to_string(&playlist).unwrap();
        assert!(text.contains("#EXT-X-KEY:METHOD=AES-128,"), "{text}");
        let got = run_ok(
            Command::new(&tools().ffmpeg)
                .args(["-hide_banner", "-nostdin", "-v", "error"])
                .args(["-allowed_extensions", "ALL", "-i"])
                .arg(&playlist)
                .args(["-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-"]),
        );
        let got: Vec<String> = String::from_utf8_lossy(&got.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(',').nth(5).map(|m| m.trim().to_string()))
            .collect();
        assert_eq!(
            got,
            packet_md5s(&fixture("mp3_stereo.mp4"), &[]),
            "packed: {packed}"
        );
    }
}

#[test]
fn mp3_in_cmaf_and_mp3_sample_aes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mp3 = fixture("mp3_stereo.mp4").display().to_string();
    let cases: [(&[&str], &str); 3] = [
        // No TS: the CMAF set would carry it for both manifests.
        (&[], "--hls-segments ts --manifests hls"),
        // TS for HLS, but the MPD would read CMAF.
        (
            &["--hls-segments", "ts"],
            "Shaka Packager 3.8 refuses it too",
        ),
        (
            &[
                "--hls-segments",
                "ts",
                "--manifests",
                "hls",
                "--protection",
                "dash=cenc,hls=sample-aes",
            ],
            "not MP3",
        ),
    ];
    for (i, (flags, says)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let run = vodpack()
            .arg("package")
            .arg("-o")
            .arg(&out)
            .args(*flags)
            .arg(&mp3)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(4), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!out.exists(), "{flags:?}: nothing written");
    }
}

/// hls.js in Chromium: MP3 over TS alone (the audio drives the clock: no video to advance it),
/// and packed `.mp3` beside TS video.
#[test]
fn hlsjs_plays_mp3_over_ts_and_packed() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, extra) in [&["--hls-packed-audio"][..], &[]].iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let mut a: Vec<String> = ["--hls-segments", "ts", "--manifests", "hls"]
            .iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect();
        // Packed audio beside TS video; TS audio alone.
        let packed = !extra.is_empty();
        if packed {
            a.push(fixture("h264_240p.mp4").display().to_string());
        }
        a.push(fixture("mp3_stereo.mp4").display().to_string());
        package(&out, &a);
        let ext = if packed { "mp3" } else { "ts" };
        assert!(out.join(format!("audio_und/ts/seg_1.{ext}")).is_file());
        let mut cmd = crate::common::browser_harness(&out, "hlsjs", "hls");
        cmd.args(["--drm", "none", "--expect", "play"])
            .args(["--port", &crate::common::free_port().to_string()]);
        if packed {
            cmd.args(["--expect-heights", "240"]);
        }
        crate::common::assert_harness_ok(&mut cmd, &format!("hls.js {extra:?}"));
    }
}
