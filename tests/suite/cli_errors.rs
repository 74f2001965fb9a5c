//! Bad input gives the documented exit code (docs/exit-codes.md) and a message naming the file and
//! the problem, never a panic (exit 101); a failed run leaves an existing OUT as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

fn run_package(out: &Path, args: &[String]) -> Output {
    vodpack()
        .arg("package")
        .arg("-o")
        .arg(out)
        .arg("--quiet")
        .args(args)
        .output()
        .expect("run vodpack")
}

/// Asserts the exit code, no panic, and that stderr mentions every `needle` (case-insensitive).
fn assert_fails(what: &str, output: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "{what}: vodpack panicked:\n{stderr}"
    );
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: exit code (stderr: {stderr})"
    );
    let lower = stderr.to_lowercase();
    for needle in needles {
        assert!(
            lower.contains(&needle.to_lowercase()),
            "{what}: the message does not mention {needle:?}:\n{stderr}"
        );
    }
    stderr
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

/// The corrupt fixtures, the exit code each must give, and a word the message must contain.
const CORRUPT: [(&str, i32, &str); 8] = [
    ("not_mp4.mp4", 3, ""),
    ("truncated.mp4", 3, ""),
    ("no_moov.mp4", 3, "moov"),
    ("moov_size_past_eof.mp4", 3, ""),
    ("child_larger_than_parent.mp4", 3, ""),
    ("stsz_count_huge.mp4", 3, ""),
    ("unknown_codec_zzz1.mp4", 4, "zzz1"),
    ("tx3g_only.mp4", 4, ""),
];

#[test]
fn corrupt_inputs_give_the_documented_exit_code_and_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, code, word) in CORRUPT {
        let input = fixture(&format!("corrupt/{name}"));
        let out = tmp.path().join(format!("out-{name}"));
        let output = run_package(&out, &[input.display().to_string()]);
        let mut needles = vec![name];
        if !word.is_empty() {
            needles.push(word);
        }
        assert_fails(&format!("package {name}"), &output, code, &needles);
        assert!(
            !out.exists(),
            "{name}: a failed run created {}",
            out.display()
        );
    }
}

#[test]
fn inspect_refuses_corrupt_inputs_without_panicking() {
    for (name, code, _) in CORRUPT {
        let input = fixture(&format!("corrupt/{name}"));
        let output = vodpack().arg("inspect").arg(&input).output().unwrap();
        // inspect prints what it can of a valid but unsupported file; it must never panic and must
        // refuse the malformed ones with exit 3.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked"),
            "inspect {name} panicked:\n{stderr}"
        );
        assert_ne!(output.status.code(), Some(101), "inspect {name}");
        if code == 3 {
            assert_fails(&format!("inspect {name}"), &output, 3, &[name]);
        }
    }
}

#[test]
fn inspect_reports_the_codec_and_gops_of_a_good_file() {
    let output = run_ok(vodpack().arg("inspect").arg(fixture("h264_720p.mp4")));
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in ["avc1.64001f", "moov", "moof"] {
        assert!(
            text.contains(needle),
            "inspect output lacks {needle}:\n{text}"
        );
    }
}

#[test]
fn unaligned_keyframes_fail_naming_the_rendition_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let args = vec![
        fixture("h264_240p.mp4").display().to_string(),
        format!(
            "in={},id=unaligned",
            fixture("unaligned_360p.mp4").display()
        ),
    ];
    let output = run_package(&tmp.path().join("out"), &args);
    assert_fails("unaligned keyframes", &output, 5, &["unaligned"]);
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn cut_at_common_keyframes_cuts_where_all_renditions_have_one() {
    // The ladder has keyframes at 0, 2, 4, 6 s, the unaligned file at 0, 1, 3, 5, 6, 7 s: the only
    // shared ones are 0 s and 6 s.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = vec![
        "--cut-at-common-keyframes".to_string(),
        format!("in={},id=ladder", fixture("h264_240p.mp4").display()),
        format!(
            "in={},id=unaligned",
            fixture("unaligned_360p.mp4").display()
        ),
    ];
    package(&out, &args);
    for rid in ["ladder", "unaligned"] {
        let starts: Vec<f64> = segment_starts(&out.join(rid))
            .iter()
            .map(|s| s.as_f64())
            .collect();
        assert_eq!(starts, vec![0.0, 6.0], "{rid}: segment starts");
    }
}

#[test]
fn segment_duration_out_of_range_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["1", "7", "0", "-4", "abc"] {
        let out = tmp.path().join(format!("out{d}"));
        let mut args = vec![format!("--segment-duration={d}")];
        args.push(fixture("h264_240p.mp4").display().to_string());
        let output = run_package(&out, &args);
        assert_fails(&format!("--segment-duration {d}"), &output, 2, &["segment"]);
        assert!(!out.exists());
    }
}

#[test]
fn bad_keys_fail_before_any_output_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let kid_a = "00112233445566778899aabbccddeeff";
    let key_a = "0123456789abcdef0123456789abcdef";
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "key too short",
            s(&["--key", &format!("label=AUDIO,kid={kid_a},key=0123")]),
        ),
        (
            "kid not hex",
            s(&[
                "--key",
                &format!("label=AUDIO,kid=zz112233445566778899aabbccddeeff,key={key_a}"),
            ]),
        ),
        (
            "duplicate kid with another key",
            s(&[
                "--key",
                &format!("label=AUDIO,kid={kid_a},key={key_a}"),
                "--key",
                &format!("label=SD,kid={kid_a},key=ffffffffffffffffffffffffffffffff"),
            ]),
        ),
        // The video rendition needs an SD key; only AUDIO is given.
        (
            "rendition without a key",
            s(&["--key", &format!("label=AUDIO,kid={kid_a},key={key_a}")]),
        ),
    ];
    for (what, keys) in cases {
        let out = tmp.path().join(what.replace(' ', "-"));
        let mut args = s(&["--protection", "cenc"]);
        args.extend(keys);
        args.push(fixture("h264_240p.mp4").display().to_string());
        args.push(fixture("aac_en.mp4").display().to_string());
        let output = run_package(&out, &args);
        let stderr = assert_fails(what, &output, 6, &[]);
        assert!(
            !stderr.contains(key_a),
            "{what}: the message leaks a key:\n{stderr}"
        );
        assert!(!out.exists(), "{what}: output written despite bad keys");
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_run_leaves_an_existing_out_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    package(
        &out,
        &s(&[
            &fixture("h264_240p.mp4").display().to_string(),
            &fixture("aac_en.mp4").display().to_string(),
        ]),
    );
    let before = snapshot(&out);
    let listing = entries(tmp.path());

    // Invalid input, unaligned renditions and bad keys all fail after OUT exists.
    let failing: Vec<(i32, Vec<String>)> = vec![
        (
            3,
            vec![
                fixture("h264_240p.mp4").display().to_string(),
                fixture("corrupt/truncated.mp4").display().to_string(),
            ],
        ),
        (
            5,
            vec![
                fixture("h264_240p.mp4").display().to_string(),
                fixture("unaligned_360p.mp4").display().to_string(),
            ],
        ),
        (
            6,
            s(&[
                "--protection",
                "cbcs",
                "--key",
                "label=SD,kid=00,key=00",
                &fixture("h264_240p.mp4").display().to_string(),
            ]),
        ),
    ];
    for (code, args) in failing {
        let output = run_package(&out, &args);
        assert_fails(&format!("failing run {args:?}"), &output, code, &[]);
        assert!(
            snapshot(&out) == before,
            "a failed run (exit {code}) changed {}",
            out.display()
        );
        assert_eq!(
            entries(tmp.path()),
            listing,
            "a failed run left files beside OUT"
        );
    }
}
