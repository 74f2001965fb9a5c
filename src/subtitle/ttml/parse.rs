//! The TTML reader: a document read with quick-xml's namespace-aware reader into the `tt`
//! element, the `head` as written, the `body`/`div` tree and timed paragraphs (TTML1 §10.4
//! timing: every element a parallel time container, a child's times offsets from its parent's
//! begin, its active interval clipped to its parent's).
//!
//! Strict where a silent guess would change what is shown: TTML outside the
//! `http://www.w3.org/ns/ttml` namespace, a time base other than `media`, `timeContainer="seq"`,
//! timing on elements inside a paragraph, an end before its begin, and any XML error are refused
//! with the line they are on.
pub use super::error::TtmlErrorKind;
use super::error::MAX_DEPTH;
use super::time::{self, TimeParams};
use super::{Container, Element, Paragraph, TtmlDoc, INDEFINITE, NS_TT, NS_TTP};
use crate::subtitle::error::{ParseError, ParseErrorKind};
use crate::subtitle::short;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::fmt;

/// Parses a TTML document (UTF-8, with an optional BOM); an error names the line.
pub fn parse(bytes: &[u8]) -> Result<TtmlDoc, ParseError> {
    let text = crate::subtitle::vtt::decode(bytes)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_comments = true;
    Parser {
        text,
        reader,
        params: TimeParams::default(),
        doc: TtmlDoc::default(),
    }
    .run()
}

/// Begin, end, dur as written on an element, in ms.
#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    begin: Option<u64>,
    end: Option<u64>,
    dur: Option<u64>,
}

/// An event with the namespace of its element (`None`: no namespace or not an element).
type Resolved<'a> = (Option<String>, Event<'a>);

struct Parser<'a> {
    text: &'a str,
    reader: NsReader<&'a [u8]>,
    params: TimeParams,
    doc: TtmlDoc,
}

fn name_of(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn local_of(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl<'a> Parser<'a> {
    fn pos(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn line_at(&self, pos: usize) -> usize {
        let end = pos.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn fail<T>(&self, pos: usize, kind: TtmlErrorKind) -> Result<T, ParseError> {
        Err(ParseError::at(
            self.line_at(pos),
            ParseErrorKind::Ttml(kind),
        ))
    }

    /// The next event and its element's namespace; XML errors and unbound prefixes fail here.
    fn next(&mut self) -> Result<Resolved<'a>, ParseError> {
        match self.reader.read_resolved_event() {
            Ok((ns, ev)) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => Some(String::from_utf8_lossy(n.as_ref()).into()),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(p) => {
                        let pos = self.pos();
                        return self.fail(
                            pos,
                            TtmlErrorKind::Xml(format!(
                                "the prefix '{}' is not declared",
                                String::from_utf8_lossy(&p)
                            )),
                        );
                    }
                };
                Ok((ns, ev))
            }
            Err(e) => {
                let pos = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
                self.fail(pos, TtmlErrorKind::Xml(e.to_string()))
            }
        }
    }

    fn run(mut self) -> Result<TtmlDoc, ParseError> {
        loop {
            let pos = self.pos();
            match self.next()? {
                (_, Event::Decl(d)) => {
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| {
                            ParseError::at(
                                self.line_at(pos),
                                ParseErrorKind::Ttml(TtmlErrorKind::Xml(e.to_string())),
                            )
                        })?;
                        let enc = String::from_utf8_lossy(&enc).into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return self.fail(pos, TtmlErrorKind::Encoding(enc));
                        }
                    }
                }
                (_, Event::PI(_) | Event::Comment(_) | Event::DocType(_)) => {}
                (_, Event::Text(t)) if blank(&t) => {}
                (ns, Event::Start(e)) => {
                    self.root(ns.as_deref(), &e, pos)?;
                    self.tt_children(&name_of(&e))?;
                    break;
                }
                (ns, Event::Empty(e)) => {
                    self.root(ns.as_deref(), &e, pos)?;
                    break;
                }
                (_, Event::Eof) => return self.fail(pos, TtmlErrorKind::NoRoot),
                _ => {
                    return self.fail(
                        pos,
                        TtmlErrorKind::Xml("text before the document element".into()),
                    )
                }
            }
        }
        loop {
            let pos = self.pos();
            match self.next()? {
                (_, Event::Eof) => break,
                (_, Event::PI(_) | Event::Comment(_)) => {}
                (_, Event::Text(t)) if blank(&t) => {}
                _ => return self.fail(pos, TtmlErrorKind::AfterRoot),
            }
        }
        Ok(self.doc)
    }

    /// The `tt` element: its attributes, timing parameters and namespaces.
    fn root(&mut self, ns: Option<&str>, e: &BytesStart<'a>, pos: usize) -> Result<(), ParseError> {
        let local = local_of(e);
        if local != "tt" || ns != Some(NS_TT) {
            let what = match ns {
                Some(ns) => format!("'{}' in the namespace {}", short(&local), short(ns)),
                None => format!("'{}' in no namespace", short(&local)),
            };
            return self.fail(pos, TtmlErrorKind::NotTt(what));
        }
        let (element, _) = self.element(e, pos, false)?;
        let mut namespaces = vec![NS_TT.to_string()];
        for (k, v) in &element.attrs {
            if (k == "xmlns" || k.starts_with("xmlns:")) && !namespaces.contains(v) {
                namespaces.push(v.clone());
            }
        }
        for attr in e.attributes() {
            let attr = attr.map_err(|x| self.xml_error(pos, x))?;
            let (res, local) = self.reader.resolve_attribute(attr.key);
            if !matches!(res, ResolveResult::Bound(n) if n.as_ref() == NS_TTP.as_bytes()) {
                continue;
            }
            let local = String::from_utf8_lossy(local.as_ref()).into_owned();
            let value = attr
                .unescape_value()
                .map_err(|x| self.xml_error(pos, x))?
                .into_owned();
            let bad = || TtmlErrorKind::Parameter(format!("ttp:{local}"), value.clone());
            match local.as_str() {
                "timeBase" if value.trim() != "media" => {
                    return self.fail(pos, TtmlErrorKind::TimeBase(value))
                }
                "frameRate" => {
                    self.params.frame_rate = time::positive(&value).ok_or_else(|| {
                        ParseError::at(self.line_at(pos), ParseErrorKind::Ttml(bad()))
                    })?;
                    self.params.frame_rate_given = true;
                }
                "frameRateMultiplier" => {
                    self.params.multiplier = time::multiplier(&value).ok_or_else(|| {
                        ParseError::at(self.line_at(pos), ParseErrorKind::Ttml(bad()))
                    })?;
                }
                "subFrameRate" => {
                    self.params.sub_frame_rate = time::positive(&value).ok_or_else(|| {
                        ParseError::at(self.line_at(pos), ParseErrorKind::Ttml(bad()))
                    })?;
                }
                "tickRate" => {
                    self.params.tick_rate = Some(time::positive(&value).ok_or_else(|| {
                        ParseError::at(self.line_at(pos), ParseErrorKind::Ttml(bad()))
                    })?);
                }
                _ => {}
            }
        }
        self.doc.root = element;
        self.doc.namespaces = namespaces;
        Ok(())
    }

    fn xml_error(&self, pos: usize, e: impl fmt::Display) -> ParseError {
        ParseError::at(
            self.line_at(pos),
            ParseErrorKind::Ttml(TtmlErrorKind::Xml(e.to_string())),
        )
    }

    /// An element's name and attributes without `begin`/`end`/`dur`, and those times. With
    /// `timed`, `timeContainer="seq"` is refused; without, timing attributes are kept as written.
    fn element(
        &self,
        e: &BytesStart<'a>,
        pos: usize,
        timed: bool,
    ) -> Result<(Element, Timing), ParseError> {
        let mut el = Element {
            name: name_of(e),
            attrs: Vec::new(),
        };
        let mut t = Timing::default();
        for attr in e.attributes() {
            let attr = attr.map_err(|x| self.xml_error(pos, x))?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            let value = attr
                .unescape_value()
                .map_err(|x| self.xml_error(pos, x))?
                .into_owned();
            let slot = match key.as_str() {
                "begin" if timed => &mut t.begin,
                "end" if timed => &mut t.end,
                "dur" if timed => &mut t.dur,
                "timeContainer" if timed && value.trim() == "seq" => {
                    return self.fail(pos, TtmlErrorKind::SequentialTime)
                }
                _ => {
                    el.attrs.push((key, value));
                    continue;
                }
            };
            let ms = self.params.parse_ms(&value).map_err(|err| {
                ParseError::at(
                    self.line_at(pos),
                    ParseErrorKind::Ttml(TtmlErrorKind::Time(key.clone(), value.clone(), err)),
                )
            })?;
            *slot = Some(ms);
        }
        Ok((el, t))
    }

    /// The active interval of an element with `t` inside a parent active over `parent`
    /// (TTML1 §10.4, par containers): empty (end ≤ begin) when it never shows.
    fn interval(
        &self,
        t: Timing,
        parent: (u64, u64),
        pos: usize,
    ) -> Result<(u64, u64), ParseError> {
        if let (Some(b), Some(e)) = (t.begin, t.end) {
            if e < b {
                return self.fail(pos, TtmlErrorKind::EndsBeforeBegin(b, e));
            }
        }
        let begin = parent.0.saturating_add(t.begin.unwrap_or(0));
        let end = match (t.end, t.dur) {
            (None, None) => parent.1,
            (end, dur) => {
                let by_end = end.map_or(INDEFINITE, |e| parent.0.saturating_add(e));
                let by_dur = dur.map_or(INDEFINITE, |d| begin.saturating_add(d));
                by_end.min(by_dur).min(parent.1)
            }
        };
        Ok((begin, end))
    }

    /// Skips the rest of the element just opened; returns the position after its end tag.
    fn skip(&mut self, name: &str) -> Result<usize, ParseError> {
        let mut depth = 0usize;
        loop {
            let pos = self.pos();
            match self.next()?.1 {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(self.pos()),
                Event::End(_) => depth -= 1,
                Event::Eof => return self.fail(pos, TtmlErrorKind::Unclosed(name.into())),
                _ => {}
            }
        }
    }

    /// The children of `tt`: `head` kept as written, `body` read, anything else skipped.
    fn tt_children(&mut self, tt: &str) -> Result<(), ParseError> {
        loop {
            let pos = self.pos();
            match self.next()? {
                (ns, Event::Start(e)) => {
                    let local = local_of(&e);
                    if ns.as_deref() == Some(NS_TT) && local == "head" {
                        let end = self.skip(&name_of(&e))?;
                        self.doc.head = Some(self.text[pos..end].to_string());
                    } else if ns.as_deref() == Some(NS_TT) && local == "body" {
                        let (el, t) = self.element(&e, pos, true)?;
                        let span = self.interval(t, (0, INDEFINITE), pos)?;
                        self.doc.body = Some(el);
                        self.body_children(&name_of(&e), span, None, 0)?;
                    } else {
                        self.skip(&name_of(&e))?;
                    }
                }
                (ns, Event::Empty(e)) => {
                    let local = local_of(&e);
                    if ns.as_deref() == Some(NS_TT) && local == "head" {
                        self.doc.head = Some(self.text[pos..self.pos()].to_string());
                    } else if ns.as_deref() == Some(NS_TT) && local == "body" {
                        self.doc.body = Some(self.element(&e, pos, true)?.0);
                    }
                }
                (_, Event::End(_)) => return Ok(()),
                (_, Event::Eof) => return self.fail(pos, TtmlErrorKind::Unclosed(tt.into())),
                _ => {}
            }
        }
    }

    /// The children of `body` or a `div` active over `span`: `div`s and `p`s; other elements
    /// (metadata, animation) are skipped.
    fn body_children(
        &mut self,
        name: &str,
        span: (u64, u64),
        container: Option<usize>,
        depth: usize,
    ) -> Result<(), ParseError> {
        loop {
            let pos = self.pos();
            match self.next()? {
                (ns, Event::Start(e)) => {
                    let local = local_of(&e);
                    if ns.as_deref() != Some(NS_TT) {
                        self.skip(&name_of(&e))?;
                    } else if local == "div" {
                        if depth >= MAX_DEPTH {
                            return self.fail(pos, TtmlErrorKind::TooDeep);
                        }
                        let (el, t) = self.element(&e, pos, true)?;
                        let inner = self.interval(t, span, pos)?;
                        self.doc.containers.push(Container {
                            element: el,
                            parent: container,
                        });
                        let idx = self.doc.containers.len() - 1;
                        self.body_children(&name_of(&e), inner, Some(idx), depth + 1)?;
                    } else if local == "p" {
                        self.paragraph(&e, pos, span, container)?;
                    } else {
                        self.skip(&name_of(&e))?;
                    }
                }
                // An empty div or p shows nothing; its timing is still checked.
                (ns, Event::Empty(e))
                    if ns.as_deref() == Some(NS_TT)
                        && matches!(local_of(&e).as_str(), "div" | "p") =>
                {
                    let (_, t) = self.element(&e, pos, true)?;
                    self.interval(t, span, pos)?;
                }
                (_, Event::End(_)) => return Ok(()),
                (_, Event::Eof) => return self.fail(pos, TtmlErrorKind::Unclosed(name.into())),
                _ => {}
            }
        }
    }

    /// A `p` just opened at `pos`: its times, its content as written and its text.
    fn paragraph(
        &mut self,
        e: &BytesStart<'a>,
        pos: usize,
        span: (u64, u64),
        container: Option<usize>,
    ) -> Result<(), ParseError> {
        let (element, t) = self.element(e, pos, true)?;
        let (start, end) = self.interval(t, span, pos)?;
        let content_start = self.pos();
        let mut text = String::new();
        // Per open element inside the paragraph: whether its text is shown (TTML content, not
        // metadata, animation or foreign elements).
        let mut shown: Vec<bool> = Vec::new();
        let content_end;
        loop {
            let at = self.pos();
            let visible = shown.last().copied().unwrap_or(true);
            match self.next()? {
                (ns, Event::Start(c)) => {
                    self.untimed(&c, at)?;
                    let local = local_of(&c);
                    let tt = ns.as_deref() == Some(NS_TT);
                    shown.push(
                        visible
                            && tt
                            && !matches!(local.as_str(), "metadata" | "set" | "animation"),
                    );
                }
                (ns, Event::Empty(c)) => {
                    self.untimed(&c, at)?;
                    if visible && ns.as_deref() == Some(NS_TT) && local_of(&c) == "br" {
                        text.push(BREAK);
                    }
                }
                (_, Event::End(_)) => match shown.pop() {
                    Some(_) => {}
                    None => {
                        content_end = at;
                        break;
                    }
                },
                (_, Event::Text(x)) if visible => {
                    let s = x.unescape().map_err(|err| self.xml_error(at, err))?;
                    text.push_str(&s);
                }
                (_, Event::CData(x)) if visible => {
                    text.push_str(&String::from_utf8_lossy(&x));
                }
                (_, Event::Eof) => {
                    return self.fail(at, TtmlErrorKind::Unclosed(element.name.clone()))
                }
                _ => {}
            }
        }
        if end > start {
            self.doc.paragraphs.push(Paragraph {
                start,
                end,
                container,
                element,
                content: self.text[content_start..content_end].to_string(),
                text: collapse(&text),
            });
        }
        Ok(())
    }

    /// Refuses timing attributes on an element inside a paragraph.
    fn untimed(&self, e: &BytesStart<'a>, pos: usize) -> Result<(), ParseError> {
        for attr in e.attributes() {
            let attr = attr.map_err(|x| self.xml_error(pos, x))?;
            if matches!(attr.key.as_ref(), b"begin" | b"end" | b"dur") {
                return self.fail(pos, TtmlErrorKind::TimedInParagraph(name_of(e)));
            }
        }
        Ok(())
    }
}

/// Marks a `br` in the text being collected (NUL cannot occur in XML text).
const BREAK: char = '\0';

/// XML whitespace collapsed as `xml:space="default"` shows it (TTML1 §7.2.3): runs of space,
/// tab, CR, LF become one space, spaces around line breaks and at the ends go; `br` → `\n`.
fn collapse(s: &str) -> String {
    s.split(BREAK)
        .map(|line| line.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn timed(doc: &TtmlDoc) -> Vec<(u64, u64, &str)> {
        doc.paragraphs
            .iter()
            .map(|p| (p.start, p.end, p.text.as_str()))
            .collect()
    }

    #[test]
    fn frames_fixture() {
        let doc = parse(&fixture("subs_fr.ttml")).unwrap();
        assert_eq!(
            timed(&doc),
            vec![
                (480, 1800, "Bienvenue à tous !"),
                (1900, 2600, "Ça commence,\ndeuxième ligne — déjà."),
                (3000, 4500, "Œuvre d'été & café crème\nà 4 s pile"),
                (5000, 6240, "Où est la gare ? 日本語も"),
                (6600, 7750, "Fin du test."),
            ]
        );
        assert_eq!(doc.root.name, "tt");
        assert!(doc
            .root
            .attrs
            .contains(&("ttp:frameRate".into(), "25".into())));
        let head = doc.head.as_deref().unwrap();
        assert!(
            head.starts_with("<head>") && head.ends_with("</head>"),
            "{head}"
        );
        assert!(head.contains("<region xml:id=\"haut\""));
        assert_eq!(
            doc.body.as_ref().unwrap().attrs,
            vec![("style".to_string(), "base".to_string())]
        );
        assert_eq!(doc.containers.len(), 3);
        // begin and dur are resolved into the paragraphs' times, not kept.
        assert_eq!(
            doc.containers[1].element.attrs,
            vec![("region".to_string(), "bas".to_string())]
        );
        let p = &doc.paragraphs[1];
        assert_eq!(p.container, Some(0));
        assert_eq!(
            p.element.attrs,
            vec![
                ("xml:id".to_string(), "traverse-2s".to_string()),
                ("region".to_string(), "haut".to_string())
            ]
        );
        assert_eq!(
            p.content,
            "Ça commence,<br/><span style=\"italique\">deuxième ligne</span> — déjà."
        );
        assert_eq!(doc.paragraphs[2].content.matches("&amp;").count(), 1);
        assert_eq!(
            doc.namespaces,
            vec![
                NS_TT,
                NS_TTP,
                "http://www.w3.org/ns/ttml#styling",
                "http://www.w3.org/ns/ttml#metadata"
            ]
        );
    }

    #[test]
    fn ticks_fixture_with_prefixes() {
        let doc = parse(&fixture("subs_en_ticks.ttml")).unwrap();
        assert_eq!(
            timed(&doc),
            vec![
                (500, 1800, "Ticks & naïve café"),
                (1900, 4501, "“Across” the\n4 s boundary"),
                (5501, 7500, "Frames at 29.97 — 五"),
            ]
        );
        assert_eq!(doc.root.name, "tt:tt");
        assert_eq!(doc.paragraphs[0].element.name, "tt:p");
        assert!(doc.head.as_deref().unwrap().starts_with("<tt:head>"));
    }

    #[test]
    fn nested_timing_clips_to_the_parent() {
        let doc = parse(
            br#"<tt xmlns="http://www.w3.org/ns/ttml"><body begin="1s" end="10s"><div begin="2s" dur="3s">
<p begin="1s" end="9s">clipped to 6 s</p><p>whole div</p><p begin="4s">never</p></div>
<div><p begin="8s">to the body's end</p><p begin="0s" end="0s">empty</p></div></body></tt>"#,
        )
        .unwrap();
        assert_eq!(
            timed(&doc),
            vec![
                (4000, 6000, "clipped to 6 s"),
                (3000, 6000, "whole div"),
                (9000, 10_000, "to the body's end"),
            ]
        );
        let open = parse(br#"<tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="1s">open</p></div></body></tt>"#)
            .unwrap();
        assert_eq!(open.paragraphs[0].end, INDEFINITE);
        assert_eq!(open.to_webvtt(8000).cues[0].end, 8000);
    }

    #[test]
    fn text_ignores_metadata_and_collapses_whitespace() {
        let doc = parse(
            "\u{feff}<tt xmlns='http://www.w3.org/ns/ttml' xmlns:x='urn:x'><body><div><p begin='0s' end='1s'>\n  a   b <metadata>hidden</metadata><x:y>foreign</x:y>\n<span>c<br/>  d</span> <![CDATA[<e>]]></p></div></body></tt>".as_bytes(),
        )
        .unwrap();
        assert_eq!(doc.paragraphs[0].text, "a b c\nd <e>");
        let vtt = doc.to_webvtt(1000);
        assert_eq!(vtt.cues[0].payload, "a b c\nd &lt;e&gt;");
    }

    fn error(src: &str) -> ParseError {
        parse(src.as_bytes()).unwrap_err()
    }

    const TT: &str =
        r#"<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter""#;

    #[test]
    fn errors_name_the_line_and_the_fault() {
        let cases: Vec<(String, usize, &str)> = vec![
            (format!("{TT}>\n<body>\n<div>\n<p begin='1s'>x</span></p></div></body></tt>"), 4, "not well-formed"),
            ("<tt>\n</tt>".into(), 1, "in no namespace"),
            ("<tt xmlns='http://www.w3.org/2006/10/ttaf1'/>".into(), 1, "2006/10/ttaf1"),
            ("\n<html xmlns='http://www.w3.org/ns/ttml'/>".into(), 2, "'html'"),
            (format!("{TT} ttp:timeBase='smpte'/>"), 1, "timeBase"),
            (format!("{TT}\n ttp:frameRate='0'/>"), 1, "ttp:frameRate='0'"),
            (format!("{TT} ttp:frameRateMultiplier='1000'/>"), 1, "frameRateMultiplier"),
            (format!("{TT} ttp:tickRate='x'/>"), 1, "tickRate"),
            (format!("{TT} ttp:subFrameRate='-1'/>"), 1, "subFrameRate"),
            (format!("{TT}><body>\n\n<div><p begin='1x'>x</p></div></body></tt>"), 3, "begin='1x'"),
            (format!("{TT} ttp:frameRate='25'><body><div>\n<p begin='00:00:01:25' end='5s'>x</p></div></body></tt>"), 2, "frame 25"),
            (format!("{TT}><body><div><p begin='2s' end='1s'>x</p></div></body></tt>"), 1, "before it begins"),
            (format!("{TT}><body><div><p>\n<span begin='1s'>x</span></p></div></body></tt>"), 2, "inside a paragraph"),
            (format!("{TT}><body timeContainer='seq'/></tt>"), 1, "seq"),
            (format!("{TT}><body><div><p>x"), 1, "ends inside"),
            (format!("{TT}/>\n<tt/>"), 2, "after the end"),
            ("<?xml version='1.0' encoding='UTF-16'?><tt/>".into(), 1, "UTF-16"),
            ("<!-- nothing -->".into(), 1, "not a TTML document"),
            ("text<tt/>".into(), 1, "text before"),
            (format!("{TT}><body><div>\n<p>&nbsp;</p></div></body></tt>"), 2, "not well-formed"),
            ("<x:tt xmlns='http://www.w3.org/ns/ttml'/>".into(), 1, "'x' is not declared"),
            (format!("{TT}><body><div><p a='1' a='2'>x</p></div></body></tt>"), 1, "not well-formed"),
        ];
        for (src, line, what) in cases {
            let e = error(&src);
            assert_eq!(e.line, line, "{src}: {e}");
            assert!(e.to_string().contains(what), "{src}: {e}");
        }
        let deep = format!("{TT}><body>{}", "<div>".repeat(MAX_DEPTH + 1));
        assert!(error(&deep).to_string().contains("nest deeper"));
        assert_eq!(
            parse(b"<tt xmlns='http://www.w3.org/ns/ttml'>\xff</tt>")
                .unwrap_err()
                .kind,
            ParseErrorKind::NotUtf8
        );
    }
}
