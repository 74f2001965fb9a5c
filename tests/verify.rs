//! `vodpack verify`: a good output passes (clear, cenc, cbcs, clear lead, single file; with keys
//! every sample decrypts and with sources every sample equals the source's), and each damage the
//! issue names fails with exit 1 and a message saying what and where: a missing segment, one
//! flipped byte (with --sources), a segment swapped for its clear counterpart, a truncated
//! segment, a manifest entry pointing past the end of its file. Garbage manifests never panic.
mod common;

use common::{fixture, package, protection_args, vodpack};
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
        common::run_ok(
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

    // The wrong key for a KID: a source comparison shows every sample differs.
    let mut wrong = vec![
        "--key".to_string(),
        format!(
            "kid={},key=00000000000000000000000000000000",
            common::test_key("SD").kid
        ),
        "--key".to_string(),
        format!(
            "kid={},key={}",
            common::test_key("AUDIO").kid,
            common::test_key("AUDIO").key
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
        common::run_ok(std::process::Command::new("cp").arg("-r").arg(&good).arg(&out));
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
