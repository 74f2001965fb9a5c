//! Output control: `--manifests`, `--hls-master`, `--mpd`, `--segment-template`, `--base-url`,
//! job files (docs/examples/ uses every field; unknown extensions refused; command-line inputs
//! replace the job's), and input paths holding `,` and `#`.

use crate::common::*;
use std::path::{Path, PathBuf};

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn has_ext(files: &[PathBuf], ext: &str) -> bool {
    files
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == ext))
}

fn ladder() -> Vec<String> {
    vec![
        fixture("h264_240p.mp4").display().to_string(),
        fixture("h264_360p.mp4").display().to_string(),
        format!(
            "in={},lang=en,name=English",
            fixture("aac_en.mp4").display()
        ),
        format!(
            "in={},lang=fr,name=Français",
            fixture("subs_fr.vtt").display()
        ),
    ]
}

fn key_manifest(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn manifests_flag_selects_hls_or_dash() {
    let dir = tempfile::tempdir().unwrap();
    for (which, hls, dash) in [
        ("hls", true, false),
        ("dash", false, true),
        ("hls,dash", true, true),
    ] {
        let out = dir.path().join(which.replace(',', "_"));
        let km = dir
            .path()
            .join(format!("{}.keys.json", which.replace(',', "_")));
        let mut args = vec![
            "--manifests".to_string(),
            which.into(),
            "--key-manifest".into(),
            km.display().to_string(),
        ];
        args.extend(ladder());
        package(&out, &args);
        let files = files_under(&out);
        assert_eq!(has_ext(&files, "m3u8"), hls, "{which}: playlists");
        assert_eq!(has_ext(&files, "vtt"), hls, "{which}: WebVTT segments");
        assert_eq!(has_ext(&files, "mpd"), dash, "{which}: MPD");
        assert!(has_ext(&files, "m4s"));
        let m = key_manifest(&km);
        assert_eq!(m["manifests"]["hls"].is_string(), hls, "{which}: {m}");
        assert_eq!(m["manifests"]["dash"].is_string(), dash, "{which}: {m}");
    }
    let o = vodpack()
        .args(["package", "-o"])
        .arg(dir.path().join("bad"))
        .args(["--manifests", "smooth"])
        .arg(fixture("h264_240p.mp4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Fills a DASH media template (ISO/IEC 23009-1 §5.3.9.4.4) for one segment: the test's own
/// reading of `$Number$`, `$Number%0Nd$`, `$Time$`, `$$`.
pub(crate) fn fill(template: &str, number: u64, time: u64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let j = rest[i + 1..].find('$').unwrap() + i + 1;
        let ident = &rest[i + 1..j];
        let (name, width) = match ident.split_once("%0") {
            Some((n, w)) => (n, w.trim_end_matches('d').parse::<usize>().unwrap()),
            None => (ident, 0),
        };
        match name {
            "" => out.push('$'),
            "Number" => out.push_str(&format!("{number:0width$}")),
            "Time" => out.push_str(&format!("{time:0width$}")),
            other => panic!("identifier {other} left in the MPD"),
        }
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn tfdt(seg: &Path) -> u64 {
    let bytes = std::fs::read(seg).unwrap();
    let b = find_box(&bytes, &["moof", "traf", "tfdt"]).unwrap();
    if b[0] == 1 {
        u64::from_be_bytes(b[4..12].try_into().unwrap())
    } else {
        u64::from(u32::from_be_bytes(b[4..8].try_into().unwrap()))
    }
}

#[test]
fn names_segment_template_and_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let base = "https://cdn.example.com/vod/title";
    let mut args: Vec<String> = [
        "--segment-duration",
        "2",
        "--hls-master",
        "index.m3u8",
        "--mpd",
        "stream.mpd",
        "--segment-template",
        "segs/$RepresentationID$/s_$Number%04d$_$Time$.m4s",
        "--base-url",
        base,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(ladder());
    package(&out, &args);
    assert!(out.join("index.m3u8").is_file() && out.join("stream.mpd").is_file());
    assert!(!out.join("master.m3u8").exists() && !out.join("manifest.mpd").exists());

    // DASH: BaseURL; every SegmentTemplate expansion names a file whose tfdt is its $Time$.
    let mpd_path = out.join("stream.mpd");
    xmllint_mpd(&mpd_path);
    let mpd = dash_mpd_core::parse(&std::fs::read_to_string(&mpd_path).unwrap()).unwrap();
    assert_eq!(mpd.base_url[0].base, format!("{base}/"));
    let mut dash_files: Vec<Vec<String>> = Vec::new();
    for set in &mpd.periods[0].adaptations {
        for rep in &set.representations {
            let st = rep.SegmentTemplate.as_ref().unwrap();
            let media = st.media.as_deref().unwrap();
            assert!(media.starts_with("segs/"), "{media}");
            let mut n = st.startNumber.unwrap_or(1);
            let mut t = 0;
            let mut names = Vec::new();
            for s in &st.SegmentTimeline.as_ref().unwrap().segments {
                t = s.t.unwrap_or(t);
                for _ in 0..=s.r.unwrap_or(0) {
                    let name = fill(media, n, t);
                    let path = out.join(&name);
                    assert!(path.is_file(), "MPD names missing {name}");
                    assert_eq!(tfdt(&path), t, "{name}: tfdt vs $Time$");
                    assert!(name.contains(&format!("s_{n:04}_{t}.m4s")), "{name}");
                    names.push(name);
                    n += 1;
                    t += s.d;
                }
            }
            dash_files.push(names);
        }
    }
    assert_eq!(dash_files.len(), 4);

    // HLS: media URIs absolute under the base URL, the same files in the same order.
    let master = std::fs::read_to_string(out.join("index.m3u8")).unwrap();
    let m3u8_rs::Playlist::MasterPlaylist(master) =
        m3u8_rs::parse_playlist_res(master.as_bytes()).unwrap()
    else {
        panic!("index.m3u8 is not a multivariant playlist")
    };
    let mut playlists: Vec<String> = master
        .variants
        .iter()
        .filter(|v| !v.is_i_frame)
        .map(|v| v.uri.clone())
        .collect();
    playlists.extend(master.alternatives.iter().filter_map(|a| a.uri.clone()));
    assert!(
        playlists.iter().all(|u| !u.starts_with("http")),
        "playlist URIs stay relative"
    );
    let mut hls_fmp4: Vec<Vec<String>> = Vec::new();
    for p in &playlists {
        let text = std::fs::read(out.join(p)).unwrap();
        let m3u8_rs::Playlist::MediaPlaylist(media) = m3u8_rs::parse_playlist_res(&text).unwrap()
        else {
            panic!("{p}")
        };
        let mut names = Vec::new();
        for s in &media.segments {
            let rel = s
                .uri
                .strip_prefix(&format!("{base}/"))
                .unwrap_or_else(|| panic!("{p}: {} not under the base URL", s.uri));
            assert!(out.join(rel).is_file(), "{p}: {rel} missing");
            names.push(rel.to_string());
            if let Some(map) = &s.map {
                assert!(map.uri.starts_with(base), "{p}: EXT-X-MAP {}", map.uri);
            }
        }
        if !names[0].ends_with(".vtt") {
            hls_fmp4.push(names);
        }
    }
    for names in &hls_fmp4 {
        assert!(
            dash_files.contains(names),
            "HLS and DASH name the same segments: {names:?}"
        );
    }
}

#[test]
fn template_output_plays_in_shaka_and_hlsjs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut args: Vec<String> = [
        "--hls-master",
        "index.m3u8",
        "--mpd",
        "stream.mpd",
        "--segment-template",
        "chunks/$RepresentationID$_$Time$.m4s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(ladder());
    package(&out, &args);
    let _one_browser = browser_slot();
    for (player, protocol, manifest) in [
        ("shaka", "dash", "stream.mpd"),
        ("hlsjs", "hls", "index.m3u8"),
    ] {
        let o = browser_harness(&out, player, protocol)
            .args(["--manifest", manifest])
            .args(["--expect", "play", "--expect-heights", "240,360"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{player}/{protocol}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn example_job_files_use_every_field_and_run() {
    use vodpack::package::{InputSpec, PackageJob, ProtectionOptions};
    let keys_of =
        |v: serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let job_fields = keys_of(serde_json::to_value(PackageJob::default()).unwrap());
    let protection_fields = keys_of(serde_json::to_value(ProtectionOptions::default()).unwrap());
    let input_fields = keys_of(serde_json::to_value(InputSpec::default()).unwrap());
    let examples = root().join("docs/examples");
    // Fields that need a server to run (a SPEKE key server; an object-store OUT): each is
    // documented with its flag instead of set in an example that must run.
    let needs_a_server = [
        ("speke", "--speke", "docs/cpix.md"),
        ("speke_headers", "--speke-header", "docs/cpix.md"),
        ("cpix_certificate", "--cpix-certificate", "docs/cpix.md"),
        ("prune_after", "--prune-after", "docs/usage.md"),
    ];
    for (_, flag, doc) in needs_a_server {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        assert!(text.contains(flag), "{doc} does not document {flag}");
    }
    let served = |f: &String| needs_a_server.iter().any(|(name, _, _)| name == f);
    // The key URI of HLS over MPEG-TS needs `hls_segments = "ts"` and a TS scheme: it is in an
    // example of its own, docs/examples/job-ts.toml, which runs below.
    let ts_only = |f: &String| f == "hls_key_uri";
    {
        let path = examples.join("job-ts.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        for f in job_fields.iter().filter(|f| ts_only(f)) {
            assert!(v.get(f).is_some(), "job-ts.toml: no '{f}'");
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = vodpack()
            .args(["package", "--quiet", "--job"])
            .arg(&path)
            .arg("-o")
            .arg(&out)
            .arg("--key-manifest")
            .arg(dir.path().join("keys.json"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "job-ts.toml: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.join("manifest.mpd").is_file());
        let video = std::fs::read_to_string(out.join("video_240p/playlist.m3u8")).unwrap();
        assert!(
            video.contains("METHOD=AES-128")
                && video.contains("/v1/licence/key/10112233445566778899aabbccddeeff")
                && video.contains("seg_1.ts"),
            "{video}"
        );
        let audio = std::fs::read_to_string(out.join("audio_en/playlist.m3u8")).unwrap();
        assert!(audio.contains("seg_1.aac"), "{audio}");
        let keys = std::fs::read_to_string(dir.path().join("keys.json")).unwrap();
        assert!(keys.contains("/v1/licence/key/"), "{keys}");
    }
    // The CPIX fields take the keys from a document instead of `keys`: they are in an example
    // of their own, docs/examples/job-cpix.toml, which runs below.
    let cpix = |f: &String| f.starts_with("cpix") || f.starts_with("max_");
    let cpix_example = std::fs::read_to_string(examples.join("job-cpix.toml")).unwrap();
    let cpix_example: toml::Value = toml::from_str(&cpix_example).unwrap();
    for f in protection_fields.iter().filter(|f| cpix(f) && !served(f)) {
        assert!(
            cpix_example["protection"].get(f).is_some(),
            "job-cpix.toml: no protection '{f}'"
        );
    }
    {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = vodpack()
            .args(["package", "--quiet", "--job"])
            .arg(examples.join("job-cpix.toml"))
            .arg("-o")
            .arg(&out)
            .arg("--key-manifest")
            .arg(dir.path().join("keys.json"))
            .arg("--cpix-export")
            .arg(dir.path().join("export.xml"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "job-cpix.toml: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.join("manifest.mpd").is_file() && dir.path().join("keys.json").is_file());
        // The keys used, exported (encrypted for the job's recipient).
        let text = std::fs::read_to_string(dir.path().join("export.xml")).unwrap();
        assert!(
            text.contains("CPIX") && text.contains("DeliveryData"),
            "{text}"
        );
    }
    for name in ["job.toml", "job.json"] {
        let path = examples.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = if name.ends_with(".toml") {
            serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap()
        } else {
            serde_json::from_str(&text).unwrap()
        };
        for f in job_fields.iter().filter(|f| !served(f) && !ts_only(f)) {
            assert!(v.get(f).is_some(), "{name}: no '{f}'");
        }
        for f in protection_fields.iter().filter(|f| !cpix(f) && !served(f)) {
            assert!(
                v["protection"].get(f).is_some(),
                "{name}: no protection '{f}'"
            );
        }
        let inputs = v["inputs"].as_array().unwrap();
        for f in &input_fields {
            let alt = if f == "roles" { "role" } else { f };
            assert!(
                inputs
                    .iter()
                    .any(|i| i.get(f).is_some() || i.get(alt).is_some()),
                "{name}: no input uses '{f}'"
            );
        }
        // It runs (out and key manifest moved into a temporary folder).
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = vodpack()
            .args(["package", "--quiet", "--job"])
            .arg(&path)
            .arg("-o")
            .arg(&out)
            .arg("--key-manifest")
            .arg(dir.path().join("keys.json"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.join("index.m3u8").is_file() && out.join("stream.mpd").is_file());
        assert!(out.join("video_720p/chunk_00001.m4s").is_file());
        let mut ids: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| out.join(n).is_dir())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "audio_en",
                "audio_fr",
                "text_fr",
                "video_240p",
                "video_720p"
            ]
        );

        // Command-line inputs replace the job's inputs.
        let out2 = dir.path().join("out2");
        let o = vodpack()
            .args(["package", "--quiet", "--job"])
            .arg(&path)
            .arg("-o")
            .arg(&out2)
            .arg("--key-manifest")
            .arg(dir.path().join("keys2.json"))
            .arg(fixture("h264_360p.mp4"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let dirs: Vec<String> = std::fs::read_dir(&out2)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| out2.join(n).is_dir())
            .collect();
        assert_eq!(dirs, ["video_360p"]);
    }
    // An unknown extension is an error, not JSON by default.
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("job.yaml");
    std::fs::copy(examples.join("job.json"), &yaml).unwrap();
    let o = vodpack()
        .args(["package", "--job"])
        .arg(&yaml)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(".toml or .json"));
}

#[test]
fn input_paths_with_commas_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("clip, v1#final.mp4");
    std::fs::copy(fixture("h264_240p.mp4"), &odd).unwrap();
    let audio = dir.path().join("a#b,c.mp4");
    std::fs::copy(fixture("aac_fr.mp4"), &audio).unwrap();
    let escaped = odd
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('#', "\\#");
    let out = dir.path().join("out");
    package(
        &out,
        &[
            format!("in={escaped}#video,id=v"),
            format!("lang=fr,track=audio,path={}", audio.display()),
        ],
    );
    assert!(out.join("v/init.mp4").is_file());
    assert!(out.join("audio_fr/init.mp4").is_file());
}
