//! Usage errors that do not mislead (docs/usage.md): an unknown flag gets a suggestion only when
//! it is a likely typo of a real one.
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

/// Parses the command line like `T::parse()`, except for an unknown flag: clap would suggest the
/// closest flag however far it is (`--hls-only` → `--json`) and print a usage line that includes
/// the suggestion as if it had been given (`Usage: vodpack package --json [INPUTS]...`). Here a
/// suggestion is kept only when it is a likely typo (a small edit distance), and the usage line is
/// the subcommand's plain one.
pub fn parse<T: Parser>() -> T {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match T::try_parse_from(&args) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::UnknownArgument => unknown_argument::<T>(&e, &args).exit(),
        Err(e) => e.exit(),
    }
}

fn unknown_argument<T: CommandFactory>(
    e: &clap::Error,
    args: &[std::ffi::OsString],
) -> clap::Error {
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let Some(invalid) = text(ContextKind::InvalidArg) else {
        return clap::Error::raw(ErrorKind::UnknownArgument, e.to_string());
    };
    let suggestion = text(ContextKind::SuggestedArg).filter(|s| likely_typo(&invalid, s));
    let mut message = format!("unexpected argument '{invalid}' found");
    if let Some(s) = suggestion {
        message.push_str(&format!("\n\n  tip: a similar argument exists: '{s}'"));
    }
    let mut cmd = T::command();
    cmd.build();
    // The subcommand the flag was given to: the first argument naming one.
    let sub = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| cmd.find_subcommand(a).is_some())
        .map(str::to_owned);
    match sub.and_then(|name| cmd.find_subcommand_mut(name)) {
        Some(sub) => clap::Error::raw(ErrorKind::UnknownArgument, message).format(sub),
        None => clap::Error::raw(ErrorKind::UnknownArgument, message).format(&mut cmd),
    }
}

/// A suggestion is worth making when few edits turn what was typed into it: at most 2, and at
/// most a third of the longer name (`--jsn` → `--json`, `--outt` → `--out`, not `--hls-only` →
/// `--json`).
pub fn likely_typo(typed: &str, suggested: &str) -> bool {
    let a = typed.trim_start_matches('-');
    let b = suggested.trim_start_matches('-');
    let d = edit_distance(a, b);
    d <= 2 && d * 3 <= a.chars().count().max(b.chars().count())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_near_and_other_flags_are_not() {
        assert!(likely_typo("--jsn", "--json"));
        assert!(likely_typo("--outt", "--out"));
        assert!(likely_typo("--segment-duraton", "--segment-duration"));
        assert!(likely_typo("--keyfile", "--key-file"));
        assert!(!likely_typo("--hls-only", "--json"));
        assert!(!likely_typo("--x", "--iv"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
