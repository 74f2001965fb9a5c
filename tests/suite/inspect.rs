//! `vodpack inspect` against ffprobe: on every fixture, on synthetic HDR / 10-bit clips, and on
//! vodpack's own encrypted output (init segments and standalone media segments), the figures
//! inspect prints (codec, profile, level, size, pixel format, colour, frame rate, sample counts)
//! are the ones ffprobe reads; the protection boxes carry the keys the run was given.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn inspect_json(args: &[&Path], extra: &[&str]) -> Value {
    let mut cmd = vodpack();
    cmd.arg("inspect").arg("--json").args(extra);
    for a in args {
        cmd.arg(a);
    }
    let out = run_ok(&mut cmd);
    serde_json::from_slice(&out.stdout).expect("inspect --json prints JSON")
}

/// ffprobe's streams, with packets counted.
fn ffprobe_streams(file: &Path) -> Vec<Value> {
    let out = run_ok(
        Command::new(&tools().ffprobe)
            .args([
                "-v",
                "error",
                "-count_packets",
                "-show_streams",
                "-of",
                "json",
            ])
            .arg(file),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"].as_array().unwrap().clone()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares one inspect track with the ffprobe stream of the same file.
fn compare(what: &str, track: &Value, probe: &Value) {
    let ctx = format!("{what}: inspect {track}\nffprobe {probe}");
    let codec = s(&track["codec"]);
    let expected_codec = match codec.as_str() {
        "avc1" | "avc3" => "h264",
        "hvc1" | "hev1" => "hevc",
        "mp4a" => "aac",
        other => other,
    };
    assert_eq!(s(&probe["codec_name"]), expected_codec, "{ctx}");
    assert_eq!(
        track["samples"].as_u64().unwrap(),
        s(&probe["nb_read_packets"]).parse::<u64>().unwrap(),
        "sample count: {ctx}"
    );
    assert_eq!(s(&track["profile"]), s(&probe["profile"]), "profile: {ctx}");
    if probe["codec_type"] == "video" {
        assert_eq!(track["width"], probe["width"], "{ctx}");
        assert_eq!(track["height"], probe["height"], "{ctx}");
        assert_eq!(s(&track["pixel_format"]), s(&probe["pix_fmt"]), "{ctx}");
        assert_eq!(s(&track["frame_rate"]), s(&probe["r_frame_rate"]), "{ctx}");
        // ffprobe's level is level_idc: 10 × the H.264 level, 30 × the HEVC level.
        let level: f64 = s(&track["level"])
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let factor = if expected_codec == "hevc" { 30.0 } else { 10.0 };
        assert_eq!(
            (level * factor).round() as i64,
            probe["level"].as_i64().unwrap(),
            "level: {ctx}"
        );
        if let Some(sar) = track["sar"].as_str() {
            assert_eq!(sar, s(&probe["sample_aspect_ratio"]), "{ctx}");
        }
        if let Some(bits) = probe["bits_per_raw_sample"].as_str() {
            assert_eq!(track["bit_depth"].to_string(), bits, "{ctx}");
        }
        let colour = &track["colour"];
        for (mine, theirs) in [
            ("primaries", "color_primaries"),
            ("transfer", "color_transfer"),
            ("matrix", "color_space"),
        ] {
            let theirs = probe[theirs].as_str().unwrap_or("unknown");
            let mine = colour[mine].as_str().unwrap_or("unknown");
            assert_eq!(mine, theirs, "{theirs}: {ctx}");
        }
    } else {
        assert_eq!(
            track["sample_rate"].to_string(),
            s(&probe["sample_rate"]),
            "{ctx}"
        );
        assert_eq!(track["channels"], probe["channels"], "{ctx}");
    }
}

#[test]
fn fixtures_match_ffprobe() {
    for name in [
        "h264_240p.mp4",
        "h264_360p.mp4",
        "h264_720p.mp4",
        "hevc_360p.mp4",
        "progressive_bframes.mp4",
        "muxed_av.mp4",
        "aac_en.mp4",
    ] {
        let file = fixture(name);
        let report = inspect_json(&[&file], &[]);
        let tracks = report["tracks"].as_array().unwrap();
        let probe = ffprobe_streams(&file);
        assert_eq!(tracks.len(), probe.len(), "{name}");
        for (t, p) in tracks.iter().zip(&probe) {
            compare(name, t, p);
        }
    }
}

#[test]
fn hdr_colour_and_ten_bit_are_read_like_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let tag = |trc: &str| {
        format!("setparams=color_primaries=bt2020:color_trc={trc}:colorspace=bt2020nc:range=tv")
    };
    let pq = tag("smpte2084");
    let hlg = tag("arib-std-b67");
    let x265_hlg = vec![
        "-vf",
        &hlg,
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error",
        "-tag:v",
        "hvc1",
    ];
    // (file, ffmpeg args, where the colour comes from, bit depth, HDR)
    let cases: [(&str, Vec<&str>, &str, u64, &str); 4] = [
        // H.264 High 10, PQ: colr box written by the muxer (and the SPS VUI).
        (
            "pq_h264.mp4",
            vec!["-vf", &pq, "-c:v", "libx264", "-pix_fmt", "yuv420p10le"],
            "nclx",
            10,
            "PQ",
        ),
        // The same with its colr box turned into a free box (below): the colour comes from the
        // SPS VUI.
        (
            "pq_h264_vui.mp4",
            vec!["-vf", &pq, "-c:v", "libx264", "-pix_fmt", "yuv420p10le"],
            "vui",
            10,
            "PQ",
        ),
        // HEVC with HLG signalled in colr (the judges' libx265 is 8-bit only).
        (
            "hlg_hevc.mp4",
            [x265_hlg.as_slice(), &["-movflags", "+write_colr"]].concat(),
            "nclx",
            8,
            "HLG",
        ),
        // HEVC with HLG in the SPS VUI only (ffmpeg's default: no colr box in MP4).
        ("hlg_hevc_vui.mp4", x265_hlg.clone(), "vui", 8, "HLG"),
    ];
    for (name, args, source, depth, hdr) in cases {
        let file = dir.path().join(name);
        synth_video(&file, "320x180", 1, &args);
        if source == "vui" {
            // A colr box the muxer wrote becomes a free box, so the colour must come from the VUI.
            let mut bytes = std::fs::read(&file).unwrap();
            if let Some(at) = bytes.windows(4).position(|w| w == b"colr") {
                bytes[at..at + 4].copy_from_slice(b"free");
                std::fs::write(&file, bytes).unwrap();
            }
        }
        let report = inspect_json(&[&file], &[]);
        let track = &report["tracks"][0];
        let probe = ffprobe_streams(&file);
        compare(name, track, &probe[0]);
        assert_eq!(track["bit_depth"], depth, "{name}: {track}");
        assert_eq!(track["colour"]["source"], source, "{name}: {track}");
        assert_eq!(
            track["colour"]["range"], probe[0]["color_range"],
            "{name}: {track}"
        );
        assert!(
            track["hdr"].as_str().unwrap_or_default().starts_with(hdr),
            "{name}: {track}"
        );
    }
}

/// Packages the 240p ladder rung and English audio with the fixed test keys.
fn encrypted(dir: &Path, scheme: &str) -> std::path::PathBuf {
    let out = dir.join(scheme);
    let mut args = protection_args(scheme);
    args.extend([
        "--drm".to_string(),
        "clearkey,widevine,playready".to_string(),
        fixture("h264_240p.mp4").display().to_string(),
        fixture("aac_en.mp4").display().to_string(),
    ]);
    package(&out, &args);
    out
}

fn uuid(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[test]
fn encrypted_output_shows_scheme_kid_pattern_and_systems() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["cenc", "cbcs"] {
        let out = encrypted(dir.path(), scheme);
        for (rendition, label, source) in [
            ("video_240p", "SD", "h264_240p.mp4"),
            ("audio_en", "AUDIO", "aac_en.mp4"),
        ] {
            let folder = out.join(rendition);
            let init = folder.join("init.mp4");
            let what = format!("{scheme} {rendition}");
            let report = inspect_json(&[&init], &[]);
            assert_eq!(report["layout"], "init segment", "{what}");
            let t = &report["tracks"][0];
            let p = &t["protection"];
            assert_eq!(p["scheme"], scheme, "{what}: {t}");
            assert_eq!(p["protected"], true, "{what}: {t}");
            assert_eq!(
                p["default_kid"].as_str().unwrap(),
                uuid(test_key(label).kid),
                "{what}: {t}"
            );
            let video = rendition.starts_with("video");
            assert_eq!(
                t["sample_entry"],
                if video { "encv" } else { "enca" },
                "{what}"
            );
            match scheme {
                "cbcs" => {
                    assert_eq!(p["per_sample_iv_size"], 0, "{what}: {t}");
                    // --iv with the rendition's index added to its first byte, so that
                    // renditions sharing a key never share IVs (src/package/protect.rs).
                    let index = u8::from(!video);
                    let first = u8::from_str_radix(&TEST_IV[..2], 16).unwrap();
                    let expected = format!("{:02x}{}", first.wrapping_add(index), &TEST_IV[2..]);
                    assert_eq!(p["constant_iv"], expected.as_str(), "{what}: {t}");
                    assert_eq!(p["pattern"], if video { "1:9" } else { "0:0" }, "{what}");
                }
                _ => {
                    assert!(
                        [8, 16].contains(&p["per_sample_iv_size"].as_u64().unwrap()),
                        "{what}: {t}"
                    );
                    assert_eq!(p["constant_iv"], Value::Null, "{what}: {t}");
                }
            }
            let systems: Vec<String> = report["pssh"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| s(&p["system"]))
                .collect();
            for sys in ["common (W3C Clear Key)", "Widevine", "PlayReady"] {
                assert!(systems.iter().any(|s| s == sys), "{what}: {systems:?}");
            }
            let common = report["pssh"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["system"] == "common (W3C Clear Key)")
                .unwrap();
            assert!(
                common["kids"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::String(uuid(test_key(label).kid))),
                "{what}: {common}"
            );

            // Each media segment with its init, and the whole rendition, against ffprobe.
            let segs = segments(&folder);
            let mut total = 0;
            for seg in &segs {
                let r = inspect_json(&[seg.as_path()], &["--init", init.to_str().unwrap()]);
                assert_eq!(r["layout"], "media segment", "{what}");
                let tr = &r["tracks"][0];
                let frags = r["fragments"].as_array().unwrap();
                assert!(!frags.is_empty(), "{what}");
                for f in frags {
                    let traf = &f["trafs"][0];
                    assert_eq!(traf["starts_with_sync_sample"], true, "{what}: {f}");
                    assert_eq!(traf["senc_samples"], traf["samples"], "{what}: {f}");
                    if video {
                        // One subsample per NAL unit at least: H.264 video is never whole-sample.
                        assert!(
                            traf["subsamples"].as_u64().unwrap()
                                >= traf["samples"].as_u64().unwrap(),
                            "{what}: {f}"
                        );
                    }
                }
                total += tr["samples"].as_u64().unwrap();
            }
            let whole = concat_rendition(
                &folder,
                &dir.path().join(format!("{scheme}_{rendition}.mp4")),
            );
            let probe = ffprobe_streams(&whole);
            assert_eq!(
                total,
                s(&probe[0]["nb_read_packets"]).parse::<u64>().unwrap(),
                "{what}"
            );
            let report = inspect_json(&[&whole], &[]);
            compare(&what, &report["tracks"][0], &probe[0]);
            // The encrypted rendition shows the source's figures.
            let source = inspect_json(&[&fixture(source)], &[]);
            for key in [
                "codec_string",
                "profile",
                "width",
                "height",
                "pixel_format",
                "sample_rate",
            ] {
                assert_eq!(
                    report["tracks"][0][key], source["tracks"][0][key],
                    "{what}: {key}"
                );
            }
        }
    }
}

#[test]
fn a_media_segment_without_its_init_still_lists_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clear");
    package(&out, &[fixture("h264_240p.mp4").display().to_string()]);
    let seg = out.join("video_240p/seg_1.m4s");
    let r = inspect_json(&[&seg], &[]);
    assert_eq!(r["layout"], "media segment");
    assert_eq!(r["brands"]["box_type"], "styp");
    let t = &r["tracks"][0];
    assert_eq!(t["id"], 1);
    assert!(t["notes"][0].as_str().unwrap().contains("--init"), "{t}");
    // vodpack writes sizes, durations and flags in every trun: the counts are all there.
    let frags = r["fragments"].as_array().unwrap();
    let samples: u64 = frags
        .iter()
        .map(|f| f["trafs"][0]["samples"].as_u64().unwrap())
        .sum();
    let with_init = inspect_json(
        &[&seg],
        &["--init", out.join("video_240p/init.mp4").to_str().unwrap()],
    );
    assert_eq!(samples, with_init["tracks"][0]["samples"].as_u64().unwrap());
    assert_eq!(t["samples"].as_u64().unwrap(), samples);

    // --init with a file that has its own moov is a usage error.
    let o = vodpack()
        .args(["inspect", "--init"])
        .arg(out.join("video_240p/init.mp4"))
        .arg(fixture("h264_240p.mp4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

#[test]
fn all_lists_every_fragment() {
    let dir = tempfile::tempdir().unwrap();
    // 8 s at 25 fps, one fragment per frame: 200 moofs.
    let file = dir.path().join("many.mp4");
    run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error", "-y", "-i"])
            .arg(fixture("h264_240p.mp4"))
            .args(["-c", "copy", "-movflags", "+frag_every_frame+empty_moov"])
            .arg(&file),
    );
    let first = inspect_json(&[&file], &[]);
    let total = first["fragments_total"].as_u64().unwrap();
    assert!(total > 10, "{total} fragments");
    assert_eq!(first["fragments"].as_array().unwrap().len(), 10);
    let text = String::from_utf8(run_ok(vodpack().arg("inspect").arg(&file)).stdout).unwrap();
    assert!(text.contains("--all lists every one"), "{text}");
    let all = inspect_json(&[&file], &["--all"]);
    let frags = all["fragments"].as_array().unwrap();
    assert_eq!(frags.len() as u64, total);
    let samples: u64 = frags
        .iter()
        .flat_map(|f| f["trafs"].as_array().unwrap())
        .map(|t| t["samples"].as_u64().unwrap())
        .sum();
    let probe = ffprobe_streams(&file);
    assert_eq!(
        samples,
        s(&probe[0]["nb_read_packets"]).parse::<u64>().unwrap()
    );
}

#[test]
fn a_truncated_segment_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clear");
    package(&out, &[fixture("h264_240p.mp4").display().to_string()]);
    let seg = std::fs::read(out.join("video_240p/seg_1.m4s")).unwrap();
    // Cut inside the first moof: the moof's size runs past the end of the file.
    let cut = dir.path().join("cut.m4s");
    std::fs::write(&cut, &seg[..100]).unwrap();
    let o = vodpack().arg("inspect").arg(&cut).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut.m4s"));
}
