//! Subtitles in real players: Shaka Player (DASH and HLS), dash.js (DASH) and hls.js (HLS) in
//! headless Chromium list the French WebVTT track, show it, and hold its cues in
//! `video.textTracks` with the source's times and text (tests/browser/run.mjs `--expect
//! subtitles`). About 50 s: the asset is played once per player at 2x.

use crate::common::*;

#[test]
fn players_show_the_french_cues() {
    // fixtures/subs_fr.vtt's cues, written out by hand (seconds).
    let cues = r#"[
        {"start": 0.5, "end": 1.8, "text": "Bienvenue à <b>tous</b> !"},
        {"start": 1.9, "end": 2.6, "text": "<v Élodie>Ça commence,</v>\n<i>deuxième ligne</i> — déjà."},
        {"start": 3.0, "end": 4.5, "text": "<c.jaune>Œuvre d'été</c> &amp; café crème\nà 4 s pile"},
        {"start": 5.0, "end": 6.25, "text": "Où est la gare ? 日本語も"},
        {"start": 6.5, "end": 7.75, "text": "<00:06.500>Fin<00:07.000> du <u>test</u>."}
    ]"#;
    players_show_the_cues("subs_fr.vtt", cues);
}

/// Packages 240p and 360p H.264, English AAC and the French subtitle fixture `subtitles` with
/// 2-s segments, then has Shaka Player (DASH, HLS), dash.js and hls.js list and show the French
/// track and hold `cues` (JSON: start, end, text) in `video.textTracks`.
pub fn players_show_the_cues(subtitles: &str, cues: &str) {
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
            format!("in={},lang=fr,name=Français", fixture(subtitles).display()),
        ],
    );
    let cues_file = dir.path().join("cues.json");
    std::fs::write(&cues_file, cues).unwrap();
    let _one_browser = browser_slot();
    let mut failures = Vec::new();
    for (player, protocol) in [
        ("shaka", "dash"),
        ("shaka", "hls"),
        ("dashjs", "dash"),
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
