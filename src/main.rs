//! The `vodpack` command: parses flags, runs the library, maps errors to exit codes
//! (docs/exit-codes.md). Nothing else lives here.
mod cli_polish;
mod progress_bar;

use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use vodpack::package::{package, InputSpec, PackageJob};
use vodpack::{Error, ErrorKind};

mod token_cli;

#[derive(Parser)]
#[command(
    name = "vodpack",
    version,
    about = "CMAF packager: fMP4/MP4 renditions in, HLS + DASH out, optionally encrypted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Package renditions into CMAF segments with HLS and DASH manifests.
    Package(Box<PackageArgs>),
    /// Show what an MP4 file or segment holds: boxes, tracks, protection, fragments.
    ///
    /// Per track: codec, profile and level, picture format, colour and HDR signalling, frame
    /// rate, protection (scheme, KID, pattern, IVs) and sample statistics; then pssh boxes and
    /// movie fragments. Reads complete files, init segments and media segments (`--init`).
    Inspect {
        file: PathBuf,
        /// The init segment of FILE, when FILE is a media segment (`.m4s` without a moov).
        #[arg(long, value_name = "INIT")]
        init: Option<PathBuf>,
        /// List every fragment and top-level box (default: the first 10 fragments, 24 boxes).
        #[arg(long)]
        all: bool,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write every page into a folder.
    Man {
        /// A subcommand's page (`vodpack man package`) instead of vodpack(1).
        command: Option<String>,
        /// Write vodpack.1, vodpack-package.1, ... into DIR instead.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        out_dir: Option<PathBuf>,
    },
    /// Check a packaged output: files, byte ranges, timing, codecs and encryption; with keys every
    /// sample is decrypted, with sources every sample is compared (docs/verify.md).
    Verify(VerifyArgs),
    /// Serve a packaged output locally: playback API, Clear Key licences, telemetry, token-checking origin.
    Serve(ServeArgs),
    /// CDN-native signed URLs, tokens and cookies (Akamai, CloudFront, Media CDN): sign or verify.
    #[command(subcommand)]
    Token(token_cli::TokenCommand),
}

#[derive(Args)]
struct PackageArgs {
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
    /// Absolute URL the output is served from (DASH BaseURL, absolute HLS media URIs).
    #[arg(long)]
    base_url: Option<String>,
    /// Verify the output (with the run's keys and inputs) before committing it.
    #[arg(long)]
    verify: bool,
    /// No progress bar and no summary (warnings are still printed on stderr).
    #[arg(short, long)]
    quiet: bool,
    /// Print a JSON summary on stdout (implies --quiet).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// A packaged output folder.
    out: PathBuf,
    /// Raw key `kid=HEX,key=HEX` (repeatable).
    #[arg(long = "key")]
    keys: Vec<String>,
    /// JSON key file (docs/keys.md).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Key manifest (default: `<OUT>.keys.json` when it exists and no key is given).
    #[arg(long)]
    key_manifest: Option<PathBuf>,
    /// The inputs given to `vodpack package`, in the same order: every sample is compared.
    #[arg(long, num_args = 1..)]
    sources: Vec<String>,
    /// Key of an encrypted source `kid=HEX,key=HEX` (repeatable).
    #[arg(long = "decryption-key")]
    decryption_keys: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// A packaged output folder.
    dir: PathBuf,
    /// Policy file (TOML or JSON); reloaded when it changes.
    #[arg(long)]
    policy: Option<PathBuf>,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// A folder of player scripts (e.g. a Shaka Player `dist/`) the page loads instead of the
    /// embedded builds of the same name.
    #[arg(long)]
    player_dist: Option<PathBuf>,
    /// Sign and verify in a CDN's native format (docs/cdn/); `vodpack`: vodpack's own tokens.
    #[arg(long, value_parser = ["akamai", "cloudfront", "mediacdn", "vodpack"], default_value = "vodpack")]
    cdn: String,
    /// The CDN key material (TOML; docs/cdn/), required with --cdn akamai|cloudfront|mediacdn.
    #[arg(long)]
    cdn_config: Option<PathBuf>,
    /// The key manifest (default: beside the folder, `<DIR>.keys.json`); never served.
    #[arg(long)]
    key_manifest: Option<PathBuf>,
    /// An origin (`https://app.example.com`) whose pages may call the playback API and the
    /// licence endpoint across origins; repeatable; none by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// A host name (`host` or `host:port`) to answer to besides the server's own address, e.g.
    /// the name a proxy forwards; repeatable; other `Host` headers are refused.
    #[arg(long = "public-host", value_name = "HOST")]
    public_hosts: Vec<String>,
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
    ] {
        if value.is_some() {
            *flag = value.clone();
        }
    }
    job.verify |= a.verify;
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
        || !a.drm.is_empty();
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

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Package(a) => {
            let job = build_job(&a)?;
            let quiet = a.quiet || a.json || !std::io::stderr().is_terminal();
            stop_on_signals();
            let summary = package(&job, &progress_bar::Bars::new(quiet))?;
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
        Command::Inspect {
            file,
            init,
            all,
            json,
        } => {
            let opts = vodpack::inspect::InspectOptions {
                init: init.as_deref(),
                all,
            };
            let report = vodpack::inspect::inspect(&file, &opts)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serializes")
                );
            } else {
                print!("{}", report.text());
            }
            Ok(())
        }
        Command::Serve(a) => serve(a),
        // Handled in main: its exit codes are 0, 1 (refused) and 2 (usage).
        Command::Token(_) => Ok(()),
        Command::Completions { shell } => {
            cli_polish::completions::<Cli>(shell);
            Ok(())
        }
        Command::Man { command, out_dir } => {
            cli_polish::man::<Cli>(command.as_deref(), out_dir.as_deref())
        }
        Command::Verify(a) => {
            let req = vodpack::verify::VerifyRequest {
                keys: a.keys,
                key_file: a.key_file,
                key_manifest: a.key_manifest,
                decryption_keys: a.decryption_keys,
                sources: a
                    .sources
                    .iter()
                    .map(|s| InputSpec::parse(s))
                    .collect::<Result<_, _>>()?,
            };
            let report = vodpack::verify::verify_request(&a.out, &req)?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serializes")
                );
            } else {
                print!("{}", report.text());
            }
            if report.ok {
                Ok(())
            } else {
                Err(Error::Verification(format!(
                    "{}: {} errors",
                    a.out.display(),
                    report.errors.len()
                )))
            }
        }
    }
}

/// SIGINT/SIGTERM ask the run to stop (it removes its staging folder and exits 130/143); a
/// second signal ends the process at once.
fn stop_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let flag = vodpack::cancel::flag();
    let again = Arc::new(AtomicBool::new(false));
    for (sig, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // Registered first so that it sees `again` as set only from the second signal on.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, code, again.clone());
        let _ = signal_hook::flag::register(sig, again.clone());
        let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
    }
}

fn serve(a: ServeArgs) -> Result<(), Error> {
    use vodpack_control::serve::{run, ServeConfig};
    let mut cfg = ServeConfig::new(a.dir.clone());
    if let Some(km) = a.key_manifest {
        cfg.key_manifest = km;
    }
    if !cfg.key_manifest.is_file() {
        return Err(Error::Usage(format!(
            "{}: no key manifest at {}; serve a folder written by `vodpack package` \
             (or give --key-manifest)",
            a.dir.display(),
            cfg.key_manifest.display()
        )));
    }
    cfg.allow_origins = a.allow_origins;
    cfg.public_hosts = a.public_hosts;
    cfg.port = a.port;
    cfg.policy_path = a.policy;
    cfg.player_dist_dir = a.player_dist;
    if let Some(mode) = vodpack_control::cdn::playback::CdnMode::parse(&a.cdn) {
        let path = a
            .cdn_config
            .as_ref()
            .ok_or_else(|| Error::Usage(format!("--cdn {} needs --cdn-config FILE", a.cdn)))?;
        let edge = vodpack_control::cdn::playback::CdnEdge::load(mode, path)
            .map_err(|e| Error::Usage(format!("--cdn-config: {e}")))?;
        cfg.cdn = Some(std::sync::Arc::new(edge));
    } else if a.cdn_config.is_some() {
        return Err(Error::Usage(
            "--cdn-config needs --cdn akamai|cloudfront|mediacdn".into(),
        ));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::io(&a.dir, e))?;
    runtime.block_on(run(cfg)).map_err(Error::from)
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

/// The process exit code of a failure (docs/exit-codes.md): the only place that knows the
/// numbers. 0 is success; a panic (101) is a bug.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Verification => 1,
        ErrorKind::Usage => 2,
        ErrorKind::InvalidInput => 3,
        ErrorKind::Unsupported => 4,
        ErrorKind::Alignment => 5,
        ErrorKind::Key => 6,
        ErrorKind::Io => 7,
        // 128 + the signal (130 SIGINT, 143 SIGTERM); a signal number past 127 cannot occur.
        ErrorKind::Interrupted { signal } => {
            u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX)
        }
    }
}

fn main() -> ExitCode {
    let cli = cli_polish::parse::<Cli>();
    if let Command::Token(t) = &cli.command {
        return token_cli::run(t);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vodpack: error: {e}");
            ExitCode::from(exit_code(e.kind()))
        }
    }
}
