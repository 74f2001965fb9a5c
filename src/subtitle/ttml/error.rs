//! What can be wrong in a TTML document ([`TtmlErrorKind`]); the reader adds the line, and the
//! subtitle layer's [`crate::subtitle::error::ParseError`] carries it.
use super::time::TimeError;
use super::NS_TT;
use crate::subtitle::short;
use std::fmt;

/// `div` elements nest at most this deep (a bound on the reader's recursion).
pub const MAX_DEPTH: usize = 64;

/// What is wrong in a TTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtmlErrorKind {
    /// Not well-formed XML (the XML reader's message).
    Xml(String),
    /// The XML declaration names an encoding other than UTF-8.
    Encoding(String),
    /// The document element is not `tt` in the TTML namespace (what it is).
    NotTt(String),
    /// No document element at all.
    NoRoot,
    /// `ttp:timeBase` other than `media` (IMSC1 §6.? allows only media).
    TimeBase(String),
    /// A timing parameter with a value that is not allowed (attribute, value).
    Parameter(String, String),
    /// A time attribute that cannot be read (attribute, value, why).
    Time(String, String, TimeError),
    /// An element whose `end` comes before its `begin` (ms, relative to its parent).
    EndsBeforeBegin(u64, u64),
    /// `begin`, `end` or `dur` on an element inside a paragraph (its name).
    TimedInParagraph(String),
    /// `timeContainer="seq"`.
    SequentialTime,
    /// `div` elements nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The document ends inside an element (its name).
    Unclosed(String),
    /// Something other than comments or processing instructions after the `tt` element.
    AfterRoot,
}

impl fmt::Display for TtmlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TtmlErrorKind::Xml(e) => write!(f, "not well-formed XML: {e}"),
            TtmlErrorKind::Encoding(e) => {
                write!(
                    f,
                    "the document is declared as '{}'; only UTF-8 is read",
                    short(e)
                )
            }
            TtmlErrorKind::NotTt(what) => write!(
                f,
                "the document element is {what}, not 'tt' in the TTML namespace ({NS_TT})"
            ),
            TtmlErrorKind::NoRoot => f.write_str("no 'tt' element: this is not a TTML document"),
            TtmlErrorKind::TimeBase(v) => write!(
                f,
                "ttp:timeBase='{}' is not supported (IMSC1 uses the media time base)",
                short(v)
            ),
            TtmlErrorKind::Parameter(name, v) => {
                write!(f, "{name}='{}' is not a valid value", short(v))
            }
            TtmlErrorKind::Time(name, v, e) => write!(f, "{name}='{}': {e}", short(v)),
            TtmlErrorKind::EndsBeforeBegin(b, e) => write!(
                f,
                "the element ends ({}) before it begins ({})",
                crate::subtitle::format_timestamp(*e),
                crate::subtitle::format_timestamp(*b)
            ),
            TtmlErrorKind::TimedInParagraph(name) => write!(
                f,
                "timing on '{}' inside a paragraph is not supported (time the 'p' elements)",
                short(name)
            ),
            TtmlErrorKind::SequentialTime => {
                f.write_str("timeContainer='seq' is not supported (IMSC1 documents use par)")
            }
            TtmlErrorKind::TooDeep => write!(f, "div elements nest deeper than {MAX_DEPTH}"),
            TtmlErrorKind::Unclosed(name) => {
                write!(f, "the document ends inside '{}'", short(name))
            }
            TtmlErrorKind::AfterRoot => f.write_str("content after the end of the 'tt' element"),
        }
    }
}
