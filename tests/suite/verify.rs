//! `vodpack verify`: a good output passes (clear, cenc, cbcs, clear lead, single file; with keys
//! every sample decrypts and with sources every sample equals the source's), and each damage the
//! issue names fails with exit 1 and a message saying what and where: a missing segment, one
//! flipped byte (with --sources), a segment swapped for its clear counterpart, a truncated
//! segment, a manifest entry pointing past the end of its file. Garbage manifests never panic.

use crate::common::{fixture, package, protection_args, vodpack};
use serde_json::Value;
use std::path::{Path, PathBuf};

const INPUTS: [&str; 4] = [
    "h264_240p.mp4",
    "hevc_360p.mp4",
    "progressive_bframes.mp4",
    "aac_fr.mp4",
];

fn inputs() -> Vec<String> {
    INPUTS
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect()
}

/// Packages the fixtures into `dir/name` (key manifest at `dir/name.keys.json`).
fn packaged(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.push("--key-manifest".into());
    args.push(dir.join(format!("{name}.keys.json")).display().to_string());
    args.extend(inputs());
    package(&out, &args);
    out
}

/// Runs `vodpack verify OUT --json ARGS`: (exit code, report).
fn verify(out: &Path, args: &[String]) -> (i32, Value) {
    let o = vodpack()
        .arg("verify")
        .arg(out)
        .arg("--json")
        .args(args)
        .output()
        .expect("run vodpack");
    let code = o.status.code().expect("exit code");
    assert!(
        code == 0 || code == 1,
        "verify exited {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (code, report)
}

fn full_args(dir: &Path, name: &str) -> Vec<String> {
    let mut a = vec![
        "--key-manifest".to_string(),
        dir.join(format!("{name}.keys.json")).display().to_string(),
        "--sources".to_string(),
    ];
    a.extend(inputs());
    a
}

fn errors(report: &Value) -> String {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let part = |k: &str| e[k].as_str().map(|v| format!("{v}: ")).unwrap_or_default();
            format!(
                "{}{}{}",
                part("rendition"),
                part("file"),
                e["message"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_fails_with(out: &Path, args: &[String], needle: &str) {
    let (code, report) = verify(out, args);
    assert_eq!(code, 1, "verify passed a damaged output: {report}");
    assert_eq!(report["ok"], false);
    let e = errors(&report);
    assert!(
        e.contains(needle),
        "expected an error with '{needle}', got:\n{e}"
    );
}

#[test]
fn good_outputs_verify_with_every_sample_decrypted_and_equal_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let cenc = protection_args("cenc");
    let cbcs = protection_args("cbcs");
    let mut cenc_lead: Vec<String> = cenc.clone();
    cenc_lead.extend(["--clear-lead".to_string(), "3".to_string()]);
    let configs: Vec<(&str, Vec<String>)> = vec![
        ("clear", vec![]),
        ("cenc", cenc.clone()),
        (
            "cbcs_single",
            [cbcs.clone(), vec!["--single-file".into()]].concat(),
        ),
        ("cenc_lead", cenc_lead),
    ];
    for (name, args) in configs {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = packaged(dir.path(), name, &refs);
        let (code, report) = verify(&out, &full_args(dir.path(), name));
        assert_eq!(code, 0, "{name}: {}", errors(&report));
        let renditions = report["renditions"].as_array().unwrap();
        assert_eq!(renditions.len(), 4, "{name}");
        for r in renditions {
            let samples = r["samples"].as_u64().unwrap();
            assert!(samples > 0, "{name}: {r}");
            assert_eq!(r["compared_samples"], samples, "{name}: {r}");
            assert_eq!(
                r["decrypted_samples"], r["encrypted_samples"],
                "{name}: {r}"
            );
            if name == "clear" {
                assert!(r["scheme"].is_null());
            } else {
                assert_eq!(r["scheme"], name.split('_').next().unwrap(), "{name}: {r}");
                assert!(r["encrypted_samples"].as_u64().unwrap() > 0, "{name}: {r}");
            }
            if name == "cenc_lead" {
                assert_eq!(r["clear_lead_segments"], 1, "{name}: {r}");
                assert!(r["encrypted_samples"].as_u64().unwrap() < samples);
            } else if name != "clear" {
                assert_eq!(r["encrypted_samples"], samples, "{name}: {r}");
            }
        }
    }
}

#[test]
fn damage_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let cbcs = protection_args("cbcs");
    let refs: Vec<&str> = cbcs.iter().map(String::as_str).collect();
    let good = packaged(dir.path(), "good", &refs);
    let clear = packaged(dir.path(), "clear", &[]);
    let args = full_args(dir.path(), "good");
    assert_eq!(verify(&good, &args).0, 0);
    let copy = |name: &str| {
        let to = dir.path().join(name);
        crate::common::run_ok(
            std::process::Command::new("cp")
                .arg("-r")
                .arg(&good)
                .arg(&to),
        );
        to
    };

    // A missing segment.
    let d = copy("missing");
    std::fs::remove_file(d.join("audio_fr/seg_2.m4s")).unwrap();
    assert_fails_with(&d, &[], "audio_fr/seg_2.m4s: segment 2: cannot open");

    // One flipped byte in a sample: only the source comparison can see it.
    let d = copy("flipped");
    let seg = d.join("video_240p/seg_2.m4s");
    let mut b = std::fs::read(&seg).unwrap();
    let at = b.len() - 100;
    b[at] ^= 0x01;
    std::fs::write(&seg, &b).unwrap();
    assert_fails_with(&d, &args, "differs from source sample");

    // A segment swapped for its clear counterpart (same rendition packaged without encryption).
    let d = copy("swapped");
    std::fs::copy(
        clear.join("video_hevc_360p/seg_1.m4s"),
        d.join("video_hevc_360p/seg_1.m4s"),
    )
    .unwrap();
    assert_fails_with(&d, &[], "uses the protected sample entry but has no senc");
    assert_fails_with(
        &d,
        &[],
        "segment 1 is clear but the playlist signals SAMPLE-AES",
    );

    // A truncated segment.
    let d = copy("truncated");
    let seg = d.join("video_240p/seg_1.m4s");
    let b = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &b[..b.len() - 7]).unwrap();
    assert_fails_with(
        &d,
        &[],
        "video_240p/seg_1.m4s: segment 1: 'mdat' box claims",
    );

    // A manifest entry pointing past the end of its file (I-frame byte range).
    let d = copy("past_end");
    let pl = d.join("video_240p/iframes.m3u8");
    let text = std::fs::read_to_string(&pl).unwrap();
    let first = text
        .lines()
        .find(|l| l.starts_with("#EXT-X-BYTERANGE:"))
        .unwrap()
        .to_string();
    let off = first.split('@').nth(1).unwrap();
    std::fs::write(
        &pl,
        text.replacen(&first, &format!("#EXT-X-BYTERANGE:10000000@{off}"), 1),
    )
    .unwrap();
    assert_fails_with(&d, &[], "runs past the end of video_240p/seg_1.m4s");

    // A SegmentTimeline duration that does not match the segment.
    let d = copy("timeline");
    let mpd = d.join("manifest.mpd");
    let text = std::fs::read_to_string(&mpd).unwrap();
    std::fs::write(&mpd, text.replacen(" d=\"", " d=\"1", 1)).unwrap();
    assert_fails_with(&d, &[], "SegmentTimeline d=1");

    // A key published with the media (the key manifest copied into OUT).
    let d = copy("key_inside");
    std::fs::copy(
        dir.path().join("good.keys.json"),
        d.join("keys-backup.json"),
    )
    .unwrap();
    assert_fails_with(&d, &args, "keys-backup.json: holds a content key");

    // The wrong key for a KID: a source comparison shows every sample differs.
    let mut wrong = vec![
        "--key".to_string(),
        format!(
            "kid={},key=00000000000000000000000000000000",
            crate::common::test_key("SD").kid
        ),
        "--key".to_string(),
        format!(
            "kid={},key={}",
            crate::common::test_key("AUDIO").kid,
            crate::common::test_key("AUDIO").key
        ),
        "--sources".to_string(),
    ];
    wrong.extend(inputs());
    assert_fails_with(&good, &wrong, "differs from source sample");
}

#[test]
fn single_file_byte_ranges_past_the_end_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let out = packaged(dir.path(), "single", &["--single-file"]);
    assert_eq!(verify(&out, &[]).0, 0);
    let pl = out.join("audio_fr/playlist.m3u8");
    let text = std::fs::read_to_string(&pl).unwrap();
    let last = text
        .lines()
        .rfind(|l| l.starts_with("#EXT-X-BYTERANGE:"))
        .unwrap()
        .to_string();
    let (len, off) = last["#EXT-X-BYTERANGE:".len()..].split_once('@').unwrap();
    let bigger = len.parse::<u64>().unwrap() + 1;
    std::fs::write(
        &pl,
        text.replacen(&last, &format!("#EXT-X-BYTERANGE:{bigger}@{off}"), 1),
    )
    .unwrap();
    assert_fails_with(&out, &[], "runs past the end of the file");
}

#[test]
fn garbage_is_reported_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = packaged(dir.path(), "g", &[]);
    for (i, (file, junk)) in [
        ("manifest.mpd", &b"<MPD><Period><AdaptationSet><Representation id=\"x\"><SegmentTemplate media=\"$Nope$\"/>"[..]),
        ("master.m3u8", &b"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"unterminated\n"[..]),
        ("video_240p/playlist.m3u8", &b"\x00\xff\xfe garbage"[..]),
        ("video_240p/init.mp4", &b"\x00\x00\x00\x08moov\x00\x00\x00\x01"[..]),
        ("audio_fr/seg_1.m4s", &b"\x00\x00\x00\x10moof\x00\x00\x00\x08traf"[..]),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("g{i}"));
        crate::common::run_ok(std::process::Command::new("cp").arg("-r").arg(&good).arg(&out));
        std::fs::write(out.join(file), junk).unwrap();
        let (code, report) = verify(&out, &[]);
        assert_eq!(code, 1, "{file}");
        assert!(errors(&report).contains(file), "{file}: {}", errors(&report));
    }
    let o = vodpack()
        .arg("verify")
        .arg(dir.path().join("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let o = vodpack()
        .args(["verify", "x", "--key", "kid=12,key=34"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(6), "a malformed key is a key error");
}

#[test]
fn package_verify_checks_the_staged_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let mut args = protection_args("cenc");
    args.extend([
        "--verify".to_string(),
        "--json".to_string(),
        "--key-manifest".to_string(),
        dir.path().join("o.keys.json").display().to_string(),
    ]);
    args.extend(inputs());
    let o = package(&out, &args);
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["verified"], true, "{summary}");
    assert_eq!(verify(&out, &full_args(dir.path(), "o")).0, 0);
}

#[test]
fn a_clear_lead_in_one_rendition_only_is_caught() {
    // Audio whose first segment is clear while video is encrypted from the start (what an AAC
    // edit list used to cause): the audio folder of a clear-lead run in an otherwise fully
    // encrypted output. Each rendition is consistent on its own; only the comparison shows it.
    let dir = tempfile::tempdir().unwrap();
    let cenc = protection_args("cenc");
    let mut lead = cenc.clone();
    lead.extend(["--clear-lead".to_string(), "3".to_string()]);
    let lead: Vec<&str> = lead.iter().map(String::as_str).collect();
    let cenc: Vec<&str> = cenc.iter().map(String::as_str).collect();
    let a = packaged(dir.path(), "lead", &lead);
    let b = packaged(dir.path(), "full", &cenc);
    assert_eq!(verify(&a, &full_args(dir.path(), "lead")).0, 0);
    assert_eq!(verify(&b, &full_args(dir.path(), "full")).0, 0);
    for f in ["init.mp4", "seg_1.m4s", "seg_2.m4s", "playlist.m3u8"] {
        std::fs::copy(a.join("audio_fr").join(f), b.join("audio_fr").join(f)).unwrap();
    }
    assert_fails_with(
        &b,
        &full_args(dir.path(), "full"),
        "s) are clear while video_240p is encrypted from the start",
    );
}

#[test]
fn other_layouts_verify_too() {
    // One manifest only, other manifest names, a segment template, absolute URLs, subtitles.
    let dir = tempfile::tempdir().unwrap();
    let cenc = protection_args("cenc");
    let layouts: [&[&str]; 6] = [
        &["--manifests", "hls"],
        &["--manifests", "dash"],
        &["--hls-master", "index.m3u8", "--mpd", "stream.mpd"],
        &[
            "--segment-template",
            "$RepresentationID$/part$Number%04d$.m4s",
        ],
        &["--base-url", "https://cdn.example.com/movie/"],
        &[
            "--single-file",
            "--base-url",
            "https://cdn.example.com/movie/",
        ],
    ];
    for (i, layout) in layouts.iter().enumerate() {
        let mut args: Vec<&str> = cenc.iter().map(String::as_str).collect();
        args.extend_from_slice(layout);
        let out = packaged(dir.path(), &format!("l{i}"), &args);
        let (code, report) = verify(&out, &full_args(dir.path(), &format!("l{i}")));
        assert_eq!(code, 0, "{layout:?}: {}", errors(&report));
        for r in report["renditions"].as_array().unwrap() {
            assert_eq!(r["compared_samples"], r["samples"], "{layout:?}: {r}");
        }
    }
    let out = dir.path().join("subs");
    package(
        &out,
        &[
            fixture("h264_240p.mp4").display().to_string(),
            fixture("subs_fr.vtt").display().to_string(),
        ],
    );
    let (code, report) = verify(&out, &[]);
    assert_eq!(code, 0, "{}", errors(&report));
    let subs_dir = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("text"))
        .expect("a text rendition folder");
    std::fs::write(subs_dir.join("seg_1.vtt"), "not webvtt").unwrap();
    assert_fails_with(&out, &[], "subtitle segment 1 is not WebVTT");
}

/// Flips and truncates bytes all over a small encrypted output (boxes, sizes, tables, manifests)
/// and runs the verifier in-process on each: it must report, never panic.
#[test]
fn mutations_never_panic() {
    use std::collections::HashMap;
    use vodpack::media::input::InputFile;
    use vodpack::verify::{verify as run_verify, SourceTrack, VerifyOptions};
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("m_files", vec![]), ("m_single", vec!["--single-file"])] {
        let mut args: Vec<String> = protection_args("cbcs");
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend([
            "--key-manifest".to_string(),
            dir.path()
                .join(format!("{name}.keys.json"))
                .display()
                .to_string(),
            fixture("h264_240p.mp4").display().to_string(),
            fixture("aac_fr.mp4").display().to_string(),
        ]);
        let out = dir.path().join(name);
        package(&out, &args);
        let video = InputFile::open(&fixture("h264_240p.mp4")).unwrap();
        let audio = InputFile::open(&fixture("aac_fr.mp4")).unwrap();
        let mut opts = VerifyOptions::default();
        for k in &crate::common::TEST_KEYS {
            let b = |h: &str| -> [u8; 16] { hex::decode(h).unwrap().try_into().unwrap() };
            opts.keys.insert(b(k.kid), b(k.key));
        }
        let mut sources = HashMap::new();
        for (id, f) in [("video_240p", &video), ("audio_fr", &audio)] {
            sources.insert(
                id.to_string(),
                SourceTrack {
                    path: &f.path,
                    file: &f.file,
                    track: &f.tracks[0],
                },
            );
        }
        opts.sources = sources;
        assert!(
            run_verify(&out, &opts).ok,
            "{name} must verify before mutation"
        );
        let mut files = Vec::new();
        for d in ["", "video_240p", "audio_fr"] {
            for e in std::fs::read_dir(out.join(d)).unwrap() {
                let p = e.unwrap().path();
                if p.is_file() {
                    files.push(p);
                }
            }
        }
        let mut runs = 0;
        for f in &files {
            let orig = std::fs::read(f).unwrap();
            let n = orig.len();
            // Every other byte of the first 128 (headers, sizes, version/flags, table counts),
            // then 48 positions spread over the file; values rotate through 0x00, 0xff, bit 7.
            let mut positions: Vec<usize> = (0..n.min(128)).step_by(2).collect();
            positions.extend((0..48).map(|i| i * n / 48));
            for (k, &pos) in positions.iter().enumerate() {
                let value = [0x00u8, 0xff, orig[pos] ^ 0x80][k % 3];
                let mut m = orig.clone();
                m[pos] = value;
                std::fs::write(f, &m).unwrap();
                let r = std::panic::catch_unwind(|| run_verify(&out, &opts));
                assert!(
                    r.is_ok(),
                    "verify panicked: {} byte {pos} = {value:#x}",
                    f.display()
                );
                runs += 1;
            }
            for cut in (0..8).map(|i| i * n / 8) {
                std::fs::write(f, &orig[..cut]).unwrap();
                let r = std::panic::catch_unwind(|| run_verify(&out, &opts));
                assert!(r.is_ok(), "verify panicked: {} cut at {cut}", f.display());
                runs += 1;
            }
            std::fs::write(f, &orig).unwrap();
        }
        assert!(runs > 800, "{name}: only {runs} mutations");
        assert!(
            run_verify(&out, &opts).ok,
            "{name}: restored output must verify"
        );
    }
}
