//! Fuzzes the whole pipeline on untrusted input bytes: open → segment plan → init and media
//! segments → HLS/DASH manifests and the key manifest, clear (segment files) and encrypted
//! (cenc or cbcs, chosen by the input's last byte; single file with a sidx), into a scratch folder
//! in memory (/dev/shm when present). Any panic, overflow, hang or out-of-memory is a bug; an
//! `Err` is the expected answer to a bad input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use vodpack::package::run::Progress;
use vodpack::package::PackageJob;

struct Quiet;
impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("vodpack-fuzz-pipeline-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.mp4");
    std::fs::write(&input, data).unwrap();
    let scheme = if data.last().is_some_and(|b| b & 1 == 1) {
        "cbcs"
    } else {
        "cenc"
    };
    let jobs = [
        serde_json::json!({
            "inputs": [{"in": input}],
            "out": dir.join("clear"),
            "segment_duration": 2.0,
            "asset_id": "fuzz",
        }),
        serde_json::json!({
            "inputs": [{"in": input}],
            "out": dir.join("enc"),
            "segment_duration": 2.0,
            "asset_id": "fuzz",
            "single_file": true,
            "protection": {
                "scheme": scheme,
                "keys": ["label=ALL,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef"],
                "iv": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            },
        }),
    ];
    for job in jobs {
        let job: PackageJob = serde_json::from_value(job).expect("a valid job");
        let _ = vodpack::package::package(&job, &Quiet);
    }
    let _ = std::fs::remove_dir_all(&dir);
});
