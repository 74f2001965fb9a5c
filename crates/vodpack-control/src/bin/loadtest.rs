//! Bounded loopback load test of the control plane (run by `scripts/loadtest-control.sh`):
//! 1. edge token verification in process (`EdgeAuth::verify`), one thread;
//! 2. the origin serving segments over HTTP/1.1 keep-alive on 127.0.0.1 (valid tokens);
//! 3. the origin refusing tampered tokens over HTTP (verification cost without file I/O).
//!
//! Reports requests per second and p50/p99 latency. Every loop is bounded by a request count and
//! a time limit; traffic goes to loopback only.
//!
//! Usage: `vodpack-control-loadtest [OUT_DIR] [--requests N] [--connections C] [--seconds S]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vodpack_control::api::unix_now;
use vodpack_control::edge_token::EdgeAuth;
use vodpack_control::serve::{start, ServeConfig, ServeKeys};
use vodpack_control::signed::Keyring;

struct Options {
    out_dir: PathBuf,
    requests: usize,
    connections: usize,
    seconds: u64,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        out_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cenc-shaka"),
        requests: 20_000,
        connections: 16,
        seconds: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--requests" => o.requests = num("--requests")?.clamp(1, 1_000_000) as usize,
            "--connections" => o.connections = num("--connections")?.clamp(1, 256) as usize,
            "--seconds" => o.seconds = num("--seconds")?.clamp(1, 300),
            _ if !a.starts_with('-') => o.out_dir = PathBuf::from(a),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(o)
}

fn report(name: &str, mut lat: Vec<Duration>, elapsed: Duration) {
    lat.sort();
    let n = lat.len().max(1);
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{name}: {} requests in {:.2} s = {:.0} req/s; p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
    );
}

/// One keep-alive connection sending GETs and reading responses (Content-Length bodies).
async fn client_loop(
    addr: std::net::SocketAddr,
    paths: Vec<String>,
    count: usize,
    deadline: Instant,
    expect: u16,
) -> Result<Vec<Duration>, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut lat = Vec::with_capacity(count);
    let mut buf = vec![0u8; 256 * 1024];
    for i in 0..count {
        if Instant::now() > deadline {
            break;
        }
        let path = &paths[i % paths.len()];
        let t = Instant::now();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut have = 0usize;
        let (status, header_end, body_len) = loop {
            let n = stream
                .read(&mut buf[have..])
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            have += n;
            if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or("bad status line")?;
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or("no content-length")?;
                break (status, end + 4, len);
            }
            if have == buf.len() {
                return Err("headers too large".into());
            }
        };
        let total = header_end + body_len;
        if total > buf.len() {
            return Err("response larger than the buffer".into());
        }
        while have < total {
            let n = stream
                .read(&mut buf[have..])
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            have += n;
        }
        if status != expect {
            return Err(format!("{path}: status {status}, expected {expect}"));
        }
        lat.push(t.elapsed());
    }
    Ok(lat)
}

async fn http_phase(
    name: &str,
    addr: std::net::SocketAddr,
    paths: &[String],
    o: &Options,
    expect: u16,
) -> Result<(), String> {
    let per_conn = o.requests.div_ceil(o.connections);
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..o.connections {
        let mut p = paths.to_vec();
        p.rotate_left(c % paths.len());
        tasks.push(tokio::spawn(client_loop(
            addr, p, per_conn, deadline, expect,
        )));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(|e| e.to_string())??);
    }
    report(name, lat, t0.elapsed());
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("loadtest: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let o = parse_args()?;
    println!(
        "loopback load test: {} requests max, {} connections, {} s max per phase, {} cores",
        o.requests,
        o.connections,
        o.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. In-process verification.
    let edge = EdgeAuth::new(Keyring::random("e1"));
    let now = unix_now();
    let token = edge
        .sign(
            now,
            now + 3600,
            &["/v/movie_123/*"],
            Some("ps_0123456789abcdef"),
            None,
        )
        .map_err(|e| e.to_string())?;
    let path = format!("/v/movie_123/tok={token}/video_1080p/seg_00042.m4s");
    let n = (o.requests * 10).min(1_000_000);
    let mut lat = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let v = edge.verify(std::hint::black_box(&path), now);
        lat.push(t.elapsed());
        assert!(v.is_ok());
        if Instant::now() > deadline {
            break;
        }
    }
    report("token verify (in process, 1 thread)", lat, t0.elapsed());

    // 2. and 3. The origin over HTTP.
    let mut config = ServeConfig::new(&o.out_dir);
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.events_path = Some(std::env::temp_dir().join("vodpack-loadtest-events.ndjson"));
    let server = start(config).await.map_err(|e| e.to_string())?;
    let manifest =
        vodpack_control::KeyManifest::load(vodpack_control::key_manifest::default_path(&o.out_dir))
            .map_err(|e| e.to_string())?;
    let asset = &manifest.asset_id;
    let token = server
        .control
        .edge
        .sign(
            now,
            now + 3600,
            &[&format!("/v/{asset}/*")],
            Some("ps_load"),
            None,
        )
        .map_err(|e| e.to_string())?;
    let mut segments = Vec::new();
    for r in &manifest.renditions {
        let dir = r.init_path.rsplit_once('/').map_or("", |(d, _)| d);
        let mut files: Vec<String> = std::fs::read_dir(o.out_dir.join(dir))
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.ends_with(".m4s"))
            .collect();
        files.sort();
        segments.extend(
            files
                .into_iter()
                .map(|f| format!("/v/{asset}/tok={token}/{dir}/{f}")),
        );
    }
    if segments.is_empty() {
        return Err("no .m4s segments in the output directory".into());
    }
    let sizes: u64 = segments.len() as u64;
    println!(
        "origin: {} distinct segments, server {}",
        sizes,
        server.url()
    );
    http_phase(
        "origin segments (HTTP, valid token)",
        server.addr,
        &segments,
        &o,
        200,
    )
    .await?;
    let mut forged = token.clone().into_bytes();
    let k = forged.len() - 1;
    forged[k] = if forged[k] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).map_err(|e| e.to_string())?;
    let refused: Vec<String> = segments
        .iter()
        .map(|p| p.replace(&token, &forged))
        .collect();
    http_phase(
        "origin refusals (HTTP, tampered token)",
        server.addr,
        &refused,
        &o,
        403,
    )
    .await?;
    server.shutdown().await.map_err(|e| e.to_string())?;
    Ok(())
}
