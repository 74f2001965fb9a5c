//! Warnings of a packaging run: things worth a look that did not stop it. Each names the
//! rendition (or input) and every segment it concerns; `vodpack package` prints them on stderr
//! (even with `--quiet`) and lists them in `--json` (docs/usage.md).
use serde::Serialize;
use std::fmt;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Segments longer than 6 s: the input's keyframes are further apart than the target.
    LongSegment,
    /// A track of an input was left out of the output.
    DroppedTrack,
    /// Subtitle cues outside the presentation were left out.
    DroppedCues,
}

/// One warning, as printed and as listed in `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// What kind of warning.
    pub kind: WarningKind,
    /// The rendition id, or the input path for a track that became no rendition.
    pub subject: String,
    /// Every segment (numbers from 1) the warning concerns; empty when it concerns the whole
    /// rendition.
    pub segments: Vec<u64>,
    /// The line printed on stderr after `vodpack: warning: `.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The longest segment a CMAF/HLS player is expected to take without complaint (HLS authoring
/// guidance and the 2–6 s range of `--segment-duration`).
pub const LONG_SEGMENT_SECONDS: f64 = 6.0;

impl Warning {
    /// Segments of `rendition` longer than [`LONG_SEGMENT_SECONDS`], given as (number, duration
    /// in `timescale` ticks); `None` when there is none.
    pub fn long_segments(
        rendition: &str,
        timescale: u32,
        segments: impl IntoIterator<Item = (u64, u64)>,
    ) -> Option<Warning> {
        let ts = f64::from(timescale.max(1));
        let long: Vec<(u64, f64)> = segments
            .into_iter()
            .map(|(n, d)| (n, d as f64 / ts))
            .filter(|&(_, secs)| secs > LONG_SEGMENT_SECONDS + 1e-3)
            .collect();
        let (longest_n, longest) =
            long.iter()
                .copied()
                .fold(None, |best: Option<(u64, f64)>, (n, s)| match best {
                    Some((_, b)) if b >= s => best,
                    _ => Some((n, s)),
                })?;
        let numbers: Vec<u64> = long.iter().map(|&(n, _)| n).collect();
        let what = if numbers.len() == 1 {
            format!("segment {} lasts {longest:.3} s", numbers[0])
        } else {
            format!(
                "segments {} last over 6 s (longest: segment {longest_n}, {longest:.3} s)",
                ranges(&numbers)
            )
        };
        let message = if numbers.len() == 1 {
            format!("{rendition}: {what} (over 6 s): its keyframes are further apart than --segment-duration")
        } else {
            format!("{rendition}: {what}: its keyframes are further apart than --segment-duration")
        };
        Some(Warning {
            kind: WarningKind::LongSegment,
            subject: rendition.to_string(),
            segments: numbers,
            message,
        })
    }

    /// Track `track_id` of `input` was left out (`why` says why).
    pub fn dropped_track(input: &str, track_id: u32, why: &str) -> Warning {
        Warning {
            kind: WarningKind::DroppedTrack,
            subject: input.to_string(),
            segments: Vec::new(),
            message: format!("{input}: track {track_id} left out: {why}"),
        }
    }
}

/// `1, 2, 3, 5, 7, 8` → `1–3, 5, 7–8`: every number named, runs folded.
pub fn ranges(numbers: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        out.push(if end == start {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_every_number() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1–3, 5, 7–8");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn long_segments_names_every_long_segment() {
        // timescale 1000: 8 s, 4 s, 7 s, 6 s, 6.5 s
        let segs = [(1, 8000), (2, 4000), (3, 7000), (4, 6000), (5, 6500)];
        let w = Warning::long_segments("video_240p", 1000, segs).unwrap();
        assert_eq!(w.kind, WarningKind::LongSegment);
        assert_eq!(w.segments, vec![1, 3, 5]);
        assert!(w.message.contains("segments 1, 3, 5"), "{}", w.message);
        assert!(w.message.contains("segment 1, 8.000 s"), "{}", w.message);
        assert!(Warning::long_segments("a", 1000, [(1, 6000), (2, 2000)]).is_none());
        let one = Warning::long_segments("a", 1000, [(2, 6500)]).unwrap();
        assert_eq!(
            one.message.split(": ").nth(1),
            Some("segment 2 lasts 6.500 s (over 6 s)")
        );
    }

    #[test]
    fn serializes_with_kind_subject_segments_message() {
        let w = Warning::dropped_track("in.mp4", 3, "a 'tmcd' track");
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["kind"], "dropped_track");
        assert_eq!(v["subject"], "in.mp4");
        assert_eq!(v["segments"], serde_json::json!([]));
        assert_eq!(v["message"], "in.mp4: track 3 left out: a 'tmcd' track");
    }
}
