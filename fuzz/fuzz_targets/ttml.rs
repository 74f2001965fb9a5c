//! Fuzzes the TTML reader, and checks that every document it accepts survives vodpack's
//! segmentation: each segment's IMSC1 document parses back to the paragraphs active in the
//! segment, clipped to it, with the same text; the WebVTT view parses as WebVTT.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vodpack::subtitle::segment;
use vodpack::subtitle::ttml::{self, write};
use vodpack::subtitle::vtt;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = ttml::parse(data) else {
        return;
    };
    let end = doc
        .paragraphs
        .iter()
        .map(|p| if p.end == ttml::INDEFINITE { p.start + 1 } else { p.end })
        .max()
        .unwrap_or(0)
        .min(1 << 40);
    let cut = (end / 2).max(1);
    for (s, e) in [(0, cut), (cut, end.max(cut + 1))] {
        let ps = write::paragraphs_in(&doc, s, e);
        let text = write::segment_document(&doc, &ps, s, e);
        let back = ttml::parse(text.as_bytes()).expect("vodpack's own document must parse");
        let want: Vec<(u64, u64, &str)> = ps
            .iter()
            .map(|p| (p.start.max(s), p.end.min(e), p.text.as_str()))
            .filter(|p| p.1 > p.0)
            .collect();
        let got: Vec<(u64, u64, &str)> = back
            .paragraphs
            .iter()
            .map(|p| (p.start, p.end, p.text.as_str()))
            .collect();
        assert_eq!(got, want);
    }
    let vtt_doc = doc.to_webvtt(end);
    let text = segment::hls_segment(&vtt_doc, &vtt_doc.cues.iter().collect::<Vec<_>>());
    let parsed = vtt::parse(text.as_bytes()).expect("the WebVTT view must parse");
    assert_eq!(parsed.cues, vtt_doc.cues);
});
