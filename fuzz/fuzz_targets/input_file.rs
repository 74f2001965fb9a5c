//! Fuzzes the whole input path: top-level scan, moov/moof parsing, sample tables, codec parsing
//! and `inspect`. Any panic, overflow or out-of-memory is a bug.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("vodpack-fuzz-{}.mp4", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(data).unwrap();
    drop(f);
    if let Ok(input) = vodpack::media::input::InputFile::open(&path) {
        for t in &input.tracks {
            let _ = vodpack::media::codec::parse_sample_entry(&t.sample_entry);
        }
    }
    let all = vodpack::inspect::InspectOptions {
        init: None,
        all: true,
    };
    let _ = vodpack::inspect::inspect(&path, &all);
});
