//! The attack suite of issue 9 against `vodpack serve`: each test sends the attack over real
//! sockets on loopback and checks the refusal, bounded in time (timeouts are shortened through
//! `ServeConfig::limits` so the suite runs in seconds; the defaults are checked separately).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vodpack_control::api::unix_now;
use vodpack_control::key_manifest::default_path;
use vodpack_control::policy::ReloadOptions;
use vodpack_control::serve::{start, Limits, ServeConfig, ServeKeys, Server};

use crate::common::{cenc_fixture as fixture_dir, copy_dir, temp_dir};

const ASSET: &str = "fixture_cenc";
const KID_VIDEO: &str = "11111111111111111111111111111111";

/// A private copy of the fixture: `<tmp>/out/` with its key manifest at `<tmp>/out.keys.json`.
fn private_output(tag: &str) -> (PathBuf, PathBuf) {
    let tmp = temp_dir(&format!("attacks-{tag}"));
    let out = tmp.join("out");
    copy_dir(&fixture_dir(), &out);
    std::fs::copy(default_path(&fixture_dir()), default_path(&out)).unwrap();
    (tmp, out)
}

fn quick_policy_reload() -> ReloadOptions {
    ReloadOptions {
        poll_interval: Duration::from_millis(50),
        settle: Duration::from_millis(300),
    }
}

async fn server(out: &Path, edit: impl FnOnce(&mut ServeConfig)) -> Server {
    let mut config = ServeConfig::new(out);
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.events_path = Some(out.parent().unwrap().join("events.ndjson"));
    edit(&mut config);
    start(config).await.unwrap()
}

fn device() -> Value {
    json!({"platform": "web", "protocols": ["dash"], "key_systems": ["org.w3.clearkey"], "schemes": ["cenc"]})
}

/// A raw HTTP/1.1 exchange: sends `request` as is, reads until the server closes (or 5 s).
/// Answers the status (0 when the connection closed without an answer), headers and body.
fn raw(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_response(&out)
}

fn parse_response(out: &[u8]) -> (u16, String, Vec<u8>) {
    let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, String::new(), Vec::new());
    };
    let head = String::from_utf8_lossy(&out[..end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Header names in lower case (hyper writes them so), values as sent.
    let head = head
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((n, v)) => format!("{}: {v}", n.to_ascii_lowercase()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (status, head, out[end + 4..].to_vec())
}

fn get_req(addr: SocketAddr, path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n")
}

fn post_req(addr: SocketAddr, path: &str, extra: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn identity(s: &Server, plans: &[&str]) -> String {
    s.control.identity.issue("alice", plans, unix_now(), 600)
}

/// Playback start over a raw socket (so the test controls every header).
fn start_playback(s: &Server, plans: &[&str], extra: &str) -> (u16, Value) {
    let body = json!({"asset_id": ASSET, "device": device()}).to_string();
    let auth = format!("Authorization: Bearer {}\r\n{extra}", identity(s, plans));
    let (st, _, b) = raw(
        s.addr,
        &post_req(s.addr, "/v1/playback/start", &auth, &body),
    );
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn licence(s: &Server, token: &str, extra: &str) -> (u16, Value) {
    let kid = base64_url(KID_VIDEO);
    let body = json!({"kids": [kid], "type": "temporary"}).to_string();
    let auth = format!("Authorization: Bearer {token}\r\n{extra}");
    let (st, _, b) = raw(
        s.addr,
        &post_req(s.addr, "/v1/licence/clearkey", &auth, &body),
    );
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn base64_url(hex_kid: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hex::decode(hex_kid).unwrap())
}

fn edge_prefix(s: &Server) -> String {
    let now = unix_now();
    let token = s
        .control
        .edge
        .sign(now, now + 600, &[&format!("/v/{ASSET}/*")], None, None)
        .unwrap();
    format!("/v/{ASSET}/tok={token}")
}

// ---- Finding 1: cross-origin key theft and DNS rebinding ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_pages_cannot_mint_tokens_or_read_keys() {
    let (tmp, out) = private_output("cors");
    let s = server(&out, |c| {
        c.allow_origins = vec!["https://app.example.test".into()];
    })
    .await;
    let attacker = "Origin: http://attacker.example\r\n";

    // The page fetched by a foreign origin: refused; framed or navigated cross-site: no token.
    let (st, head, _) = raw(s.addr, &get_req(s.addr, "/", attacker));
    assert_eq!(st, 403);
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    for site in ["cross-site", "same-site"] {
        let (st, head, body) = raw(
            s.addr,
            &get_req(s.addr, "/", &format!("Sec-Fetch-Site: {site}\r\n")),
        );
        assert_eq!(st, 200);
        let page = String::from_utf8(body).unwrap();
        assert!(page.contains("\"identity_token\":null"), "{site}: {page}");
        assert!(head.contains("x-frame-options: DENY"), "{head}");
    }
    // A same-origin load (typed address, or from the server's own page) gets one.
    for extra in [
        "Sec-Fetch-Site: none\r\n".to_string(),
        format!(
            "Sec-Fetch-Site: same-origin\r\nOrigin: http://{}\r\n",
            s.addr
        ),
    ] {
        let (st, _, body) = raw(s.addr, &get_req(s.addr, "/", &extra));
        assert_eq!(st, 200);
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("\"identity_token\":\"vpid1."));
    }

    // The playback API and the licence endpoint: refused for a foreign origin (preflight too).
    let (st, v) = start_playback(&s, &[], attacker);
    assert_eq!(
        (st, v["reason"].as_str()),
        (403, Some("origin_not_allowed"))
    );
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /v1/licence/clearkey HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\
             Connection: close\r\n\r\n",
            s.addr
        )
    };
    let (st, head, _) = raw(s.addr, &preflight("http://attacker.example"));
    assert_eq!(st, 403);
    assert!(!head.contains("access-control-allow-origin"));
    let (st, head, _) = raw(s.addr, &preflight("null"));
    assert_eq!(st, 403, "{head}");
    let (st, head, _) = raw(s.addr, &preflight("https://app.example.test"));
    assert_eq!(st, 204);
    assert!(
        head.contains("access-control-allow-origin: https://app.example.test"),
        "{head}"
    );
    // Same origin works (also as https:// behind a TLS proxy forwarding the Host), and an
    // allowed origin gets its own name back, never `*`.
    let (st, _) = start_playback(&s, &[], &format!("Origin: https://{}\r\n", s.addr));
    assert_eq!(st, 200);
    let (st, _) = start_playback(&s, &[], &format!("Origin: http://{}.evil\r\n", s.addr));
    assert_eq!(st, 403);
    let (st, pb) = start_playback(&s, &[], &format!("Origin: http://{}\r\n", s.addr));
    assert_eq!(st, 200, "{pb}");
    let token = pb["drm"]["licence_token"].as_str().unwrap();
    let (st, _) = licence(&s, token, attacker);
    assert_eq!(st, 403);
    let (st, _) = licence(&s, token, "Origin: https://app.example.test\r\n");
    assert_eq!(st, 200);
    // Telemetry (a "simple" request a page can send without preflight) is refused too.
    let (st, _, _) = raw(
        s.addr,
        &post_req(s.addr, "/v1/playback/events", attacker, "{\"events\":[]}"),
    );
    assert_eq!(st, 403);

    // Media and manifests stay open to any origin (encrypted, token-gated).
    let path = format!("{}/manifest.mpd", edge_prefix(&s));
    let (st, head, _) = raw(s.addr, &get_req(s.addr, &path, attacker));
    assert_eq!(st, 200);
    assert!(head.contains("access-control-allow-origin: *"), "{head}");

    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_rebinding_hosts_are_refused() {
    let (tmp, out) = private_output("host");
    let s = server(&out, |c| {
        c.public_hosts = vec!["play.example.test".into()];
    })
    .await;
    let port = s.addr.port();
    let media = format!("{}/manifest.mpd", edge_prefix(&s));
    let body = json!({"asset_id": ASSET, "device": device()}).to_string();
    let auth = format!("Authorization: Bearer {}\r\n", identity(&s, &[]));
    for host in [
        format!("attacker.example:{port}"),
        "attacker.example".to_string(),
        format!("127.0.0.2:{port}"),
        format!("localhost:{}", port.wrapping_add(1)),
        String::new(),
    ] {
        for req in [
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            format!(
                "POST /v1/playback/start HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            ),
            format!("GET {media} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        ] {
            let (st, _, b) = raw(s.addr, &req);
            assert!(st == 403 || st == 400, "Host {host:?}: {st}");
            if st == 403 {
                let v: Value = serde_json::from_slice(&b).unwrap();
                assert_eq!(v["reason"], "host_not_allowed");
            }
        }
    }
    // An absolute-form target naming another host is refused too.
    let (st, _, _) = raw(
        s.addr,
        &format!(
            "GET http://attacker.example:{port}/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.addr
        ),
    );
    assert_eq!(st, 403);
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        "play.example.test".to_string(),
        format!("play.example.test:{port}"),
    ] {
        let (st, _, _) = raw(
            s.addr,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(st, 200, "Host {host}");
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- Finding 2: timeouts and the connection cap ----

#[test]
fn default_limits_are_bounded() {
    let l = Limits::default();
    assert!(l.header_read_timeout <= Duration::from_secs(10));
    assert!(l.body_timeout <= Duration::from_secs(30));
    assert!(l.write_stall_timeout <= Duration::from_secs(60));
    assert!(l.max_connections >= 64 && l.max_connections <= 4096);
}

fn short_limits(max_connections: usize) -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        write_stall_timeout: Duration::from_millis(800),
        max_connections,
    }
}

/// True when the server closed the connection (EOF or reset) before `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an error answer before closing
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

fn good_request_status(addr: SocketAddr) -> u16 {
    raw(addr, &get_req(addr, "/favicon.ico", "")).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_while_others_are_served() {
    let (tmp, out) = private_output("slowloris");
    let s = server(&out, |c| c.limits = short_limits(8)).await;
    let addr = s.addr;
    let t0 = Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        // Five clients trickling a header byte every 100 ms.
        let mut slow: Vec<TcpStream> = (0..5)
            .map(|_| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(b"GET / HTTP/1.1\r\nHost: x").unwrap();
                c
            })
            .collect();
        let mut cut = vec![false; slow.len()];
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) && cut.iter().any(|c| !c) {
            // Meanwhile a well-behaved client is served.
            assert_eq!(good_request_status(addr), 204);
            for (i, c) in slow.iter_mut().enumerate() {
                if !cut[i] && c.write_all(b"a").is_err() {
                    cut[i] = true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for (i, c) in slow.iter_mut().enumerate() {
            if !cut[i] {
                cut[i] = closed_within(c, Duration::from_millis(200));
            }
        }
        cut
    })
    .await
    .unwrap();
    assert!(
        result.iter().all(|c| *c),
        "trickling clients not cut: {result:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(4));
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_refuses_gracefully_and_recovers() {
    let (tmp, out) = private_output("cap");
    let s = server(&out, |c| c.limits = short_limits(8)).await;
    let addr = s.addr;
    tokio::task::spawn_blocking(move || {
        // Eight idle connections take every slot; more are refused with 503, not hung.
        let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let (st, head, body) = raw(addr, &get_req(addr, "/favicon.ico", ""));
        assert_eq!(st, 503, "{head}");
        assert!(head.contains("retry-after"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("too_many_connections"));
        assert!(t.elapsed() < Duration::from_secs(1));
        // Once the idle ones are cut by the header timeout, service is back.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let st = good_request_status(addr);
            if st == 204 {
                break;
            }
            assert_eq!(st, 503);
            assert!(Instant::now() < deadline, "service did not come back");
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(idle);
        // Seventy slow clients (more than the cap): nobody waits forever, all are cut.
        let mut many: Vec<TcpStream> = (0..70)
            .map(|_| {
                let mut c = TcpStream::connect(addr).unwrap();
                let _ = c.write_all(b"GET / HTTP/1.1\r\n");
                c
            })
            .collect();
        for c in &mut many {
            assert!(closed_within(c, Duration::from_secs(3)));
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while good_request_status(addr) != 204 {
            assert!(Instant::now() < deadline, "service did not come back");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_and_slow_bodies_and_stalled_readers_are_cut() {
    let (tmp, out) = private_output("idle");
    // A 1 GiB sparse file: its response cannot fit in socket buffers.
    let big = out.join("video/big.m4s");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let s = server(&out, |c| c.limits = short_limits(1)).await;
    let addr = s.addr;
    let prefix = edge_prefix(&s);
    tokio::task::spawn_blocking(move || {
        // Keep-alive: one request answered, then idle → closed after the header/idle timeout.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(format!("GET /favicon.ico HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .unwrap();
        let mut buf = [0u8; 1024];
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let n = c.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 204"));
        let t = Instant::now();
        assert!(closed_within(&mut c, Duration::from_secs(3)));
        assert!(t.elapsed() >= Duration::from_millis(500), "{:?}", t.elapsed());
        drop(c);

        // A body that never arrives: 408 within the body timeout, then closed.
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(
            format!(
                "POST /v1/playback/events HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{\"ev"
            )
            .as_bytes(),
        )
        .unwrap();
        let t = Instant::now();
        let mut out = Vec::new();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let _ = c.read_to_end(&mut out);
        assert_eq!(parse_response(&out).0, 408);
        assert!(t.elapsed() < Duration::from_secs(2));
        drop(c);

        // A client that asks for 1 GiB and stops reading: cut after the write-stall timeout,
        // freeing the only slot for the next client.
        // (The slot of the previous connection is freed just after its client saw the end.)
        let deadline = Instant::now() + Duration::from_secs(2);
        let c = loop {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(get_req(addr, &format!("{prefix}/video/big.m4s"), "").as_bytes())
                .unwrap();
            let mut peek = [0u8; 12];
            c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            c.read_exact(&mut peek).unwrap();
            if &peek == b"HTTP/1.1 200" {
                break c;
            }
            assert!(Instant::now() < deadline, "the slot was not freed");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(good_request_status(addr), 503, "the slot is taken");
        let deadline = Instant::now() + Duration::from_secs(4);
        loop {
            if good_request_status(addr) == 204 {
                break;
            }
            assert!(Instant::now() < deadline, "the stalled reader was not cut");
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(c);
    })
    .await
    .unwrap();
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- Findings 3 and 4: telemetry ----

fn now_ms() -> i64 {
    (unix_now() * 1000) as i64
}

fn post_events(addr: SocketAddr, body: &str) -> (u16, Value) {
    let (st, _, b) = raw(addr, &post_req(addr, "/v1/playback/events", "", body));
    (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_junk_is_refused_and_not_stored_and_rejects_are_bounded() {
    let (tmp, out) = private_output("junk");
    let s = server(&out, |_| {}).await;
    let addr = s.addr;
    let (st, pb) = start_playback(&s, &[], "");
    assert_eq!(st, 200);
    let session = pb["telemetry"]["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let events = s.events_path.clone().unwrap();
    let rejected = PathBuf::from(format!("{}.rejected", events.display()));
    let bearer = identity(&s, &[]);
    tokio::task::spawn_blocking(move || {
        // Junk, JSON without tokens, forged tokens, a token of another kind: 200 of each.
        let junk = "x".repeat(60_000);
        let forged = json!({"events": [{"session_token": "vps1.s1.e30.AAAA", "event_id": "a", "seq": 0, "type": "play", "ts": now_ms(), "position": 0}]}).to_string();
        let identity_as_session = json!({"events": [{"session_token": bearer, "event_id": "a", "seq": 0, "type": "play", "ts": now_ms(), "position": 0}]}).to_string();
        let no_token = json!({"events": [{"event_id": "a", "seq": 0, "type": "play", "ts": now_ms(), "position": 0, "note": bearer}]}).to_string();
        for body in [&junk, &forged, &identity_as_session, &no_token] {
            for _ in 0..50 {
                let (st, _) = post_events(addr, body);
                assert_eq!(st, 400);
            }
        }
        assert!(
            std::fs::metadata(&rejected).map_or(0, |m| m.len()) == 0,
            "anonymous junk reached the dead-letter file"
        );
        assert!(!events.exists() || std::fs::read_to_string(&events).unwrap().is_empty());

        // Authenticated but invalid batches: stored as dead letters at a bounded rate, no token.
        let t = Instant::now();
        for i in 0..300 {
            let bad = json!({"events": [{"session_token": session, "event_id": format!("b{i}"), "seq": 0, "type": "teleport", "ts": now_ms(), "position": 0}]}).to_string();
            assert_eq!(post_events(addr, &bad).0, 400);
        }
        let elapsed = t.elapsed().as_secs_f64();
        let text = std::fs::read_to_string(&rejected).unwrap();
        let stored = text.lines().count();
        assert!(stored >= 20, "{stored}");
        assert!(
            (stored as f64) <= 20.0 + 2.0 * elapsed + 1.0,
            "{stored} rejects stored in {elapsed:.1} s"
        );
        assert!(!text.contains("vps1.") && !text.contains(&session), "{text}");
    })
    .await
    .unwrap();
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn dead_letter_file_is_capped() {
    use vodpack_control::telemetry::{EventSink, FileSink, RejectRecord};
    let dir = std::env::temp_dir().join(format!("vodpack-dlcap-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = FileSink::new(dir.join("e.ndjson")).with_rejected_limit(10_000);
    let record = RejectRecord {
        schema_version: 1,
        reason: "invalid_event".into(),
        message: "m".into(),
        session_id: "ps_1".into(),
        asset_id: ASSET.into(),
        received_at: 0,
        body: "y".repeat(1000),
        truncated: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut refused = 0;
    for _ in 0..100 {
        if rt.block_on(sink.dead_letter(&record)).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 80);
    assert!(std::fs::metadata(sink.rejected_path()).unwrap().len() <= 10_000);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_identical_events_at_once_are_stored_once() {
    let (tmp, out) = private_output("dedup");
    let s = server(&out, |_| {}).await;
    let (st, pb) = start_playback(&s, &[], "");
    assert_eq!(st, 200);
    let session = pb["telemetry"]["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let events = s.events_path.clone().unwrap();
    let addr = s.addr;
    for trial in 0..10 {
        let body = json!({"events": [{"session_token": session, "event_id": format!("race{trial}"), "seq": trial, "type": "heartbeat", "ts": now_ms(), "position": 1.0}]}).to_string();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let body = body.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    let req = post_req(addr, "/v1/playback/events", "", &body);
                    barrier.wait();
                    c.write_all(req.as_bytes()).unwrap();
                    let mut out = Vec::new();
                    c.read_to_end(&mut out).unwrap();
                    let (st, _, b) = parse_response(&out);
                    assert_eq!(st, 202);
                    let v: Value = serde_json::from_slice(&b).unwrap();
                    v["accepted"].as_u64().unwrap()
                })
            })
            .collect();
        let accepted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(accepted, 1, "trial {trial}");
        let stored = std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .filter(|l| l.contains(&format!("\"race{trial}\"")))
            .count();
        assert_eq!(stored, 1, "trial {trial}");
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- Finding 5: policy reload ----

const POLICY_GEO: &str = "[default]\nplans = [\"*\"]\ngeo_deny = [\"FR\"]\n";

fn start_from(s: &Server, country: &str) -> u16 {
    start_playback(s, &[], &format!("X-Client-Country: {country}\r\n")).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_reload_never_takes_half_files_and_never_blocks() {
    let (tmp, out) = private_output("policy");
    let policy = tmp.join("policy.toml");
    std::fs::write(&policy, POLICY_GEO).unwrap();
    let s = server(&out, |c| {
        c.policy_path = Some(policy.clone());
        c.policy_reload = quick_policy_reload();
        c.country_header = Some("x-client-country".into());
    })
    .await;
    assert_eq!(start_from(&s, "FR"), 403);
    assert_eq!(start_from(&s, "US"), 200);

    // An in-place edit written in two steps: the valid prefix (no geo rule: fail-open if taken)
    // must never be loaded; the whole file is loaded once stable.
    let full = "[default]\nplans = [\"*\"]\ngeo_deny = [\"FR\", \"DE\"]\n";
    let prefix = "[default]\nplans = [\"*\"]\n";
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&policy)
            .unwrap();
        f.write_all(prefix.as_bytes()).unwrap();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                start_from(&s, "FR"),
                403,
                "a half-written policy was loaded"
            );
        }
        f.write_all(&full.as_bytes()[prefix.len()..]).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while start_from(&s, "DE") != 403 {
        assert!(
            Instant::now() < deadline,
            "the complete edit was not loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(start_from(&s, "FR"), 403);

    // An empty file (truncate, then nothing): the last good policy stays (no deny-everyone).
    std::fs::write(&policy, "").unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(start_from(&s, "US"), 200);
    assert_eq!(start_from(&s, "DE"), 403);

    // A FIFO at the policy path: never opened, every route keeps answering promptly.
    std::fs::remove_file(&policy).unwrap();
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(&policy)
        .status()
        .unwrap();
    assert!(mkfifo.success());
    let t = Instant::now();
    for _ in 0..10 {
        assert_eq!(start_from(&s, "US"), 200);
        assert_eq!(start_from(&s, "DE"), 403);
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    // Replaced by a regular file again (atomic rename, the recommended way): loaded.
    let next = tmp.join("policy.toml.new");
    std::fs::write(&next, "[default]\nplans = [\"*\"]\n").unwrap();
    std::fs::rename(&next, &policy).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while start_from(&s, "DE") != 200 {
        assert!(
            Instant::now() < deadline,
            "the renamed policy was not loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.shutdown().await.unwrap();

    // A FIFO at start-up is an error, not a hang.
    std::fs::remove_file(&policy).unwrap();
    std::process::Command::new("mkfifo")
        .arg(&policy)
        .status()
        .unwrap();
    let mut config = ServeConfig::new(&out);
    config.port = 0;
    config.policy_path = Some(policy.clone());
    let r = tokio::time::timeout(Duration::from_secs(2), start(config))
        .await
        .expect("start blocked on a FIFO");
    assert!(r.is_err());
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- Finding 6: links inside OUT ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_inside_out_are_never_served() {
    let (tmp, out) = private_output("links");
    let km = default_path(&out);
    let v = out.join("video");
    std::os::unix::fs::symlink(&km, v.join("sym-km.m4s")).unwrap();
    std::os::unix::fs::symlink(v.join("seg_1.m4s"), v.join("sym-seg.m4s")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", v.join("sym-etc.m4s")).unwrap();
    std::os::unix::fs::symlink(&v, out.join("vlink")).unwrap();
    std::fs::hard_link(&km, v.join("hard-km.m4s")).unwrap();
    std::fs::hard_link(&km, out.join("key-manifest.json")).unwrap();
    std::process::Command::new("mkfifo")
        .arg(v.join("fifo.m4s"))
        .status()
        .unwrap();
    std::fs::create_dir(v.join("dir.m4s")).unwrap();
    let s = server(&out, |_| {}).await;
    let prefix = edge_prefix(&s);
    let (st, _, _) = raw(
        s.addr,
        &get_req(s.addr, &format!("{prefix}/video/seg_1.m4s"), ""),
    );
    assert_eq!(st, 200);
    let t = Instant::now();
    for f in [
        "video/sym-km.m4s",
        "video/sym-seg.m4s",
        "video/sym-etc.m4s",
        "vlink/seg_1.m4s",
        "video/hard-km.m4s",
        "key-manifest.json",
        "video/fifo.m4s",
        "video/dir.m4s",
    ] {
        let (st, _, body) = raw(s.addr, &get_req(s.addr, &format!("{prefix}/{f}"), ""));
        assert_eq!(st, 404, "{f}");
        assert!(!String::from_utf8_lossy(&body).contains(KID_VIDEO), "{f}");
    }
    assert!(t.elapsed() < Duration::from_secs(3), "a FIFO blocked");
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- Finding 7: revocation ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licences_follow_the_policy_in_force() {
    let (tmp, out) = private_output("revoke");
    let policy = tmp.join("policy.toml");
    std::fs::write(&policy, "[default]\nplans = [\"premium\"]\n").unwrap();
    let s = server(&out, |c| {
        c.policy_path = Some(policy.clone());
        c.policy_reload = quick_policy_reload();
        c.country_header = Some("x-client-country".into());
    })
    .await;
    let (st, pb) = start_playback(&s, &["premium"], "X-Client-Country: FR\r\n");
    assert_eq!(st, 200, "{pb}");
    let token = pb["drm"]["licence_token"].as_str().unwrap().to_string();
    assert!(!pb["drm"]["licence_url"].as_str().unwrap().contains("token"));
    assert_eq!(licence(&s, &token, "X-Client-Country: FR\r\n").0, 200);
    // The token in the URL is refused (it would be logged).
    let kid = base64_url(KID_VIDEO);
    let (st, _, b) = raw(
        s.addr,
        &post_req(
            s.addr,
            &format!("/v1/licence/clearkey?token={token}"),
            "",
            &json!({"kids": [kid]}).to_string(),
        ),
    );
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&b).contains("token_in_url"));

    // Geo: the country now denied → refused, with the live trusted country header.
    let replace = |text: &str| {
        let next = tmp.join("policy.next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, &policy).unwrap();
    };
    replace("[default]\nplans = [\"premium\"]\ngeo_deny = [\"FR\"]\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (st, v) = licence(&s, &token, "X-Client-Country: FR\r\n");
        if st == 403 {
            assert_eq!(v["reason"], "geo_blocked");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "geo change not applied: {st} {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(licence(&s, &token, "X-Client-Country: US\r\n").0, 200);
    // Entitlement removed → refused at once for the old token.
    replace("[default]\nplans = [\"gold\"]\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (st, v) = licence(&s, &token, "X-Client-Country: US\r\n");
        if st == 403 {
            assert_eq!(v["reason"], "not_entitled");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revocation not applied: {st} {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

// ---- The origin: conditional requests, ranges, HEAD, types ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_conditional_requests_and_ranges() {
    let (tmp, out) = private_output("cond");
    let s = server(&out, |_| {}).await;
    let prefix = edge_prefix(&s);
    let seg = std::fs::read(out.join("video/seg_1.m4s")).unwrap();
    let url = format!("{prefix}/video/seg_1.m4s");
    let header = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().to_string())
    };
    let (st, head, body) = raw(s.addr, &get_req(s.addr, &url, ""));
    assert_eq!(st, 200);
    assert_eq!(body, seg);
    let etag = header(&head, "etag").unwrap();
    let last_modified = header(&head, "last-modified").unwrap();
    assert_eq!(
        header(&head, "cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&head, "content-type").unwrap(), "video/mp4");

    // If-None-Match (any form) and If-Modified-Since → 304 with the validators.
    for cond in [
        format!("If-None-Match: {etag}\r\n"),
        format!("If-None-Match: \"nope\", W/{etag}\r\n"),
        format!("If-Modified-Since: {last_modified}\r\n"),
    ] {
        let (st, head, body) = raw(s.addr, &get_req(s.addr, &url, &cond));
        assert_eq!(st, 304, "{cond}");
        assert!(body.is_empty());
        assert!(head.contains("etag:"), "{head}");
    }
    // If-None-Match wins over If-Modified-Since.
    let (st, _, _) = raw(
        s.addr,
        &get_req(
            s.addr,
            &url,
            &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {last_modified}\r\n"),
        ),
    );
    assert_eq!(st, 200);
    // If-Range: matching → the range; stale → the whole file.
    let (st, head, body) = raw(
        s.addr,
        &get_req(
            s.addr,
            &url,
            &format!("Range: bytes=10-19\r\nIf-Range: {etag}\r\n"),
        ),
    );
    assert_eq!(st, 206);
    assert_eq!(body, &seg[10..20]);
    assert!(head.contains(&format!("content-range: bytes 10-19/{}", seg.len())));
    for stale in ["\"stale\"", "W/\"x\"", "Mon, 01 Jan 2001 00:00:00 GMT"] {
        let (st, _, body) = raw(
            s.addr,
            &get_req(
                s.addr,
                &url,
                &format!("Range: bytes=10-19\r\nIf-Range: {stale}\r\n"),
            ),
        );
        assert_eq!((st, body.len()), (200, seg.len()), "{stale}");
    }
    let (st, _, body) = raw(
        s.addr,
        &get_req(
            s.addr,
            &url,
            &format!("Range: bytes=0-3\r\nIf-Range: {last_modified}\r\n"),
        ),
    );
    assert_eq!((st, body.as_slice()), (206, &seg[..4]));
    // Several ranges: the whole file.
    let (st, _, body) = raw(s.addr, &get_req(s.addr, &url, "Range: bytes=0-1,5-6\r\n"));
    assert_eq!((st, body.len()), (200, seg.len()));
    // HEAD: the headers, no body.
    let (st, head, body) = raw(
        s.addr,
        &format!(
            "HEAD {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.addr
        ),
    );
    assert_eq!(st, 200);
    assert!(body.is_empty());
    assert_eq!(
        header(&head, "content-length").unwrap(),
        seg.len().to_string()
    );
    // Types of the outputs present.
    for (f, t, cc) in [
        ("manifest.mpd", "application/dash+xml", "public, max-age=5"),
        (
            "master.m3u8",
            "application/vnd.apple.mpegurl",
            "public, max-age=5",
        ),
        (
            "audio/init.mp4",
            "audio/mp4",
            "public, max-age=31536000, immutable",
        ),
        (
            "video/init.mp4",
            "video/mp4",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let (st, head, _) = raw(s.addr, &get_req(s.addr, &format!("{prefix}/{f}"), ""));
        assert_eq!(st, 200, "{f}");
        assert_eq!(header(&head, "content-type").unwrap(), t, "{f}");
        assert_eq!(header(&head, "cache-control").unwrap(), cc, "{f}");
    }
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}

/// Drops `path`'s pages from the page cache (they are clean after `sync_all`), so the origin's
/// next read of it has to wait for the disk: the blocking-pool path of its file access.
#[cfg(target_os = "linux")]
fn evict_from_page_cache(path: &Path) {
    let f = std::fs::File::open(path).unwrap();
    f.sync_all().unwrap();
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
}

#[cfg(not(target_os = "linux"))]
fn evict_from_page_cache(_: &Path) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_streams_cold_and_cached_ranges_and_answers_preconditions() {
    let (tmp, out) = private_output("stream");
    // 1 MiB + 3 of distinct bytes: reads cross the origin's 128 KiB read size unaligned.
    let data: Vec<u8> = (0..(1u32 << 20) + 3)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = out.join("video/cold.m4s");
    std::fs::write(&file, &data).unwrap();
    let s = server(&out, |_| {}).await;
    let url = format!("{}/video/cold.m4s", edge_prefix(&s));
    let header = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().to_string())
    };
    // The same requests from the disk (evicted) and from the page cache.
    for round in ["cold", "cached"] {
        if round == "cold" {
            evict_from_page_cache(&file);
        }
        let (st, _, body) = raw(s.addr, &get_req(s.addr, &url, ""));
        assert_eq!((st, body.len()), (200, data.len()), "{round}");
        assert!(body == data, "{round}: whole file differs");
        if round == "cold" {
            evict_from_page_cache(&file);
        }
        let (a, b) = (100_001usize, 700_000usize);
        let (st, head, body) = raw(
            s.addr,
            &get_req(s.addr, &url, &format!("Range: bytes={a}-{b}\r\n")),
        );
        assert_eq!(st, 206, "{round}");
        assert_eq!(
            header(&head, "content-range").unwrap(),
            format!("bytes {a}-{b}/{}", data.len())
        );
        assert!(body == data[a..=b], "{round}: range differs");
        let (st, _, body) = raw(s.addr, &get_req(s.addr, &url, "Range: bytes=-5\r\n"));
        assert_eq!(
            (st, body.as_slice()),
            (206, &data[data.len() - 5..]),
            "{round}"
        );
    }
    // A range past the end: 416 with the current length.
    let (st, head, body) = raw(
        s.addr,
        &get_req(s.addr, &url, &format!("Range: bytes={}-\r\n", data.len())),
    );
    assert_eq!(st, 416);
    assert!(body.is_empty(), "{head} {}", String::from_utf8_lossy(&body));
    assert_eq!(
        header(&head, "content-range").unwrap(),
        format!("bytes */{}", data.len())
    );
    // If-Unmodified-Since: 412 once the file changed after the date, the file otherwise.
    let (st, head, _) = raw(s.addr, &get_req(s.addr, &url, ""));
    assert_eq!(st, 200);
    let last_modified = header(&head, "last-modified").unwrap();
    let (st, _, body) = raw(
        s.addr,
        &get_req(
            s.addr,
            &url,
            &format!("If-Unmodified-Since: {last_modified}\r\n"),
        ),
    );
    assert_eq!((st, body.len()), (200, data.len()));
    let (st, _, body) = raw(
        s.addr,
        &get_req(
            s.addr,
            &url,
            "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n",
        ),
    );
    assert_eq!((st, body.len()), (412, 0));
    // HEAD of a range: the headers only.
    let (st, _, body) = raw(
        s.addr,
        &format!(
            "HEAD {url} HTTP/1.1\r\nHost: {}\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n",
            s.addr
        ),
    );
    assert!(matches!(st, 200 | 206), "{st}");
    assert!(body.is_empty());
    s.shutdown().await.unwrap();
    std::fs::remove_dir_all(tmp).unwrap();
}
