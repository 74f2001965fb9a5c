//! Writes one rendition: its init segment and its media segments (one file each, or a single
//! file with a sidx), reading sample bytes from the input on demand so that memory holds one
//! segment at a time. Encryption plugs in through `SampleProtector`.
use super::fragment::{self, FragmentProtection};
use super::init::{write_init, InitOptions};
use crate::cenc::SampleEncryptor;
use crate::error::{Error, Result};
use crate::manifest::model::{IFrameRecord, SegmentLayout, SegmentRecord};
use crate::media::time::{PresentationTime, TickOffset, TimeOverflow};
use crate::media::{Sample, Track, TrackKind};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The encryption side of a rendition job.
pub struct ProtectionJob {
    pub encryptor: SampleEncryptor,
    /// Segments (from the first) left clear but signalled (clear lead).
    pub clear_lead_segments: usize,
}

/// Everything needed to write one rendition.
pub struct RenditionJob<'a> {
    pub id: String,
    pub track: &'a Track,
    pub input: &'a File,
    pub input_path: &'a Path,
    /// Sample indices where segments start (from the SegmentPlan).
    pub starts: Vec<usize>,
    pub init: InitOptions,
    pub width: u32,
    pub height: u32,
    pub single_file: bool,
    pub protection: Option<ProtectionJob>,
    /// Root of the (temporary) output directory.
    pub out_root: PathBuf,
}

/// What was written, for the manifests.
#[derive(Debug, Clone)]
pub struct RenditionOutput {
    pub init_path: String,
    pub layout: SegmentLayout,
    pub segments: Vec<SegmentRecord>,
    pub iframes: Vec<IFrameRecord>,
    pub peak_bandwidth: u64,
    pub average_bandwidth: u64,
    pub bytes: u64,
}

/// The composition offsets a track is written with: video folds its edit list start into
/// (possibly negative) offsets so presentation starts at the first sync sample's decode time.
/// An offset that no longer fits the 32-bit `trun` field is invalid input naming `path`.
pub fn output_samples(track: &Track, path: &Path) -> Result<Vec<Sample>> {
    let shift = TickOffset(if track.kind == TrackKind::Video {
        track.edit_media_time.unwrap_or(0)
    } else {
        0
    });
    track
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let cto = TickOffset(s.cts_offset.into())
                .checked_sub(shift)
                .and_then(TickOffset::to_i32)
                .map_err(|e| {
                    Error::invalid(
                        path,
                        format!(
                            "track {} sample {}: elst/ctts: composition offset minus the edit list start: {e}",
                            track.id,
                            i + 1
                        ),
                    )
                })?;
            Ok(Sample {
                cts_offset: cto,
                ..*s
            })
        })
        .collect()
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Reads the bytes of consecutive samples `samples` into `buf`, coalescing contiguous ranges.
fn read_samples(input: &File, path: &Path, samples: &[Sample], buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    let total: usize = samples.iter().map(|s| s.size as usize).sum();
    buf.resize(total, 0);
    let mut i = 0;
    let mut at = 0usize;
    while i < samples.len() {
        let start = samples[i].offset;
        let mut len = samples[i].size as u64;
        let mut j = i + 1;
        while j < samples.len() && samples[j].offset == start + len {
            len += samples[j].size as u64;
            j += 1;
        }
        input
            .read_exact_at(&mut buf[at..at + len as usize], start)
            .map_err(|e| {
                Error::invalid(path, format!("reading sample data at byte {start}: {e}"))
            })?;
        at += len as usize;
        i = j;
    }
    Ok(())
}

/// Writes the rendition; `progress` is called with the number of samples done.
pub fn write_rendition(
    mut job: RenditionJob,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RenditionOutput> {
    let track = job.track;
    let dir = job.out_root.join(&job.id);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let samples = output_samples(track, job.input_path)?;
    // Time arithmetic on file values: an overflow names the file and track (the input reader
    // bounds every time, so this is a second line of defence, not an expected path).
    let bad_time = |e: TimeOverflow| {
        Error::invalid(
            job.input_path,
            format!("track {}: trun/tfdt: {e}", track.id),
        )
    };
    let n = samples.len();
    let is_video = track.kind == TrackKind::Video;
    let init_bytes = write_init(track, &job.init, job.width, job.height);

    // Segment i covers samples starts[i]..starts[i+1]; video splits further into one fragment per
    // GOP so every sync sample is addressable for I-frame playlists.
    let mut bounds = job.starts.clone();
    bounds.push(n);
    let seg_ranges: Vec<(usize, usize)> = bounds
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| a < b)
        .collect();
    // Output presentation times: video has its edit folded into the offsets; audio keeps its
    // edit list in the init segment and its timeline follows composition time.
    let pts: Vec<PresentationTime> = samples
        .iter()
        .map(Sample::try_cts)
        .collect::<std::result::Result<_, _>>()
        .map_err(bad_time)?;
    let seg_start_pts: Vec<PresentationTime> = seg_ranges
        .iter()
        .map(|&(a, b)| pts[a..b].iter().copied().min().unwrap_or_default())
        .collect();
    let mut end_pts: Option<PresentationTime> = None;
    for s in &samples {
        let end = s.try_cts_end().map_err(bad_time)?;
        end_pts = Some(end_pts.map_or(end, |e| e.max(end)));
    }
    let end_pts = end_pts.unwrap_or_default();
    // `later - earlier`, 0 when later is not later (a stream whose next keyframe is presented
    // before this one).
    let span = |earlier: PresentationTime, later: PresentationTime| -> Result<u64> {
        if later <= earlier {
            return Ok(0);
        }
        later.duration_since(earlier).map(|d| d.0).map_err(bad_time)
    };
    if job.single_file && seg_ranges.len() > usize::from(u16::MAX) {
        return Err(Error::unsupported(
            job.input_path,
            format!(
                "track {}: {} segments, but a single-file output's sidx indexes at most 65535 (ISO/IEC 14496-12 §8.16.3 reference_count is 16 bits); write segment files instead or use longer segments",
                track.id,
                seg_ranges.len()
            ),
        ));
    }

    let single_path = dir.join("media.mp4");
    let mut single = if job.single_file {
        let mut f = File::create(&single_path).map_err(io_err(&single_path))?;
        f.write_all(&init_bytes).map_err(io_err(&single_path))?;
        // Reserve the sidx; it is written once the fragment sizes are known.
        f.write_all(&vec![0u8; fragment::sidx_len(seg_ranges.len())])
            .map_err(io_err(&single_path))?;
        Some(f)
    } else {
        let p = dir.join("init.mp4");
        std::fs::write(&p, &init_bytes).map_err(io_err(&p))?;
        None
    };
    let mut offset_in_single = (init_bytes.len() + fragment::sidx_len(seg_ranges.len())) as u64;

    let mut segments = Vec::with_capacity(seg_ranges.len());
    let mut iframes = Vec::new();
    let mut sequence = 1u32;
    let mut data = Vec::new();
    let mut total_bytes = 0u64;
    let mut peak = 0f64;
    let styp = fragment::styp();
    // One buffer for every segment of the rendition (cleared, never freed, between segments).
    let mut seg_bytes = Vec::new();
    for (si, &(a, b)) in seg_ranges.iter().enumerate() {
        seg_bytes.clear();
        if single.is_none() {
            seg_bytes.extend_from_slice(&styp);
        }
        let mut frag_starts = vec![a];
        if is_video {
            frag_starts.extend((a + 1..b).filter(|&i| samples[i].is_sync));
        }
        frag_starts.push(b);
        let rel_path = if single.is_some() {
            format!("{}/media.mp4", job.id)
        } else {
            format!("{}/seg_{}.m4s", job.id, si + 1)
        };
        let seg_offset = if single.is_some() {
            offset_in_single
        } else {
            0
        };
        // A stop requested by a signal is honoured between segments.
        crate::cancel::check()?;
        let clear = job
            .protection
            .as_ref()
            .is_some_and(|p| si < p.clear_lead_segments);
        for w in frag_starts.windows(2) {
            let (fa, fb) = (w[0], w[1]);
            let frag_samples = &samples[fa..fb];
            read_samples(job.input, job.input_path, frag_samples, &mut data)?;
            let mut aux = Vec::new();
            let protection = match job.protection.as_mut() {
                Some(_) if clear => Some(FragmentProtection::ClearLead),
                Some(p) => {
                    let mut at = 0usize;
                    for (k, s) in frag_samples.iter().enumerate() {
                        let end = at + s.size as usize;
                        let info = p
                            .encryptor
                            .encrypt_sample(&mut data[at..end])
                            .map_err(|e| match e {
                                // The encryptor parses NAL units without knowing the file: say which.
                                Error::InvalidInput { reason, .. } => Error::invalid(
                                    job.input_path,
                                    format!("track {} sample {}: {reason}", track.id, fa + k + 1),
                                ),
                                other => other,
                            })?;
                        aux.push(info);
                        at = end;
                    }
                    Some(FragmentProtection::Encrypted {
                        aux: &aux,
                        subsamples: p.encryptor.uses_subsamples(),
                    })
                }
                None => None,
            };
            let frag_start = seg_bytes.len();
            let payload_at = fragment::write_fragment(
                &mut seg_bytes,
                sequence,
                super::OUTPUT_TRACK_ID,
                frag_samples,
                &data,
                protection.as_ref(),
            )?;
            sequence += 1;
            if is_video && samples[fa].is_sync {
                let next_sync_pts = if fb < n { pts[fb] } else { end_pts };
                iframes.push(IFrameRecord {
                    path: rel_path.clone(),
                    offset: seg_offset + frag_start as u64,
                    length: (payload_at - frag_start + samples[fa].size as usize) as u64,
                    start: pts[fa].clamp_non_negative(),
                    duration: span(pts[fa], next_sync_pts)?,
                });
            }
        }
        progress((b - a) as u64);
        let start = seg_start_pts[si];
        let next = seg_start_pts.get(si + 1).copied().unwrap_or(end_pts);
        let duration = span(start, next)?.max(1);
        let size = seg_bytes.len() as u64;
        peak = peak.max(size as f64 * 8.0 * track.timescale as f64 / duration as f64);
        total_bytes += size;
        match single.as_mut() {
            Some(f) => {
                f.write_all(&seg_bytes).map_err(io_err(&single_path))?;
                offset_in_single += size;
            }
            None => {
                let p = job.out_root.join(&rel_path);
                std::fs::write(&p, &seg_bytes).map_err(io_err(&p))?;
            }
        }
        segments.push(SegmentRecord {
            number: si as u64 + 1,
            start: start.clamp_non_negative(),
            duration,
            size,
            path: rel_path,
            offset: seg_offset,
            clear,
        });
    }

    let layout = if let Some(mut f) = single {
        let refs: Vec<(u64, u64)> = segments.iter().map(|s| (s.size, s.duration)).collect();
        let earliest = segments.first().map(|s| s.start).unwrap_or(0);
        let sidx = fragment::sidx(super::OUTPUT_TRACK_ID, track.timescale, earliest, &refs)
            .map_err(|e| Error::unsupported(job.input_path, format!("track {}: {e}", track.id)))?;
        f.seek(SeekFrom::Start(init_bytes.len() as u64))
            .map_err(io_err(&single_path))?;
        f.write_all(&sidx).map_err(io_err(&single_path))?;
        let init_end = init_bytes.len() as u64;
        SegmentLayout::SingleFile {
            init_range: (0, init_end - 1),
            index_range: (init_end, init_end + sidx.len() as u64 - 1),
        }
    } else {
        SegmentLayout::Files {
            template: "seg_$Number$.m4s".into(),
            start_number: 1,
        }
    };
    let first_pts = seg_start_pts.first().copied().unwrap_or_default();
    let total_duration = span(first_pts, end_pts)?.max(1) as f64 / track.timescale as f64;
    Ok(RenditionOutput {
        init_path: if job.single_file {
            format!("{}/media.mp4", job.id)
        } else {
            format!("{}/init.mp4", job.id)
        },
        layout,
        segments,
        iframes,
        peak_bandwidth: peak.ceil() as u64,
        average_bandwidth: (total_bytes as f64 * 8.0 / total_duration).ceil() as u64,
        bytes: total_bytes + init_bytes.len() as u64,
    })
}
