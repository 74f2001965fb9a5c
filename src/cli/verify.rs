//! `vodpack verify`: checks a packaged output and prints the report (docs/verify.md); a report
//! with errors is a verification failure (exit 1).
use clap::Args;
use std::path::PathBuf;
use vodpack::package::InputSpec;
use vodpack::Error;

#[derive(Args)]
pub struct VerifyArgs {
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

/// Runs `vodpack verify`.
pub fn run(a: VerifyArgs) -> Result<(), Error> {
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
