//! A small MPD reader (ISO/IEC 23009-1) for what vodpack writes: one or more Periods of
//! AdaptationSets with ContentProtection (`mp4protection` value and `cenc:default_KID`) and
//! Representations addressed by SegmentTemplate + SegmentTimeline or by SegmentBase (one file
//! with a sidx). Built on quick-xml's pull reader; malformed XML is an error, never a panic.
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// `mp4protection` signalling of an AdaptationSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub scheme: String,
    pub default_kid: Option<[u8; 16]>,
}

/// One SegmentTimeline entry, expanded (S@r repeats written out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    pub t: u64,
    pub d: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Template {
    pub timescale: u64,
    pub initialization: String,
    pub media: String,
    pub start_number: u64,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct SegmentBase {
    pub timescale: u64,
    pub index_range: Option<(u64, u64)>,
    pub init_range: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Representation {
    pub id: String,
    pub codecs: Option<String>,
    pub content_type: Option<String>,
    pub base_url: Option<String>,
    pub template: Option<Template>,
    pub segment_base: Option<SegmentBase>,
    pub protection: Vec<Protection>,
}

#[derive(Debug, Clone, Default)]
pub struct Mpd {
    pub representations: Vec<Representation>,
    pub duration: Option<f64>,
}

fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        if a.key.as_ref() == name.as_bytes() {
            return a
                .unescape_value()
                .map(|v| Some(v.into_owned()))
                .map_err(|e| format!("bad attribute value: {e}"));
        }
    }
    Ok(None)
}

fn num(e: &BytesStart, name: &str) -> Result<Option<u64>, String> {
    attr(e, name)?
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{name}=\"{v}\" is not a non-negative integer"))
        })
        .transpose()
}

/// `a-b` (inclusive byte range).
fn range(v: &str) -> Result<(u64, u64), String> {
    let (a, b) = v
        .split_once('-')
        .ok_or_else(|| format!("range '{v}' is not first-last"))?;
    let a: u64 = a.trim().parse().map_err(|_| format!("range '{v}'"))?;
    let b: u64 = b.trim().parse().map_err(|_| format!("range '{v}'"))?;
    if b < a {
        return Err(format!("range '{v}' ends before it starts"));
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
const MAX_TIMELINE: u64 = 10_000_000;

pub fn parse(text: &str) -> Result<Mpd, String> {
    let mut reader = Reader::from_str(text);
    let mut mpd = Mpd::default();
    let mut set_protection: Vec<Protection> = Vec::new();
    let mut set_type: Option<String> = None;
    let mut rep: Option<Representation> = None;
    let mut in_base_url = false;
    let mut saw_mpd = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
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
                                Some(k) => Some(parse_kid(&k).ok_or_else(|| {
                                    format!("cenc:default_KID '{k}' is not a UUID")
                                })?),
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
                    let id = attr(&e, "id")?.ok_or("Representation without id")?;
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
                        let d = num(&e, "d")?.ok_or("S without d")?;
                        let rep_count = match attr(&e, "r")? {
                            Some(v) => v
                                .trim()
                                .parse::<i64>()
                                .map_err(|_| format!("S r=\"{v}\" is not an integer"))?,
                            None => 0,
                        };
                        if rep_count < 0 {
                            return Err("S with a negative r (open-ended) in a static MPD".into());
                        }
                        let start = match num(&e, "t")? {
                            Some(t) => t,
                            None => t.timeline.last().map(|l| l.t + l.d).unwrap_or(0),
                        };
                        if t.timeline.len() as u64 + rep_count as u64 + 1 > MAX_TIMELINE {
                            return Err("SegmentTimeline has too many segments".into());
                        }
                        for k in 0..=rep_count as u64 {
                            t.timeline.push(TimelineEntry {
                                t: start + k * d,
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
                let v = t.unescape().map_err(|e| format!("BaseURL: {e}"))?;
                if let Some(r) = rep.as_mut() {
                    r.base_url = Some(v.trim().to_string());
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
        return Err("no MPD element".into());
    }
    Ok(mpd)
}

/// Expands a SegmentTemplate media/initialization pattern (§5.3.9.4.4): `$RepresentationID$`,
/// `$Number$`, `$Time$`, `$Bandwidth$` (with an optional `%0Nd` width) and `$$`.
pub fn expand(pattern: &str, id: &str, number: u64, time: u64) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find('$')
            .ok_or_else(|| format!("template '{pattern}' has an unclosed '$'"))?;
        let ident = &after[..end];
        let (name, width) = match ident.split_once('%') {
            Some((n, f)) => {
                let w = f
                    .strip_prefix('0')
                    .and_then(|f| f.strip_suffix('d'))
                    .and_then(|w| w.parse::<usize>().ok())
                    .ok_or_else(|| format!("template format '%{f}' is not %0Nd"))?;
                (n, w)
            }
            None => (ident, 0),
        };
        match name {
            "" => out.push('$'),
            "RepresentationID" => out.push_str(id),
            "Number" => out.push_str(&format!("{number:0width$}")),
            "Time" => out.push_str(&format!("{time:0width$}")),
            other => return Err(format!("template identifier ${other}$ is not supported")),
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
        assert!(parse("<Foo/>").unwrap_err().contains("no MPD"));
        assert!(parse(r#"<MPD><Period><AdaptationSet><Representation id="a"><SegmentTemplate/><SegmentTimeline><S d="x"/></SegmentTimeline></Representation></AdaptationSet></Period></MPD>"#).is_err());
    }
}
