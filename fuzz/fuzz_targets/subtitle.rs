//! Fuzzes the WebVTT and SRT parsers, and checks that every file they accept survives vodpack's
//! segmentation: the cues written into HLS WebVTT segments parse back identical, and the wvtt
//! samples of each segment tile it exactly.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vodpack::subtitle::{segment, srt, vtt, wvtt, SubtitleDoc};

fn check(doc: &SubtitleDoc) {
    let end = doc.cues.iter().map(|c| c.end).max().unwrap_or(0);
    let cut = end / 2;
    let mut back = Vec::new();
    for (s, e) in [(0, cut.max(1)), (cut.max(1), end.max(2))] {
        let cues = segment::cues_in(&doc.cues, s, e);
        let text = segment::hls_segment(doc, &cues);
        let parsed = vtt::parse(text.as_bytes()).expect("vodpack's own segment must parse");
        assert_eq!(parsed.cues.len(), cues.len());
        for (a, b) in parsed.cues.iter().zip(&cues) {
            assert_eq!(a, *b);
        }
        if e - s < 1 << 20 {
            let samples = wvtt::segment_samples(&cues, s, e);
            assert_eq!(samples.iter().map(|x| x.0).sum::<u64>(), e - s);
        }
        back.extend(parsed.cues);
    }
    back.dedup();
    assert!(back.len() <= doc.cues.len() * 2);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = vtt::parse(data) {
        check(&doc);
    }
    if let Ok(doc) = srt::parse(data) {
        check(&doc);
    }
});
