//! SubRip (SRT) → WebVTT cues. SRT has no formal grammar; this reads what players accept:
//! blocks separated by blank lines, an optional numeric index (kept as the cue id), a timing line
//! `hh:mm:ss,mmm --> hh:mm:ss,mmm` (a `.` is accepted for the comma; display coordinates after
//! it are dropped), then text lines. `<i>`, `<b>`, `<u>` are kept (WebVTT has them); `<font>` and
//! `{\...}` override tags are dropped; `&`, `<`, `>` of plain text are escaped as WebVTT needs.
use super::error::{read_with, ParseErrorKind, SubtitleError};
use super::vtt::{decode, lines, ParseError};
use super::{Cue, SubtitleDoc};
use std::path::Path;

/// Reads and parses an SRT file; errors name the file and the line.
pub fn parse_file(path: &Path) -> Result<SubtitleDoc, SubtitleError> {
    read_with(path, parse)
}

/// Parses SRT text into WebVTT cues (the numeric index becomes the cue id).
pub fn parse(bytes: &[u8]) -> Result<SubtitleDoc, ParseError> {
    let text = decode(bytes)?;
    let lines = lines(text);
    let mut doc = SubtitleDoc::default();
    let mut i = 0;
    let fail = ParseError::at;
    loop {
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        if i >= lines.len() {
            break;
        }
        let mut id = None;
        if !lines[i].contains("-->") {
            let l = lines[i].trim();
            if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(i + 1, ParseErrorKind::NotSrtCueNumber(l.to_string())));
            }
            id = Some(l.to_string());
            i += 1;
        }
        let timing = lines.get(i).copied().unwrap_or("");
        let (start, end) = timing_line(timing).map_err(|m| fail(i + 1, m))?;
        i += 1;
        let mut payload = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            // A line of formatting tags only (`{\an8}`, `<font>`) shows nothing; kept, it would
            // be a blank line, which ends a WebVTT cue.
            let line = convert_text(lines[i]);
            if !line.is_empty() {
                payload.push(line);
            }
            i += 1;
        }
        doc.cues.push(Cue {
            id,
            start,
            end,
            settings: String::new(),
            payload: payload.join("\n"),
        });
    }
    if doc.cues.is_empty() {
        return Err(fail(1, ParseErrorKind::NoSrtSubtitles));
    }
    Ok(doc)
}

fn timing_line(line: &str) -> Result<(u64, u64), ParseErrorKind> {
    let (a, b) = line
        .split_once("-->")
        .ok_or_else(|| ParseErrorKind::NotSrtTimingLine(line.to_string()))?;
    let start =
        timestamp(a.trim()).ok_or_else(|| ParseErrorKind::NotSrtTime(a.trim().to_string()))?;
    let b = b.trim_start();
    let end_text = b.split_whitespace().next().unwrap_or("");
    let end =
        timestamp(end_text).ok_or_else(|| ParseErrorKind::NotSrtTime(end_text.to_string()))?;
    if end <= start {
        return Err(ParseErrorKind::EndsBeforeStart {
            srt: true,
            start,
            end,
        });
    }
    Ok((start, end))
}

/// `h+:mm:ss,mmm` (or `.mmm`).
fn timestamp(s: &str) -> Option<u64> {
    let (hms, ms) = s.split_once([',', '.'])?;
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || h.is_empty()
        || h.len() > 10
        || m.len() != 2
        || sec.len() != 2
        || ms.len() != 3
    {
        return None;
    }
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if ![h, m, sec, ms].iter().all(|x| all_digits(x)) {
        return None;
    }
    let (h, m, sec, ms): (u64, u64, u64, u64) = (
        h.parse().ok()?,
        m.parse().ok()?,
        sec.parse().ok()?,
        ms.parse().ok()?,
    );
    if m > 59 || sec > 59 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// One SRT text line as WebVTT cue text.
fn convert_text(line: &str) -> String {
    const KEPT: &[&str] = &["<i>", "</i>", "<b>", "</b>", "<u>", "</u>"];
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some(tag) = KEPT.iter().find(|t| {
                rest.len() >= t.len()
                    && rest.as_bytes()[..t.len()].eq_ignore_ascii_case(t.as_bytes())
            }) {
                out.push_str(&tag.to_ascii_lowercase());
                rest = &rest[tag.len()..];
                continue;
            }
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("<font") || lower.starts_with("</font") {
                if let Some(close) = rest.find('>') {
                    rest = &rest[close + 1..];
                    continue;
                }
            }
            out.push_str("&lt;");
        } else if c == '{' && rest.starts_with("{\\") {
            if let Some(close) = rest.find('}') {
                rest = &rest[close + 1..];
                continue;
            }
            out.push('{');
        } else if c == '>' {
            out.push_str("&gt;");
        } else if c == '&' {
            let entity = rest[1..].find(';').filter(|&n| {
                n > 0
                    && n < 10
                    && rest[1..1 + n]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'#')
            });
            if entity.is_some() {
                out.push('&');
            } else {
                out.push_str("&amp;");
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_to_cues() {
        let doc = parse(
            "1\r\n00:00:01,000 --> 00:00:02,500 X1:10 X2:20\r\n<i>Bonjour</i> & <font color=\"red\">salut</font> a<b\r\n{\\an8}deux\r\n\r\n2\r\n00:00:03.000 --> 00:00:04,000\r\nété\r\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(doc.cues.len(), 2);
        assert_eq!(doc.cues[0].id.as_deref(), Some("1"));
        assert_eq!((doc.cues[0].start, doc.cues[0].end), (1000, 2500));
        assert_eq!(
            doc.cues[0].payload,
            "<i>Bonjour</i> &amp; salut a&lt;b\ndeux"
        );
        assert_eq!(doc.cues[1].payload, "été");
    }

    #[test]
    fn multibyte_text_after_a_lone_angle_bracket() {
        // Found by the fuzzer: a '<' followed by a multi-byte character sliced inside it.
        let doc = parse("1\n00:00:00,000 --> 00:00:01,000\na<\u{feff}é</I>\n".as_bytes()).unwrap();
        assert_eq!(doc.cues[0].payload, "a&lt;\u{feff}é</i>");
    }

    #[test]
    fn tag_only_lines_do_not_become_blank_lines() {
        // Found by the fuzzer: a line emptied by tag removal split the WebVTT cue in two.
        let doc = parse(b"1\n00:00:00,000 --> 00:00:01,000\n{\\an8}\n<font color=red></font>\nx\n")
            .unwrap();
        assert_eq!(doc.cues[0].payload, "x");
    }

    #[test]
    fn srt_errors_name_the_line() {
        assert_eq!(
            parse(b"1\n00:00:01,000 -> 00:00:02,000\nx\n")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            parse(b"1\n00:00:03,000 --> 00:00:02,000\nx\n")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(parse(b"hello\n").unwrap_err().line, 1);
        assert_eq!(parse(b"").unwrap_err().line, 1);
    }
}
