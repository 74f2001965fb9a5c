//! The DASH MPD written from a realistic ladder model: parsed back with dash-mpd-core (nobody
//! here wrote it) and compared with the model, and validated against the MPEG schema with
//! xmllint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::manifest_support::*;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use vodpack::manifest::dash::mpd;
use vodpack::manifest::hls::multivariant_playlist;
use vodpack::manifest::model::*;
use vodpack::media::time::{PresentationTime, TickDuration};
use vodpack::media::TrackKind;

fn parse(name: &str, text: &str) -> dash_mpd_core::MPD {
    dash_mpd_core::parse(text).unwrap_or_else(|e| panic!("{name}: dash-mpd-core: {e:?}\n{text}"))
}

fn uuid(kid: &[u8; 16]) -> String {
    let h = hex::encode(kid);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A FrameRateType value as (num, den) in lowest terms.
fn rational(s: &str) -> (u64, u64) {
    let (n, d): (u64, u64) = s.split_once('/').map_or_else(
        || (s.parse().unwrap(), 1),
        |(n, d)| (n.parse().unwrap(), d.parse().unwrap()),
    );
    let g = (1..=n.min(d))
        .rev()
        .find(|g| n % g == 0 && d % g == 0)
        .unwrap_or(1);
    (n / g, d / g)
}

/// Expands a SegmentTimeline per ISO/IEC 23009-1 §5.3.9.6 into (start, duration) pairs.
fn expand(timeline: &dash_mpd_core::SegmentTimeline) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut t = 0u64;
    for s in &timeline.segments {
        if let Some(start) = s.t {
            t = start;
        }
        let repeat = s.r.unwrap_or(0);
        assert!(repeat >= 0, "negative r is only for open-ended timelines");
        for _ in 0..=repeat {
            out.push((t, s.d));
            t += s.d;
        }
    }
    out
}

fn family(codec: &str) -> &str {
    &codec[..4]
}

#[test]
fn mpd_matches_the_model_in_dash_mpd_core() {
    for (name, asset) in all_ladders() {
        let text = mpd(&asset);
        let m = parse(&name, &text);
        assert_eq!(m.mpdtype.as_deref(), Some("static"), "{name}");
        let profiles = m.profiles.clone().unwrap();
        let single = matches!(asset.renditions[0].layout, SegmentLayout::SingleFile { .. });
        let expected_profile = if single {
            "urn:mpeg:dash:profile:isoff-on-demand:2011"
        } else {
            "urn:mpeg:dash:profile:isoff-live:2011"
        };
        assert!(
            profiles.split(',').any(|p| p == expected_profile),
            "{name}: {profiles}"
        );
        assert!(
            profiles
                .split(',')
                .any(|p| p == "urn:mpeg:dash:profile:cmaf:2019"),
            "{name}: {profiles}"
        );
        assert_eq!(
            m.mediaPresentationDuration,
            Some(Duration::from_millis(30_500)),
            "{name}"
        );
        let longest = asset
            .renditions
            .iter()
            .flat_map(|r| {
                r.segments
                    .iter()
                    .map(move |s| secs(s.duration.0, r.timescale))
            })
            .fold(0.0, f64::max);
        let mbt = m.minBufferTime.unwrap().as_secs_f64();
        assert!(
            mbt >= longest - 0.001,
            "{name}: minBufferTime {mbt} < longest segment {longest}"
        );
        assert_eq!(m.periods.len(), 1, "{name}");

        let sets = &m.periods[0].adaptations;
        let mut seen = BTreeSet::new();
        for set in sets {
            let reps: Vec<&PackagedRendition> = set
                .representations
                .iter()
                .map(|rep| {
                    let id = rep.id.clone().unwrap();
                    assert!(
                        seen.insert(id.clone()),
                        "{name}: Representation {id} appears twice"
                    );
                    asset
                        .renditions
                        .iter()
                        .find(|r| r.id == id)
                        .unwrap_or_else(|| panic!("{name}: unknown {id}"))
                })
                .collect();
            let kind = reps[0].kind;
            let content_type = set.contentType.as_deref().unwrap();
            assert_eq!(
                content_type,
                if kind == TrackKind::Video {
                    "video"
                } else {
                    "audio"
                },
                "{name}"
            );
            assert!(
                reps.iter().all(|r| r.kind == kind),
                "{name}: one content type per AdaptationSet"
            );
            // One codec family per set (AVC and HEVC apart); audio: one language per set.
            let families: BTreeSet<&str> = reps.iter().map(|r| family(&r.codec_string)).collect();
            assert_eq!(
                families.len(),
                1,
                "{name}: mixed codec families {families:?}"
            );
            assert_eq!(set.segmentAlignment, Some(true), "{name}");
            assert_eq!(set.startWithSAP, Some(1), "{name}");
            if kind == TrackKind::Audio {
                assert_eq!(set.lang, reps[0].language, "{name}");
                assert!(reps.iter().all(|r| r.language == reps[0].language));
                let labels: Vec<&str> = set.Label.iter().map(|l| l.content.as_str()).collect();
                assert_eq!(labels, vec![reps[0].name.as_deref().unwrap()], "{name}");
                let roles: Vec<&str> = set
                    .Role
                    .iter()
                    .map(|r| r.value.as_deref().unwrap())
                    .collect();
                assert_eq!(
                    roles,
                    reps[0].roles.iter().map(String::as_str).collect::<Vec<_>>(),
                    "{name}"
                );
                assert!(set
                    .Role
                    .iter()
                    .all(|r| r.schemeIdUri == "urn:mpeg:dash:role:2011"));
            } else {
                let max_w = reps.iter().filter_map(|r| r.width).max().unwrap();
                let max_h = reps.iter().filter_map(|r| r.height).max().unwrap();
                assert_eq!(
                    (set.maxWidth, set.maxHeight),
                    (Some(u64::from(max_w)), Some(u64::from(max_h))),
                    "{name}"
                );
                assert_eq!(
                    set.maxFrameRate.as_deref().map(rational),
                    Some((30, 1)),
                    "{name}"
                );
                if let Some(par) = &set.par {
                    let (w, h) = (reps[0].width.unwrap(), reps[0].height.unwrap());
                    let (pw, ph) = par
                        .split_once(':')
                        .map(|(a, b)| (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()))
                        .unwrap();
                    assert_eq!(w * ph, h * pw, "{name}: par {par} vs {w}x{h}");
                }
            }

            for (rep, r) in set.representations.iter().zip(&reps) {
                assert_eq!(rep.bandwidth, Some(r.peak_bandwidth), "{name} {}", r.id);
                assert_eq!(
                    rep.codecs.as_deref(),
                    Some(r.codec_string.as_str()),
                    "{name}"
                );
                let mime = if kind == TrackKind::Video {
                    "video/mp4"
                } else {
                    "audio/mp4"
                };
                assert_eq!(rep.mimeType.as_deref(), Some(mime), "{name}");
                assert_eq!(rep.width, r.width.map(u64::from), "{name}");
                assert_eq!(rep.height, r.height.map(u64::from), "{name}");
                assert_eq!(
                    rep.frameRate.as_deref().map(rational),
                    r.frame_rate.map(|(n, d)| rational(&format!("{n}/{d}"))),
                    "{name}"
                );
                assert_eq!(rep.sar, r.sar.map(|(h, v)| format!("{h}:{v}")), "{name}");
                assert_eq!(
                    rep.audioSamplingRate,
                    r.sample_rate.map(|s| s.to_string()),
                    "{name}"
                );
                let channels: Vec<(&str, Option<&str>)> = rep
                    .AudioChannelConfiguration
                    .iter()
                    .map(|c| (c.schemeIdUri.as_str(), c.value.as_deref()))
                    .collect();
                match r.channels {
                    Some(ch) => assert_eq!(
                        channels,
                        vec![(
                            "urn:mpeg:dash:23003:3:audio_channel_configuration:2011",
                            Some(ch.to_string().as_str())
                        )]
                    ),
                    None => assert!(channels.is_empty()),
                }
                check_addressing(&name, &asset, rep, r);
            }
            check_protection(&name, &asset, set, &reps);
        }
        assert_eq!(
            seen.len(),
            asset.renditions.len(),
            "{name}: every rendition is in the MPD"
        );
        check_switching(&name, sets, &asset);
    }
}

/// SegmentTemplate/SegmentTimeline or BaseURL/SegmentBase against the segments of the model.
fn check_addressing(
    name: &str,
    asset: &PackagedAsset,
    rep: &dash_mpd_core::Representation,
    r: &PackagedRendition,
) {
    match &r.layout {
        SegmentLayout::Files { start_number, .. } => {
            let st = rep.SegmentTemplate.as_ref().expect("SegmentTemplate");
            assert_eq!(st.timescale, Some(u64::from(r.timescale)), "{name}");
            assert_eq!(st.startNumber, Some(*start_number), "{name}");
            assert_eq!(
                resolve(&asset.dash_mpd, st.initialization.as_deref().unwrap()),
                r.init_path,
                "{name}"
            );
            let media = st.media.as_deref().unwrap();
            let timeline = expand(st.SegmentTimeline.as_ref().expect("SegmentTimeline"));
            assert_eq!(timeline.len(), r.segments.len(), "{name} {}", r.id);
            for (i, ((t, d), s)) in timeline.iter().zip(&r.segments).enumerate() {
                assert_eq!(
                    (*t, *d),
                    (u64::try_from(s.start.0).unwrap(), s.duration.0),
                    "{name} {} segment {i}: exact timing",
                    r.id
                );
                let number = start_number + i as u64;
                assert_eq!(number, s.number);
                let uri = media.replace("$Number$", &number.to_string());
                assert_eq!(resolve(&asset.dash_mpd, &uri), s.path, "{name}");
            }
            let total: u64 = timeline.iter().map(|(_, d)| d).sum();
            assert!(
                (secs(total, r.timescale) - DURATION).abs() < 0.03,
                "{name}: durations sum"
            );
        }
        SegmentLayout::SingleFile {
            init_range,
            index_range,
        } => {
            assert_eq!(rep.BaseURL.len(), 1, "{name}");
            assert_eq!(
                resolve(&asset.dash_mpd, &rep.BaseURL[0].base),
                r.init_path,
                "{name}"
            );
            let sb = rep.SegmentBase.as_ref().expect("SegmentBase");
            assert_eq!(sb.timescale, Some(u64::from(r.timescale)));
            assert_eq!(
                sb.indexRange,
                Some(format!("{}-{}", index_range.0, index_range.1)),
                "{name}"
            );
            let init = sb.Initialization.as_ref().expect("Initialization");
            assert_eq!(
                init.range,
                Some(format!("{}-{}", init_range.0, init_range.1)),
                "{name}"
            );
            // The sidx sits between the init segment and the first fragment.
            assert_eq!(index_range.0, init_range.1 + 1);
            assert_eq!(r.segments[0].offset, index_range.1 + 1);
        }
    }
}

fn check_protection(
    name: &str,
    asset: &PackagedAsset,
    set: &dash_mpd_core::AdaptationSet,
    reps: &[&PackagedRendition],
) {
    let cps = &set.ContentProtection;
    let Some(p) = &reps[0].protection else {
        assert!(cps.is_empty(), "{name}: clear set with ContentProtection");
        return;
    };
    assert!(
        reps.iter()
            .all(|r| r.protection.as_ref().map(|q| q.default_kid) == Some(p.default_kid)),
        "{name}: one KID per set"
    );
    let scheme = asset.protection.as_ref().unwrap().scheme.clone();
    let by_scheme: BTreeMap<&str, &dash_mpd_core::ContentProtection> =
        cps.iter().map(|c| (c.schemeIdUri.as_str(), c)).collect();
    assert_eq!(
        by_scheme.len(),
        cps.len(),
        "{name}: one ContentProtection per scheme"
    );
    let mp4 = by_scheme["urn:mpeg:dash:mp4protection:2011"];
    assert_eq!(mp4.value.as_deref(), Some(scheme.as_str()), "{name}");
    assert_eq!(
        mp4.default_KID.as_deref(),
        Some(uuid(&p.default_kid).as_str()),
        "{name}"
    );
    let pssh_of = |system: DrmSystem| {
        p.drm
            .iter()
            .find(|d| d.system == system)
            .unwrap()
            .pssh
            .clone()
            .unwrap()
    };
    let pssh_in = |cp: &dash_mpd_core::ContentProtection| -> Vec<u8> {
        assert_eq!(cp.cenc_pssh.len(), 1, "{name}: one cenc:pssh");
        BASE64
            .decode(cp.cenc_pssh[0].content.as_deref().unwrap().trim())
            .unwrap()
    };
    let clearkey = by_scheme["urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"];
    assert_eq!(clearkey.value.as_deref(), Some("ClearKey1.0"));
    // The Clear Key element carries the licence URL only (its key id is cenc:default_KID); the
    // common-system pssh is in the init segments only: dash.js takes any Clear Key element's
    // pssh as "keyids" initData and fails (docs/drm-signalling.md).
    assert!(
        clearkey.cenc_pssh.is_empty(),
        "{name}: no cenc:pssh in the Clear Key element"
    );
    let url = asset
        .protection
        .as_ref()
        .unwrap()
        .clearkey_license_url
        .as_deref();
    let laurl = clearkey
        .laurl
        .as_ref()
        .or(clearkey.clearkey_laurl.as_ref())
        .and_then(|l| l.content.as_deref());
    assert_eq!(laurl, url, "{name}: Clear Key licence URL");
    assert!(
        !by_scheme.contains_key("urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"),
        "{name}: no common-system element"
    );
    assert_eq!(
        pssh_in(by_scheme["urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"]),
        pssh_of(DrmSystem::Widevine)
    );
    let playready = by_scheme["urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95"];
    assert_eq!(pssh_in(playready), pssh_of(DrmSystem::PlayReady), "{name}");
    let pro = BASE64
        .decode(
            playready
                .msprpro
                .as_ref()
                .unwrap()
                .content
                .as_deref()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        pro,
        playready_object(&p.default_kid),
        "{name}: mspr:pro is the PlayReady Object"
    );
    // FairPlay has no DASH signalling.
    assert!(!by_scheme.contains_key("urn:uuid:94ce86fb-07ff-4f43-adb8-93d2fa968ca2"));
    assert_eq!(cps.len(), 4, "{name}");
}

/// Video AdaptationSets of one codec family that differ by key list each other as switchable.
fn check_switching(name: &str, sets: &[dash_mpd_core::AdaptationSet], asset: &PackagedAsset) {
    let rendition = |id: &str| asset.renditions.iter().find(|r| r.id == id).unwrap();
    let video: Vec<(&str, &str)> = sets
        .iter()
        .filter(|s| s.contentType.as_deref() == Some("video"))
        .map(|s| {
            (
                s.id.as_deref().unwrap(),
                family(&rendition(s.representations[0].id.as_deref().unwrap()).codec_string),
            )
        })
        .collect();
    for set in sets
        .iter()
        .filter(|s| s.contentType.as_deref() == Some("video"))
    {
        let id = set.id.as_deref().unwrap();
        let fam = video.iter().find(|(i, _)| *i == id).unwrap().1;
        let expected: BTreeSet<&str> = video
            .iter()
            .filter(|(i, f)| *i != id && *f == fam)
            .map(|(i, _)| *i)
            .collect();
        let listed: BTreeSet<&str> = set
            .supplemental_property
            .iter()
            .filter(|p| p.schemeIdUri == "urn:mpeg:dash:adaptation-set-switching:2016")
            .flat_map(|p| p.value.as_deref().unwrap().split(','))
            .collect();
        assert_eq!(listed, expected, "{name}: set {id}");
    }
}

#[test]
fn keys_split_adaptation_sets_and_clear_assets_keep_one_per_family() {
    let clear = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Clear,
        hevc: true,
    });
    let m = parse("clear", &mpd(&clear));
    let video_sets = m.periods[0]
        .adaptations
        .iter()
        .filter(|s| s.contentType.as_deref() == Some("video"))
        .count();
    assert_eq!(video_sets, 2, "clear: one AVC set, one HEVC set");
    let cenc = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Cenc,
        hevc: true,
    });
    let m = parse("cenc", &mpd(&cenc));
    let video_sets = m.periods[0]
        .adaptations
        .iter()
        .filter(|s| s.contentType.as_deref() == Some("video"))
        .count();
    assert_eq!(video_sets, 3, "cenc: AVC HD key, AVC SD key, HEVC");
}

#[test]
fn timeline_folds_repeats_exactly() {
    let asset = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Clear,
        hevc: false,
    });
    let video = &asset.renditions[0];
    let entries = vodpack::manifest::dash::timeline(video);
    // Seven 4 s segments then one of 2.5 s: two S elements.
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        (entries[0].t, entries[0].d, entries[0].r),
        (Some(PresentationTime(0)), TickDuration(4 * 15_360), 6)
    );
    assert_eq!(
        (entries[1].t, entries[1].d, entries[1].r),
        (None, TickDuration(38_400), 0)
    );
    // A gap forces an explicit t.
    let mut gapped = video.clone();
    gapped.segments[3].start = gapped.segments[3]
        .start
        .checked_add(TickDuration(10))
        .unwrap();
    let entries = vodpack::manifest::dash::timeline(&gapped);
    assert!(
        entries
            .iter()
            .any(|e| e.t == Some(gapped.segments[3].start)),
        "{entries:?}"
    );
}

#[test]
fn dash_and_hls_describe_the_same_renditions() {
    for (name, asset) in all_ladders() {
        let m = parse(&name, &mpd(&asset));
        let hls = multivariant_playlist(&asset);
        for set in &m.periods[0].adaptations {
            for rep in &set.representations {
                let r = asset
                    .renditions
                    .iter()
                    .find(|r| Some(&r.id) == rep.id.as_ref())
                    .unwrap();
                assert!(
                    hls.contains(&r.codec_string),
                    "{name}: {} missing from HLS CODECS",
                    r.codec_string
                );
                assert!(
                    hls.contains(&r.hls_playlist),
                    "{name}: {} missing from HLS",
                    r.id
                );
            }
        }
    }
}

// ---- schema validation with xmllint ------------------------------------------------------------

fn schema() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/schemas/dash/DASH-MPD.xsd");
    assert!(
        path.exists(),
        "DASH schema not found at {} (it is committed under tests/data/schemas)",
        path.display()
    );
    path
}

/// Runs xmllint on `text`; Ok on valid, Err with xmllint's message otherwise.
fn xmllint(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifest.mpd");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!(
            "xmllint could not be run ({e}): install it with the README's test command (Debian package libxml2-utils)"
        ),
    };
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn every_mpd_validates_against_the_mpeg_schema() {
    for (name, asset) in all_ladders() {
        let text = mpd(&asset);
        if let Err(e) = xmllint(&text) {
            panic!("{name}: MPD does not validate:\n{e}\n{text}");
        }
    }
}

#[test]
fn xmllint_rejects_an_invalid_mpd() {
    // Proves the validation above can fail: a Representation without bandwidth, or with a Role
    // element (allowed only on AdaptationSet), is invalid.
    let asset = ladder(Options {
        layout: Layout::Files,
        protection: Protection::Cenc,
        hevc: false,
    });
    let text = mpd(&asset);
    let broken = text.replacen(" bandwidth=\"", " bandwidthX=\"", 1);
    assert!(
        xmllint(&broken).is_err(),
        "xmllint accepted a Representation without bandwidth"
    );
    let broken = text.replacen(
        "<SegmentTemplate",
        "<Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"main\"/><SegmentTemplate",
        1,
    );
    assert!(
        xmllint(&broken).is_err(),
        "xmllint accepted a Role inside a Representation"
    );
}
