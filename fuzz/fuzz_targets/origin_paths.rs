//! Fuzzes the origin's media-type lookup (`vodpack_control::origin::MediaKinds::kind`), which runs
//! on every request path a client sends to `vodpack serve`, and the key manifest's segment
//! templates it is built from. Input: a selector byte, then text.
//! - selector even: the text is a request path, looked up in two fixed assets' file locations (a
//!   two-scheme `$Time$` template whose rendition ids prefix each other, and a template with a
//!   digit field in a folder);
//! - selector odd: the text is a segment template, put in a key manifest and validated; when it
//!   is accepted, its locations are compiled and a few paths made from the text are looked up.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vodpack_control::key_manifest::KeyManifest;
use vodpack_control::origin::MediaKinds;

/// A two-scheme `--segment-template 'chunks/$RepresentationID$_$Time$.m4s'` asset: video
/// `video_240p`, audio `video_240p_2` (an id that starts with the other) and WebVTT `text_fr`.
const TWO_SCHEMES: &str = include_str!("origin_paths_asset.json");

fn assets() -> &'static [(KeyManifest, MediaKinds)] {
    static A: OnceLock<Vec<(KeyManifest, MediaKinds)>> = OnceLock::new();
    A.get_or_init(|| {
        let first = KeyManifest::from_json(TWO_SCHEMES).expect("seed asset");
        let mut second = first.clone();
        // A digit field in a folder: the lookup has to match whole paths there.
        for r in &mut second.renditions {
            r.segment_template = Some(format!("{}/$Number%03d$/s.m4s", r.id));
        }
        second.schemes.clear();
        second.validate().expect("second asset");
        [first, second]
            .into_iter()
            .map(|m| {
                let kinds = MediaKinds::new(&m);
                (m, kinds)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let assets = assets();
    if selector & 1 == 0 {
        let (_, kinds) = &assets[usize::from(selector >> 1) % assets.len()];
        let _ = kinds.kind(&text);
        return;
    }
    let mut m = assets[0].0.clone();
    m.schemes.clear();
    m.renditions[0].segment_template = Some(text.to_string());
    if m.validate().is_err() {
        return;
    }
    let kinds = MediaKinds::new(&m);
    for path in [
        text.replace("$Number$", "1").replace("$Time$", "0"),
        text.to_string(),
        format!("{text}/x.m4s"),
    ] {
        let _ = kinds.kind(&path);
    }
});
