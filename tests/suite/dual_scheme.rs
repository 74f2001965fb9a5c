//! One run, two encryption schemes (`--protection dash=cenc,hls=cbcs`): both segment sets
//! decrypt to the exact source samples with Shaka Packager's decrypter and to the source frames
//! with ffmpeg's; the MPD references only the cenc set and the playlists only the cbcs set; keys,
//! clear lead and DRM signalling apply to both; the key manifest records both; Shaka Player plays
//! the DASH (cenc) set and hls.js the HLS (cbcs) set with Clear Key in Chromium.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::common::*;

/// (rendition id, fixture, ffmpeg stream, key label, Shaka stream kind)
const SET: [(&str, &str, &str, &str, &str); 3] = [
    ("h264_240p", "h264_240p.mp4", "v:0", "SD", "video"),
    ("h264_720p", "h264_720p.mp4", "v:0", "HD", "video"),
    ("aac_en", "aac_en.mp4", "a:0", "AUDIO", "audio"),
];

fn package_dual(out: &Path, extra: &[String]) -> std::process::Output {
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
    package(out, &args)
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
    let report = verify_with_test_keys(&out);
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
            vec![
                "--single-file",
                "--segment-template",
                "$RepresentationID$/$Number$.m4s",
            ],
            "--single-file has none",
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
    // The default layout, and a `--segment-template` one (segments in `cenc/…` and `cbcs/…`,
    // which the playlists name as `../cbcs/…`).
    for template in [None, Some("$RepresentationID$/seg_$Number%05d$.m4s")] {
        let out = tmp
            .path()
            .join(if template.is_some() { "tpl" } else { "out" });
        let mut extra = vec![
            "--drm".to_string(),
            "clearkey".into(),
            "--clearkey-license-url".into(),
            format!("http://127.0.0.1:{port}/license"),
        ];
        if let Some(t) = template {
            extra.extend(["--segment-template".to_string(), t.to_string()]);
        }
        package_dual(&out, &extra);
        for (player, protocol) in [("shaka", "dash"), ("hlsjs", "hls")] {
            let mut cmd = browser_harness(&out, player, protocol);
            cmd.args(["--drm", "server"])
                .args(["--expect", "play", "--expect-heights", "240,720"])
                .args(["--port", &port.to_string(), "--keys", &browser_keys_arg()]);
            assert_harness_ok(&mut cmd, &format!("{template:?} {player}/{protocol}"));
        }
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

/// An OUT-relative path from a URI `uri` in the OUT-relative folder `dir` (RFC 3986 §5.2: `..`
/// removed), or from an absolute URI under `base` (`--base-url`).
fn resolve(dir: &str, uri: &str, base: Option<&str>) -> String {
    if let Some(b) = base {
        return uri
            .strip_prefix(&format!("{b}/"))
            .unwrap_or_else(|| panic!("{uri} is not under the base URL {b}"))
            .to_string();
    }
    assert!(
        !uri.contains("://"),
        "{uri}: relative URIs without --base-url"
    );
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in uri.split('/') {
        match p {
            ".." => {
                assert!(parts.pop().is_some(), "{uri} leaves OUT from {dir}");
            }
            "." => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// An init segment and its media segments, OUT-relative, in a manifest's order.
#[derive(Debug, Default)]
struct Named {
    init: String,
    media: Vec<String>,
}

impl Named {
    /// The init segment and every media segment, concatenated (a CMAF track file).
    fn concat(&self, out: &Path, dest: &Path) -> std::path::PathBuf {
        let mut bytes = std::fs::read(out.join(&self.init)).unwrap();
        for m in &self.media {
            bytes.extend(std::fs::read(out.join(m)).unwrap());
        }
        std::fs::write(dest, bytes).unwrap();
        dest.to_path_buf()
    }

    fn bytes(&self, out: &Path) -> u64 {
        std::iter::once(&self.init)
            .chain(&self.media)
            .map(|p| std::fs::metadata(out.join(p)).unwrap().len())
            .sum()
    }
}

/// `--segment-template` with two schemes and a subtitle input: each set renders the template
/// under its scheme's folder (`cenc/…` named by the MPD, `cbcs/…` by the playlists), the text
/// rendition's `wvtt` segments once, with the cenc set; nothing is left under a default name;
/// both sets decrypt to the source with Shaka Packager; `vodpack verify` passes; `--base-url`
/// makes the HLS URIs absolute and sets the MPD's BaseURL; `--json` counts each set's bytes.
#[test]
fn segment_template_names_each_set_under_its_scheme() {
    type Expect = fn(&str, &str, u64, u64) -> String;
    let base = "https://cdn.example.com/vod/dual";
    let cases: [(&str, Option<&str>, Expect); 2] = [
        (
            "$RepresentationID$/seg_$Number%05d$.m4s",
            None,
            |set, id, n, _| format!("{set}/{id}/seg_{n:05}.m4s"),
        ),
        (
            "chunks/$RepresentationID$_$Time$.m4s",
            Some(base),
            |set, id, _, t| format!("{set}/chunks/{id}_{t}.m4s"),
        ),
    ];
    for (template, base_url, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut extra: Vec<String> = vec![
            "--segment-template".into(),
            template.into(),
            "--drm".into(),
            "clearkey".into(),
            "--json".into(),
            format!(
                "in={},lang=fr,name=Français",
                fixture("subs_fr.vtt").display()
            ),
        ];
        if let Some(b) = base_url {
            extra.extend(["--base-url".to_string(), b.to_string()]);
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&package_dual(&out, &extra).stdout).expect("--json");
        let mut named: BTreeSet<String> = BTreeSet::new();

        // DASH: every SegmentTemplate expansion is a file of the cenc set with the template's name.
        let mpd_path = out.join("manifest.mpd");
        xmllint_mpd(&mpd_path);
        named.insert("manifest.mpd".into());
        let mpd = dash_mpd_core::parse(&std::fs::read_to_string(&mpd_path).unwrap()).unwrap();
        match base_url {
            Some(b) => assert_eq!(mpd.base_url[0].base, format!("{b}/"), "{template}"),
            None => assert!(mpd.base_url.is_empty(), "{template}"),
        }
        let mut dash: HashMap<String, Named> = HashMap::new();
        for set in &mpd.periods[0].adaptations {
            for rep in &set.representations {
                let id = rep.id.clone().unwrap();
                let st = rep.SegmentTemplate.as_ref().unwrap();
                let init = st.initialization.clone().unwrap();
                let media = st.media.as_deref().unwrap();
                let text = id.starts_with("text_");
                let want_init = if text {
                    format!("{id}/init.mp4")
                } else {
                    format!("{id}/cenc/init.mp4")
                };
                assert_eq!(init, want_init, "{template}: {id}");
                let mut names = Named {
                    init,
                    media: Vec::new(),
                };
                let mut n = st.startNumber.unwrap_or(1);
                let mut t = 0;
                for s in &st.SegmentTimeline.as_ref().unwrap().segments {
                    t = s.t.unwrap_or(t);
                    for _ in 0..=s.r.unwrap_or(0) {
                        let name = crate::output_control::fill(media, n, t);
                        assert_eq!(name, expect("cenc", &id, n, t), "{template}: MPD");
                        let path = out.join(&name);
                        assert!(path.is_file(), "{template}: MPD names missing {name}");
                        assert_eq!(crate::output_control::tfdt(&path), t, "{name}: tfdt");
                        names.media.push(name);
                        n += 1;
                        t += s.d;
                    }
                }
                assert!(names.media.len() >= 2, "{template}: {id}: {names:?}");
                named.insert(names.init.clone());
                named.extend(names.media.iter().cloned());
                dash.insert(id, names);
            }
        }
        assert_eq!(dash.len(), SET.len() + 1, "{template}: {:?}", dash.keys());

        // HLS: every playlist names the cbcs set (or the WebVTT segments), under the base URL
        // when given; the same segments as the MPD, in the other set.
        let master_text = std::fs::read(out.join("master.m3u8")).unwrap();
        named.insert("master.m3u8".into());
        let m3u8_rs::Playlist::MasterPlaylist(master) =
            m3u8_rs::parse_playlist_res(&master_text).unwrap()
        else {
            panic!("master.m3u8 is not a multivariant playlist")
        };
        let mut playlists: BTreeSet<String> =
            master.variants.iter().map(|v| v.uri.clone()).collect();
        playlists.extend(master.alternatives.iter().filter_map(|a| a.uri.clone()));
        let mut hls: HashMap<String, Named> = HashMap::new();
        let mut vtt = 0;
        for p in &playlists {
            assert!(
                !p.contains("://"),
                "{template}: playlist URIs stay relative: {p}"
            );
            named.insert(p.clone());
            let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
            let text = std::fs::read(out.join(p)).unwrap();
            let m3u8_rs::Playlist::MediaPlaylist(media) =
                m3u8_rs::parse_playlist_res(&text).unwrap()
            else {
                panic!("{p} is not a media playlist")
            };
            let mut names = Named::default();
            for s in &media.segments {
                if let Some(map) = &s.map {
                    names.init = resolve(dir, &map.uri, base_url);
                }
                let name = resolve(dir, &s.uri, base_url);
                assert!(
                    out.join(&name).is_file(),
                    "{template}: {p} names missing {name}"
                );
                if name.ends_with(".vtt") {
                    vtt += 1;
                } else {
                    assert!(name.starts_with("cbcs/"), "{template}: {p}: {name}");
                }
                names.media.push(name);
            }
            named.extend(names.media.iter().cloned());
            if !names.init.is_empty() {
                assert!(out.join(&names.init).is_file(), "{p}: {}", names.init);
                named.insert(names.init.clone());
            }
            if p.ends_with("/playlist.m3u8") {
                hls.insert(dir.to_string(), names);
            }
        }
        assert!(vtt >= 2, "{template}: WebVTT segments in the playlists");
        for (id, ..) in SET {
            let (d, h) = (&dash[id], &hls[id]);
            assert_eq!(h.init, format!("{id}/cbcs/init.mp4"), "{template}: {id}");
            let cbcs: Vec<String> = d
                .media
                .iter()
                .map(|m| m.replacen("cenc/", "cbcs/", 1))
                .collect();
            assert_eq!(
                h.media, cbcs,
                "{template}: {id}: the playlist names the cbcs twins"
            );
            assert_eq!(scheme_of(&out.join(&d.init)), "cenc");
            assert_eq!(scheme_of(&out.join(&h.init)), "cbcs");
            for scheme in ["cenc", "cbcs"] {
                let default = out.join(id).join(scheme).join("seg_1.m4s");
                assert!(!default.exists(), "{template}: {} left", default.display());
            }
        }

        // Every file in OUT is named by a manifest (or is vodpack's output marker): none left
        // under a default name or a temporary one.
        named.insert(vodpack::package::output::MARKER_FILE.into());
        let on_disk: BTreeSet<String> = crate::output_control::files_under(&out)
            .iter()
            .map(|p| p.strip_prefix(&out).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            on_disk, named,
            "{template}: files in OUT vs files the manifests name"
        );

        // `--json`: each set's init and bytes (init + that set's segments).
        let sets = summary["schemes"].as_array().expect("schemes[]");
        for (set, scheme, files) in [(&sets[0], "cenc", &dash), (&sets[1], "cbcs", &hls)] {
            assert_eq!(set["scheme"], scheme);
            for r in set["renditions"].as_array().unwrap() {
                let f = &files[r["id"].as_str().unwrap()];
                assert_eq!(r["init"].as_str(), Some(f.init.as_str()), "{template}: {r}");
                assert_eq!(r["bytes"].as_u64(), Some(f.bytes(&out)), "{template}: {r}");
            }
        }

        // Both sets, read from what the manifests name, decrypt to the source's samples.
        for (id, file, stream, label, kind) in SET {
            let key = test_key(label);
            let clear = samples(&fixture(file), stream, &[]);
            for (scheme, names) in [("cenc", &dash[id]), ("cbcs", &hls[id])] {
                let what = format!("{template}: {id} {scheme} set");
                let encrypted = names.concat(&out, &tmp.path().join(format!("{id}.{scheme}.mp4")));
                let stored = samples(&encrypted, "0", &[]);
                let changed = stored
                    .iter()
                    .zip(&clear)
                    .filter(|(a, b)| a.md5 != b.md5)
                    .count();
                assert!(changed > 0, "{what}: encrypted");
                let decrypted = tmp.path().join(format!("{id}.{scheme}.dec.mp4"));
                shaka_decrypt(&encrypted, kind, &decrypted, key.kid, key.key);
                assert_same_samples(&what, &clear, &samples(&decrypted, "0", &[]));
            }
        }

        // `vodpack verify` reads the manifests and decrypts every sample of both sets.
        let report = verify_with_test_keys(&out);
        assert_eq!(report["ok"], true, "{template}: {report}");
        for scheme in ["cenc", "cbcs"] {
            let sets: Vec<&serde_json::Value> = report["renditions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["scheme"] == scheme)
                .collect();
            assert_eq!(sets.len(), SET.len(), "{template}: {scheme}: {report}");
            for r in sets {
                assert!(r["encrypted_samples"].as_u64().unwrap() > 0, "{r}");
                assert_eq!(r["decrypted_samples"], r["encrypted_samples"], "{r}");
            }
        }
    }
}

/// `vodpack verify --json` of `out` with every test key: its report.
fn verify_with_test_keys(out: &Path) -> serde_json::Value {
    let mut cmd = vodpack();
    cmd.arg("verify").arg(out).arg("--json");
    for k in &TEST_KEYS {
        cmd.args(["--key", &format!("kid={},key={}", k.kid, k.key)]);
    }
    serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("verify --json")
}
