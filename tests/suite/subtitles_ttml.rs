//! TTML/IMSC1 subtitles end to end: the DASH `stpp` track (init: `subt` handler, `sthd`, `stpp`
//! sample entry; one sample per segment holding a whole IMSC1 document), read by ttconv (the IMSC
//! reader of the W3C IMSC editors, installed by scripts/install-ttconv.sh) to the source's
//! paragraphs with their times, regions and text; the HLS WebVTT view; the MPD schema-valid; bad
//! TTML refused with file and line. The expected cues are written out by hand from the fixtures'
//! time expressions, and ttconv reads the fixtures themselves to the same cues.

use crate::common::{fixture, package, root, xmllint_mpd};
use crate::subtitles::{boxes, child, read_segment};
use std::path::{Path, PathBuf};
use std::process::Command;

/// (start ms, end ms, region, text) of a shown paragraph.
type Shown = (u64, u64, String, String);

fn shown(start: u64, end: u64, region: &str, text: &str) -> Shown {
    (start, end, region.into(), text.into())
}

/// fixtures/subs_fr.ttml at 25 fps, resolved by hand: 00:00:00:12 = 0.48 s, 65f = 2.6 s, the
/// third div's begin of 3 s added to its paragraphs, 00:00:03:06 = 3.24 s, 0.11m = 6.6 s.
fn fr_expected() -> Vec<Shown> {
    vec![
        shown(480, 1800, "bas", "Bienvenue à tous !"),
        shown(1900, 2600, "haut", "Ça commence,\ndeuxième ligne — déjà."),
        shown(3000, 4500, "bas", "Œuvre d'été & café crème\nà 4 s pile"),
        shown(5000, 6240, "bas", "Où est la gare ? 日本語も"),
        shown(6600, 7750, "bas", "Fin du test."),
    ]
}

/// fixtures/subs_en_ticks.ttml: ticks at 10 MHz, frames at 30000/1001 fps (00:00:04:15 =
/// 4.5005 s, 00:00:05:15 = 5.5005 s, rounded half up to the ms), 0.0020833h = 7.49988 s.
fn en_expected() -> Vec<Shown> {
    vec![
        shown(500, 1800, "r1", "Ticks & naïve café"),
        shown(1900, 4501, "r1", "“Across” the\n4 s boundary"),
        shown(5501, 7500, "r1", "Frames at 29.97 — 五"),
    ]
}

/// Runs tests/data/ttconv_cues.py on `files`: per file, the paragraphs ttconv shows, each from
/// one significant time to the next (ms), with its region and text.
fn ttconv(files: &[PathBuf]) -> Vec<Vec<Shown>> {
    let python = root().join(".tools/ttconv-venv/bin/python");
    assert!(
        python.exists(),
        "ttconv missing: run scripts/install-ttconv.sh (scripts/test.sh does)"
    );
    let o = Command::new(python)
        .arg(root().join("tests/data/ttconv_cues.py"))
        .args(files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ttconv: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ms = |t: &serde_json::Value| (t.as_f64().unwrap() * 1000.0).round() as u64;
    v.as_array()
        .unwrap()
        .iter()
        .map(|doc| {
            let isd = doc["isd"].as_array().unwrap();
            let last = isd.last().unwrap();
            assert!(
                last["shown"].as_array().unwrap().is_empty(),
                "{}: something is shown for ever",
                doc["file"]
            );
            let mut out = Vec::new();
            for w in isd.windows(2) {
                for p in w[0]["shown"].as_array().unwrap() {
                    out.push((
                        ms(&w[0]["t"]),
                        ms(&w[1]["t"]),
                        p["region"].as_str().unwrap().to_string(),
                        p["text"].as_str().unwrap().to_string(),
                    ));
                }
            }
            out
        })
        .collect()
}

/// Joins pieces of one paragraph shown back to back (ttconv splits at every significant time;
/// segments split at their boundaries).
fn merge(mut v: Vec<Shown>) -> Vec<Shown> {
    v.sort_by(|a, b| (&a.3, a.0).cmp(&(&b.3, b.0)));
    let mut out: Vec<Shown> = Vec::new();
    for s in v {
        match out.last_mut() {
            Some(l) if l.3 == s.3 && l.2 == s.2 && l.1 == s.0 => l.1 = s.1,
            _ => out.push(s),
        }
    }
    out.sort();
    out
}

fn sorted(mut v: Vec<Shown>) -> Vec<Shown> {
    v.sort();
    v
}

#[test]
fn ttconv_reads_the_fixtures_as_written_out_here() {
    let got = ttconv(&[fixture("subs_fr.ttml"), fixture("subs_en_ticks.ttml")]);
    assert_eq!(merge(got[0].clone()), sorted(fr_expected()));
    assert_eq!(merge(got[1].clone()), sorted(en_expected()));
}

/// The `stpp` sample entry of an init segment: (handler, has sthd, namespace, schema_location,
/// auxiliary_mime_types).
fn stpp_entry(init: &[u8]) -> (String, bool, String, String, String) {
    let mdia = ["moov", "trak", "mdia"]
        .iter()
        .fold(init, |d, f| child(d, f));
    let hdlr = child(mdia, "hdlr");
    let handler = String::from_utf8_lossy(&hdlr[8..12]).into_owned();
    let minf = child(mdia, "minf");
    let sthd = boxes(minf).iter().any(|b| b.0 == "sthd");
    let stsd = ["stbl", "stsd"].iter().fold(minf, |d, f| child(d, f));
    let entries = boxes(&stsd[8..]);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "stpp");
    let strings: Vec<String> = entries[0].2[8..]
        .split(|&b| b == 0)
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
        .collect();
    assert_eq!(
        strings.len(),
        4,
        "three NUL-terminated strings: {strings:?}"
    );
    (
        handler,
        sthd,
        strings[0].clone(),
        strings[1].clone(),
        strings[2].clone(),
    )
}

fn package_ttml(out: &Path) {
    package(
        out,
        &[
            "--segment-duration".into(),
            "2".into(),
            fixture("h264_240p.mp4").display().to_string(),
            format!(
                "in={},lang=en,name=English",
                fixture("aac_en.mp4").display()
            ),
            format!(
                "in={},lang=fr,name=Français,id=ttml_fr",
                fixture("subs_fr.ttml").display()
            ),
            format!(
                "in={},lang=en,name=English CC,role=caption,id=ttml_en",
                fixture("subs_en_ticks.ttml").display()
            ),
        ],
    );
}

#[test]
fn stpp_documents_hold_the_source_paragraphs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    package_ttml(&out);
    let bounds: Vec<(u64, u64)> = vec![(0, 2000), (2000, 4000), (4000, 6000), (6000, 8000)];
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for (rid, expected) in [("ttml_fr", fr_expected()), ("ttml_en", en_expected())] {
        let rdir = out.join(rid);
        let init = std::fs::read(rdir.join("init.mp4")).unwrap();
        let (handler, sthd, namespace, schema, aux) = stpp_entry(&init);
        assert_eq!(handler, "subt");
        assert!(sthd, "subtitle media header");
        assert!(
            namespace.starts_with("http://www.w3.org/ns/ttml ")
                && namespace.contains("http://www.w3.org/ns/ttml#styling"),
            "{namespace}"
        );
        assert_eq!((schema.as_str(), aux.as_str()), ("", ""));

        // One sample per segment, lasting the segment, holding one document; ttconv reads each
        // document to the source's paragraphs clipped to the segment.
        let mut files = Vec::new();
        for (n, (s, e)) in bounds.iter().enumerate() {
            let bytes = std::fs::read(rdir.join(format!("seg_{}.m4s", n + 1))).unwrap();
            let (start, samples) = read_segment(&bytes);
            assert_eq!(start, *s, "{rid} segment {} tfdt", n + 1);
            assert_eq!(samples.len(), 1, "{rid} segment {}: one document", n + 1);
            assert_eq!(samples[0].0, e - s, "the sample lasts the segment");
            let text = String::from_utf8(samples[0].1.clone()).unwrap();
            assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
            let f = docs.join(format!("{rid}_{}.ttml", n + 1));
            std::fs::write(&f, &text).unwrap();
            files.push(f);
        }
        let per_doc = ttconv(&files);
        let mut all = Vec::new();
        for (i, pieces) in per_doc.into_iter().enumerate() {
            let (s, e) = bounds[i];
            let want: Vec<Shown> = expected
                .iter()
                .filter(|c| c.0 < e && c.1 > s)
                .map(|c| (c.0.max(s), c.1.min(e), c.2.clone(), c.3.clone()))
                .collect();
            assert_eq!(
                merge(pieces.clone()),
                sorted(want),
                "{rid} segment {}",
                i + 1
            );
            all.extend(pieces);
        }
        assert_eq!(merge(all), sorted(expected.clone()), "{rid}: whole track");

        // HLS: WebVTT segments with the same cues (text escaped for WebVTT).
        let mut cues = Vec::new();
        for n in 1..=bounds.len() {
            let text = std::fs::read_to_string(rdir.join(format!("seg_{n}.vtt"))).unwrap();
            assert!(text.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"));
            for block in text.split("\n\n").skip(1) {
                let mut lines = block.trim_end().lines();
                let timing = lines.next().unwrap();
                let (a, b) = timing.split_once(" --> ").unwrap();
                let ms = |t: &str| {
                    let (hms, f) = t.split_once('.').unwrap();
                    let v: Vec<u64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
                    ((v[0] * 60 + v[1]) * 60 + v[2]) * 1000 + f.parse::<u64>().unwrap()
                };
                let payload = lines.collect::<Vec<_>>().join("\n");
                cues.push((ms(a), ms(b), payload.replace("&amp;", "&")));
            }
        }
        cues.sort();
        cues.dedup();
        let want: Vec<(u64, u64, String)> = sorted(expected)
            .into_iter()
            .map(|c| (c.0, c.1, c.3))
            .collect();
        assert_eq!(cues, want, "{rid}: HLS WebVTT cues");
    }

    // The MPD: schema-valid, each TTML track an application/mp4 stpp.ttml.im1t text set.
    let mpd_path = out.join("manifest.mpd");
    xmllint_mpd(&mpd_path);
    let mpd = dash_mpd_core::parse(&std::fs::read_to_string(&mpd_path).unwrap()).unwrap();
    let texts: Vec<&dash_mpd_core::AdaptationSet> = mpd.periods[0]
        .adaptations
        .iter()
        .filter(|a| a.contentType.as_deref() == Some("text"))
        .collect();
    assert_eq!(texts.len(), 2);
    for (set, lang, rid) in [(texts[0], "fr", "ttml_fr"), (texts[1], "en", "ttml_en")] {
        assert_eq!(set.lang.as_deref(), Some(lang));
        let rep = &set.representations[0];
        assert_eq!(rep.id.as_deref(), Some(rid));
        assert_eq!(rep.codecs.as_deref(), Some("stpp.ttml.im1t"));
        assert_eq!(rep.mimeType.as_deref(), Some("application/mp4"));
    }
    // HLS lists both as WebVTT subtitles.
    let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    for (lang, name) in [("fr", "Français"), ("en", "English CC")] {
        assert!(
            master
                .lines()
                .any(|l| l.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES")
                    && l.contains(&format!("LANGUAGE=\"{lang}\""))
                    && l.contains(&format!("NAME=\"{name}\""))),
            "{master}"
        );
    }
    assert!(!master.contains("stpp"), "HLS gets WebVTT: {master}");
}

#[test]
fn bad_ttml_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let tt =
        r#"<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter""#;
    for (name, text, want) in [
        (
            "mismatched.ttml",
            format!("{tt}>\n<body>\n<div><p begin=\"1s\">x</span></p></div></body></tt>"),
            "line 3: not well-formed XML",
        ),
        (
            "frames.xml",
            format!("{tt} ttp:frameRate=\"25\">\n<body><div>\n<p begin=\"00:00:01:25\" end=\"2s\">x</p></div></body></tt>"),
            "line 3: begin='00:00:01:25': frame 25 does not exist at 25 frames per second",
        ),
        (
            "old.dfxp",
            "<?xml version=\"1.0\"?>\n<tt xmlns=\"http://www.w3.org/2006/10/ttaf1\"></tt>".into(),
            "line 2: the document element is 'tt' in the namespace http://www.w3.org/2006/10/ttaf1",
        ),
        (
            "backwards.ttml",
            format!("{tt}><body><div>\n\n<p begin=\"2s\" end=\"1s\">x</p></div></body></tt>"),
            "line 3: the element ends (00:00:01.000) before it begins (00:00:02.000)",
        ),
    ] {
        crate::subtitles::assert_bad_subtitle_is_refused(dir.path(), name, &text, want);
    }
}
