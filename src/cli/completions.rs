//! `vodpack completions` and `vodpack man`: shell completion scripts and man pages generated from
//! the clap definitions (docs/usage.md).
use clap::{Args, CommandFactory};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// A subcommand's page (`vodpack man package`) instead of vodpack(1).
    command: Option<String>,
    /// Write vodpack.1, vodpack-package.1, ... into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    out_dir: Option<PathBuf>,
}

/// Runs `vodpack completions` for the command `T`.
pub fn run_completions<T: CommandFactory>(a: &CompletionsArgs) {
    completions::<T>(a.shell);
}

/// Runs `vodpack man` for the command `T`.
pub fn run_man<T: CommandFactory>(a: &ManArgs) -> Result<(), vodpack::Error> {
    man::<T>(a.command.as_deref(), a.out_dir.as_deref())
}

/// Writes the completion script for `shell` on stdout.
fn completions<T: CommandFactory>(shell: clap_complete::Shell) {
    let mut cmd = T::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
}

/// Writes the man page of the command (or of one subcommand) on stdout, or every page
/// (`vodpack.1`, `vodpack-package.1`, ...) into `dir`.
fn man<T: CommandFactory>(
    subcommand: Option<&str>,
    dir: Option<&Path>,
) -> Result<(), vodpack::Error> {
    let mut cmd = T::command();
    cmd.build();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| vodpack::Error::io(dir, e))?;
        return clap_mangen::generate_to(cmd, dir).map_err(|e| vodpack::Error::io(dir, e));
    }
    let page = match subcommand {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| vodpack::Error::Usage(format!("man: no subcommand '{name}'")))?,
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(stdout_error)?;
    std::io::stdout().write_all(&out).map_err(stdout_error)
}

/// A failed write of the man page to standard output (an I/O error, exit 7).
fn stdout_error(e: std::io::Error) -> vodpack::Error {
    vodpack::Error::layer(
        vodpack::ErrorKind::Io,
        None,
        format!("writing the man page to standard output: {e}"),
    )
}
