//! Interop beyond tests/interop.rs: clear-lead output decrypts to the source frames in Shaka
//! Packager and ffmpeg, and AV1/Opus/AC-3/E-AC-3 pass through with their packets unchanged and
//! their RFC 6381 codec strings. Judges as in tests/common (a missing judge fails the test).

use crate::common::{
    assert_same_frames, concat_rendition, fixture, framemd5, framemd5_packets, package,
    protection_args, run_ok, shaka_decrypt, synth_video, test_key, tools,
};
use std::path::Path;
use std::process::Command;

#[test]
fn clear_lead_output_decrypts_to_the_source_frames() {
    for scheme in ["cenc", "cbcs"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut args = protection_args(scheme);
        args.extend(["--clear-lead".into(), "4".into()]);
        for f in ["h264_240p.mp4", "hevc_360p.mp4", "aac_en.mp4"] {
            args.push(fixture(f).display().to_string());
        }
        package(&out, &args);
        for (file, rid, stream, label) in [
            ("h264_240p.mp4", "video_240p", "v:0", "SD"),
            ("hevc_360p.mp4", "video_hevc_360p", "v:0", "SD"),
            ("aac_en.mp4", "audio_en", "a:0", "AUDIO"),
        ] {
            let what = format!("{scheme} clear lead {rid}");
            let key = test_key(label);
            let source = framemd5(&fixture(file), stream, &[]);
            let enc = concat_rendition(&out.join(rid), &dir.path().join(format!("{rid}.mp4")));
            let ffmpeg = framemd5(&enc, stream, &["-decryption_key", key.key]);
            assert_same_frames(&format!("{what} (ffmpeg)"), &source, &ffmpeg);
            let dec = dir.path().join(format!("{rid}.dec.mp4"));
            let kind = if stream.starts_with('v') {
                "video"
            } else {
                "audio"
            };
            shaka_decrypt(&enc, kind, &dec, key.kid, key.key);
            assert_same_frames(
                &format!("{what} (Shaka)"),
                &source,
                &framemd5(&dec, stream, &[]),
            );
        }
    }
}

/// Size and hash of each packet, without decoding: ffmpeg's static build has no AV1 decoder, and
/// it applies partial-frame priming edits (AC-3, Opus) only to progressive files
/// (docs/segment-alignment.md), so packets are what must be identical.
fn packet_md5(file: &Path) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error", "-i"])
            .arg(file)
            .args(["-c", "copy", "-f", "framemd5", "-"]),
    );
    framemd5_packets(&out.stdout)
}

#[test]
fn av1_opus_ac3_eac3_pass_through_with_codec_strings() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, args: &[&str]| {
        let p = dir.path().join(name);
        run_ok(
            Command::new(&tools().ffmpeg)
                .args(["-v", "error", "-y"])
                .args(args)
                .arg(&p),
        );
        p.display().to_string()
    };
    let sine = [
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:sample_rate=48000",
        "-t",
        "6",
    ];
    let av1 = make(
        "av1.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "4",
            "-c:v",
            "libsvtav1",
            "-g",
            "50",
            "-svtav1-params",
            "verbosity=0",
        ],
    );
    let opus = make("opus.mp4", &[&sine[..], &["-c:a", "libopus"]].concat());
    let ac3 = make(
        "ac3.mp4",
        &[&sine[..], &["-ac", "6", "-c:a", "ac3"]].concat(),
    );
    let eac3 = make(
        "eac3.mp4",
        &[&sine[..], &["-ac", "2", "-c:a", "eac3"]].concat(),
    );
    let out = dir.path().join("out");
    let o = package(
        &out,
        &[
            "--json".into(),
            av1.clone(),
            format!("in={opus},id=opus"),
            format!("in={ac3},id=ac3"),
            format!("in={eac3},id=eac3"),
        ],
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codecs: Vec<&str> = summary["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["av01.0.00M.08", "opus", "ac-3", "ec-3"]);
    for (src, rid) in [
        (&av1, "video_240p"),
        (&opus, "opus"),
        (&ac3, "ac3"),
        (&eac3, "eac3"),
    ] {
        let source = packet_md5(Path::new(src));
        assert!(!source.is_empty());
        let concat = concat_rendition(&out.join(rid), &dir.path().join(format!("{rid}.cat.mp4")));
        assert!(packet_md5(&concat) == source, "{rid}: packets differ");
    }
    let opus_out = concat_rendition(&out.join("opus"), &dir.path().join("opus2.mp4"));
    let hashes = |f: &Path| {
        framemd5(f, "a:0", &[])
            .into_iter()
            .map(|fr| fr.md5)
            .collect::<Vec<_>>()
    };
    assert!(
        hashes(&opus_out) == hashes(Path::new(&opus)),
        "opus: decoded audio differs"
    );
}

/// (length, offset, uri) of every EXT-X-BYTERANGE entry of an I-frame playlist.
fn iframe_ranges(playlist: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut lines = playlist.lines();
    while let Some(l) = lines.next() {
        if let Some(r) = l.strip_prefix("#EXT-X-BYTERANGE:") {
            let (len, off) = r.split_once('@').expect("length@offset");
            let uri = lines.next().expect("URI after EXT-X-BYTERANGE").to_string();
            out.push((len.parse().unwrap(), off.parse().unwrap(), uri));
        }
    }
    out
}

#[test]
fn iframe_playlist_ranges_decode_to_the_source_keyframes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    package(&out, &[fixture("h264_720p.mp4").display().to_string()]);
    let rendition = out.join("video_720p");
    let playlist = std::fs::read_to_string(rendition.join("iframes.m3u8")).unwrap();
    let ranges = iframe_ranges(&playlist);
    // 8 s with a keyframe every 2 s: one entry per GOP, not per segment.
    assert_eq!(ranges.len(), 4, "{playlist}");
    let source = framemd5(&fixture("h264_720p.mp4"), "v:0", &[]);
    let init = std::fs::read(rendition.join("init.mp4")).unwrap();
    for (i, (len, off, uri)) in ranges.iter().enumerate() {
        let segment = std::fs::read(rendition.join(uri)).unwrap();
        let range = &segment[*off..off + len];
        assert_eq!(&range[4..8], b"moof", "entry {i} does not start at a moof");
        // init + the byte range alone is a playable file holding exactly that keyframe.
        let file = dir.path().join(format!("iframe_{i}.mp4"));
        std::fs::write(&file, [init.as_slice(), range].concat()).unwrap();
        let frames = framemd5(&file, "v:0", &[]);
        assert_eq!(frames.len(), 1, "entry {i}: one frame expected");
        assert_eq!(
            frames[0].md5,
            source[i * 50].md5,
            "entry {i}: not the keyframe at {} s",
            i * 2
        );
    }
}

#[test]
fn gops_longer_than_6_s_package_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long_gop.mp4");
    let encoder = [
        "-c:v",
        "libx264",
        "-g",
        "200",
        "-keyint_min",
        "200",
        "-sc_threshold",
        "0",
    ];
    synth_video(&input, "320x240", 16, &encoder);
    let out = dir.path().join("out");
    let o = package(&out, &["--json".into(), input.display().to_string()]);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{summary}");
    // Both 8 s segments are named, not only the first; stderr carries the same line.
    assert_eq!(warnings[0]["kind"], "long_segment", "{summary}");
    assert_eq!(
        warnings[0]["segments"],
        serde_json::json!([1, 2]),
        "{summary}"
    );
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("segments 1–2 last over 6 s (longest: segment 1, 8.000 s)"),
        "{summary}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("vodpack: warning: {message}")),
        "{stderr}"
    );
    // Every segment still starts on a sync sample and decodes to the source.
    let source = framemd5(&input, "v:0", &[]);
    let output = framemd5(
        &concat_rendition(&out.join("video_240p"), &dir.path().join("c.mp4")),
        "v:0",
        &[],
    );
    assert_same_frames("long GOP", &source, &output);
}
