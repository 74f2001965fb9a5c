//! Subtitles: WebVTT (and SRT, converted to WebVTT) read into cues, cut on the video segment
//! boundaries, and written as HLS WebVTT segments and DASH/CMAF `wvtt` fMP4 segments
//! (ISO/IEC 14496-30); TTML/IMSC1 read into timed paragraphs (`ttml`) and written as DASH `stpp`
//! segments of one IMSC1 document each, and as HLS WebVTT. docs/subtitles.md describes the choices. A bad file is a
//! [`SubtitleError`] naming the file and the line, which becomes an invalid-input error (exit 3).
pub mod error;
pub mod segment;
pub mod srt;
pub mod stpp;
pub mod ttml;
pub mod vtt;
pub mod write;
pub mod wvtt;

pub use error::{ParseError, ParseErrorKind, SubtitleError};

/// One cue. Times are milliseconds on the presentation timeline (WebVTT timestamps have
/// millisecond resolution, so nothing is lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    /// The cue identifier line, if any.
    pub id: Option<String>,
    /// Start, ms.
    pub start: u64,
    /// End (after the start), ms.
    pub end: u64,
    /// Cue settings as written (`align:start line:10%`), separated by single spaces.
    pub settings: String,
    /// The cue text, lines joined with `\n`, tags and entities kept as written.
    pub payload: String,
}

/// A parsed WebVTT file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubtitleDoc {
    /// Text after `WEBVTT` on the first line (without the separating space or tab).
    pub header_text: String,
    /// Header metadata lines after the `WEBVTT` line (e.g. `Kind: captions`), kept as written.
    pub header_lines: Vec<String>,
    /// STYLE and REGION blocks, each as its full text (first line included), in file order.
    pub blocks: Vec<String>,
    /// Cues in file order.
    pub cues: Vec<Cue>,
}

/// At most this many characters of the offending text are quoted in a message.
const QUOTE: usize = 40;

/// `s` cut to [`QUOTE`] characters (with `…` when cut), for quoting in a message.
pub(crate) fn short(s: &str) -> String {
    let mut t: String = s.chars().take(QUOTE).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// `hh:mm:ss.ttt` (hours always written, as the spec allows; two digits at least).
pub fn format_timestamp(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{h:02}:{:02}:{:02}.{:03}",
        rest / 60_000,
        (rest % 60_000) / 1000,
        rest % 1000
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::format_timestamp(0), "00:00:00.000");
        assert_eq!(super::format_timestamp(3_723_004), "01:02:03.004");
        assert_eq!(super::format_timestamp(360_000_000), "100:00:00.000");
    }
}
