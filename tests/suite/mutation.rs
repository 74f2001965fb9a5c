//! Structure-aware mutation campaign over real fixtures (issue 7): every box of every input is
//! mutated — fields set to 0, 1, 2^31, 2^32−1 (32-bit) and 2^63, 2^64−1 (64-bit), sizes that lie,
//! boxes duplicated, dropped and truncated — and each mutant goes through the whole pipeline
//! in-process (open → plan → segments → manifests, clear and encrypted, segment files and single
//! file). A mutant may be packaged or refused; it must never panic, hang or blow up memory.
//!
//! Inputs: the clear fixtures, and vodpack's own cenc and cbcs outputs (init + segments joined into
//! one fragmented file). The normal test run replays a fixed, evenly spread subset (within about a
//! minute); `VODPACK_MUTATION=full cargo test --release --test suite mutation:: -- --nocapture` runs every
//! mutant and prints the counts. `VODPACK_MUTATION_SHAKA=1` adds Shaka Packager's cenc and cbcs
//! outputs (needs the judges, `$VODPACK_TOOLS`).
//!
//! The targeted regression tests at the end are the overflow panics of issue 7, each replayed on
//! a mutated fixture through the binary: exit 3 with a message naming the file, track and box.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vodpack::package::run::Progress;
use vodpack::package::PackageJob;

// ---------------------------------------------------------------------------------------------
// A minimal box walker (ISO/IEC 14496-12 §4.2), separate from vodpack's reader on purpose.

/// Boxes whose payload is a list of boxes (with the bytes to skip before the children).
fn children_at(fourcc: &[u8; 4]) -> Option<usize> {
    match fourcc {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"mvex" | b"moof" | b"traf"
        | b"dinf" | b"sinf" | b"schi" | b"udta" | b"mfra" => Some(0),
        b"stsd" | b"dref" => Some(8),
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"encv" | b"dvh1" | b"dvhe" => Some(78),
        // Audio entries (their config boxes dac3/dec3/dfLa/dOps/the ALAC cookie get mutated too;
        // an ALAC cookie is itself named `alac` and has no children after its 28 bytes).
        b"mp4a" | b"enca" | b"ac-3" | b"ec-3" | b"fLaC" | b"alac" | b"Opus" => Some(28),
        _ => None,
    }
}

#[derive(Debug, Clone)]
struct BoxAt {
    fourcc: [u8; 4],
    /// Start of the box (its size field).
    start: usize,
    /// Header length (8, or 16 with a 64-bit size).
    header: usize,
    len: usize,
    /// Indices of the enclosing boxes in the walk, outermost first.
    parents: Vec<usize>,
}

fn walk(data: &[u8]) -> Vec<BoxAt> {
    let mut out = Vec::new();
    walk_into(data, 0, data.len(), &[], &mut out);
    out
}

fn walk_into(data: &[u8], mut at: usize, end: usize, parents: &[usize], out: &mut Vec<BoxAt>) {
    while at + 8 <= end {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let fourcc: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        let (len, header) = match size {
            1 if at + 16 <= end => (
                u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize,
                16,
            ),
            0 => (end - at, 8),
            n => (n, 8),
        };
        if len < header || at + len > end {
            return;
        }
        let index = out.len();
        out.push(BoxAt {
            fourcc,
            start: at,
            header,
            len,
            parents: parents.to_vec(),
        });
        if let Some(skip) = children_at(&fourcc) {
            let mut p = parents.to_vec();
            p.push(index);
            walk_into(data, at + header + skip, at + len, &p, out);
        }
        at += len;
    }
}

// ---------------------------------------------------------------------------------------------
// Mutants

const U32_VALUES: [u32; 4] = [0, 1, 1 << 31, u32::MAX];
const U64_VALUES: [u64; 2] = [1 << 63, u64::MAX];

/// One way to break an input.
#[derive(Debug, Clone)]
enum Mutation {
    /// Set the 32-bit field at `offset` (absolute) to `value`.
    U32 {
        offset: usize,
        value: u32,
    },
    U64 {
        offset: usize,
        value: u64,
    },
    /// Overwrite box `index`'s 32-bit size with `value` (a size that lies).
    Size {
        index: usize,
        value: u32,
    },
    /// Insert a copy of box `index` after it (parents' sizes fixed up).
    Duplicate {
        index: usize,
    },
    /// Remove box `index` (parents' sizes fixed up).
    Drop {
        index: usize,
    },
    /// Keep only the first half of box `index`'s payload (its and its parents' sizes fixed up).
    Truncate {
        index: usize,
    },
    /// Cut the file in the middle of box `index`.
    CutFile {
        index: usize,
    },
}

fn mutations(data: &[u8], boxes: &[BoxAt]) -> Vec<Mutation> {
    let mut v = Vec::new();
    for (index, b) in boxes.iter().enumerate() {
        for value in [
            0,
            1,
            7,
            b.len as u32 - 1,
            b.len as u32 + 1,
            1 << 31,
            u32::MAX,
        ] {
            v.push(Mutation::Size { index, value });
        }
        v.push(Mutation::Drop { index });
        v.push(Mutation::CutFile { index });
        if &b.fourcc == b"mdat" {
            continue;
        }
        v.push(Mutation::Duplicate { index });
        v.push(Mutation::Truncate { index });
        if children_at(&b.fourcc) == Some(0) {
            continue; // plain containers: their children's fields are mutated instead
        }
        let payload = b.start + b.header;
        let end = b.start + b.len;
        // The first 16 fields, and the last 4 (the end of a table).
        let mut fields: Vec<usize> = (0..16).map(|k| payload + 4 * k).collect();
        fields.extend((1..=4).filter_map(|k| end.checked_sub(4 * k)));
        fields.retain(|&f| f >= payload && f + 4 <= end);
        fields.sort_unstable();
        fields.dedup();
        for &offset in &fields {
            for value in U32_VALUES {
                v.push(Mutation::U32 { offset, value });
            }
        }
        for k in 0..6 {
            let offset = payload + 4 * k;
            if offset + 8 <= end {
                for value in U64_VALUES {
                    v.push(Mutation::U64 { offset, value });
                }
            }
        }
    }
    let _ = data;
    v
}

/// Adds `delta` to the 32-bit (or 64-bit) size of every box in `parents`.
fn fix_parents(out: &mut [u8], boxes: &[BoxAt], parents: &[usize], delta: i64) {
    for &p in parents {
        let b = &boxes[p];
        if b.header == 16 {
            let at = b.start + 8;
            let v = u64::from_be_bytes(out[at..at + 8].try_into().unwrap());
            out[at..at + 8].copy_from_slice(&((v as i64 + delta) as u64).to_be_bytes());
        } else {
            let at = b.start;
            let v = u32::from_be_bytes(out[at..at + 4].try_into().unwrap());
            if v != 0 {
                out[at..at + 4].copy_from_slice(&((v as i64 + delta) as u32).to_be_bytes());
            }
        }
    }
}

fn apply(data: &[u8], boxes: &[BoxAt], m: &Mutation) -> Vec<u8> {
    let mut out = data.to_vec();
    match *m {
        Mutation::U32 { offset, value } => {
            out[offset..offset + 4].copy_from_slice(&value.to_be_bytes())
        }
        Mutation::U64 { offset, value } => {
            out[offset..offset + 8].copy_from_slice(&value.to_be_bytes())
        }
        Mutation::Size { index, value } => {
            let s = boxes[index].start;
            out[s..s + 4].copy_from_slice(&value.to_be_bytes());
        }
        Mutation::Duplicate { index } => {
            let b = &boxes[index];
            let copy = data[b.start..b.start + b.len].to_vec();
            fix_parents(&mut out, boxes, &b.parents, b.len as i64);
            let at = b.start + b.len;
            out.splice(at..at, copy);
        }
        Mutation::Drop { index } => {
            let b = &boxes[index];
            fix_parents(&mut out, boxes, &b.parents, -(b.len as i64));
            out.drain(b.start..b.start + b.len);
        }
        Mutation::Truncate { index } => {
            let b = &boxes[index];
            let keep = (b.len - b.header) / 2;
            let cut = b.len - b.header - keep;
            let mut chain = b.parents.clone();
            chain.push(index);
            fix_parents(&mut out, boxes, &chain, -(cut as i64));
            let from = b.start + b.header + keep;
            out.drain(from..from + cut);
        }
        Mutation::CutFile { index } => {
            let b = &boxes[index];
            out.truncate(b.start + b.len / 2);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running a mutant through the pipeline, in-process

struct Quiet;
impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

const KID: &str = "00112233445566778899aabbccddeeff";
const KEY: &str = "0123456789abcdef0123456789abcdef";

/// The packaging jobs every mutant goes through: clear in segment files, and encrypted
/// (`scheme`) as a single file with a sidx.
fn jobs(input: &Path, out: &Path, scheme: &str) -> Vec<PackageJob> {
    let clear = serde_json::json!({
        "inputs": [{"in": input}],
        "out": out.join("clear"),
        "segment_duration": 2.0,
        "asset_id": "mutant",
    });
    let protected = serde_json::json!({
        "inputs": [{"in": input}],
        "out": out.join("enc"),
        "segment_duration": 2.0,
        "asset_id": "mutant",
        "single_file": true,
        "protection": {
            "scheme": scheme,
            "keys": [format!("label=ALL,kid={KID},key={KEY}")],
            "iv": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        },
    });
    [clear, protected]
        .into_iter()
        .map(|j| serde_json::from_value(j).expect("job"))
        .collect()
}

/// What happened to one mutant.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    mutants: u64,
    packaged: u64,
    refused: u64,
}

/// Longest a mutant may take (the unmutated fixtures take well under a second).
const HANG: Duration = Duration::from_secs(30);
/// Peak resident memory allowed for the campaign's process (the fixtures are under 0.5 MB).
const MAX_RSS_KB: u64 = 1_500_000;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

/// Runs one mutant; returns what went wrong on a panic inside vodpack, a hang or a memory
/// blow-up (the mutant's bytes are kept under target/mutation-failures).
fn run_mutant(
    bytes: Vec<u8>,
    scratch: &Path,
    scheme: &'static str,
    what: &str,
    tally: &mut Tally,
) -> Result<(), String> {
    let input = scratch.join("input.mp4");
    std::fs::write(&input, &bytes).unwrap();
    let out = scratch.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let (tx, rx) = mpsc::channel();
    let (input2, out2) = (input.clone(), out.clone());
    std::thread::spawn(move || {
        let results: Vec<std::thread::Result<bool>> = jobs(&input2, &out2, scheme)
            .iter()
            .map(|job| std::panic::catch_unwind(|| vodpack::package::package(job, &Quiet).is_ok()))
            .collect();
        let _ = tx.send(results);
    });
    tally.mutants += 1;
    let results = match rx.recv_timeout(HANG) {
        Ok(r) => r,
        Err(_) => {
            keep_failure(&bytes, what);
            return Err(format!("{what}: no result after {HANG:?} (hang)"));
        }
    };
    for r in results {
        match r {
            Ok(true) => tally.packaged += 1,
            Ok(false) => tally.refused += 1,
            Err(_) => {
                keep_failure(&bytes, what);
                return Err(format!("{what}: vodpack panicked"));
            }
        }
    }
    let rss = peak_rss_kb();
    if rss >= MAX_RSS_KB {
        return Err(format!("{what}: peak RSS {rss} kB exceeds {MAX_RSS_KB} kB"));
    }
    Ok(())
}

fn keep_failure(bytes: &[u8], what: &str) {
    let dir = root().join("target/mutation-failures");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let _ = std::fs::write(dir.join(format!("{name}.mp4")), bytes);
}

/// A scratch directory in memory when possible (thousands of small runs).
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// vodpack's own encrypted output of `fixture` as one fragmented file (init + segments).
fn encrypted_input(fixture_name: &str, scheme: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("enc-{scheme}-{fixture_name}"));
    let job: PackageJob = serde_json::from_value(serde_json::json!({
        "inputs": [{"in": fixture(fixture_name), "id": "r"}],
        "out": out,
        "segment_duration": 2.0,
        "asset_id": "enc",
        "protection": {
            "scheme": scheme,
            "keys": [format!("label=ALL,kid={KID},key={KEY}")],
        },
    }))
    .unwrap();
    vodpack::package::package(&job, &Quiet).expect("package the encrypted input");
    concat_rendition(
        &out.join("r"),
        &dir.join(format!("{scheme}-{fixture_name}")),
    )
}

/// Shaka Packager's encrypted output of `fixture` (a single fragmented file).
fn shaka_input(fixture_name: &str, scheme: &str, stream: &str, dir: &Path) -> PathBuf {
    let dest = dir.join(format!("shaka-{scheme}-{fixture_name}"));
    run_ok(
        std::process::Command::new(&tools().packager)
            .arg(format!(
                "in={},stream={stream},output={}",
                fixture(fixture_name).display(),
                dest.display()
            ))
            .args([
                "--enable_raw_key_encryption",
                "--protection_scheme",
                scheme,
                "--clear_lead",
                "0",
                "--keys",
                &format!("label=:key_id={KID}:key={KEY}"),
                "--quiet",
            ]),
    );
    dest
}

/// The campaign's inputs: (name, path, scheme to package the encrypted job with).
fn campaign_inputs(dir: &Path, shaka: bool) -> Vec<(String, PathBuf, &'static str)> {
    let mut v: Vec<(String, PathBuf, &'static str)> = [
        "h264_240p.mp4",
        "h264_360p.mp4",
        "hevc_360p.mp4",
        "aac_en.mp4",
        "progressive_bframes.mp4",
        "muxed_av.mp4",
        // AV1 OBUs / frame headers (cenc) and VP9 superframes / uncompressed headers (cbcs).
        "av1_240p.mp4",
        "vp9_240p.mp4",
        // Audio configuration records: dec3 with the JOC extension, dfLa, the ALAC cookie.
        "eac3_joc.mp4",
        "flac_51.mp4",
        "alac_stereo.mp4",
        // Dolby Vision: dvcC in a dvh1 entry (cenc), dvvC beside hvcC (cbcs).
        "shaka-video/sparks_dovi_5_short.mp4",
        "shaka-video/sparks_dovi_8_short.mp4",
        // VP8 frame tags and key frame headers (cenc).
        "vp8_360p.mp4",
        // MV-HEVC: hvcC + lhvC, the VPS extension, layer-1 SPS/PPS and slices (cbcs).
        "shaka-video/water-mv-hevc.mp4",
    ]
    .iter()
    .enumerate()
    .map(|(i, f)| {
        (
            f.to_string(),
            fixture(f),
            if i % 2 == 0 { "cenc" } else { "cbcs" },
        )
    })
    .collect();
    for (f, scheme) in [
        ("h264_360p.mp4", "cenc"),
        ("h264_360p.mp4", "cbcs"),
        ("hevc_360p.mp4", "cbcs"),
        ("aac_en.mp4", "cenc"),
        ("aac_en.mp4", "cbcs"),
    ] {
        v.push((
            format!("vodpack-{scheme}-{f}"),
            encrypted_input(f, scheme, dir),
            scheme,
        ));
    }
    if shaka {
        for (f, stream, scheme) in [
            ("h264_360p.mp4", "video", "cenc"),
            ("h264_360p.mp4", "video", "cbcs"),
            ("aac_en.mp4", "audio", "cbcs"),
        ] {
            v.push((
                format!("shaka-{scheme}-{f}"),
                shaka_input(f, scheme, stream, dir),
                scheme,
            ));
        }
    }
    v
}

/// Runs the campaign: every `stride`-th mutant of every input (1 = all).
fn campaign(stride: usize, shaka: bool) -> Tally {
    let dir = scratch_dir();
    let scratch = dir.path().join("run");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut total = Tally::default();
    let mut failures = Vec::new();
    let started = Instant::now();
    for (name, path, scheme) in campaign_inputs(dir.path(), shaka) {
        let data = std::fs::read(&path).unwrap();
        let boxes = walk(&data);
        assert!(boxes.len() > 5, "{name}: the walker found no boxes");
        let all = mutations(&data, &boxes);
        let mut tally = Tally::default();
        for (k, m) in all.iter().enumerate() {
            if k % stride != 0 {
                continue;
            }
            let what = format!("{name} mutant {k}: {m:?} in {:?}", fourcc_of(&boxes, m));
            if let Err(e) = run_mutant(apply(&data, &boxes, m), &scratch, scheme, &what, &mut tally)
            {
                failures.push(e);
            }
        }
        eprintln!(
            "{name}: {} boxes, {} mutants generated, {} run: {} jobs packaged, {} refused",
            boxes.len(),
            all.len(),
            tally.mutants,
            tally.packaged,
            tally.refused
        );
        total.mutants += tally.mutants;
        total.packaged += tally.packaged;
        total.refused += tally.refused;
    }
    eprintln!(
        "mutation campaign: {} mutants, {} jobs packaged, {} refused, {} failed (panic, hang or blow-up), {:.0} s",
        total.mutants,
        total.packaged,
        total.refused,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} mutants failed (inputs kept under target/mutation-failures); the first:\n{}",
        failures.len(),
        total.mutants,
        failures[..failures.len().min(20)].join("\n")
    );
    total
}

fn fourcc_of(boxes: &[BoxAt], m: &Mutation) -> String {
    let index = match *m {
        Mutation::U32 { offset, .. } | Mutation::U64 { offset, .. } => boxes
            .iter()
            .rposition(|b| b.start <= offset && offset < b.start + b.len),
        Mutation::Size { index, .. }
        | Mutation::Duplicate { index }
        | Mutation::Drop { index }
        | Mutation::Truncate { index }
        | Mutation::CutFile { index } => Some(index),
    };
    index
        .map(|i| String::from_utf8_lossy(&boxes[i].fourcc).into_owned())
        .unwrap_or_default()
}

/// Set in the child process that runs the campaign.
const CAMPAIGN_CHILD: &str = "VODPACK_MUTATION_CHILD";

/// The bounded subset of the normal test run; the full campaign with VODPACK_MUTATION=full.
///
/// The memory check reads the peak RSS (`VmHWM`) of the process the mutants run in, which must
/// hold nothing else: the suite runs every topic in one process, so this test re-runs its own
/// binary with only itself selected (`--exact`, one thread) and `VODPACK_MUTATION_CHILD=1`; that
/// child runs the campaign and measures its own peak, the parent checks that it ran and passed.
#[test]
fn mutation_campaign_never_panics_hangs_or_blows_up() {
    let name = concat!(
        module_path!(),
        "::mutation_campaign_never_panics_hangs_or_blows_up"
    );
    // libtest names tests by their path below the crate root.
    let name = name.split_once("::").map_or(name, |(_, rest)| rest);
    if std::env::var_os(CAMPAIGN_CHILD).is_none() {
        let _heavy = heavy_slot();
        let o = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CAMPAIGN_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        eprint!("{stderr}");
        assert!(
            o.status.success(),
            "the campaign's process failed:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("1 passed"),
            "the campaign did not run in its process:\n{stdout}"
        );
        return;
    }
    let full = std::env::var("VODPACK_MUTATION").is_ok_and(|v| v == "full");
    let shaka = std::env::var("VODPACK_MUTATION_SHAKA").is_ok_and(|v| v == "1");
    let stride = if full { 1 } else { 5 };
    let tally = campaign(stride, shaka);
    assert!(tally.mutants > 500, "too few mutants ran: {tally:?}");
    assert!(tally.refused > 0 && tally.packaged > 0, "{tally:?}");
}

// ---------------------------------------------------------------------------------------------
// Regression tests: the overflow panics of issue 7, on mutated fixtures, through the binary.

/// The fixture's bytes with the payload field `field` (byte offset after the box header) of the
/// `nth` box at `path` replaced.
fn mutated(fixture_name: &str, path: &[&str], nth: usize, field: usize, value: &[u8]) -> Vec<u8> {
    let mut data = std::fs::read(fixture(fixture_name)).unwrap();
    let boxes = walk(&data);
    let wanted: Vec<[u8; 4]> = path
        .iter()
        .map(|p| p.as_bytes().try_into().unwrap())
        .collect();
    let b = boxes
        .iter()
        .filter(|b| {
            let mut chain: Vec<[u8; 4]> = b.parents.iter().map(|&p| boxes[p].fourcc).collect();
            chain.push(b.fourcc);
            chain.ends_with(&wanted)
        })
        .nth(nth)
        .unwrap_or_else(|| panic!("{fixture_name} has no {path:?} #{nth}"));
    let at = b.start + b.header + field;
    data[at..at + value.len()].copy_from_slice(value);
    data
}

fn package_bytes(bytes: &[u8], extra: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mutant.mp4");
    std::fs::write(&input, bytes).unwrap();
    let out = vodpack()
        .arg("package")
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--quiet")
        .args(extra)
        .arg(&input)
        .output()
        .unwrap();
    (out, dir)
}

fn assert_invalid_input(what: &str, out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{what}: panicked:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what}: exit code; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("mutant.mp4"),
        "{what}: file not named:\n{stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "{what}: '{n}' not in:\n{stderr}");
    }
}

/// input.rs:546 at e4646a0 (`dts += duration` after a tfdt near 2^63; also the i64 cast of
/// track.rs:77 and writer.rs:138 downstream).
#[test]
fn tfdt_near_2_pow_63_is_invalid_input() {
    for (fixture_name, value) in [
        ("h264_360p.mp4", (1u64 << 63) - 100),
        ("h264_360p.mp4", u64::MAX - 10),
        ("aac_en.mp4", (1u64 << 62) + 1),
    ] {
        // tfdt version 1: the 64-bit decode time follows version/flags.
        let bytes = mutated(fixture_name, &["traf", "tfdt"], 1, 4, &value.to_be_bytes());
        let (out, _dir) = package_bytes(&bytes, &[]);
        assert_invalid_input(
            &format!("{fixture_name} tfdt {value}"),
            &out,
            &["track 1", "tfdt", "2^62"],
        );
    }
}

/// A tfdt just under the limit whose samples run past it: the sum overflows (trun).
#[test]
fn decode_time_running_past_the_limit_is_invalid_input() {
    let value = (1u64 << 62) - 5;
    let bytes = mutated(
        "h264_360p.mp4",
        &["traf", "tfdt"],
        3,
        4,
        &value.to_be_bytes(),
    );
    let (out, _dir) = package_bytes(&bytes, &[]);
    assert_invalid_input("tfdt 2^62-5", &out, &["track 1", "trun", "2^62"]);
}

/// writer.rs:239/246 at e4646a0: presentation-time differences. An edit list media_time near
/// 2^63 made `cts - media_time` and the segment spans overflow.
#[test]
fn edit_list_media_time_near_2_pow_63_is_invalid_input() {
    let data = std::fs::read(fixture("progressive_bframes.mp4")).unwrap();
    let boxes = walk(&data);
    let elst = boxes.iter().find(|b| &b.fourcc == b"elst").unwrap();
    assert_eq!(data[elst.start + 8], 0, "fixture's elst is version 0");
    // The fixture's elst is version 0 (32-bit media_time): rebuild it as version 1 with
    // media_time 2^63 - 1.
    let mut v1 = Vec::new();
    v1.extend_from_slice(&(8u32 + 4 + 4 + 20).to_be_bytes());
    v1.extend_from_slice(b"elst");
    v1.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    v1.extend_from_slice(&1u32.to_be_bytes());
    v1.extend_from_slice(&1000u64.to_be_bytes());
    v1.extend_from_slice(&i64::MAX.to_be_bytes());
    v1.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    let delta = v1.len() as i64 - elst.len as i64;
    let mut bytes = data.clone();
    fix_parents(&mut bytes, &boxes, &elst.parents, delta);
    bytes.splice(elst.start..elst.start + elst.len, v1);
    // The moov grew: chunk offsets of the mdat before it are unaffected (mdat precedes moov).
    let mdat = boxes.iter().find(|b| &b.fourcc == b"mdat").unwrap();
    let moov = boxes.iter().find(|b| &b.fourcc == b"moov").unwrap();
    assert!(mdat.start < moov.start);
    let (out, _dir) = package_bytes(&bytes, &[]);
    assert_invalid_input(
        "elst media_time 2^63-1",
        &out,
        &["track 1", "elst", "media_time"],
    );
}

/// init.rs:61 at e4646a0: `track_ID + 1` overflowed for track_ID 0xFFFFFFFF. The file is valid:
/// it is packaged, with next_track_ID all 1s (ISO/IEC 14496-12 §8.2.2.3).
#[test]
fn track_id_0xffffffff_is_packaged() {
    let mut bytes = mutated("h264_240p.mp4", &["trak", "tkhd"], 0, 12, &[0xff; 4]);
    let boxes = walk(&bytes);
    for b in boxes.clone() {
        let at = b.start + b.header + 4;
        match &b.fourcc {
            b"trex" | b"tfhd" => bytes[at..at + 4].copy_from_slice(&[0xff; 4]),
            _ => {}
        }
    }
    let (out, dir) = package_bytes(&bytes, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let _ = dir;
}

/// A zero timescale (ISO/IEC 14496-12 §8.4.2.3) is refused, never divided by.
#[test]
fn mdhd_timescale_zero_is_invalid_input() {
    // mdhd version 0: creation, modification (u32 each), then timescale.
    let bytes = mutated("h264_240p.mp4", &["mdia", "mdhd"], 0, 12, &[0; 4]);
    let (out, _dir) = package_bytes(&bytes, &[]);
    assert_invalid_input("mdhd timescale 0", &out, &["track 1", "timescale is 0"]);
}

// ---------------------------------------------------------------------------------------------
// TTML: a structure-aware campaign over the XML of the TTML fixtures (issue 20).

/// Values every attribute of a TTML fixture is set to: empty, edge numbers, every time
/// expression form out of range, values other attributes expect, and XML that breaks the value.
const TTML_VALUES: [&str; 16] = [
    "",
    "0",
    "1",
    "-1s",
    "00:00:00:99",
    "00:00:00:00.9",
    "99:99:99",
    "999999999999999h",
    "9999999999999999999999t",
    "18446744073709551615ms",
    "1000 0",
    "seq",
    "smpte",
    "&bogus;",
    "<",
    "http://www.w3.org/ns/ttml",
];

/// Names every element of a TTML fixture is renamed to.
const TTML_NAMES: [&str; 6] = ["tt", "body", "div", "p", "br", "x:y"];

/// Every mutant of a TTML document: each attribute value replaced by each of [`TTML_VALUES`];
/// each tag dropped, doubled, and the document cut right after it; each element renamed (start
/// tags only, so end tags no longer match, or match another element).
fn ttml_mutants(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find("=\"") {
        let start = i + off + 2;
        let end = start + text[start..].find('"').unwrap();
        for v in TTML_VALUES {
            out.push((
                format!("attribute at {start} = {v:?}"),
                format!("{}{v}{}", &text[..start], &text[end..]),
            ));
        }
        i = end + 1;
    }
    let mut i = 0;
    while let Some(off) = text[i..].find('<') {
        let start = i + off;
        let end = start + text[start..].find('>').unwrap() + 1;
        let tag = &text[start..end];
        out.push((
            format!("tag at {start} dropped"),
            format!("{}{}", &text[..start], &text[end..]),
        ));
        out.push((
            format!("tag at {start} doubled"),
            format!("{}{tag}{}", &text[..end], &text[end..]),
        ));
        out.push((
            format!("cut after the tag at {start}"),
            text[..end].to_string(),
        ));
        if b.get(start + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
            let name_end = start + 1 + tag[1..].find([' ', '>', '/', '\n']).unwrap();
            for n in TTML_NAMES {
                out.push((
                    format!("element at {start} renamed {n}"),
                    format!("{}<{n}{}", &text[..start], &text[name_end..]),
                ));
            }
        }
        i = end;
    }
    out
}

/// The TTML campaign: every mutant of both TTML fixtures is read; an accepted one must survive
/// segmentation (each segment's document reads back to the paragraphs active in it, the WebVTT
/// view parses), and every 25th goes through the whole packaging pipeline with a video input.
/// A mutant may be refused (with a line inside the document), never panic.
#[test]
fn ttml_mutants_are_read_or_refused_never_panic() {
    use vodpack::subtitle::ttml::{self, write};
    use vodpack::subtitle::{segment, vtt};
    let dir = tempfile::tempdir().unwrap();
    let (mut total, mut accepted, mut refused, mut packaged, mut piped) = (0, 0, 0, 0, 0);
    for name in ["subs_fr.ttml", "subs_en_ticks.ttml"] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        for (n, (what, mutant)) in ttml_mutants(&text).into_iter().enumerate() {
            total += 1;
            let lines = 1 + mutant.matches('\n').count();
            let result = std::panic::catch_unwind(|| ttml::parse(mutant.as_bytes()));
            let parsed =
                result.unwrap_or_else(|_| panic!("{name}: {what}: the TTML reader panicked"));
            match parsed {
                Err(e) => {
                    refused += 1;
                    assert!(e.line >= 1 && e.line <= lines, "{name}: {what}: {e}");
                }
                Ok(doc) => {
                    accepted += 1;
                    for (s, e) in [(0, 2000), (2000, 4000), (4000, 6000), (6000, 8000)] {
                        let ps = write::paragraphs_in(&doc, s, e);
                        let out = write::segment_document(&doc, &ps, s, e);
                        let back = ttml::parse(out.as_bytes()).unwrap_or_else(|err| {
                            panic!("{name}: {what}: own document: {err}\n{out}")
                        });
                        assert_eq!(back.paragraphs.len(), ps.len(), "{name}: {what}");
                    }
                    let view = doc.to_webvtt(8000);
                    let cues: Vec<_> = view.cues.iter().collect();
                    vtt::parse(segment::hls_segment(&view, &cues).as_bytes())
                        .unwrap_or_else(|err| panic!("{name}: {what}: WebVTT view: {err}"));
                }
            }
            if n % 25 == 0 {
                piped += 1;
                let sub = dir.path().join(format!(
                    "mutant.{}",
                    if n % 2 == 0 { "ttml" } else { "xml" }
                ));
                std::fs::write(&sub, &mutant).unwrap();
                let out = dir.path().join("out");
                let _ = std::fs::remove_dir_all(&out);
                let job: PackageJob = serde_json::from_value(serde_json::json!({
                    "inputs": [{"in": fixture("h264_240p.mp4")}, {"in": sub, "lang": "fr"}],
                    "out": out,
                    "segment_duration": 2.0,
                    "asset_id": "mutant",
                }))
                .unwrap();
                let r =
                    std::panic::catch_unwind(|| vodpack::package::package(&job, &Quiet).is_ok());
                if r.unwrap_or_else(|_| panic!("{name}: {what}: the pipeline panicked")) {
                    packaged += 1;
                }
            }
        }
    }
    eprintln!("ttml mutants: {total}, read {accepted}, refused {refused}; pipeline {piped}, packaged {packaged}");
    assert!(total > 1000, "too few mutants: {total}");
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} read, {refused} refused"
    );
    assert!(
        packaged > 0 && packaged < piped,
        "{packaged} of {piped} packaged"
    );
}
