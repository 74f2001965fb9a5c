//! TTML and IMSC1 subtitles: a TTML document read with an XML parser into timed paragraphs
//! (`parse`), and complete IMSC1 documents holding the paragraphs active in one segment
//! (`write`), for DASH `stpp` samples (ISO/IEC 14496-30). docs/subtitles.md describes the choices.
//!
//! What vodpack keeps: the `tt` element with its attributes (namespaces, `xml:lang`, `ttp:*`,
//! `tts:extent`…), the whole `head` as written (styling, layout with its regions, metadata), the
//! `body` and `div` elements with their attributes, and every `p` with its attributes and content
//! as written. Only `begin`, `end` and `dur` change: a segment's document carries each paragraph's
//! resolved times on the track timeline, clipped to the segment.
pub mod error;
pub mod parse;
pub mod time;
pub mod write;

pub use parse::parse;

/// The TTML namespace (TTML1 §5.1, IMSC1 requires it).
pub const NS_TT: &str = "http://www.w3.org/ns/ttml";
/// The TTML parameter namespace (`ttp:`).
pub const NS_TTP: &str = "http://www.w3.org/ns/ttml#parameter";

/// An element as written: its qualified name and its attributes (qualified name, value
/// unescaped), without the timing attributes `begin`, `end`, `dur`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The qualified name (`p`, `tt:p`).
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
}

/// A `div` of the body: the element, and the `div` it is in (`None`: the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The `div` element.
    pub element: Element,
    /// Index of the enclosing `div` in [`TtmlDoc::containers`], if any.
    pub parent: Option<usize>,
}

/// A paragraph (`p`) with its resolved times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// Start on the track timeline, ms.
    pub start: u64,
    /// End, ms; [`INDEFINITE`] when neither it nor an ancestor gives one.
    pub end: u64,
    /// The `div` it is in (index in [`TtmlDoc::containers`]), `None` for none.
    pub container: Option<usize>,
    /// The `p` element.
    pub element: Element,
    /// Its content (text, `span`, `br`…) as written in the source.
    pub content: String,
    /// Its text as shown: text of the TTML content, `br` as line breaks, whitespace collapsed.
    pub text: String,
}

/// A paragraph end that no element gives: it lasts until the end of the presentation.
pub const INDEFINITE: u64 = u64::MAX;

/// A parsed TTML document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TtmlDoc {
    /// The `tt` element.
    pub root: Element,
    /// The `head` element as written (with its tags), if any.
    pub head: Option<String>,
    /// The `body` element, if any.
    pub body: Option<Element>,
    /// Every `div`, in document order.
    pub containers: Vec<Container>,
    /// Every timed paragraph, in document order.
    pub paragraphs: Vec<Paragraph>,
    /// The namespaces declared on the `tt` element, TTML first (for the `stpp` sample entry).
    pub namespaces: Vec<String>,
}

impl TtmlDoc {
    /// The paragraphs as WebVTT cues (text only; `&`, `<`, `>` escaped, empty lines dropped),
    /// for the HLS WebVTT rendition. Ends (indefinite ones too) are cut at `presentation_end`
    /// (ms); paragraphs that start after it are left out.
    pub fn to_webvtt(&self, presentation_end: u64) -> super::SubtitleDoc {
        let cues = self
            .paragraphs
            .iter()
            .filter_map(|p| {
                let end = p.end.min(presentation_end);
                let payload: Vec<String> = p
                    .text
                    .split('\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        l.replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;")
                    })
                    .collect();
                (end > p.start).then(|| super::Cue {
                    id: None,
                    start: p.start,
                    end,
                    settings: String::new(),
                    payload: payload.join("\n"),
                })
            })
            .collect();
        super::SubtitleDoc {
            cues,
            ..Default::default()
        }
    }
}
