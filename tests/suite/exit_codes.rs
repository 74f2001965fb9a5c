//! One test per documented exit code (docs/usage.md#exit-codes, docs/exit-codes.md), each through
//! the real binary: 0, 1, 2, 3, 4, 5, 6, 7, 130 and 143. The library knows no exit codes; the
//! binary maps each kind of error to one (src/cli/exit_code.rs), and these tests hold it to the table.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

fn f(name: &str) -> String {
    fixture(name).display().to_string()
}

fn package_args(out: &Path, args: &[&str]) -> Output {
    vodpack()
        .arg("package")
        .arg("--quiet")
        .arg("-o")
        .arg(out)
        .args(args)
        .output()
        .expect("run vodpack")
}

/// Asserts the code, that nothing panicked, and that stderr holds `needle`.
fn assert_exit(what: &str, o: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}: exit code; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{what}: stderr does not say {needle:?}:\n{stderr}"
    );
}

#[test]
fn exit_0_success() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = package_args(&out, &[&f("h264_240p.mp4")]);
    assert_exit("a good input", &o, 0, "");
    assert!(out.join("master.m3u8").is_file());
    assert!(tmp.path().join("out.keys.json").is_file());
}

#[test]
fn exit_1_verification_found_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert_exit(
        "package",
        &package_args(&out, &[&f("h264_240p.mp4")]),
        0,
        "",
    );
    // Damage the output: drop its first media segment.
    let rendition = out.join("video_240p");
    let first = segments(&rendition).into_iter().next().expect("a segment");
    std::fs::remove_file(&first).unwrap();
    let o = vodpack().arg("verify").arg(&out).output().unwrap();
    assert_exit("verify of a damaged output", &o, 1, "verification:");
}

#[test]
fn exit_2_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (what, args, needle) in [
        (
            "segment duration out of range",
            vec!["--segment-duration", "7", &f("h264_240p.mp4")][..].to_vec(),
            "--segment-duration 7 is out of range",
        ),
        (
            "unknown descriptor field",
            vec!["in=x.mp4,colour=red"],
            "unknown field 'colour'",
        ),
        (
            "key options without --protection",
            vec!["--iv", "00", &f("h264_240p.mp4")],
            "need --protection",
        ),
        (
            "an unknown DRM system",
            vec!["--protection", "cbcs", "--drm", "foo", &f("h264_240p.mp4")],
            "--drm 'foo'",
        ),
    ] {
        let o = package_args(&out, &args);
        assert_exit(what, &o, 2, needle);
    }
    assert!(!out.exists());
    // clap's own usage errors exit 2 as well.
    let o = vodpack()
        .args(["package", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn exit_3_invalid_input() {
    let tmp = tempfile::tempdir().unwrap();
    let o = package_args(&tmp.path().join("out"), &[&f("corrupt/truncated.mp4")]);
    assert_exit("a truncated input", &o, 3, "truncated.mp4: invalid input:");
    let o = vodpack()
        .args(["inspect", &f("corrupt/no_moov.mp4")])
        .output()
        .unwrap();
    assert_exit("inspect without moov", &o, 3, "no_moov.mp4");
}

#[test]
fn exit_4_unsupported_input() {
    let tmp = tempfile::tempdir().unwrap();
    let o = package_args(&tmp.path().join("out"), &[&f("corrupt/tx3g_only.mp4")]);
    assert_exit(
        "a subtitle-only input",
        &o,
        4,
        "tx3g_only.mp4: unsupported:",
    );
    let o = package_args(
        &tmp.path().join("out"),
        &[&f("corrupt/unknown_codec_zzz1.mp4")],
    );
    assert_exit("an unknown codec", &o, 4, "zzz1");
}

#[test]
fn exit_5_alignment() {
    let tmp = tempfile::tempdir().unwrap();
    let o = package_args(
        &tmp.path().join("out"),
        &[&f("h264_240p.mp4"), &f("unaligned_360p.mp4")],
    );
    assert_exit("unaligned keyframes", &o, 5, "segment alignment:");
}

#[test]
fn exit_6_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = f("h264_240p.mp4");
    for (what, args, needle) in [
        (
            "a short key",
            vec![
                "--protection",
                "cbcs",
                "--key",
                "label=SD,kid=00,key=00",
                &input,
            ],
            "kid must be 16 bytes",
        ),
        (
            "a bad IV size",
            vec!["--protection", "cenc", "--iv-size", "12", &input],
            "--iv-size 12",
        ),
    ] {
        assert_exit(what, &package_args(&out, &args), 6, needle);
    }
    // verify: a key manifest that is not one.
    assert_exit("package", &package_args(&out, &[&input]), 0, "");
    let bad = tmp.path().join("bad.keys.json");
    std::fs::write(&bad, "{}").unwrap();
    let o = vodpack()
        .arg("verify")
        .arg(&out)
        .arg("--key-manifest")
        .arg(&bad)
        .output()
        .unwrap();
    assert_exit(
        "verify with a malformed key manifest",
        &o,
        6,
        "key manifest",
    );
}

#[test]
fn exit_7_io() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = f("h264_240p.mp4");
    // An input that cannot be read.
    let missing = tmp.path().join("missing.mp4");
    let o = package_args(&out, &[missing.to_str().unwrap()]);
    assert_exit("a missing input", &o, 7, "missing.mp4");
    // The key manifest's folder does not exist: the run is refused when the key manifest is
    // written (staged), and nothing is committed.
    let km = tmp.path().join("no-such-folder").join("k.json");
    let o = package_args(&out, &["--key-manifest", km.to_str().unwrap(), &input]);
    assert_exit(
        "a key manifest in a missing folder",
        &o,
        7,
        "no-such-folder",
    );
    assert!(!out.exists(), "a failed run created OUT");
    // verify: a key manifest that cannot be read (I/O, not a key problem).
    assert_exit("package", &package_args(&out, &[&input]), 0, "");
    let o = vodpack()
        .arg("verify")
        .arg(&out)
        .arg("--key-manifest")
        .arg(tmp.path().join("absent.keys.json"))
        .output()
        .unwrap();
    assert_exit(
        "verify with a missing key manifest",
        &o,
        7,
        "absent.keys.json",
    );
    // Standard output that cannot be written.
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = vodpack()
            .arg("man")
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        assert_exit("man into a full device", &o, 7, "standard output");
    }
}

/// Starts `vodpack package` with a `--decryption-key-file` that is a FIFO, sends `signal` once
/// vodpack has opened it for reading (so its signal handlers are set: they are installed before
/// any input is read), then lets it read the file: it stops at its next check, before anything is
/// written, and exits 128 + the signal.
fn interrupted(signal: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("keys.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success(), "mkfifo failed");
    let out = tmp.path().join("out");
    let child = vodpack()
        .args(["package", "--quiet", "-o"])
        .arg(&out)
        .arg("--decryption-key-file")
        .arg(&fifo)
        .arg(f("h264_240p.mp4"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing blocks until vodpack opens it for reading.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let key = test_key("SD");
    writeln!(
        writer,
        r#"{{"keys": [{{"label": "SD", "kid": "{}", "key": "{}"}}]}}"#,
        key.kid, key.key
    )
    .unwrap();
    drop(writer);
    let o = child.wait_with_output().unwrap();
    assert_exit(signal, &o, code, "stopped by signal");
    assert!(!out.exists(), "an interrupted run wrote OUT");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["keys.json".to_string()], "files left behind");
}

#[test]
fn exit_130_sigint() {
    interrupted("-INT", 130);
}

#[test]
fn exit_143_sigterm() {
    interrupted("-TERM", 143);
}
