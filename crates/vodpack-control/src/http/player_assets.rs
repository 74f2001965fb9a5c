//! The files of `vodpack serve`'s player page, compiled into the binary so the page plays with
//! nothing installed: the page's own script and the release builds of Shaka Player, dash.js and
//! hls.js from the npm registry (`players/VERSIONS.md`, refreshed by `scripts/vendor-players.sh`),
//! each with its licence. Served under `/player/lib/<name>`.

/// One embedded web player build.
pub struct PlayerBuild {
    /// The page's id of the player (`shaka`, `dashjs`, `hlsjs`).
    pub id: &'static str,
    /// The project's name.
    pub name: &'static str,
    /// The npm package the build comes from.
    pub package: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The script's name under `/player/lib/`.
    pub script: &'static str,
    /// The licence's name under `/player/lib/`.
    pub licence: &'static str,
    /// The protocols the page offers with this player.
    pub protocols: &'static [&'static str],
}

/// The players of the page, in the order it offers them.
pub const PLAYERS: [PlayerBuild; 3] = [
    PlayerBuild {
        id: "shaka",
        name: "Shaka Player",
        package: "shaka-player",
        version: "5.2.12",
        script: "shaka-player.compiled.js",
        licence: "shaka-player.LICENSE.txt",
        protocols: &["dash", "hls"],
    },
    PlayerBuild {
        id: "dashjs",
        name: "dash.js",
        package: "dashjs",
        version: "5.2.1",
        script: "dash.all.min.js",
        licence: "dashjs.LICENSE.txt",
        protocols: &["dash"],
    },
    PlayerBuild {
        id: "hlsjs",
        name: "hls.js",
        package: "hls.js",
        version: "1.7.4",
        script: "hls.min.js",
        licence: "hls.js.LICENSE.txt",
        protocols: &["hls"],
    },
];

/// The page's own script.
pub const PAGE_SCRIPT: &str = "vodpack-player.js";

/// The embedded file served as `/player/lib/<name>`: its bytes and media type.
pub fn asset(name: &str) -> Option<(&'static [u8], &'static str)> {
    const JS: &str = "text/javascript; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    Some(match name {
        PAGE_SCRIPT => (include_bytes!("player_page.js").as_slice(), JS),
        "shaka-player.compiled.js" => (
            include_bytes!("../../players/shaka-player/shaka-player.compiled.js").as_slice(),
            JS,
        ),
        "dash.all.min.js" => (
            include_bytes!("../../players/dashjs/dash.all.min.js").as_slice(),
            JS,
        ),
        "hls.min.js" => (
            include_bytes!("../../players/hls.js/hls.min.js").as_slice(),
            JS,
        ),
        "shaka-player.LICENSE.txt" => (
            include_bytes!("../../players/shaka-player/LICENSE").as_slice(),
            TEXT,
        ),
        "dashjs.LICENSE.txt" => (
            concat!(
                include_str!("../../players/dashjs/LICENSE.md"),
                "\n\nThird-party notices bundled in dash.all.min.js:\n\n",
                include_str!("../../players/dashjs/dash.all.min.js.LICENSE.txt")
            )
            .as_bytes(),
            TEXT,
        ),
        "hls.js.LICENSE.txt" => (
            include_bytes!("../../players/hls.js/LICENSE").as_slice(),
            TEXT,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_player_has_its_build_and_licence() {
        for p in &PLAYERS {
            let (script, ty) = asset(p.script).unwrap_or_else(|| panic!("{}", p.script));
            assert!(script.len() > 100_000, "{}: a release build", p.name);
            assert!(ty.starts_with("text/javascript"));
            let (licence, _) = asset(p.licence).unwrap_or_else(|| panic!("{}", p.licence));
            let licence = std::str::from_utf8(licence).unwrap();
            assert!(
                licence.contains("Apache License") || licence.contains("BSD"),
                "{}: {licence}",
                p.name
            );
            // The recorded version is the one the build says it is.
            let script = String::from_utf8_lossy(script);
            assert!(script.contains(p.version), "{}: not {}", p.name, p.version);
        }
        assert!(asset(PAGE_SCRIPT).is_some());
        assert!(asset("../Cargo.toml").is_none());
    }
}
