//! WebVTT/SRT subtitles end to end: the cues read back from the HLS WebVTT segments and from the
//! DASH `wvtt` fMP4 segments equal the source's (ids, times to the millisecond, settings, text),
//! the manifests signal the tracks, the MPD is schema-valid, and ffmpeg/ffprobe read the segments.
//! The readers here are written for the test (WebVTT text blocks; a box walker for ISO/IEC
//! 14496-30 samples), not vodpack's parser.

use crate::common::{fixture, package, run_ok, tools, xmllint_mpd};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cue {
    start: u64,
    end: u64,
    id: String,
    settings: String,
    text: String,
}

fn cue(id: &str, start: u64, end: u64, settings: &str, text: &str) -> Cue {
    Cue {
        start,
        end,
        id: id.into(),
        settings: settings.into(),
        text: text.into(),
    }
}

/// What fixtures/subs_fr.vtt holds (written out by hand, not parsed).
fn vtt_fixture_cues() -> Vec<Cue> {
    vec![
        cue(
            "bienvenue",
            500,
            1800,
            "align:center line:85%",
            "Bienvenue à <b>tous</b> !",
        ),
        cue(
            "traverse-2s",
            1900,
            2600,
            "position:30% align:start",
            "<v Élodie>Ça commence,</v>\n<i>deuxième ligne</i> — déjà.",
        ),
        cue(
            "",
            3000,
            4500,
            "region:bas",
            "<c.jaune>Œuvre d'été</c> &amp; café crème\nà 4 s pile",
        ),
        cue(
            "cinq",
            5000,
            6250,
            "size:50% align:end",
            "Où est la gare ? 日本語も",
        ),
        cue(
            "",
            6500,
            7750,
            "",
            "<00:06.500>Fin<00:07.000> du <u>test</u>.",
        ),
    ]
}

/// What fixtures/subs_fr.srt holds, as WebVTT cue text (`&` escaped).
fn srt_fixture_cues() -> Vec<Cue> {
    vec![
        cue("1", 500, 1800, "", "Bonjour, <i>ceci</i> vient d'un SRT."),
        cue(
            "2",
            3600,
            4400,
            "",
            "Ce sous-titre traverse\nla limite des 4 s &amp; c'est voulu.",
        ),
        cue("3", 6000, 7500, "", "<b>Dernière</b> réplique — fin."),
    ]
}

fn ms(ts: &str) -> u64 {
    let (hms, frac) = ts
        .split_once('.')
        .unwrap_or_else(|| panic!("timestamp {ts}"));
    let parts: Vec<u64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let secs = parts.iter().fold(0, |acc, p| acc * 60 + p);
    secs * 1000 + frac.parse::<u64>().unwrap()
}

/// Cues of a WebVTT text as written by a packager (LF line ends, blank-line separated blocks).
fn read_vtt(text: &str) -> (Vec<String>, Vec<Cue>) {
    let text = text.replace("\r\n", "\n");
    let mut blocks = text.split("\n\n").filter(|b| !b.trim().is_empty());
    let header: Vec<String> = blocks
        .next()
        .expect("header")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(header[0].starts_with("WEBVTT"), "{text}");
    let mut cues = Vec::new();
    for b in blocks {
        let lines: Vec<&str> = b.trim_matches('\n').lines().collect();
        if ["STYLE", "REGION", "NOTE"]
            .iter()
            .any(|k| lines[0].starts_with(k))
        {
            continue;
        }
        let (id, timing, payload) = if lines[0].contains("-->") {
            ("", lines[0], &lines[1..])
        } else {
            (lines[0], lines[1], &lines[2..])
        };
        let mut parts = timing.split_whitespace();
        let start = ms(parts.next().unwrap());
        assert_eq!(parts.next(), Some("-->"), "{timing}");
        let end = ms(parts.next().unwrap());
        let settings: Vec<&str> = parts.collect();
        cues.push(cue(
            id,
            start,
            end,
            &settings.join(" "),
            &payload.join("\n"),
        ));
    }
    (header, cues)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

/// Top-level boxes of `data`: (4CC, whole box, payload).
pub(crate) fn boxes(data: &[u8]) -> Vec<(String, &[u8], &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = be32(&data[pos..]) as usize;
        assert!(
            size >= 8 && pos + size <= data.len(),
            "bad box size at {pos}"
        );
        let fourcc = String::from_utf8_lossy(&data[pos + 4..pos + 8]).into_owned();
        out.push((fourcc, &data[pos..pos + size], &data[pos + 8..pos + size]));
        pos += size;
    }
    assert_eq!(pos, data.len(), "trailing bytes");
    out
}

pub(crate) fn child<'a>(data: &'a [u8], fourcc: &str) -> &'a [u8] {
    boxes(data)
        .into_iter()
        .find(|b| b.0 == fourcc)
        .unwrap_or_else(|| panic!("no {fourcc}"))
        .2
}

/// The vttC text of an init segment's wvtt sample entry.
fn vttc_config(init: &[u8]) -> String {
    let stsd = ["moov", "trak", "mdia", "minf", "stbl", "stsd"]
        .iter()
        .fold(init, |d, f| child(d, f));
    // stsd: version/flags(4) entry_count(4), then the wvtt entry: 6 reserved + 2 dref index.
    assert_eq!(be32(&stsd[4..]), 1);
    let entries = boxes(&stsd[8..]);
    assert_eq!(entries[0].0, "wvtt");
    String::from_utf8(child(&entries[0].2[8..], "vttC").to_vec()).unwrap()
}

/// A wvtt media segment: its tfdt and its samples (duration, bytes).
pub(crate) type WvttSegment = (u64, Vec<(u64, Vec<u8>)>);

/// The tfdt and the samples of one wvtt media segment.
pub(crate) fn read_segment(seg: &[u8]) -> WvttSegment {
    let top = boxes(seg);
    let (_, moof, moof_payload) = top.iter().find(|b| b.0 == "moof").expect("moof").clone();
    let mdat = top.iter().find(|b| b.0 == "mdat").expect("mdat").2;
    let traf = child(moof_payload, "traf");
    let tfdt = child(traf, "tfdt");
    let start = if tfdt[0] == 1 {
        u64::from_be_bytes(tfdt[4..12].try_into().unwrap())
    } else {
        u64::from(be32(&tfdt[4..]))
    };
    let trun = child(traf, "trun");
    let flags = be32(trun) & 0xff_ffff;
    let count = be32(&trun[4..]) as usize;
    let mut pos = 8;
    if flags & 1 != 0 {
        assert_eq!(be32(&trun[pos..]) as usize, moof.len() + 8, "data offset");
        pos += 4;
    }
    if flags & 4 != 0 {
        pos += 4;
    }
    assert!(flags & 0x300 == 0x300, "durations and sizes in trun");
    let mut data = mdat;
    let mut samples = Vec::new();
    for _ in 0..count {
        let d = u64::from(be32(&trun[pos..]));
        let size = be32(&trun[pos + 4..]) as usize;
        pos += 8 + if flags & 0x400 != 0 { 4 } else { 0 } + if flags & 0x800 != 0 { 4 } else { 0 };
        samples.push((d, data[..size].to_vec()));
        data = &data[size..];
    }
    assert!(data.is_empty(), "mdat holds exactly the samples");
    (start, samples)
}

/// Merges wvtt samples back into cues: a cue continues while consecutive samples carry the
/// same vttc (iden, sttg, payl).
fn wvtt_cues(segments: &[WvttSegment]) -> Vec<Cue> {
    let mut open: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    let mut done = Vec::new();
    for (start, samples) in segments {
        let mut t = *start;
        for (d, bytes) in samples {
            let mut here = Vec::new();
            for (fourcc, _, payload) in boxes(bytes) {
                match fourcc.as_str() {
                    "vtte" => assert!(payload.is_empty()),
                    "vttc" => {
                        let mut k = (String::new(), String::new(), String::new());
                        for (f, _, p) in boxes(payload) {
                            let s = String::from_utf8(p.to_vec()).unwrap();
                            match f.as_str() {
                                "iden" => k.0 = s,
                                "sttg" => k.1 = s,
                                "payl" => k.2 = s,
                                other => panic!("unexpected {other} in vttc"),
                            }
                        }
                        here.push(k);
                    }
                    other => panic!("unexpected sample box {other}"),
                }
            }
            for k in &here {
                match open.get_mut(k) {
                    Some(span) if span.1 == t => span.1 = t + d,
                    _ => {
                        if let Some((s, e)) = open.insert(k.clone(), (t, t + d)) {
                            done.push(cue(&k.0, s, e, &k.1, &k.2));
                        }
                    }
                }
            }
            t += d;
        }
    }
    for (k, (s, e)) in open {
        done.push(cue(&k.0, s, e, &k.1, &k.2));
    }
    done.sort();
    done
}

fn sorted(mut v: Vec<Cue>) -> Vec<Cue> {
    v.sort();
    v
}

fn package_with_subtitles(out: &Path, segment_duration: &str) {
    let args: Vec<String> = vec![
        "--segment-duration".into(),
        segment_duration.into(),
        fixture("h264_240p.mp4").display().to_string(),
        fixture("h264_360p.mp4").display().to_string(),
        format!(
            "in={},lang=en,name=English",
            fixture("aac_en.mp4").display()
        ),
        format!(
            "in={},lang=fr,name=Français,id=subs_fr",
            fixture("subs_fr.vtt").display()
        ),
        format!(
            "in={},lang=fr,name=Français SDH,role=caption,id=subs_fr_srt",
            fixture("subs_fr.srt").display()
        ),
    ];
    package(out, &args);
}

#[test]
fn hls_and_dash_cues_equal_the_source() {
    for seg_dur in ["2", "4"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        package_with_subtitles(&out, seg_dur);
        let seg_ms: u64 = seg_dur.parse::<u64>().unwrap() * 1000;
        let bounds: Vec<(u64, u64)> = (0..8000 / seg_ms)
            .map(|i| (i * seg_ms, (i + 1) * seg_ms))
            .collect();

        // HLS master: one SUBTITLES group with both tracks, named by every variant.
        let master = std::fs::read(out.join("master.m3u8")).unwrap();
        let m3u8_rs::Playlist::MasterPlaylist(master) =
            m3u8_rs::parse_playlist_res(&master).unwrap()
        else {
            panic!("not a multivariant playlist")
        };
        let subs: Vec<&m3u8_rs::AlternativeMedia> = master
            .alternatives
            .iter()
            .filter(|a| a.media_type == m3u8_rs::AlternativeMediaType::Subtitles)
            .collect();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].language.as_deref(), Some("fr"));
        assert_eq!(subs[0].name, "Français");
        assert!(subs[0].autoselect && !subs[0].default && !subs[0].forced);
        assert!(subs[1]
            .characteristics
            .as_deref()
            .unwrap()
            .contains("public.accessibility.transcribes-spoken-dialog"));
        assert!(!master.variants.is_empty());
        for v in master.variants.iter().filter(|v| !v.is_i_frame) {
            assert_eq!(v.subtitles.as_deref(), Some(subs[0].group_id.as_str()));
        }

        for (rid, expected, uri) in [
            ("subs_fr", vtt_fixture_cues(), subs[0].uri.clone().unwrap()),
            (
                "subs_fr_srt",
                srt_fixture_cues(),
                subs[1].uri.clone().unwrap(),
            ),
        ] {
            // HLS: each .vtt segment holds exactly the cues overlapping it, with original times.
            let playlist = out.join(&uri);
            let m3u8_rs::Playlist::MediaPlaylist(media) =
                m3u8_rs::parse_playlist_res(&std::fs::read(&playlist).unwrap()).unwrap()
            else {
                panic!("not a media playlist")
            };
            assert_eq!(media.segments.len(), bounds.len(), "{rid}");
            let mut all = Vec::new();
            for (seg, (s, e)) in media.segments.iter().zip(&bounds) {
                assert!((seg.duration - (e - s) as f32 / 1000.0).abs() < 1e-6);
                let path = playlist.parent().unwrap().join(&seg.uri);
                let text = std::fs::read_to_string(&path).unwrap();
                let (header, cues) = read_vtt(&text);
                assert!(
                    header
                        .iter()
                        .any(|l| l == "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"),
                    "{text}"
                );
                let want: Vec<Cue> = expected
                    .iter()
                    .filter(|c| c.start < *e && c.end > *s)
                    .cloned()
                    .collect();
                assert_eq!(cues, want, "{rid} {} ({s}..{e} ms)", seg.uri);
                // ffmpeg's WebVTT demuxer reads the segment to the same cue times and text.
                let conv = run_ok(
                    Command::new(&tools().ffmpeg)
                        .args(["-v", "error", "-i"])
                        .arg(&path)
                        .args(["-c", "copy", "-f", "webvtt", "-"]),
                );
                let (_, ff) = read_vtt(&String::from_utf8(conv.stdout).unwrap());
                let key = |c: &Cue| (c.start, c.end, c.text.clone());
                assert_eq!(
                    ff.iter().map(key).collect::<Vec<_>>(),
                    want.iter().map(key).collect::<Vec<_>>(),
                    "ffmpeg reading {}",
                    path.display()
                );
                all.extend(cues);
            }
            all.sort();
            all.dedup();
            assert_eq!(all, sorted(expected.clone()), "{rid}: HLS cues");

            // DASH: wvtt segments on the video boundaries; merged samples give the source cues.
            let rdir = out.join(rid);
            let init = std::fs::read(rdir.join("init.mp4")).unwrap();
            let config = vttc_config(&init);
            assert!(config.starts_with("WEBVTT"), "{config}");
            if rid == "subs_fr" {
                assert!(
                    config.contains("STYLE\n::cue(.jaune)") && config.contains("REGION\nid:bas"),
                    "{config}"
                );
            }
            let mut segs = Vec::new();
            for (n, (s, e)) in bounds.iter().enumerate() {
                let bytes = std::fs::read(rdir.join(format!("seg_{}.m4s", n + 1))).unwrap();
                let (start, samples) = read_segment(&bytes);
                assert_eq!(start, *s, "{rid} segment {} tfdt", n + 1);
                assert_eq!(
                    samples.iter().map(|x| x.0).sum::<u64>(),
                    e - s,
                    "samples tile the segment"
                );
                segs.push((start, samples));
            }
            assert_eq!(
                wvtt_cues(&segs),
                sorted(expected.clone()),
                "{rid}: DASH cues"
            );

            // ffprobe reads the CMAF track: a wvtt stream whose packets tile 0..8 s in ms.
            let joined = dir.path().join(format!("{rid}.mp4"));
            let mut bytes = init.clone();
            for n in 1..=bounds.len() {
                bytes.extend(std::fs::read(rdir.join(format!("seg_{n}.m4s"))).unwrap());
            }
            std::fs::write(&joined, bytes).unwrap();
            let probe = run_ok(
                Command::new(&tools().ffprobe)
                    .args([
                        "-v",
                        "error",
                        "-show_entries",
                        "stream=codec_tag_string,time_base:packet=pts,duration",
                        "-of",
                        "csv=p=0",
                    ])
                    .arg(&joined),
            );
            let probe = String::from_utf8(probe.stdout).unwrap();
            let (streams, lines): (Vec<&str>, Vec<&str>) =
                probe.lines().partition(|l| l.contains("wvtt"));
            assert_eq!(streams, vec!["wvtt,1/1000"], "{probe}");
            let mut t = 0;
            for l in &lines {
                let (pts, d) = l.split_once(',').unwrap();
                assert_eq!(pts.parse::<u64>().unwrap(), t, "{probe}");
                t += d.parse::<u64>().unwrap();
            }
            assert_eq!(t, 8000);
            assert_eq!(lines.len(), segs.iter().map(|s| s.1.len()).sum::<usize>());
        }

        // The MPD: schema-valid; a text AdaptationSet per track with lang, Role and wvtt.
        let mpd_path = out.join("manifest.mpd");
        xmllint_mpd(&mpd_path);
        let mpd = dash_mpd_core::parse(&std::fs::read_to_string(&mpd_path).unwrap()).unwrap();
        let texts: Vec<&dash_mpd_core::AdaptationSet> = mpd.periods[0]
            .adaptations
            .iter()
            .filter(|a| a.contentType.as_deref() == Some("text"))
            .collect();
        assert_eq!(texts.len(), 2);
        for (set, role, rid) in [
            (texts[0], "subtitle", "subs_fr"),
            (texts[1], "caption", "subs_fr_srt"),
        ] {
            assert_eq!(set.lang.as_deref(), Some("fr"));
            assert_eq!(
                set.Role
                    .iter()
                    .map(|r| r.value.clone().unwrap())
                    .collect::<Vec<_>>(),
                vec![role.to_string()]
            );
            let rep = &set.representations[0];
            assert_eq!(rep.id.as_deref(), Some(rid));
            assert_eq!(rep.codecs.as_deref(), Some("wvtt"));
            assert_eq!(rep.mimeType.as_deref(), Some("application/mp4"));
            let st = rep.SegmentTemplate.as_ref().unwrap();
            assert_eq!(st.timescale, Some(1000));
            let mut t = 0;
            let mut got = Vec::new();
            for s in &st.SegmentTimeline.as_ref().unwrap().segments {
                t = s.t.unwrap_or(t);
                for _ in 0..=s.r.unwrap_or(0) {
                    got.push((t, t + s.d));
                    t += s.d;
                }
            }
            assert_eq!(got, bounds);
        }
    }
}

#[test]
fn bad_subtitle_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, line) in [
        ("no_header.vtt", "00:00.000 --> 00:01.000\nx\n", "line 1"),
        (
            "backwards.vtt",
            "WEBVTT\n\n00:02.000 --> 00:01.000\nx\n",
            "line 3",
        ),
        (
            "bad_time.vtt",
            "WEBVTT\n\nid\n00:00.0 --> 00:01.000\nx\n",
            "line 4",
        ),
        ("bad.srt", "1\n00:00:01,000 --> 00:00:00,500\nx\n", "line 2"),
    ] {
        assert_bad_subtitle_is_refused(dir.path(), name, text, line);
    }
}

/// Packages a 240p video with the subtitle file `name` holding `text`: exit 3, the message
/// names the file and says `want` (its line and what is wrong), no panic, nothing written.
pub fn assert_bad_subtitle_is_refused(dir: &Path, name: &str, text: &str, want: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    let o = crate::common::vodpack()
        .args(["package", "--quiet", "-o"])
        .arg(&out)
        .arg(fixture("h264_240p.mp4"))
        .arg(format!("in={},lang=fr", path.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{name}: {err}");
    assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "{name}: no output on error");
}

/// The subtitle fuzz seeds (fixtures and crashes found by `cargo fuzz run subtitle`), and every
/// truncation of them, parse or fail cleanly: no panic.
#[test]
fn subtitle_parsers_survive_the_fuzz_seeds() {
    let dir = crate::common::root().join("fuzz/seeds/subtitle");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        for end in 0..=bytes.len() {
            let _ = vodpack::subtitle::vtt::parse(&bytes[..end]);
            let _ = vodpack::subtitle::srt::parse(&bytes[..end]);
        }
        n += 1;
    }
    assert!(
        n >= 3,
        "fuzz/seeds/subtitle holds the fixtures and the crash seeds"
    );
}
