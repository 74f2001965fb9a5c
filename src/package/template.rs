//! Output naming chosen by the user: `--segment-template`, `--hls-master`, `--mpd`,
//! `--manifests`, `--base-url`. Segments are written under their default names first and renamed
//! here once every rendition is done, so the segment writer knows nothing of templates.
use crate::error::{Error, Result};
use crate::manifest::hls::relative;
use crate::manifest::model::{PackagedAsset, SegmentLayout};
use std::collections::HashMap;
use std::path::Path;
use vodpack_control::key_manifest::{template_tokens, TemplateToken};

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
        for token in template_tokens(s).map_err(bad)? {
            parts.push(match token {
                TemplateToken::Literal(l) => Part::Literal(l),
                TemplateToken::Identifier("RepresentationID", 0) => Part::RepresentationId,
                TemplateToken::Identifier("Number", width) => Part::Number(width),
                TemplateToken::Identifier("Time", width) => Part::Time(width),
                TemplateToken::Identifier(name, width) => {
                    let ident = match width {
                        0 => name.to_string(),
                        w => format!("{name}%0{w}d"),
                    };
                    return Err(bad(&format!(
                        "unknown identifier ${ident}$ (use $RepresentationID$, $Number$, $Number%0Nd$, $Time$)"
                    )));
                }
            });
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

/// One segment set of a run, as [`apply`] names it.
#[derive(Debug)]
pub struct NamedSet<'a> {
    /// The set's model: its manifests are written from it after [`apply`].
    pub asset: &'a mut PackagedAsset,
    /// The folder (relative to OUT) the template's names are put under: the set's scheme
    /// (`cenc`, `cbcs`) in a two-scheme run, where both sets render the same template; `None`
    /// with one set.
    pub folder: Option<&'a str>,
}

/// Applies the naming options to the written output in `root` and to the model of every
/// segment set: manifest names and selection, base URL, and segment files renamed by
/// `--segment-template` (under the set's folder when it has one). The renames of all sets are
/// done together, so a new name may be an old (default) name of any set's segment. A rendition
/// must appear in one set only: the text renditions a two-scheme run shares are added to the
/// second set after this.
///
/// With `streamed` (an object-store OUT), media segments were uploaded under their template
/// names as they were written (package::publish::StreamedRun): those no longer in `root` are
/// not moved.
pub fn apply(
    naming: &Naming,
    root: &Path,
    sets: &mut [NamedSet<'_>],
    streamed: bool,
) -> Result<()> {
    let sel = naming.manifests;
    let mut moves: Vec<(String, String)> = Vec::new();
    for set in sets.iter_mut() {
        let asset = &mut *set.asset;
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
        if let Some(t) = &naming.template {
            moves.extend(rename_in_model(t, set.folder, asset));
        }
    }
    if streamed {
        moves.retain(|(old, _)| root.join(old).exists());
    }
    // Two phases, so that a new name may be an old name of another segment.
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

/// Gives the segments of one set their template names (under `folder` when given) in the
/// model: segment records, I-frame records and each Representation's DASH `media` template.
/// Returns the (old, new) file moves, relative to OUT.
fn rename_in_model(
    t: &SegmentTemplate,
    folder: Option<&str>,
    asset: &mut PackagedAsset,
) -> Vec<(String, String)> {
    let under = |name: String| match folder {
        Some(f) => format!("{f}/{name}"),
        None => name,
    };
    let mut moves = Vec::new();
    for r in &mut asset.renditions {
        if !matches!(r.layout, SegmentLayout::Files { .. }) {
            continue;
        }
        let mut renamed: HashMap<String, String> = HashMap::new();
        for s in &mut r.segments {
            let new = under(t.render(&r.id, s.number, s.start.clamp_non_negative()));
            renamed.insert(s.path.clone(), new.clone());
            moves.push((s.path.clone(), new.clone()));
            s.path = new;
        }
        for f in &mut r.iframes {
            if let Some(new) = renamed.get(&f.path) {
                f.path = new.clone();
            }
        }
        let init_folder = r
            .init_path
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        // The media template is relative to the init segment's folder (SegmentLayout::Files);
        // a `$` in the set's folder would be escaped like a literal of the template.
        let media = under_escaped(folder, &t.dash_media(&r.id));
        if let SegmentLayout::Files { template, .. } = &mut r.layout {
            *template = relative(&init_folder, &media);
        }
    }
    moves
}

/// `media` under `folder`, the folder's `$` escaped as `$$` (ISO/IEC 23009-1 §5.3.9.4.4).
fn under_escaped(folder: Option<&str>, media: &str) -> String {
    match folder {
        Some(f) => format!("{}/{media}", f.replace('$', "$$")),
        None => media.to_string(),
    }
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

#[cfg(test)]
mod set_folder_tests {
    use super::*;
    use crate::manifest::model::{IFrameRecord, PackagedRendition, SegmentRecord};
    use crate::media::time::{PresentationTime, TickDuration};
    use crate::media::TrackKind;

    /// A video rendition written under `<id>/<set>/` (a two-scheme run's default layout), with
    /// two segments of 90000 ticks, both files on disk under `root`.
    fn rendition(root: &Path, id: &str, set: &str) -> PackagedRendition {
        let dir = format!("{id}/{set}");
        std::fs::create_dir_all(root.join(&dir)).unwrap();
        std::fs::write(root.join(format!("{dir}/init.mp4")), b"init").unwrap();
        let segments: Vec<SegmentRecord> = (1..=2u64)
            .map(|n| {
                let path = format!("{dir}/seg_{n}.m4s");
                std::fs::write(root.join(&path), format!("{set} {id} {n}")).unwrap();
                SegmentRecord {
                    number: n,
                    start: PresentationTime::checked_from_ticks((n - 1) * 90000).unwrap(),
                    duration: TickDuration(90000),
                    size: 10,
                    path,
                    offset: 0,
                    clear: false,
                }
            })
            .collect();
        PackagedRendition {
            id: id.into(),
            kind: TrackKind::Video,
            codec_string: "avc1.64001f".into(),
            supplemental_codec: None,
            fourcc: "avc1".into(),
            language: None,
            name: None,
            roles: Vec::new(),
            width: Some(640),
            height: Some(360),
            sar: None,
            frame_rate: None,
            transfer_characteristics: None,
            sample_rate: None,
            channels: None,
            channel_signalling: None,
            timescale: 90000,
            peak_bandwidth: 1,
            average_bandwidth: 1,
            init_path: format!("{dir}/init.mp4"),
            layout: SegmentLayout::Files {
                template: "seg_$Number$.m4s".into(),
                start_number: 1,
            },
            iframes: vec![IFrameRecord {
                path: segments[1].path.clone(),
                offset: 0,
                length: 4,
                start: PresentationTime(90000),
                duration: TickDuration(90000),
            }],
            segments,
            protection: None,
            hls_playlist: format!("{id}/playlist.m3u8"),
            hls_iframe_playlist: None,
            hls_text_segments: Vec::new(),
            origin: None,
        }
    }

    fn asset(renditions: Vec<PackagedRendition>) -> PackagedAsset {
        PackagedAsset::new(1.0, 2.0, renditions)
    }

    fn naming(template: &str) -> Naming {
        Naming {
            manifests: ManifestSelection {
                hls: true,
                dash: true,
            },
            hls_master: None,
            mpd: None,
            base_url: None,
            template: Some(SegmentTemplate::parse(template).unwrap()),
        }
    }

    #[test]
    fn each_set_renders_the_template_under_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // A rendition named `cenc`: the cbcs set's template names (`cbcs/cenc/…`) and the
        // cenc set's (`cenc/cbcs/…` for a rendition named `cbcs`) cross the other set's
        // default folders; the renames of both sets are done in one pass.
        let mut dash = asset(vec![
            rendition(root, "v", "cenc"),
            rendition(root, "cbcs", "cenc"),
        ]);
        let mut hls = asset(vec![
            rendition(root, "v", "cbcs"),
            rendition(root, "cenc", "cbcs"),
        ]);
        apply(
            &naming("$RepresentationID$/s_$Number%03d$_$Time$.m4s"),
            root,
            &mut [
                NamedSet {
                    asset: &mut dash,
                    folder: Some("cenc"),
                },
                NamedSet {
                    asset: &mut hls,
                    folder: Some("cbcs"),
                },
            ],
            false,
        )
        .unwrap();
        let r = &dash.renditions[0];
        assert_eq!(r.segments[0].path, "cenc/v/s_001_0.m4s");
        assert_eq!(r.segments[1].path, "cenc/v/s_002_90000.m4s");
        assert_eq!(r.iframes[0].path, "cenc/v/s_002_90000.m4s");
        assert_eq!(r.init_path, "v/cenc/init.mp4", "init segments stay");
        assert_eq!(
            r.layout,
            SegmentLayout::Files {
                template: "../../cenc/v/s_$Number%03d$_$Time$.m4s".into(),
                start_number: 1
            }
        );
        assert_eq!(hls.renditions[0].segments[1].path, "cbcs/v/s_002_90000.m4s");
        assert_eq!(hls.renditions[1].segments[0].path, "cbcs/cenc/s_001_0.m4s");
        assert_eq!(dash.renditions[1].segments[0].path, "cenc/cbcs/s_001_0.m4s");
        // Every file moved once, with its own bytes.
        for (set, a) in [("cenc", &dash), ("cbcs", &hls)] {
            for r in &a.renditions {
                for s in &r.segments {
                    let bytes = std::fs::read_to_string(root.join(&s.path)).unwrap();
                    assert_eq!(bytes, format!("{set} {} {}", r.id, s.number), "{}", s.path);
                    let default = root.join(format!("{}/{set}/seg_{}.m4s", r.id, s.number));
                    assert!(!default.exists(), "{} left", default.display());
                }
            }
        }
    }

    #[test]
    fn one_set_has_no_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let mut one = asset(vec![rendition(tmp.path(), "a", "x")]);
        apply(
            &naming("segs/$RepresentationID$-$Number$.m4s"),
            tmp.path(),
            &mut [NamedSet {
                asset: &mut one,
                folder: None,
            }],
            false,
        )
        .unwrap();
        assert_eq!(one.renditions[0].segments[0].path, "segs/a-1.m4s");
        assert!(tmp.path().join("segs/a-2.m4s").is_file());
        assert_eq!(under_escaped(Some("a$b"), "x_$Number$"), "a$$b/x_$Number$");
    }
}
