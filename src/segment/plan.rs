//! The segment plan: where every rendition of an asset is cut. Video renditions share the same
//! boundaries exactly (players switch bitrate at boundaries); each boundary is a sync sample in
//! every video rendition. Other tracks cut at the sample boundary nearest each video boundary.
//! See docs/segment-alignment.md.
use super::error::SegmentError;
use crate::error::{Error, ErrorKind, InTrack, Result};
use crate::media::time::{PresentationTime, TimeOverflow};
use crate::media::{Sample, Track, TrackKind};

/// A presentation time as a rational (ticks / timescale), compared exactly.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    /// Ticks of `timescale`.
    pub ticks: i64,
    /// Ticks per second.
    pub timescale: u32,
}

impl Time {
    /// The time in seconds (for messages and manifests).
    pub fn seconds(self) -> f64 {
        self.ticks as f64 / self.timescale as f64
    }

    /// `self - other` in seconds, exact up to f64 rounding of the result.
    fn diff_seconds(self, other: Time) -> f64 {
        let a = self.ticks as i128 * other.timescale as i128;
        let b = other.ticks as i128 * self.timescale as i128;
        (a - b) as f64 / (self.timescale as f64 * other.timescale as f64)
    }
}

/// Two keyframes closer than this are the same boundary (covers timescale rounding only).
const SAME_TIME: f64 = 0.001;

/// The cut times shared by all renditions of an asset (segment starts after the first).
#[derive(Debug, Clone)]
pub struct SegmentPlan {
    /// Segment start times after the first (presentation time of the reference track).
    pub cuts: Vec<Time>,
    /// Target segment duration in seconds.
    pub target: f64,
}

/// A track's presentation time for a sample: composition time minus the edit list start.
/// Cannot overflow for a track that passed [`Track::check_times`] (every track `InputFile::open`
/// returns, and every track `SegmentPlan::build` accepts); otherwise it saturates — use
/// [`try_presentation_time`] for the error.
/// Panics when `i` is past the last sample.
pub fn presentation_time(track: &Track, i: usize) -> Time {
    let s = track.samples.get(i).expect("a sample of the track");
    sample_presentation_time(track, &s)
}

/// [`presentation_time`] of a sample of `track` already expanded (walking the table).
pub fn sample_presentation_time(track: &Track, s: &Sample) -> Time {
    try_sample_presentation_time(track, s).unwrap_or_else(|_| Time {
        ticks: if s.cts_offset.is_negative() {
            i64::MIN
        } else {
            i64::MAX
        },
        timescale: track.timescale,
    })
}

/// [`presentation_time`], or the overflow.
pub fn try_presentation_time(track: &Track, i: usize) -> std::result::Result<Time, TimeOverflow> {
    let s = track.samples.get(i).expect("a sample of the track");
    try_sample_presentation_time(track, &s)
}

fn try_sample_presentation_time(
    track: &Track,
    s: &Sample,
) -> std::result::Result<Time, TimeOverflow> {
    let t: PresentationTime = s
        .try_cts()?
        .checked_shift_back(track.edit_media_time.unwrap_or_default())?;
    Ok(Time {
        ticks: t.0,
        timescale: track.timescale,
    })
}

/// Presentation times of the sync samples (one per GOP: a few thousand for two hours).
fn sync_times(track: &Track) -> Vec<Time> {
    track
        .samples
        .iter()
        .filter(|s| s.is_sync)
        .map(|s| sample_presentation_time(track, &s))
        .collect()
}

impl SegmentPlan {
    /// Chooses cut points for the given tracks (`names` label them in errors). With `common_only`,
    /// cuts are chosen only among keyframes every video track shares; otherwise a cut that a video
    /// rendition lacks is an error naming it.
    pub fn build(tracks: &[(&str, &Track)], target: f64, common_only: bool) -> Result<SegmentPlan> {
        // Tracks from `InputFile::open` are already checked; tracks built by hand are checked
        // here, so that the time arithmetic below cannot overflow.
        for (name, t) in tracks {
            t.check_times().map_err(|e| {
                Error::layer(
                    ErrorKind::InvalidInput,
                    None,
                    InTrack {
                        rendition: Some(name.to_string()),
                        track: t.id,
                        sample: None,
                        source: Box::new(e),
                    },
                )
            })?;
        }
        let videos: Vec<&(&str, &Track)> = tracks
            .iter()
            .filter(|(_, t)| t.kind == TrackKind::Video)
            .collect();
        let reference = videos.first().copied().or_else(|| tracks.first());
        let Some((_, reference)) = reference else {
            return Ok(SegmentPlan {
                cuts: Vec::new(),
                target,
            });
        };
        if reference.samples.is_empty() {
            return Ok(SegmentPlan {
                cuts: Vec::new(),
                target,
            });
        }
        let mut candidates = if reference.kind == TrackKind::Video {
            sync_times(reference)
        } else {
            reference
                .samples
                .iter()
                .map(|s| sample_presentation_time(reference, &s))
                .collect()
        };
        if common_only {
            for (_, v) in videos.iter().skip(1) {
                let theirs = sync_times(v);
                candidates.retain(|c| theirs.iter().any(|t| t.diff_seconds(*c).abs() < SAME_TIME));
            }
        }
        let start = presentation_time(reference, 0);
        let mut cuts = Vec::new();
        let mut last = start;
        for c in candidates {
            if c.diff_seconds(last) >= target - SAME_TIME {
                cuts.push(c);
                last = c;
            }
        }
        if !common_only {
            for (name, v) in videos.iter().skip(1) {
                let theirs = sync_times(v);
                for c in &cuts {
                    if !theirs.iter().any(|t| t.diff_seconds(*c).abs() < SAME_TIME) {
                        let nearest = theirs
                            .iter()
                            .min_by(|a, b| {
                                a.diff_seconds(*c)
                                    .abs()
                                    .total_cmp(&b.diff_seconds(*c).abs())
                            })
                            .map(|t| t.seconds());
                        return Err(SegmentError::Unaligned {
                            rendition: name.to_string(),
                            reference: videos[0].0.to_string(),
                            at: c.seconds(),
                            nearest,
                        }
                        .into());
                    }
                }
            }
        }
        Ok(SegmentPlan { cuts, target })
    }

    /// Sample indices where `track`'s segments start (the first is always 0).
    pub fn segment_starts(&self, track: &Track) -> Vec<usize> {
        if track.samples.is_empty() {
            return Vec::new();
        }
        let mut starts = vec![0usize];
        let n = track.samples.len();
        let video = track.kind == TrackKind::Video;
        // Sample `i` and the ones after it, walked once in order (the table expands samples
        // as it goes; nothing per sample is kept).
        let mut i = 0usize;
        let mut walk = track.samples.iter().peekable();
        let mut current: Option<Sample> = walk.next();
        let pts = |s: &Sample| sample_presentation_time(track, s);
        for cut in &self.cuts {
            if video {
                // The sync sample at the cut (the plan guarantees one within SAME_TIME).
                while current
                    .is_some_and(|s| !(s.is_sync && pts(&s).diff_seconds(*cut) > -SAME_TIME))
                {
                    current = walk.next();
                    i += 1;
                }
            } else {
                // The sample boundary nearest the cut.
                while walk
                    .peek()
                    .is_some_and(|next| pts(next).diff_seconds(*cut) <= 0.0)
                {
                    current = walk.next();
                    i += 1;
                }
                if let (Some(s), Some(next)) = (current, walk.peek()) {
                    let before = pts(&s).diff_seconds(*cut).abs();
                    let after = pts(next).diff_seconds(*cut).abs();
                    if after < before {
                        current = walk.next();
                        i += 1;
                    }
                }
            }
            if i >= n {
                break;
            }
            if i > *starts.last().expect("non-empty") {
                starts.push(i);
            }
        }
        starts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::time::{CompositionOffset, DecodeTime, SampleDuration, TickDuration};
    use crate::media::Sample;

    fn track(kind: TrackKind, ts: u32, dur: u32, n: usize, gop: usize) -> Track {
        Track {
            id: 1,
            kind,
            handler: *b"vide",
            timescale: ts,
            duration: TickDuration(dur as u64 * n as u64),
            language: "und".into(),
            tkhd_width: 0,
            tkhd_height: 0,
            sample_entry: Vec::new(),
            edit_media_time: None,
            samples: (0..n)
                .map(|i| Sample {
                    dts: DecodeTime((i as u64) * dur as u64),
                    duration: SampleDuration(dur),
                    cts_offset: CompositionOffset(0),
                    is_sync: i % gop == 0,
                    size: 1,
                    offset: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn aligned_ladder_cuts_every_target() {
        let a = track(TrackKind::Video, 12800, 512, 250, 50); // 25 fps, 2 s GOP, 10 s
        let b = track(TrackKind::Video, 90000, 3600, 250, 50);
        let plan = SegmentPlan::build(&[("a", &a), ("b", &b)], 4.0, false).unwrap();
        let secs: Vec<f64> = plan.cuts.iter().map(|c| c.seconds()).collect();
        assert_eq!(secs, vec![4.0, 8.0]);
        assert_eq!(plan.segment_starts(&a), vec![0, 100, 200]);
        assert_eq!(plan.segment_starts(&b), vec![0, 100, 200]);
        let audio = track(TrackKind::Audio, 48000, 1024, 470, 1);
        let starts = plan.segment_starts(&audio);
        assert_eq!(starts, vec![0, 187, 375]); // 187 and 188 frames are equally near 4.0 s; the earlier wins
    }

    #[test]
    fn unaligned_keyframes_are_named() {
        let a = track(TrackKind::Video, 25, 1, 250, 50);
        let b = track(TrackKind::Video, 25, 1, 250, 60);
        let e = SegmentPlan::build(&[("hi", &a), ("lo", &b)], 4.0, false).unwrap_err();
        assert!(
            e.to_string()
                .contains("rendition 'lo' has no keyframe at 4.000 s"),
            "{e}"
        );
        let plan = SegmentPlan::build(&[("hi", &a), ("lo", &b)], 4.0, true).unwrap();
        assert!(plan.cuts.iter().all(|c| (c.seconds() % 12.0).abs() < 1e-9));
    }
}
