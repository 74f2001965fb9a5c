//! The last stage of a packaging run: writes what a [`PackagePlan`] decided — every rendition
//! in parallel into a staging folder, then the manifests and the key manifest — and commits it
//! all at once. `package` chains the three stages: [`PackageArgs`] → [`PackagePlan`] → [`run`].
use super::args::PackageArgs;
use super::output::Staging;
use super::plan::PackagePlan;
use super::protect::KeyMaterial;
use super::sets::{Container, OutputSet};
use super::source::{bcp47_from_iso639_2, frame_rate, RenditionSource};
use super::warnings::Warning;
use crate::error::{Error, Result};
use crate::manifest::model::{
    MediaOrigin, PackagedAsset, PackagedRendition, RenditionProtection, SegmentLayout,
};
use crate::manifest::{dash, hls};
use crate::media::TrackKind;
use crate::segment::init::InitOptions;
use crate::segment::plan::presentation_time;
use crate::segment::writer::{write_rendition, RenditionJob, RenditionOutput, SetJob, TsSetJob};
use crate::ts::es::EsFormat;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use vodpack_control::key_manifest::{
    KeyManifest, ManifestPaths, RenditionEntry, SchemeEntry, SchemeRendition,
    KEY_MANIFEST_SCHEMA_VERSION,
};

use super::job::PackageJob;

/// What `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct PackageSummary {
    /// The output folder.
    pub out: PathBuf,
    /// The HLS multivariant playlist, relative to OUT.
    pub hls: String,
    /// The MPD, relative to OUT.
    pub dash: String,
    /// The key manifest's path.
    pub key_manifest: PathBuf,
    /// `--protection` as given.
    pub protection: Option<String>,
    /// Target segment duration in seconds.
    pub segment_duration: f64,
    /// Presentation duration in seconds.
    pub duration: f64,
    /// The media renditions (the records the manifests were written from).
    #[serde(serialize_with = "rendition_json")]
    pub renditions: Vec<PackagedRendition>,
    /// Things worth a look that did not stop the run (e.g. segments over 6 s), each naming every
    /// segment it concerns (src/package/warnings.rs).
    pub warnings: Vec<Warning>,
    /// True when `--verify` checked the output before it was committed.
    pub verified: bool,
    /// Two schemes (`dash=cenc,hls=cbcs`): each segment set with the manifest that names it;
    /// empty (and left out of `--json`) with one scheme.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schemes: Vec<SchemeSetSummary>,
    /// An object-store OUT: the bytes uploaded (segments, playlists, marker, manifests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_bytes: Option<u64>,
    /// An object-store OUT: the run's id (its objects are under `OUT/runs/<run>/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// One segment set of a two-scheme run, as `--json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SchemeSetSummary {
    /// `cenc` or `cbcs`.
    pub scheme: String,
    /// The manifest that references this set, relative to OUT (the MPD or the multivariant
    /// playlist).
    pub manifest: String,
    /// Every media rendition's files in this set.
    pub renditions: Vec<SchemeSetRendition>,
}

/// One rendition's files in one segment set.
#[derive(Debug, Clone, Serialize)]
pub struct SchemeSetRendition {
    /// The rendition id (as in `renditions[]`).
    pub id: String,
    /// The init segment (or single file), relative to OUT.
    pub init: String,
    /// Bytes written for this rendition in this set.
    pub bytes: u64,
}

fn scheme_set(scheme: &str, manifest: &str, asset: &PackagedAsset) -> SchemeSetSummary {
    SchemeSetSummary {
        scheme: scheme.into(),
        manifest: manifest.into(),
        renditions: asset
            .renditions
            .iter()
            .filter_map(|r| {
                Some(SchemeSetRendition {
                    id: r.id.clone(),
                    init: r.init_path.clone(),
                    bytes: r.origin.as_ref()?.bytes,
                })
            })
            .collect(),
    }
}

/// The `--json` fields of one rendition (docs/usage.md), read from its one record, the
/// [`PackagedRendition`] the manifests and the key manifest are written from.
#[derive(Serialize)]
struct RenditionJson<'a> {
    id: &'a str,
    kind: TrackKind,
    codec: &'a str,
    source: &'a str,
    track_id: u32,
    segments: usize,
    duration: f64,
    bandwidth: u64,
    average_bandwidth: u64,
    bytes: u64,
    width: Option<u32>,
    height: Option<u32>,
    language: Option<&'a str>,
    key_label: Option<&'a str>,
    init: &'a str,
    playlist: &'a str,
}

/// Serializes the media renditions of a summary with their `--json` fields.
fn rendition_json<S: serde::Serializer>(
    renditions: &[PackagedRendition],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(renditions.iter().filter_map(|r| {
        let o = r.origin.as_ref()?;
        Some(RenditionJson {
            id: &r.id,
            kind: r.kind,
            codec: &r.codec_string,
            source: &o.source,
            track_id: o.track_id,
            segments: r.segments.len(),
            duration: o.track_duration,
            bandwidth: r.peak_bandwidth,
            average_bandwidth: r.average_bandwidth,
            bytes: o.bytes,
            width: r.width,
            height: r.height,
            language: r.language.as_deref(),
            key_label: r.protection.as_ref().map(|p| p.key_label.as_str()),
            init: &r.init_path,
            playlist: &r.hls_playlist,
        })
    }))
}

/// Receives progress: the total number of samples, then increments.
pub trait Progress: Sync {
    /// The run starts: the number of samples of every rendition.
    fn start(&self, total_samples: u64);
    /// `samples` more samples are written.
    fn advance(&self, samples: u64);
    /// Every rendition is written.
    fn finish(&self);
    /// Rendition `id` starts: its sample count and media bytes (renditions run in parallel).
    fn rendition_start(&self, _id: &str, _samples: u64, _bytes: u64) {}
    /// Samples of rendition `id` done, with their media bytes; by default counted by `advance`.
    fn rendition_advance(&self, _id: &str, samples: u64, _bytes: u64) {
        self.advance(samples);
    }
    /// Rendition `id` is written.
    fn rendition_finish(&self, _id: &str) {}
}

/// Runs the whole job: its arguments checked, its plan made, then written. Errors leave any
/// previous output untouched.
pub fn package(job: &PackageJob, progress: &dyn Progress) -> Result<PackageSummary> {
    let args = PackageArgs::from_job(job)?;
    // An object-store OUT is written into a local folder first; it goes once published.
    let local_root = args.remote.as_ref().map(|r| r.local_root.clone());
    let result = PackagePlan::new(args).and_then(|plan| run(plan, progress));
    if let Some(root) = local_root {
        let _ = std::fs::remove_dir_all(root);
    }
    result
}

/// Writes a plan: the renditions into a staging folder (every output set from one read of the
/// inputs), the manifests and the key manifest, then (after `--verify` when asked) commits them
/// together.
pub fn run(plan: PackagePlan, progress: &dyn Progress) -> Result<PackageSummary> {
    let PackagePlan {
        ref args,
        ref subtitles,
        ref inputs,
        ref sources,
        segments: ref segment_plan,
        ref sets,
        ref dropped,
        ref remote_state,
    } = plan;
    let mut staged = Staging::create(&args.out, &args.key_manifest)?;
    // An object-store OUT: each segment is uploaded as soon as it is written.
    let streamed = args
        .remote
        .as_ref()
        .map(|r| {
            super::publish::StreamedRun::new(
                r,
                &staged.dir,
                args.naming.template.clone(),
                args.job.verify,
            )
        })
        .transpose()?;
    let on_written = |id: &str, set: &OutputSet| {
        streamed
            .as_ref()
            .map(|s| s.on_written(id, set.folder.as_deref()))
    };
    let total: u64 = sources.iter().map(|s| s.track.samples.len() as u64).sum();
    progress.start(total);
    type Written = (Vec<RenditionOutput>, Vec<Option<RenditionProtection>>);
    // Renditions run one per core; when there are fewer segment sets than cores, each set's
    // files are written on a thread of their own so that the idle cores overlap reading and
    // encrypting with writing (one 1080p rendition: 0.20 -> 0.13 s). With every core busy that
    // only adds thread switches and buffers, so the sets write in place.
    let write_on_own_thread = sources.len() * sets.len() < rayon::current_num_threads();
    // The plan's reads (box headers) are done: the shared read-ahead budget is for samples.
    for input in inputs.iter() {
        input.file.release_blocks();
    }
    let written: Vec<Written> = sources
        .par_iter()
        .enumerate()
        .map(|(index, src)| {
            let input = &inputs[src.input];
            let starts = segment_plan.segment_starts(&src.track);
            let secs: Vec<f64> = starts
                .iter()
                .map(|&i| presentation_time(&src.track, i).seconds())
                .collect();
            // This rendition's part of each set: its folder, init segment and encryption.
            let set_job = |set: &OutputSet| -> Result<(SetJob, Option<RenditionProtection>)> {
                let mut init = InitOptions {
                    sample_entry: src.track.sample_entry.clone(),
                    clear_sample_entry: None,
                    pssh: Vec::new(),
                    edit_media_time: src.track.edit_media_time,
                };
                let (protection, signal) = match &set.keys {
                    Some(k) => {
                        let crypto = k.rendition(index, src, &secs)?;
                        if crypto.job.clear_lead_segments > 0 {
                            init.clear_sample_entry = Some(src.track.sample_entry.clone());
                        }
                        init.sample_entry = crypto.sample_entry;
                        init.pssh = crypto.pssh;
                        (Some(crypto.job), Some(crypto.signal))
                    }
                    None => (None, None),
                };
                let dir = set.dir(&src.id);
                Ok((
                    SetJob {
                        dir,
                        init,
                        protection,
                        on_written: on_written(&src.id, set),
                    },
                    signal,
                ))
            };
            let mut set_jobs = Vec::new();
            let mut ts_sets = Vec::new();
            let mut signals = Vec::with_capacity(sets.len());
            for set in sets {
                match set.container {
                    Container::Cmaf => {
                        let (job, signal) = set_job(set)?;
                        set_jobs.push(job);
                        signals.push(signal);
                    }
                    Container::Ts => {
                        let format = EsFormat::from_codec(&src.codec).map_err(|e| {
                            Error::unsupported(&src.path, format!("--hls-segments ts: {e}"))
                        })?;
                        let (crypto, signal) = match (&set.keys, set.ts_method) {
                            (Some(k), Some(method)) => {
                                let (c, sig) =
                                    k.ts_rendition(index, src, &secs, method, &args.hls_key_uri)?;
                                (Some(c), Some(sig))
                            }
                            _ => (None, None),
                        };
                        ts_sets.push(TsSetJob {
                            dir: set.dir(&src.id),
                            packed: args.hls_packed_audio && !format.is_video(),
                            format,
                            crypto,
                            on_written: on_written(&src.id, set),
                        });
                        signals.push(signal);
                    }
                }
            }
            let rjob = RenditionJob {
                id: src.id.clone(),
                track: &src.track,
                input: &input.file,
                input_path: &input.path,
                starts,
                width: src.codec.width.unwrap_or(0),
                height: src.codec.height.unwrap_or(0),
                single_file: args.job.single_file,
                out_root: staged.dir.clone(),
                sets: set_jobs,
                ts_sets,
                write_on_own_thread,
            };
            // Per-rendition progress in samples and media bytes (one thread per rendition).
            let samples = &src.track.samples;
            let bytes: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
            progress.rendition_start(&src.id, samples.len() as u64, bytes);
            let done = std::sync::atomic::AtomicUsize::new(0);
            let advance = |n: u64| {
                let from = done.fetch_add(n as usize, std::sync::atomic::Ordering::Relaxed);
                let range = from.min(samples.len())..(from + n as usize).min(samples.len());
                let bytes = samples.bytes(range);
                progress.rendition_advance(&src.id, n, bytes);
            };
            let written = write_rendition(rjob, &advance)?;
            // Its samples are read: an object input's blocks go back to the shared budget.
            input.file.release_blocks();
            progress.rendition_finish(&src.id);
            Ok((written, signals))
        })
        .collect::<Result<_>>()
        .map_err(|e| {
            // A rendition stopped by a failed upload: the upload's own failure is the news.
            streamed.as_ref().and_then(|s| s.failure()).unwrap_or(e)
        })?;
    // Every segment is uploaded before anything is renamed or written after them.
    let streamed = streamed.map(|s| s.finish()).transpose()?;
    // Per rendition, per set -> per set, per rendition.
    let mut per_set: Vec<Written> = sets
        .iter()
        .map(|_| {
            (
                Vec::with_capacity(sources.len()),
                Vec::with_capacity(sources.len()),
            )
        })
        .collect();
    for (outs, sigs) in written {
        for ((out, sig), (outputs, signals)) in outs.into_iter().zip(sigs).zip(per_set.iter_mut()) {
            outputs.push(out);
            signals.push(sig);
        }
    }
    progress.finish();

    // One model per set, each with its own signalling and PSSH, and its key material.
    let mut assets = Vec::with_capacity(sets.len());
    let mut materials = Vec::with_capacity(sets.len());
    // The keys a CPIX export describes: those of the first encrypted set (every set has the same).
    let mut cpix_export = None;
    for (set, (outputs, signals)) in sets.iter().zip(&per_set) {
        let mut asset = build_asset(args, sources, outputs);
        if set.container == Container::Ts {
            // A TS set's playlists name some codecs as HLS does (MP3: `mp4a.40.34`).
            for (r, src) in asset.renditions.iter_mut().zip(sources) {
                if let Some(c) = EsFormat::from_codec(&src.codec)
                    .ok()
                    .and_then(|f| f.hls_codec())
                {
                    r.codec_string = c.into();
                }
            }
        }
        let mut material = KeyMaterial::default();
        if let (Some(k), Some(method)) = (&set.keys, set.ts_method) {
            // A TS set: its method and key URIs; its keys are the CMAF set's.
            asset.protection = Some(k.ts_asset_protection(method));
            for (r, sig) in asset.renditions.iter_mut().zip(signals) {
                r.protection = sig.clone();
                if method == crate::ts::encrypt::TsMethod::Aes128 {
                    // Encrypted whole, a segment's byte ranges cannot be read alone.
                    r.hls_iframe_playlist = None;
                }
            }
        } else if let Some(k) = &set.keys {
            asset.protection = Some(k.asset_protection());
            if cpix_export.is_none() {
                cpix_export = k.cpix_export(signals)?;
            }
            for (r, sig) in asset.renditions.iter_mut().zip(signals) {
                r.protection = sig.clone();
            }
            material = k.key_material(signals);
        }
        assets.push(asset);
        materials.push(material);
    }
    let (text, text_warnings) =
        crate::subtitle::write::write_all(subtitles, &assets[0], &staged.dir)?;
    assets[0].renditions.extend(text);
    {
        // Every set renders the same `--segment-template`, under its folder when it has one
        // (`cenc/…` for the MPD, `cbcs/…` for the playlists).
        let mut named: Vec<_> = sets
            .iter()
            .zip(assets.iter_mut())
            .map(|(set, asset)| super::template::NamedSet {
                asset,
                folder: set.folder.as_deref(),
            })
            .collect();
        super::template::apply(&args.naming, &staged.dir, &mut named, streamed.is_some())?;
    }
    // The text renditions are not encrypted and are shared by every set: named once, with the
    // main set (whose `wvtt` segments the MPD reads), then listed in the other sets' playlists
    // too (which read their `.vtt` segments).
    let shared_text: Vec<PackagedRendition> = assets[0]
        .renditions
        .iter()
        .filter(|r| r.kind == TrackKind::Text)
        .cloned()
        .collect();
    for (i, (set, asset)) in sets.iter().zip(assets.iter_mut()).enumerate() {
        if i > 0 {
            asset.renditions.extend(shared_text.iter().cloned());
        }
        let writes = set.writes(args.naming.manifests);
        asset.write_hls = writes.hls;
        asset.write_dash = writes.dash;
        write_manifests(&staged.dir, asset)?;
    }
    let asset = &assets[0];
    let mut manifest = key_manifest(args, sets, asset, &materials[0])?;
    if sets.len() > 1 {
        // Several sets: each with the manifests that read it. `protection_scheme`, `manifests`
        // and `drm_systems` keep describing the main set for readers that know one set only,
        // and `manifests` names the files of every set.
        manifest.manifests = ManifestPaths {
            hls: assets
                .iter()
                .find(|a| a.write_hls)
                .map(|a| a.hls_multivariant.clone()),
            dash: assets
                .iter()
                .find(|a| a.write_dash)
                .map(|a| a.dash_mpd.clone()),
        };
        // The sets' own keys, signalling and files, when more than one is encrypted.
        let encrypted = sets.iter().filter(|s| s.keys.is_some()).count();
        manifest.schemes = sets
            .iter()
            .zip(&assets)
            .zip(&materials)
            .filter(|((set, _), _)| set.keys.is_some() && encrypted > 1)
            .map(|((set, a), material)| {
                Ok(SchemeEntry {
                    scheme: set.scheme_name().unwrap_or_default().to_string(),
                    manifests: ManifestPaths {
                        hls: a.write_hls.then(|| a.hls_multivariant.clone()),
                        dash: a.write_dash.then(|| a.dash_mpd.clone()),
                    },
                    drm_systems: material.drm_systems.clone(),
                    renditions: scheme_files(a)?,
                })
            })
            .collect::<Result<_>>()?;
        manifest
            .validate()
            .map_err(|e| Error::Key(format!("key manifest: {e}")))?;
    }
    // An encrypted TS set: each key's `#EXT-X-KEY` URI, where a key server must answer it.
    if sets
        .iter()
        .any(|s| s.ts_method.is_some() && s.keys.is_some())
    {
        for entry in &mut manifest.keys {
            if let Ok(kid) = <[u8; 16]>::try_from(hex::decode(&entry.kid).unwrap_or_default()) {
                entry.hls_key_uri = Some(args.hls_key_uri.render(&kid, &entry.label));
            }
        }
    }
    let scheme_sets = if sets.iter().filter(|s| s.keys.is_some()).count() > 1 {
        sets.iter()
            .zip(&assets)
            .filter(|(set, _)| set.keys.is_some())
            .map(|(set, a)| {
                let scheme = set.scheme_name().unwrap_or_default();
                let manifest = if a.write_dash {
                    &a.dash_mpd
                } else {
                    &a.hls_multivariant
                };
                scheme_set(scheme, manifest, a)
            })
            .collect()
    } else {
        Vec::new()
    };
    let text = manifest
        .to_json_pretty()
        .map_err(|e| Error::Key(format!("key manifest: {e}")))?;
    // Every output is staged first and committed together: a failure from here on (a key
    // manifest folder that does not exist, a full disk, a signal) leaves everything as it was.
    staged.stage_key_manifest(&args.key_manifest, text.as_bytes())?;
    let cpix_export = cpix_export
        .map(|(path, text)| super::cpix_keys::StagedExport::stage(&path, &text))
        .transpose()?;
    if args.job.verify {
        let keys = sets[0]
            .keys
            .as_ref()
            .map(|k| k.keys.as_slice())
            .unwrap_or(&[]);
        crate::verify::verify_staged(&staged.dir, inputs, sources, keys)?;
    }
    crate::cancel::check()?;
    let uploaded_bytes = match (&args.remote, remote_state) {
        (Some(remote), Some(state)) => {
            // The manifests players load first: every set's multivariant playlist and MPD.
            let mut top: Vec<String> = Vec::new();
            for a in &assets {
                for (writes, name) in [
                    (a.write_hls, &a.hls_multivariant),
                    (a.write_dash, &a.dash_mpd),
                ] {
                    if writes && !top.contains(name) {
                        top.push(name.clone());
                    }
                }
            }
            Some(super::publish::publish(
                staged,
                remote,
                state,
                &top,
                streamed.unwrap_or_default(),
            )?)
        }
        _ => {
            staged.commit()?;
            None
        }
    };
    if let Some(e) = cpix_export {
        e.commit()?;
    }

    // Tracks left out first (they concern inputs), then per rendition: a GOP longer than the
    // target makes a longer segment (cuts are only made at sync samples).
    let mut warnings: Vec<Warning> = dropped.clone();
    warnings.extend(asset.renditions.iter().filter_map(|r| {
        Warning::long_segments(
            &r.id,
            r.timescale,
            r.segments.iter().map(|s| (s.number, s.duration.0)),
        )
    }));
    warnings.extend(text_warnings.into_iter().map(|message| Warning {
        kind: super::warnings::WarningKind::DroppedCues,
        subject: message.split(": ").next().unwrap_or_default().to_string(),
        segments: Vec::new(),
        message,
    }));
    Ok(PackageSummary {
        warnings,
        verified: args.job.verify,
        out: match &args.remote {
            Some(r) => PathBuf::from(r.url.to_string()),
            None => args.out.clone(),
        },
        hls: asset.hls_multivariant.clone(),
        dash: asset.dash_mpd.clone(),
        key_manifest: match &args.remote {
            Some(r) => match (&r.key_manifest, &args.job.key_manifest) {
                (Some(url), _) => PathBuf::from(url.to_string()),
                // A clear run to object storage without --key-manifest keeps none.
                (None, Some(p)) if p.starts_with(&r.local_root) => PathBuf::new(),
                _ => args.key_manifest.clone(),
            },
            None => args.key_manifest.clone(),
        },
        uploaded_bytes,
        run: args.remote.as_ref().map(|r| r.run_id.clone()),
        protection: args.protection.as_ref().map(|p| p.text.clone()),
        segment_duration: args.segment_duration,
        duration: asset.duration,
        renditions: asset
            .renditions
            .iter()
            .filter(|r| r.origin.is_some())
            .cloned()
            .collect(),
        schemes: scheme_sets,
    })
}

fn build_asset(
    args: &PackageArgs,
    sources: &[RenditionSource],
    outputs: &[RenditionOutput],
) -> PackagedAsset {
    let renditions: Vec<PackagedRendition> = sources
        .iter()
        .zip(outputs)
        .map(|(s, o)| {
            let video = s.track.kind == TrackKind::Video;
            let lang = s
                .spec
                .lang
                .clone()
                .or_else(|| bcp47_from_iso639_2(&s.track.language));
            PackagedRendition {
                id: s.id.clone(),
                kind: s.track.kind,
                codec_string: s.codec.codec_string.clone(),
                supplemental_codec: s
                    .codec
                    .supplemental_codec
                    .clone()
                    .map(|c| (c, s.codec.supplemental_profile.clone())),
                fourcc: s.codec.fourcc.clone(),
                language: lang,
                name: s.spec.name.clone(),
                roles: s.spec.roles.clone(),
                width: s.codec.width.filter(|_| video),
                height: s.codec.height.filter(|_| video),
                sar: s.codec.sar,
                frame_rate: if video { frame_rate(&s.track) } else { None },
                transfer_characteristics: if video {
                    s.codec.transfer_characteristics
                } else {
                    None
                },
                sample_rate: s.codec.sample_rate,
                channels: s.codec.channels,
                channel_signalling: s.codec.channel_signalling.clone(),
                timescale: s.track.timescale,
                peak_bandwidth: o.peak_bandwidth,
                average_bandwidth: o.average_bandwidth,
                init_path: o.init_path.clone(),
                layout: o.layout.clone(),
                segments: o.segments.clone(),
                iframes: o.iframes.clone(),
                protection: None,
                hls_playlist: format!("{}/playlist.m3u8", s.id),
                hls_iframe_playlist: video.then(|| format!("{}/iframes.m3u8", s.id)),
                hls_text_segments: Vec::new(),
                origin: Some(MediaOrigin {
                    source: s.path.display().to_string(),
                    track_id: s.track.id,
                    track_duration: s.track.duration_seconds(),
                    bytes: o.bytes,
                }),
            }
        })
        .collect();
    let duration = sources
        .iter()
        .map(|s| s.track.duration_seconds())
        .fold(0.0, f64::max);
    PackagedAsset::new(args.segment_duration, duration, renditions)
}

fn write_manifests(root: &Path, asset: &PackagedAsset) -> Result<()> {
    let write = |rel: &str, text: String| {
        let p = root.join(rel);
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
    };
    if asset.write_hls {
        write(&asset.hls_multivariant, hls::multivariant_playlist(asset))?;
        for r in &asset.renditions {
            write(&r.hls_playlist, hls::media_playlist(asset, r))?;
            if let Some(p) = &r.hls_iframe_playlist {
                write(p, hls::iframe_playlist(asset, r))?;
            }
        }
    }
    if asset.write_dash {
        write(&asset.dash_mpd, dash::mpd(asset))?;
    }
    Ok(())
}

/// Kept here for callers of the old path.
pub use super::args::sanitize_asset_id;

/// Where the media segments of `r` are, as the key manifest records them
/// (`segment_template`): its DASH media template made relative to OUT (the model keeps it
/// relative to the init segment's folder, `../` included with `--segment-template`). `None` for
/// the single-file layout.
fn segment_template(r: &PackagedRendition) -> Result<Option<String>> {
    let SegmentLayout::Files { template, .. } = &r.layout else {
        return Ok(None);
    };
    hls::resolve(&hls::parent_dir(&r.init_path), template)
        .map(Some)
        .ok_or_else(|| {
            Error::Key(format!(
                "key manifest: {}: media template {template:?} leaves the output folder",
                r.id
            ))
        })
}

/// The files of every rendition in one segment set of a two-scheme run (`schemes[].renditions`).
fn scheme_files(asset: &PackagedAsset) -> Result<Vec<SchemeRendition>> {
    asset
        .renditions
        .iter()
        .map(|r| {
            // MPEG-TS: no init segment; the segments are `seg_<n>.ts` beside each other (packed
            // audio: `.aac`, `.ac3`, `.ec3`).
            let ts_template = match r.segments.first() {
                Some(s) if r.init_path.is_empty() => Some(format!(
                    "{}/seg_$Number$.{}",
                    hls::parent_dir(&s.path).trim_end_matches('/'),
                    s.path.rsplit_once('.').map_or("ts", |(_, ext)| ext)
                )),
                _ => None,
            };
            Ok(SchemeRendition {
                id: r.id.clone(),
                init_path: r.init_path.clone(),
                segment_template: match ts_template {
                    Some(t) => Some(t),
                    None => segment_template(r)?,
                },
            })
        })
        .collect()
}

/// Builds the key manifest (schema in crates/vodpack-control; docs/key-manifest.md).
fn key_manifest(
    args: &PackageArgs,
    sets: &[OutputSet],
    asset: &PackagedAsset,
    keys: &KeyMaterial,
) -> Result<KeyManifest> {
    let renditions = asset
        .renditions
        .iter()
        .map(|r| {
            Ok(RenditionEntry {
                id: r.id.clone(),
                kind: r.kind.as_str().into(),
                codec: r.codec_string.clone(),
                bandwidth: r.peak_bandwidth,
                average_bandwidth: r.average_bandwidth,
                width: r.width,
                height: r.height,
                language: r.language.clone(),
                name: r.name.clone(),
                key_label: r.protection.as_ref().map(|p| p.key_label.clone()),
                kid: r.protection.as_ref().map(|p| hex::encode(p.default_kid)),
                hls_playlist: r.hls_playlist.clone(),
                dash_representation_id: r.id.clone(),
                init_path: r.init_path.clone(),
                segment_template: segment_template(r)?,
            })
        })
        .collect::<Result<_>>()?;
    let manifest = KeyManifest {
        schema_version: KEY_MANIFEST_SCHEMA_VERSION,
        asset_id: args.asset_id.clone(),
        // Several sets: the main one's (the caller adds the list of sets).
        protection_scheme: sets[0].scheme().map(|s| s.as_str().into()),
        segment_duration: args.segment_duration,
        duration: asset.duration,
        manifests: ManifestPaths {
            hls: asset.write_hls.then(|| asset.hls_multivariant.clone()),
            dash: asset.write_dash.then(|| asset.dash_mpd.clone()),
        },
        renditions,
        keys: keys.entries.clone(),
        drm_systems: keys.drm_systems.clone(),
        schemes: Vec::new(),
    };
    manifest
        .validate()
        .map_err(|e| Error::Key(format!("key manifest: {e}")))?;
    Ok(manifest)
}
