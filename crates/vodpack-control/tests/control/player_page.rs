//! The player page's files come from the binary: `/` lists the embedded players, and
//! `/player/lib/` answers each player's release build byte for byte as vendored
//! (crates/vodpack-control/players/), its licence, and the page's script; `--player-dist` files
//! replace the embedded build of the same name, never the page's script. The embedded versions
//! are the ones the browser harness pins (tests/browser/package.json).

use std::path::Path;

use serde_json::Value;
use vodpack_control::player_assets::{PAGE_SCRIPT, PLAYERS};
use vodpack_control::serve::{start, ServeConfig, ServeKeys};

use crate::common::{cenc_fixture, temp_dir};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

async fn get(url: String) -> (u16, String, Vec<u8>) {
    let res = crate::common::http_client()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ty = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ty, res.bytes().await.unwrap().to_vec())
}

/// The CONFIG object the server wrote into the page.
fn page_config(html: &str) -> Value {
    let start = html.find("window.VODPACK_CONFIG = ").unwrap() + "window.VODPACK_CONFIG = ".len();
    let end = start + html[start..].find(";\n").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_players_are_served_from_the_binary() {
    let tmp = temp_dir("player-page");
    let mut config = ServeConfig::new(cenc_fixture());
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.events_path = Some(tmp.join("events.ndjson"));
    let s = start(config).await.unwrap();

    let (status, ty, html) = get(format!("{}/", s.url())).await;
    assert_eq!(status, 200);
    assert!(ty.starts_with("text/html"), "{ty}");
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains(&format!("/player/lib/{PAGE_SCRIPT}")),
        "{html}"
    );
    let listed = page_config(&html)["players"].clone();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), PLAYERS.len());

    let pins: Value = serde_json::from_slice(
        &std::fs::read(crate_dir().join("../../tests/browser/package.json")).unwrap(),
    )
    .unwrap();
    let vendored = crate_dir().join("players");
    for (p, l) in PLAYERS.iter().zip(listed) {
        assert_eq!(l["id"], p.id);
        assert_eq!(l["version"], p.version);
        assert_eq!(
            pins["dependencies"][p.package], p.version,
            "{}: the page embeds another version than the browser tests pin",
            p.name
        );
        let (status, ty, body) = get(format!("{}/player/lib/{}", s.url(), p.script)).await;
        assert_eq!(status, 200, "{}", p.script);
        assert!(ty.starts_with("text/javascript"), "{ty}");
        let file = std::fs::read(vendored.join(p.package).join(p.script)).unwrap();
        assert!(body == file, "{}: not the vendored build", p.script);
        let (status, ty, licence) = get(format!("{}/player/lib/{}", s.url(), p.licence)).await;
        assert_eq!(status, 200, "{}", p.licence);
        assert!(ty.starts_with("text/plain"), "{ty}");
        let licence = String::from_utf8(licence).unwrap();
        assert!(
            licence.contains("Apache License") || licence.contains("Redistribution and use"),
            "{}: {licence}",
            p.name
        );
    }
    let (status, ty, script) = get(format!("{}/player/lib/{PAGE_SCRIPT}", s.url())).await;
    assert_eq!(status, 200);
    assert!(ty.starts_with("text/javascript"), "{ty}");
    assert!(String::from_utf8(script)
        .unwrap()
        .contains("window.vodpack"));
    for bad in [
        "nope.js",
        "Cargo.toml",
        ".hidden.js",
        "players%2FVERSIONS.md",
    ] {
        let (status, _, _) = get(format!("{}/player/lib/{bad}", s.url())).await;
        assert_eq!(status, 404, "{bad}");
    }
    s.shutdown().await.unwrap();

    // --player-dist: its files replace the embedded builds of the same name only.
    let dist = tmp.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("shaka-player.compiled.js"), "// another build\n").unwrap();
    std::fs::write(dist.join(PAGE_SCRIPT), "// not the page\n").unwrap();
    let mut config = ServeConfig::new(cenc_fixture());
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.events_path = Some(tmp.join("events.ndjson"));
    config.player_dist_dir = Some(dist);
    let s = start(config).await.unwrap();
    let (_, _, shaka) = get(format!("{}/player/lib/shaka-player.compiled.js", s.url())).await;
    assert_eq!(shaka, b"// another build\n");
    let (status, _, hls) = get(format!("{}/player/lib/hls.min.js", s.url())).await;
    assert_eq!(status, 200);
    assert!(hls.len() > 100_000, "hls.js still embedded");
    let (_, _, page) = get(format!("{}/player/lib/{PAGE_SCRIPT}", s.url())).await;
    assert!(String::from_utf8(page).unwrap().contains("window.vodpack"));
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}
