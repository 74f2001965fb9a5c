//! A small HLS reader (RFC 8216) for what vodpack writes: the multivariant playlist's variant,
//! media, I-frame and session-key tags, and media playlists (EXT-X-MAP, EXT-X-KEY, EXTINF,
//! EXT-X-BYTERANGE, URIs). Unknown tags are skipped; malformed lines are errors with their line
//! number ([`HlsError`]), never panics.
use std::collections::HashMap;
use std::fmt;

/// What is wrong in a playlist (the line, when there is one, is in [`HlsError`]).
#[derive(Debug, Clone, PartialEq)]
pub enum HlsErrorKind {
    /// The text does not start with `#EXTM3U`.
    NoHeader,
    /// An attribute (the rest of the list) without `=`.
    NoEquals(String),
    /// An attribute (named) whose quoted string never ends.
    Unterminated(String),
    /// Text after an attribute's value (name, text).
    AfterValue(String, String),
    /// A tag (named) without its URI attribute.
    MissingUri(&'static str),
    /// A URI line in a multivariant playlist without EXT-X-STREAM-INF before it.
    UriWithoutStreamInf(String),
    /// EXT-X-STREAM-INF as the last line.
    StreamInfWithoutUri,
    /// A byte range length that is not a number.
    ByteRangeLength(String),
    /// A byte range offset that is not a number.
    ByteRangeOffset(String),
    /// An EXTINF duration that is not a number.
    ExtinfNotANumber(String),
    /// An EXTINF duration that is negative or not finite.
    ExtinfNotADuration(f64),
    /// An EXT-X-TARGETDURATION that is not an integer.
    TargetDuration(String),
    /// A segment URI without EXTINF before it.
    SegmentWithoutExtinf(String),
    /// EXT-X-BYTERANGE without an offset, and no earlier range of the same URI to follow.
    ByteRangeWithoutOffset,
}

impl fmt::Display for HlsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HlsErrorKind::NoHeader => f.write_str("does not start with #EXTM3U"),
            HlsErrorKind::NoEquals(rest) => write!(f, "attribute '{rest}' has no '='"),
            HlsErrorKind::Unterminated(name) => {
                write!(f, "attribute {name}: unterminated quoted string")
            }
            HlsErrorKind::AfterValue(name, rest) => {
                write!(f, "attribute {name}: unexpected '{rest}' after its value")
            }
            HlsErrorKind::MissingUri(tag) => write!(f, "{tag} without URI"),
            HlsErrorKind::UriWithoutStreamInf(uri) => {
                write!(f, "URI '{uri}' without EXT-X-STREAM-INF")
            }
            HlsErrorKind::StreamInfWithoutUri => {
                f.write_str("EXT-X-STREAM-INF without a URI line after it")
            }
            HlsErrorKind::ByteRangeLength(n) => {
                write!(f, "byte range length '{n}' is not a number")
            }
            HlsErrorKind::ByteRangeOffset(o) => {
                write!(f, "byte range offset '{o}' is not a number")
            }
            HlsErrorKind::ExtinfNotANumber(d) => {
                write!(f, "EXTINF duration '{d}' is not a number")
            }
            HlsErrorKind::ExtinfNotADuration(d) => {
                write!(f, "EXTINF duration {d} is not a duration")
            }
            HlsErrorKind::TargetDuration(v) => {
                write!(f, "EXT-X-TARGETDURATION '{v}' is not an integer")
            }
            HlsErrorKind::SegmentWithoutExtinf(uri) => {
                write!(f, "segment '{uri}' without EXTINF")
            }
            HlsErrorKind::ByteRangeWithoutOffset => {
                f.write_str("EXT-X-BYTERANGE without offset and no previous range")
            }
        }
    }
}

/// A playlist that cannot be read: what, and at which line (1-based) when it is one line's fault.
#[derive(Debug, Clone, PartialEq)]
pub struct HlsError {
    /// The line, from 1.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: HlsErrorKind,
}

impl From<HlsErrorKind> for HlsError {
    fn from(kind: HlsErrorKind) -> Self {
        HlsError { line: None, kind }
    }
}

impl fmt::Display for HlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for HlsError {}

/// A URI that does not name a file inside the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriError {
    /// An absolute URL, absolute path or data URI where a relative path is needed.
    NotRelative(String),
    /// A relative path whose `..` leaves the output folder.
    LeavesOutput(String),
    /// An absolute URL none of whose path tails names a file of the output.
    NoFileInOutput(String),
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NotRelative(uri) => {
                write!(f, "URI '{uri}' is not a relative path inside the output")
            }
            UriError::LeavesOutput(uri) => write!(f, "URI '{uri}' leaves the output folder"),
            UriError::NoFileInOutput(uri) => write!(
                f,
                "absolute URI '{uri}' names no file of the output (no tail of its path exists in OUT)"
            ),
        }
    }
}

impl std::error::Error for UriError {}

/// An attribute list (§4.2) as name → value; quoted values are unquoted.
pub type Attrs = HashMap<String, String>;

/// Parses `NAME=value,NAME="quoted, value",...`.
pub fn parse_attrs(s: &str) -> Result<Attrs, HlsErrorKind> {
    let mut out = Attrs::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| HlsErrorKind::NoEquals(rest.to_string()))?;
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| HlsErrorKind::Unterminated(name.to_string()))?;
            (&q[..end], &q[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        out.insert(name.trim().to_string(), value.to_string());
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(HlsErrorKind::AfterValue(name.to_string(), rest.to_string()));
        }
    }
    Ok(out)
}

/// A variant stream (EXT-X-STREAM-INF + URI).
#[derive(Debug, Clone)]
pub struct Variant {
    /// The variant's media playlist URI.
    pub uri: String,
    /// Its CODECS, one per entry.
    pub codecs: Vec<String>,
    /// Its AUDIO group, if any.
    pub audio: Option<String>,
}

/// An EXT-X-MEDIA rendition.
#[derive(Debug, Clone)]
pub struct Media {
    /// TYPE (AUDIO, SUBTITLES…).
    pub kind: String,
    /// GROUP-ID.
    pub group: String,
    /// URI of its media playlist (absent for renditions carried in the variant).
    pub uri: Option<String>,
}

/// An EXT-X-I-FRAME-STREAM-INF.
#[derive(Debug, Clone)]
pub struct IFrameStream {
    /// URI of the I-frame playlist.
    pub uri: String,
    /// Its CODECS, one per entry.
    pub codecs: Vec<String>,
}

/// A multivariant playlist: variants, renditions, I-frame streams and session keys.
#[derive(Debug, Clone, Default)]
pub struct Multivariant {
    /// EXT-X-STREAM-INF variants, in order.
    pub variants: Vec<Variant>,
    /// EXT-X-MEDIA renditions.
    pub media: Vec<Media>,
    /// EXT-X-I-FRAME-STREAM-INF streams.
    pub iframe_streams: Vec<IFrameStream>,
    /// EXT-X-SESSION-KEY attribute lists.
    pub session_keys: Vec<Attrs>,
}

fn codecs(a: &Attrs) -> Vec<String> {
    a.get("CODECS")
        .map(|c| c.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

fn check_header(text: &str) -> Result<(), HlsError> {
    if !text.trim_start_matches('\u{feff}').starts_with("#EXTM3U") {
        return Err(HlsErrorKind::NoHeader.into());
    }
    Ok(())
}

/// Parses a multivariant playlist.
pub fn parse_multivariant(text: &str) -> Result<Multivariant, HlsError> {
    check_header(text)?;
    let mut m = Multivariant::default();
    let mut pending: Option<Attrs> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |kind: HlsErrorKind| HlsError {
            line: Some(n + 1),
            kind,
        };
        if line.is_empty() {
            continue;
        }
        if let Some(a) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            pending = Some(parse_attrs(a).map_err(at)?);
        } else if let Some(a) = line.strip_prefix("#EXT-X-MEDIA:") {
            let a = parse_attrs(a).map_err(at)?;
            m.media.push(Media {
                kind: a.get("TYPE").cloned().unwrap_or_default(),
                group: a.get("GROUP-ID").cloned().unwrap_or_default(),
                uri: a.get("URI").cloned(),
            });
        } else if let Some(a) = line.strip_prefix("#EXT-X-I-FRAME-STREAM-INF:") {
            let a = parse_attrs(a).map_err(at)?;
            let uri = a
                .get("URI")
                .cloned()
                .ok_or_else(|| at(HlsErrorKind::MissingUri("EXT-X-I-FRAME-STREAM-INF")))?;
            m.iframe_streams.push(IFrameStream {
                uri,
                codecs: codecs(&a),
            });
        } else if let Some(a) = line.strip_prefix("#EXT-X-SESSION-KEY:") {
            m.session_keys.push(parse_attrs(a).map_err(at)?);
        } else if line.starts_with('#') {
            continue;
        } else if let Some(a) = pending.take() {
            m.variants.push(Variant {
                uri: line.to_string(),
                codecs: codecs(&a),
                audio: a.get("AUDIO").cloned(),
            });
        } else {
            return Err(at(HlsErrorKind::UriWithoutStreamInf(line.to_string())));
        }
    }
    if pending.is_some() {
        return Err(HlsErrorKind::StreamInfWithoutUri.into());
    }
    Ok(m)
}

/// A resource: URI and optional byte range (length, offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The URI as written.
    pub uri: String,
    /// EXT-X-BYTERANGE as (length, offset), if any.
    pub range: Option<(u64, u64)>,
}

/// One media segment of a media playlist.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Where the segment is.
    pub resource: Resource,
    /// EXTINF duration as written (seconds).
    pub duration: f64,
    /// The EXT-X-KEY attribute lists in force (empty = clear, METHOD=NONE).
    pub keys: Vec<Attrs>,
}

/// A media playlist.
#[derive(Debug, Clone, Default)]
pub struct MediaPlaylist {
    /// EXT-X-MAP (the init segment), if any.
    pub map: Option<Resource>,
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// EXT-X-TARGETDURATION, seconds.
    pub target_duration: Option<u64>,
    /// Whether EXT-X-ENDLIST is present.
    pub endlist: bool,
    /// Whether EXT-X-I-FRAMES-ONLY is present.
    pub iframes_only: bool,
}

/// `n[@o]` (§4.3.2.2); without `o` the range follows the previous one of the same URI.
fn parse_byterange(s: &str) -> Result<(u64, Option<u64>), HlsErrorKind> {
    let (n, o) = match s.split_once('@') {
        Some((n, o)) => (n, Some(o)),
        None => (s, None),
    };
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| HlsErrorKind::ByteRangeLength(n.to_string()))?;
    let o = o
        .map(|o| {
            o.trim()
                .parse::<u64>()
                .map_err(|_| HlsErrorKind::ByteRangeOffset(o.to_string()))
        })
        .transpose()?;
    Ok((n, o))
}

/// Parses a media playlist (segments, byte ranges, keys in force).
pub fn parse_media_playlist(text: &str) -> Result<MediaPlaylist, HlsError> {
    check_header(text)?;
    let mut p = MediaPlaylist::default();
    let mut duration: Option<f64> = None;
    let mut range: Option<(u64, Option<u64>)> = None;
    let mut keys: Vec<Attrs> = Vec::new();
    let mut last_end: HashMap<String, u64> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |kind: HlsErrorKind| HlsError {
            line: Some(n + 1),
            kind,
        };
        if line.is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap_or("").trim();
            let d: f64 = d
                .parse()
                .map_err(|_| at(HlsErrorKind::ExtinfNotANumber(d.to_string())))?;
            if !d.is_finite() || d < 0.0 {
                return Err(at(HlsErrorKind::ExtinfNotADuration(d)));
            }
            duration = Some(d);
        } else if let Some(v) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            range = Some(parse_byterange(v).map_err(at)?);
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target_duration = Some(
                v.trim()
                    .parse()
                    .map_err(|_| at(HlsErrorKind::TargetDuration(v.to_string())))?,
            );
        } else if let Some(v) = line.strip_prefix("#EXT-X-MAP:") {
            let a = parse_attrs(v).map_err(at)?;
            let uri = a
                .get("URI")
                .cloned()
                .ok_or_else(|| at(HlsErrorKind::MissingUri("EXT-X-MAP")))?;
            let range = match a.get("BYTERANGE") {
                Some(r) => {
                    let (len, off) = parse_byterange(r).map_err(at)?;
                    Some((len, off.unwrap_or(0)))
                }
                None => None,
            };
            p.map = Some(Resource { uri, range });
        } else if let Some(v) = line.strip_prefix("#EXT-X-KEY:") {
            let a = parse_attrs(v).map_err(at)?;
            if a.get("METHOD").map(String::as_str) == Some("NONE") {
                keys.clear();
            } else {
                // A key replaces the one of the same KEYFORMAT (§4.3.2.4).
                let format = a.get("KEYFORMAT").cloned().unwrap_or_default();
                keys.retain(|k| k.get("KEYFORMAT").cloned().unwrap_or_default() != format);
                keys.push(a);
            }
        } else if line == "#EXT-X-ENDLIST" {
            p.endlist = true;
        } else if line == "#EXT-X-I-FRAMES-ONLY" {
            p.iframes_only = true;
        } else if line.starts_with('#') {
            continue;
        } else {
            let d = duration
                .take()
                .ok_or_else(|| at(HlsErrorKind::SegmentWithoutExtinf(line.to_string())))?;
            let range = match range.take() {
                Some((len, Some(off))) => Some((len, off)),
                Some((len, None)) => {
                    let off = *last_end
                        .get(line)
                        .ok_or_else(|| at(HlsErrorKind::ByteRangeWithoutOffset))?;
                    Some((len, off))
                }
                None => None,
            };
            if let Some((len, off)) = range {
                last_end.insert(line.to_string(), off.saturating_add(len));
            }
            p.segments.push(Segment {
                resource: Resource {
                    uri: line.to_string(),
                    range,
                },
                duration: d,
                keys: keys.clone(),
            });
        }
    }
    Ok(p)
}

/// Resolves a URI relative to the OUT-relative folder `base` of the playlist that holds it:
/// an OUT-relative path, or an error for absolute URLs and paths that leave OUT.
pub fn resolve(base: &str, uri: &str) -> Result<String, UriError> {
    if uri.contains("://") || uri.starts_with('/') || uri.starts_with("data:") {
        return Err(UriError::NotRelative(uri.to_string()));
    }
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for p in uri.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(UriError::LeavesOutput(uri.to_string()));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The folder of an OUT-relative path.
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lists_with_quoted_commas() {
        let a = parse_attrs(r#"BANDWIDTH=1,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="a""#).unwrap();
        assert_eq!(a["CODECS"], "avc1.4d401e,mp4a.40.2");
        assert_eq!(a["AUDIO"], "a");
        assert!(parse_attrs(r#"URI="x"#).is_err());
        assert!(parse_attrs("NOEQUALS").is_err());
    }

    #[test]
    fn media_playlist_keys_and_ranges() {
        let p = parse_media_playlist(
            "#EXTM3U\n#EXT-X-MAP:URI=\"m.mp4\",BYTERANGE=\"100@0\"\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:4.0,\n#EXT-X-BYTERANGE:10@200\nm.mp4\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://x\",KEYFORMAT=\"a\"\n#EXTINF:2,\n#EXT-X-BYTERANGE:5\nm.mp4\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        assert_eq!(p.map.unwrap().range, Some((100, 0)));
        assert!(p.segments[0].keys.is_empty());
        assert_eq!(p.segments[1].keys.len(), 1);
        assert_eq!(p.segments[1].resource.range, Some((5, 210)));
        assert!(p.endlist);
        assert!(parse_media_playlist("#EXTM3U\nseg.m4s\n").is_err());
        assert!(parse_media_playlist("junk").is_err());
    }

    #[test]
    fn uris_stay_inside_the_output() {
        assert_eq!(resolve("video", "seg_1.m4s").unwrap(), "video/seg_1.m4s");
        assert_eq!(resolve("video", "../a/x.m4s").unwrap(), "a/x.m4s");
        assert!(resolve("", "../x").is_err());
        assert!(resolve("", "https://cdn/x").is_err());
    }
}
