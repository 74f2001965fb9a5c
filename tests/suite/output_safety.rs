//! Trust (issue 8): vodpack never destroys a user's files, never publishes keys, commits all of a
//! run's outputs together, cleans up after a signal, and leaves no segment clear unless asked.
//! One regression test per finding.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn f(name: &str) -> String {
    fixture(name).display().to_string()
}

fn run(args: &[&str]) -> Output {
    vodpack()
        .arg("package")
        .arg("--quiet")
        .args(args)
        .output()
        .expect("run vodpack")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_code(o: &Output, code: i32) -> String {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panic: {e}");
    assert_eq!(o.status.code(), Some(code), "exit code; stderr: {e}");
    e
}

/// Every file under `dir` with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn an_out_holding_other_files_is_refused_unless_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("photos");
    std::fs::create_dir_all(out.join("2024")).unwrap();
    std::fs::write(out.join("2024/beach.jpg"), b"precious").unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let before = snapshot(&out);
    let o = run(&["-o", out.to_str().unwrap(), &f("h264_240p.mp4")]);
    let e = assert_code(&o, 2);
    assert!(e.contains("--force") && e.contains("notes.txt"), "{e}");
    assert_eq!(snapshot(&out), before, "refused run changed OUT");
    assert_eq!(
        names(tmp.path()),
        ["photos"],
        "refused run left files beside OUT"
    );

    // A file at OUT is refused too.
    let file_out = tmp.path().join("file");
    std::fs::write(&file_out, b"data").unwrap();
    let o = run(&["-o", file_out.to_str().unwrap(), &f("h264_240p.mp4")]);
    assert!(assert_code(&o, 2).contains("a file"));
    assert_eq!(std::fs::read(&file_out).unwrap(), b"data");

    // --force replaces it.
    let o = run(&["-o", out.to_str().unwrap(), "--force", &f("h264_240p.mp4")]);
    assert_code(&o, 0);
    assert!(out.join("master.m3u8").is_file() && !out.join("notes.txt").exists());
}

#[test]
fn an_out_vodpack_wrote_is_replaced_without_asking_but_not_once_a_user_adds_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("movie");
    let out_s = out.to_str().unwrap();
    assert_code(
        &run(&["-o", out_s, &f("h264_240p.mp4"), &f("aac_en.mp4")]),
        0,
    );
    assert!(out.join(".vodpack-output.json").is_file());
    // Fewer renditions the second time: the old files go.
    assert_code(&run(&["-o", out_s, &f("h264_240p.mp4")]), 0);
    assert!(!out.join("audio_en").exists());
    assert_eq!(names(tmp.path()), ["movie", "movie.keys.json"]);
    // A file the user put there makes OUT theirs.
    std::fs::write(out.join("poster.jpg"), b"art").unwrap();
    let e = assert_code(&run(&["-o", out_s, &f("h264_240p.mp4")]), 2);
    assert!(e.contains("poster.jpg"), "{e}");
    assert_eq!(std::fs::read(out.join("poster.jpg")).unwrap(), b"art");
}

#[test]
fn inputs_are_never_replaced_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let media = tmp.path().join("media");
    std::fs::create_dir(&media).unwrap();
    let clip = media.join("clip.mp4");
    std::fs::copy(fixture("h264_240p.mp4"), &clip).unwrap();
    let original = std::fs::read(&clip).unwrap();
    let clip_s = clip.to_str().unwrap();
    let cases: Vec<Vec<String>> = vec![
        // OUT contains the input.
        vec!["-o".into(), media.display().to_string(), clip_s.into()],
        // OUT is the input.
        vec!["-o".into(), clip_s.into(), clip_s.into()],
        // The same folder spelled differently.
        vec![
            "-o".into(),
            format!("{}/../media/.", media.display()),
            clip_s.into(),
        ],
        // The key manifest would overwrite the input.
        vec![
            "-o".into(),
            tmp.path().join("out").display().to_string(),
            "--key-manifest".into(),
            clip_s.into(),
            clip_s.into(),
        ],
    ];
    for mut args in cases {
        for force in [false, true] {
            if force {
                args.push("--force".into());
            }
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            let e = assert_code(&run(&refs), 2);
            assert!(e.contains("input"), "{args:?}: {e}");
            assert_eq!(std::fs::read(&clip).unwrap(), original, "{args:?}");
            assert_eq!(names(&media), ["clip.mp4"], "{args:?}");
        }
    }
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn the_key_manifest_lives_beside_out_and_never_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("movie_1");
    let o = run(&[
        "-o",
        out.to_str().unwrap(),
        "--protection",
        "cenc",
        &f("h264_240p.mp4"),
        &f("aac_en.mp4"),
    ]);
    assert_code(&o, 0);
    let km = tmp.path().join("movie_1.keys.json");
    let manifest = vodpack_control::KeyManifest::load(&km).unwrap();
    assert_eq!(manifest.asset_id, "movie_1");
    assert!(!manifest.keys.is_empty());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&km).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No file under OUT holds any key, in hex (any case) or base64.
    for (path, bytes) in snapshot(&out) {
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        for k in &manifest.keys {
            let hex = k.key.clone().expect("generated keys are written");
            let key = hex::decode(&hex).unwrap();
            let key = key.as_slice();
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(key);
            let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
            assert!(!text.contains(&hex), "{} holds a key", path.display());
            let raw = String::from_utf8_lossy(&bytes);
            assert!(
                !raw.contains(&b64) && !raw.contains(&b64url),
                "{} holds a key in base64",
                path.display()
            );
            assert!(!bytes.windows(16).any(|w| w == key), "{}", path.display());
        }
    }
    // Asking for it inside OUT is refused.
    let inside = out.join("keys.json");
    let e = assert_code(
        &run(&[
            "-o",
            out.to_str().unwrap(),
            "--protection",
            "cenc",
            "--key-manifest",
            inside.to_str().unwrap(),
            &f("h264_240p.mp4"),
        ]),
        2,
    );
    assert!(e.contains("inside the output folder"), "{e}");
}

#[test]
fn a_key_manifest_that_cannot_be_written_commits_nothing_and_exits_7() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("movie");
    let out_s = out.to_str().unwrap();
    // A first, good run.
    assert_code(
        &run(&["-o", out_s, "--protection", "cbcs", &f("h264_240p.mp4")]),
        0,
    );
    let before = snapshot(tmp.path());
    // Now a key manifest in a folder that does not exist: nothing changes, exit 7.
    let missing = tmp.path().join("no/such/dir/k.json");
    let e = assert_code(
        &run(&[
            "-o",
            out_s,
            "--protection",
            "cbcs",
            "--key-manifest",
            missing.to_str().unwrap(),
            &f("h264_240p.mp4"),
        ]),
        7,
    );
    assert!(e.contains("k.json"), "{e}");
    assert_eq!(snapshot(tmp.path()), before, "a failed run changed files");
    // The same on a fresh OUT: no OUT appears with keys written nowhere.
    let fresh = tmp.path().join("fresh");
    assert_code(
        &run(&[
            "-o",
            fresh.to_str().unwrap(),
            "--protection",
            "cbcs",
            "--key-manifest",
            missing.to_str().unwrap(),
            &f("h264_240p.mp4"),
        ]),
        7,
    );
    assert!(!fresh.exists());
    assert_eq!(snapshot(tmp.path()), before);
}

/// Packages 32 copies of a 120 s input (≈ 1 s of work on an idle 2-core machine, 1.6 GB of
/// output), sends `signal` as soon as the staging folder appears, and checks the exit code and
/// that nothing is left behind.
fn interrupt(signal: &str, code: i32) {
    // Timed against a real run: not beside another heavy test.
    let _heavy = heavy_slot();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("long.mp4");
    synth_video(
        &input,
        "640x360",
        120,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "8",
            "-g",
            "50",
            "-movflags",
            "+frag_keyframe+empty_moov+default_base_moof",
        ],
    );
    let out = tmp.path().join("out");
    // A previous output that must survive.
    assert_code(&run(&["-o", out.to_str().unwrap(), &f("h264_240p.mp4")]), 0);
    let before = snapshot(tmp.path());
    let mut child = vodpack()
        .args(["package", "--quiet", "--protection", "cbcs", "-o"])
        .arg(&out)
        .args(std::iter::repeat_n(&input, 32))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let staging = tmp.path().join(format!(".out.vodpack-tmp-{}", child.id()));
    let start = Instant::now();
    while !staging.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no staging folder"
        );
        if child.try_wait().unwrap().is_some() {
            panic!("vodpack ended before it was interrupted");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_code(&o, code);
    assert!(stderr(&o).contains("stopped by signal"), "{}", stderr(&o));
    assert!(!staging.exists(), "staging folder left behind");
    assert_eq!(
        snapshot(tmp.path())
            .into_iter()
            .filter(|(p, _)| p != &input)
            .collect::<Vec<_>>(),
        before
            .into_iter()
            .filter(|(p, _)| p != &input)
            .collect::<Vec<_>>(),
        "an interrupted run changed files"
    );
}

#[test]
fn sigint_stops_cleans_up_and_exits_130() {
    interrupt("-INT", 130);
}

#[test]
fn sigterm_stops_cleans_up_and_exits_143() {
    interrupt("-TERM", 143);
}

#[test]
fn the_next_run_removes_staging_debris_of_dead_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // Left by a run killed with SIGKILL (a pid that cannot exist: above Linux's pid_max).
    let dead = tmp.path().join(".out.vodpack-tmp-2147483632");
    std::fs::create_dir_all(dead.join("video_240p")).unwrap();
    std::fs::write(dead.join("video_240p/seg_1.m4s"), vec![0u8; 4096]).unwrap();
    std::fs::write(
        tmp.path().join(".out.keys.json.vodpack-tmp-2147483632"),
        b"{}",
    )
    .unwrap();
    let out = tmp.path().join("out");
    assert_code(&run(&["-o", out.to_str().unwrap(), &f("h264_240p.mp4")]), 0);
    assert_eq!(names(tmp.path()), ["out", "out.keys.json"]);
}

/// Boxes of `kind` at the top level of an MP4 file.
fn top_level(data: &[u8], kind: &[u8; 4]) -> usize {
    let mut at = 0;
    let mut n = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        if &data[at + 4..at + 8] == kind {
            n += 1;
        }
        if size < 8 {
            break;
        }
        at += size;
    }
    n
}

#[test]
fn no_clear_lead_means_every_segment_is_encrypted_even_with_aac_priming() {
    // aac_en.mp4 starts its edit list 1024 samples into the media (ffmpeg's AAC priming), so
    // its first segment "starts" before 0: it used to be left clear.
    for scheme in ["cenc", "cbcs"] {
        for extra in [&[][..], &["--clear-lead", "0"][..]] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            let mut args = vec!["-o", out.to_str().unwrap(), "--protection", scheme];
            args.extend_from_slice(extra);
            let (v, a) = (f("h264_240p.mp4"), f("aac_en.mp4"));
            args.extend([v.as_str(), a.as_str()]);
            assert_code(&run(&args), 0);
            for rendition in ["audio_en", "video_240p"] {
                let dir = out.join(rendition);
                let playlist = std::fs::read_to_string(dir.join("playlist.m3u8")).unwrap();
                assert!(
                    !playlist.contains("METHOD=NONE"),
                    "{scheme} {extra:?} {rendition}: {playlist}"
                );
                let init = std::fs::read(dir.join("init.mp4")).unwrap();
                let stsd =
                    find_box(&init, &["moov", "trak", "mdia", "minf", "stbl", "stsd"]).unwrap();
                // One sample entry only (the protected one): no clear entry to switch to.
                assert_eq!(u32::from_be_bytes(stsd[4..8].try_into().unwrap()), 1);
                for seg in segments(&dir) {
                    let data = std::fs::read(&seg).unwrap();
                    let moofs = top_level(&data, b"moof");
                    let mut sencs = 0;
                    let mut rest = &data[..];
                    while let Some(pos) = rest.windows(4).position(|w| w == b"senc") {
                        sencs += 1;
                        rest = &rest[pos + 4..];
                    }
                    assert!(
                        moofs > 0 && sencs >= moofs,
                        "{scheme} {extra:?}: {} has {moofs} moof and {sencs} senc",
                        seg.display()
                    );
                }
            }
        }
    }
}

#[test]
fn output_tracks_are_track_1_and_shaka_decrypts_cbcs_audio_of_a_muxed_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let key = test_key("SD");
    let key_arg = format!("label=ALL,kid={},key={}", key.kid, key.key);
    assert_code(
        &run(&[
            "-o",
            out.to_str().unwrap(),
            "--protection",
            "cbcs",
            "--key",
            &key_arg,
            &f("muxed_av.mp4"),
        ]),
        0,
    );
    let summary: Vec<String> = names(&out)
        .into_iter()
        .filter(|n| out.join(n).is_dir())
        .collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    for r in &summary {
        let dir = out.join(r);
        let init = std::fs::read(dir.join("init.mp4")).unwrap();
        let tkhd = find_box(&init, &["moov", "trak", "tkhd"]).unwrap();
        assert_eq!(
            u32::from_be_bytes(tkhd[12..16].try_into().unwrap()),
            1,
            "{r}"
        );
        let trex = find_box(&init, &["moov", "mvex", "trex"]).unwrap();
        assert_eq!(u32::from_be_bytes(trex[4..8].try_into().unwrap()), 1, "{r}");
        // Shaka Packager's decrypter recovers the source samples (it failed on track 2).
        let joined = concat_rendition(&dir, &tmp.path().join(format!("{r}.mp4")));
        let stream = if r.starts_with("audio") {
            "audio"
        } else {
            "video"
        };
        let clear = tmp.path().join(format!("{r}_clear.mp4"));
        shaka_decrypt(&joined, stream, &clear, key.kid, key.key);
        let spec = if stream == "audio" { "a:0" } else { "v:0" };
        assert_same_samples(
            r,
            &samples(&fixture("muxed_av.mp4"), spec, &[]),
            &samples(&clear, spec, &[]),
        );
    }
}

#[test]
fn any_output_folder_name_works_and_messages_read_right() {
    let tmp = tempfile::tempdir().unwrap();
    // A name that is not an id.
    let out = tmp.path().join("my title (final)");
    let o = vodpack()
        .args(["package", "-o"])
        .arg(&out)
        .arg(fixture("h264_240p.mp4"))
        .output()
        .unwrap();
    let e = assert_code(&o, 0);
    assert!(e.contains("packaged 1 rendition into"), "{e}");
    let km =
        vodpack_control::KeyManifest::load(tmp.path().join("my title (final).keys.json")).unwrap();
    assert_eq!(km.asset_id, "my_title_final");
    // `-o .` inside an empty folder.
    let here = tmp.path().join("Show S01E01");
    std::fs::create_dir(&here).unwrap();
    let o = vodpack()
        .current_dir(&here)
        .args(["package", "-q", "-o", "."])
        .arg(fixture("h264_240p.mp4"))
        .output()
        .unwrap();
    assert_code(&o, 0);
    assert!(here.join("master.m3u8").is_file());
    let km = vodpack_control::KeyManifest::load(tmp.path().join("Show S01E01.keys.json")).unwrap();
    assert_eq!(km.asset_id, "Show_S01E01");
    // The 128-character limit is reported as such.
    let long = "a".repeat(129);
    let e = assert_code(
        &run(&[
            "-o",
            tmp.path().join("x").to_str().unwrap(),
            "--asset-id",
            &long,
            &f("h264_240p.mp4"),
        ]),
        2,
    );
    assert!(e.contains("limit is 128"), "{e}");
}
