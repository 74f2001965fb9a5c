//! `vodpack package`: its flags, laid over a job file into a [`PackageJob`], and the run with
//! its progress display, warnings and summary.
use crate::progress::Bars;
use crate::signals::stop_on_signals;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use vodpack::package::{package, InputSpec, PackageJob};
use vodpack::Error;

#[derive(Args)]
pub struct PackageArgs {
    /// Inputs: `path[#video|#audio|#ID]` or `in=path[#sel],lang=fr,name=Français,role=main,id=RID`.
    inputs: Vec<String>,
    /// Output folder (replaced atomically at the end of a successful run).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Job file (TOML or JSON) with the same fields; flags given too override it.
    #[arg(long)]
    job: Option<PathBuf>,
    /// Target segment duration in seconds (2–6).
    #[arg(long)]
    segment_duration: Option<f64>,
    /// One file per rendition with a sidx (DASH SegmentBase, HLS byte ranges).
    #[arg(long)]
    single_file: bool,
    /// When keyframes differ between video renditions, cut only where all share one.
    #[arg(long)]
    cut_at_common_keyframes: bool,
    /// Asset id written in the key manifest (default: the output folder name).
    #[arg(long)]
    asset_id: Option<String>,
    /// Encrypt with Common Encryption: cenc (AES-CTR) or cbcs (AES-CBC 1:9), or both in one run:
    /// `dash=cenc,hls=cbcs` (two segment sets, the MPD on the first, the playlists on the second).
    #[arg(long, value_parser = ProtectionValues)]
    protection: Option<String>,
    /// Raw key `label=VIDEO,kid=HEX,key=HEX` (repeatable).
    #[arg(long = "key")]
    keys: Vec<String>,
    /// JSON key file (docs/keys.md).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Key labels per rendition: `per-class` (AUDIO, SD, HD; default) or `single` (ALL).
    #[arg(long)]
    key_policy: Option<String>,
    /// Fixed IV (hex) for byte-reproducible output (tests only).
    #[arg(long)]
    iv: Option<String>,
    /// Per-sample IV size for cenc: 8 or 16 bytes.
    #[arg(long)]
    iv_size: Option<u8>,
    /// Seconds at the start left unencrypted (still signalled).
    #[arg(long)]
    clear_lead: Option<f64>,
    /// DRM systems to signal: clearkey,widevine,playready,fairplay.
    #[arg(long, value_delimiter = ',')]
    drm: Vec<String>,
    /// Clear Key licence URL to put in the MPD.
    #[arg(long)]
    clearkey_license_url: Option<String>,
    /// PlayReady licence URL for the PRO header.
    #[arg(long)]
    playready_license_url: Option<String>,
    /// Write key references (KID + label) without key bytes in the key manifest.
    #[arg(long)]
    key_references: bool,
    /// Key manifest path (default `<OUT>.keys.json`, beside OUT; never inside OUT).
    #[arg(long)]
    key_manifest: Option<PathBuf>,
    #[command(flatten)]
    cpix: vodpack::package::job::CpixFlags,
    /// Key of an encrypted input `kid=HEX,key=HEX` (repeatable): it is decrypted first.
    #[arg(long = "decryption-key")]
    decryption_keys: Vec<String>,
    /// JSON key file (docs/keys.md) with the keys of encrypted inputs.
    #[arg(long)]
    decryption_key_file: Option<PathBuf>,
    /// Replace an OUT or key manifest that holds files vodpack did not write (inputs are never
    /// replaced).
    #[arg(long)]
    force: bool,
    /// Manifests to write: hls, dash or hls,dash (default both).
    #[arg(long)]
    manifests: Option<String>,
    /// File name of the HLS multivariant playlist (default master.m3u8).
    #[arg(long)]
    hls_master: Option<String>,
    /// File name of the MPD (default manifest.mpd).
    #[arg(long)]
    mpd: Option<String>,
    /// Segment names relative to OUT: $RepresentationID$, $Number$, $Number%0Nd$, $Time$.
    #[arg(long)]
    segment_template: Option<String>,
    /// HLS segments: cmaf (default, shared with DASH) or ts (MPEG-TS, HLS only).
    #[arg(long)]
    hls_segments: Option<String>,
    /// Key URI of an encrypted TS set, with {kid} or {label} (default /v1/licence/key/{kid}).
    #[arg(long)]
    hls_key_uri: Option<String>,
    /// With --hls-segments ts: audio-only renditions as packed audio (.aac/.ac3/.ec3).
    #[arg(long)]
    hls_packed_audio: bool,
    /// Absolute URL the output is served from (DASH BaseURL, absolute HLS media URIs).
    #[arg(long)]
    base_url: Option<String>,
    /// Verify the output (with the run's keys and inputs) before committing it.
    #[arg(long)]
    verify: bool,
    /// Object-store OUT: remove runs replaced more than SECONDS ago (docs/object-storage.md).
    #[arg(long, value_name = "SECONDS")]
    prune_after: Option<u64>,
    /// No progress bar and no summary (warnings are still printed on stderr).
    #[arg(short, long)]
    quiet: bool,
    /// Print a JSON summary on stdout (implies --quiet).
    #[arg(long)]
    json: bool,
}

fn build_job(a: &PackageArgs) -> Result<PackageJob, Error> {
    let mut job = match &a.job {
        Some(p) => PackageJob::from_file(p)?,
        None => PackageJob {
            out: a
                .out
                .clone()
                .ok_or_else(|| Error::Usage("--out is required (or give a --job file)".into()))?,
            ..Default::default()
        },
    };
    // Inputs on the command line replace the job file's.
    if !a.inputs.is_empty() {
        job.inputs.clear();
    }
    for (flag, value) in [
        (&mut job.manifests, &a.manifests),
        (&mut job.hls_master, &a.hls_master),
        (&mut job.mpd, &a.mpd),
        (&mut job.segment_template, &a.segment_template),
        (&mut job.base_url, &a.base_url),
        (&mut job.hls_segments, &a.hls_segments),
        (&mut job.hls_key_uri, &a.hls_key_uri),
    ] {
        if value.is_some() {
            *flag = value.clone();
        }
    }
    job.verify |= a.verify;
    job.hls_packed_audio |= a.hls_packed_audio;
    if a.prune_after.is_some() {
        job.prune_after = a.prune_after;
    }
    job.decryption_keys
        .extend(a.decryption_keys.iter().cloned());
    if a.decryption_key_file.is_some() {
        job.decryption_key_file = a.decryption_key_file.clone();
    }
    for i in &a.inputs {
        job.inputs.push(InputSpec::parse(i)?);
    }
    if let Some(o) = &a.out {
        job.out = o.clone();
    }
    if let Some(d) = a.segment_duration {
        job.segment_duration = d;
    }
    job.single_file |= a.single_file;
    job.force |= a.force;
    job.cut_at_common_keyframes |= a.cut_at_common_keyframes;
    if a.asset_id.is_some() {
        job.asset_id = a.asset_id.clone();
    }
    if a.key_manifest.is_some() {
        job.key_manifest = a.key_manifest.clone();
    }
    if let Some(scheme) = &a.protection {
        let mut p = job.protection.take().unwrap_or_default();
        p.scheme = scheme.clone();
        job.protection = Some(p);
    }
    let wants_protection_flags = !a.keys.is_empty()
        || a.key_file.is_some()
        || a.iv.is_some()
        || a.iv_size.is_some()
        || a.key_policy.is_some()
        || a.key_references
        || a.clearkey_license_url.is_some()
        || a.playready_license_url.is_some()
        || a.clear_lead.is_some()
        || !a.drm.is_empty()
        || a.cpix.any();
    match job.protection.as_mut() {
        Some(p) => {
            p.keys.extend(a.keys.iter().cloned());
            p.key_file = a.key_file.clone().or(p.key_file.take());
            p.key_policy = a.key_policy.clone().or(p.key_policy.take());
            p.iv = a.iv.clone().or(p.iv.take());
            p.iv_size = a.iv_size.or(p.iv_size);
            if let Some(c) = a.clear_lead {
                p.clear_lead = c;
            }
            if !a.drm.is_empty() {
                p.drm = a.drm.clone();
            }
            p.clearkey_license_url = a
                .clearkey_license_url
                .clone()
                .or(p.clearkey_license_url.take());
            p.playready_license_url = a
                .playready_license_url
                .clone()
                .or(p.playready_license_url.take());
            p.key_references |= a.key_references;
            a.cpix.apply(p);
        }
        None if wants_protection_flags => {
            return Err(Error::Usage(
                "key, IV, clear-lead, DRM and licence options need --protection cenc|cbcs|dash=cenc,hls=cbcs".into(),
            ))
        }
        None => {}
    }
    Ok(job)
}

/// Runs `vodpack package`.
pub fn run(a: &PackageArgs) -> Result<(), Error> {
    let job = build_job(a)?;
    let quiet = a.quiet || a.json || !std::io::stderr().is_terminal();
    stop_on_signals();
    let summary = package(&job, &Bars::new(quiet))?;
    // Warnings are printed even with --quiet and --json (docs/usage.md).
    for w in &summary.warnings {
        eprintln!("vodpack: warning: {w}");
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summary serializes")
        );
    } else if !a.quiet {
        let n = summary.renditions.len();
        eprintln!(
            "packaged {n} rendition{} into {} ({} and {}); key manifest: {}",
            if n == 1 { "" } else { "s" },
            summary.out.display(),
            summary.hls,
            summary.dash,
            summary.key_manifest.display()
        );
    }
    Ok(())
}

/// `--protection` values: any string (checked, with a precise message, by `PackageArgs::from_job`),
/// with the common ones offered to shell completion and help.
#[derive(Clone)]
struct ProtectionValues;

impl clap::builder::TypedValueParser for ProtectionValues {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            ["cenc", "cbcs", "dash=cenc,hls=cbcs", "dash=cbcs,hls=cenc"]
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}
