//! Real-world inputs with unusual timing (issue 8, finding 7): each comes out lossless — the
//! ffmpeg framemd5 of the packaged rendition equals the source track's (decoded frames, their
//! presentation times relative to the first and their durations) — or is refused with a clear
//! message and the documented exit code. Never a silent difference.
//!
//! The corpus is made by fixtures/make-oddities.sh with ffmpeg and Shaka Packager (the judges in
//! `$VODPACK_TOOLS`), into a temporary folder.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn corpus() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tools = tools();
        run_ok(
            Command::new(root().join("fixtures/make-oddities.sh"))
                .arg(dir.path())
                .env("FFMPEG", &tools.ffmpeg)
                .env("PACKAGER", &tools.packager),
        );
        let path = dir.path().to_path_buf();
        (dir, path)
    })
    .1
}

/// Packages `file#selector` alone and checks the decoded frames equal the source's.
fn assert_lossless(file: &str, selector: &str, stream: &str) {
    let input = corpus().join(file);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    package(&out, &[format!("in={}{selector},id=r", input.display())]);
    let joined = concat_rendition(&out.join("r"), &dir.path().join("joined.mp4"));
    assert_same_frames(
        &format!("{file}{selector}: framemd5"),
        &framemd5(&input, stream, &[]),
        &framemd5(&joined, "0", &[]),
    );
}

/// Packages `file` and checks it is refused with `code` and a message naming the file and `needles`.
fn assert_refused(file: &str, code: i32, needles: &[&str]) {
    let input = corpus().join(file);
    let dir = tempfile::tempdir().unwrap();
    let out = vodpack()
        .arg("package")
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--quiet")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{file}: panicked:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{file}: exit code; stderr:\n{stderr}"
    );
    assert!(stderr.contains(file), "{file}: file not named:\n{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{file}: '{n}' not in:\n{stderr}");
    }
    assert!(
        !dir.path().join("out").exists(),
        "{file}: output left behind"
    );
}

#[test]
fn aac_priming_1024_is_lossless() {
    assert_lossless("aac_priming_1024.mp4", "", "a:0");
}

#[test]
fn aac_priming_2112_is_lossless() {
    assert_lossless("aac_priming_2112.mp4", "", "a:0");
}

#[test]
fn h264_bframes_with_edit_list_is_lossless() {
    assert_lossless("h264_bframes_elst.mp4", "", "v:0");
}

#[test]
fn h264_negative_ctts_is_lossless() {
    assert_lossless("h264_ctts_negative.mp4", "", "v:0");
}

/// A second traf without base_data_offset or default-base-is-moof: its data starts where the
/// previous traf's ended (ISO/IEC 14496-12 §8.8.7.1). vodpack used the moof start and read the
/// video's bytes as audio.
#[test]
fn second_traf_without_base_offset_is_lossless() {
    assert_lossless("muxed_no_base.mp4", "#video", "v:0");
    assert_lossless("muxed_no_base.mp4", "#audio", "a:0");
}

#[test]
fn shaka_packager_outputs_are_lossless() {
    assert_lossless("shaka_h264.mp4", "", "v:0");
    assert_lossless("shaka_aac.mp4", "", "a:0");
}

#[test]
fn empty_edit_start_delay_is_refused() {
    assert_refused(
        "empty_edit_delay.mp4",
        4,
        &["track 1", "elst", "empty edit"],
    );
}

#[test]
fn two_edits_are_refused() {
    assert_refused("two_edits.mp4", 4, &["track 1", "elst", "2 edits"]);
}

#[test]
fn trimmed_end_is_refused() {
    assert_refused("trimmed_end.mp4", 4, &["track 1", "elst", "trimmed end"]);
}

#[test]
fn zero_timescale_is_refused() {
    assert_refused("mdhd_timescale_0.mp4", 3, &["track 1", "timescale is 0"]);
}

#[test]
fn missing_timescale_is_refused() {
    assert_refused("no_mdhd.mp4", 3, &["mdhd"]);
}

/// A decode-time gap between the source's fragments (tfdt jumps 0.5 s ahead) is kept: vodpack
/// starts a new fragment there with the source's tfdt instead of running its samples on.
#[test]
fn tfdt_gap_is_lossless() {
    assert_lossless("aac_tfdt_gap.mp4", "", "a:0");
}
