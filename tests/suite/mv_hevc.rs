//! MV-HEVC (Apple spatial video, fixtures/shaka-video/water-mv-hevc.mp4: `hvc1` + `hvcC` +
//! `lhvC`, two views as NAL units of layers 0 and 1) packaged clear, `cenc` and `cbcs`:
//! - `vodpack verify` passes (every sample encrypted, every sample decrypts to the source's);
//! - Shaka Packager's raw-key decrypter gives back every source sample bit-exact;
//! - ffmpeg 8 decodes both views of every segment (ours with `-decryption_key`, and Shaka's
//!   decryption of ours) to the frames of the source;
//! - the codec string is the layered stream's profile, as Shaka Packager 3.8 signals it (one
//!   constraint byte more: docs/mv-hevc.md), and the HLS variant carries Apple's
//!   `REQ-VIDEO-LAYOUT="CH-STEREO"`;
//! - bad or unsupported multi-layer syntax exits 3 or 4 with nothing published.
//!
//! Subsample maps against Shaka Packager's, byte for byte: tests/suite/cenc_known_answer.rs
//! (`mv_hevc_cenc_and_cbcs_match_shaka_packager_and_openssl`).
use std::path::Path;
use std::process::Command;

use crate::codec_encryption::sample_hashes;
use crate::common::{
    concat_rendition, fixture, package, protection_args, run_ok, segments, shaka_decrypt, tools,
    vodpack,
};

const CLIP: &str = "shaka-video/water-mv-hevc.mp4";
/// The clip is 1934x2160: its key class is UHD1.
const KID: &str = "40112233445566778899aabbccddeeff";
const KEY: &str = "4123456789abcdef0123456789abcdef";

fn uhd_key() -> [String; 2] {
    ["--key".into(), format!("label=UHD1,kid={KID},key={KEY}")]
}

/// "view,size,md5" of every decoded picture of both views of `file` (ffmpeg 8's MV-HEVC
/// decoder, stream specifiers `view:0` and `view:1`), in output order.
fn view_frames(file: &Path, input_args: &[&str]) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(input_args)
            .arg("-i")
            .arg(file)
            .args(["-map", "0:v:0:view:0", "-map", "0:v:0:view:1"])
            .args(["-fps_mode", "passthrough", "-f", "framemd5", "-"]),
    );
    let frames: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split(',').map(str::trim).collect();
            format!("{},{},{}", c[0], c[4], c[5])
        })
        .collect();
    frames
}

#[test]
fn mv_hevc_clear_cenc_and_cbcs_decrypt_and_decode_both_views_to_the_source() {
    let source_frames = view_frames(&fixture(CLIP), &[]);
    // 5 pictures of each view.
    assert_eq!(source_frames.len(), 10, "{source_frames:?}");
    assert_eq!(
        source_frames.iter().filter(|f| f.starts_with("1,")).count(),
        5
    );
    let source_samples = sample_hashes(&fixture(CLIP), &[]);
    let tmp = tempfile::tempdir().unwrap();
    for scheme in ["clear", "cenc", "cbcs"] {
        let out = tmp.path().join(scheme);
        let keys = tmp.path().join(format!("{scheme}.json"));
        let mut args = Vec::new();
        if scheme != "clear" {
            args = protection_args(scheme);
            args.extend(uhd_key());
            args.extend(["--key-manifest".into(), keys.display().to_string()]);
        }
        args.push(fixture(CLIP).display().to_string());
        package(&out, &args);
        let rendition = out.join("video_hevc_2160p");

        // Every segment decodes on its own (init + segment), both views.
        let mut decoded = Vec::new();
        let segs = segments(&rendition);
        assert!(!segs.is_empty());
        for (i, seg) in segs.iter().enumerate() {
            let one = tmp.path().join(format!("{scheme}_{i}.mp4"));
            let mut bytes = std::fs::read(rendition.join("init.mp4")).unwrap();
            bytes.extend(std::fs::read(seg).unwrap());
            std::fs::write(&one, bytes).unwrap();
            let input: &[&str] = if scheme == "clear" {
                &[]
            } else {
                &["-decryption_key", KEY]
            };
            decoded.extend(view_frames(&one, input));
        }
        assert_eq!(
            decoded, source_frames,
            "{scheme}: both views, every segment"
        );

        let whole = concat_rendition(&rendition, &tmp.path().join(format!("{scheme}.mp4")));
        if scheme == "clear" {
            assert_eq!(sample_hashes(&whole, &[]), source_samples);
            continue;
        }
        let v = run_ok(
            vodpack()
                .arg("verify")
                .arg(&out)
                .arg("--key-manifest")
                .arg(&keys)
                .arg("--sources")
                .arg(fixture(CLIP)),
        );
        let report = String::from_utf8_lossy(&v.stdout);
        assert!(
            report.contains("5 samples")
                && report.contains("5 encrypted, ")
                && report.contains("5 decrypted, 5 equal to the source"),
            "{scheme}: {report}"
        );
        // Every sample's stored bytes differ from the source's: both layers' slice data is
        // protected.
        let stored = sample_hashes(&whole, &[]);
        assert!(
            stored.iter().zip(&source_samples).all(|(a, b)| a != b),
            "{scheme}: every sample encrypted"
        );
        let dec = tmp.path().join(format!("{scheme}_shaka_dec.mp4"));
        shaka_decrypt(&whole, "video", &dec, KID, KEY);
        assert_eq!(
            sample_hashes(&dec, &[]),
            source_samples,
            "{scheme}: Shaka Packager's decrypter recovers every sample"
        );
        assert_eq!(
            view_frames(&dec, &[]),
            source_frames,
            "{scheme}: Shaka-decrypted output decodes to the source's frames"
        );
    }
}

/// The attribute `name` of the first EXT-X-STREAM-INF of a multivariant playlist.
fn stream_inf_attr(master: &Path, name: &str) -> Option<String> {
    let m = std::fs::read_to_string(master).unwrap();
    let line = m.lines().find(|l| l.starts_with("#EXT-X-STREAM-INF:"))?;
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[at..];
    Some(if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next().unwrap().to_string()
    } else {
        rest.split(',').next().unwrap().to_string()
    })
}

/// The first `codecs` attribute of an MPD.
fn mpd_codecs(mpd: &Path) -> String {
    let d = std::fs::read_to_string(mpd).unwrap();
    d.split("codecs=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no codecs in {d}"))
        .to_string()
}

#[test]
fn mv_hevc_codec_signalling_against_shaka_packager() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ours");
    let mut args = protection_args("cbcs");
    args.extend(uhd_key());
    args.push(fixture(CLIP).display().to_string());
    package(&out, &args);

    let shaka = tmp.path().join("shaka");
    std::fs::create_dir_all(&shaka).unwrap();
    run_ok(
        Command::new(&tools().packager)
            .arg(format!(
                "in={},stream=video,init_segment={}/init.mp4,segment_template={}/$Number$.m4s,playlist_name=v.m3u8",
                fixture(CLIP).display(),
                shaka.display(),
                shaka.display()
            ))
            .args(["--enable_raw_key_encryption", "--keys"])
            .arg(format!("label=:key_id={KID}:key={KEY}"))
            .args(["--protection_scheme", "cbcs", "--clear_lead", "0"])
            .arg("--mpd_output")
            .arg(shaka.join("m.mpd"))
            .arg("--hls_master_playlist_output")
            .arg(shaka.join("master.m3u8"))
            .arg("--quiet"),
    );
    let ours_hls = stream_inf_attr(&out.join("master.m3u8"), "CODECS").unwrap();
    let ours_dash = mpd_codecs(&out.join("manifest.mpd"));
    let theirs_hls = stream_inf_attr(&shaka.join("master.m3u8"), "CODECS").unwrap();
    let theirs_dash = mpd_codecs(&shaka.join("m.mpd"));
    assert_eq!(ours_hls, ours_dash);
    assert_eq!(theirs_hls, theirs_dash);
    // Both name the layered stream: Multiview Main (profile 6), level 5.2, from the VPS
    // extension, not the base layer's Main (`hvc1.1.6.L156.B0`). Shaka writes only the first
    // constraint byte; ISO/IEC 14496-15 E.3 omits only trailing zero bytes, and the second is
    // 0x80 (general_max_420chroma_constraint_flag).
    assert_eq!(theirs_hls, "hvc1.6.40.L156.bf");
    assert_eq!(ours_hls, "hvc1.6.40.L156.BF.80");
    assert!(ours_hls
        .to_ascii_lowercase()
        .starts_with(&theirs_hls.to_ascii_lowercase()));
    assert_eq!(
        stream_inf_attr(&out.join("master.m3u8"), "RESOLUTION"),
        stream_inf_attr(&shaka.join("master.m3u8"), "RESOLUTION")
    );
    // Apple's spatial-video signalling, which Shaka Packager does not write: the variant asks
    // for stereo rendering (a REQ- attribute: EXT-X-VERSION 12), the I-frame stream too.
    let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    assert_eq!(
        stream_inf_attr(&out.join("master.m3u8"), "REQ-VIDEO-LAYOUT").as_deref(),
        Some("CH-STEREO")
    );
    assert!(master.contains("#EXT-X-VERSION:12\n"), "{master}");
    let iframe = master
        .lines()
        .find(|l| l.starts_with("#EXT-X-I-FRAME-STREAM-INF:"))
        .unwrap();
    assert!(
        iframe.contains("REQ-VIDEO-LAYOUT=\"CH-STEREO\""),
        "{iframe}"
    );
    assert_eq!(
        stream_inf_attr(&shaka.join("master.m3u8"), "REQ-VIDEO-LAYOUT"),
        None
    );
    // Media playlists keep version 7; a plain HEVC asset's multivariant playlist too.
    let media = std::fs::read_to_string(out.join("video_hevc_2160p/playlist.m3u8")).unwrap();
    assert!(media.contains("#EXT-X-VERSION:7\n"), "{media}");
    let plain = tmp.path().join("plain");
    package(&plain, &[fixture("hevc_360p.mp4").display().to_string()]);
    let master = std::fs::read_to_string(plain.join("master.m3u8")).unwrap();
    assert!(
        master.contains("#EXT-X-VERSION:7\n") && !master.contains("REQ-VIDEO-LAYOUT"),
        "{master}"
    );
}

/// Bad multi-layer input: a clear error with the exit code of docs/exit-codes.md, never a
/// panic, and nothing published.
#[test]
fn mv_hevc_bad_or_unsupported_layers_are_refused_cleanly() {
    let clip = std::fs::read(fixture(CLIP)).unwrap();
    let at = |kind: &[u8]| clip.windows(4).position(|w| w == kind).unwrap() + 4;
    let (hvcc, lhvc) = (at(b"hvcC"), at(b"lhvC"));
    // hvcC: 22 fixed bytes, numOfArrays, then the VPS array (type, count, length, NAL header):
    // the VPS RBSP starts 30 bytes in. lhvC: 6 fixed bytes, then the SPS array likewise.
    let vps = hvcc + 23 + 7;
    let layer1_sps = lhvc + 6 + 7;
    assert_eq!(clip[vps], 0x0c, "vps id 0, base layer internal");
    assert_eq!(clip[layer1_sps], 0x0e, "vps id 0, MultiLayerExtSpsFlag");

    // (what, where, the bytes written there, exit code, what stderr says)
    let cases: [(&str, usize, &[u8], i32, &str); 3] = [
        (
            "layer-1 SPS names a VPS the stream lacks",
            layer1_sps,
            &[0x5e],
            3,
            "VPS 5",
        ),
        (
            // 0xff bytes in the extension: read as other (valid) fields, the layer-1 slices
            // then do not parse.
            "VPS extension overwritten",
            vps + 40,
            &[0xff; 12],
            3,
            "invalid input",
        ),
        (
            "base layer outside the stream",
            vps,
            &[0x04],
            4,
            "vps_base_layer_internal_flag",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (what, offset, patch, code, says) in cases {
        let mut bytes = clip.clone();
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        let input = tmp.path().join("bad.mp4");
        std::fs::write(&input, &bytes).unwrap();
        let out = tmp.path().join("out");
        let result = vodpack()
            .arg("package")
            .arg("-o")
            .arg(&out)
            .args(protection_args("cbcs"))
            .args(uhd_key())
            .arg(&input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(code), "{what}: {stderr}");
        assert!(stderr.contains(says), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!out.exists(), "{what}: nothing published");
    }
}
