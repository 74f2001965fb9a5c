//! The module structure issue 7 asks for, checked on every run: no import cycles between the
//! files of src/ (scripts/import-cycles.py, python3 from the test dependencies).

use std::process::Command;

use crate::common::root;

#[test]
fn no_import_cycles_between_files() {
    let out = Command::new("python3")
        .arg("scripts/import-cycles.py")
        .current_dir(root())
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("file-level import cycles: []"), "{text}");
}
