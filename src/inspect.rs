//! `vodpack inspect`: the box tree and a per-track summary an engineer checks before packaging.
use crate::error::{Error, Result};
use crate::media::codec::parse_sample_entry;
use crate::media::input::InputFile;
use crate::mp4::scan::load_box;
use crate::mp4::{fourcc_str, BoxIter, MAX_DEPTH};
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// What inspect found.
#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub tree: Vec<String>,
    pub tracks: Vec<TrackSummary>,
}

/// One track's summary.
#[derive(Debug, Serialize)]
pub struct TrackSummary {
    pub id: u32,
    pub kind: String,
    pub sample_entry: String,
    pub codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub language: String,
    pub timescale: u32,
    pub duration: f64,
    pub samples: usize,
    pub sync_samples: usize,
    /// GOP lengths in samples (min, max) and mean in seconds.
    pub gop_min: usize,
    pub gop_max: usize,
    pub gop_mean_seconds: f64,
    pub bitrate: u64,
}

const CONTAINERS: &[&[u8; 4]] = &[
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof", b"traf",
    b"sinf", b"schi", b"udta", b"mfra",
];
/// Top-level boxes listed before the rest are summarised (a long file has thousands of moofs).
const MAX_TOP_LISTED: usize = 24;

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
                    tree(b.body, depth + 1, out);
                } else if &b.fourcc == b"stsd" && b.body.len() > 8 {
                    tree(&b.body[8..], depth + 1, out);
                }
            }
            Err(e) => {
                out.push(format!("{}error: {e}", "  ".repeat(depth)));
                return;
            }
        }
    }
}

/// Inspects `path`.
pub fn inspect(path: &Path) -> Result<InspectReport> {
    let mut input = InputFile::open(path)?;
    let mut lines = Vec::new();
    let top = input.top_boxes.clone();
    for (i, b) in top.iter().enumerate() {
        if i == MAX_TOP_LISTED {
            lines.push(format!("... {} more top-level boxes", top.len() - i));
            break;
        }
        if &b.fourcc == b"moov" || &b.fourcc == b"moof" {
            let bytes = load_box(&mut input.file, b, crate::mp4::MAX_LOADED_BOX)
                .map_err(|e| Error::invalid(path, e.0))?;
            tree(&bytes, 0, &mut lines);
        } else {
            lines.push(format!("{} ({} bytes)", fourcc_str(&b.fourcc), b.size));
        }
    }
    let tracks = input
        .tracks
        .iter()
        .map(|t| {
            let codec = parse_sample_entry(&t.sample_entry).ok();
            let syncs: Vec<usize> = t
                .samples
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_sync)
                .map(|(i, _)| i)
                .collect();
            let mut gops: Vec<usize> = syncs.windows(2).map(|w| w[1] - w[0]).collect();
            if let Some(&last) = syncs.last() {
                gops.push(t.samples.len() - last);
            }
            let bytes: u64 = t.samples.iter().map(|s| s.size as u64).sum();
            let dur = t.duration_seconds();
            TrackSummary {
                id: t.id,
                kind: t.kind.as_str().into(),
                sample_entry: fourcc_str(&t.fourcc()),
                codec: codec.as_ref().map(|c| c.codec_string.clone()),
                width: codec.as_ref().and_then(|c| c.width),
                height: codec.as_ref().and_then(|c| c.height),
                sample_rate: codec.as_ref().and_then(|c| c.sample_rate),
                channels: codec.as_ref().and_then(|c| c.channels),
                language: t.language.clone(),
                timescale: t.timescale,
                duration: dur,
                samples: t.samples.len(),
                sync_samples: syncs.len(),
                gop_min: gops.iter().copied().min().unwrap_or(0),
                gop_max: gops.iter().copied().max().unwrap_or(0),
                gop_mean_seconds: if syncs.is_empty() {
                    0.0
                } else {
                    dur / syncs.len() as f64
                },
                bitrate: if dur > 0.0 {
                    (bytes as f64 * 8.0 / dur) as u64
                } else {
                    0
                },
            }
        })
        .collect();
    Ok(InspectReport {
        tree: lines,
        tracks,
    })
}

impl InspectReport {
    pub fn text(&self) -> String {
        let mut s = String::from("boxes:\n");
        for l in &self.tree {
            let _ = writeln!(s, "  {l}");
        }
        s.push_str("tracks:\n");
        for t in &self.tracks {
            let _ = writeln!(
                s,
                "  #{} {} {} codec={} {} lang={} timescale={} duration={:.3}s samples={} sync={} gop={}..{} samples (mean {:.2}s) bitrate={} bps",
                t.id,
                t.kind,
                t.sample_entry,
                t.codec.as_deref().unwrap_or("?"),
                match (t.width, t.height, t.sample_rate, t.channels) {
                    (Some(w), Some(h), _, _) => format!("{w}x{h}"),
                    (_, _, Some(r), Some(c)) => format!("{r}Hz {c}ch"),
                    _ => String::new(),
                },
                t.language,
                t.timescale,
                t.duration,
                t.samples,
                t.sync_samples,
                t.gop_min,
                t.gop_max,
                t.gop_mean_seconds,
                t.bitrate
            );
        }
        s
    }
}
