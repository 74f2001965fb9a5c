//! Replays the fuzz seeds (and any corpus or crash files kept under fuzz/) through the same entry
//! points the fuzz targets use, in the normal test run: a parser of untrusted bytes must return
//! an error, never panic, on every one of them. The fuzzers themselves run with `cargo fuzz`
//! (fuzz/README.md).
use std::path::Path;
use vodpack::media::codec::parse_sample_entry;
use vodpack::media::input::InputFile;

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(files_under(&p));
            } else {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn input_parser_survives_every_seed_and_truncation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/input_file"));
    seeds.extend(files_under(&root.join("fuzz/artifacts/input_file")));
    seeds.extend(files_under(&root.join("fixtures/corrupt")));
    assert!(seeds.len() >= 8, "fuzz seeds missing");
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("cut.mp4");
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        // The seed itself and every truncation at a 97-byte stride: each must parse or fail
        // cleanly (a panic fails the test).
        for cut in (0..=bytes.len()).step_by(97).chain([bytes.len()]) {
            std::fs::write(&scratch, &bytes[..cut]).unwrap();
            if let Ok(input) = InputFile::open(&scratch) {
                for t in &input.tracks {
                    let _ = parse_sample_entry(&t.sample_entry);
                }
            }
            // inspect reads more than packaging does (every fragment with --all, sample entry
            // details, pssh): the same bytes must not panic it either.
            let all = vodpack::inspect::InspectOptions {
                init: None,
                all: true,
            };
            let _ = vodpack::inspect::inspect(&scratch, &all);
        }
    }
}
