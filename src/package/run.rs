//! The packaging run.
use super::job::{InputSpec, PackageJob};
use super::output::{check_targets, Staging};
use super::protect;
use super::warnings::Warning;
use crate::error::{Error, Result};
use crate::manifest::model::{PackagedAsset, PackagedRendition, RenditionProtection};
use crate::manifest::{dash, hls};
use crate::media::codec::{parse_sample_entry, CodecInfo};
use crate::media::input::InputFile;
use crate::media::{Track, TrackKind};
use crate::segment::init::InitOptions;
use crate::segment::plan::presentation_time;
use crate::segment::writer::{write_rendition, RenditionJob, RenditionOutput};
use crate::segment::SegmentPlan;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use vodpack_control::key_manifest::{
    DrmSystemEntry, KeyEntry, KeyManifest, ManifestPaths, RenditionEntry, SchemeEntry,
    KEY_MANIFEST_SCHEMA_VERSION,
};

/// One rendition to package: a track of an opened input plus what the user said about it.
pub struct RenditionSource {
    pub id: String,
    pub input: usize,
    pub track: Track,
    pub codec: CodecInfo,
    pub spec: InputSpec,
}

/// Keys and DRM data that end up in the key manifest.
#[derive(Debug, Default)]
pub struct KeyMaterial {
    pub entries: Vec<KeyEntry>,
    pub drm_systems: Vec<DrmSystemEntry>,
}

/// What `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct PackageSummary {
    pub out: PathBuf,
    pub hls: String,
    pub dash: String,
    pub key_manifest: PathBuf,
    pub protection: Option<String>,
    pub segment_duration: f64,
    pub duration: f64,
    pub renditions: Vec<RenditionSummary>,
    /// Things worth a look that did not stop the run (e.g. segments over 6 s), each naming every
    /// segment it concerns (src/package/warnings.rs).
    pub warnings: Vec<Warning>,
    /// True when `--verify` checked the output before it was committed.
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenditionSummary {
    pub id: String,
    pub kind: TrackKind,
    pub codec: String,
    pub source: String,
    pub track_id: u32,
    pub segments: usize,
    pub duration: f64,
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub language: Option<String>,
    pub key_label: Option<String>,
    pub init: String,
    pub playlist: String,
}

/// Receives progress: the total number of samples, then increments.
pub trait Progress: Sync {
    fn start(&self, total_samples: u64);
    fn advance(&self, samples: u64);
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

/// Opens the inputs and turns every selected track into a rendition source.
pub fn open_sources(job: &PackageJob) -> Result<(Vec<InputFile>, Vec<RenditionSource>)> {
    let mut inputs = Vec::new();
    let mut sources = Vec::new();
    let mut used_ids = HashSet::new();
    let decryption_keys = crate::media::protection::load_decryption_keys(
        &job.decryption_keys,
        job.decryption_key_file.as_deref(),
    )?;
    for spec in &job.inputs {
        let (path, selector) = spec.path_and_selector()?;
        let mut input = InputFile::open(&path)?;
        crate::media::protection::decrypt_input(&mut input, &decryption_keys)?;
        let chosen: Vec<&Track> = input
            .tracks
            .iter()
            .filter(|t| selector.matches(t))
            .collect();
        if chosen.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no track matches '{}'",
                path.display(),
                spec.input
            )));
        }
        // A user-given id names the rendition only when the input yields exactly one track.
        let single = chosen.len() == 1;
        for track in chosen {
            if track.kind != TrackKind::Video && track.kind != TrackKind::Audio {
                return Err(Error::unsupported(
                    &path,
                    format!(
                        "track {} is a '{}' track; vodpack packages video and audio",
                        track.id,
                        String::from_utf8_lossy(&track.handler)
                    ),
                ));
            }
            if track.samples.is_empty() {
                return Err(Error::invalid(
                    &path,
                    format!("track {} has no samples", track.id),
                ));
            }
            let codec = parse_sample_entry(&track.sample_entry)
                .map_err(|e| Error::unsupported(&path, format!("track {}: {e}", track.id)))?;
            let id = match &spec.id {
                Some(id) if single => id.clone(),
                _ => default_id(track, &codec, spec),
            };
            let id = unique_id(id, &mut used_ids);
            sources.push(RenditionSource {
                id,
                input: inputs.len(),
                track: track.clone(),
                codec,
                spec: spec.clone(),
            });
        }
        inputs.push(input);
    }
    Ok((inputs, sources))
}

fn default_id(track: &Track, codec: &CodecInfo, spec: &InputSpec) -> String {
    match track.kind {
        TrackKind::Video => {
            let family = if codec.fourcc.starts_with("hv") || codec.fourcc.starts_with("he") {
                "hevc_"
            } else {
                ""
            };
            format!(
                "video_{family}{}p",
                codec.height.unwrap_or(track.tkhd_height >> 16)
            )
        }
        _ => format!(
            "audio_{}",
            spec.lang
                .clone()
                .or_else(|| bcp47_from_iso639_2(&track.language))
                .unwrap_or_else(|| "und".into())
        ),
    }
}

fn unique_id(base: String, used: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut n = 2;
    while !used.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// mdhd stores ISO 639-2/T; manifests want the shortest BCP 47 form (RFC 5646 §4.1), so the
/// common languages map to their two-letter code.
fn bcp47_from_iso639_2(code: &str) -> Option<String> {
    const TABLE: &[(&str, &str)] = &[
        ("ara", "ar"),
        ("ben", "bn"),
        ("ces", "cs"),
        ("cze", "cs"),
        ("dan", "da"),
        ("deu", "de"),
        ("ger", "de"),
        ("ell", "el"),
        ("gre", "el"),
        ("eng", "en"),
        ("spa", "es"),
        ("fin", "fi"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("heb", "he"),
        ("hin", "hi"),
        ("hun", "hu"),
        ("ind", "id"),
        ("ita", "it"),
        ("jpn", "ja"),
        ("kor", "ko"),
        ("nld", "nl"),
        ("dut", "nl"),
        ("nor", "no"),
        ("pol", "pl"),
        ("por", "pt"),
        ("ron", "ro"),
        ("rum", "ro"),
        ("rus", "ru"),
        ("swe", "sv"),
        ("tha", "th"),
        ("tur", "tr"),
        ("ukr", "uk"),
        ("vie", "vi"),
        ("zho", "zh"),
        ("chi", "zh"),
    ];
    match code {
        "und" | "" => None,
        c => Some(
            TABLE
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| c.to_string()),
        ),
    }
}

/// Frame rate from sample durations: exact when constant, else the average.
fn frame_rate(track: &Track) -> Option<(u32, u32)> {
    let first = track.samples.first()?.duration;
    if first > 0 && track.samples.iter().all(|s| s.duration == first) {
        let g = gcd(track.timescale, first);
        return Some((track.timescale / g, first / g));
    }
    if track.duration == 0 {
        return None;
    }
    let fps = track.samples.len() as f64 * track.timescale as f64 / track.duration as f64;
    Some(((fps * 1000.0).round() as u32, 1000))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// Runs the whole job. Errors leave any previous output untouched.
pub fn package(job: &PackageJob, progress: &dyn Progress) -> Result<PackageSummary> {
    job.validate()?;
    // `-o .` or `-o ..` name the folder they resolve to (the output is staged beside it).
    let mut job = job.clone();
    job.out = output_folder(&job.out)?;
    let job = &job;
    let asset_id = asset_id(job)?;
    let key_manifest_path = key_manifest_path(job);
    let input_paths: Vec<PathBuf> = job
        .inputs
        .iter()
        .map(|i| i.path_and_selector().map(|(p, _)| p))
        .collect::<Result<_>>()?;
    // Before anything is read or written: nothing of the user's may be destroyed.
    check_targets(&job.out, &key_manifest_path, &input_paths, job.force)?;
    // Subtitle inputs are read here and written after the media, on its segment boundaries.
    let (media_job, subtitles) = crate::subtitle::write::load(job)?;
    let (inputs, sources) = open_sources(&media_job)?;
    crate::cancel::check()?;
    let mut keys = KeyMaterial::default();
    let named: Vec<(&str, &Track)> = sources.iter().map(|s| (s.id.as_str(), &s.track)).collect();
    let plan = SegmentPlan::build(&named, job.segment_duration, job.cut_at_common_keyframes)?;
    // Keys are resolved before anything is written: a key problem leaves no output behind.
    // `dash=cenc,hls=cbcs`: keys resolved once (for the HLS scheme, which FairPlay needs), the
    // DASH set sharing every KID and key; the DASH set is the main one, the HLS set the second.
    let pair = job
        .protection
        .as_ref()
        .map(|p| p.scheme_pair())
        .transpose()?
        .flatten();
    let (asset_keys, hls_keys) = match (&job.protection, &pair) {
        (Some(p), Some(pair)) => {
            let mut opts = p.clone();
            opts.scheme = pair.hls.clone();
            let hls = protect::resolve(&opts, &sources)?;
            let dash = hls.with_scheme(crate::cenc::Scheme::parse(&pair.dash)?);
            (Some(dash), Some(hls))
        }
        (Some(p), None) => (Some(protect::resolve(p, &sources)?), None),
        (None, _) => (None, None),
    };

    let mut staged = Staging::create(&job.out, &key_manifest_path)?;
    let total: u64 = sources.iter().map(|s| s.track.samples.len() as u64).sum();
    progress.start(total);
    type Written = (Vec<RenditionOutput>, Vec<Option<RenditionProtection>>);
    let written: Vec<Written> = sources
        .par_iter()
        .enumerate()
        .map(|(index, src)| {
            let input = &inputs[src.input];
            let starts = plan.segment_starts(&src.track);
            let secs: Vec<f64> = starts
                .iter()
                .map(|&i| presentation_time(&src.track, i).seconds())
                .collect();
            let set_for = |keys: Option<&protect::AssetKeys>| -> Result<_> {
                let mut init = InitOptions {
                    sample_entry: src.track.sample_entry.clone(),
                    clear_sample_entry: None,
                    pssh: Vec::new(),
                    edit_media_time: src.track.edit_media_time,
                };
                let (protection, signal) = match keys {
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
                Ok((init, protection, signal))
            };
            let (init, protection, signal) = set_for(asset_keys.as_ref())?;
            let mut signals = vec![signal];
            let mut extra_sets = Vec::new();
            let mut set_dir = None;
            if let (Some(hls), Some(pair)) = (&hls_keys, &pair) {
                let (init, protection, signal) = set_for(Some(hls))?;
                signals.push(signal);
                set_dir = Some(format!("{}/{}", src.id, pair.dash));
                extra_sets.push(crate::segment::writer::OutputSet {
                    dir: format!("{}/{}", src.id, pair.hls),
                    init,
                    protection,
                });
            }
            let rjob = RenditionJob {
                id: src.id.clone(),
                track: &src.track,
                input: &input.file,
                input_path: &input.path,
                starts,
                init,
                width: src.codec.width.unwrap_or(0),
                height: src.codec.height.unwrap_or(0),
                single_file: job.single_file,
                protection,
                out_root: staged.dir.clone(),
                set_dir,
                extra_sets,
            };
            // Per-rendition progress in samples and media bytes (one thread per rendition).
            let samples = &src.track.samples;
            let bytes: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
            progress.rendition_start(&src.id, samples.len() as u64, bytes);
            let done = std::sync::atomic::AtomicUsize::new(0);
            let advance = |n: u64| {
                let from = done.fetch_add(n as usize, std::sync::atomic::Ordering::Relaxed);
                let range = from.min(samples.len())..(from + n as usize).min(samples.len());
                let bytes = samples[range].iter().map(|s| u64::from(s.size)).sum();
                progress.rendition_advance(&src.id, n, bytes);
            };
            let written = write_rendition(rjob, &advance)?;
            progress.rendition_finish(&src.id);
            Ok((written, signals))
        })
        .collect::<Result<_>>()?;
    let mut outputs = Vec::with_capacity(written.len());
    let mut signals = Vec::with_capacity(written.len());
    let mut hls_outputs = Vec::new();
    let mut hls_signals = Vec::new();
    for (outs, sigs) in written {
        let mut outs = outs.into_iter();
        let mut sigs = sigs.into_iter();
        outputs.extend(outs.next());
        signals.extend(sigs.next());
        hls_outputs.extend(outs.next());
        hls_signals.extend(sigs.next());
    }
    progress.finish();

    let mut asset = build_asset(job, &sources, &outputs);
    if let Some(k) = &asset_keys {
        asset.protection = Some(k.asset_protection());
        for (r, sig) in asset.renditions.iter_mut().zip(&signals) {
            r.protection = sig.clone();
        }
        keys = k.key_material(&signals);
    }
    // Two schemes: the HLS playlists describe the second set (its own signalling and PSSH).
    let mut hls_asset = match &hls_keys {
        Some(k) => {
            let mut a = build_asset(job, &sources, &hls_outputs);
            a.protection = Some(k.asset_protection());
            for (r, sig) in a.renditions.iter_mut().zip(&hls_signals) {
                r.protection = sig.clone();
            }
            Some((a, k.key_material(&hls_signals)))
        }
        None => None,
    };
    let (text, text_warnings) = crate::subtitle::write::write_all(&subtitles, &asset, &staged.dir)?;
    if let Some((a, _)) = hls_asset.as_mut() {
        a.renditions.extend(text.iter().cloned());
    }
    asset.renditions.extend(text);
    super::template::apply(job, &staged.dir, &mut asset)?;
    if let Some((a, _)) = hls_asset.as_mut() {
        super::template::apply(job, &staged.dir, a)?;
        a.write_dash = false;
        asset.write_hls = false;
        write_manifests(&staged.dir, a)?;
    }
    write_manifests(&staged.dir, &asset)?;
    let mut manifest = key_manifest(job, &asset, &keys, asset_id)?;
    if let (Some((a, hls_material)), Some(pair)) = (&hls_asset, &pair) {
        // Per-scheme manifests: the MPD on the DASH scheme's set, the playlists on the HLS one;
        // `protection_scheme`, `manifests` and `drm_systems` keep describing the DASH set for
        // readers that know one scheme only, and `manifests` names both files.
        manifest.protection_scheme = Some(pair.dash.clone());
        manifest.manifests.hls = Some(a.hls_multivariant.clone());
        manifest.schemes = vec![
            SchemeEntry {
                scheme: pair.dash.clone(),
                manifests: ManifestPaths {
                    hls: None,
                    dash: Some(asset.dash_mpd.clone()),
                },
                drm_systems: keys.drm_systems.clone(),
            },
            SchemeEntry {
                scheme: pair.hls.clone(),
                manifests: ManifestPaths {
                    hls: Some(a.hls_multivariant.clone()),
                    dash: None,
                },
                drm_systems: hls_material.drm_systems.clone(),
            },
        ];
        manifest
            .validate()
            .map_err(|e| Error::Key(format!("key manifest: {e}")))?;
    }
    let text = manifest
        .to_json_pretty()
        .map_err(|e| Error::Key(format!("key manifest: {e}")))?;
    // Every output is staged first and committed together: a failure from here on (a key
    // manifest folder that does not exist, a full disk, a signal) leaves everything as it was.
    staged.stage_key_manifest(&key_manifest_path, text.as_bytes())?;
    if job.verify {
        let keys = asset_keys
            .as_ref()
            .map(|k| k.keys.as_slice())
            .unwrap_or(&[]);
        crate::verify::verify_staged(&staged.dir, &inputs, &sources, keys)?;
    }
    crate::cancel::check()?;
    staged.commit()?;

    // A GOP longer than the target makes a longer segment (cuts are only made at sync samples).
    let mut warnings: Vec<Warning> = asset
        .renditions
        .iter()
        .filter_map(|r| {
            Warning::long_segments(
                &r.id,
                r.timescale,
                r.segments.iter().map(|s| (s.number, s.duration)),
            )
        })
        .collect();
    warnings.extend(text_warnings.into_iter().map(|message| Warning {
        kind: super::warnings::WarningKind::DroppedCues,
        subject: message.split(": ").next().unwrap_or_default().to_string(),
        segments: Vec::new(),
        message,
    }));
    Ok(PackageSummary {
        warnings,
        verified: job.verify,
        out: job.out.clone(),
        hls: asset.hls_multivariant.clone(),
        dash: asset.dash_mpd.clone(),
        key_manifest: key_manifest_path,
        protection: job.protection.as_ref().map(|p| p.scheme.clone()),
        segment_duration: job.segment_duration,
        duration: asset.duration,
        renditions: asset
            .renditions
            .iter()
            .zip(&sources)
            .zip(&outputs)
            .map(|((r, s), o)| RenditionSummary {
                id: r.id.clone(),
                kind: r.kind,
                codec: r.codec_string.clone(),
                source: inputs[s.input].path.display().to_string(),
                track_id: s.track.id,
                segments: r.segments.len(),
                duration: s.track.duration_seconds(),
                bandwidth: r.peak_bandwidth,
                average_bandwidth: r.average_bandwidth,
                bytes: o.bytes,
                width: r.width,
                height: r.height,
                language: r.language.clone(),
                key_label: r.protection.as_ref().map(|p| p.key_label.clone()),
                init: r.init_path.clone(),
                playlist: r.hls_playlist.clone(),
            })
            .collect(),
    })
}

fn build_asset(
    job: &PackageJob,
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
                fourcc: s.codec.fourcc.clone(),
                language: lang,
                name: s.spec.name.clone(),
                roles: s.spec.roles.clone(),
                width: s.codec.width.filter(|_| video),
                height: s.codec.height.filter(|_| video),
                sar: s.codec.sar,
                frame_rate: if video { frame_rate(&s.track) } else { None },
                sample_rate: s.codec.sample_rate,
                channels: s.codec.channels,
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
            }
        })
        .collect();
    let duration = sources
        .iter()
        .map(|s| s.track.duration_seconds())
        .fold(0.0, f64::max);
    PackagedAsset {
        segment_duration: job.segment_duration,
        duration,
        renditions,
        hls_multivariant: "master.m3u8".into(),
        dash_mpd: "manifest.mpd".into(),
        protection: None,
        write_hls: true,
        write_dash: true,
        base_url: None,
    }
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

/// OUT as given when it names a folder, or resolved when it is `.`, `..` or ends in them.
fn output_folder(out: &Path) -> Result<PathBuf> {
    let trimmed: PathBuf = out.components().collect();
    if trimmed.file_name().is_some() {
        return Ok(trimmed);
    }
    let resolved = std::fs::canonicalize(&trimmed).map_err(|e| Error::io(out, e))?;
    if resolved.parent().is_none() {
        return Err(Error::Usage(format!(
            "output '{}' is the root folder; choose a folder to write into",
            out.display()
        )));
    }
    Ok(resolved)
}

/// The key manifest's path: given, or beside OUT (`<OUT>.keys.json`).
fn key_manifest_path(job: &PackageJob) -> PathBuf {
    job.key_manifest
        .clone()
        .unwrap_or_else(|| vodpack_control::key_manifest::default_path(&job.out))
}

/// Longest asset id the key manifest accepts (it appears in URL paths and file names).
const MAX_ASSET_ID: usize = 128;

/// The asset id: given with `--asset-id` (checked), or made from the output folder's name
/// (any name works: characters outside the id alphabet become `_`, `.` is resolved).
fn asset_id(job: &PackageJob) -> Result<String> {
    if let Some(id) = &job.asset_id {
        let chars = id.chars().count();
        if chars > MAX_ASSET_ID {
            return Err(Error::Usage(format!(
                "asset id is {chars} characters long; the limit is {MAX_ASSET_ID}"
            )));
        }
        if !vodpack_control::key_manifest::is_valid_asset_id(id) {
            return Err(Error::Usage(format!(
                "asset id '{id}' may only use letters, digits, '_', '-' and '.' (and must not be empty)"
            )));
        }
        return Ok(id.clone());
    }
    // `package` has already resolved `.`/`..` (output_folder), so OUT has a name here.
    let name = job
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(sanitize_asset_id(&name))
}

/// An id from any folder name: letters and digits kept, runs of anything else become one `_`,
/// cut to [`MAX_ASSET_ID`]; `asset` when nothing is left.
pub fn sanitize_asset_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
        if keep {
            id.push(c);
        } else if !id.ends_with('_') {
            id.push('_');
        }
        if id.len() >= MAX_ASSET_ID {
            break;
        }
    }
    let id = id.trim_matches(|c| c == '_' || c == '.').to_string();
    if id.is_empty() || !vodpack_control::key_manifest::is_valid_asset_id(&id) {
        "asset".into()
    } else {
        id
    }
}

/// Builds the key manifest (schema in crates/vodpack-control; docs/key-manifest.md).
fn key_manifest(
    job: &PackageJob,
    asset: &PackagedAsset,
    keys: &KeyMaterial,
    asset_id: String,
) -> Result<KeyManifest> {
    let renditions = asset
        .renditions
        .iter()
        .map(|r| RenditionEntry {
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
        })
        .collect();
    let manifest = KeyManifest {
        schema_version: KEY_MANIFEST_SCHEMA_VERSION,
        asset_id,
        // Two schemes: the DASH set's (the schemes list is added by the caller).
        protection_scheme: job.protection.as_ref().map(|p| match p.scheme_pair() {
            Ok(Some(pair)) => pair.dash,
            _ => p.scheme.clone(),
        }),
        segment_duration: job.segment_duration,
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
