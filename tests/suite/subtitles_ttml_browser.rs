//! TTML/IMSC1 subtitles in real players: the DASH `stpp` track in Shaka Player and dash.js, and
//! the HLS WebVTT made from the same TTML in Shaka Player and hls.js, in headless Chromium: each
//! lists the French track, shows it, and after playing the title holds in `video.textTracks`
//! cues with the TTML source's times (±10 ms) and text (tests/browser/run.mjs `--expect
//! subtitles`; dash.js's TTML cues are read from the imsc.js document they carry). About 50 s.

use crate::subtitles_browser::players_show_the_cues;

#[test]
fn players_show_the_ttml_cues() {
    // fixtures/subs_fr.ttml's paragraphs resolved by hand (seconds; 25 fps frames, a div offset).
    let cues = r#"[
        {"start": 0.48, "end": 1.8, "text": "Bienvenue à tous !"},
        {"start": 1.9, "end": 2.6, "text": "Ça commence,\ndeuxième ligne — déjà."},
        {"start": 3.0, "end": 4.5, "text": "Œuvre d'été &amp; café crème\nà 4 s pile"},
        {"start": 5.0, "end": 6.24, "text": "Où est la gare ? 日本語も"},
        {"start": 6.6, "end": 7.75, "text": "Fin du test."}
    ]"#;
    players_show_the_cues("subs_fr.ttml", cues);
}
