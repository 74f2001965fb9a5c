//! The origin streams: the server process (the `vodpack-control-loadtest serve` binary, the same
//! `serve::start` as `vodpack serve`) answers ranges of a 4 GiB single-file rendition (sparse)
//! to 64 concurrent keep-alive clients, and its peak RSS (`VmHWM`) stays under 64 MiB.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vodpack_control::key_manifest::default_path;

use crate::common::copy_dir;

const FILE_SIZE: u64 = 4 << 30;
const CLIENTS: usize = 64;
const RANGES_PER_CLIENT: usize = 4;
const RANGE: u64 = 2 << 20;

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// GETs `ranges` byte ranges on one keep-alive connection; returns the body bytes read.
async fn client(addr: String, path: String, seed: u64) -> u64 {
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..RANGES_PER_CLIENT as u64 {
        // Spread over the whole file, past 2 GiB and 4 GiB - 1 included.
        let start = (seed * 7919 + i * 104_729) * RANGE % (FILE_SIZE - RANGE);
        let end = start + RANGE - 1;
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nRange: bytes={start}-{end}\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        // Head.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 206"), "{head}");
        assert!(
            head.contains(&format!("content-range: bytes {start}-{end}/{FILE_SIZE}")),
            "{head}"
        );
        let mut left = RANGE;
        while left > 0 {
            let n = s
                .read(&mut buf[..left.min(64 * 1024) as usize])
                .await
                .unwrap();
            assert!(n > 0, "closed mid-body");
            left -= n as u64;
        }
        total += RANGE;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_a_4_gib_file_to_64_clients_stay_under_64_mib() {
    let _slot = crate::common::heavy_slot();
    let tmp = std::env::temp_dir().join(format!("vodpack-rss-{:016x}", rand::random::<u64>()));
    let out = tmp.join("out");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cenc-shaka");
    copy_dir(&fixture, &out);
    std::fs::copy(default_path(&fixture), default_path(&out)).unwrap();
    std::fs::File::create(out.join("video/media.mp4"))
        .unwrap()
        .set_len(FILE_SIZE)
        .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_vodpack-control-loadtest"))
        .arg("serve")
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let pid = child.id();
    let addr = ready["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let path = format!("{}/video/media.mp4", ready["prefix"].as_str().unwrap());
    let idle_rss = status_kib(pid, "VmRSS:");

    let t0 = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS as u64)
        .map(|c| tokio::spawn(client(addr.clone(), path.clone(), c)))
        .collect();
    let mut bytes = 0;
    let all = async {
        for t in tasks {
            bytes += t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(90), all)
        .await
        .expect("the clients did not finish within 90 s");
    let elapsed = t0.elapsed();
    let peak = status_kib(pid, "VmHWM:");
    drop(child.stdin.take()); // the server stops when its stdin closes
    let _ = child.wait();
    std::fs::remove_dir_all(&tmp).unwrap();
    eprintln!(
        "{CLIENTS} clients, {} MiB of ranges in {:.1} s; server RSS idle {} KiB, peak {} KiB",
        bytes >> 20,
        elapsed.as_secs_f64(),
        idle_rss,
        peak
    );
    assert_eq!(bytes, (CLIENTS * RANGES_PER_CLIENT) as u64 * RANGE);
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB is over 64 MiB (idle {idle_rss} KiB)"
    );
}
