//! `vodpack inspect`: what an MP4 file or segment holds, as text or JSON.
use clap::Args;
use std::path::PathBuf;
use vodpack::Error;

#[derive(Args)]
pub struct InspectArgs {
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
}

/// Runs `vodpack inspect`.
pub fn run(a: InspectArgs) -> Result<(), Error> {
    let opts = vodpack::inspect::InspectOptions {
        init: a.init.as_deref(),
        all: a.all,
    };
    let report = vodpack::inspect::inspect(&a.file, &opts)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serializes")
        );
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
