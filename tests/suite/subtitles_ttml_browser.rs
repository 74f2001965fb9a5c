//! TTML/IMSC1 subtitles in real players: the DASH `stpp` track in Shaka Player and dash.js, and
//! the HLS WebVTT made from the same TTML in Shaka Player and hls.js, in headless Chromium: each
//! lists the French track, shows it, and after playing the title holds in `video.textTracks`
//! cues with the TTML source's times (±10 ms) and text (tests/browser/run.mjs `--expect
//! subtitles`; dash.js's TTML cues are read from the imsc.js document they carry). About 50 s.

use crate::common::*;

#[test]
fn players_show_the_ttml_cues() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    package(
        &out,
        &[
            "--segment-duration".into(),
            "2".into(),
            fixture("h264_240p.mp4").display().to_string(),
            fixture("h264_360p.mp4").display().to_string(),
            format!(
                "in={},lang=en,name=English",
                fixture("aac_en.mp4").display()
            ),
            format!(
                "in={},lang=fr,name=Français",
                fixture("subs_fr.ttml").display()
            ),
        ],
    );
    // fixtures/subs_fr.ttml's paragraphs resolved by hand (seconds; 25 fps frames, a div offset).
    let cues = r#"[
        {"start": 0.48, "end": 1.8, "text": "Bienvenue à tous !"},
        {"start": 1.9, "end": 2.6, "text": "Ça commence,\ndeuxième ligne — déjà."},
        {"start": 3.0, "end": 4.5, "text": "Œuvre d'été &amp; café crème\nà 4 s pile"},
        {"start": 5.0, "end": 6.24, "text": "Où est la gare ? 日本語も"},
        {"start": 6.6, "end": 7.75, "text": "Fin du test."}
    ]"#;
    let cues_file = dir.path().join("cues.json");
    std::fs::write(&cues_file, cues).unwrap();
    let _one_browser = browser_slot();
    let mut failures = Vec::new();
    for (player, protocol) in [
        ("shaka", "dash"),
        ("dashjs", "dash"),
        ("shaka", "hls"),
        ("hlsjs", "hls"),
    ] {
        let output = browser_harness(&out, player, protocol)
            .args([
                "--expect",
                "subtitles",
                "--text-lang",
                "fr",
                "--text-name",
                "Français",
            ])
            .arg("--expect-cues")
            .arg(&cues_file)
            .output()
            .expect("run node tests/browser/run.mjs");
        let report = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            failures.push(format!(
                "{player}/{protocol}: {report}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        } else {
            assert!(report.contains("\"played to the end\""), "{report}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
