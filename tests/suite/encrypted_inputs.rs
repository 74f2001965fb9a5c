//! Encrypted inputs (issue 8, finding 6). Inputs encrypted by Shaka Packager (cenc and cbcs,
//! with and without a clear lead; H.264, HEVC, AAC) are refused with exit 4 naming the file,
//! track, scheme and KID; with `--decryption-key` vodpack packages them clear, and every sample
//! equals Shaka Packager's own raw-key decryption of the same file (ffprobe: count, MD5 of the
//! bytes, size, dts, pts, duration, key flag). Re-encrypted with new keys, Shaka Packager decrypts
//! vodpack's output to the same samples. cens/cbc1 inputs decrypt the same way; a missing key is
//! exit 6.

use crate::common::{
    assert_same_samples, concat_rendition, fixture, package, run_ok, samples, shaka_decrypt, tools,
    vodpack,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const KID: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
const KEY: &str = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

/// Encrypts one stream of `input` with Shaka Packager into `dest` (one fragmented file).
fn shaka_encrypt(input: &Path, stream: &str, scheme: &str, clear_lead: u32, dest: &Path) {
    run_ok(
        Command::new(&tools().packager)
            .arg(format!(
                "in={},stream={stream},output={}",
                input.display(),
                dest.display()
            ))
            .arg("--enable_raw_key_encryption")
            .arg("--keys")
            .arg(format!("label=:key_id={KID}:key={KEY}"))
            .args(["--protection_scheme", scheme])
            .args(["--clear_lead", &clear_lead.to_string()])
            .args(["--segment_duration", "2"]),
    );
}

fn only_rendition(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

const CASES: [(&str, &str, &str); 3] = [
    ("h264_240p.mp4", "video", "v:0"),
    ("hevc_360p.mp4", "video", "v:0"),
    ("aac_en.mp4", "audio", "a:0"),
];

#[test]
fn shaka_encrypted_inputs_are_refused_without_keys_and_decrypt_bit_exact_with_them() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["cenc", "cbcs"] {
        for clear_lead in [0, 2] {
            for (file, stream, sel) in CASES {
                let name = format!("{scheme}_{clear_lead}_{file}");
                let enc = dir.path().join(format!("enc_{name}"));
                shaka_encrypt(&fixture(file), stream, scheme, clear_lead, &enc);

                // Without keys: exit 4 naming the file, the track, the scheme and the KID.
                let out = dir.path().join(format!("out_{name}"));
                let o = vodpack()
                    .arg("package")
                    .arg("-o")
                    .arg(&out)
                    .arg("--key-manifest")
                    .arg(dir.path().join(format!("{name}.keys.json")))
                    .arg(&enc)
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.code(), Some(4), "{name}: {err}");
                for needle in [
                    enc.display().to_string(),
                    "track 1".to_string(),
                    format!("'{scheme}'"),
                    KID.to_string(),
                ] {
                    assert!(err.contains(&needle), "{name}: '{needle}' not in: {err}");
                }
                assert!(!out.exists(), "{name}: a refused run wrote output");

                // With the key: clear output equal to Shaka Packager's decryption.
                package(
                    &out,
                    &[
                        "--key-manifest".into(),
                        dir.path()
                            .join(format!("{name}.keys.json"))
                            .display()
                            .to_string(),
                        "--decryption-key".into(),
                        format!("kid={KID},key={KEY}"),
                        "--verify".into(),
                        enc.display().to_string(),
                    ],
                );
                let rendition = only_rendition(&out);
                let init = std::fs::read(rendition.join("init.mp4")).unwrap();
                for marker in [&b"sinf"[..], b"encv", b"enca", b"tenc"] {
                    assert!(
                        !init.windows(4).any(|w| w == marker),
                        "{name}: the init segment still has '{}'",
                        String::from_utf8_lossy(marker)
                    );
                }
                let ours = concat_rendition(&rendition, &dir.path().join(format!("ours_{name}")));
                let theirs = dir.path().join(format!("shaka_dec_{name}"));
                shaka_decrypt(&enc, stream, &theirs, KID, KEY);
                let expected = samples(&theirs, sel, &[]);
                assert_same_samples(&name, &expected, &samples(&ours, sel, &[]));
                // And Shaka's decryption is the original source, so the round trip is lossless.
                assert_same_samples(&name, &samples(&fixture(file), sel, &[]), &expected);
            }
        }
    }
}

#[test]
fn decrypted_inputs_can_be_re_encrypted_with_new_keys() {
    let dir = tempfile::tempdir().unwrap();
    let new_kid = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf";
    let new_key = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
    for (from, to) in [("cenc", "cbcs"), ("cbcs", "cenc")] {
        for (file, stream, sel) in [CASES[0], CASES[2]] {
            let name = format!("{from}_{to}_{file}");
            let enc = dir.path().join(format!("enc_{name}"));
            shaka_encrypt(&fixture(file), stream, from, 0, &enc);
            let out = dir.path().join(format!("out_{name}"));
            package(
                &out,
                &[
                    "--key-manifest".into(),
                    dir.path()
                        .join(format!("{name}.keys.json"))
                        .display()
                        .to_string(),
                    "--decryption-key".into(),
                    format!("kid={KID},key={KEY}"),
                    "--protection".into(),
                    to.into(),
                    "--key".into(),
                    format!("label=ALL,kid={new_kid},key={new_key}"),
                    "--verify".into(),
                    enc.display().to_string(),
                ],
            );
            let rendition = only_rendition(&out);
            let init = std::fs::read(rendition.join("init.mp4")).unwrap();
            let sinfs = init.windows(4).filter(|w| *w == b"sinf").count();
            assert_eq!(
                sinfs, 1,
                "{name}: one sinf (the new one), not the old one too"
            );
            let ours = concat_rendition(&rendition, &dir.path().join(format!("ours_{name}")));
            let dec = dir.path().join(format!("dec_{name}"));
            shaka_decrypt(&ours, stream, &dec, new_kid, new_key);
            assert_same_samples(
                &name,
                &samples(&fixture(file), sel, &[]),
                &samples(&dec, sel, &[]),
            );
        }
    }
}

/// `cens` (CTR with the 1:9 pattern) and `cbc1` (CBC chained across subsamples) inputs, as Shaka
/// Packager 3.8 writes them (H.264, HEVC, AAC): without a key they are refused naming the scheme
/// (exit 4); with `--decryption-key` every sample of vodpack's clear output equals the source's
/// and Shaka Packager's own decryption.
#[test]
fn cens_and_cbc1_inputs_decrypt_bit_exact_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["cens", "cbc1"] {
        for (file, stream, sel) in CASES {
            let name = format!("{scheme}_{file}");
            let enc = dir.path().join(format!("enc_{name}"));
            shaka_encrypt(&fixture(file), stream, scheme, 0, &enc);
            let out = dir.path().join(format!("out_{name}"));
            let keys = dir.path().join(format!("{name}.keys.json"));
            let o = vodpack()
                .arg("package")
                .arg("-o")
                .arg(&out)
                .arg("--key-manifest")
                .arg(&keys)
                .arg(&enc)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(4), "{name}: {err}");
            assert!(err.contains(&format!("'{scheme}'")), "{name}: {err}");
            package(
                &out,
                &[
                    "--key-manifest".into(),
                    keys.display().to_string(),
                    "--decryption-key".into(),
                    format!("kid={KID},key={KEY}"),
                    "--verify".into(),
                    enc.display().to_string(),
                ],
            );
            let ours = concat_rendition(
                &only_rendition(&out),
                &dir.path().join(format!("ours_{name}")),
            );
            let theirs = dir.path().join(format!("shaka_dec_{name}"));
            shaka_decrypt(&enc, stream, &theirs, KID, KEY);
            let source = samples(&fixture(file), sel, &[]);
            assert_same_samples(&name, &source, &samples(&ours, sel, &[]));
            assert_same_samples(&name, &source, &samples(&theirs, sel, &[]));
        }
    }
}

#[test]
fn missing_keys_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // A key for another KID: exit 6 naming the KID that is missing.
    let enc = dir.path().join("cenc.mp4");
    shaka_encrypt(&fixture("aac_en.mp4"), "audio", "cenc", 0, &enc);
    let o = vodpack()
        .arg("package")
        .arg("-o")
        .arg(dir.path().join("out"))
        .args([
            "--decryption-key",
            "kid=00000000000000000000000000000001,key=00000000000000000000000000000002",
        ])
        .arg(&enc)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains(KID), "{err}");
    assert!(!dir.path().join("out").exists());
}

/// Byte flips and truncations all over an encrypted input (moov with sinf/tenc, moofs with
/// senc/saiz/saio/sbgp): opening and decrypting it reports errors, never panics.
#[test]
fn mutated_encrypted_inputs_never_panic() {
    use std::collections::HashMap;
    use vodpack::cenc::decrypt_input::decrypt_input;
    use vodpack::media::input::InputFile;
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.mp4");
    shaka_encrypt(&fixture("h264_240p.mp4"), "video", "cbcs", 2, &enc);
    let orig = std::fs::read(&enc).unwrap();
    let keys: HashMap<[u8; 16], [u8; 16]> = [(
        hex::decode(KID).unwrap().try_into().unwrap(),
        hex::decode(KEY).unwrap().try_into().unwrap(),
    )]
    .into();
    let n = orig.len();
    let m = dir.path().join("m.mp4");
    let try_open = |bytes: &[u8], what: &str| {
        std::fs::write(&m, bytes).unwrap();
        let r = std::panic::catch_unwind(|| {
            if let Ok(mut input) = InputFile::open(&m) {
                let _ = decrypt_input(&mut input, &keys);
            }
        });
        assert!(r.is_ok(), "panicked on {what}");
    };
    // The header boxes (ftyp, moov with encv/sinf/tenc, sidx, first moofs) byte by byte in
    // steps of 3, then positions spread over the file, then truncations.
    let mut runs = 0;
    for (k, pos) in (0..n.min(3000))
        .step_by(3)
        .chain((0..64).map(|i| i * n / 64))
        .enumerate()
    {
        let mut b = orig.clone();
        b[pos] = [0x00u8, 0xff, orig[pos] ^ 0x80][k % 3];
        try_open(&b, &format!("byte {pos}"));
        runs += 1;
    }
    for cut in (1..16).map(|i| i * n / 16) {
        try_open(&orig[..cut], &format!("cut at {cut}"));
        runs += 1;
    }
    assert!(runs > 1000);
    // The unmutated file still decrypts.
    let mut input = InputFile::open(&enc).unwrap();
    decrypt_input(&mut input, &keys).unwrap();
}

/// PIFF (Smooth Streaming) protection is refused as unsupported (exit 4) with a message naming
/// PIFF, not as bare invalid input. The inputs are Shaka Packager's `cenc` output turned into
/// PIFF's two forms: each `senc` made the PIFF SampleEncryptionBox (`uuid`
/// a2394f52-5a9b-4f14-a244-6c427c648df4, same size) with `saiz`/`saio` removed (renamed `free`),
/// and the `schm` scheme_type set to `piff` (PIFF 1.1).
#[test]
fn piff_inputs_are_refused_naming_piff() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("cenc.mp4");
    shaka_encrypt(&fixture("h264_240p.mp4"), "video", "cenc", 0, &enc);
    let bytes = std::fs::read(&enc).unwrap();
    let piff_uuid = hex::decode("a2394f525a9b4f14a2446c427c648df4").unwrap();
    let positions = |b: &[u8], fourcc: &[u8; 4]| -> Vec<usize> {
        (4..b.len().saturating_sub(4))
            .filter(|&i| &b[i..i + 4] == fourcc)
            .filter(|&i| {
                let size = u32::from_be_bytes(b[i - 4..i].try_into().unwrap()) as usize;
                (8..100_000).contains(&size)
            })
            .collect()
    };
    let mut uuid_senc = bytes.clone();
    let sencs = positions(&bytes, b"senc");
    assert!(sencs.len() >= 2, "senc boxes in every fragment");
    for i in sencs {
        uuid_senc[i..i + 4].copy_from_slice(b"uuid");
        uuid_senc[i + 4..i + 20].copy_from_slice(&piff_uuid);
    }
    for fourcc in [b"saiz", b"saio"] {
        for i in positions(&bytes, fourcc) {
            uuid_senc[i..i + 4].copy_from_slice(b"free");
        }
    }
    let mut piff_scheme = bytes.clone();
    let schm = positions(&bytes, b"schm")[0];
    piff_scheme[schm + 8..schm + 12].copy_from_slice(b"piff");
    for (name, data) in [("uuid_senc", uuid_senc), ("piff_scheme", piff_scheme)] {
        let input = dir.path().join(format!("{name}.mp4"));
        std::fs::write(&input, data).unwrap();
        let out = dir.path().join(format!("out_{name}"));
        let o = vodpack()
            .arg("package")
            .arg("-o")
            .arg(&out)
            .args(["--decryption-key", &format!("kid={KID},key={KEY}")])
            .arg(&input)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{name}: {err}");
        assert!(err.contains("PIFF"), "{name}: {err}");
        assert!(!out.exists(), "{name}: nothing written");
    }
}
