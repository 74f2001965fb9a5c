//! `--hls-packed-audio`: audio-only renditions of an `--hls-segments ts` run as packed audio
//! (docs/mpeg-ts.md, "Packed audio"). ffmpeg reads every `.aac`/`.ac3`/`.ec3` segment alone and
//! the whole playlist to the source's audio packets; each segment's ID3 PRIV timestamp equals the
//! PTS the TS set gives its first frame; hls.js plays TS video with packed audio in Chromium.
use crate::common::{fixture, package, run_ok, tools, vodpack};
use crate::mpeg_ts::{packet_md5s, ts_packets};
use std::path::{Path, PathBuf};
use std::process::Command;

const OWNER: &[u8] = b"com.apple.streaming.transportStreamTimestamp\0";

pub(crate) fn numbered(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let out: Vec<PathBuf> = (1..)
        .map(|n| dir.join(format!("seg_{n}.{ext}")))
        .take_while(|p| p.is_file())
        .collect();
    assert!(!out.is_empty(), "no seg_N.{ext} in {}", dir.display());
    out
}

/// The timestamp of a packed audio segment's opening ID3v2.4 PRIV frame (checked field by
/// field against ID3v2.4 and RFC 8216 §3.4).
pub(crate) fn id3_timestamp(seg: &Path) -> i64 {
    let b = std::fs::read(seg).unwrap();
    assert_eq!(&b[..4], b"ID3\x04", "{}: ID3v2.4 header", seg.display());
    let synchsafe = |s: &[u8]| {
        s.iter()
            .fold(0usize, |n, &x| (n << 7) | usize::from(x & 0x7f))
    };
    let tag_size = synchsafe(&b[6..10]);
    assert_eq!(&b[10..14], b"PRIV");
    let frame_size = synchsafe(&b[14..18]);
    assert_eq!(frame_size, OWNER.len() + 8);
    assert_eq!(tag_size, 10 + frame_size);
    assert_eq!(&b[20..20 + OWNER.len()], OWNER);
    let at = 20 + OWNER.len();
    let t = u64::from_be_bytes(b[at..at + 8].try_into().unwrap());
    assert!(t < 1 << 33, "33-bit timestamp, got {t}");
    t as i64
}

/// Bytes of a segment's ID3v2 tag, header included (from its synchsafe size field).
fn id3_size(seg: &Path) -> usize {
    let b = std::fs::read(seg).unwrap();
    assert_eq!(&b[..3], b"ID3");
    10 + b[6..10]
        .iter()
        .fold(0usize, |n, &x| (n << 7) | usize::from(x & 0x7f))
}

/// The MD5 of every stored audio packet of `file` read from byte `skip` (stream copy through
/// `bsf`), in order.
pub(crate) fn packet_md5s_from(file: &Path, skip: usize, bsf: &[&str]) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(["-skip_initial_bytes", &skip.to_string(), "-i"])
            .arg(file)
            .args(["-map", "0:a:0", "-c", "copy"])
            .args(bsf)
            .args(["-f", "framemd5", "-"]),
    );
    let md5s: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').nth(5).map(|m| m.trim().to_string()))
        .collect();
    assert!(!md5s.is_empty(), "no audio packets in {}", file.display());
    md5s
}

/// AC-3 and E-AC-3 inputs made from the AAC fixture by ffmpeg (fragmented MP4).
fn dolby_inputs(dir: &Path) -> Vec<PathBuf> {
    ["ac3", "eac3"]
        .iter()
        .map(|codec| {
            let dest = dir.join(format!("{codec}.mp4"));
            run_ok(
                Command::new(&tools().ffmpeg)
                    .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
                    .arg(fixture("aac_en.mp4"))
                    .args(["-c:a", codec, "-b:a", "192k", "-t", "6"])
                    .args(["-movflags", "+frag_keyframe+delay_moov+default_base_moof"])
                    .arg(&dest),
            );
            dest
        })
        .collect()
}

fn args(packed: bool, inputs: &[(PathBuf, &str)]) -> Vec<String> {
    let mut a: Vec<String> = vec!["--hls-segments".into(), "ts".into()];
    if packed {
        a.push("--hls-packed-audio".into());
    }
    for (p, id) in inputs {
        a.push(format!("in={},id={id}", p.display()));
    }
    a
}

#[test]
fn packed_audio_reads_to_the_source_with_the_ts_sets_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let dolby = dolby_inputs(tmp.path());
    let inputs = [
        (fixture("h264_240p.mp4"), "video"),
        (fixture("aac_en.mp4"), "aac"),
        (dolby[0].clone(), "ac3"),
        (dolby[1].clone(), "eac3"),
    ];
    let packed = tmp.path().join("packed");
    package(&packed, &args(true, &inputs));
    // The same inputs as TS: the timestamps packed audio must carry.
    let ts = tmp.path().join("ts");
    package(&ts, &args(false, &inputs));

    // Video stays TS.
    let video = std::fs::read_to_string(packed.join("video/playlist.m3u8")).unwrap();
    assert!(video.contains("ts/seg_1.ts"), "{video}");
    for ((source, id), ext) in inputs[1..].iter().zip(["aac", "ac3", "ec3"]) {
        let dir = packed.join(id);
        let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
        assert!(playlist.contains(&format!("ts/seg_1.{ext}")), "{playlist}");
        assert!(!playlist.contains(".ts") && !playlist.contains("#EXT-X-MAP"));
        let segs = numbered(&dir.join("ts"), ext);
        let ts_segs = numbered(&ts.join(id).join("ts"), "ts");
        assert_eq!(segs.len(), ts_segs.len(), "{id}: same segment boundaries");
        assert_eq!(
            segs.len(),
            playlist.matches("#EXTINF").count(),
            "{id}: every segment listed"
        );

        // Stored frames (ADTS headers removed for AAC), every segment alone and the playlist.
        let bsf: &[&str] = if ext == "aac" {
            &["-bsf:a", "aac_adtstoasc"]
        } else {
            &[]
        };
        let want = packet_md5s(source, &[]);
        // ffmpeg's raw AAC demuxer skips the ID3 tag; its AC-3/E-AC-3 demuxers do not (they
        // would hand the tag on as a frame), so they start after the size the tag's header gives.
        // Its HLS demuxer reads the tag as players do (the playlist below).
        let mut alone = Vec::new();
        for seg in &segs {
            let skip = if ext == "aac" { 0 } else { id3_size(seg) };
            alone.extend(packet_md5s_from(seg, skip, bsf));
        }
        assert_eq!(alone, want, "{id}: frames of the segments alone");
        let whole = packet_md5s(&dir.join("playlist.m3u8"), bsf);
        assert_eq!(whole, want, "{id}: frames of the playlist");
        // ffmpeg's HLS demuxer times packed audio by the PRIV timestamp: the TS set's times.
        assert_eq!(
            ts_packets(&dir.join("playlist.m3u8"))[0].0,
            ts_packets(&ts_segs[0])[0].0,
            "{id}: first packet time through ffmpeg's HLS demuxer"
        );

        // Each segment's ID3 timestamp is the PTS of the TS segment's first frame.
        for (i, (seg, ts_seg)) in segs.iter().zip(&ts_segs).enumerate() {
            let first = ts_packets(ts_seg)[0].0;
            assert_eq!(id3_timestamp(seg), first, "{id} segment {}", i + 1);
        }
    }
}

#[test]
fn packed_audio_needs_ts_segments_and_sample_aes_needs_aac() {
    let tmp = tempfile::tempdir().unwrap();
    let dolby = dolby_inputs(tmp.path());
    let run = |extra: &[&str], input: &Path| {
        let out = vodpack()
            .arg("package")
            .arg("-o")
            .arg(tmp.path().join("out"))
            .args(extra)
            .arg(input)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--hls-packed-audio"], &fixture("aac_en.mp4"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--hls-segments ts"), "{err}");
    // SAMPLE-AES packed audio: AAC only (no reader here decrypts packed AC-3/E-AC-3).
    for input in &dolby {
        let (code, err) = run(
            &[
                "--hls-packed-audio",
                "--hls-segments",
                "ts",
                "--protection",
                "dash=cenc,hls=sample-aes",
            ],
            input,
        );
        assert_eq!(code, Some(4), "{err}");
        assert!(err.contains("AAC only"), "{err}");
    }
    assert!(!tmp.path().join("out").exists());
}

/// SAMPLE-AES packed AAC (Apple's Sample Encryption, packed audio): each segment's ID3 tag
/// carries the audio setup information in a second PRIV frame; ffmpeg's HLS demuxer reads it
/// and decrypts the playlist to the source's frames; hls.js plays it beside SAMPLE-AES TS video.
#[test]
fn sample_aes_packed_aac_decrypts_in_ffmpeg_and_plays_in_hlsjs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a: Vec<String> = [
        "--hls-segments",
        "ts",
        "--hls-packed-audio",
        "--protection",
        "dash=cenc,hls=sample-aes",
        "--hls-key-uri",
        "../../keys/{kid}.key",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in &crate::common::TEST_KEYS {
        a.push("--key".into());
        a.push(format!("label={},kid={},key={}", k.label, k.kid, k.key));
    }
    for f in ["h264_240p.mp4", "aac_en.mp4"] {
        a.push(fixture(f).display().to_string());
    }
    let out = tmp.path().join("out");
    package(&out, &a);
    let key = crate::common::test_key("AUDIO");
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(
        keys.join(format!("{}.key", key.kid)),
        hex::decode(key.key).unwrap(),
    )
    .unwrap();
    // The clear packed run of the same inputs: the timestamps and frames the encrypted one
    // must carry.
    let clear = tmp.path().join("clear");
    let inputs = [
        (fixture("h264_240p.mp4"), "video_240p"),
        (fixture("aac_en.mp4"), "audio_en"),
    ];
    package(&clear, &args(true, &inputs));

    let dir = out.join("audio_en");
    let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
    assert!(
        playlist.contains(&format!(
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"../../keys/{}.key\",IV=0x",
            key.kid
        )),
        "{playlist}"
    );
    let segs = numbered(&dir.join("ts"), "aac");
    let clear_segs = numbered(&clear.join("audio_en/ts"), "aac");
    assert_eq!(segs.len(), clear_segs.len());
    let audio_description = b"com.apple.streaming.audioDescription\0";
    for (seg, clear_seg) in segs.iter().zip(&clear_segs) {
        let bytes = std::fs::read(seg).unwrap();
        let plain = std::fs::read(clear_seg).unwrap();
        // The tag: the timestamp frame as in the clear run, then the audio setup information
        // (`zaac`, priming 0, version 1, the AudioSpecificConfig: 0x1190…, AAC-LC 48 kHz stereo).
        id3_timestamp(clear_seg);
        assert_eq!(bytes[10..73], plain[10..73], "the timestamp frame, first");
        let tag = id3_size(seg);
        let at = bytes[..tag]
            .windows(audio_description.len())
            .position(|w| w == audio_description)
            .expect("an audioDescription PRIV frame");
        let setup = &bytes[at + audio_description.len()..tag];
        assert_eq!(setup[..7], *b"zaac\0\0\x01");
        assert_eq!(usize::from(setup[7]), setup.len() - 8);
        assert_eq!(setup[8..10], [0x11, 0x90]);
        // The same ADTS frames, each with 16 bytes clear after its header and its trailing
        // partial block clear, the rest different.
        let (enc, dec) = (&bytes[tag..], &plain[id3_size(clear_seg)..]);
        assert_eq!(enc.len(), dec.len());
        assert_eq!(enc[..7 + 16], dec[..7 + 16]);
        assert_ne!(enc, dec);
    }
    assert_eq!(
        playlist_aac_md5s(&dir.join("playlist.m3u8")),
        packet_md5s(&fixture("aac_en.mp4"), &[])
    );

    // hls.js, keys from the harness's raw-key endpoint.
    let served = tmp.path().join("served");
    let mut a = a.clone();
    let uri = a.iter().position(|s| s == "../../keys/{kid}.key").unwrap();
    a[uri] = "/key/{kid}".into();
    package(&served, &a);
    let mut cmd = crate::common::browser_harness(&served, "hlsjs", "hls");
    cmd.args(["--drm", "server", "--expect", "play"])
        .args(["--keys", &crate::common::browser_keys_arg()])
        .args(["--expect-heights", "240"])
        .args(["--port", &crate::common::free_port().to_string()]);
    let report = crate::common::assert_harness_ok(&mut cmd, "hls.js SAMPLE-AES packed AAC");
    // The audio key was fetched from the packed playlist's key URI.
    let kids = report["licenseKids"].to_string();
    assert!(kids.contains(key.kid), "{report}");
}

#[test]
fn hlsjs_plays_ts_video_with_packed_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut a: Vec<String> = vec![
        "--hls-segments".into(),
        "ts".into(),
        "--hls-packed-audio".into(),
    ];
    for n in ["h264_240p", "h264_360p", "aac_en"] {
        a.push(fixture(&format!("{n}.mp4")).display().to_string());
    }
    package(&out, &a);
    assert!(out.join("audio_en/ts/seg_1.aac").is_file());
    let mut cmd = crate::common::browser_harness(&out, "hlsjs", "hls");
    cmd.args(["--drm", "none", "--expect", "play"])
        .args(["--expect-heights", "240,360"])
        .args(["--port", &crate::common::free_port().to_string()]);
    crate::common::assert_harness_ok(&mut cmd, "hls.js");
}

#[test]
fn aes_128_packed_audio_decrypts_in_openssl_and_ffmpeg_to_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let key = crate::common::test_key("AUDIO");
    let mut a: Vec<String> = [
        "--hls-segments",
        "ts",
        "--hls-packed-audio",
        "--protection",
        "dash=cenc,hls=aes-128",
        "--hls-key-uri",
        "../../keys/{kid}.key",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in &crate::common::TEST_KEYS {
        a.push("--key".into());
        a.push(format!("label={},kid={},key={}", k.label, k.kid, k.key));
    }
    a.push(fixture("aac_en.mp4").display().to_string());
    let enc = tmp.path().join("out");
    package(&enc, &a);
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(
        keys.join(format!("{}.key", key.kid)),
        hex::decode(key.key).unwrap(),
    )
    .unwrap();
    // The clear packed run of the same input: the timestamps the decrypted segments must carry.
    let clear = tmp.path().join("clear");
    package(&clear, &args(true, &[(fixture("aac_en.mp4"), "audio_en")]));

    let dir = enc.join("audio_en");
    let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
    assert!(
        playlist.contains(&format!(
            "#EXT-X-KEY:METHOD=AES-128,URI=\"../../keys/{}.key\"",
            key.kid
        )),
        "{playlist}"
    );
    let segs = numbered(&dir.join("ts"), "aac");
    let clear_segs = numbered(&clear.join("audio_en/ts"), "aac");
    assert_eq!(segs.len(), clear_segs.len());
    for (i, (seg, clear_seg)) in segs.iter().zip(&clear_segs).enumerate() {
        let bytes = std::fs::read(seg).unwrap();
        assert!(
            bytes.len() % 16 == 0 && &bytes[..3] != b"ID3",
            "encrypted whole"
        );
        // IV: the media sequence number (RFC 8216 §5.2).
        let plain = run_ok(
            Command::new("openssl")
                .args(["enc", "-d", "-aes-128-cbc", "-K", key.key])
                .args(["-iv", &format!("{i:032x}"), "-in"])
                .arg(seg),
        )
        .stdout;
        let decrypted = tmp.path().join(format!("dec_{}.aac", i + 1));
        std::fs::write(&decrypted, &plain).unwrap();
        assert_eq!(
            id3_timestamp(&decrypted),
            id3_timestamp(clear_seg),
            "segment {}",
            i + 1
        );
        assert_eq!(
            packet_md5s(&decrypted, &["-bsf:a", "aac_adtstoasc"]),
            packet_md5s(clear_seg, &["-bsf:a", "aac_adtstoasc"]),
            "segment {}",
            i + 1
        );
    }
    // ffmpeg's HLS demuxer fetches the key and decrypts the playlist to the source's frames
    // (the key files end in `.key`, outside its default list of HLS extensions).
    assert_eq!(
        playlist_aac_md5s(&dir.join("playlist.m3u8")),
        packet_md5s(&fixture("aac_en.mp4"), &[])
    );
}

/// ffmpeg's HLS demuxer reads the packed-AAC playlist (fetching its keys, if any): the MD5 of
/// each AAC packet, in order.
fn playlist_aac_md5s(playlist: &Path) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(["-allowed_extensions", "ALL", "-i"])
            .arg(playlist)
            .args(["-map", "0:a:0", "-c", "copy", "-bsf:a", "aac_adtstoasc"])
            .args(["-f", "framemd5", "-"]),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').nth(5).map(|m| m.trim().to_string()))
        .collect()
}
