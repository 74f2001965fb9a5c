//! vodpack's output plays in headless Chromium (Debian `chromium`, driven by playwright-core) with
//! Shaka Player (DASH and HLS), dash.js (DASH) and hls.js (HLS): load, play 2 s, seek to the middle
//! and play on, then a forced switch to every video rendition, checked through the player's API and
//! the decoded picture height. Encrypted output plays with Clear Key for cenc and cbcs; the same
//! output with a wrong key must fail, which proves decryption happens. HEVC (which Chromium's MSE
//! cannot play) is filtered out cleanly. The harness is tests/browser/run.mjs (docs/testing.md);
//! it was proven on Shaka Packager's output with scripts/browser-matrix-shaka.sh.

use std::path::Path;

use crate::common::*;

const LADDER: [&str; 5] = ["h264_240p", "h264_360p", "h264_720p", "aac_en", "aac_fr"];

fn inputs(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let lang = match *n {
                "aac_en" => ",lang=en,name=English",
                "aac_fr" => ",lang=fr,name=Français",
                _ => "",
            };
            format!("in={},id={n}{lang}", fixture(&format!("{n}.mp4")).display())
        })
        .collect()
}

struct Run<'a> {
    player: &'a str,
    protocol: &'a str,
    drm: &'a str,
    wrong_key: bool,
    expect: &'a str,
    heights: Option<&'a str>,
    port: u16,
}

fn play(out: &Path, run: &Run) {
    let mut cmd = browser_harness(out, run.player, run.protocol);
    cmd.args(["--drm", run.drm])
        .args(["--expect", run.expect, "--port", &run.port.to_string()])
        .args(["--keys", &browser_keys_arg()]);
    if run.wrong_key {
        cmd.arg("--wrong-key");
    }
    if let Some(h) = run.heights {
        cmd.args(["--expect-heights", h]);
    }
    let what = format!(
        "{} {} drm={} wrong_key={} expect={}",
        run.player, run.protocol, run.drm, run.wrong_key, run.expect
    );
    assert_harness_ok(&mut cmd, &what);
}

/// Packages `names` (clear, or with `scheme` and the fixed test keys, signalling Clear Key with a
/// licence URL on `port`) and runs the player on it.
fn check(names: &[&str], scheme: Option<&str>, run: Run) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = Vec::new();
    if let Some(scheme) = scheme {
        args.extend(protection_args(scheme));
        args.extend([
            "--drm".to_string(),
            "clearkey".to_string(),
            "--clearkey-license-url".to_string(),
            format!("http://127.0.0.1:{}/license", run.port),
        ]);
    }
    args.extend(inputs(names));
    package(&out, &args);
    play(&out, &run);
}

macro_rules! clear_tests {
    ($($name:ident: $player:expr, $protocol:expr;)*) => {$(
        #[test]
        fn $name() {
            check(&LADDER, None, Run {
                player: $player, protocol: $protocol, drm: "none", wrong_key: false,
                expect: "play", heights: Some("240,360,720"), port: free_port(),
            });
        }
    )*};
}

macro_rules! protected_tests {
    ($($name:ident: $scheme:expr, $player:expr, $protocol:expr, $drm:expr;)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn plays_seeks_and_switches_every_rendition() {
                check(&LADDER, Some($scheme), Run {
                    player: $player, protocol: $protocol, drm: $drm, wrong_key: false,
                    expect: "play", heights: Some("240,360,720"), port: free_port(),
                });
            }

            #[test]
            fn fails_with_a_wrong_key() {
                check(&LADDER, Some($scheme), Run {
                    player: $player, protocol: $protocol, drm: $drm, wrong_key: true,
                    expect: "fail", heights: None, port: free_port(),
                });
            }
        }
    )*};
}

clear_tests! {
    clear_shaka_dash: "shaka", "dash";
    clear_shaka_hls: "shaka", "hls";
    clear_dashjs_dash: "dashjs", "dash";
    clear_hlsjs_hls: "hlsjs", "hls";
}

// How each player gets Clear Key keys (docs/testing.md): Shaka Player with DASH from its licence
// server config; dash.js from the licence URL in the MPD (`dashif:Laurl`); hls.js from its licence
// server config with KEYFORMAT="org.w3.clearkey"; Shaka Player with HLS from inline keys (Shaka
// reads no Clear Key KEYFORMAT but "identity", whose URI would have to return the raw key).
protected_tests! {
    cenc_shaka_dash: "cenc", "shaka", "dash", "server";
    cenc_shaka_hls: "cenc", "shaka", "hls", "inline";
    cenc_dashjs_dash: "cenc", "dashjs", "dash", "manifest";
    cenc_hlsjs_hls: "cenc", "hlsjs", "hls", "server";
    cbcs_shaka_dash: "cbcs", "shaka", "dash", "server";
    cbcs_shaka_hls: "cbcs", "shaka", "hls", "inline";
    cbcs_dashjs_dash: "cbcs", "dashjs", "dash", "manifest";
    cbcs_hlsjs_hls: "cbcs", "hlsjs", "hls", "server";
}

macro_rules! hevc_tests {
    ($($name:ident: $player:expr, $protocol:expr;)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn hevc_only_asset_is_refused_cleanly() {
                check(&["hevc_360p", "aac_en"], None, Run {
                    player: $player, protocol: $protocol, drm: "none", wrong_key: false,
                    expect: "no-playable", heights: None, port: free_port(),
                });
            }

            #[test]
            fn mixed_asset_plays_the_h264_renditions() {
                check(&["h264_240p", "h264_720p", "hevc_360p", "aac_en"], None, Run {
                    player: $player, protocol: $protocol, drm: "none", wrong_key: false,
                    expect: "play", heights: Some("240,720"), port: free_port(),
                });
            }
        }
    )*};
}

hevc_tests! {
    hevc_shaka_dash: "shaka", "dash";
    hevc_shaka_hls: "shaka", "hls";
    hevc_dashjs_dash: "dashjs", "dash";
    hevc_hlsjs_hls: "hlsjs", "hls";
}

// AV1 and VP9 (fixtures/make-codecs.sh: two rungs each, AV1 with 2x2 tiles, VP9 with superframes)
// encrypted with cenc and cbcs, each scheme in Shaka Player, dash.js and hls.js: Chromium decrypts
// them with Clear Key and decodes the tiles, so the subsample maps keep exactly the bytes the
// decoder parses in the clear.
macro_rules! codec_tests {
    ($($name:ident: $codec:expr, $scheme:expr, $player:expr, $protocol:expr, $drm:expr;)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn plays_seeks_and_switches_every_rendition() {
                let names = [concat!($codec, "_240p"), concat!($codec, "_360p")];
                check(&names, Some($scheme), Run {
                    player: $player, protocol: $protocol, drm: $drm, wrong_key: false,
                    expect: "play", heights: Some("240,360"), port: free_port(),
                });
            }
        }
    )*};
}

codec_tests! {
    av1_cenc_shaka_dash: "av1", "cenc", "shaka", "dash", "server";
    av1_cbcs_shaka_dash: "av1", "cbcs", "shaka", "dash", "server";
    av1_cenc_dashjs_dash: "av1", "cenc", "dashjs", "dash", "manifest";
    av1_cbcs_dashjs_dash: "av1", "cbcs", "dashjs", "dash", "manifest";
    av1_cenc_hlsjs_hls: "av1", "cenc", "hlsjs", "hls", "server";
    av1_cbcs_hlsjs_hls: "av1", "cbcs", "hlsjs", "hls", "server";
    vp9_cenc_shaka_dash: "vp9", "cenc", "shaka", "dash", "server";
    vp9_cbcs_shaka_dash: "vp9", "cbcs", "shaka", "dash", "server";
    vp9_cbcs_dashjs_dash: "vp9", "cbcs", "dashjs", "dash", "manifest";
    vp9_cenc_dashjs_dash: "vp9", "cenc", "dashjs", "dash", "manifest";
    vp9_cenc_hlsjs_hls: "vp9", "cenc", "hlsjs", "hls", "server";
    vp9_cbcs_hlsjs_hls: "vp9", "cbcs", "hlsjs", "hls", "server";
}

#[test]
fn av1_cbcs_fails_with_a_wrong_key() {
    check(
        &["av1_240p", "av1_360p"],
        Some("cbcs"),
        Run {
            player: "shaka",
            protocol: "dash",
            drm: "server",
            wrong_key: true,
            expect: "fail",
            heights: None,
            port: free_port(),
        },
    );
}
