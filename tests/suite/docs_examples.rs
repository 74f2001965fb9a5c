//! The docs cannot lie: every fenced block marked ` ```sh test ` in README.md and docs/*.md is run
//! verbatim with bash (`set -euo pipefail`) in an empty folder that has `fixtures/` beside it,
//! `vodpack` on the PATH and HOME pointing inside it; the block must exit 0 and its `# stdout: TEXT`
//! / `# stderr: TEXT` lines must be found in what it printed. And every field that `--json` prints
//! is named in docs/usage.md.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

struct Block {
    file: String,
    line: usize,
    script: String,
}

/// The ` ```sh test ` blocks of a Markdown file.
fn test_blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim() == "```sh test" => {
                current = Some(Block {
                    file: path.display().to_string(),
                    line: i + 1,
                    script: String::new(),
                })
            }
            None => {}
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(b) => {
                b.script.push_str(line);
                b.script.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "{}: unclosed ```sh test block",
        path.display()
    );
    blocks
}

fn doc_files() -> Vec<std::path::PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn run_block(b: &Block) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join(".bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vodpack"), bin.join("vodpack")).unwrap();
    std::os::unix::fs::symlink(root().join("fixtures"), dir.path().join("fixtures")).unwrap();
    let home = dir.path().join(".home");
    std::fs::create_dir(&home).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!("set -euo pipefail\n{}", b.script))
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", &home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let whence = format!(
        "{}:{}:\n{}\n--- exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        b.file,
        b.line,
        b.script,
        out.status.code()
    );
    assert!(out.status.success(), "the example failed: {whence}");
    for line in b.script.lines() {
        let line = line.trim();
        if let Some(want) = line.strip_prefix("# stdout: ") {
            assert!(stdout.contains(want), "stdout lacks '{want}': {whence}");
        }
        if let Some(want) = line.strip_prefix("# stderr: ") {
            assert!(stderr.contains(want), "stderr lacks '{want}': {whence}");
        }
    }
}

#[test]
fn every_marked_example_in_the_docs_runs_as_written() {
    let blocks: Vec<Block> = doc_files().iter().flat_map(|f| test_blocks(f)).collect();
    // usage.md documents every exit code by example, and more.
    let usage = blocks
        .iter()
        .filter(|b| b.file.ends_with("usage.md"))
        .count();
    assert!(usage >= 9, "docs/usage.md has only {usage} tested examples");
    for b in &blocks {
        run_block(b);
    }
}

#[test]
fn every_exit_code_has_a_tested_example() {
    let text = std::fs::read_to_string(root().join("docs/usage.md")).unwrap();
    let blocks = test_blocks(&root().join("docs/usage.md"));
    for code in 2..=7 {
        assert!(
            text.contains(&format!("| {code} |")),
            "exit code {code} missing from the table"
        );
        assert!(
            blocks
                .iter()
                .any(|b| b.script.contains(&format!("# stdout: exit {code}\n"))),
            "no tested example exits {code}"
        );
    }
}

/// Every key of `v` (recursively, through arrays), as `name`.
fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_json_field_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/usage.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // An encrypted run with a warning-free ladder, and inspect of its init, a segment and a file,
    // so that the optional objects (protection, colour, brands, fragments) are present.
    let mut args = vec!["package".to_string(), "--json".into(), "-o".into()];
    args.push(out.display().to_string());
    args.extend(protection_args("cbcs"));
    args.push(fixture("h264_240p.mp4").display().to_string());
    args.push(fixture("aac_en.mp4").display().to_string());
    let summary = run_ok(vodpack().args(&args)).stdout;
    let mut fields = BTreeSet::new();
    keys(&serde_json::from_slice(&summary).unwrap(), &mut fields);
    // A warning's fields, from a run that has one: an 8 s GOP.
    let long = dir.path().join("long_gop.mp4");
    synth_video(
        &long,
        "320x240",
        16,
        &[
            "-c:v",
            "libx264",
            "-g",
            "200",
            "-keyint_min",
            "200",
            "-sc_threshold",
            "0",
        ],
    );
    let o = run_ok(
        vodpack()
            .args(["package", "--json", "-o"])
            .arg(dir.path().join("long"))
            .arg(&long),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v["warnings"].as_array().unwrap().is_empty(), "{v}");
    keys(&v, &mut fields);
    let colour = dir.path().join("colour.mp4");
    synth_video(
        &colour,
        "320x180",
        1,
        &[
            "-vf",
            "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
            "-c:v",
            "libx264",
        ],
    );
    for extra in [
        vec![out.join("video_240p/init.mp4")],
        vec![
            out.join("video_240p/seg_1.m4s"),
            "--init".into(),
            out.join("video_240p/init.mp4"),
        ],
        vec![fixture("muxed_av.mp4")],
        vec![colour.clone()],
    ] {
        let o = run_ok(vodpack().args(["inspect", "--json"]).args(&extra));
        keys(&serde_json::from_slice(&o.stdout).unwrap(), &mut fields);
    }
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("`{f}`")) && !doc.contains(&format!("`{f}[]`")))
        .collect();
    assert!(
        missing.is_empty(),
        "--json fields not named in docs/usage.md: {missing:?}"
    );
}
