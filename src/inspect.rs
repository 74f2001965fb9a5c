//! `vodpack inspect`: the engineer's first look at a file before packaging — the box tree
//! (descending into sample entries and their protection boxes), per track the codec, profile and
//! level, picture format, colour and HDR signalling, frame rate, protection (scheme, KID, pattern,
//! IVs), pssh boxes and sample-table statistics, and the movie fragments. Reads complete files
//! (progressive or fragmented), init segments, and standalone media segments with or without
//! their init segment (`--init`). docs/usage.md compares it with ffprobe and MP4Box.
mod entry;
mod fragments;
mod sps;

pub use entry::{Colour, EntryDetails, Protection};
pub use fragments::{FragmentReport, PsshReport, TrafReport};

use crate::error::{Error, Result};
use crate::media::input::InputFile;
use crate::media::Track;
use crate::mp4::scan::{load_box, scan_top_level, TopBox};
use crate::mp4::{fourcc_str, BoxIter, MAX_DEPTH, MAX_LOADED_BOX};
use crate::storage::Source;
use fragments::{FragSample, Trex};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Fragments listed unless `all` is asked for.
pub const FRAGMENTS_LISTED: usize = 10;
/// Top-level boxes listed in the tree unless `all` is asked for.
pub const TOP_BOXES_LISTED: usize = 24;

/// What to inspect.
#[derive(Debug, Clone, Copy, Default)]
pub struct InspectOptions<'a> {
    /// The init segment of a standalone media segment.
    pub init: Option<&'a Path>,
    /// List every fragment and top-level box instead of the first ones.
    pub all: bool,
}

/// What inspect found.
#[derive(Debug, Serialize)]
pub struct InspectReport {
    /// The file inspected.
    pub file: String,
    /// The init segment given with `--init`, if any.
    pub init: Option<String>,
    /// `progressive`, `fragmented`, `init segment` or `media segment`.
    pub layout: String,
    /// ftyp or styp: major brand and compatible brands.
    pub brands: Option<Brands>,
    /// The box tree, one line per box, indented by depth.
    pub tree: Vec<String>,
    /// One summary per track.
    pub tracks: Vec<TrackSummary>,
    /// Every pssh box, in file order.
    pub pssh: Vec<PsshReport>,
    /// Movie fragments in the file.
    pub fragments_total: usize,
    /// The first [`FRAGMENTS_LISTED`] fragments, or all of them.
    pub fragments: Vec<FragmentReport>,
}

/// An ftyp or styp box.
#[derive(Debug, Serialize)]
pub struct Brands {
    /// `ftyp` or `styp`.
    pub box_type: String,
    /// The major brand.
    pub major: String,
    /// The minor version.
    pub minor_version: u32,
    /// The compatible brands.
    pub compatible: Vec<String>,
}

/// One track's summary.
#[derive(Debug, Serialize)]
pub struct TrackSummary {
    /// track_ID.
    pub id: u32,
    /// `video`, `audio`, `text` or the handler type.
    pub kind: String,
    /// The hdlr handler type (`vide`, `soun`…).
    pub handler: String,
    /// The sample entry's details.
    #[serde(flatten)]
    pub entry: EntryDetails,
    /// mdhd language (ISO 639-2/T).
    pub language: String,
    /// mdhd timescale (ticks per second).
    pub timescale: u32,
    /// Seconds, from the samples.
    pub duration: f64,
    /// Frames per second from the sample durations: exact when constant (`25/1`), else the mean.
    pub frame_rate: Option<String>,
    /// The frame rate as a number.
    pub frame_rate_value: Option<f64>,
    /// Edit list media_time of the first edit, in timescale ticks.
    pub edit_media_time: Option<i64>,
    /// Statistics of the samples.
    #[serde(flatten)]
    pub stats: SampleStats,
}

/// Sample-table statistics (from stbl, or from the fragments that were read).
#[derive(Debug, Default, Serialize)]
pub struct SampleStats {
    /// Sample count.
    pub samples: usize,
    /// Sync (key) samples.
    pub sync_samples: usize,
    /// GOP lengths in samples (min, max) and mean in seconds.
    pub gop_min: usize,
    /// The longest GOP, in samples.
    pub gop_max: usize,
    /// The mean GOP, in seconds.
    pub gop_mean_seconds: f64,
    /// The smallest sample, bytes.
    pub sample_size_min: u32,
    /// The largest sample, bytes.
    pub sample_size_max: u32,
    /// The mean sample size, bytes.
    pub sample_size_mean: f64,
    /// Distinct sample durations (ticks), at most 8 listed.
    pub sample_durations: Vec<u32>,
    /// True when samples have composition offsets (B-frames / reordering).
    pub composition_offsets: bool,
    /// Bytes of all samples.
    pub bytes: u64,
    /// Mean bitrate (bits/s) over the samples' duration.
    pub bitrate: u64,
    /// Highest bitrate over any one-second window of decode time (bits/s).
    pub peak_bitrate_1s: u64,
}

const CONTAINERS: &[&[u8; 4]] = &[
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof", b"traf",
    b"sinf", b"schi", b"udta", b"mfra", b"meta",
];
/// Sample entries whose children the tree shows, and the bytes before those children.
const VISUAL_ENTRIES: &[&[u8; 4]] = &[
    b"avc1", b"avc3", b"hvc1", b"hev1", b"av01", b"vp09", b"vp08", b"encv", b"dvh1", b"dvhe",
];
const AUDIO_ENTRIES: &[&[u8; 4]] = &[b"mp4a", b"enca", b"Opus", b"ac-3", b"ec-3", b"fLaC"];

fn tree(buf: &[u8], depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    for b in BoxIter::new(buf) {
        match b {
            Ok(b) => {
                out.push(format!(
                    "{}{} ({} bytes)",
                    "  ".repeat(depth),
                    b.name(),
                    b.bytes.len()
                ));
                if CONTAINERS.contains(&&b.fourcc) {
                    // meta is a full box (version + flags before its children).
                    let body = if &b.fourcc == b"meta" {
                        b.body.get(4..).unwrap_or(&[])
                    } else {
                        b.body
                    };
                    tree(body, depth + 1, out);
                } else if &b.fourcc == b"stsd" && b.body.len() > 8 {
                    tree(&b.body[8..], depth + 1, out);
                } else if VISUAL_ENTRIES.contains(&&b.fourcc) {
                    tree(b.body.get(78..).unwrap_or(&[]), depth + 1, out);
                } else if AUDIO_ENTRIES.contains(&&b.fourcc) {
                    tree(b.body.get(28..).unwrap_or(&[]), depth + 1, out);
                }
            }
            Err(e) => {
                out.push(format!("{}error: {e}", "  ".repeat(depth)));
                return;
            }
        }
    }
}

/// The file's first box when it is an `ftyp` or `styp` (read by the box layer).
fn brands(bytes: &[u8]) -> Option<Brands> {
    use crate::mp4::boxes::Ftyp;
    use crate::mp4::Mp4Box;
    let b = BoxIter::new(bytes).next()?.ok()?;
    let f = Ftyp::read(&b).ok()?;
    Some(Brands {
        box_type: b.name(),
        major: fourcc_str(&f.major_brand),
        minor_version: f.minor_version,
        compatible: f.compatible_brands.iter().map(fourcc_str).collect(),
    })
}

struct Opened {
    file: Source,
    top: Vec<TopBox>,
}

fn open(path: &Path) -> Result<Opened> {
    // A local file or an object (`s3://…`), read by offset.
    let file = Source::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.len().map_err(|e| Error::io(path, e))?;
    if len == 0 {
        return Err(Error::invalid(path, "empty file (not MP4)"));
    }
    let top = scan_top_level(&file, len).map_err(|e| Error::invalid(path, e.to_string()))?;
    Ok(Opened { file, top })
}

/// The moov's trex defaults and pssh boxes.
fn moov_extras(
    opened: &mut Opened,
    path: &Path,
    pssh: &mut Vec<PsshReport>,
) -> Result<HashMap<u32, Trex>> {
    let Some(b) = opened.top.iter().find(|b| &b.fourcc == b"moov").copied() else {
        return Ok(HashMap::new());
    };
    let bytes = load_box(&opened.file, &b, MAX_LOADED_BOX)
        .map_err(|e| Error::invalid(path, e.to_string()))?;
    let bad = |e: crate::mp4::BoxError| Error::invalid(path, e.to_string());
    let moov = BoxIter::new(&bytes)
        .next()
        .expect("loaded box")
        .map_err(bad)?;
    for c in moov.children() {
        let c = c.map_err(bad)?;
        if &c.fourcc == b"pssh" {
            pssh.push(fragments::pssh(&c, "moov").map_err(bad)?);
        }
    }
    fragments::trex_of(&moov).map_err(bad)
}

/// Inspects `path`.
pub fn inspect(path: &Path, opts: &InspectOptions) -> Result<InspectReport> {
    let mut opened = open(path)?;
    let has_moov = opened.top.iter().any(|b| &b.fourcc == b"moov");
    let has_moof = opened.top.iter().any(|b| &b.fourcc == b"moof");
    if has_moov && opts.init.is_some() {
        return Err(Error::Usage(format!(
            "{}: has its own moov; --init is for a media segment without one",
            path.display()
        )));
    }
    let mut pssh = Vec::new();
    // Tracks (codec configuration, and samples when the file has them) and trex defaults.
    let (tracks, trex): (Vec<Track>, HashMap<u32, Trex>) = if has_moov {
        let input = InputFile::open(path)?;
        let trex = moov_extras(&mut opened, path, &mut pssh)?;
        (input.tracks, trex)
    } else if let Some(init) = opts.init {
        let input = InputFile::open(init)?;
        let mut o = open(init)?;
        let trex = moov_extras(&mut o, init, &mut pssh)?;
        (input.tracks, trex)
    } else if has_moof {
        (Vec::new(), HashMap::new())
    } else {
        return Err(Error::invalid(
            path,
            "neither a 'moov' nor a 'moof' box: no media to inspect",
        ));
    };
    let layout = match (has_moov, has_moof) {
        (true, true) => "fragmented",
        (true, false) if tracks.iter().all(|t| t.samples.is_empty()) => "init segment",
        (true, false) => "progressive",
        _ => "media segment",
    }
    .to_string();

    let details: Vec<EntryDetails> = tracks
        .iter()
        .map(|t| entry::details(&t.sample_entry))
        .collect();
    let iv_sizes: HashMap<u32, u8> = tracks
        .iter()
        .zip(&details)
        .filter_map(|(t, d)| d.protection.as_ref().map(|p| (t.id, p.per_sample_iv_size)))
        .collect();

    // Tree.
    let mut lines = Vec::new();
    let mut brand = None;
    let top = opened.top.clone();
    for (i, b) in top.iter().enumerate() {
        if i == TOP_BOXES_LISTED && !opts.all {
            lines.push(format!(
                "... {} more top-level boxes (--all lists them)",
                top.len() - i
            ));
            break;
        }
        if matches!(&b.fourcc, b"moov" | b"moof" | b"ftyp" | b"styp" | b"meta") {
            let bytes = load_box(&opened.file, b, MAX_LOADED_BOX)
                .map_err(|e| Error::invalid(path, e.to_string()))?;
            if brand.is_none() && matches!(&b.fourcc, b"ftyp" | b"styp") {
                brand = brands(&bytes);
            }
            tree(&bytes, 0, &mut lines);
        } else {
            lines.push(format!("{} ({} bytes)", fourcc_str(&b.fourcc), b.size));
        }
    }
    if brand.is_none() {
        if let Some(b) = top.iter().find(|b| matches!(&b.fourcc, b"ftyp" | b"styp")) {
            let bytes = load_box(&opened.file, b, MAX_LOADED_BOX)
                .map_err(|e| Error::invalid(path, e.to_string()))?;
            brand = brands(&bytes);
        }
    }

    // Fragments: all of them are read when their samples are the only sample table (a media
    // segment) or when asked; otherwise the first ones.
    let moofs: Vec<TopBox> = top
        .iter()
        .filter(|b| &b.fourcc == b"moof")
        .copied()
        .collect();
    let read_all = opts.all || !has_moov;
    let mut frags = Vec::new();
    let mut budget = fragments::MAX_FRAGMENT_SAMPLES;
    for m in moofs.iter().take(if read_all {
        usize::MAX
    } else {
        FRAGMENTS_LISTED
    }) {
        let bytes = load_box(&opened.file, m, MAX_LOADED_BOX)
            .map_err(|e| Error::invalid(path, e.to_string()))?;
        let bad = |e: crate::mp4::BoxError| {
            Error::invalid(path, format!("moof at byte {}: {}", m.offset, e))
        };
        let b = BoxIter::new(&bytes)
            .next()
            .expect("loaded box")
            .map_err(bad)?;
        frags.push(
            fragments::moof(&b, m.offset, &trex, &iv_sizes, &mut pssh, &mut budget).map_err(bad)?,
        );
    }

    // Tracks: statistics from the sample table, or (media segment) from the fragments.
    let mut summaries = Vec::new();
    for (t, d) in tracks.iter().zip(details) {
        let samples: Vec<FragSample> = if has_moov {
            t.samples
                .iter()
                .map(|s| FragSample {
                    duration: Some(s.duration.0),
                    size: Some(s.size),
                    sync: s.is_sync,
                    cts_offset: i64::from(s.cts_offset.0),
                })
                .collect()
        } else {
            frags
                .iter()
                .flat_map(|f| f.trafs.iter().filter(|tr| tr.track_id == t.id))
                .flat_map(|tr| tr.sample_list.iter().copied())
                .collect()
        };
        summaries.push(summary(t, d, &samples));
    }
    // A media segment without its init: one summary per track id seen, from the fragments only.
    if tracks.is_empty() {
        let mut ids: Vec<u32> = frags
            .iter()
            .flat_map(|f| f.trafs.iter().map(|t| t.track_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let samples: Vec<FragSample> = frags
                .iter()
                .flat_map(|f| f.trafs.iter().filter(|tr| tr.track_id == id))
                .flat_map(|tr| tr.sample_list.iter().copied())
                .collect();
            let mut d = EntryDetails {
                sample_entry: "?".into(),
                codec: "?".into(),
                ..EntryDetails::default()
            };
            d.notes.push("no moov: give the init segment with --init for codec, timescale and sample defaults".into());
            summaries.push(TrackSummary {
                id,
                kind: "unknown".into(),
                handler: String::new(),
                entry: d,
                language: String::new(),
                timescale: 0,
                duration: 0.0,
                frame_rate: None,
                frame_rate_value: None,
                edit_media_time: None,
                stats: stats(&samples, 0),
            });
        }
    }
    let fragments_total = moofs.len();
    if !opts.all {
        frags.truncate(FRAGMENTS_LISTED);
    }
    Ok(InspectReport {
        file: path.display().to_string(),
        init: opts.init.map(|p| p.display().to_string()),
        layout,
        brands: brand,
        tree: lines,
        tracks: summaries,
        pssh,
        fragments_total,
        fragments: frags,
    })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

fn summary(t: &Track, d: EntryDetails, samples: &[FragSample]) -> TrackSummary {
    let st = stats(samples, t.timescale);
    let total: Option<u64> = samples.iter().map(|s| s.duration.map(u64::from)).sum();
    let duration = match (total, t.timescale) {
        (Some(n), ts) if ts > 0 => n as f64 / f64::from(ts),
        _ => 0.0,
    };
    let video = t.kind == crate::media::TrackKind::Video;
    let (frame_rate, frame_rate_value) = if !video || samples.is_empty() || t.timescale == 0 {
        (None, None)
    } else {
        let first = samples[0].duration;
        match first {
            Some(f) if f > 0 && samples.iter().all(|s| s.duration == first) => {
                let g = gcd(u64::from(t.timescale), u64::from(f));
                (
                    Some(format!(
                        "{}/{}",
                        u64::from(t.timescale) / g,
                        u64::from(f) / g
                    )),
                    Some(f64::from(t.timescale) / f64::from(f)),
                )
            }
            _ if duration > 0.0 => {
                let fps = samples.len() as f64 / duration;
                (Some(format!("{fps:.3} (mean)")), Some(fps))
            }
            _ => (None, None),
        }
    };
    TrackSummary {
        id: t.id,
        kind: t.kind.as_str().into(),
        handler: fourcc_str(&t.handler),
        entry: d,
        language: t.language.clone(),
        timescale: t.timescale,
        duration,
        frame_rate,
        frame_rate_value,
        edit_media_time: t.edit_media_time.map(|o| o.0),
        stats: st,
    }
}

fn stats(samples: &[FragSample], timescale: u32) -> SampleStats {
    let mut st = SampleStats {
        samples: samples.len(),
        ..SampleStats::default()
    };
    let syncs: Vec<usize> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.sync)
        .map(|(i, _)| i)
        .collect();
    st.sync_samples = syncs.len();
    let mut gops: Vec<usize> = syncs.windows(2).map(|w| w[1] - w[0]).collect();
    if let Some(&last) = syncs.last() {
        gops.push(samples.len() - last);
    }
    st.gop_min = gops.iter().copied().min().unwrap_or(0);
    st.gop_max = gops.iter().copied().max().unwrap_or(0);
    let sizes: Vec<u32> = samples.iter().filter_map(|s| s.size).collect();
    st.sample_size_min = sizes.iter().copied().min().unwrap_or(0);
    st.sample_size_max = sizes.iter().copied().max().unwrap_or(0);
    st.bytes = sizes.iter().map(|&s| u64::from(s)).sum();
    if !sizes.is_empty() {
        st.sample_size_mean = st.bytes as f64 / sizes.len() as f64;
    }
    let mut durs: Vec<u32> = samples.iter().filter_map(|s| s.duration).collect();
    durs.sort_unstable();
    durs.dedup();
    durs.truncate(8);
    st.sample_durations = durs;
    st.composition_offsets = samples.iter().any(|s| s.cts_offset != 0);
    let total: u64 = samples
        .iter()
        .filter_map(|s| s.duration.map(u64::from))
        .sum();
    if timescale > 0 && total > 0 {
        let secs = total as f64 / f64::from(timescale);
        st.bitrate = (st.bytes as f64 * 8.0 / secs) as u64;
        if !syncs.is_empty() {
            st.gop_mean_seconds = secs / syncs.len() as f64;
        }
        // Peak over one-second windows of decode time (a sliding window over the samples).
        let ts = u64::from(timescale);
        let mut start = 0usize;
        let (mut t_start, mut t_end, mut bytes, mut peak) = (0u64, 0u64, 0u64, 0u64);
        for s in samples {
            bytes += u64::from(s.size.unwrap_or(0));
            t_end += u64::from(s.duration.unwrap_or(0));
            while t_end - t_start > ts && start < samples.len() {
                bytes -= u64::from(samples[start].size.unwrap_or(0));
                t_start += u64::from(samples[start].duration.unwrap_or(0));
                start += 1;
            }
            peak = peak.max(bytes);
        }
        st.peak_bitrate_1s = if total >= ts { peak * 8 } else { st.bitrate };
    }
    st
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "?".into())
}

impl InspectReport {
    /// The report as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "file: {} ({})", self.file, self.layout);
        if let Some(i) = &self.init {
            let _ = writeln!(s, "init: {i}");
        }
        if let Some(b) = &self.brands {
            let _ = writeln!(
                s,
                "brands: {} major={} minor={} compatible={}",
                b.box_type,
                b.major,
                b.minor_version,
                b.compatible.join(",")
            );
        }
        s.push_str("boxes:\n");
        for l in &self.tree {
            let _ = writeln!(s, "  {l}");
        }
        s.push_str("tracks:\n");
        for t in &self.tracks {
            let e = &t.entry;
            let _ = writeln!(
                s,
                "  #{} {} {}{} codec={}{}{}",
                t.id,
                t.kind,
                e.sample_entry,
                if e.sample_entry != e.codec {
                    format!(" ({})", e.codec)
                } else {
                    String::new()
                },
                opt(&e.codec_string),
                e.profile
                    .as_ref()
                    .map(|p| format!(" profile={p}"))
                    .unwrap_or_default(),
                e.level
                    .as_ref()
                    .map(|l| format!(" level={l}"))
                    .unwrap_or_default()
            );
            if t.kind == "video" {
                let _ = writeln!(
                    s,
                    "     {}x{} sar={} pix_fmt={} bit_depth={} chroma={} fps={}{}",
                    opt(&e.width),
                    opt(&e.height),
                    opt(&e.sar),
                    opt(&e.pixel_format),
                    opt(&e.bit_depth),
                    opt(&e.chroma),
                    opt(&t.frame_rate),
                    e.vui_frame_rate
                        .map(|f| format!(" (VUI {f:.3})"))
                        .unwrap_or_default()
                );
                match &e.colour {
                    Some(c) => {
                        let _ = writeln!(
                            s,
                            "     colour ({}): primaries={} transfer={} matrix={} range={} {}",
                            c.source,
                            c.primaries,
                            c.transfer,
                            c.matrix,
                            opt(&c.range),
                            e.hdr.as_deref().unwrap_or("SDR")
                        );
                    }
                    None => s.push_str(
                        "     colour: not signalled (no colr box, no VUI colour description)\n",
                    ),
                }
                if let Some((max, min)) = e.mastering_luminance {
                    let _ = writeln!(s, "     mastering display: {min}..{max} cd/m2");
                }
                if let Some((cll, fall)) = e.content_light {
                    let _ = writeln!(s, "     content light: MaxCLL={cll} MaxFALL={fall}");
                }
            } else if t.kind == "audio" {
                let _ = writeln!(
                    s,
                    "     {} Hz, {} channels",
                    opt(&e.sample_rate),
                    opt(&e.channels)
                );
            }
            if let Some(p) = &e.protection {
                let _ = writeln!(
                    s,
                    "     protection: scheme={} v{} original={} protected={} KID={} iv_size={}{}{}",
                    p.scheme,
                    p.scheme_version,
                    p.original_format,
                    p.protected,
                    p.default_kid,
                    p.per_sample_iv_size,
                    p.constant_iv
                        .as_ref()
                        .map(|iv| format!(" constant_iv={iv}"))
                        .unwrap_or_default(),
                    p.pattern
                        .as_ref()
                        .map(|p| format!(" pattern={p}"))
                        .unwrap_or_default()
                );
            }
            let st = &t.stats;
            if t.timescale == 0 {
                // A media segment without its init: no timescale, so no times or rates.
                let _ = writeln!(
                    s,
                    "     samples={} sync={} gop={}..{} samples sizes={}..{} (mean {:.0}) bytes={}",
                    st.samples,
                    st.sync_samples,
                    st.gop_min,
                    st.gop_max,
                    st.sample_size_min,
                    st.sample_size_max,
                    st.sample_size_mean,
                    st.bytes
                );
                for n in &e.notes {
                    let _ = writeln!(s, "     note: {n}");
                }
                continue;
            }
            let _ = writeln!(
                s,
                "     lang={} timescale={} duration={:.3}s samples={} sync={} gop={}..{} samples (mean {:.2}s) sizes={}..{} (mean {:.0}) bytes={} bitrate={} bps (peak 1s {} bps){}",
                t.language,
                t.timescale,
                t.duration,
                st.samples,
                st.sync_samples,
                st.gop_min,
                st.gop_max,
                st.gop_mean_seconds,
                st.sample_size_min,
                st.sample_size_max,
                st.sample_size_mean,
                st.bytes,
                st.bitrate,
                st.peak_bitrate_1s,
                if st.composition_offsets {
                    " composition-offsets"
                } else {
                    ""
                }
            );
            for n in &e.notes {
                let _ = writeln!(s, "     note: {n}");
            }
        }
        if !self.pssh.is_empty() {
            s.push_str("pssh:\n");
            for p in &self.pssh {
                let _ = writeln!(
                    s,
                    "  {} {} ({}) v{} kids=[{}] data={} bytes",
                    p.location,
                    p.system,
                    p.system_id,
                    p.version,
                    p.kids.join(","),
                    p.data_size
                );
            }
        }
        if self.fragments_total > 0 {
            let _ = writeln!(
                s,
                "fragments: {} ({} listed{})",
                self.fragments_total,
                self.fragments.len(),
                if self.fragments.len() < self.fragments_total {
                    "; --all lists every one"
                } else {
                    ""
                }
            );
            for f in &self.fragments {
                for t in &f.trafs {
                    let _ = writeln!(
                        s,
                        "  moof@{} seq={} track={} tfdt={} samples={} duration={} bytes={} sync_first={}{}",
                        f.offset,
                        f.sequence_number,
                        t.track_id,
                        opt(&t.base_media_decode_time),
                        t.samples,
                        opt(&t.duration),
                        opt(&t.bytes),
                        t.starts_with_sync_sample,
                        match (t.senc_samples, t.subsamples) {
                            (Some(n), Some(k)) => format!(" senc={n} subsamples={k}"),
                            (Some(n), None) => format!(" senc={n}"),
                            _ => String::new(),
                        }
                    );
                }
            }
        }
        s
    }
}
