//! Cutting cues on segment boundaries, and the text of an HLS WebVTT segment.
//!
//! A cue belongs to every segment its interval `[start, end)` overlaps and keeps its original
//! times there (RFC 8216 §3.5 lets a cue span segments; players de-duplicate identical cues).
use super::{format_timestamp, Cue, SubtitleDoc};
use std::fmt::Write as _;

/// The cues overlapping `[start, end)`, in file order.
pub fn cues_in(cues: &[Cue], start: u64, end: u64) -> Vec<&Cue> {
    cues.iter()
        .filter(|c| c.start < end && c.end > start)
        .collect()
}

/// The value of `X-TIMESTAMP-MAP`: cue times are on the media timeline (the MPD's and the fMP4
/// segments' `tfdt` timeline, which starts at 0), so local time 0 maps to MPEG-TS time 0
/// (90 kHz) — the same mapping hls.js and Shaka Player use for fMP4 media.
pub const TIMESTAMP_MAP: &str = "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000";

/// One HLS WebVTT segment: the `WEBVTT` line, `X-TIMESTAMP-MAP`, the STYLE/REGION blocks, then
/// the cues that overlap the segment with their original times. Header metadata lines of the
/// source are not repeated (some parsers refuse them; they carry nothing a player uses).
pub fn hls_segment(doc: &SubtitleDoc, cues: &[&Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    out.push_str(TIMESTAMP_MAP);
    out.push('\n');
    for b in &doc.blocks {
        out.push('\n');
        out.push_str(b);
        out.push('\n');
    }
    for c in cues {
        out.push('\n');
        write_cue(&mut out, c);
    }
    out
}

/// A cue block: identifier, timing line with settings, payload, each line ended by LF.
pub fn write_cue(out: &mut String, c: &Cue) {
    if let Some(id) = &c.id {
        out.push_str(id);
        out.push('\n');
    }
    let _ = write!(
        out,
        "{} --> {}",
        format_timestamp(c.start),
        format_timestamp(c.end)
    );
    if !c.settings.is_empty() {
        out.push(' ');
        out.push_str(&c.settings);
    }
    out.push('\n');
    if !c.payload.is_empty() {
        out.push_str(&c.payload);
        out.push('\n');
    }
}

/// The WebVTT header a `wvtt` sample entry's `vttC` carries (ISO/IEC 14496-30 §7.3): the
/// `WEBVTT` line and the STYLE/REGION blocks, i.e. the file up to its first cue.
pub fn config_text(doc: &SubtitleDoc) -> String {
    let mut out = String::from("WEBVTT");
    for b in &doc.blocks {
        out.push_str("\n\n");
        out.push_str(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subtitle::vtt::parse;

    #[test]
    fn boundary_cue_is_in_both_segments_with_its_times() {
        let doc =
            parse(b"WEBVTT\n\n00:01.500 --> 00:02.500\na\n\n00:02.000 --> 00:03.000\nb\n").unwrap();
        let s1 = cues_in(&doc.cues, 0, 2000);
        let s2 = cues_in(&doc.cues, 2000, 4000);
        assert_eq!(s1.len(), 1);
        assert_eq!(s2.len(), 2);
        assert!(cues_in(&doc.cues, 4000, 6000).is_empty());
        let text = hls_segment(&doc, &s2);
        assert!(text.contains("00:00:01.500 --> 00:00:02.500\na\n"));
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back.cues, doc.cues);
    }
}
