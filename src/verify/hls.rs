//! A small HLS reader (RFC 8216) for what vodpack writes: the multivariant playlist's variant,
//! media, I-frame and session-key tags, and media playlists (EXT-X-MAP, EXT-X-KEY, EXTINF,
//! EXT-X-BYTERANGE, URIs). Unknown tags are skipped; malformed lines are errors with their line
//! number, never panics.
use std::collections::HashMap;

/// An attribute list (§4.2) as name → value; quoted values are unquoted.
pub type Attrs = HashMap<String, String>;

/// Parses `NAME=value,NAME="quoted, value",...`.
pub fn parse_attrs(s: &str) -> Result<Attrs, String> {
    let mut out = Attrs::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("attribute '{rest}' has no '='"))?;
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| format!("attribute {name}: unterminated quoted string"))?;
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
            return Err(format!(
                "attribute {name}: unexpected '{rest}' after its value"
            ));
        }
    }
    Ok(out)
}

/// A variant stream (EXT-X-STREAM-INF + URI).
#[derive(Debug, Clone)]
pub struct Variant {
    pub uri: String,
    pub codecs: Vec<String>,
    pub audio: Option<String>,
}

/// An EXT-X-MEDIA rendition.
#[derive(Debug, Clone)]
pub struct Media {
    pub kind: String,
    pub group: String,
    pub uri: Option<String>,
}

/// An EXT-X-I-FRAME-STREAM-INF.
#[derive(Debug, Clone)]
pub struct IFrameStream {
    pub uri: String,
    pub codecs: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Multivariant {
    pub variants: Vec<Variant>,
    pub media: Vec<Media>,
    pub iframe_streams: Vec<IFrameStream>,
    pub session_keys: Vec<Attrs>,
}

fn codecs(a: &Attrs) -> Vec<String> {
    a.get("CODECS")
        .map(|c| c.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

fn check_header(text: &str) -> Result<(), String> {
    if !text.trim_start_matches('\u{feff}').starts_with("#EXTM3U") {
        return Err("does not start with #EXTM3U".into());
    }
    Ok(())
}

pub fn parse_multivariant(text: &str) -> Result<Multivariant, String> {
    check_header(text)?;
    let mut m = Multivariant::default();
    let mut pending: Option<Attrs> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |e: String| format!("line {}: {e}", n + 1);
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
                .ok_or_else(|| at("EXT-X-I-FRAME-STREAM-INF without URI".into()))?;
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
            return Err(at(format!("URI '{line}' without EXT-X-STREAM-INF")));
        }
    }
    if pending.is_some() {
        return Err("EXT-X-STREAM-INF without a URI line after it".into());
    }
    Ok(m)
}

/// A resource: URI and optional byte range (length, offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub uri: String,
    pub range: Option<(u64, u64)>,
}

/// One media segment of a media playlist.
#[derive(Debug, Clone)]
pub struct Segment {
    pub resource: Resource,
    /// EXTINF duration as written (seconds).
    pub duration: f64,
    /// The EXT-X-KEY attribute lists in force (empty = clear, METHOD=NONE).
    pub keys: Vec<Attrs>,
}

#[derive(Debug, Clone, Default)]
pub struct MediaPlaylist {
    pub map: Option<Resource>,
    pub segments: Vec<Segment>,
    pub target_duration: Option<u64>,
    pub endlist: bool,
    pub iframes_only: bool,
}

/// `n[@o]` (§4.3.2.2); without `o` the range follows the previous one of the same URI.
fn parse_byterange(s: &str) -> Result<(u64, Option<u64>), String> {
    let (n, o) = match s.split_once('@') {
        Some((n, o)) => (n, Some(o)),
        None => (s, None),
    };
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("byte range length '{n}' is not a number"))?;
    let o = o
        .map(|o| {
            o.trim()
                .parse::<u64>()
                .map_err(|_| format!("byte range offset '{o}' is not a number"))
        })
        .transpose()?;
    Ok((n, o))
}

pub fn parse_media_playlist(text: &str) -> Result<MediaPlaylist, String> {
    check_header(text)?;
    let mut p = MediaPlaylist::default();
    let mut duration: Option<f64> = None;
    let mut range: Option<(u64, Option<u64>)> = None;
    let mut keys: Vec<Attrs> = Vec::new();
    let mut last_end: HashMap<String, u64> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = |e: String| format!("line {}: {e}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap_or("").trim();
            let d: f64 = d
                .parse()
                .map_err(|_| at(format!("EXTINF duration '{d}' is not a number")))?;
            if !d.is_finite() || d < 0.0 {
                return Err(at(format!("EXTINF duration {d} is not a duration")));
            }
            duration = Some(d);
        } else if let Some(v) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            range = Some(parse_byterange(v).map_err(at)?);
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target_duration = Some(
                v.trim()
                    .parse()
                    .map_err(|_| at(format!("EXT-X-TARGETDURATION '{v}' is not an integer")))?,
            );
        } else if let Some(v) = line.strip_prefix("#EXT-X-MAP:") {
            let a = parse_attrs(v).map_err(at)?;
            let uri = a
                .get("URI")
                .cloned()
                .ok_or_else(|| at("EXT-X-MAP without URI".into()))?;
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
                .ok_or_else(|| at(format!("segment '{line}' without EXTINF")))?;
            let range = match range.take() {
                Some((len, Some(off))) => Some((len, off)),
                Some((len, None)) => {
                    let off = *last_end.get(line).ok_or_else(|| {
                        at("EXT-X-BYTERANGE without offset and no previous range".into())
                    })?;
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
pub fn resolve(base: &str, uri: &str) -> Result<String, String> {
    if uri.contains("://") || uri.starts_with('/') || uri.starts_with("data:") {
        return Err(format!(
            "URI '{uri}' is not a relative path inside the output"
        ));
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
                    return Err(format!("URI '{uri}' leaves the output folder"));
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
