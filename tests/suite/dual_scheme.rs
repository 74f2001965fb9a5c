//! One run, two encryption schemes (`--protection dash=cenc,hls=cbcs`): both segment sets
//! decrypt to the exact source samples with Shaka Packager's decrypter and to the source frames
//! with ffmpeg's; the MPD references only the cenc set and the playlists only the cbcs set; keys,
//! clear lead and DRM signalling apply to both; the key manifest records both; Shaka Player plays
//! the DASH (cenc) set and hls.js the HLS (cbcs) set with Clear Key in Chromium.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// (rendition id, fixture, ffmpeg stream, key label, Shaka stream kind)
const SET: [(&str, &str, &str, &str, &str); 3] = [
    ("h264_240p", "h264_240p.mp4", "v:0", "SD", "video"),
    ("h264_720p", "h264_720p.mp4", "v:0", "HD", "video"),
    ("aac_en", "aac_en.mp4", "a:0", "AUDIO", "audio"),
];

fn package_dual(out: &Path, extra: &[String]) {
    let mut args = protection_args("dash=cenc,hls=cbcs");
    args.extend(["--clear-lead".to_string(), "2".to_string()]);
    args.extend(extra.iter().cloned());
    args.extend(SET.iter().map(|(id, file, _, _, _)| {
        let lang = if id.starts_with("aac") {
            ",lang=en"
        } else {
            ""
        };
        format!("in={},id={id}{lang}", fixture(file).display())
    }));
    package(out, &args);
}

/// The 4CC of the scheme in an init segment's sinf (schm scheme_type).
fn scheme_of(init: &Path) -> String {
    let bytes = std::fs::read(init).unwrap();
    let stsd = find_box(&bytes, &["moov", "trak", "mdia", "minf", "stbl", "stsd"]).expect("stsd");
    // The sample entry's sinf/schm: 4CC, version/flags (4), then scheme_type (4).
    let at = stsd
        .windows(4)
        .position(|w| w == b"schm")
        .expect("schm in the sample entry");
    String::from_utf8_lossy(&stsd[at + 8..at + 12]).into_owned()
}

#[test]
fn both_sets_decrypt_to_the_source_and_manifests_pick_their_set() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    package_dual(&out, &["--drm".into(), "clearkey,widevine".into()]);

    for (id, file, stream, label, kind) in SET {
        let key = test_key(label);
        let source = fixture(file);
        let clear_frames = framemd5(&source, stream, &[]);
        let clear_samples = samples(&source, stream, &[]);
        let mut stored_by_scheme = Vec::new();
        for scheme in ["cenc", "cbcs"] {
            let what = format!("{id} {scheme} set (key {label})");
            let folder = out.join(id).join(scheme);
            assert_eq!(scheme_of(&folder.join("init.mp4")), scheme, "{what}: schm");
            let encrypted =
                concat_rendition(&folder, &tmp.path().join(format!("{id}.{scheme}.mp4")));
            let stored = samples(&encrypted, "0", &[]);
            // Encrypted after the clear lead (the first 4 s segment of this 8 s title): the
            // second half of the samples differs from the source.
            let changed = stored
                .iter()
                .zip(&clear_samples)
                .filter(|(a, b)| a.md5 != b.md5)
                .count();
            assert!(
                changed * 5 > stored.len() * 2,
                "{what}: only {changed} of {} samples differ from the source",
                stored.len()
            );
            // The clear lead is clear in both sets: the first sample is the source's.
            assert_eq!(stored[0].md5, clear_samples[0].md5, "{what}: clear lead");
            let decrypted = tmp.path().join(format!("{id}.{scheme}.shaka-dec.mp4"));
            shaka_decrypt(&encrypted, kind, &decrypted, key.kid, key.key);
            assert_same_samples(
                &format!("{what}: Shaka-decrypted samples"),
                &clear_samples,
                &samples(&decrypted, "0", &[]),
            );
            assert_same_frames(
                &format!("{what}: ffmpeg -decryption_key"),
                &clear_frames,
                &framemd5(&encrypted, "0", &["-decryption_key", key.key]),
            );
            stored_by_scheme.push(stored);
        }
        // Two encryptions, not one copied: the encrypted bytes of the sets differ.
        let same = stored_by_scheme[0]
            .iter()
            .zip(&stored_by_scheme[1])
            .filter(|(a, b)| a.md5 == b.md5)
            .count();
        assert!(
            same * 5 < stored_by_scheme[0].len() * 3,
            "{id}: {same} samples are equal in the cenc and cbcs sets"
        );
    }

    // The MPD references the cenc set only and signals cenc; the playlists the cbcs set only.
    let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
    xmllint_mpd(&out.join("manifest.mpd"));
    for (id, ..) in SET {
        assert!(
            mpd.contains(&format!("media=\"{id}/cenc/seg_$Number$.m4s\"")),
            "{mpd}"
        );
        assert!(!mpd.contains(&format!("{id}/cbcs/")), "{mpd}");
        let playlist = std::fs::read_to_string(out.join(id).join("playlist.m3u8")).unwrap();
        assert!(
            playlist.contains("#EXT-X-MAP:URI=\"cbcs/init.mp4\""),
            "{playlist}"
        );
        assert!(playlist.contains("\ncbcs/seg_1.m4s\n"), "{playlist}");
        assert!(!playlist.contains("cenc/"), "{playlist}");
        // Clear lead in the playlists: the first segment clear, then SAMPLE-AES.
        assert!(playlist.contains("#EXT-X-KEY:METHOD=NONE"), "{playlist}");
        assert!(playlist.contains("METHOD=SAMPLE-AES"), "{playlist}");
    }
    assert!(mpd.contains("value=\"cenc\""), "{mpd}");
    assert!(!mpd.contains("value=\"cbcs\""), "{mpd}");
    let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    // The Widevine PSSH and Clear Key signalling are in both manifests.
    assert!(
        mpd.contains("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"),
        "{mpd}"
    );
    assert!(
        master.contains("urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"),
        "{master}"
    );
    assert!(master.contains("org.w3.clearkey"), "{master}");

    // `vodpack verify` checks each set on its own and decrypts every sample of both.
    let mut cmd = vodpack();
    cmd.arg("verify").arg(&out).arg("--json");
    for k in &TEST_KEYS {
        cmd.args(["--key", &format!("kid={},key={}", k.kid, k.key)]);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("verify --json");
    assert_eq!(report["ok"], true, "{report}");
    let checked = report["renditions"].as_array().unwrap();
    assert_eq!(checked.len(), 2 * SET.len(), "{report}");
    for scheme in ["cenc", "cbcs"] {
        let sets: Vec<&serde_json::Value> =
            checked.iter().filter(|r| r["scheme"] == scheme).collect();
        assert_eq!(
            sets.len(),
            SET.len(),
            "{scheme} renditions verified: {report}"
        );
        for r in sets {
            assert!(r["encrypted_samples"].as_u64().unwrap() > 0, "{r}");
            assert_eq!(r["decrypted_samples"], r["encrypted_samples"], "{r}");
        }
    }

    // The key manifest records both sets; it loads and validates.
    let km_path = tmp.path().join("out.keys.json");
    let km = vodpack_control::key_manifest::KeyManifest::load(&km_path).unwrap();
    assert_eq!(km.protection_scheme.as_deref(), Some("cenc"));
    assert_eq!(
        km.manifest_for("dash"),
        Some(("manifest.mpd", Some("cenc")))
    );
    assert_eq!(km.manifest_for("hls"), Some(("master.m3u8", Some("cbcs"))));
    let schemes: Vec<&str> = km.schemes.iter().map(|s| s.scheme.as_str()).collect();
    assert_eq!(schemes, ["cenc", "cbcs"]);
    for s in &km.schemes {
        let systems: Vec<&str> = s.drm_systems.iter().map(|d| d.system.as_str()).collect();
        assert_eq!(systems, ["clearkey", "widevine"], "{}", s.scheme);
    }
    // The same keys for both sets, with the fixed test KIDs.
    let mut kids: Vec<&str> = km.keys.iter().map(|k| k.kid.as_str()).collect();
    kids.sort();
    assert_eq!(kids, [TEST_KEYS[0].kid, TEST_KEYS[1].kid, TEST_KEYS[2].kid]);
}

#[test]
fn two_schemes_reject_what_they_cannot_do() {
    let tmp = tempfile::tempdir().unwrap();
    for (protection, extra, message) in [
        ("dash=cenc,hls=cenc", vec![], "both manifests use cenc"),
        ("dash=cenc", vec![], "name a scheme for both"),
        ("dash=cenc,hls=cbcs,dash=cbcs", vec![], "given twice"),
        ("dash=cens,hls=cbcs", vec![], "must be cenc or cbcs"),
        ("mss=cenc,hls=cbcs", vec![], "is not dash or hls"),
        (
            "dash=cenc,hls=cbcs",
            vec!["--manifests", "hls"],
            "needs both manifests",
        ),
        (
            "dash=cenc,hls=cbcs",
            vec!["--segment-template", "$RepresentationID$/$Number$.m4s"],
            "--segment-template",
        ),
    ] {
        let o = vodpack()
            .arg("package")
            .arg("-o")
            .arg(tmp.path().join("out"))
            .args(["--protection", protection])
            .args(extra)
            .arg(format!("in={}", fixture("h264_240p.mp4").display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{protection}: {err}");
        assert!(err.contains(message), "{protection}: {err}");
        assert!(!tmp.path().join("out").exists());
    }
}

#[test]
fn shaka_plays_the_cenc_set_and_hlsjs_the_cbcs_set() {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    package_dual(
        &out,
        &[
            "--drm".into(),
            "clearkey".into(),
            "--clearkey-license-url".into(),
            format!("http://127.0.0.1:{port}/license"),
        ],
    );
    let _one_browser = browser_slot();
    let node = system_tool("node", "apt-get install nodejs npm");
    for (player, protocol) in [("shaka", "dash"), ("hlsjs", "hls")] {
        let o = Command::new(&node)
            .arg(root().join("tests/browser/run.mjs"))
            .arg("--dir")
            .arg(&out)
            .args([
                "--player",
                player,
                "--protocol",
                protocol,
                "--drm",
                "server",
            ])
            .args(["--expect", "play", "--expect-heights", "240,720"])
            .args(["--port", &port.to_string(), "--keys", &browser_keys_arg()])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{player}/{protocol}: {report}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let json: serde_json::Value = serde_json::from_str(&report).expect("harness JSON");
        assert_eq!(json["ok"], true, "{player}/{protocol}: {report}");
    }
}

#[test]
fn single_file_sets_verify_against_the_sources_and_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // `--verify` decrypts every sample of both sets and compares it with the source's.
    package_dual(&out, &["--single-file".into(), "--verify".into()]);
    for (id, file, stream, label, kind) in SET {
        let key = test_key(label);
        for scheme in ["cenc", "cbcs"] {
            let media = out.join(id).join(scheme).join("media.mp4");
            let decrypted = tmp.path().join(format!("{id}.{scheme}.dec.mp4"));
            shaka_decrypt(&media, kind, &decrypted, key.kid, key.key);
            assert_same_samples(
                &format!("{id} {scheme} single file: Shaka-decrypted samples"),
                &samples(&fixture(file), stream, &[]),
                &samples(&decrypted, "0", &[]),
            );
        }
    }
}

#[test]
fn json_lists_both_sets_with_their_manifest_and_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut cmd = vodpack();
    cmd.arg("package")
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .args(protection_args("dash=cenc,hls=cbcs"))
        .args(
            SET.iter()
                .map(|(id, file, _, _, _)| format!("in={},id={id}", fixture(file).display())),
        );
    let summary: serde_json::Value =
        serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("--json");
    let sets = summary["schemes"].as_array().expect("schemes[]");
    assert_eq!(sets.len(), 2, "{summary}");
    for (set, scheme, manifest) in [
        (&sets[0], "cenc", "manifest.mpd"),
        (&sets[1], "cbcs", "master.m3u8"),
    ] {
        assert_eq!(set["scheme"], scheme);
        assert_eq!(set["manifest"], manifest);
        let renditions = set["renditions"].as_array().unwrap();
        assert_eq!(renditions.len(), SET.len());
        for (r, (id, ..)) in renditions.iter().zip(SET) {
            assert_eq!(r["id"], id);
            let init = r["init"].as_str().unwrap();
            assert_eq!(init, format!("{id}/{scheme}/init.mp4"));
            assert_eq!(scheme_of(&out.join(init)), scheme);
            // bytes = every file of this rendition's set folder (init + segments)
            let on_disk: u64 = std::fs::read_dir(out.join(id).join(scheme))
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().len())
                .sum();
            assert_eq!(r["bytes"].as_u64(), Some(on_disk), "{id}/{scheme}");
        }
    }
    // One scheme: no `schemes` field.
    let mut cmd = vodpack();
    cmd.arg("package")
        .arg("-o")
        .arg(tmp.path().join("one"))
        .arg("--json")
        .args(protection_args("cenc"))
        .arg(fixture("h264_240p.mp4"));
    let summary: serde_json::Value =
        serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("--json");
    assert!(summary.get("schemes").is_none(), "{summary}");
}
