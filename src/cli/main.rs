//! The `vodpack` command: parses flags, runs the library, maps errors to exit codes
//! (docs/exit-codes.md). One file per subcommand beside this one; nothing else lives here.
mod allocator;
mod command;
mod completions;
mod exit_code;
mod flag_typos;
mod inspect;
mod package;
mod progress;
mod serve;
mod signals;
mod token;
mod verify;

use command::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    allocator::tune();
    let cli = flag_typos::parse::<Cli>();
    if let Command::Token(t) = &cli.command {
        return token::run(t);
    }
    match command::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vodpack: error: {e}");
            ExitCode::from(exit_code::exit_code(e.kind()))
        }
    }
}
