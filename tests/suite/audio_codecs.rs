//! Audio codecs beyond AAC (docs/audio-signalling.md): E-AC-3 with and without Joint Object
//! Coding (Atmos), FLAC, ALAC and Opus, each packaged clear, `cenc` and `cbcs` (DTS:X and IAMF,
//! which ffmpeg cannot decode here, at the end):
//! - the HLS `CODECS`/`CHANNELS` and the DASH `codecs`, `AudioChannelConfiguration` and Dolby
//!   `SupplementalProperty` descriptors equal what Shaka Packager 3.8 writes for the same input;
//! - every clear segment decodes in ffmpeg on its own (init + segment);
//! - Shaka Packager's raw-key decrypter and ffmpeg's `-decryption_key` give back every source
//!   sample bit-exact, and ffmpeg decodes the decrypted audio to the source's PCM;
//! - `vodpack verify` decrypts and compares every sample with the source.
//!
//! Media: fixtures/make-audio.sh (ffmpeg), fixtures/shaka/ (Shaka Packager's test data).

use crate::common::{
    assert_same_frames, concat_rendition, fixture, framemd5, framemd5_packets, package,
    protection_args, run_ok, segments, shaka_decrypt, test_key, tools, vodpack,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// (fixture, the codec string both packagers write, ffmpeg decodes it).
const CASES: [(&str, &str); 6] = [
    ("eac3_51.mp4", "ec-3"),
    ("eac3_joc.mp4", "ec-3"),
    ("shaka/bear-640x360-ec3.mp4", "ec-3"),
    ("flac_51.mp4", "flac"),
    ("alac_stereo.mp4", "alac"),
    ("opus_51.mp4", "opus"),
];

/// The one folder under `out` whose name starts with `audio_`.
fn audio_rendition(out: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("audio_"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one audio rendition in {}", out.display());
    found.remove(0)
}

/// What a packager said about the audio rendition.
#[derive(Debug, PartialEq, Eq)]
struct AudioSignalling {
    /// The audio codec in HLS `CODECS` (the EXT-X-STREAM-INF entry that is not video).
    hls_codec: String,
    /// `CHANNELS` of the audio EXT-X-MEDIA.
    hls_channels: String,
    /// `codecs` of the audio Representation.
    dash_codecs: String,
    /// (schemeIdUri, value) of its AudioChannelConfiguration.
    dash_channels: (String, String),
    /// (schemeIdUri, value) of each of its SupplementalProperty elements.
    dash_supplemental: Vec<(String, String)>,
}

/// `name="value"` in an XML element's text or an HLS attribute list (after ` `, `,` or `:`).
fn attr(text: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = text
        .match_indices(&key)
        .map(|(at, _)| at)
        .find(|&at| at > 0 && matches!(text.as_bytes()[at - 1], b' ' | b',' | b':'))?
        + key.len();
    Some(text[at..].split('"').next()?.to_string())
}

/// Every `<tag .../>` element in `text`.
fn elements<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    text.match_indices(&format!("<{tag} "))
        .map(|(at, _)| {
            let end = text[at..].find('>').unwrap();
            &text[at..at + end]
        })
        .collect()
}

fn read_signalling(master: &Path, mpd: &Path) -> AudioSignalling {
    let m = std::fs::read_to_string(master).unwrap();
    let media = m
        .lines()
        .find(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO"))
        .unwrap_or_else(|| panic!("no audio EXT-X-MEDIA in {m}"));
    let stream = m
        .lines()
        .find(|l| l.starts_with("#EXT-X-STREAM-INF"))
        .unwrap_or_else(|| panic!("no EXT-X-STREAM-INF in {m}"));
    let codecs = attr(stream, "CODECS").expect("CODECS");
    let hls_codec = codecs
        .split(',')
        .find(|c| !c.starts_with("avc1"))
        .unwrap_or_else(|| panic!("no audio codec in {codecs}"))
        .to_string();
    let d = std::fs::read_to_string(mpd).unwrap();
    let rep_at = d
        .match_indices("<Representation ")
        .map(|(at, _)| at)
        .find(|&at| d[at..].split('>').next().unwrap().contains("audio/mp4"))
        .unwrap_or_else(|| panic!("no audio Representation in {d}"));
    let rep_end = rep_at + d[rep_at..].find("</Representation>").unwrap();
    let rep = &d[rep_at..rep_end];
    let pair = |e: &str| (attr(e, "schemeIdUri").unwrap(), attr(e, "value").unwrap());
    let channels = elements(rep, "AudioChannelConfiguration");
    assert_eq!(channels.len(), 1, "one AudioChannelConfiguration in {rep}");
    AudioSignalling {
        hls_codec,
        hls_channels: attr(media, "CHANNELS").unwrap_or_default(),
        dash_codecs: attr(rep, "codecs").unwrap(),
        dash_channels: pair(channels[0]),
        dash_supplemental: elements(rep, "SupplementalProperty")
            .into_iter()
            .map(pair)
            .collect(),
    }
}

/// Shaka Packager's manifests for the audio track of `input`, written into `dir`.
fn shaka_signalling(input: &Path, dir: &Path) -> AudioSignalling {
    std::fs::create_dir_all(dir).unwrap();
    run_ok(
        Command::new(&tools().packager)
            .arg(format!(
                "in={},stream=audio,init_segment={d}/init.mp4,segment_template={d}/$Number$.m4s,playlist_name=a.m3u8,hls_group_id=audio,hls_name=a",
                input.display(),
                d = dir.display()
            ))
            .arg("--generate_static_live_mpd")
            .arg("--mpd_output")
            .arg(dir.join("m.mpd"))
            .arg("--hls_master_playlist_output")
            .arg(dir.join("master.m3u8"))
            .arg("--quiet"),
    );
    read_signalling(&dir.join("master.m3u8"), &dir.join("m.mpd"))
}

/// vodpack's inputs for an audio fixture: the file alone when it has its own video (the bear
/// clip), else the 240p H.264 rung beside it (so the HLS audio is an EXT-X-MEDIA rendition).
fn inputs_with_video(file: &str) -> Vec<String> {
    if file.starts_with("shaka/bear-640x360") {
        vec![fixture(file).display().to_string()]
    } else {
        vec![
            fixture("h264_240p.mp4").display().to_string(),
            format!("{}#audio", fixture(file).display()),
        ]
    }
}

#[test]
fn audio_signalling_equals_shaka_packagers() {
    let tmp = tempfile::tempdir().unwrap();
    // DTS:X too (ffmpeg has no DTS:X decoder, so it is in no decoding test).
    let dtsx = [("shaka/bear-dtsx.mp4", "dtsx")];
    for (i, (file, codec)) in CASES.iter().chain(&dtsx).enumerate() {
        let out = tmp.path().join(format!("ours{i}"));
        package(&out, &inputs_with_video(file));
        let ours = read_signalling(&out.join("master.m3u8"), &out.join("manifest.mpd"));
        let theirs = shaka_signalling(&fixture(file), &tmp.path().join(format!("shaka{i}")));
        assert_eq!(
            ours, theirs,
            "{file}: vodpack (left) and Shaka Packager 3.8"
        );
        assert_eq!(ours.dash_codecs, *codec, "{file}");
    }
}

#[test]
fn dtsx_channel_mask_and_iamf_codec_string_as_shaka_packager_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dtsx");
    package(&out, &inputs_with_video("shaka/bear-dtsx.mp4"));
    let s = read_signalling(&out.join("master.m3u8"), &out.join("manifest.mpd"));
    assert_eq!(s.hls_channels, "6");
    assert_eq!(
        s.dash_channels,
        (
            "tag:dts.com,2018:uhd:audio_channel_configuration".to_string(),
            "0000003F".to_string()
        )
    );

    // IAMF: the codec string equals Shaka Packager's; the channels do not. Shaka Packager writes
    // CHANNELS="0", AudioChannelConfiguration 0 and audioSamplingRate 0 (the entry's fields,
    // which IAMF leaves 0); vodpack writes none of them (docs/audio-signalling.md).
    let file = "shaka/bear-iamf-base-opus.mp4";
    let out = tmp.path().join("iamf");
    package(&out, &inputs_with_video(file));
    let theirs = shaka_signalling(&fixture(file), &tmp.path().join("shaka-iamf"));
    assert_eq!(theirs.hls_codec, "iamf.001.001.Opus");
    assert_eq!(theirs.hls_channels, "0");
    let m = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    let d = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
    assert!(m.contains(",iamf.001.001.Opus\""), "{m}");
    assert!(d.contains("codecs=\"iamf.001.001.Opus\""), "{d}");
    let media = m
        .lines()
        .find(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO"))
        .unwrap();
    assert!(!media.contains("CHANNELS"), "{media}");
    assert!(!d.contains("AudioChannelConfiguration"), "{d}");
    assert!(!d.contains("audioSamplingRate"), "{d}");
}

/// DTS:X and IAMF, which ffmpeg cannot decode here (DTS:X) or demux as one stream (IAMF):
/// packaged `cenc` and `cbcs`, every sample encrypted, `vodpack verify` passes, and Shaka
/// Packager's decrypter gives back every source sample's bytes (read with vodpack's reader).
#[test]
fn dtsx_and_iamf_cenc_and_cbcs_decrypt_to_the_source_in_shaka_packager() {
    for file in ["shaka/bear-dtsx.mp4", "shaka/bear-iamf-base-opus.mp4"] {
        for scheme in ["cenc", "cbcs"] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            let keys = tmp.path().join("keys.json");
            let source = fixture(file);
            let mut args = protection_args(scheme);
            args.extend(["--key-manifest".into(), keys.display().to_string()]);
            args.push(source.display().to_string());
            package(&out, &args);
            let what = format!("{file} {scheme}");
            let plain = stored_samples(&source);
            let n = plain.len();
            let v = run_ok(
                vodpack()
                    .arg("verify")
                    .arg(&out)
                    .arg("--key-manifest")
                    .arg(&keys)
                    .arg("--sources")
                    .arg(&source),
            );
            let report = String::from_utf8_lossy(&v.stdout);
            assert!(
                report.contains(&format!("{n} decrypted, {n} equal to the source")),
                "{what}: {report}"
            );
            let enc = concat_rendition(&audio_rendition(&out), &tmp.path().join("enc.mp4"));
            let stored = stored_samples(&enc);
            assert_eq!(stored.len(), n, "{what}: sample count");
            for (i, (e, p)) in stored.iter().zip(&plain).enumerate() {
                assert_ne!(e, p, "{what}: sample {i} is not encrypted");
            }
            let key = test_key("AUDIO");
            let dec = tmp.path().join("shaka-dec.mp4");
            shaka_decrypt(&enc, "audio", &dec, key.kid, key.key);
            assert!(
                stored_samples(&dec) == plain,
                "{what}: Shaka-decrypted samples differ from the source's"
            );
        }
    }
}

#[test]
fn joc_is_signalled_as_atmos_in_hls_and_dash() {
    // The values themselves, beside the comparison with Shaka Packager above (TS 103 420 §D.2).
    let tmp = tempfile::tempdir().unwrap();
    package(
        tmp.path().join("out").as_path(),
        &inputs_with_video("eac3_joc.mp4"),
    );
    let s = read_signalling(
        &tmp.path().join("out/master.m3u8"),
        &tmp.path().join("out/manifest.mpd"),
    );
    assert_eq!(s.hls_channels, "16/JOC");
    assert_eq!(
        s.dash_supplemental,
        vec![
            (
                "tag:dolby.com,2018:dash:EC3_ExtensionType:2018".to_string(),
                "JOC".to_string()
            ),
            (
                "tag:dolby.com,2018:dash:EC3_ExtensionComplexityIndex:2018".to_string(),
                "16".to_string()
            ),
        ]
    );
    assert_eq!(
        s.dash_channels,
        (
            "urn:mpeg:mpegB:cicp:ChannelConfiguration".to_string(),
            "6".to_string()
        )
    );
}

/// (size, MD5) of every stored audio sample as ffmpeg's demuxer reads it.
fn sample_hashes(file: &Path, input_args: &[&str]) -> Vec<String> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error"])
            .args(input_args)
            .arg("-i")
            .arg(file)
            .args(["-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-"]),
    );
    let hashes = framemd5_packets(&out.stdout);
    assert!(!hashes.is_empty(), "no samples in {}", file.display());
    hashes
}

/// ffmpeg decodes `file`'s audio with no error message.
fn decodes_cleanly(file: &Path, what: &str) {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .arg("-i")
            .arg(file)
            .args(["-map", "0:a:0", "-f", "null", "-"]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.trim().is_empty(), "{what}: ffmpeg said {err}");
}

#[test]
fn every_clear_segment_decodes_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (file, _)) in CASES.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        package(&out, &[format!("{}#audio", fixture(file).display())]);
        let rendition = audio_rendition(&out);
        let init = std::fs::read(rendition.join("init.mp4")).unwrap();
        for seg in segments(&rendition) {
            let mut bytes = init.clone();
            bytes.extend(std::fs::read(&seg).unwrap());
            let one = tmp.path().join("one.mp4");
            std::fs::write(&one, bytes).unwrap();
            decodes_cleanly(&one, &format!("{file} {}", seg.display()));
        }
    }
}

fn encrypted_round_trip(file: &str, scheme: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let keys = tmp.path().join("keys.json");
    let source = fixture(file);
    let mut args = protection_args(scheme);
    args.extend(["--key-manifest".into(), keys.display().to_string()]);
    args.push(format!("{}#audio", source.display()));
    package(&out, &args);
    let what = format!("{file} {scheme}");

    let v = run_ok(
        vodpack()
            .arg("verify")
            .arg(&out)
            .arg("--key-manifest")
            .arg(&keys)
            .arg("--sources")
            .arg(format!("{}#audio", source.display())),
    );
    let report = String::from_utf8_lossy(&v.stdout);
    let clear = sample_hashes(&source, &[]);
    let n = clear.len();
    assert!(
        report.contains(&format!("{n} encrypted"))
            && report.contains(&format!("{n} decrypted, {n} equal to the source"))
            && report.contains(" 0 errors"),
        "{what}: {report}"
    );

    let key = test_key("AUDIO");
    let enc = concat_rendition(&audio_rendition(&out), &tmp.path().join("enc.mp4"));
    // ffmpeg's E-AC-3 parser re-splits what it cannot read, so the stored (encrypted) samples are
    // read with vodpack's reader: each has the source's size and other bytes.
    let stored = stored_samples(&enc);
    let plain = stored_samples(&source);
    assert_eq!(stored.len(), plain.len(), "{what}: sample count");
    for (i, (e, p)) in stored.iter().zip(&plain).enumerate() {
        assert_eq!(e.len(), p.len(), "{what}: sample {i} size");
        assert_ne!(e, p, "{what}: sample {i} is not encrypted");
    }

    let dec = tmp.path().join("shaka-dec.mp4");
    shaka_decrypt(&enc, "audio", &dec, key.kid, key.key);
    assert_eq!(
        clear,
        sample_hashes(&dec, &[]),
        "{what}: Shaka-decrypted samples"
    );
    // The source's edit list trims the encoder delay (256 samples of E-AC-3); Shaka Packager's
    // decrypter drops it and ffmpeg does not apply the elst of a fragmented file, so every
    // decoded frame is compared with edit lists ignored on both sides (the edit itself is
    // carried, tests/suite/odd_timing.rs).
    let no_edits = ["-ignore_editlist", "1"];
    assert_same_frames(
        &format!("{what}: ffmpeg decodes the Shaka-decrypted audio"),
        &framemd5(&source, "a:0", &no_edits),
        &framemd5(&dec, "a:0", &no_edits),
    );
    let pcm = framemd5(&source, "a:0", &no_edits);
    if file.starts_with("alac") {
        // ffmpeg cannot open any encrypted ALAC entry: it reads the `alac` cookie only when the
        // entry is `alac`, not `enca` ("extradata is too small", the same on Shaka Packager's own
        // encrypted ALAC). Shaka Packager's decrypter above is the judge.
        return;
    }
    assert_eq!(
        clear,
        sample_hashes(&enc, &["-decryption_key", key.key]),
        "{what}: ffmpeg -decryption_key samples"
    );
    assert_same_frames(
        &format!("{what}: ffmpeg decodes the decrypted audio"),
        &pcm,
        &framemd5(
            &enc,
            "a:0",
            &["-decryption_key", key.key, "-ignore_editlist", "1"],
        ),
    );
}

/// The bytes of every sample of the audio track of `file`.
fn stored_samples(file: &Path) -> Vec<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let input = vodpack::media::input::InputFile::open(file).unwrap();
    let track = input
        .tracks
        .iter()
        .find(|t| t.kind == vodpack::media::TrackKind::Audio)
        .expect("an audio track");
    let mut f = std::fs::File::open(file).unwrap();
    track
        .samples
        .iter()
        .map(|s| {
            let mut bytes = vec![0u8; s.size as usize];
            f.seek(SeekFrom::Start(s.offset)).unwrap();
            f.read_exact(&mut bytes).unwrap();
            bytes
        })
        .collect()
}

#[test]
fn ec3_and_joc_cenc_and_cbcs_decrypt_to_the_source_in_shaka_packager_and_ffmpeg() {
    for scheme in ["cenc", "cbcs"] {
        encrypted_round_trip("eac3_joc.mp4", scheme);
        encrypted_round_trip("shaka/bear-640x360-ec3.mp4", scheme);
    }
}

#[test]
fn flac_alac_opus_cenc_and_cbcs_decrypt_to_the_source_in_shaka_packager_and_ffmpeg() {
    for scheme in ["cenc", "cbcs"] {
        for file in ["flac_51.mp4", "alac_stereo.mp4", "opus_51.mp4"] {
            encrypted_round_trip(file, scheme);
        }
    }
}

/// Chromium plays FLAC (`cenc`) and Opus (`cbcs`) beside H.264 in Shaka Player (DASH, Clear Key
/// licence server): it plays, seeks and asks for the audio key, so the encrypted audio track was
/// fetched, decrypted and accepted by MSE (a player that could not use it would fail the load).
#[test]
fn chromium_plays_encrypted_flac_and_opus_in_shaka_player() {
    for (file, scheme) in [("flac_51.mp4", "cenc"), ("opus_51.mp4", "cbcs")] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let port = crate::common::free_port();
        let mut args = protection_args(scheme);
        args.extend([
            "--drm".to_string(),
            "clearkey".to_string(),
            "--clearkey-license-url".to_string(),
            format!("http://127.0.0.1:{port}/license"),
        ]);
        args.extend(inputs_with_video(file));
        package(&out, &args);
        let _one_at_a_time = crate::common::browser_slot();
        let output = crate::common::browser_harness(&out, "shaka", "dash")
            .args(["--drm", "server", "--expect", "play"])
            .args(["--port", &port.to_string()])
            .args(["--keys", &crate::common::browser_keys_arg()])
            .output()
            .expect("run node tests/browser/run.mjs");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{file} {scheme}: {report}");
        let json: serde_json::Value = serde_json::from_str(&report).expect("harness JSON");
        assert_eq!(json["ok"], true, "{file} {scheme}: {report}");
        let audio_kid = test_key("AUDIO").kid;
        assert!(
            json["licenseKids"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == audio_kid)),
            "{file} {scheme}: the audio key was never requested: {report}"
        );
    }
}

/// AC-4 (fixtures/ac4_*.mp4: `ac-4` entries whose `dac4` payloads are the four of Shaka
/// Packager's unit test, from real AC-4 streams: immersive stereo, 5.1, stereo, 5.1.2
/// channel-based immersive): the codec string, HLS `CHANNELS`, DASH `AudioChannelConfiguration`
/// and Dolby properties equal Shaka Packager 3.8's, and are what the two tools agree on.
/// Encrypting AC-4 is refused (exit 4) before anything is written: Shaka Packager parses each
/// frame's table of contents to keep it clear, and vodpack cannot yet (docs/audio-signalling.md).
#[test]
fn ac4_signalling_equals_shaka_packagers_and_encryption_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("ac4_ims.mp4", "ac-4.02.02.00", "2/IMSA", ("cicp", "2")),
        ("ac4_51.mp4", "ac-4.02.01.01", "6", ("cicp", "6")),
        ("ac4_stereo.mp4", "ac-4.02.01.00", "2", ("cicp", "2")),
        (
            "ac4_cbi_512.mp4",
            "ac-4.02.01.03",
            "8/IMSA",
            ("dolby", "0000C7"),
        ),
    ];
    for (i, (file, codec, channels, (scheme, value))) in cases.into_iter().enumerate() {
        let out = tmp.path().join(format!("ours{i}"));
        package(&out, &inputs_with_video(file));
        let ours = read_signalling(&out.join("master.m3u8"), &out.join("manifest.mpd"));
        let theirs = shaka_signalling(&fixture(file), &tmp.path().join(format!("shaka{i}")));
        assert_eq!(
            ours, theirs,
            "{file}: vodpack (left) and Shaka Packager 3.8"
        );
        assert_eq!(
            (ours.dash_codecs.as_str(), ours.hls_channels.as_str()),
            (codec, channels),
            "{file}"
        );
        let expected_scheme = match scheme {
            "cicp" => "urn:mpeg:mpegB:cicp:ChannelConfiguration",
            _ => "tag:dolby.com,2015:dash:audio_channel_configuration:2015",
        };
        assert_eq!(
            ours.dash_channels,
            (expected_scheme.to_string(), value.to_string()),
            "{file}"
        );
        let virtualized = ours
            .dash_supplemental
            .iter()
            .any(|(s, v)| s == "tag:dolby.com,2016:dash:virtualized_content:2016" && v == "1");
        assert_eq!(virtualized, file == "ac4_ims.mp4", "{file}");
    }

    for scheme in ["cenc", "cbcs"] {
        let out = tmp.path().join(format!("enc_{scheme}"));
        let mut args = protection_args(scheme);
        args.extend(inputs_with_video("ac4_51.mp4"));
        let o = vodpack()
            .args(["package", "--quiet", "-o"])
            .arg(&out)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{scheme}: exit 4 (unsupported)");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("encrypting AC-4 is not supported"),
            "{scheme}: {err}"
        );
        assert!(!out.exists(), "{scheme}: nothing written");
    }
}
