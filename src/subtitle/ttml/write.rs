//! One complete IMSC1 document per segment (ISO/IEC 14496-30 §5.9: a sample is a whole TTML
//! document, active from the sample's composition time for its duration).
//!
//! The document is the source's `tt` element (attributes as written), its `head` as written,
//! its `body` and the `div`s leading to each paragraph active in the segment, and those
//! paragraphs with their content as written. Their `begin`/`end` are the resolved times on the
//! track timeline (ISO/IEC 14496-30 §5.3: times in a sample are on the track's presentation
//! timeline, not relative to the sample; dash.js and Shaka Player read them so), clipped to the
//! segment so that no document outlasts its sample (§5.9 recommends it); ancestors carry no
//! timing, so the paragraph's times are absolute.
use super::{Element, Paragraph, TtmlDoc};
use crate::subtitle::format_timestamp;
use quick_xml::escape::escape;

/// The paragraphs overlapping `[start, end)`, in document order.
pub fn paragraphs_in(doc: &TtmlDoc, start: u64, end: u64) -> Vec<&Paragraph> {
    doc.paragraphs
        .iter()
        .filter(|p| p.start < end && p.end > start)
        .collect()
}

fn open_tag(out: &mut String, el: &Element, times: Option<(u64, u64)>, empty: bool) {
    out.push('<');
    out.push_str(&el.name);
    for (k, v) in &el.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&escape(v.as_str()));
        out.push('"');
    }
    if let Some((b, e)) = times {
        out.push_str(" begin=\"");
        out.push_str(&format_timestamp(b));
        out.push_str("\" end=\"");
        out.push_str(&format_timestamp(e));
        out.push('"');
    }
    out.push_str(if empty { "/>" } else { ">" });
}

fn close_tag(out: &mut String, el: &Element) {
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

/// The qualified name of a TTML element named `local`, with the prefix the `tt` element uses.
fn sibling_name(root: &Element, local: &str) -> String {
    match root.name.split_once(':') {
        Some((prefix, _)) => format!("{prefix}:{local}"),
        None => local.to_string(),
    }
}

/// The `div` indices from the outermost to `idx`.
fn chain(doc: &TtmlDoc, mut idx: Option<usize>) -> Vec<usize> {
    let mut out = Vec::new();
    while let Some(i) = idx {
        out.push(i);
        idx = doc.containers[i].parent;
    }
    out.reverse();
    out
}

/// The IMSC1 document of the segment `[start, end)` (ms): the paragraphs of `paragraphs`
/// clipped to it.
pub fn segment_document(doc: &TtmlDoc, paragraphs: &[&Paragraph], start: u64, end: u64) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    open_tag(&mut out, &doc.root, None, false);
    if let Some(head) = &doc.head {
        out.push_str(head);
    }
    let body = doc.body.clone().unwrap_or_else(|| Element {
        name: sibling_name(&doc.root, "body"),
        attrs: Vec::new(),
    });
    if paragraphs.is_empty() {
        open_tag(&mut out, &body, None, true);
    } else {
        open_tag(&mut out, &body, None, false);
        let mut open: Vec<usize> = Vec::new();
        for p in paragraphs {
            let want = chain(doc, p.container);
            let common = open.iter().zip(&want).take_while(|(a, b)| a == b).count();
            while open.len() > common {
                let i = open.pop().expect("longer than common");
                close_tag(&mut out, &doc.containers[i].element);
            }
            for &i in &want[common..] {
                out.push('\n');
                open_tag(&mut out, &doc.containers[i].element, None, false);
                open.push(i);
            }
            out.push('\n');
            open_tag(
                &mut out,
                &p.element,
                Some((p.start.max(start), p.end.min(end))),
                false,
            );
            out.push_str(&p.content);
            close_tag(&mut out, &p.element);
        }
        while let Some(i) = open.pop() {
            close_tag(&mut out, &doc.containers[i].element);
        }
        out.push('\n');
        close_tag(&mut out, &body);
    }
    close_tag(&mut out, &doc.root);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subtitle::ttml::parse;

    #[test]
    fn segment_documents_hold_the_active_paragraphs_clipped() {
        let src = std::fs::read(format!(
            "{}/fixtures/subs_fr.ttml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let doc = parse(&src).unwrap();
        let ps = paragraphs_in(&doc, 2000, 4000);
        assert_eq!(ps.len(), 2);
        let text = segment_document(&doc, &ps, 2000, 4000);
        assert!(text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tt xmlns=\"http://www.w3.org/ns/ttml\""
        ));
        assert!(text.contains(doc.head.as_deref().unwrap()));
        assert!(
            text.contains("<body style=\"base\">\n<div>\n<p xml:id"),
            "{text}"
        );
        assert!(
            text.contains("<div region=\"bas\">\n<p begin=\"00:00:03.000\" end=\"00:00:04.000\">"),
            "{text}"
        );
        assert!(text.contains("<p xml:id=\"traverse-2s\" region=\"haut\" begin=\"00:00:02.000\" end=\"00:00:02.600\">"), "{text}");
        // Read back: the same paragraphs, clipped, in the same divs.
        let back = parse(text.as_bytes()).unwrap();
        let got: Vec<(u64, u64, &str)> = back
            .paragraphs
            .iter()
            .map(|p| (p.start, p.end, p.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2000, 2600, "Ça commence,\ndeuxième ligne — déjà."),
                (3000, 4000, "Œuvre d'été & café crème\nà 4 s pile"),
            ]
        );
        assert_eq!(back.containers.len(), 2);
        assert_eq!(back.head, doc.head);
        assert_eq!(back.root, doc.root);
        let empty = segment_document(&doc, &[], 8000, 10_000);
        assert!(empty.contains("<body style=\"base\"/></tt>"), "{empty}");
        assert!(parse(empty.as_bytes()).unwrap().paragraphs.is_empty());
    }

    #[test]
    fn prefixed_documents_keep_their_prefixes() {
        let doc = parse(br#"<tt:tt xmlns:tt="http://www.w3.org/ns/ttml"><tt:body><tt:div><tt:div><tt:p begin="1s" end="2s">a</tt:p></tt:div></tt:div><tt:div><tt:p begin="1s" end="3s">b</tt:p></tt:div></tt:body></tt:tt>"#).unwrap();
        let ps = paragraphs_in(&doc, 0, 2000);
        let text = segment_document(&doc, &ps, 0, 2000);
        assert!(text.contains("<tt:body>\n<tt:div>\n<tt:div>\n<tt:p begin=\"00:00:01.000\" end=\"00:00:02.000\">a</tt:p></tt:div></tt:div>\n<tt:div>\n<tt:p begin=\"00:00:01.000\" end=\"00:00:02.000\">b</tt:p></tt:div>\n</tt:body></tt:tt>"), "{text}");
        let bare = parse(br#"<tt:tt xmlns:tt="http://www.w3.org/ns/ttml"/>"#).unwrap();
        assert!(segment_document(&bare, &[], 0, 1).contains("<tt:body/></tt:tt>"));
    }
}
