//! The `vodpack` command line: its subcommands, and which file runs each.
use crate::completions::{self, CompletionsArgs, ManArgs};
use crate::inspect::{self, InspectArgs};
use crate::package::{self, PackageArgs};
use crate::serve::{self, ServeArgs};
use crate::token::TokenCommand;
use crate::verify::{self, VerifyArgs};
use clap::{Parser, Subcommand};
use vodpack::Error;

#[derive(Parser)]
#[command(
    name = "vodpack",
    version,
    about = "CMAF packager: fMP4/MP4 renditions in, HLS + DASH out, optionally encrypted"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Package renditions into CMAF segments with HLS and DASH manifests.
    Package(Box<PackageArgs>),
    /// Show what an MP4 file or segment holds: boxes, tracks, protection, fragments.
    ///
    /// Per track: codec, profile and level, picture format, colour and HDR signalling, frame
    /// rate, protection (scheme, KID, pattern, IVs) and sample statistics; then pssh boxes and
    /// movie fragments. Reads complete files, init segments and media segments (`--init`).
    Inspect(InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, or write every page into a folder.
    Man(ManArgs),
    /// Check a packaged output: files, byte ranges, timing, codecs and encryption; with keys every
    /// sample is decrypted, with sources every sample is compared (docs/verify.md).
    Verify(VerifyArgs),
    /// Serve a packaged output locally: playback API, Clear Key licences, telemetry, token-checking origin.
    Serve(ServeArgs),
    /// CDN-native signed URLs, tokens and cookies (Akamai, CloudFront, Media CDN): sign or verify.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// Runs a parsed command other than `token` (whose exit codes are its own, see main).
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Package(a) => package::run(&a),
        Command::Inspect(a) => inspect::run(a),
        Command::Serve(a) => serve::run(a),
        // Handled in main: its exit codes are 0, 1 (refused) and 2 (usage).
        Command::Token(_) => Ok(()),
        Command::Completions(a) => {
            completions::run_completions::<Cli>(&a);
            Ok(())
        }
        Command::Man(a) => completions::run_man::<Cli>(&a),
        Command::Verify(a) => verify::run(a),
    }
}
