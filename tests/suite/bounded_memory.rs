//! Streaming: vodpack's peak memory stays bounded by a few segments per rendition, whatever the
//! input length. Two inputs of the same stream, 30 s and 300 s (≈ 130 MB), are packaged clear and
//! encrypted; peak RSS (GNU time's %M, a judge outside vodpack) must stay far below the input
//! size and barely grow with a 10x longer input.

use crate::common::{fixture, heavy_slot, run_ok, synth_video};
use std::path::Path;
use std::process::Command;

/// Peak RSS in KiB of `vodpack package -q -o OUT ARGS...`, measured by /usr/bin/time.
fn peak_rss_kib(out: &Path, args: &[&str]) -> u64 {
    let time = Path::new("/usr/bin/time");
    assert!(
        time.is_file(),
        "/usr/bin/time is missing: run scripts/test.sh (apt package `time`)"
    );
    let o = run_ok(
        Command::new(time)
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_vodpack"))
            .args(["package", "-q", "-o"])
            .arg(out)
            .args(args),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in {stderr}"))
}

#[test]
fn peak_memory_does_not_grow_with_input_length() {
    let _heavy = heavy_slot();
    let dir = tempfile::tempdir().unwrap();
    let make = |secs: u32| {
        let p = dir.path().join(format!("v{secs}.mp4"));
        let encoder = [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "8",
            "-g",
            "50",
        ];
        let flags = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof"];
        synth_video(&p, "640x360", secs, &[&encoder[..], &flags[..]].concat());
        p
    };
    let (short, long) = (make(30), make(300));
    let long_bytes = std::fs::metadata(&long).unwrap().len();
    assert!(
        long_bytes > 100 << 20,
        "the long input should exceed 100 MiB, is {long_bytes} bytes"
    );
    let audio = fixture("aac_en.mp4").display().to_string();
    for extra in [
        &[][..],
        &["--protection", "cenc"][..],
        &["--protection", "cbcs"][..],
    ] {
        let run = |input: &Path, name: &str| {
            let mut args = vec![input.to_str().unwrap(), audio.as_str()];
            args.extend_from_slice(extra);
            peak_rss_kib(&dir.path().join(name), &args)
        };
        let short_rss = run(&short, "short");
        let long_rss = run(&long, "long");
        eprintln!(
            "{extra:?}: peak RSS {short_rss} KiB (30 s) vs {long_rss} KiB (300 s, {} MiB input)",
            long_bytes >> 20
        );
        assert!(
            long_rss < 64 * 1024,
            "{extra:?}: peak RSS {long_rss} KiB for a {long_bytes}-byte input"
        );
        assert!(
            long_rss < short_rss + 16 * 1024,
            "{extra:?}: peak RSS grew from {short_rss} KiB to {long_rss} KiB with a 10x longer input"
        );
    }
}
