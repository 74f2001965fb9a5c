//! The TS set's own encryption (`--protection dash=S,hls=sample-aes|aes-128` with
//! `--hls-segments ts`, docs/mpeg-ts.md): judged by ffmpeg's HLS demuxer, which fetches the key
//! from the playlist's key URI and decrypts both methods to the source's frames and audio;
//! `openssl enc` decrypts AES-128 segments, after which (as for SAMPLE-AES segments) `tsreport`
//! and the packet walk find the counters and PCRs in order; the PMT of a SAMPLE-AES stream says
//! what Apple's format asks; players play it (hls.js both methods, Shaka Player AES-128) and the
//! DASH set of the same run.
use crate::common::{fixture, framemd5, package, run_ok, test_key, vodpack, TEST_KEYS};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `--protection dash=cenc,hls=METHOD` with the fixed keys, the key URIs pointing at files
/// `OUT/../keys/<kid>.key` (relative to each media playlist), where ffmpeg reads them.
fn encrypted_args(method: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--hls-segments".into(),
        "ts".into(),
        "--protection".into(),
        format!("dash=cenc,hls={method}"),
        "--hls-key-uri".into(),
        "../../keys/{kid}.key".into(),
    ];
    for k in &TEST_KEYS {
        args.push("--key".into());
        args.push(format!("label={},kid={},key={}", k.label, k.kid, k.key));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Writes every test key where the playlists' key URIs point (`<tmp>/keys/<kid>.key`).
fn write_key_files(tmp: &Path) {
    let dir = tmp.join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    for k in &TEST_KEYS {
        std::fs::write(
            dir.join(format!("{}.key", k.kid)),
            hex::decode(k.key).unwrap(),
        )
        .unwrap();
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    (1..)
        .map(|n| dir.join(format!("seg_{n}.ts")))
        .take_while(|p| p.is_file())
        .collect()
}

fn md5s(frames: &[crate::common::DecodedFrame]) -> Vec<String> {
    frames.iter().map(|f| f.md5.clone()).collect()
}

/// The key tag of a media playlist.
fn key_line(playlist: &str) -> &str {
    playlist
        .lines()
        .find(|l| l.starts_with("#EXT-X-KEY:"))
        .unwrap_or_else(|| panic!("no #EXT-X-KEY in\n{playlist}"))
}

/// The first PMT section of a (clear-structured) TS file: stream_type and ES descriptors.
pub(crate) fn pmt_stream(ts: &[u8]) -> (u8, Vec<u8>) {
    for p in ts.chunks(188) {
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        if pid == 0x1000 && p[1] & 0x40 != 0 {
            let s = &p[5 + usize::from(p[4])..];
            let program_info = (usize::from(s[10] & 0x0f) << 8) | usize::from(s[11]);
            let es = &s[12 + program_info..];
            let info_len = (usize::from(es[3] & 0x0f) << 8) | usize::from(es[4]);
            return (es[0], es[5..5 + info_len].to_vec());
        }
    }
    panic!("no PMT");
}

/// Decrypts an AES-128 segment with `openssl enc` (IV: the key tag's, or the sequence number).
fn openssl_decrypt(seg: &Path, key: &str, iv: &str) -> Vec<u8> {
    run_ok(
        Command::new("openssl")
            .args(["enc", "-d", "-aes-128-cbc", "-K", key, "-iv", iv, "-in"])
            .arg(seg),
    )
    .stdout
}

/// Continuity counters and PCRs of the joined segments, by tsreport and by the packet walk of
/// the clear TS test.
fn check_stream(tmp: &Path, all: &[u8], what: &str) {
    assert_eq!(all.len() % 188, 0, "{what}: whole packets");
    let joined = tmp.join("all.ts");
    std::fs::write(&joined, all).unwrap();
    // tsreport -cnt writes the PID's continuity counters to continuity_counter.txt in its
    // working folder and reports gaps.
    let work = tmp.join("cnt");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir(&work).unwrap();
    let report = run_ok(
        Command::new("tsreport")
            .current_dir(&work)
            .args(["-cnt", "256", "-timing"])
            .arg(&joined),
    );
    let text = String::from_utf8_lossy(&report.stdout).into_owned();
    for clean in ["Bad (>.1s) gaps: 0", "duplicate packets: 0"] {
        assert!(text.contains(clean), "{what}: {clean}?\n{text}");
    }
    crate::mpeg_ts::check_pcrs(all, what.to_string());
}

/// Both methods over the ladder's two kinds of H.264 (240p without B-frames, 360p with negative
/// composition offsets) and AAC: ffmpeg's HLS demuxer decrypts each playlist to the source.
fn decrypts_to_the_source(method: &str, extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = encrypted_args(method, extra);
    for f in ["h264_240p.mp4", "h264_360p.mp4", "aac_en.mp4"] {
        args.push(fixture(f).display().to_string());
    }
    package(&out, &args);
    write_key_files(tmp.path());

    let keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out.keys.json")).unwrap()).unwrap();
    let schemes: Vec<&str> = keys["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scheme"].as_str().unwrap())
        .collect();
    assert_eq!(schemes, ["cenc", method], "{keys}");
    let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
    assert!(mpd.contains("value=\"cenc\""), "the DASH set stays cenc");

    for (id, source, label) in [
        ("video_240p", "h264_240p.mp4", "SD"),
        ("video_360p", "h264_360p.mp4", "SD"),
        ("audio_en", "aac_en.mp4", "AUDIO"),
    ] {
        let key = test_key(label);
        let uri = format!("../../keys/{}.key", key.kid);
        // The key manifest records each key's URI.
        let entry = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == label)
            .unwrap();
        assert_eq!(entry["hls_key_uri"], uri.as_str(), "{keys}");
        let dir = out.join(id);
        let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
        let tag = key_line(&playlist);
        let hls_method = if method == "aes-128" {
            "AES-128"
        } else {
            "SAMPLE-AES"
        };
        assert!(
            tag.starts_with(&format!("#EXT-X-KEY:METHOD={hls_method},URI=\"{uri}\"")),
            "{tag}"
        );
        let iv = tag.split_once(",IV=0x").map(|(_, iv)| iv.to_string());
        let segs = segments(&dir.join("ts"));
        assert!(segs.len() >= 2);

        let video = id.starts_with("video");
        let stream = if video { "v:0" } else { "a:0" };
        let expected = framemd5(&fixture(source), stream, &["-ignore_editlist", "1"]);
        // The key files end in `.key`, outside ffmpeg's default list of HLS extensions.
        let got = framemd5(
            &dir.join("playlist.m3u8"),
            stream,
            &["-allowed_extensions", "ALL"],
        );
        assert_eq!(got.len(), expected.len(), "{id} {method}: frame count");
        if method == "sample-aes" && video {
            // ffmpeg's HLS demuxer decrypts a packet with the segment it is reading when the
            // packet comes out of its parser; the stream's last frame in decode order only
            // comes out at the end of the playlist, with no segment and no key, and stays
            // encrypted (hls.c, hls_read_packet). Every other frame, those at segment ends
            // included, must match.
            let differ: Vec<usize> = (0..expected.len())
                .filter(|&i| got[i].md5 != expected[i].md5)
                .collect();
            assert!(differ.len() <= 1, "{id} {method}: frames {differ:?} differ");
        } else {
            assert_eq!(md5s(&got), md5s(&expected), "{id} {method}");
        }

        // The stream structure.
        let mut all = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let bytes = std::fs::read(seg).unwrap();
            if method == "aes-128" {
                // Encrypted whole: no sync bytes, whole AES blocks, then the clear stream.
                assert_eq!(bytes.len() % 16, 0);
                assert!(bytes.chunks(188).any(|p| p[0] != 0x47));
                let iv = iv.clone().unwrap_or_else(|| format!("{i:032x}"));
                all.extend(openssl_decrypt(seg, key.key, &iv));
            } else {
                let (stream_type, descriptors) = pmt_stream(&bytes);
                // Apple's format: 0xDB H.264 with `zavc`; 0xCF AAC with `aacd` and the audio
                // setup information (`apad`, `zaac`, priming 0, version 1, the
                // AudioSpecificConfig).
                if video {
                    assert_eq!(stream_type, 0xdb);
                    assert_eq!(descriptors, [0x0f, 4, b'z', b'a', b'v', b'c']);
                } else {
                    assert_eq!(stream_type, 0xcf);
                    assert_eq!(descriptors[..6], [0x0f, 4, b'a', b'a', b'c', b'd']);
                    assert_eq!(descriptors[6], 0x05);
                    assert_eq!(&descriptors[8..16], b"apadzaac");
                    assert_eq!(descriptors[16..19], [0, 0, 1]);
                }
                all.extend(bytes);
            }
        }
        check_stream(tmp.path(), &all, &format!("{id} {method}"));
        if method == "aes-128" && video {
            // Decrypted by openssl, the segments decode to the source on their own.
            let clear = tmp.path().join("clear.ts");
            std::fs::write(&clear, &all).unwrap();
            assert_eq!(
                md5s(&framemd5(&clear, stream, &[])),
                md5s(&expected),
                "{id}: openssl-decrypted segments"
            );
        }
    }
}

#[test]
fn aes_128_segments_decrypt_in_ffmpeg_and_openssl_to_the_source() {
    // The IV of each segment is its media sequence number (no IV attribute).
    decrypts_to_the_source("aes-128", &[]);
}

#[test]
fn aes_128_with_an_explicit_iv_writes_it_in_the_key_tag() {
    decrypts_to_the_source("aes-128", &["--iv", "000102030405060708090a0b0c0d0e0f"]);
}

#[test]
fn sample_aes_segments_decrypt_in_ffmpeg_to_the_source() {
    decrypts_to_the_source("sample-aes", &[]);
}

#[test]
fn ts_encryption_refusals_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let video = fixture("h264_240p.mp4").display().to_string();
    let hevc = fixture("hevc_360p.mp4").display().to_string();
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["--hls-segments", "ts", "--protection", "cenc"],
            2,
            "dash=cenc,hls=sample-aes",
        ),
        (
            &["--protection", "dash=cenc,hls=aes-128"],
            2,
            "add --hls-segments ts",
        ),
        (
            &[
                "--hls-segments",
                "ts",
                "--protection",
                "dash=cenc,hls=aes-128",
                "--hls-key-uri",
                "https://k.example/fixed.key",
            ],
            2,
            "{kid} or {label}",
        ),
        (
            &["--hls-segments", "ts", "--protection", "hls=sample-aes"],
            2,
            "dash too",
        ),
        (
            &[
                "--hls-segments",
                "ts",
                "--protection",
                "dash=cenc,hls=sample-aes",
                "HEVC",
            ],
            4,
            "not HEVC",
        ),
    ];
    for (i, (flags, code, says)) in cases.iter().enumerate() {
        let mut cmd = vodpack();
        cmd.arg("package")
            .arg("-o")
            .arg(tmp.path().join(format!("out{i}")));
        for f in flags.iter() {
            cmd.arg(if *f == "HEVC" { hevc.as_str() } else { f });
        }
        if !flags.contains(&"HEVC") {
            cmd.arg(&video);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!tmp.path().join(format!("out{i}")).exists());
    }
}

/// The ladder with the TS set encrypted by `method`, key URIs at the harness's raw-key endpoint
/// (`/key/<kid>`), played by `player` over `protocol`: load, play, seek, every rendition.
fn play_encrypted(method: &str, player: &str, protocol: &str, wrong_key: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = encrypted_args(method, &[]);
    let at = args
        .iter()
        .position(|a| a == "../../keys/{kid}.key")
        .unwrap();
    args[at] = "/key/{kid}".into();
    for n in ["h264_240p", "h264_360p", "h264_720p", "aac_en"] {
        args.push(fixture(&format!("{n}.mp4")).display().to_string());
    }
    package(&out, &args);
    let keys: Vec<String> = TEST_KEYS
        .iter()
        .map(|k| format!("{}={}", k.kid, k.key))
        .collect();
    let mut cmd = crate::common::browser_harness(&out, player, protocol);
    cmd.args(["--drm", "server", "--keys", &keys.join(",")])
        .args(["--port", &crate::common::free_port().to_string()]);
    if wrong_key {
        cmd.args(["--wrong-key", "--expect", "fail"]);
    } else {
        cmd.args(["--expect", "play", "--expect-heights", "240,360,720"]);
    }
    let _one_at_a_time = crate::common::browser_slot();
    let output = cmd.output().expect("run node tests/browser/run.mjs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{method} {player} {protocol}: {}\n{report}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&report).expect("harness JSON report");
    assert_eq!(json["ok"], true, "harness report: {report}");
    if protocol == "hls" && !wrong_key {
        // The keys came from the key URIs of the playlists.
        let kids = json["licenseKids"].as_array().unwrap();
        assert!(!kids.is_empty(), "{report}");
    }
}

#[test]
fn hlsjs_plays_seeks_and_switches_aes_128_ts() {
    play_encrypted("aes-128", "hlsjs", "hls", false);
}

#[test]
fn hlsjs_plays_seeks_and_switches_sample_aes_ts() {
    play_encrypted("sample-aes", "hlsjs", "hls", false);
}

#[test]
fn shaka_plays_seeks_and_switches_aes_128_ts() {
    play_encrypted("aes-128", "shaka", "hls", false);
}

#[test]
fn hlsjs_fails_on_a_wrong_aes_128_key() {
    play_encrypted("aes-128", "hlsjs", "hls", true);
}

#[test]
fn dash_of_an_encrypted_ts_run_still_plays() {
    play_encrypted("sample-aes", "shaka", "dash", false);
}

/// SAMPLE-AES of AC-3 and E-AC-3 (5.1 fixtures) over TS, decrypted by ffmpeg's HLS demuxer
/// (libavformat/hls_sample_encryption.c handles both) to the source's syncframes.
#[test]
fn sample_aes_ac3_and_eac3_decrypt_in_ffmpeg_to_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = encrypted_args("sample-aes", &[]);
    for (f, id) in [("ac3_51.mp4", "ac3"), ("eac3_51.mp4", "eac3")] {
        args.push(format!("in={},id={id}", fixture(f).display()));
    }
    package(&out, &args);
    write_key_files(tmp.path());
    for (id, source, stream_type, tag, setup) in [
        ("ac3", "ac3_51.mp4", 0xc1, b"ac3d", b"zac3"),
        ("eac3", "eac3_51.mp4", 0xc2, b"ec3d", b"zec3"),
    ] {
        let dir = out.join(id);
        let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
        assert!(key_line(&playlist).starts_with("#EXT-X-KEY:METHOD=SAMPLE-AES,"));
        let segs = segments(&dir.join("ts"));
        assert!(segs.len() >= 2);
        let mut all = Vec::new();
        for seg in &segs {
            let bytes = std::fs::read(seg).unwrap();
            // Apple's format: 0xC1/0xC2 with `ac3d`/`ec3d` and the audio setup information
            // (`apad`, `zac3`/`zec3`, priming 0, version 1, the dac3/dec3 payload).
            let (st, descriptors) = pmt_stream(&bytes);
            assert_eq!(st, stream_type, "{id}");
            assert_eq!(&descriptors[2..6], tag, "{id}");
            assert_eq!(&descriptors[8..16], [&b"apad"[..], setup].concat(), "{id}");
            all.extend(bytes);
        }
        check_stream(tmp.path(), &all, id);
        let want = crate::mpeg_ts::packet_md5s(&fixture(source), &[]);
        let read = |playlist: &Path| -> Vec<String> {
            let out = run_ok(
                Command::new(&crate::common::tools().ffmpeg)
                    .args(["-hide_banner", "-nostdin", "-v", "error"])
                    .args(["-allowed_extensions", "ALL", "-i"])
                    .arg(playlist)
                    .args(["-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-"]),
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split(',').nth(5).map(|m| m.trim().to_string()))
                .collect()
        };
        let got = read(&dir.join("playlist.m3u8"));
        assert_eq!(got.len(), want.len(), "{id}: frame count");
        // ffmpeg decrypts a frame with the segment being read when the frame leaves its parser:
        // the stream's very last frame leaves it after the last segment, with no key, and stays
        // encrypted (as for video, above). Every other frame must match.
        let last = want.len() - 1;
        assert_eq!(got[..last], want[..last], "{id}: decrypted frames");
        assert_ne!(got[last], want[last], "{id}: the last frame (see above)");
        // The last frame too: with the last segment listed twice (the same key and IV), the
        // frame leaves the parser while the second copy is read and is decrypted.
        let lines: Vec<&str> = playlist.lines().collect();
        let end = lines.iter().position(|l| *l == "#EXT-X-ENDLIST").unwrap();
        let mut again = lines[..end].to_vec();
        again.extend_from_slice(&lines[end - 2..]);
        let again_path = dir.join("again.m3u8");
        std::fs::write(&again_path, again.join("\n") + "\n").unwrap();
        assert_eq!(
            read(&again_path)[..want.len()],
            want[..],
            "{id}: every frame"
        );
    }
}
