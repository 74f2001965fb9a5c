//! A job file (TOML or JSON) drives the same run as the flags, and a failed run leaves an earlier
//! output untouched.
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn vodpack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vodpack"))
}

#[test]
fn toml_job_file_sets_language_name_role_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures();
    let job = format!(
        r#"out = "out"
segment_duration = 2
asset_id = "movie_123"

[[inputs]]
in = "{fx}/h264_240p.mp4"

[[inputs]]
in = "{fx}/h264_360p.mp4"

[[inputs]]
in = "{fx}/aac_fr.mp4#audio"
lang = "fr"
name = "Français"
roles = ["dub"]
id = "audio_francais"
"#,
        fx = fx.display()
    );
    std::fs::write(dir.path().join("job.toml"), job).unwrap();
    let out = vodpack()
        .args(["package", "--json", "--job"])
        .arg(dir.path().join("job.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rends = summary["renditions"].as_array().unwrap();
    assert_eq!(rends.len(), 3);
    // 8 s at 2 s per segment.
    assert!(rends.iter().all(|r| r["segments"] == 4), "{summary}");
    let master = std::fs::read_to_string(dir.path().join("out/master.m3u8")).unwrap();
    assert!(
        master.contains(r#"NAME="Français",LANGUAGE="fr""#),
        "{master}"
    );
    assert!(
        master.contains(r#"URI="audio_francais/playlist.m3u8""#),
        "{master}"
    );
    let mpd = std::fs::read_to_string(dir.path().join("out/manifest.mpd")).unwrap();
    assert!(
        mpd.contains(r#"<Role schemeIdUri="urn:mpeg:dash:role:2011" value="dub"/>"#),
        "{mpd}"
    );
    let km: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.keys.json")).unwrap())
            .unwrap();
    assert_eq!(km["asset_id"], "movie_123");
    assert_eq!(km["segment_duration"], 2.0);
}

#[test]
fn json_job_file_and_bad_field_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let job = serde_json::json!({"out": "o", "inputs": [{"in": fixtures().join("h264_240p.mp4")}], "colour": "red"});
    std::fs::write(dir.path().join("job.json"), job.to_string()).unwrap();
    let out = vodpack()
        .args(["package", "--job"])
        .arg(dir.path().join("job.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `colour`"));
}

#[test]
fn failed_run_leaves_previous_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let ok = vodpack()
        .args(["package", "-q", "-o"])
        .arg(&out_dir)
        .arg(fixtures().join("h264_240p.mp4"))
        .status()
        .unwrap();
    assert!(ok.success());
    let before = std::fs::read(out_dir.join("video_240p/seg_1.m4s")).unwrap();
    // The second input is truncated: the run fails after the first rendition could be written.
    let bad = vodpack()
        .args(["package", "-q", "-o"])
        .arg(&out_dir)
        .arg(fixtures().join("h264_360p.mp4"))
        .arg(fixtures().join("corrupt/truncated.mp4"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert_eq!(
        std::fs::read(out_dir.join("video_240p/seg_1.m4s")).unwrap(),
        before
    );
    assert!(!out_dir.join("video_360p").exists());
    let mut leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    leftovers.sort();
    assert_eq!(
        leftovers,
        vec![
            std::ffi::OsString::from("out"),
            std::ffi::OsString::from("out.keys.json")
        ],
        "temporary folders left behind"
    );
}
