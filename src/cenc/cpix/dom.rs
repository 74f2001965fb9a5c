//! A small element tree over quick-xml's namespace-aware reader: CPIX documents are a few
//! kilobytes, and walking a tree keeps the reader (read.rs) as plain as the schema it follows.
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// One element: its namespace URI, local name, attributes (local names; CPIX's are all
/// unqualified), child elements and text content.
#[derive(Debug, Clone, Default)]
pub struct Element {
    /// The namespace URI (empty when unbound).
    pub ns: String,
    /// The local name.
    pub name: String,
    /// Attributes by local name, in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own text (character data and CDATA), concatenated.
    pub text: String,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements named `name` in namespace `ns`.
    pub fn all<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.name == name)
    }

    /// The first child named `name` in namespace `ns`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.ns == ns && c.name == name)
    }

    /// The text with XML whitespace removed (base64 values are often wrapped).
    pub fn compact_text(&self) -> String {
        self.text.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

fn start(ns: ResolveResult, e: &BytesStart) -> Result<Element, String> {
    let ns = match ns {
        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => {
            return Err(format!(
                "undeclared namespace prefix '{}'",
                String::from_utf8_lossy(&p)
            ))
        }
    };
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        let key = a.key;
        // Namespace declarations are not attributes of the document model.
        if key.as_ref() == b"xmlns" || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
            continue;
        }
        let value = a
            .unescape_value()
            .map_err(|e| format!("bad attribute value: {e}"))?
            .into_owned();
        attrs.push((
            String::from_utf8_lossy(key.local_name().as_ref()).into_owned(),
            value,
        ));
    }
    Ok(Element {
        ns,
        name,
        attrs,
        ..Default::default()
    })
}

/// Parses a whole document into its root element. DTDs are refused (a CPIX document has none,
/// and refusing them rules out entity tricks).
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let at = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("not well-formed XML near byte {at}: {e}"))?;
        match event {
            Event::Start(e) => stack.push(start(ns, &e)?),
            Event::Empty(e) => {
                let el = start(ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err("more than one root element".into()),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err("more than one root element".into()),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .unescape()
                        .map_err(|e| format!("bad character data: {e}"))?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::DocType(_) => return Err("a DOCTYPE is not allowed in a CPIX document".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// Escapes text for an XML attribute value or element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_namespaces_and_text() {
        let root = parse(
            r#"<?xml version="1.0"?><c:CPIX xmlns:c="urn:x" a="1 &amp; 2"><c:K kid="k">QU&#x4a;
            D</c:K><Plain/></c:CPIX>"#,
        )
        .unwrap();
        assert_eq!((root.ns.as_str(), root.name.as_str()), ("urn:x", "CPIX"));
        assert_eq!(root.attr("a"), Some("1 & 2"));
        let k = root.child("urn:x", "K").unwrap();
        assert_eq!(k.compact_text(), "QUJD");
        assert_eq!(root.children[1].ns, "");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>").is_err());
        assert!(parse("<p:a/>").is_err());
    }
}
