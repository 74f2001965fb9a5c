//! The subtitle layer's errors: what is wrong at which line of a WebVTT, SRT or TTML file
//! ([`ParseError`], from the parsers of bytes), and which file it was ([`SubtitleError`], from
//! the readers of files). The packager turns a [`SubtitleError`] into an invalid-input or I/O
//! [`crate::Error`] (exit 3 or 7) at the boundary, keeping the message.
use super::short;
use std::fmt;
use std::path::PathBuf;

/// A WebVTT timestamp (`[hh:]mm:ss.ttt`) that cannot be read; holds the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampError {
    /// Not of the form `[hh:]mm:ss.ttt`.
    Syntax(String),
    /// Minutes or seconds above 59.
    OutOfRange(String),
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampError::Syntax(t) => {
                write!(f, "'{}' is not a timestamp ([hh:]mm:ss.ttt)", short(t))
            }
            TimestampError::OutOfRange(t) => write!(
                f,
                "'{}' is not a timestamp ([hh:]mm:ss.ttt) (minutes and seconds must be 00 to 59)",
                short(t)
            ),
        }
    }
}

impl std::error::Error for TimestampError {}

/// What is wrong with a line of a subtitle file. Quoted text is kept as written (messages cut it
/// to 40 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A byte sequence that is not UTF-8.
    NotUtf8,
    /// WebVTT: the first line is not `WEBVTT` (alone or followed by a space or tab).
    NoWebVttHeader,
    /// WebVTT: a timing line inside the header (no blank line before the first cue).
    HeaderNotSeparated,
    /// WebVTT: a STYLE or REGION block (named) after the first cue.
    BlockAfterCues(String),
    /// WebVTT: `-->` inside a STYLE or REGION block.
    ArrowInBlock,
    /// WebVTT: a line that is neither a timing line nor an identifier followed by one.
    NotACue(String),
    /// WebVTT: the start time of a timing line.
    StartTime(TimestampError),
    /// WebVTT: no `-->` after the start time (the whole line).
    NoArrow(String),
    /// WebVTT: the end time of a timing line.
    EndTime(TimestampError),
    /// WebVTT: text glued to the end time.
    AfterEndTime(String),
    /// WebVTT: a cue setting that holds `-->`.
    NotASetting(String),
    /// A cue (WebVTT) or subtitle (SRT) that ends at or before its start (ms).
    EndsBeforeStart {
        /// SRT (`subtitle`) or WebVTT (`cue`).
        srt: bool,
        /// Start, ms.
        start: u64,
        /// End, ms.
        end: u64,
    },
    /// SRT: a line that is neither a cue number nor a timing line.
    NotSrtCueNumber(String),
    /// SRT: not a timing line `hh:mm:ss,mmm --> hh:mm:ss,mmm`.
    NotSrtTimingLine(String),
    /// SRT: a time that is not `h+:mm:ss,mmm`.
    NotSrtTime(String),
    /// SRT: no subtitle in the whole file.
    NoSrtSubtitles,
    /// TTML: what is wrong in the document.
    Ttml(super::ttml::error::TtmlErrorKind),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::format_timestamp as ts;
        match self {
            ParseErrorKind::NotUtf8 => f.write_str("the text is not UTF-8"),
            ParseErrorKind::NoWebVttHeader => {
                f.write_str("a WebVTT file must start with 'WEBVTT'")
            }
            ParseErrorKind::HeaderNotSeparated => {
                f.write_str("a blank line must separate the WEBVTT header from the first cue")
            }
            ParseErrorKind::BlockAfterCues(block) => {
                write!(f, "a {block} block must come before the first cue")
            }
            ParseErrorKind::ArrowInBlock => {
                f.write_str("'-->' is not allowed in a STYLE or REGION block")
            }
            ParseErrorKind::NotACue(line) => write!(
                f,
                "'{}' is not a cue timing line (expected 'start --> end') nor an identifier followed by one",
                short(line)
            ),
            ParseErrorKind::StartTime(e) => write!(f, "start time: {e}"),
            ParseErrorKind::NoArrow(line) => {
                write!(f, "expected '-->' after the start time in '{}'", short(line))
            }
            ParseErrorKind::EndTime(e) => write!(f, "end time: {e}"),
            ParseErrorKind::AfterEndTime(rest) => {
                write!(f, "unexpected '{}' after the end time", short(rest))
            }
            ParseErrorKind::NotASetting(s) => write!(f, "'{}' is not a cue setting", short(s)),
            ParseErrorKind::EndsBeforeStart { srt, start, end } => write!(
                f,
                "the {} ends ({}) at or before its start ({})",
                if *srt { "subtitle" } else { "cue" },
                ts(*end),
                ts(*start)
            ),
            ParseErrorKind::NotSrtCueNumber(l) => {
                write!(f, "expected a cue number or a timing line, found '{l}'")
            }
            ParseErrorKind::NotSrtTimingLine(l) => write!(
                f,
                "'{l}' is not an SRT timing line (hh:mm:ss,mmm --> hh:mm:ss,mmm)"
            ),
            ParseErrorKind::NotSrtTime(t) => write!(f, "'{t}' is not an SRT time"),
            ParseErrorKind::NoSrtSubtitles => f.write_str("no subtitles in this SRT file"),
            ParseErrorKind::Ttml(e) => write!(f, "{e}"),
        }
    }
}

/// A parse error at a 1-based line of a subtitle file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong there.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// `kind` at `line` (1-based).
    pub fn at(line: usize, kind: ParseErrorKind) -> Self {
        ParseError { line, kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ParseErrorKind::StartTime(e) | ParseErrorKind::EndTime(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a subtitle file could not be read: the file, and an I/O or parse error in it.
#[derive(Debug)]
pub struct SubtitleError {
    /// The subtitle file.
    pub file: PathBuf,
    /// What went wrong.
    pub cause: SubtitleCause,
}

/// The cause inside a [`SubtitleError`].
#[derive(Debug)]
pub enum SubtitleCause {
    /// The file could not be read.
    Io(std::io::Error),
    /// Its text is not valid WebVTT/SRT.
    Parse(ParseError),
}

impl fmt::Display for SubtitleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            SubtitleCause::Io(e) => write!(f, "{}: {e}", self.file.display()),
            SubtitleCause::Parse(e) => write!(f, "{}: {e}", self.file.display()),
        }
    }
}

impl std::error::Error for SubtitleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            SubtitleCause::Io(e) => Some(e),
            SubtitleCause::Parse(e) => Some(e),
        }
    }
}

/// At the packager's boundary: a file that cannot be read is an I/O error (exit 7), one that
/// does not parse is invalid input (exit 3); both name the file, the latter the line.
impl From<SubtitleError> for crate::Error {
    fn from(e: SubtitleError) -> Self {
        match e.cause {
            SubtitleCause::Io(io) => crate::Error::io(e.file, io),
            SubtitleCause::Parse(p) => crate::Error::invalid(e.file, p.to_string()),
        }
    }
}

/// Reads `path` and parses it with `parse`, naming the file in any error.
pub(crate) fn read_with<T>(
    path: &std::path::Path,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T, SubtitleError> {
    let fail = |cause| SubtitleError {
        file: path.to_path_buf(),
        cause,
    };
    let bytes = crate::storage::read_small(path).map_err(|e| fail(SubtitleCause::Io(e)))?;
    parse(&bytes).map_err(|e| fail(SubtitleCause::Parse(e)))
}
