//! Output sets: what one packaging run writes, as data. A run reads its inputs once and feeds
//! every sample to a list of output sets; each set is a container, an encryption (scheme and
//! keys, or none), a folder and the manifests that describe it. One set serves both manifests in
//! most runs; `--protection dash=cenc,hls=cbcs` is the list of two (`<id>/cenc/` for the MPD,
//! `<id>/cbcs/` for the playlists). Everything after the plan (the writer, the models, the
//! template renames, the manifests, the key manifest and `--json`) walks this list instead of
//! knowing the cases.
use super::args::{PackageArgs, Schemes};
use super::protect::{self, AssetKeys};
use super::source::RenditionSource;
use super::template::ManifestSelection;
use crate::cenc::Scheme;
use crate::error::{Error, Result};
use crate::ts::encrypt::TsMethod;
use crate::ts::es::EsFormat;

/// The file format a set's media segments are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// CMAF: an init segment and fMP4 media segments (or one file with a sidx).
    Cmaf,
    /// MPEG-2 transport stream segments (`.ts`), for HLS (src/ts/, docs/mpeg-ts.md).
    Ts,
}

/// One output set of a run (see the module documentation).
#[derive(Debug)]
pub struct OutputSet {
    /// The segments' format.
    pub container: Container,
    /// The set's encryption: its scheme, keys, labels and DRM systems; `None` for clear.
    pub keys: Option<AssetKeys>,
    /// The sub-folder of each rendition's folder the set is written in (`cbcs` for
    /// `<id>/cbcs/`), also the folder its `--segment-template` names go under; `None`: `<id>/`.
    pub folder: Option<String>,
    /// The manifests that describe this set (before `--manifests` narrows them).
    pub manifests: ManifestSelection,
    /// A TS set's encryption method (its `keys` are the CMAF set's); `None` for CMAF sets.
    pub ts_method: Option<TsMethod>,
}

impl OutputSet {
    /// The set's encryption scheme, `None` when clear.
    pub fn scheme(&self) -> Option<Scheme> {
        self.keys.as_ref().map(|k| k.scheme)
    }

    /// The name of the set's encryption: `cenc`/`cbcs`, or a TS set's `sample-aes`/`aes-128`.
    pub fn scheme_name(&self) -> Option<&'static str> {
        match self.ts_method {
            Some(m) if self.keys.is_some() => Some(m.as_str()),
            _ => self.scheme().map(Scheme::as_str),
        }
    }

    /// The folder, relative to OUT, of rendition `id`'s files in this set.
    pub fn dir(&self, id: &str) -> String {
        match &self.folder {
            Some(f) => format!("{id}/{f}"),
            None => id.to_string(),
        }
    }

    /// The manifests this set is read through in this run: its own, narrowed by `--manifests`.
    pub fn writes(&self, selected: ManifestSelection) -> ManifestSelection {
        ManifestSelection {
            hls: self.manifests.hls && selected.hls,
            dash: self.manifests.dash && selected.dash,
        }
    }
}

/// MP3 (MPEG-1/2 audio) goes out over MPEG-TS only: it is no CMAF audio profile, and Shaka
/// Packager 3.8 refuses MP3 in MP4 for CMAF and DASH too ("Unsupported audio codec"). So a
/// manifest reading a CMAF set (the MPD, or playlists without `--hls-segments ts`) cannot carry
/// it (docs/mpeg-ts.md, "MP3").
fn refuse_mpeg_audio_in_cmaf(args: &PackageArgs, sources: &[RenditionSource]) -> Result<()> {
    let cmaf_read = args.naming.manifests.dash || !args.hls_ts;
    match sources.iter().find(|s| s.codec.mpeg_audio().is_some()) {
        Some(src) if cmaf_read => Err(Error::unsupported(
            &src.path,
            format!(
                "rendition '{}': MP3 ({}) is not written as CMAF for DASH or HLS (no CMAF audio profile; Shaka Packager 3.8 refuses it too): package it for HLS over MPEG-TS with --hls-segments ts --manifests hls",
                src.id, src.codec.codec_string
            ),
        )),
        _ => Ok(()),
    }
}

const BOTH: ManifestSelection = ManifestSelection {
    hls: true,
    dash: true,
};

/// The output sets `args` ask for, with their keys resolved for `sources` (before anything is
/// written: a key problem leaves no output behind). The first set is the main one: the one the
/// subtitles are named with, `--verify` reads and the key manifest's top-level fields describe.
/// CMAF sets come before TS sets (the order the segment writer returns them in).
pub fn plan(args: &PackageArgs, sources: &[RenditionSource]) -> Result<Vec<OutputSet>> {
    refuse_mpeg_audio_in_cmaf(args, sources)?;
    if args.hls_ts {
        let ts_method = match args.protection.as_ref().map(|p| p.schemes) {
            Some(Schemes::Ts { hls, .. }) => Some(hls),
            _ => None,
        };
        // Every rendition must fit a transport stream (and its encryption) before anything is
        // written.
        for src in sources {
            let format = EsFormat::from_codec(&src.codec)
                .map_err(|e| Error::unsupported(&src.path, format!("--hls-segments ts: {e}")))?;
            let refusal = if args.hls_packed_audio && !format.is_video() {
                format.packed_sample_aes_refusal()
            } else {
                format.sample_aes_refusal()
            };
            if let (Some(TsMethod::SampleAes), Some(why)) = (ts_method, refusal) {
                return Err(Error::unsupported(
                    &src.path,
                    format!("rendition '{}': {why}", src.id),
                ));
            }
        }
        // The TS set has the CMAF set's keys (one key per label for both manifests).
        let keys = match args.protection.as_ref().map(|p| (p, p.schemes)) {
            Some((p, Schemes::Ts { dash, .. })) => Some(protect::resolve(p, dash, sources)?),
            _ => None,
        };
        let ts_keys = keys.as_ref().zip(ts_method).map(|(k, m)| k.for_ts(m));
        // DASH keeps CMAF in `<id>/`; the playlists read `<id>/ts/seg_<n>.ts`.
        return Ok(vec![
            OutputSet {
                container: Container::Cmaf,
                keys,
                folder: None,
                manifests: ManifestSelection {
                    hls: false,
                    dash: true,
                },
                ts_method: None,
            },
            OutputSet {
                container: Container::Ts,
                keys: ts_keys,
                folder: Some("ts".into()),
                manifests: ManifestSelection {
                    hls: true,
                    dash: false,
                },
                ts_method,
            },
        ]);
    }
    let cmaf = |keys, folder: Option<Scheme>, manifests| OutputSet {
        container: Container::Cmaf,
        keys,
        folder: folder.map(|s| s.as_str().to_string()),
        manifests,
        ts_method: None,
    };
    Ok(match args.protection.as_ref().map(|p| (p, p.schemes)) {
        None => vec![cmaf(None, None, BOTH)],
        Some((p, Schemes::One(scheme))) => {
            vec![cmaf(
                Some(protect::resolve(p, scheme, sources)?),
                None,
                BOTH,
            )]
        }
        // A scheme pair resolves the keys once, for the HLS scheme (which FairPlay needs); the
        // DASH set shares every KID and key.
        Some((_, Schemes::Ts { .. })) => {
            return Err(Error::Usage(
                "hls=sample-aes and hls=aes-128 need --hls-segments ts".into(),
            ))
        }
        Some((p, Schemes::Pair { dash, hls })) => {
            let hls_keys = protect::resolve(p, hls, sources)?;
            vec![
                cmaf(
                    Some(hls_keys.with_scheme(dash)),
                    Some(dash),
                    ManifestSelection {
                        hls: false,
                        dash: true,
                    },
                ),
                cmaf(
                    Some(hls_keys),
                    Some(hls),
                    ManifestSelection {
                        hls: true,
                        dash: false,
                    },
                ),
            ]
        }
    })
}
