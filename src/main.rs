//! The `vodpack` command: parses flags, runs the library, maps errors to exit codes
//! (docs/exit-codes.md). Nothing else lives here.
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use vodpack::package::{package, InputSpec, PackageJob};
use vodpack::Error;

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
    /// Print the box tree and a track summary of an MP4 file.
    Inspect {
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
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
    /// Encrypt with Common Encryption: cenc (AES-CTR) or cbcs (AES-CBC 1:9).
    #[arg(long, value_parser = ["cenc", "cbcs"])]
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
    /// Key manifest path (default OUT/key-manifest.json).
    #[arg(long)]
    key_manifest: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Print a JSON summary on stdout (implies --quiet).
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
    /// Folder holding Shaka Player's `dist/` files for the player page.
    #[arg(long)]
    player_dist: Option<PathBuf>,
    /// Sign and verify in a CDN's native format (docs/cdn/); `vodpack`: vodpack's own tokens.
    #[arg(long, value_parser = ["akamai", "cloudfront", "mediacdn", "vodpack"], default_value = "vodpack")]
    cdn: String,
    /// The CDN key material (TOML; docs/cdn/), required with --cdn akamai|cloudfront|mediacdn.
    #[arg(long)]
    cdn_config: Option<PathBuf>,
}

fn build_job(a: &PackageArgs) -> Result<PackageJob, Error> {
    let mut job = match &a.job {
        Some(p) => PackageJob::from_file(p)?,
        None => PackageJob {
            inputs: Vec::new(),
            out: a
                .out
                .clone()
                .ok_or_else(|| Error::Usage("--out is required (or give a --job file)".into()))?,
            segment_duration: 4.0,
            single_file: false,
            cut_at_common_keyframes: false,
            asset_id: None,
            protection: None,
            key_manifest: None,
        },
    };
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
                "key, IV, clear-lead, DRM and licence options need --protection cenc|cbcs".into(),
            ))
        }
        None => {}
    }
    Ok(job)
}

struct Bar(ProgressBar);

impl vodpack::package::run::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Package(a) => {
            let job = build_job(&a)?;
            let quiet = a.quiet || a.json || !std::io::stderr().is_terminal();
            let bar = ProgressBar::with_draw_target(
                None,
                if quiet {
                    ProgressDrawTarget::hidden()
                } else {
                    ProgressDrawTarget::stderr()
                },
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} packaging [{bar:40}] {pos}/{len} samples ({elapsed})",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            let summary = package(&job, &Bar(bar))?;
            if !a.quiet && !a.json {
                for w in &summary.warnings {
                    eprintln!("vodpack: warning: {w}");
                }
            }
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).expect("summary serializes")
                );
            } else if !a.quiet {
                eprintln!(
                    "packaged {} renditions into {} ({} and {})",
                    summary.renditions.len(),
                    summary.out.display(),
                    summary.hls,
                    summary.dash
                );
            }
            Ok(())
        }
        Command::Inspect { file, json } => {
            let report = vodpack::inspect::inspect(&file)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.tracks).expect("report serializes")
                );
            } else {
                print!("{}", report.text());
            }
            Ok(())
        }
        Command::Serve(a) => serve(a),
        // Handled in main: its exit codes are 0, 1 (refused) and 2 (usage).
        Command::Token(_) => Ok(()),
    }
}

fn serve(a: ServeArgs) -> Result<(), Error> {
    use vodpack_control::serve::{run, ServeConfig};
    if !a
        .dir
        .join(vodpack_control::serve::KEY_MANIFEST_FILE)
        .is_file()
    {
        return Err(Error::Usage(format!(
            "{}: no {} here; serve a folder written by `vodpack package`",
            a.dir.display(),
            vodpack_control::serve::KEY_MANIFEST_FILE
        )));
    }
    let mut cfg = ServeConfig::new(a.dir.clone());
    cfg.port = a.port;
    cfg.policy_path = a.policy;
    cfg.player_dist_dir = a.player_dist.or_else(|| {
        // The Shaka Player the test suite installs, when run from a checkout.
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/serve/node_modules/shaka-player/dist");
        p.is_dir().then_some(p)
    });
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
    runtime
        .block_on(run(cfg))
        .map_err(|e| Error::Usage(format!("serve: {e}")))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Token(t) = &cli.command {
        return token_cli::run(t);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vodpack: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
