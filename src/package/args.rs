//! The low level of a packaging run (ripgrep's "low args → high args"): a [`PackageJob`] — flags
//! or a job file, plain strings as the user wrote them — checked and typed once, before any
//! input is opened: the scheme (or the two schemes of a `dash=…,hls=…` run), the DRM systems, the
//! key policy, the given keys, the IV, the segment duration, the manifests and their names, the
//! segment template, the output folder, the key manifest's path and the asset id.
//!
//! Every later stage reads these typed values; nothing re-parses a string of the job. Errors here
//! are usage errors (exit 2) or, for key and IV syntax, key errors (exit 6).
use super::job::{InputSpec, PackageJob, ProtectionOptions};
use super::publish::RemoteOut;
use super::template::{ManifestSelection, Naming, SegmentTemplate};
use crate::cenc::keys::{self, KeySpec, LabelPolicy};
use crate::cenc::{DrmSystem, IvSource, Scheme};
use crate::error::{Error, Result};
use crate::media::input::TrackSelector;
use crate::storage::ObjectUrl;
use crate::ts::encrypt::TsMethod;
use std::path::{Path, PathBuf};

/// The segment sets a protected run writes: one scheme, or one set per manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    /// `--protection cenc|cbcs`: one set for both manifests.
    One(Scheme),
    /// `--protection dash=S1,hls=S2`: the MPD on the first set, the playlists on the second.
    Pair {
        /// The scheme of the set the MPD describes (the main set).
        dash: Scheme,
        /// The scheme of the set the HLS playlists describe.
        hls: Scheme,
    },
    /// `--protection dash=S,hls=sample-aes|aes-128` with `--hls-segments ts`: the MPD's CMAF set
    /// in `S`, the playlists' TS set with its own method, the same keys (docs/mpeg-ts.md).
    Ts {
        /// The scheme of the CMAF set the MPD describes (the main set).
        dash: Scheme,
        /// How the TS set is encrypted.
        hls: TsMethod,
    },
}

impl Schemes {
    /// Parses `cenc`, `cbcs` or `dash=S1,hls=S2` (either order, two different schemes).
    pub fn parse(text: &str) -> Result<Schemes> {
        let s = text.trim();
        if !s.contains('=') {
            return scheme(s).map(Schemes::One).ok_or_else(|| {
                Error::Usage(format!(
                    "--protection '{text}' must be 'cenc', 'cbcs' or 'dash=cenc,hls=cbcs'"
                ))
            });
        }
        let bad = |why: &str| {
            Error::Usage(format!(
                "--protection '{s}': {why} (expected e.g. 'dash=cenc,hls=cbcs')"
            ))
        };
        let (mut dash, mut hls) = (None, None);
        let mut ts_method = None;
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(&format!("'{part}' is not manifest=scheme")))?;
            let (k, v) = (k.trim(), v.trim());
            if k == "hls" {
                if let Some(m) = TsMethod::parse(v) {
                    if ts_method.replace(m).is_some() || hls.is_some() {
                        return Err(bad("'hls' given twice"));
                    }
                    continue;
                }
            }
            let v = scheme(v).ok_or_else(|| {
                bad(&format!(
                    "scheme '{v}' must be cenc or cbcs (or, for hls with --hls-segments ts, sample-aes or aes-128)"
                ))
            })?;
            let slot = match k {
                "dash" => &mut dash,
                "hls" => &mut hls,
                other => return Err(bad(&format!("'{other}' is not dash or hls"))),
            };
            if slot.replace(v).is_some() {
                return Err(bad(&format!("'{k}' given twice")));
            }
        }
        if let Some(method) = ts_method {
            if hls.is_some() {
                return Err(bad("'hls' given twice"));
            }
            return match dash {
                Some(dash) => Ok(Schemes::Ts { dash, hls: method }),
                None => Err(bad("name a scheme for dash too (e.g. dash=cenc)")),
            };
        }
        match (dash, hls) {
            (Some(dash), Some(hls)) if dash != hls => Ok(Schemes::Pair { dash, hls }),
            (Some(d), Some(_)) => Err(bad(&format!(
                "both manifests use {}; write --protection {}",
                d.as_str(),
                d.as_str()
            ))),
            _ => Err(bad("name a scheme for both dash and hls")),
        }
    }

    /// The scheme of the main segment set (the only one, or the DASH one).
    pub fn main(self) -> Scheme {
        match self {
            Schemes::One(s) => s,
            Schemes::Pair { dash, .. } | Schemes::Ts { dash, .. } => dash,
        }
    }

    /// The scheme keys are resolved for: the HLS one in a pair (FairPlay needs `cbcs` there).
    pub fn keys_scheme(self) -> Scheme {
        match self {
            Schemes::One(s) => s,
            Schemes::Pair { hls, .. } => hls,
            Schemes::Ts { dash, .. } => dash,
        }
    }
}

fn scheme(s: &str) -> Option<Scheme> {
    match s {
        "cenc" => Some(Scheme::Cenc),
        "cbcs" => Some(Scheme::Cbcs),
        _ => None,
    }
}

/// One `--drm` name (the argument spelling lives here, with the other flags).
fn drm_system(name: &str) -> Result<DrmSystem> {
    match name.trim().to_ascii_lowercase().as_str() {
        "clearkey" | "clear-key" | "common" => Ok(DrmSystem::ClearKey),
        "widevine" => Ok(DrmSystem::Widevine),
        "playready" => Ok(DrmSystem::PlayReady),
        "fairplay" => Ok(DrmSystem::FairPlay),
        other => Err(Error::Usage(format!(
            "--drm '{other}': expected clearkey, widevine, playready or fairplay"
        ))),
    }
}

/// The protection options, typed.
#[derive(Debug, Clone)]
pub struct ProtectionArgs {
    /// The scheme, or the two schemes of a two-set run.
    pub schemes: Schemes,
    /// `--protection` as written (the `--json` summary repeats it).
    pub text: String,
    /// Keys given with `--key` (the key file is read by the plan stage).
    pub keys: Vec<KeySpec>,
    /// `--key-file`.
    pub key_file: Option<PathBuf>,
    /// `--key-policy`, when given.
    pub policy: Option<LabelPolicy>,
    /// `--iv`: the first IV (8 or 16 bytes), when given.
    pub iv: Option<Vec<u8>>,
    /// Per-sample IV size for `cenc` (8 or 16).
    pub iv_size: u8,
    /// Seconds at the start left clear.
    pub clear_lead: f64,
    /// DRM systems to signal, without repeats, in the order given (Clear Key by default).
    pub drm: Vec<DrmSystem>,
    /// `--clearkey-license-url`.
    pub clearkey_license_url: Option<String>,
    /// `--playready-license-url`.
    pub playready_license_url: Option<String>,
    /// `--key-references`.
    pub key_references: bool,
    /// True when `--drm` was given (else a CPIX document's systems are signalled).
    pub drm_explicit: bool,
    /// `--cpix`.
    pub cpix: Option<String>,
    /// `--cpix-private-key`.
    pub cpix_private_key: Option<PathBuf>,
    /// `--cpix-certificate`.
    pub cpix_certificate: Option<PathBuf>,
    /// `--cpix-export`.
    pub cpix_export: Option<PathBuf>,
    /// `--cpix-recipient`.
    pub cpix_recipient: Option<PathBuf>,
    /// `--speke`.
    pub speke: Option<String>,
    /// `--speke-header`.
    pub speke_headers: Vec<String>,
    /// The key class thresholds.
    pub classes: keys::KeyClasses,
    /// The asset id (a SPEKE request's and an export's `contentId`).
    pub asset_id: String,
}

impl ProtectionArgs {
    fn parse(p: &ProtectionOptions) -> Result<ProtectionArgs> {
        let schemes = Schemes::parse(&p.scheme)?;
        if !(0.0..=3600.0).contains(&p.clear_lead) {
            return Err(Error::Usage(format!(
                "--clear-lead {} must be between 0 and 3600 seconds",
                p.clear_lead
            )));
        }
        let policy = p
            .key_policy
            .as_deref()
            .map(LabelPolicy::parse)
            .transpose()?;
        let keys = p
            .keys
            .iter()
            .map(|k| keys::parse_key_arg(k))
            .collect::<keys::Result<Vec<_>>>()?;
        let mut drm = Vec::new();
        for d in &p.drm {
            let d = drm_system(d)?;
            if !drm.contains(&d) {
                drm.push(d);
            }
        }
        if drm.is_empty() {
            drm.push(DrmSystem::ClearKey);
        }
        if drm.contains(&DrmSystem::FairPlay) && schemes.keys_scheme() != Scheme::Cbcs {
            return Err(Error::Usage(
                "FairPlay needs --protection cbcs (HLS SAMPLE-AES)".into(),
            ));
        }
        let iv = match &p.iv {
            Some(s) => {
                let bytes =
                    hex::decode(s.trim()).map_err(|_| keys::KeyError::BadIvHex(s.clone()))?;
                IvSource::explicit(&bytes)?;
                Some(bytes)
            }
            None => None,
        };
        let iv_size = match p.iv_size {
            None | Some(8) => 8,
            Some(16) => 16,
            Some(n) => {
                return Err(Error::Key(format!(
                    "--iv-size {n}: cenc per-sample IVs are 8 or 16 bytes"
                )))
            }
        };
        let defaults = keys::KeyClasses::default();
        let classes = keys::KeyClasses {
            max_sd_pixels: p.max_sd_pixels.unwrap_or(defaults.max_sd_pixels),
            max_hd_pixels: p.max_hd_pixels.unwrap_or(defaults.max_hd_pixels),
            max_uhd1_pixels: p.max_uhd1_pixels.unwrap_or(defaults.max_uhd1_pixels),
        };
        classes.validate()?;
        let key_sources = [
            (!keys.is_empty() || p.key_file.is_some()).then_some("--key/--key-file"),
            p.cpix.as_ref().map(|_| "--cpix"),
            p.speke.as_ref().map(|_| "--speke"),
        ];
        let given: Vec<&str> = key_sources.into_iter().flatten().collect();
        if given.len() > 1 {
            return Err(Error::Usage(format!(
                "keys come from one place: {} were given together",
                given.join(" and ")
            )));
        }
        if p.cpix_recipient.is_some() && p.cpix_export.is_none() {
            return Err(Error::Usage(
                "--cpix-recipient encrypts the --cpix-export document; give --cpix-export".into(),
            ));
        }
        if p.cpix_certificate.is_some() && p.speke.is_none() {
            return Err(Error::Usage(
                "--cpix-certificate is sent in a SPEKE request; give --speke".into(),
            ));
        }
        if !p.speke_headers.is_empty() && p.speke.is_none() && p.cpix.is_none() {
            return Err(Error::Usage(
                "--speke-header needs --speke URL or --cpix URL".into(),
            ));
        }
        Ok(ProtectionArgs {
            drm_explicit: !p.drm.is_empty(),
            cpix: p.cpix.clone(),
            cpix_private_key: p.cpix_private_key.clone(),
            cpix_certificate: p.cpix_certificate.clone(),
            cpix_export: p.cpix_export.clone(),
            cpix_recipient: p.cpix_recipient.clone(),
            speke: p.speke.clone(),
            speke_headers: p.speke_headers.clone(),
            classes,
            asset_id: String::new(),
            schemes,
            text: p.scheme.clone(),
            keys,
            key_file: p.key_file.clone(),
            policy,
            iv,
            iv_size,
            clear_lead: p.clear_lead,
            drm,
            clearkey_license_url: p.clearkey_license_url.clone(),
            playready_license_url: p.playready_license_url.clone(),
            key_references: p.key_references,
        })
    }
}

/// One input, its descriptor checked and its path and track selector split out.
#[derive(Debug, Clone)]
pub struct InputArg {
    /// The descriptor as given (language, name, roles, id, key label).
    pub spec: InputSpec,
    /// The file.
    pub path: PathBuf,
    /// Which of its tracks to package.
    pub selector: TrackSelector,
}

impl InputArg {
    /// The job's input descriptors, each split into its file and track selector.
    pub fn of_job(job: &PackageJob) -> Result<Vec<InputArg>> {
        job.inputs
            .iter()
            .map(|spec| {
                let (path, selector) = spec.path_and_selector()?;
                Ok(InputArg {
                    spec: spec.clone(),
                    path,
                    selector,
                })
            })
            .collect()
    }
}

/// A packaging job, checked and typed: what the plan stage reads.
#[derive(Debug, Clone)]
pub struct PackageArgs {
    /// The job as given, with OUT resolved (`.` and `..` name the folder they resolve to); the
    /// subtitle layer reads its inputs from it.
    pub job: PackageJob,
    /// Every input (media and subtitles), in order.
    pub inputs: Vec<InputArg>,
    /// The output folder.
    pub out: PathBuf,
    /// Where the key manifest goes (given, or `<OUT>.keys.json` beside OUT).
    pub key_manifest: PathBuf,
    /// The asset id written in the key manifest.
    pub asset_id: String,
    /// Target segment duration in seconds (2–6).
    pub segment_duration: f64,
    /// Manifest selection and names, base URL and segment template.
    pub naming: Naming,
    /// Encryption, when asked for.
    pub protection: Option<ProtectionArgs>,
    /// `--hls-segments ts`: the HLS playlists read MPEG-TS segments of their own.
    pub hls_ts: bool,
    /// `--hls-key-uri` (or its default): the key URI of an encrypted TS set.
    pub hls_key_uri: crate::ts::key_uri::KeyUriTemplate,
    /// `--hls-packed-audio`: the TS set writes audio-only renditions as packed audio.
    pub hls_packed_audio: bool,
    /// An object-store OUT: the run is written into a local folder first (`out`), then
    /// published (package::publish).
    pub remote: Option<RemoteOut>,
}

impl PackageArgs {
    /// Checks and types every value of `job`. Reads nothing but OUT's resolution when it is `.`
    /// or `..`.
    pub fn from_job(job: &PackageJob) -> Result<PackageArgs> {
        let manifests = manifest_selection(job.manifests.as_deref())?;
        for (flag, name, ext) in [
            ("--hls-master", &job.hls_master, ".m3u8"),
            ("--mpd", &job.mpd, ".mpd"),
        ] {
            if let Some(n) = name {
                let ok = n.ends_with(ext)
                    && n.len() > ext.len()
                    && !n.starts_with('.')
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !ok {
                    return Err(Error::Usage(format!(
                        "{flag} '{n}': a file name ending in {ext} (letters, digits, '_', '-', '.')"
                    )));
                }
            }
        }
        if job.hls_master.is_some() && job.hls_master == job.mpd {
            return Err(Error::Usage(
                "--hls-master and --mpd name the same file".into(),
            ));
        }
        let template = match &job.segment_template {
            Some(_) if job.single_file => {
                return Err(Error::Usage(
                    "--segment-template names segment files; --single-file has none".into(),
                ))
            }
            Some(t) => Some(SegmentTemplate::parse(t)?),
            None => None,
        };
        if let Some(u) = &job.base_url {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '"' | '<' | '>'));
            if !ok {
                return Err(Error::Usage(format!(
                    "--base-url '{u}': an absolute http(s) URL"
                )));
            }
        }
        if job.inputs.is_empty() {
            return Err(Error::Usage("no inputs given".into()));
        }
        if !(2.0..=6.0).contains(&job.segment_duration) || !job.segment_duration.is_finite() {
            return Err(Error::Usage(format!(
                "--segment-duration {} is out of range: segments must be 2 to 6 seconds",
                job.segment_duration
            )));
        }
        for i in &job.inputs {
            i.validate()?;
        }
        let protection = job
            .protection
            .as_ref()
            .map(ProtectionArgs::parse)
            .transpose()?;
        if let Some(p) = &protection {
            if matches!(p.schemes, Schemes::Pair { .. }) && !(manifests.hls && manifests.dash) {
                return Err(Error::Usage(format!(
                    "--protection '{}' writes one segment set for DASH and one for HLS; it needs both manifests (drop --manifests)",
                    p.text
                )));
            }
        }
        if let Some(p) = &protection {
            if let Schemes::Ts { hls, .. } = p.schemes {
                if job.hls_segments.as_deref().map(str::trim) != Some("ts") {
                    return Err(Error::Usage(format!(
                        "--protection '{}': hls={} encrypts MPEG-TS segments: add --hls-segments ts",
                        p.text,
                        hls.as_str()
                    )));
                }
                // The playlists read the TS set: `--manifests hls` is enough (an MP3 run's).
                if !manifests.hls {
                    return Err(Error::Usage(format!(
                        "--protection '{}' encrypts the HLS playlists' MPEG-TS segments: it needs the HLS manifest",
                        p.text
                    )));
                }
            }
        }
        if let Some(uri) = &job.hls_key_uri {
            crate::ts::key_uri::KeyUriTemplate::parse(uri)?;
            if job.hls_segments.as_deref().map(str::trim) != Some("ts") {
                return Err(Error::Usage(
                    "--hls-key-uri names the key of MPEG-TS segments: add --hls-segments ts".into(),
                ));
            }
        }
        if job.hls_packed_audio && job.hls_segments.as_deref().map(str::trim) != Some("ts") {
            return Err(Error::Usage(
                "--hls-packed-audio writes the audio of MPEG-TS playlists: add --hls-segments ts"
                    .into(),
            ));
        }
        let hls_ts = match job.hls_segments.as_deref().map(str::trim) {
            None | Some("cmaf") => false,
            Some("ts") => true,
            Some(other) => {
                return Err(Error::Usage(format!(
                    "--hls-segments '{other}': expected cmaf or ts"
                )))
            }
        };
        if hls_ts {
            let refuse = |why: &str| Err(Error::Usage(format!("--hls-segments ts {why}")));
            if !manifests.hls {
                return refuse("writes HLS playlists: it needs the HLS manifest");
            }
            match protection.as_ref().map(|p| (p, p.schemes)) {
                None | Some((_, Schemes::Ts { .. })) => {}
                Some((p, _)) => {
                    return Err(Error::Usage(format!(
                        "--hls-segments ts encrypts the TS set with its own method: write --protection dash={},hls=sample-aes (or hls=aes-128) instead of '{}'",
                        p.schemes.main().as_str(),
                        p.text
                    )))
                }
            }
            if job.hls_key_uri.is_some() && protection.is_none() {
                return refuse("is clear without --protection: drop --hls-key-uri");
            }
            if job.verify {
                return refuse("output cannot be verified by `vodpack verify` yet: drop --verify");
            }
            if job.single_file {
                return refuse("writes one file per segment: drop --single-file");
            }
            if template.is_some() {
                return refuse("names its segments <id>/ts/seg_<n>.ts: drop --segment-template");
            }
        }
        // `-o .` or `-o ..` name the folder they resolve to (the output is staged beside it).
        let mut job = job.clone();
        let remote = remote_out(&mut job)?;
        job.out = output_folder(&job.out)?;
        let asset_id = asset_id(&job)?;
        let mut protection = protection;
        if let Some(p) = protection.as_mut() {
            p.asset_id = asset_id.clone();
        }
        let inputs = InputArg::of_job(&job)?;
        Ok(PackageArgs {
            key_manifest: job
                .key_manifest
                .clone()
                .unwrap_or_else(|| vodpack_control::key_manifest::default_path(&job.out)),
            out: job.out.clone(),
            asset_id,
            inputs,
            segment_duration: job.segment_duration,
            naming: Naming {
                manifests,
                hls_master: job.hls_master.clone(),
                mpd: job.mpd.clone(),
                base_url: job.base_url.clone(),
                template,
            },
            protection,
            hls_ts,
            hls_packed_audio: job.hls_packed_audio,
            hls_key_uri: match &job.hls_key_uri {
                Some(t) => crate::ts::key_uri::KeyUriTemplate::parse(t)?,
                None => Default::default(),
            },
            remote,
            job,
        })
    }
}

/// An object URL as OUT: where the run goes, with the key-manifest rule (keys are never
/// published: with encryption a `--key-manifest` must be given, outside OUT's bucket). `job`'s
/// OUT (and key manifest, when it is an object) become local paths the run is written to first.
fn remote_out(job: &mut PackageJob) -> Result<Option<RemoteOut>> {
    let Some(url) = ObjectUrl::parse(&job.out.to_string_lossy()) else {
        if let Some(k) = &job.key_manifest {
            if let Some(Err(e)) = ObjectUrl::parse(&k.to_string_lossy()) {
                return Err(Error::Usage(format!("--key-manifest: {e}")));
            }
        }
        return Ok(None);
    };
    let url = url.map_err(|e| Error::Usage(format!("-o: {e}")))?;
    let run_id = crate::package::publish::new_run_id();
    let local_root =
        std::env::temp_dir().join(format!("vodpack-publish-{}-{}", std::process::id(), run_id));
    let name = url.name().to_string();
    let mut key_manifest = None;
    match job
        .key_manifest
        .as_ref()
        .map(|k| k.to_string_lossy().into_owned())
    {
        Some(k) => {
            if let Some(km) = ObjectUrl::parse(&k) {
                let km = km.map_err(|e| Error::Usage(format!("--key-manifest: {e}")))?;
                if km.same_bucket(&url) {
                    return Err(Error::Usage(format!(
                        "--key-manifest '{km}' is in the bucket of the output '{url}', which gets published; keys are never published: give a local path or an object URL in another bucket"
                    )));
                }
                key_manifest = Some(km);
                job.key_manifest = Some(local_root.join(format!("{name}.keys.json")));
            }
        }
        None if job.protection.is_some() => {
            return Err(Error::Usage(format!(
                "output '{url}' is in object storage and the output is encrypted: give --key-manifest (a local path, or an object URL in another bucket); vodpack does not put keys beside a published output"
            )));
        }
        // Clear output and no key manifest asked for: the run's (key-less) manifest is not kept.
        None => job.key_manifest = Some(local_root.join(format!("{name}.keys.json"))),
    }
    if let Some(base) = job.base_url.as_mut() {
        // Absolute media URIs must name this run's objects.
        if !base.ends_with('/') {
            base.push('/');
        }
        base.push_str(&format!("{}/{run_id}/", crate::package::publish::RUNS));
    }
    job.out = local_root.join(&name);
    Ok(Some(RemoteOut {
        url,
        key_manifest,
        run_id,
        local_root,
        prune_after: job.prune_after,
    }))
}

/// `--manifests`: `hls`, `dash` or `hls,dash` (both by default).
fn manifest_selection(m: Option<&str>) -> Result<ManifestSelection> {
    let Some(m) = m else {
        return Ok(ManifestSelection {
            hls: true,
            dash: true,
        });
    };
    let mut sel = ManifestSelection {
        hls: false,
        dash: false,
    };
    for part in m.split(',').map(str::trim) {
        match part {
            "hls" => sel.hls = true,
            "dash" => sel.dash = true,
            _ => {
                return Err(Error::Usage(format!(
                    "--manifests '{m}': expected hls, dash or hls,dash"
                )))
            }
        }
    }
    Ok(sel)
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
    // `from_job` has already resolved `.`/`..` (output_folder), so OUT has a name here.
    let name = job
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(sanitize_asset_id(&name))
}

/// An id from any folder name: letters and digits kept, runs of anything else become one `_`,
/// cut to 128 characters (`MAX_ASSET_ID`); `asset` when nothing is left.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_file_is_checked_once_and_typed() {
        let job: PackageJob = toml::from_str(
            "out = \"o\"\nsegment_duration = 2\nprotection = \"dash=cenc,hls=cbcs\"\n[[inputs]]\nin = \"a.mp4\"\nlang = \"en\"\n",
        )
        .unwrap();
        let args = PackageArgs::from_job(&job).unwrap();
        let p = args.protection.as_ref().unwrap();
        assert_eq!(
            p.schemes,
            Schemes::Pair {
                dash: Scheme::Cenc,
                hls: Scheme::Cbcs
            }
        );
        assert_eq!(p.drm, vec![DrmSystem::ClearKey]);
        assert_eq!(args.asset_id, "o");
        assert_eq!(args.key_manifest, PathBuf::from("o.keys.json"));
        let bad = PackageJob {
            segment_duration: 7.0,
            ..job.clone()
        };
        assert!(PackageArgs::from_job(&bad)
            .unwrap_err()
            .to_string()
            .contains("2 to 6 seconds"));
    }

    #[test]
    fn scheme_pairs() {
        assert_eq!(
            Schemes::parse("hls=cbcs,dash=cenc").unwrap().main(),
            Scheme::Cenc
        );
        for bad in [
            "dash=cenc,hls=cenc",
            "dash=cenc",
            "dash=cens,hls=cbcs",
            "cbc1",
            "x=cenc",
        ] {
            assert!(Schemes::parse(bad).is_err(), "{bad}");
        }
    }
}
