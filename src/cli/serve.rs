//! `vodpack serve`: a packaged output served on loopback by the control crate's server
//! (playback API, Clear Key licences, telemetry, a token-checking origin).
use clap::Args;
use std::path::PathBuf;
use vodpack::Error;

#[derive(Args)]
pub struct ServeArgs {
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

/// Runs `vodpack serve` until the process is stopped.
pub fn run(a: ServeArgs) -> Result<(), Error> {
    use vodpack_control::serve::{run as serve_dir, ServeConfig};
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
    runtime.block_on(serve_dir(cfg)).map_err(Error::from)
}
