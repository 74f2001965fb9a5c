//! WebVTT parser (W3C WebVTT, "WebVTT file parsing"), strict where the spec recovers silently:
//! a file vodpack cannot read faithfully is refused with the line that is wrong, never guessed at.
//!
//! Accepted: a UTF-8 BOM; `WEBVTT` alone or followed by a space or tab and header text; header
//! metadata lines up to the first blank line; LF, CRLF or CR line ends; NOTE blocks anywhere;
//! STYLE and REGION blocks before the first cue; cue identifiers; timestamps with or without
//! hours; cue settings; multi-line payloads with tags, entities and any Unicode text.
use super::error::{read_with, SubtitleError};
pub use super::error::{ParseError, ParseErrorKind, TimestampError};
use super::{Cue, SubtitleDoc};
use std::path::Path;

fn err<T>(line: usize, kind: ParseErrorKind) -> Result<T, ParseError> {
    Err(ParseError::at(line, kind))
}

/// Reads and parses a WebVTT file; errors name the file and the line.
pub fn parse_file(path: &Path) -> Result<SubtitleDoc, SubtitleError> {
    read_with(path, parse)
}

/// Decodes UTF-8 (after an optional BOM); an invalid byte is reported with its line.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).or_else(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        err(line, ParseErrorKind::NotUtf8)
    })
}

/// Splits on LF, CRLF or CR (WebVTT line terminators).
pub(crate) fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&text[start..i]);
                i += if b.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
}

/// True when `line` starts with `word` followed by nothing, a space or a tab.
fn is_keyword_line(line: &str, word: &str) -> bool {
    line.strip_prefix(word)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Parses a whole WebVTT document.
pub fn parse(bytes: &[u8]) -> Result<SubtitleDoc, ParseError> {
    let text = decode(bytes)?;
    let lines = lines(text);
    let mut doc = SubtitleDoc::default();
    let first = lines.first().copied().unwrap_or("");
    if !is_keyword_line(first, "WEBVTT") {
        return err(1, ParseErrorKind::NoWebVttHeader);
    }
    doc.header_text = first[6..].trim_start_matches([' ', '\t']).to_string();
    let mut i = 1;
    while i < lines.len() && !lines[i].is_empty() {
        if lines[i].contains("-->") {
            return err(i + 1, ParseErrorKind::HeaderNotSeparated);
        }
        doc.header_lines.push(lines[i].to_string());
        i += 1;
    }
    loop {
        while i < lines.len() && lines[i].is_empty() {
            i += 1;
        }
        if i >= lines.len() {
            break;
        }
        let line = lines[i];
        if is_keyword_line(line, "NOTE") {
            while i < lines.len() && !lines[i].is_empty() {
                i += 1;
            }
            continue;
        }
        if !line.contains("-->")
            && (is_keyword_line(line, "STYLE") || is_keyword_line(line, "REGION"))
        {
            let start = i;
            if !doc.cues.is_empty() {
                return err(
                    i + 1,
                    ParseErrorKind::BlockAfterCues(
                        line.split([' ', '\t']).next().unwrap_or(line).to_string(),
                    ),
                );
            }
            while i < lines.len() && !lines[i].is_empty() {
                if lines[i].contains("-->") {
                    return err(i + 1, ParseErrorKind::ArrowInBlock);
                }
                i += 1;
            }
            doc.blocks.push(lines[start..i].join("\n"));
            continue;
        }
        // A cue: optional identifier line, timing line, payload lines.
        let id = if line.contains("-->") {
            None
        } else {
            i += 1;
            match lines.get(i) {
                Some(l) if l.contains("-->") => Some(line.to_string()),
                _ => return err(i, ParseErrorKind::NotACue(line.to_string())),
            }
        };
        let (start, end, settings) =
            timing_line(lines[i]).map_err(|kind| ParseError::at(i + 1, kind))?;
        i += 1;
        let mut payload: Vec<&str> = Vec::new();
        // The payload ends at a blank line, or at a line holding '-->' (which starts the next cue).
        while i < lines.len() && !lines[i].is_empty() && !lines[i].contains("-->") {
            payload.push(lines[i]);
            i += 1;
        }
        doc.cues.push(Cue {
            id,
            start,
            end,
            settings,
            payload: payload.join("\n"),
        });
    }
    Ok(doc)
}

/// `start --> end [settings]`: times in ms and the settings joined by single spaces.
pub(crate) fn timing_line(line: &str) -> Result<(u64, u64, String), ParseErrorKind> {
    let ws = [' ', '\t'];
    let rest = line.trim_start_matches(ws);
    let (start, rest) = timestamp(rest).map_err(ParseErrorKind::StartTime)?;
    let rest = rest.trim_start_matches(ws);
    let rest = rest
        .strip_prefix("-->")
        .ok_or_else(|| ParseErrorKind::NoArrow(line.to_string()))?;
    let rest = rest.trim_start_matches(ws);
    let (end, rest) = timestamp(rest).map_err(ParseErrorKind::EndTime)?;
    if !rest.is_empty() && !rest.starts_with(ws) {
        return Err(ParseErrorKind::AfterEndTime(rest.to_string()));
    }
    if end <= start {
        return Err(ParseErrorKind::EndsBeforeStart {
            srt: false,
            start,
            end,
        });
    }
    let settings: Vec<&str> = rest.split(ws).filter(|s| !s.is_empty()).collect();
    for s in &settings {
        if s.contains("-->") {
            return Err(ParseErrorKind::NotASetting(s.to_string()));
        }
    }
    Ok((start, end, settings.join(" ")))
}

fn digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    s.split_at(n)
}

/// A WebVTT timestamp `[hh+:]mm:ss.ttt` → (ms, rest of the line).
pub(crate) fn timestamp(s: &str) -> Result<(u64, &str), TimestampError> {
    let text = || s.split([' ', '\t']).next().unwrap_or(s).to_string();
    let bad = || TimestampError::Syntax(text());
    let (a, rest) = digits(s);
    if a.is_empty() || a.len() > 10 {
        return Err(bad());
    }
    let a_val: u64 = a.parse().map_err(|_| bad())?;
    let rest = rest.strip_prefix(':').ok_or_else(bad)?;
    let (b, rest) = digits(rest);
    if b.len() != 2 {
        return Err(bad());
    }
    let b_val: u64 = b.parse().map_err(|_| bad())?;
    let hours_form = a.len() != 2 || a_val > 59 || rest.starts_with(':');
    let (h, m, sec, rest) = if hours_form {
        let rest = rest.strip_prefix(':').ok_or_else(bad)?;
        let (c, rest) = digits(rest);
        if c.len() != 2 {
            return Err(bad());
        }
        (a_val, b_val, c.parse::<u64>().map_err(|_| bad())?, rest)
    } else {
        (0, a_val, b_val, rest)
    };
    let rest = rest.strip_prefix('.').ok_or_else(bad)?;
    let (f, rest) = digits(rest);
    if f.len() != 3 {
        return Err(bad());
    }
    let ms: u64 = f.parse().map_err(|_| bad())?;
    if m > 59 || sec > 59 {
        return Err(TimestampError::OutOfRange(text()));
    }
    Ok((((h * 60 + m) * 60 + sec) * 1000 + ms, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_grammar() {
        let src = "\u{feff}WEBVTT - Français\r\nKind: captions\r\nLanguage: fr\r\n\r\nSTYLE\r\n::cue { color: yellow }\r\n\r\nREGION\r\nid:r1 width:40%\r\n\r\nNOTE a comment\r\nover two lines\r\n\r\nc1\r\n00:01.000 --> 00:02.500 align:start  line:10%\r\n<v Marie>Bonjour à <i>tous</i> !</v>\r\ndeuxième ligne &amp; fin\r\n\r\n01:00:00.000 --> 01:00:01.000\rcue sans id\r\r";
        let doc = parse(src.as_bytes()).unwrap();
        assert_eq!(doc.header_text, "- Français");
        assert_eq!(doc.header_lines, vec!["Kind: captions", "Language: fr"]);
        assert_eq!(doc.blocks.len(), 2);
        assert_eq!(doc.cues.len(), 2);
        let c = &doc.cues[0];
        assert_eq!(c.id.as_deref(), Some("c1"));
        assert_eq!((c.start, c.end), (1000, 2500));
        assert_eq!(c.settings, "align:start line:10%");
        assert_eq!(
            c.payload,
            "<v Marie>Bonjour à <i>tous</i> !</v>\ndeuxième ligne &amp; fin"
        );
        assert_eq!(doc.cues[1].start, 3_600_000);
        assert_eq!(doc.cues[1].payload, "cue sans id");
    }

    #[test]
    fn payload_ends_at_a_timing_line() {
        let doc =
            parse(b"WEBVTT\n\n00:00.000 --> 00:01.000\na\n00:01.000 --> 00:02.000\nb\n").unwrap();
        assert_eq!(doc.cues.len(), 2);
        assert_eq!(doc.cues[1].payload, "b");
    }

    #[test]
    fn errors_name_the_line() {
        let e = |s: &str| parse(s.as_bytes()).unwrap_err();
        assert_eq!(e("WEBVTTX\n").line, 1);
        assert_eq!(e("").line, 1);
        assert_eq!(e("WEBVTT\n\n00:01.000 --> 00:00.500\nx\n").line, 3);
        assert_eq!(e("WEBVTT\n\n00:01.00 --> 00:02.000\nx\n").line, 3);
        assert_eq!(e("WEBVTT\n\n00:61.000 --> 00:62.000\nx\n").line, 3);
        assert_eq!(e("WEBVTT\n\nid\nnot a timing\n").line, 3);
        assert_eq!(
            e("WEBVTT\n\n00:00.000 --> 00:01.000\nx\n\nSTYLE\n::cue{}\n").line,
            6
        );
        assert_eq!(e("WEBVTT\n00:00.000 --> 00:01.000\n").line, 2);
        assert!(
            e("WEBVTT\n\n99999999999:00:00.000 --> 99999999999:00:01.000\nx\n")
                .to_string()
                .contains("timestamp")
        );
        let bad_utf8 = parse(b"WEBVTT\n\n00:00.000 --> 00:01.000\n\xff\n").unwrap_err();
        assert_eq!(bad_utf8.line, 4);
    }

    #[test]
    fn timestamps_with_and_without_hours() {
        assert_eq!(timestamp("00:01.234").unwrap().0, 1234);
        assert_eq!(timestamp("01:00:01.234").unwrap().0, 3_601_234);
        assert_eq!(timestamp("100:00:00.000").unwrap().0, 360_000_000);
        assert!(timestamp("1:00.000").is_err()); // one digit: hours, so ss is missing
        assert!(timestamp("00:00:00,000").is_err());
    }
}
