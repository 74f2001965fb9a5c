//! Shared helpers for the end-to-end tests: the reference judges (ffmpeg, ffprobe, Shaka Packager),
//! running the vodpack binary, and comparing decoded frames and stored samples between a source
//! track and vodpack's output. Nothing here uses vodpack's library: the judges are tools nobody
//! here wrote, and the few box reads are a separate minimal walker. Every topic module of the
//! suite runs in this one process, so the locks that keep Chromium runs and heavy measurements
//! apart ([`browser_slot`], [`heavy_slot`]) are re-exported here from the harness both crates'
//! tests share (crates/vodpack-test-support).
#![allow(dead_code)] // not every helper is used by a topic today

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

// Shared with the control crate's tests (crates/vodpack-test-support): the locks that keep
// Chromium runs and heavy tests apart, and finding a system tool on PATH.
pub use vodpack_test_support::{browser_slot, heavy_slot, system_tool};

/// The repository root (where Cargo.toml, fixtures/ and .tools/ live).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    let path = root().join("fixtures").join(name);
    assert!(
        path.is_file(),
        "missing fixture {} (see fixtures/README.md)",
        path.display()
    );
    path
}

/// The reference judges, from `$VODPACK_TOOLS` or `.tools/ref` (installed by scripts/test.sh).
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub packager: PathBuf,
}

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let dir = std::env::var_os("VODPACK_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".tools/ref"));
        let tools = Tools {
            ffmpeg: dir.join("ffmpeg"),
            ffprobe: dir.join("ffprobe"),
            packager: dir.join("packager"),
        };
        for tool in [&tools.ffmpeg, &tools.ffprobe, &tools.packager] {
            assert!(
                tool.is_file(),
                "{} is missing: run scripts/test.sh to install the judges (or set VODPACK_TOOLS)",
                tool.display()
            );
        }
        tools
    })
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs a command, returns its output; panics with the command line and stderr if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", describe(cmd)));
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        describe(cmd),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A port free right now on 127.0.0.1, for a licence URL that must be known before packaging.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The vodpack binary built for this test run.
pub fn vodpack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vodpack"))
}

/// `vodpack package -o OUT --quiet ARGS...`; panics with vodpack's stderr if it fails.
pub fn package(out: &Path, args: &[String]) -> Output {
    let mut cmd = vodpack();
    cmd.arg("package")
        .arg("-o")
        .arg(out)
        .arg("--quiet")
        .args(args);
    run_ok(&mut cmd)
}

/// Fixed test keys, one per default label (the same as scripts/shaka-package.sh).
pub struct TestKey {
    pub label: &'static str,
    pub kid: &'static str,
    pub key: &'static str,
}

pub const TEST_KEYS: [TestKey; 3] = [
    TestKey {
        label: "AUDIO",
        kid: "00112233445566778899aabbccddeeff",
        key: "0123456789abcdef0123456789abcdef",
    },
    TestKey {
        label: "SD",
        kid: "10112233445566778899aabbccddeeff",
        key: "1123456789abcdef0123456789abcdef",
    },
    TestKey {
        label: "HD",
        kid: "20112233445566778899aabbccddeeff",
        key: "2123456789abcdef0123456789abcdef",
    },
];

/// A fixed IV so encrypted output is reproducible.
pub const TEST_IV: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub fn test_key(label: &str) -> &'static TestKey {
    TEST_KEYS
        .iter()
        .find(|k| k.label == label)
        .unwrap_or_else(|| panic!("no test key labelled {label}"))
}

/// Runs a browser harness command (see `browser_harness`) in the browser slot and asserts that it
/// exited 0 with `"ok": true`; returns the JSON report. `what` names the case in failures.
pub fn assert_harness_ok(cmd: &mut Command, what: &str) -> serde_json::Value {
    let _one_at_a_time = browser_slot();
    let output = cmd.output().expect("run node tests/browser/run.mjs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what}: {}\n{report}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&report).expect("harness JSON report");
    assert_eq!(json["ok"], true, "{what}: harness report: {report}");
    json
}

/// `--protection SCHEME --key ... --iv ...` with the fixed test keys.
pub fn protection_args(scheme: &str) -> Vec<String> {
    let mut args = vec!["--protection".to_string(), scheme.to_string()];
    for k in &TEST_KEYS {
        args.push("--key".into());
        args.push(format!("label={},kid={},key={}", k.label, k.kid, k.key));
    }
    args.extend(["--iv".to_string(), TEST_IV.to_string()]);
    args
}

/// node running tests/browser/run.mjs on the output in `out` with `player` and `protocol`; the
/// caller adds what it expects (`--expect`, `--drm`, ...) and takes the browser slot.
pub fn browser_harness(out: &Path, player: &str, protocol: &str) -> Command {
    let node = system_tool("node", "apt-get install nodejs npm");
    let mut cmd = Command::new(node);
    cmd.arg(root().join("tests/browser/run.mjs"))
        .arg("--dir")
        .arg(out)
        .args(["--player", player, "--protocol", protocol]);
    cmd
}

/// `KID=KEY,...` for tests/browser/run.mjs --keys.
pub fn browser_keys_arg() -> String {
    TEST_KEYS
        .iter()
        .map(|k| format!("{}={}", k.kid, k.key))
        .collect::<Vec<_>>()
        .join(",")
}

/// The media segments of a rendition folder, in order, checked to be numbered 1..=n.
pub fn segments(rendition: &Path) -> Vec<PathBuf> {
    let mut numbered: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(rendition)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", rendition.display()))
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(n) = name
            .strip_prefix("seg_")
            .and_then(|s| s.strip_suffix(".m4s"))
        {
            let n: u64 = n
                .parse()
                .unwrap_or_else(|_| panic!("odd segment name {name}"));
            numbered.insert(n, path);
        }
    }
    assert!(
        !numbered.is_empty(),
        "no seg_N.m4s in {}",
        rendition.display()
    );
    let numbers: Vec<u64> = numbered.keys().copied().collect();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(
        numbers,
        expected,
        "segments of {} are not numbered 1..n",
        rendition.display()
    );
    numbered.into_values().collect()
}

/// init.mp4 followed by every segment, in order, written to `dest`: the file a player's buffer sees.
pub fn concat_rendition(rendition: &Path, dest: &Path) -> PathBuf {
    let mut bytes = std::fs::read(rendition.join("init.mp4"))
        .unwrap_or_else(|e| panic!("{}/init.mp4: {e}", rendition.display()));
    for seg in segments(rendition) {
        bytes.extend(std::fs::read(&seg).unwrap());
    }
    std::fs::write(dest, bytes).unwrap();
    dest.to_path_buf()
}

/// An exact rational number of seconds, so timestamps in different timescales compare exactly.
/// Always in lowest terms with a positive denominator, so the derived equality is numeric.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Seconds {
    num: i128,
    den: i128,
}

impl Seconds {
    pub fn new(value: i64, tb_num: i64, tb_den: i64) -> Self {
        assert!(tb_den > 0 && tb_num > 0, "bad time base {tb_num}/{tb_den}");
        let (mut num, mut den) = (value as i128 * tb_num as i128, tb_den as i128);
        let g = gcd(num.abs(), den);
        if g > 1 {
            num /= g;
            den /= g;
        }
        Seconds { num, den }
    }

    pub fn sub(self, other: Seconds) -> Seconds {
        let num = self.num * other.den - other.num * self.den;
        let den = self.den * other.den;
        let g = gcd(num.abs(), den).max(1);
        Seconds {
            num: num / g,
            den: den / g,
        }
    }

    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl Ord for Seconds {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.num * other.den).cmp(&(other.num * self.den))
    }
}

impl PartialOrd for Seconds {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl fmt::Debug for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} s ({:.6})", self.num, self.den, self.as_f64())
    }
}

/// One decoded frame from `ffmpeg -f framemd5`, timestamps relative to the first frame.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodedFrame {
    pub pts: Seconds,
    pub duration: Seconds,
    pub size: u64,
    pub md5: String,
}

/// Decodes `stream` (ffmpeg stream specifier, e.g. `v:0`, `a:0`) of `file` and hashes every frame.
/// `input_args` go before `-i` (e.g. `-decryption_key HEX`). Frames are neither dropped nor
/// duplicated (`-fps_mode passthrough`), audio is hashed as ffmpeg's default pcm_s16le.
///
/// How frames compare: the hash column is the decoded picture/audio itself; pts and duration are
/// compared exactly as rationals, relative to the first frame's pts, because an edit list and trun
/// v1 negative composition offsets describe the same presentation timeline but ffmpeg reports them
/// with a different constant shift.
pub fn framemd5(file: &Path, stream: &str, input_args: &[&str]) -> Vec<DecodedFrame> {
    let out = run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(input_args)
            .arg("-i")
            .arg(file)
            .args(["-map", &format!("0:{stream}"), "-fps_mode", "passthrough"])
            .args(["-f", "framemd5", "-"]),
    );
    parse_framemd5(&String::from_utf8_lossy(&out.stdout), file)
}

/// "size, MD5" of each packet of a stream-copied `ffmpeg -c copy -f framemd5` listing (columns 5
/// and 6; an encrypted packet's side data may follow them).
pub fn framemd5_packets(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split(',')
                .skip(4)
                .take(2)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn parse_framemd5(text: &str, file: &Path) -> Vec<DecodedFrame> {
    let mut tb = None;
    let mut raw = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#tb 0: ") {
            let (n, d) = rest.trim().split_once('/').expect("time base n/d");
            tb = Some((n.parse::<i64>().unwrap(), d.parse::<i64>().unwrap()));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            assert_eq!(cols.len(), 6, "odd framemd5 line {line:?}");
            raw.push((
                cols[2].parse::<i64>().unwrap(),
                cols[3].parse::<i64>().unwrap(),
                cols[4].parse::<u64>().unwrap(),
                cols[5].to_string(),
            ));
        }
    }
    let (n, d) = tb.unwrap_or_else(|| panic!("framemd5 of {} has no time base", file.display()));
    assert!(
        !raw.is_empty(),
        "ffmpeg decoded no frame from {}",
        file.display()
    );
    let first = Seconds::new(raw[0].0, n, d);
    raw.into_iter()
        .map(|(pts, dur, size, md5)| DecodedFrame {
            pts: Seconds::new(pts, n, d).sub(first),
            duration: Seconds::new(dur, n, d),
            size,
            md5,
        })
        .collect()
}

/// Panics at the first frame that differs, saying which and how.
pub fn assert_same_frames(what: &str, expected: &[DecodedFrame], actual: &[DecodedFrame]) {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(
            e, a,
            "{what}: decoded frame {i} differs (expected left, got right)"
        );
    }
    assert_eq!(
        expected.len(),
        actual.len(),
        "{what}: {} decoded frames expected, {} got",
        expected.len(),
        actual.len()
    );
}

/// One stored sample as ffprobe's demuxer reads it: timestamps relative to the first sample.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredSample {
    pub dts: Seconds,
    pub pts: Seconds,
    pub duration: Seconds,
    pub size: u64,
    pub keyframe: bool,
    pub md5: String,
}

/// Every sample of `stream` (e.g. `v:0`) of `file`, with an MD5 of its bytes.
pub fn samples(file: &Path, stream: &str, input_args: &[&str]) -> Vec<StoredSample> {
    let out = run_ok(
        Command::new(&tools().ffprobe)
            .args(["-v", "error"])
            .args(input_args)
            .args([
                "-select_streams",
                stream,
                "-show_packets",
                "-show_data_hash",
                "MD5",
            ])
            .args([
                "-show_entries",
                "stream=time_base:packet=dts,pts,duration,size,flags,data_hash",
            ])
            .args(["-of", "json"])
            .arg(file),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let tb = json["streams"][0]["time_base"]
        .as_str()
        .unwrap_or_else(|| panic!("no {stream} stream in {}", file.display()));
    let (n, d) = tb.split_once('/').unwrap();
    let (n, d): (i64, i64) = (n.parse().unwrap(), d.parse().unwrap());
    let packets = json["packets"].as_array().cloned().unwrap_or_default();
    assert!(
        !packets.is_empty(),
        "no samples in {} {stream}",
        file.display()
    );
    let int = |p: &serde_json::Value, k: &str| -> i64 {
        p[k].as_i64()
            .or_else(|| p[k].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| panic!("packet without {k} in {}: {p}", file.display()))
    };
    let dts0 = Seconds::new(int(&packets[0], "dts"), n, d);
    let pts0 = packets
        .iter()
        .map(|p| Seconds::new(int(p, "pts"), n, d))
        .min()
        .unwrap();
    packets
        .iter()
        .map(|p| StoredSample {
            dts: Seconds::new(int(p, "dts"), n, d).sub(dts0),
            pts: Seconds::new(int(p, "pts"), n, d).sub(pts0),
            duration: Seconds::new(int(p, "duration"), n, d),
            size: int(p, "size") as u64,
            keyframe: p["flags"].as_str().unwrap_or("").starts_with('K'),
            md5: p["data_hash"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

pub fn assert_same_samples(what: &str, expected: &[StoredSample], actual: &[StoredSample]) {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(
            e, a,
            "{what}: sample {i} differs (expected left, got right)"
        );
    }
    assert_eq!(
        expected.len(),
        actual.len(),
        "{what}: {} samples expected, {} got",
        expected.len(),
        actual.len()
    );
}

/// Decrypts with Shaka Packager's raw-key decrypter into `dest` (stream = video|audio).
pub fn shaka_decrypt(encrypted: &Path, stream: &str, dest: &Path, kid: &str, key: &str) {
    run_ok(
        Command::new(&tools().packager)
            .arg(format!(
                "in={},stream={stream},output={}",
                encrypted.display(),
                dest.display()
            ))
            .arg("--enable_raw_key_decryption")
            .arg("--keys")
            .arg(format!("label=:key_id={kid}:key={key}")),
    );
}

/// Validates an MPD against the MPEG-DASH schema in tests/data/schemas/dash with xmllint.
pub fn xmllint_mpd(mpd: &Path) {
    let schema = root().join("tests/data/schemas/dash/DASH-MPD.xsd");
    assert!(
        schema.is_file(),
        "DASH schema missing at {}",
        schema.display()
    );
    let xmllint = system_tool("xmllint", "apt-get install libxml2-utils");
    run_ok(
        Command::new(xmllint)
            .args(["--noout", "--schema"])
            .arg(&schema)
            .arg(mpd),
    );
}

/// The start of each media segment in decode time (tfdt of its first traf), and the timescale
/// (mdhd of the init segment), read with a minimal box walker of ISO/IEC 14496-12 §4.2 headers.
pub fn segment_starts(rendition: &Path) -> Vec<Seconds> {
    let init = std::fs::read(rendition.join("init.mp4")).unwrap();
    let mdhd = find_box(&init, &["moov", "trak", "mdia", "mdhd"])
        .unwrap_or_else(|| panic!("no moov/trak/mdia/mdhd in {}/init.mp4", rendition.display()));
    // FullBox: version(1) flags(3); v1: creation(8) modification(8) timescale(4); v0: 4+4+4.
    let timescale = if mdhd[0] == 1 {
        be32(&mdhd[20..])
    } else {
        be32(&mdhd[12..])
    } as i64;
    segments(rendition)
        .iter()
        .map(|seg| {
            let bytes = std::fs::read(seg).unwrap();
            let tfdt = find_box(&bytes, &["moof", "traf", "tfdt"])
                .unwrap_or_else(|| panic!("no moof/traf/tfdt in {}", seg.display()));
            let t = if tfdt[0] == 1 {
                be64(&tfdt[4..])
            } else {
                be32(&tfdt[4..]) as u64
            };
            Seconds::new(t as i64, 1, timescale)
        })
        .collect()
}

/// The payload of the first box at `path` (each element a 4CC, descending into children).
pub fn find_box<'a>(mut data: &'a [u8], path: &[&str]) -> Option<&'a [u8]> {
    for fourcc in path {
        let mut found = None;
        let mut pos = 0usize;
        while pos + 8 <= data.len() {
            let mut size = be32(&data[pos..]) as usize;
            let mut header = 8;
            if size == 1 {
                size = usize::try_from(be64(&data[pos + 8..])).ok()?;
                header = 16;
            } else if size == 0 {
                size = data.len() - pos;
            }
            if size < header || pos + size > data.len() {
                return None;
            }
            if &data[pos + 4..pos + 8] == fourcc.as_bytes() {
                found = Some(&data[pos + header..pos + size]);
                break;
            }
            pos += size;
        }
        data = found?;
    }
    Some(data)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().unwrap())
}

/// Makes a synthetic H.264 clip with ffmpeg's `testsrc2` (`size` like `640x360`, 25 fps), with
/// `encoder_args` after the input (codec, GOP, muxer flags).
pub fn synth_video(dest: &Path, size: &str, secs: u32, encoder_args: &[&str]) {
    run_ok(
        Command::new(&tools().ffmpeg)
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size={size}:rate=25"))
            .arg("-t")
            .arg(secs.to_string())
            .args(encoder_args)
            .arg(dest),
    );
}
