//! The module structure issues 7 and 21 ask for, checked on every run: no import cycles between
//! the files of the library, the binary (src/cli/) and the control crate, and the control
//! crate's rooms importing one way (scripts/import-cycles.py, python3 from the test
//! dependencies).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::root;

fn import_cycles(repo: &Path) -> (Output, String) {
    let out = Command::new("python3")
        .arg(root().join("scripts/import-cycles.py"))
        .arg(repo)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

#[test]
fn no_import_cycles_between_files() {
    let (out, text) = import_cycles(root());
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for crate_root in ["src", "src/cli", "crates/vodpack-control/src"] {
        assert!(
            text.contains(&format!("{crate_root}: file-level import cycles: []\n")),
            "{text}"
        );
    }
    assert!(
        text.contains(
            "error -> tokens -> telemetry -> playback -> http, imports against that order: []"
        ),
        "{text}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The checker is not vacuous: in a copy of the control crate, a token module that names the
/// playback room is refused as an import against the room order, and two files naming each
/// other as a cycle.
#[test]
fn import_checker_reports_a_planted_cycle_and_a_room_violation() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("crates/vodpack-control/src");
    copy_dir(&root().join("crates/vodpack-control/src"), &src);
    let (out, text) = import_cycles(tmp.path());
    assert!(out.status.success(), "{text}");

    let signed = src.join("tokens/signed.rs");
    let text_before = std::fs::read_to_string(&signed).unwrap();
    std::fs::write(
        &signed,
        format!("use crate::playback::policy::Policy;\n{text_before}"),
    )
    .unwrap();
    let (out, text) = import_cycles(tmp.path());
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("imports against that order: [('tokens::signed', 'playback::policy')]"),
        "{text}"
    );
    // playback::policy uses tokens::identity, which uses tokens::signed: with the planted line
    // the three form a file cycle.
    assert!(
        text.contains("file-level import cycles: [['playback::policy', 'tokens::identity', 'tokens::signed']]"),
        "{text}"
    );
}
