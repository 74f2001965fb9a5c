//! Subtitle renditions in a packaging run: which inputs are subtitle files, reading them before
//! anything is written, and writing each one's HLS WebVTT segments and DASH segments (`wvtt`, or
//! `stpp` for TTML inputs) on the segment boundaries of the packaged video.
use super::segment::{config_text, cues_in, hls_segment};
use super::ttml::{self, TtmlDoc};
use super::{srt, stpp, vtt, wvtt, SubtitleDoc};
use crate::error::{Error, Result};
use crate::manifest::model::{PackagedAsset, PackagedRendition, SegmentLayout, SegmentRecord};
use crate::media::time::{PresentationTime, TickDuration};
use crate::media::{Track, TrackKind};
use crate::package::job::{InputSpec, PackageJob};
use crate::segment::init::{write_init, InitOptions};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A subtitle input, read and parsed.
#[derive(Debug, Clone)]
pub struct SubtitleSource {
    /// The input as given (lang, name, role…).
    pub spec: InputSpec,
    /// The subtitle file.
    pub path: PathBuf,
    /// Its cues (WebVTT and SRT inputs; empty for TTML).
    pub doc: SubtitleDoc,
    /// The TTML document (TTML inputs).
    pub ttml: Option<TtmlDoc>,
}

/// The subtitle formats vodpack reads, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    /// WebVTT (`.vtt`, `.webvtt`).
    WebVtt,
    /// SubRip (`.srt`).
    Srt,
    /// TTML / IMSC1 (`.ttml`, `.xml`, `.dfxp`).
    Ttml,
}

/// `.vtt`/`.webvtt` → WebVTT, `.srt` → SRT, `.ttml`/`.xml`/`.dfxp` → TTML (case-insensitive),
/// anything else → not a subtitle.
pub fn format_of(path: &Path) -> Option<SubtitleFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "vtt" | "webvtt" => Some(SubtitleFormat::WebVtt),
        "srt" => Some(SubtitleFormat::Srt),
        "ttml" | "xml" | "dfxp" => Some(SubtitleFormat::Ttml),
        _ => None,
    }
}

/// Splits the job's inputs: a copy of the job holding only the audio/video inputs, and the
/// subtitle inputs, read and parsed (a bad file stops the run before any output exists).
pub fn load(job: &PackageJob) -> Result<(PackageJob, Vec<SubtitleSource>)> {
    let mut media = job.clone();
    media.inputs.clear();
    let mut subs = Vec::new();
    for spec in &job.inputs {
        let (path, selector) = spec.path_and_selector()?;
        let Some(format) = format_of(&path) else {
            media.inputs.push(spec.clone());
            continue;
        };
        if selector != crate::media::input::TrackSelector::All {
            return Err(Error::Usage(format!(
                "input '{}': a subtitle file has one track; no '#' selector",
                spec.input
            )));
        }
        let (doc, ttml) = match format {
            SubtitleFormat::WebVtt => (vtt::parse_file(&path)?, None),
            SubtitleFormat::Srt => (srt::parse_file(&path)?, None),
            SubtitleFormat::Ttml => (
                SubtitleDoc::default(),
                Some(super::error::read_with(&path, ttml::parse)?),
            ),
        };
        subs.push(SubtitleSource {
            spec: spec.clone(),
            path,
            doc,
            ttml,
        });
    }
    if media.inputs.is_empty() && !subs.is_empty() {
        return Err(Error::Usage(
            "subtitles need at least one video or audio input to be segmented with".into(),
        ));
    }
    Ok((media, subs))
}

/// Segment boundaries in ms from the first video rendition (else the first rendition): every
/// segment start, then the end of the last one. Ticks are converted with rounding to the nearest
/// ms (exact for the usual timescales: 90 kHz, 1 kHz, 12.8 kHz, 15360, 48 kHz at 2 s GOPs).
pub fn boundaries_ms(asset: &PackagedAsset) -> Vec<u64> {
    let Some(r) = asset
        .renditions
        .iter()
        .find(|r| r.kind == TrackKind::Video)
        .or_else(|| asset.renditions.first())
    else {
        return Vec::new();
    };
    let ts = u128::from(r.timescale.max(1));
    let ms = |t: u64| u64::try_from((u128::from(t) * 1000 + ts / 2) / ts).unwrap_or(u64::MAX);
    let mut b: Vec<u64> = r
        .segments
        .iter()
        .map(|s| ms(s.start.clamp_non_negative()))
        .collect();
    if let Some(last) = r.segments.last() {
        // An end past the 64-bit range saturates, as `ms` does.
        let end = last.start.checked_add(last.duration);
        b.push(end.map_or(u64::MAX, |t| ms(t.clamp_non_negative())));
    }
    b.dedup();
    b
}

/// Writes every subtitle rendition into `root` (the staged output) and returns their model
/// records (to append to the asset) and warnings (cues outside the presentation).
pub fn write_all(
    subs: &[SubtitleSource],
    asset: &PackagedAsset,
    root: &Path,
) -> Result<(Vec<PackagedRendition>, Vec<String>)> {
    let bounds = boundaries_ms(asset);
    let mut used: Vec<String> = asset.renditions.iter().map(|r| r.id.clone()).collect();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for s in subs {
        let base = s.spec.id.clone().unwrap_or_else(|| {
            format!(
                "text_{}",
                s.spec.lang.clone().unwrap_or_else(|| "und".into())
            )
        });
        let mut id = base.clone();
        let mut n = 2;
        while used.contains(&id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        used.push(id.clone());
        let (r, w) = write_one(s, &id, &bounds, root)?;
        out.push(r);
        warnings.extend(w);
    }
    Ok((out, warnings))
}

fn write_one(
    s: &SubtitleSource,
    id: &str,
    bounds: &[u64],
    root: &Path,
) -> Result<(PackagedRendition, Vec<String>)> {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))
    };
    let mut warnings = Vec::new();
    let (first, last) = (
        bounds.first().copied().unwrap_or(0),
        bounds.last().copied().unwrap_or(0),
    );
    // TTML inputs are listed to HLS as WebVTT (docs/subtitles.md says why).
    let vtt_doc: Cow<SubtitleDoc> = match &s.ttml {
        Some(t) => Cow::Owned(t.to_webvtt(last)),
        None => Cow::Borrowed(&s.doc),
    };
    let outside = vtt_doc
        .cues
        .iter()
        .filter(|c| c.end <= first || c.start >= last)
        .count();
    if outside > 0 {
        warnings.push(format!(
            "{}: {outside} cue(s) lie outside the presentation ({} to {}) and are left out",
            s.path.display(),
            super::format_timestamp(first),
            super::format_timestamp(last)
        ));
    }

    let track = Track {
        id: 1,
        kind: TrackKind::Text,
        // ISO/IEC 14496-30: WebVTT tracks are `text` (§7.2), TTML tracks `subt` (§5.2).
        handler: if s.ttml.is_some() { *b"subt" } else { *b"text" },
        timescale: wvtt::TIMESCALE,
        duration: TickDuration(last - first),
        language: iso639_2(s.spec.lang.as_deref()),
        tkhd_width: 0,
        tkhd_height: 0,
        sample_entry: Vec::new(),
        edit_media_time: None,
        samples: Default::default(),
    };
    let label = s.spec.name.clone().unwrap_or_default();
    let init = write_init(
        &track,
        &InitOptions {
            sample_entry: match &s.ttml {
                Some(t) => stpp::sample_entry(&t.namespaces),
                None => wvtt::sample_entry(&config_text(&s.doc), &label),
            },
            ..Default::default()
        },
        0,
        0,
    );
    write("init.mp4", &init)?;

    let mut segments = Vec::new();
    let mut hls_segments = Vec::new();
    let (mut peak, mut total_bytes) = (0u64, 0u64);
    for (i, w) in bounds.windows(2).enumerate() {
        let (start, end) = (w[0], w[1]);
        let number = i as u64 + 1;
        let cues = cues_in(&vtt_doc.cues, start, end);
        let duration = end - start;
        if duration > u64::from(u32::MAX) {
            return Err(Error::invalid(
                &s.path,
                "a segment longer than 49 days cannot be written",
            ));
        }
        let samples = match &s.ttml {
            // One sample, the whole IMSC1 document of the segment (ISO/IEC 14496-30 §5.9).
            Some(t) => {
                let ps = ttml::write::paragraphs_in(t, start, end);
                vec![(
                    duration,
                    ttml::write::segment_document(t, &ps, start, end).into_bytes(),
                )]
            }
            None => wvtt::segment_samples(&cues, start, end),
        };
        let seg = wvtt::media_segment(1, number as u32, start, &samples)
            .map_err(|e| Error::invalid(&s.path, format!("segment {number}: {e}")))?;
        let name = format!("seg_{number}.m4s");
        write(&name, &seg)?;
        let text = hls_segment(&vtt_doc, &cues);
        let vtt_name = format!("seg_{number}.vtt");
        write(&vtt_name, text.as_bytes())?;
        peak = peak.max(
            (seg.len() as u64 * 8 * 1000)
                .checked_div(duration)
                .unwrap_or(0),
        );
        total_bytes += seg.len() as u64;
        let record_start = PresentationTime::checked_from_ticks(start)
            .map_err(|e| Error::invalid(&s.path, format!("segment {number}: {e}")))?;
        segments.push(SegmentRecord {
            number,
            start: record_start,
            duration: TickDuration(duration),
            size: seg.len() as u64,
            path: format!("{id}/{name}"),
            offset: 0,
            clear: false,
        });
        hls_segments.push(SegmentRecord {
            number,
            start: record_start,
            duration: TickDuration(duration),
            size: text.len() as u64,
            path: format!("{id}/{vtt_name}"),
            offset: 0,
            clear: false,
        });
    }
    let average = (total_bytes * 8 * 1000)
        .checked_div(last - first)
        .unwrap_or(0);
    let roles = if s.spec.roles.is_empty() {
        vec!["subtitle".to_string()]
    } else {
        s.spec.roles.clone()
    };
    let r = PackagedRendition {
        id: id.to_string(),
        kind: TrackKind::Text,
        supplemental_codec: None,
        codec_string: if s.ttml.is_some() {
            stpp::CODECS
        } else {
            "wvtt"
        }
        .into(),
        fourcc: if s.ttml.is_some() { "stpp" } else { "wvtt" }.into(),
        language: s.spec.lang.clone(),
        name: s.spec.name.clone(),
        roles,
        width: None,
        height: None,
        sar: None,
        frame_rate: None,
        transfer_characteristics: None,
        sample_rate: None,
        channels: None,
        channel_signalling: None,
        timescale: wvtt::TIMESCALE,
        peak_bandwidth: peak.max(1),
        average_bandwidth: average.max(1),
        init_path: format!("{id}/init.mp4"),
        layout: SegmentLayout::Files {
            template: "seg_$Number$.m4s".into(),
            start_number: 1,
        },
        segments,
        iframes: Vec::new(),
        protection: None,
        hls_playlist: format!("{id}/playlist.m3u8"),
        hls_iframe_playlist: None,
        hls_text_segments: hls_segments,
        origin: None,
    };
    Ok((r, warnings))
}

/// mdhd wants ISO 639-2/T; the common two-letter codes are mapped, others give "und".
fn iso639_2(lang: Option<&str>) -> String {
    const TABLE: &[(&str, &str)] = &[
        ("ar", "ara"),
        ("de", "deu"),
        ("en", "eng"),
        ("es", "spa"),
        ("fr", "fra"),
        ("it", "ita"),
        ("ja", "jpn"),
        ("ko", "kor"),
        ("nl", "nld"),
        ("pl", "pol"),
        ("pt", "por"),
        ("ru", "rus"),
        ("sv", "swe"),
        ("zh", "zho"),
    ];
    let primary = lang
        .and_then(|l| l.split('-').next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if primary.len() == 3 {
        return primary;
    }
    TABLE
        .iter()
        .find(|(k, _)| *k == primary)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| "und".into())
}
