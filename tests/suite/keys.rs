//! Key handling seen from the command line: bad keys are refused before any output is written;
//! keys never leak into manifests, segments' neighbours or `--json`; the key manifest is 0600
//! and round-trips through the control-plane reader.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vodpack_control::key_manifest::KeyManifest;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

fn run(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vodpack"))
        .args(["package", "-o"])
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

const KID: &str = "00112233445566778899aabbccddeeff";
const KEY: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn bad_keys_are_clear_errors_before_any_output() {
    let video = fixture("h264_240p.mp4");
    let audio = fixture("aac_en.mp4");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![format!("label=SD,kid={KID},key=0123")], "key"),
        (vec![format!("label=SD,kid={KID},key=zz23456789abcdef0123456789abcdef")], "hex"),
        (
            vec![
                format!("label=SD,kid={KID},key={KEY}"),
                format!("label=AUDIO,kid={KID},key=ffffffffffffffffffffffffffffffff"),
            ],
            "different key",
        ),
        // Only an SD key: the audio rendition has no key.
        (vec![format!("label=SD,kid={KID},key={KEY}"), "label=HD,kid=11112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdee".into()], "AUDIO"),
    ];
    for (keys, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut args = vec!["--protection", "cenc", video.as_str(), audio.as_str()];
        for k in &keys {
            args.push("--key");
            args.push(k);
        }
        let o = run(&out, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(6), "{keys:?}: {err}");
        assert!(
            err.contains(needle),
            "{keys:?}: message should mention '{needle}': {err}"
        );
        assert!(
            !out.exists(),
            "{keys:?}: output written despite a key error"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary folder left behind"
        );
    }
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(all_files(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn keys_stay_out_of_manifests_and_json_and_the_key_manifest_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let key_arg = format!("label=ALL,kid={KID},key={KEY}");
    let o = run(
        &out,
        &[
            "--json",
            "--protection",
            "cbcs",
            "--drm",
            "clearkey,widevine,playready,fairplay",
            "--key",
            &key_arg,
            &fixture("h264_240p.mp4"),
            &fixture("aac_en.mp4"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains(KEY) && !String::from_utf8_lossy(&o.stderr).contains(KEY),
        "key printed"
    );
    let key_bytes = hex::decode(KEY).unwrap();
    // The key manifest lives beside OUT (never inside the folder that gets published), and no
    // file under OUT holds the key in any encoding.
    let km_path = dir.path().join("out.keys.json");
    assert!(km_path.is_file());
    let encodings = {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(&key_bytes);
        let u = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key_bytes);
        [b.trim_end_matches('=').to_string(), u, KEY.to_uppercase()]
    };
    for f in all_files(&out) {
        let bytes = std::fs::read(&f).unwrap();
        for e in &encodings {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(e.as_str()),
                "{} holds the key as {e}",
                f.display()
            );
        }
        assert!(
            !String::from_utf8_lossy(&bytes).to_lowercase().contains(KEY),
            "{} holds the key in hex",
            f.display()
        );
        assert!(
            !bytes.windows(16).any(|w| w == key_bytes.as_slice()),
            "{} holds the raw key",
            f.display()
        );
    }
    assert_eq!(
        std::fs::metadata(&km_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Writer and reader agree (the types are the control crate's).
    let km = KeyManifest::load(&km_path).unwrap();
    assert_eq!(km.protection_scheme.as_deref(), Some("cbcs"));
    assert_eq!(km.keys[0].key.as_deref(), Some(KEY));
    assert_eq!(km.keys[0].kid, KID);
    assert!(km
        .renditions
        .iter()
        .all(|r| r.kid.as_deref() == Some(KID) && r.key_label.as_deref() == Some("ALL")));
    let systems: Vec<&str> = km.drm_systems.iter().map(|d| d.system.as_str()).collect();
    assert_eq!(systems, ["clearkey", "widevine", "playready", "fairplay"]);
    assert!(km
        .drm_systems
        .iter()
        .filter(|d| d.system != "fairplay")
        .all(|d| !d.pssh.is_empty()));
    let again = KeyManifest::from_json(&km.to_json_pretty().unwrap()).unwrap();
    assert_eq!(again, km);
}

#[test]
fn key_references_write_no_key_bytes_and_generated_keys_follow_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(
        &out,
        &[
            "-q",
            "--protection",
            "cenc",
            "--key-references",
            &fixture("h264_240p.mp4"),
            &fixture("h264_720p.mp4"),
            &fixture("aac_en.mp4"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let km = KeyManifest::load(out.with_extension("keys.json")).unwrap();
    let mut labels: Vec<&str> = km.keys.iter().map(|k| k.label.as_str()).collect();
    labels.sort();
    assert_eq!(labels, ["AUDIO", "HD", "SD"]);
    assert!(km
        .keys
        .iter()
        .all(|k| k.key.is_none() && k.key_ref.is_some()));
    let kids: std::collections::HashSet<&str> = km.keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids.len(), 3, "generated KIDs must differ");
    let label_of = |id: &str| km.rendition(id).unwrap().key_label.clone().unwrap();
    assert_eq!(
        (
            label_of("video_240p").as_str(),
            label_of("video_720p").as_str(),
            label_of("audio_en").as_str()
        ),
        ("SD", "HD", "AUDIO")
    );
}

#[test]
fn corrupt_nal_lengths_under_encryption_name_the_file_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("h264_240p.mp4")).unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    bytes[mdat + 4..mdat + 8].copy_from_slice(&[0xff; 4]); // first NAL length of the first sample
    let bad = dir.path().join("bad_nal.mp4");
    std::fs::write(&bad, bytes).unwrap();
    let out = dir.path().join("out");
    let o = run(&out, &["-q", "--protection", "cbcs", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("bad_nal.mp4") && err.contains("sample 1") && err.contains("NAL"),
        "{err}"
    );
    assert!(!out.exists());
}
