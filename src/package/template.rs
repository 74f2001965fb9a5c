//! Output naming chosen by the user: `--segment-template`, `--hls-master`, `--mpd`,
//! `--manifests`, `--base-url`. Segments are written under their default names first and renamed
//! here once every rendition is done, so the segment writer knows nothing of templates.
use crate::error::{Error, Result};
use crate::manifest::hls::relative;
use crate::manifest::model::{PackagedAsset, SegmentLayout};
use std::collections::HashMap;
use std::path::Path;

/// Which manifests a run writes (`--manifests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestSelection {
    /// Write the HLS playlists.
    pub hls: bool,
    /// Write the MPD.
    pub dash: bool,
}

/// The user's naming options, checked (package::args builds it).
#[derive(Debug, Clone)]
pub struct Naming {
    /// Which manifests are written.
    pub manifests: ManifestSelection,
    /// `--hls-master`: the multivariant playlist's file name.
    pub hls_master: Option<String>,
    /// `--mpd`: the MPD's file name.
    pub mpd: Option<String>,
    /// `--base-url`, as given.
    pub base_url: Option<String>,
    /// `--segment-template`, parsed.
    pub template: Option<SegmentTemplate>,
}

/// A parsed `--segment-template` (ISO/IEC 23009-1 §5.3.9.4.4 identifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    RepresentationId,
    Number(usize),
    Time(usize),
}

impl SegmentTemplate {
    /// Parses and checks a template: known identifiers only (`$$` is a `$`), `$RepresentationID$`
    /// and one of `$Number$`/`$Time$` present (else renditions or segments would share names), a
    /// relative path without `..` or empty parts.
    pub fn parse(s: &str) -> Result<SegmentTemplate> {
        let bad = |why: &str| Error::Usage(format!("--segment-template '{s}': {why}"));
        let mut parts = Vec::new();
        let mut rest = s;
        let mut lit = String::new();
        while let Some(i) = rest.find('$') {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let j = after.find('$').ok_or_else(|| bad("unclosed '$'"))?;
            let ident = &after[..j];
            rest = &after[j + 1..];
            if ident.is_empty() {
                lit.push('$');
                continue;
            }
            let (name, width) = match ident.split_once('%') {
                Some((n, fmt)) => {
                    let w = fmt
                        .strip_prefix('0')
                        .and_then(|f| f.strip_suffix('d'))
                        .and_then(|w| w.parse::<usize>().ok())
                        .filter(|w| (1..=20).contains(w))
                        .ok_or_else(|| bad("width format must be %0Nd (N from 1 to 20)"))?;
                    (n, w)
                }
                None => (ident, 0),
            };
            let part = match name {
                "RepresentationID" if width == 0 => Part::RepresentationId,
                "Number" => Part::Number(width),
                "Time" => Part::Time(width),
                _ => {
                    return Err(bad(&format!(
                        "unknown identifier ${ident}$ (use $RepresentationID$, $Number$, $Number%0Nd$, $Time$)"
                    )))
                }
            };
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(part);
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        let t = SegmentTemplate { parts };
        if !t.parts.contains(&Part::RepresentationId) {
            return Err(bad(
                "needs $RepresentationID$ (renditions would share file names)",
            ));
        }
        if !t
            .parts
            .iter()
            .any(|p| matches!(p, Part::Number(_) | Part::Time(_)))
        {
            return Err(bad(
                "needs $Number$ or $Time$ (segments would share file names)",
            ));
        }
        let sample = t.render("r", 1, 0);
        if sample.starts_with('/')
            || sample.contains('\\')
            || sample
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(bad(
                "must be a relative path without '.', '..' or empty parts",
            ));
        }
        if sample.ends_with(".vtt") || sample.ends_with(".m3u8") || sample.ends_with(".mpd") {
            return Err(bad("segment names must not end in .vtt, .m3u8 or .mpd"));
        }
        Ok(t)
    }

    /// The file name (relative to OUT) of one segment.
    pub fn render(&self, id: &str, number: u64, time: u64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::RepresentationId => out.push_str(id),
                Part::Number(w) => out.push_str(&format!("{number:0w$}")),
                Part::Time(w) => out.push_str(&format!("{time:0w$}")),
            }
        }
        out
    }

    /// The DASH `media` template for one Representation (relative to OUT): the id filled in,
    /// `$Number…$`/`$Time…$` kept for the player, `$` escaped as `$$`.
    pub fn dash_media(&self, id: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(&l.replace('$', "$$")),
                Part::RepresentationId => out.push_str(id),
                Part::Number(0) => out.push_str("$Number$"),
                Part::Number(w) => out.push_str(&format!("$Number%0{w}d$")),
                Part::Time(0) => out.push_str("$Time$"),
                Part::Time(w) => out.push_str(&format!("$Time%0{w}d$")),
            }
        }
        out
    }
}

/// Applies the naming options to the written output in `root` and to the model: manifest
/// names and selection, base URL, and segment files renamed by `--segment-template`.
pub fn apply(naming: &Naming, root: &Path, asset: &mut PackagedAsset) -> Result<()> {
    let sel = naming.manifests;
    asset.write_hls = sel.hls;
    asset.write_dash = sel.dash;
    if let Some(n) = &naming.hls_master {
        asset.hls_multivariant = n.clone();
    }
    if let Some(n) = &naming.mpd {
        asset.dash_mpd = n.clone();
    }
    asset.base_url = naming.base_url.as_ref().map(|u| {
        if u.ends_with('/') {
            u.clone()
        } else {
            format!("{u}/")
        }
    });
    if !sel.hls {
        // A DASH-only run keeps no HLS WebVTT segments.
        for r in &mut asset.renditions {
            for s in r.hls_text_segments.drain(..) {
                let p = root.join(&s.path);
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
    }
    let Some(t) = &naming.template else {
        return Ok(());
    };
    // Two phases, so that a new name may be an old name of another segment.
    let mut moves: Vec<(String, String)> = Vec::new();
    for r in &mut asset.renditions {
        if !matches!(r.layout, SegmentLayout::Files { .. }) {
            continue;
        }
        let mut renamed: HashMap<String, String> = HashMap::new();
        for s in &mut r.segments {
            let new = t.render(&r.id, s.number, s.start);
            renamed.insert(s.path.clone(), new.clone());
            moves.push((s.path.clone(), new.clone()));
            s.path = new;
        }
        for f in &mut r.iframes {
            if let Some(new) = renamed.get(&f.path) {
                f.path = new.clone();
            }
        }
        let folder = r
            .init_path
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        if let SegmentLayout::Files { template, .. } = &mut r.layout {
            *template = relative(&folder, &t.dash_media(&r.id));
        }
    }
    let tmp = |p: &str| root.join(format!("{p}.vodpack-rename"));
    for (old, _) in &moves {
        std::fs::rename(root.join(old), tmp(old)).map_err(|e| Error::io(root.join(old), e))?;
    }
    for (old, new) in &moves {
        let dest = root.join(new);
        if dest.exists() {
            return Err(Error::Usage(format!(
                "--segment-template gives two files the name {new}"
            )));
        }
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::rename(tmp(old), &dest).map_err(|e| Error::io(&dest, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = SegmentTemplate::parse("$RepresentationID$/s_$Number%05d$_$Time$.m4s").unwrap();
        assert_eq!(t.render("v1", 7, 180000), "v1/s_00007_180000.m4s");
        assert_eq!(t.dash_media("v1"), "v1/s_$Number%05d$_$Time$.m4s");
        let t = SegmentTemplate::parse("segs/$RepresentationID$-$$-$Number$.m4s").unwrap();
        assert_eq!(t.render("a", 1, 0), "segs/a-$-1.m4s");
        assert_eq!(t.dash_media("a"), "segs/a-$$-$Number$.m4s");
        for bad in [
            "$Number$.m4s",
            "$RepresentationID$.m4s",
            "$RepresentationID$/$Bandwidth$.m4s",
            "../$RepresentationID$/$Number$.m4s",
            "/abs/$RepresentationID$$Number$",
            "$RepresentationID$/$Number%5d$",
            "$RepresentationID$/$Number",
        ] {
            assert!(SegmentTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
