//! The command line as a user meets it: completions that a shell loads, a man page that renders,
//! usage errors that do not mislead, `--quiet` that silences progress and the summary but not
//! warnings, and a progress display that names the rendition on a terminal and stays off
//! elsewhere.

use crate::common::*;
use std::process::{Command, Stdio};

fn stdout_of(args: &[&str]) -> String {
    String::from_utf8(run_ok(vodpack().args(args)).stdout).unwrap()
}

#[test]
fn bash_completion_loads_and_completes_subcommands_and_flags() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vodpack.bash");
    std::fs::write(&file, &script).unwrap();
    // Load the script in a clean bash and ask it to complete, as the shell would on <Tab>.
    let probe = format!(
        r#"set -e
source '{}'
complete -p vodpack
complete_words() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); _vodpack vodpack "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; printf '%s\n' "${{COMPREPLY[@]}}"; }}
echo "== sub"; complete_words vodpack pa
echo "== flags"; complete_words vodpack package --prot
echo "== values"; complete_words vodpack package --protection ''
"#,
        file.display()
    );
    let out = run_ok(Command::new("bash").args(["--norc", "--noprofile", "-c", &probe]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-F _vodpack vodpack"), "{text}");
    let section = |name: &str| -> Vec<String> {
        text.split(&format!("== {name}\n"))
            .nth(1)
            .unwrap()
            .lines()
            .take_while(|l| !l.starts_with("=="))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(section("sub"), vec!["package"], "{text}");
    assert_eq!(section("flags"), vec!["--protection"], "{text}");
    let values = section("values");
    assert!(
        values.contains(&"cenc".to_string()) && values.contains(&"cbcs".to_string()),
        "{text}"
    );
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for sub in ["package", "inspect", "serve", "completions", "man"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    assert!(stdout_of(&["completions", "zsh"]).starts_with("#compdef vodpack"));
    let o = vodpack().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn man_page_renders() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH vodpack 1"), "{page}");
    let package = stdout_of(&["man", "package"]);
    assert!(package.contains(".TH vodpack-package 1"), "{package}");
    assert!(package.contains("\\-\\-segment\\-duration"), "{package}");
    // groff renders the pages without a warning (-k: UTF-8 input through preconv, as man does).
    let dir = tempfile::tempdir().unwrap();
    run_ok(vodpack().args(["man", "--out-dir"]).arg(dir.path()));
    for name in [
        "vodpack.1",
        "vodpack-package.1",
        "vodpack-inspect.1",
        "vodpack-serve.1",
    ] {
        let file = dir.path().join(name);
        assert!(file.is_file(), "man --out-dir did not write {name}");
        let groff = system_tool("groff", "apt-get install groff-base");
        let out = run_ok(
            Command::new(groff)
                .args(["-k", "-ww", "-man", "-Tutf8", "-P-cbou"])
                .arg(&file)
                .env("LC_ALL", "C.UTF-8"),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "groff warns on {name}: {stderr}");
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{name}:\n{text}"
        );
        if name == "vodpack-package.1" {
            assert!(text.contains("--protection"), "{text}");
        }
    }
}

#[test]
fn a_typo_suggests_only_a_near_flag_and_the_usage_line_adds_none() {
    // `--hls-only` is not a typo of anything: no tip, and the usage line is the plain one.
    let o = vodpack()
        .args(["package", "--hls-only", "-o", "x", "in.mp4"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unexpected argument '--hls-only'"), "{err}");
    assert!(!err.contains("tip:"), "{err}");
    assert!(!err.contains("--json"), "{err}");
    assert!(
        err.contains("Usage: vodpack package [OPTIONS] [INPUTS]..."),
        "{err}"
    );
    // `--jsn` is: the tip names --json, the usage line still does not pretend it was given.
    let o = vodpack()
        .args(["package", "--jsn", "-o", "x", "in.mp4"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tip: a similar argument exists: '--json'"),
        "{err}"
    );
    let usage = err.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert_eq!(
        usage, "Usage: vodpack package [OPTIONS] [INPUTS]...",
        "{err}"
    );
    // Other usage errors keep clap's wording and exit code.
    let o = vodpack()
        .args(["inspect", "--all", "--oops"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Usage: vodpack inspect"));
}

#[test]
fn quiet_hides_progress_and_summary_and_no_terminal_means_no_bar() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("h264_240p.mp4");
    // stderr is a pipe: no progress display, only the summary line.
    let o = run_ok(
        vodpack()
            .args(["package", "-o"])
            .arg(dir.path().join("a"))
            .arg(&input),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("packaged "), "{err}");
    assert!(!err.contains("samples") && !err.contains('\r'), "{err}");
    // --quiet: nothing at all on a clean run.
    let o = run_ok(
        vodpack()
            .args(["package", "--quiet", "-o"])
            .arg(dir.path().join("b"))
            .arg(&input),
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn on_a_terminal_the_progress_names_each_rendition_with_bytes_per_second() {
    // util-linux `script` gives vodpack a pseudo-terminal for stderr.
    let script = system_tool("script", "apt-get install bsdutils");
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "'{}' package -o '{}' '{}' '{}'",
        env!("CARGO_BIN_EXE_vodpack"),
        dir.path().join("out").display(),
        fixture("h264_720p.mp4").display(),
        fixture("aac_en.mp4").display()
    );
    let o = run_ok(
        Command::new(script)
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null()),
    );
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "video_720p",
        "audio_en",
        "B/s",
        "ETA",
        "samples",
        "packaged 2 renditions",
    ] {
        assert!(text.contains(needle), "no {needle} in:\n{text}");
    }
}
