//! A small MPD reader (ISO/IEC 23009-1) for what vodpack writes: one or more Periods of
//! AdaptationSets with ContentProtection (`mp4protection` value and `cenc:default_KID`) and
//! Representations addressed by SegmentTemplate + SegmentTimeline or by SegmentBase (one file
//! with a sidx). Built on quick-xml's pull reader; malformed XML is an error ([`MpdError`]),
//! never a panic.
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::fmt;

/// A cause from the XML reader (kept whole, whatever quick-xml's type for it).
pub type XmlCause = Box<dyn std::error::Error + Send + Sync>;

/// Why an MPD cannot be read.
#[derive(Debug)]
pub enum MpdError {
    /// Not well-formed XML, at a byte offset.
    Xml {
        /// Byte offset of the reader.
        at: u64,
        /// quick-xml's error.
        source: XmlCause,
    },
    /// An attribute that cannot be split into name and value.
    Attribute(XmlCause),
    /// An attribute value whose escapes are wrong.
    AttributeValue(XmlCause),
    /// BaseURL text whose escapes are wrong.
    BaseUrl(XmlCause),
    /// An attribute (name, value) that must be a non-negative integer.
    NotANumber(String, String),
    /// A byte range that is not `first-last` with first ≤ last.
    Range(String),
    /// A `cenc:default_KID` that is not a UUID.
    Kid(String),
    /// An element (first) without a required attribute (second).
    Missing(&'static str, &'static str),
    /// An `S@r` that is not an integer.
    Repeat(String),
    /// An `S@r` below 0 (open-ended), which a static MPD cannot have.
    NegativeRepeat,
    /// More SegmentTimeline entries than a Representation may expand to.
    TimelineTooLong,
    /// No MPD element at all.
    NoMpd,
}

impl fmt::Display for MpdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MpdError::Xml { at, source } => write!(f, "XML error at byte {at}: {source}"),
            MpdError::Attribute(e) => write!(f, "bad attribute: {e}"),
            MpdError::AttributeValue(e) => write!(f, "bad attribute value: {e}"),
            MpdError::BaseUrl(e) => write!(f, "BaseURL: {e}"),
            MpdError::NotANumber(name, v) => {
                write!(f, "{name}=\"{v}\" is not a non-negative integer")
            }
            MpdError::Range(v) => {
                write!(f, "range '{v}' is not first-last with first <= last")
            }
            MpdError::Kid(k) => write!(f, "cenc:default_KID '{k}' is not a UUID"),
            MpdError::Missing(element, attribute) => write!(f, "{element} without {attribute}"),
            MpdError::Repeat(v) => write!(f, "S r=\"{v}\" is not an integer"),
            MpdError::NegativeRepeat => {
                f.write_str("S with a negative r (open-ended) in a static MPD")
            }
            MpdError::TimelineTooLong => f.write_str("SegmentTimeline has too many segments"),
            MpdError::NoMpd => f.write_str("no MPD element"),
        }
    }
}

impl std::error::Error for MpdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MpdError::Xml { source, .. }
            | MpdError::Attribute(source)
            | MpdError::AttributeValue(source)
            | MpdError::BaseUrl(source) => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// A SegmentTemplate pattern that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `$` without its closing `$` (the pattern).
    Unclosed(String),
    /// A format that is not `%0Nd` with N ≤ 32 (the format after `%`).
    Format(String),
    /// An identifier other than RepresentationID, Number, Time (and `$$`).
    Unsupported(String),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unclosed(p) => write!(f, "template '{p}' has an unclosed '$'"),
            TemplateError::Format(v) => {
                write!(f, "template format '%{v}' is not %0Nd (N at most 32)")
            }
            TemplateError::Unsupported(i) => {
                write!(f, "template identifier ${i}$ is not supported")
            }
        }
    }
}

impl std::error::Error for TemplateError {}

/// `mp4protection` signalling of an AdaptationSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// The `value` attribute (`cenc`, `cbcs`).
    pub scheme: String,
    /// `cenc:default_KID`, if given.
    pub default_kid: Option<[u8; 16]>,
}

/// One SegmentTimeline entry, expanded (S@r repeats written out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Start time (timescale units).
    pub t: u64,
    /// Duration (timescale units).
    pub d: u64,
}

/// A SegmentTemplate with its timeline.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Units per second of `t` and `d`.
    pub timescale: u64,
    /// The initialization pattern.
    pub initialization: String,
    /// The media pattern.
    pub media: String,
    /// `startNumber` (1 when absent).
    pub start_number: u64,
    /// The SegmentTimeline, repeats expanded.
    pub timeline: Vec<TimelineEntry>,
}

/// A SegmentBase: one file with a sidx.
#[derive(Debug, Clone, Default)]
pub struct SegmentBase {
    /// Units per second of the sidx.
    pub timescale: u64,
    /// `indexRange` (first, last byte), inclusive.
    pub index_range: Option<(u64, u64)>,
    /// Initialization `range` (first, last byte), inclusive.
    pub init_range: Option<(u64, u64)>,
}

/// A Representation and how its segments are addressed.
#[derive(Debug, Clone, Default)]
pub struct Representation {
    /// The `id` attribute.
    pub id: String,
    /// The `codecs` attribute.
    pub codecs: Option<String>,
    /// The enclosing AdaptationSet's `contentType`.
    pub content_type: Option<String>,
    /// The BaseURL text, if any.
    pub base_url: Option<String>,
    /// Its SegmentTemplate, if addressed that way.
    pub template: Option<Template>,
    /// Its SegmentBase, if addressed that way.
    pub segment_base: Option<SegmentBase>,
    /// mp4protection ContentProtection of the Representation or its AdaptationSet.
    pub protection: Vec<Protection>,
}

/// What `verify` needs of an MPD.
#[derive(Debug, Clone, Default)]
pub struct Mpd {
    /// Every Representation of every Period, in document order.
    pub representations: Vec<Representation>,
    /// `mediaPresentationDuration`, seconds.
    pub duration: Option<f64>,
    /// The MPD-level BaseURL (before the first Period), if any: an object-store output's run
    /// prefix (docs/object-storage.md), or `--base-url`.
    pub base_url: Option<String>,
}

fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, MpdError> {
    for a in e.attributes() {
        let a = a.map_err(|e| MpdError::Attribute(Box::new(e)))?;
        if a.key.as_ref() == name.as_bytes() {
            return a
                .unescape_value()
                .map(|v| Some(v.into_owned()))
                .map_err(|e| MpdError::AttributeValue(Box::new(e)));
        }
    }
    Ok(None)
}

fn num(e: &BytesStart, name: &str) -> Result<Option<u64>, MpdError> {
    attr(e, name)?
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| MpdError::NotANumber(name.to_string(), v.clone()))
        })
        .transpose()
}

/// `a-b` (inclusive byte range).
fn range(v: &str) -> Result<(u64, u64), MpdError> {
    let bad = || MpdError::Range(v.to_string());
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if b < a {
        return Err(bad());
    }
    Ok((a, b))
}

/// A UUID (with or without dashes) as 16 bytes.
pub fn parse_kid(s: &str) -> Option<[u8; 16]> {
    let digits: String = s.trim().chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// xs:duration of the form PT…H…M…S (what vodpack writes), in seconds.
fn xs_duration(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT")?;
    let mut total = 0.0;
    let mut num = String::new();
    for c in rest.chars() {
        match c {
            'H' => total += num.parse::<f64>().ok()? * 3600.0,
            'M' => total += num.parse::<f64>().ok()? * 60.0,
            'S' => total += num.parse::<f64>().ok()?,
            c if c.is_ascii_digit() || c == '.' => {
                num.push(c);
                continue;
            }
            _ => return None,
        }
        num.clear();
    }
    Some(total)
}

/// Most S elements (after repeats) one Representation may expand to: bounds memory on a hostile
/// `r` value.
const MAX_TIMELINE: u64 = 1_000_000;

/// Parses an MPD (static, as vodpack writes it).
pub fn parse(text: &str) -> Result<Mpd, MpdError> {
    let mut reader = Reader::from_str(text);
    let mut mpd = Mpd::default();
    let mut set_protection: Vec<Protection> = Vec::new();
    let mut set_type: Option<String> = None;
    let mut rep: Option<Representation> = None;
    let mut in_base_url = false;
    let mut saw_mpd = false;
    let mut saw_period = false;
    loop {
        let ev = reader.read_event().map_err(|e| MpdError::Xml {
            at: reader.buffer_position(),
            source: Box::new(e),
        })?;
        let (e, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = e {
            let name = e.local_name();
            match name.as_ref() {
                b"MPD" => {
                    saw_mpd = true;
                    mpd.duration = attr(&e, "mediaPresentationDuration")?
                        .as_deref()
                        .and_then(xs_duration);
                }
                b"Period" => saw_period = true,
                b"AdaptationSet" => {
                    set_protection.clear();
                    set_type = attr(&e, "contentType")?;
                }
                b"ContentProtection" => {
                    let scheme = attr(&e, "schemeIdUri")?.unwrap_or_default();
                    if scheme.eq_ignore_ascii_case("urn:mpeg:dash:mp4protection:2011") {
                        let kid = attr(&e, "cenc:default_KID")?;
                        let p = Protection {
                            scheme: attr(&e, "value")?.unwrap_or_default(),
                            default_kid: match kid {
                                Some(k) => {
                                    Some(parse_kid(&k).ok_or_else(|| MpdError::Kid(k.clone()))?)
                                }
                                None => None,
                            },
                        };
                        match rep.as_mut() {
                            Some(r) => r.protection.push(p),
                            None => set_protection.push(p),
                        }
                    }
                }
                b"Representation" => {
                    let id = attr(&e, "id")?.ok_or(MpdError::Missing("Representation", "id"))?;
                    let r = Representation {
                        id,
                        codecs: attr(&e, "codecs")?,
                        content_type: set_type.clone(),
                        protection: set_protection.clone(),
                        ..Default::default()
                    };
                    if empty {
                        mpd.representations.push(r);
                    } else {
                        rep = Some(r);
                    }
                }
                b"BaseURL" if !empty => in_base_url = true,
                b"SegmentTemplate" => {
                    if let Some(r) = rep.as_mut() {
                        r.template = Some(Template {
                            timescale: num(&e, "timescale")?.unwrap_or(1),
                            initialization: attr(&e, "initialization")?.unwrap_or_default(),
                            media: attr(&e, "media")?.unwrap_or_default(),
                            start_number: num(&e, "startNumber")?.unwrap_or(1),
                            timeline: Vec::new(),
                        });
                    }
                }
                b"S" => {
                    if let Some(t) = rep.as_mut().and_then(|r| r.template.as_mut()) {
                        let d = num(&e, "d")?.ok_or(MpdError::Missing("S", "d"))?;
                        let rep_count = match attr(&e, "r")? {
                            Some(v) => v
                                .trim()
                                .parse::<i64>()
                                .map_err(|_| MpdError::Repeat(v.clone()))?,
                            None => 0,
                        };
                        if rep_count < 0 {
                            return Err(MpdError::NegativeRepeat);
                        }
                        let start = match num(&e, "t")? {
                            Some(t) => t,
                            None => t
                                .timeline
                                .last()
                                .map(|l| l.t.saturating_add(l.d))
                                .unwrap_or(0),
                        };
                        if t.timeline.len() as u64 + rep_count as u64 + 1 > MAX_TIMELINE {
                            return Err(MpdError::TimelineTooLong);
                        }
                        for k in 0..=rep_count as u64 {
                            t.timeline.push(TimelineEntry {
                                t: start.saturating_add(k.saturating_mul(d)),
                                d,
                            });
                        }
                    }
                }
                b"SegmentBase" => {
                    if let Some(r) = rep.as_mut() {
                        r.segment_base = Some(SegmentBase {
                            timescale: num(&e, "timescale")?.unwrap_or(1),
                            index_range: attr(&e, "indexRange")?
                                .as_deref()
                                .map(range)
                                .transpose()?,
                            init_range: None,
                        });
                    }
                }
                b"Initialization" => {
                    if let Some(b) = rep.as_mut().and_then(|r| r.segment_base.as_mut()) {
                        b.init_range = attr(&e, "range")?.as_deref().map(range).transpose()?;
                    }
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Text(t) if in_base_url => {
                let v = t.unescape().map_err(|e| MpdError::BaseUrl(Box::new(e)))?;
                if let Some(r) = rep.as_mut() {
                    r.base_url = Some(v.trim().to_string());
                } else if !saw_period {
                    mpd.base_url = Some(v.trim().to_string());
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"BaseURL" => in_base_url = false,
                b"Representation" => {
                    if let Some(r) = rep.take() {
                        mpd.representations.push(r);
                    }
                }
                b"AdaptationSet" => {
                    set_protection.clear();
                    set_type = None;
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_mpd {
        return Err(MpdError::NoMpd);
    }
    Ok(mpd)
}

/// Expands a SegmentTemplate media/initialization pattern (§5.3.9.4.4): `$RepresentationID$`,
/// `$Number$`, `$Time$`, `$Bandwidth$` (with an optional `%0Nd` width) and `$$`.
pub fn expand(pattern: &str, id: &str, number: u64, time: u64) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find('$')
            .ok_or_else(|| TemplateError::Unclosed(pattern.to_string()))?;
        let ident = &after[..end];
        let (name, width) = match ident.split_once('%') {
            Some((n, f)) => {
                let w = f
                    .strip_prefix('0')
                    .and_then(|f| f.strip_suffix('d'))
                    .and_then(|w| w.parse::<usize>().ok())
                    .filter(|&w| w <= 32)
                    .ok_or_else(|| TemplateError::Format(f.to_string()))?;
                (n, w)
            }
            None => (ident, 0),
        };
        match name {
            "" => out.push('$'),
            "RepresentationID" => out.push_str(id),
            "Number" => out.push_str(&format!("{number:0width$}")),
            "Time" => out.push_str(&format!("{time:0width$}")),
            other => return Err(TemplateError::Unsupported(other.to_string())),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_templates_timelines_and_protection() {
        let m = parse(r#"<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:cenc="urn:mpeg:cenc:2013" mediaPresentationDuration="PT1M8.5S"><Period><AdaptationSet contentType="video">
<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cbcs" cenc:default_KID="00112233-4455-6677-8899-aabbccddeeff"/>
<Representation id="v" codecs="avc1.64001f"><SegmentTemplate timescale="90000" initialization="v/init.mp4" media="v/seg_$Number%03d$.m4s" startNumber="1"><SegmentTimeline><S t="10" d="5" r="2"/><S d="3"/></SegmentTimeline></SegmentTemplate></Representation>
<Representation id="s"><BaseURL>s/media.mp4</BaseURL><SegmentBase timescale="48000" indexRange="100-199"><Initialization range="0-99"/></SegmentBase></Representation>
</AdaptationSet></Period></MPD>"#).unwrap();
        assert_eq!(m.duration, Some(68.5));
        let v = &m.representations[0];
        assert_eq!(v.protection[0].scheme, "cbcs");
        let t = v.template.as_ref().unwrap();
        assert_eq!(
            t.timeline.iter().map(|e| (e.t, e.d)).collect::<Vec<_>>(),
            vec![(10, 5), (15, 5), (20, 5), (25, 3)]
        );
        assert_eq!(expand(&t.media, "v", 7, 0).unwrap(), "v/seg_007.m4s");
        let s = &m.representations[1];
        assert_eq!(s.base_url.as_deref(), Some("s/media.mp4"));
        let b = s.segment_base.as_ref().unwrap();
        assert_eq!(
            (b.init_range, b.index_range),
            (Some((0, 99)), Some((100, 199)))
        );
        assert!(parse("<Foo/>").unwrap_err().to_string().contains("no MPD"));
        assert!(parse(r#"<MPD><Period><AdaptationSet><Representation id="a"><SegmentTemplate/><SegmentTimeline><S d="x"/></SegmentTimeline></Representation></AdaptationSet></Period></MPD>"#).is_err());
    }
}
