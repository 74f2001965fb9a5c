//! Issue 4's proof on vodpack's own output: the real `vodpack` binary packages the fixture ladder
//! (H.264 240p/360p/720p + AAC, cenc and cbcs, Clear Key + Widevine signalling), the control
//! plane serves it with the example policy (docs/examples/policy.toml), and
//! - the token-checking origin serves every file the manifests reference, through relative URLs
//!   that inherit the path token (DASH SegmentTemplate, HLS media and I-frame playlists, byte
//!   ranges), with the right MIME types and caching, and refuses everything else;
//! - headless Chromium (Shaka Player) calls `POST /v1/playback/start` with an identity token
//!   minted here, plays DASH and HLS, cenc and cbcs, through the origin with the Clear Key licence
//!   from the licence endpoint, seeks, and its telemetry lands in the NDJSON sink;
//! - the same output with wrong keys in the key manifest fails to play (decryption is real).
//!
//! Needs `npm install --prefix tests/serve --no-audit --no-fund` (playwright-core, shaka-player),
//! node and /usr/bin/chromium (or `$CHROMIUM`); fails with a clear message when one is missing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quick_xml::events::Event;
use serde_json::{json, Value};
use vodpack_control::serve::{start, ServeConfig, ServeKeys, Server};
use vodpack_test_support::{browser_requirements, play_page, serve_driver};

const ASSET: &str = "movie_123";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `vodpack package` of the fixture ladder into `out`.
fn package(scheme: &str, out: &Path) {
    let fx = repo().join("fixtures");
    let o = Command::new(env!("CARGO_BIN_EXE_vodpack"))
        .args(["package", "--quiet", "-o"])
        .arg(out)
        .args(["--asset-id", ASSET, "--protection", scheme])
        .args(["--drm", "clearkey,widevine"])
        .arg(fx.join("h264_240p.mp4"))
        .arg(fx.join("h264_360p.mp4"))
        .arg(fx.join("h264_720p.mp4"))
        .arg(format!("in={},lang=en", fx.join("aac_en.mp4").display()))
        .output()
        .expect("run vodpack");
    assert!(
        o.status.success(),
        "vodpack package --protection {scheme} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

struct Running {
    rt: tokio::runtime::Runtime,
    server: Server,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    fn identity(&self, sub: &str, plans: &[&str]) -> String {
        self.server
            .control
            .identity
            .issue(sub, plans, unix_now(), 600)
    }

    fn stop(self) {
        self.rt
            .block_on(self.server.shutdown())
            .expect("server shutdown");
    }
}

/// The control plane in-process (what `vodpack serve OUT --policy docs/examples/policy.toml`
/// runs), on a free loopback port, with keys this test knows so it can mint identity tokens;
/// its player page plays with the players embedded in the binary.
fn serve(out: &Path, events: PathBuf) -> Running {
    serve_driver();
    serve_with(out, events)
}

/// `vodpack serve` in-process.
fn serve_with(out: &Path, events: PathBuf) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut config = ServeConfig::new(out);
    config.port = 0;
    config.keys = Some(ServeKeys::random());
    config.policy_path = Some(repo().join("docs/examples/policy.toml"));
    config.events_path = Some(events);
    config.player_subject = None;
    let server = rt.block_on(start(config)).expect("serve starts");
    Running { rt, server }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }
}

/// One HTTP/1.1 exchange over a fresh connection (no client library needed for loopback).
fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ASCII header");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if reply.header("transfer-encoding") == Some("chunked") {
        reply.body = dechunk(&reply.body);
    }
    reply
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16)
            .expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

fn playback_start(run: &Running, identity: &str, protocol: &str, country: &str) -> Reply {
    let body = json!({
        "asset_id": ASSET,
        "device": {"platform": "web", "protocols": [protocol],
                   "key_systems": ["org.w3.clearkey"], "schemes": ["cenc", "cbcs"]},
        "country": country,
    });
    http(
        run.addr(),
        "POST",
        "/v1/playback/start",
        &[
            ("Authorization", &format!("Bearer {identity}")),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// The file path inside the output directory that an origin URL names: what follows the
/// `tok=…` path segment.
fn rel_of(url: &str) -> &str {
    let tok = url.find("/tok=").expect("token path segment");
    let after = &url[tok + 1..];
    &after[after.find('/').expect("path after the token") + 1..]
}

/// RFC 3986 resolution of a relative reference against a manifest URL, for the references
/// vodpack writes: relative, no dot segments, so the result keeps the base's token segment.
fn resolve(base: &str, reference: &str) -> String {
    assert!(
        !reference.contains("://")
            && !reference.starts_with('/')
            && !reference.split('/').any(|s| s == ".." || s == "."),
        "manifests must stay relative: {reference:?}"
    );
    let dir = &base[..base.rfind('/').expect("a path") + 1];
    format!("{dir}{reference}")
}

/// GETs `url` from the origin and checks it against the file on disk (or its byte range).
fn fetch_checked(run: &Running, out: &Path, url: &str, range: Option<(u64, u64)>) -> Vec<u8> {
    let range_header = range.map(|(off, len)| format!("bytes={off}-{}", off + len - 1));
    let headers: Vec<(&str, &str)> = range_header
        .as_deref()
        .map(|r| vec![("Range", r)])
        .unwrap_or_default();
    let r = http(run.addr(), "GET", url, &headers, b"");
    let rel = rel_of(url);
    let file = std::fs::read(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let expected = match range {
        Some((off, len)) => {
            assert_eq!(r.status, 206, "{url}");
            assert_eq!(
                r.header("content-range"),
                Some(format!("bytes {off}-{}/{}", off + len - 1, file.len()).as_str()),
                "{url}"
            );
            file[off as usize..(off + len) as usize].to_vec()
        }
        None => {
            assert_eq!(r.status, 200, "{url}: {}", String::from_utf8_lossy(&r.body));
            file
        }
    };
    assert!(
        r.body == expected,
        "{url}: the origin's bytes differ from {rel}"
    );
    let manifest = rel.ends_with(".m3u8") || rel.ends_with(".mpd");
    let mime = if rel.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl"
    } else if rel.ends_with(".mpd") {
        "application/dash+xml"
    } else if rel.starts_with("audio_") {
        "audio/mp4"
    } else {
        "video/mp4"
    };
    assert_eq!(r.header("content-type"), Some(mime), "{url}");
    assert_eq!(
        r.header("cache-control"),
        Some(if manifest {
            "public, max-age=5"
        } else {
            "public, max-age=31536000, immutable"
        }),
        "{url}"
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{url}");
    r.body
}

fn attr<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// Walks an HLS master playlist as a player would; answers the files reached.
fn walk_hls(run: &Running, out: &Path, master_url: &str) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let master = String::from_utf8(fetch_checked(run, out, master_url, None)).unwrap();
    reached.insert(rel_of(master_url).to_string());
    let mut playlists = BTreeSet::new();
    for line in master.lines() {
        if line.starts_with("#EXT-X-MEDIA:") || line.starts_with("#EXT-X-I-FRAME-STREAM-INF:") {
            playlists.insert(attr(line, "URI").expect("URI").to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            playlists.insert(line.trim().to_string());
        }
    }
    assert!(
        playlists.iter().any(|p| p.ends_with("iframes.m3u8")),
        "no I-frame playlist in {master}"
    );
    for p in playlists {
        let url = resolve(master_url, &p);
        let text = String::from_utf8(fetch_checked(run, out, &url, None)).unwrap();
        reached.insert(rel_of(&url).to_string());
        let mut pending_range: Option<(u64, u64)> = None;
        let mut segments = 0;
        for line in text.lines() {
            if let Some(map) = line.strip_prefix("#EXT-X-MAP:") {
                assert!(attr(map, "BYTERANGE").is_none(), "{line}");
                let init = resolve(&url, attr(map, "URI").expect("MAP URI"));
                fetch_checked(run, out, &init, None);
                reached.insert(rel_of(&init).to_string());
            } else if let Some(br) = line.strip_prefix("#EXT-X-BYTERANGE:") {
                let (len, off) = br.split_once('@').expect("explicit offsets");
                pending_range = Some((off.parse().unwrap(), len.parse().unwrap()));
            } else if line.starts_with("#EXT-X-KEY:") {
                let uri = attr(line, "URI").expect("KEY URI");
                assert!(
                    uri.starts_with("data:"),
                    "key URIs are inline PSSH/KID: {line}"
                );
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let seg = resolve(&url, line.trim());
                fetch_checked(run, out, &seg, pending_range.take());
                reached.insert(rel_of(&seg).to_string());
                segments += 1;
            }
        }
        assert!(segments >= 2, "{url}: {segments} segments");
    }
    reached
}

/// Walks a DASH MPD's SegmentTemplates (initialization, media with `$Number$` over the
/// SegmentTimeline); answers the files reached.
fn walk_dash(run: &Running, out: &Path, mpd_url: &str) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let mpd = String::from_utf8(fetch_checked(run, out, mpd_url, None)).unwrap();
    reached.insert(rel_of(mpd_url).to_string());
    assert!(!mpd.contains("BaseURL"), "the MPD must not set a BaseURL");
    let mut reader = quick_xml::Reader::from_str(&mpd);
    // (initialization, media, startNumber, segment count)
    let mut templates: Vec<(String, String, u64, u64)> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed MPD") {
            Event::Start(e) | Event::Empty(e) => {
                let get = |name: &[u8]| {
                    e.attributes()
                        .map(|a| a.expect("attribute"))
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| a.unescape_value().expect("value").into_owned())
                };
                match e.local_name().as_ref() {
                    b"SegmentTemplate" => templates.push((
                        get(b"initialization").expect("initialization"),
                        get(b"media").expect("media"),
                        get(b"startNumber").map_or(1, |n| n.parse().unwrap()),
                        0,
                    )),
                    b"S" => {
                        let repeats: u64 = get(b"r").map_or(0, |r| r.parse().unwrap());
                        templates.last_mut().expect("S inside a SegmentTemplate").3 += 1 + repeats;
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(templates.len() >= 4, "{templates:?}");
    for (init, media, start, count) in templates {
        assert!(count >= 2, "{media}: {count} segments");
        let url = resolve(mpd_url, &init);
        fetch_checked(run, out, &url, None);
        reached.insert(rel_of(&url).to_string());
        for n in start..start + count {
            let name = media.replace("$Number$", &n.to_string());
            assert!(!name.contains('$'), "unexpanded identifier in {media}");
            let url = resolve(mpd_url, &name);
            fetch_checked(run, out, &url, None);
            reached.insert(rel_of(&url).to_string());
        }
    }
    reached
}

/// Every file of the output directory but the key manifest, relative, `/`-separated.
fn media_files(out: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if e.file_type().unwrap().is_dir() {
            for f in std::fs::read_dir(e.path()).unwrap() {
                files.insert(format!(
                    "{name}/{}",
                    f.unwrap().file_name().into_string().unwrap()
                ));
            }
        } else if name != ".vodpack-output.json" {
            files.insert(name);
        }
    }
    files
}

#[test]
fn origin_serves_vodpack_output_through_path_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(ASSET);
    package("cbcs", &out);
    let run = serve(&out, tmp.path().join("events.ndjson"));
    let premium = run.identity("test-viewer", &["premium"]);

    // The example policy is in force: plans, subjects, geo allow/deny.
    let nobody = run.identity("nobody", &[]);
    let r = playback_start(&run, &nobody, "dash", "FR");
    assert_eq!(
        (r.status, r.json()["reason"].clone()),
        (403, json!("not_entitled"))
    );
    for country in ["US", "DE"] {
        let r = playback_start(&run, &premium, "dash", country);
        assert_eq!(
            (r.status, r.json()["reason"].clone()),
            (403, json!("geo_blocked")),
            "{country}"
        );
    }

    let dash = playback_start(&run, &premium, "dash", "FR");
    assert_eq!(dash.status, 200, "{}", String::from_utf8_lossy(&dash.body));
    let dash = dash.json();
    let mpd_url = dash["manifest_url"].as_str().unwrap().to_string();
    assert!(mpd_url.starts_with(&format!("/v/{ASSET}/tok=")) && mpd_url.ends_with("/manifest.mpd"));
    let hls = playback_start(&run, &premium, "hls", "FR").json();
    let master_url = hls["manifest_url"].as_str().unwrap().to_string();
    assert!(master_url.ends_with("/master.m3u8"), "{master_url}");

    let all = media_files(&out);
    let from_dash = walk_dash(&run, &out, &mpd_url);
    let from_hls = walk_hls(&run, &out, &master_url);
    // Between them, the manifests reach every file of the output (nothing dangling, nothing
    // missing), and each protocol reaches every segment.
    let reached: BTreeSet<String> = from_dash.union(&from_hls).cloned().collect();
    assert_eq!(reached, all);
    let segments = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter()
            .filter(|f| f.ends_with(".m4s") || f.ends_with(".mp4"))
            .cloned()
            .collect()
    };
    assert_eq!(segments(&from_dash), segments(&all));
    assert_eq!(segments(&from_hls), segments(&all));
    eprintln!(
        "origin served {} files of {ASSET} (DASH {}, HLS {})",
        reached.len(),
        from_dash.len(),
        from_hls.len()
    );

    // HEAD and an open-ended range on a segment.
    let seg = resolve(&mpd_url, "video_720p/seg_2.m4s");
    let head = http(run.addr(), "HEAD", &seg, &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let size = std::fs::metadata(out.join("video_720p/seg_2.m4s"))
        .unwrap()
        .len();
    assert_eq!(
        head.header("content-length"),
        Some(size.to_string().as_str())
    );
    let tail = http(run.addr(), "GET", &seg, &[("Range", "bytes=100-")], b"");
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body.len() as u64, size - 100);

    // Refusals: no token, a tampered token, another asset's prefix, the key manifest.
    let r = http(
        run.addr(),
        "GET",
        &format!("/v/{ASSET}/video_240p/init.mp4"),
        &[],
        b"",
    );
    assert_eq!(r.status, 403, "no token");
    let token_seg = &mpd_url[mpd_url.find("/tok=").unwrap() + 1..mpd_url.rfind('/').unwrap()];
    let last = token_seg.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &token_seg[..token_seg.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let r = http(
        run.addr(),
        "GET",
        &mpd_url.replace(token_seg, &flipped),
        &[],
        b"",
    );
    assert_eq!(
        (r.status, r.json()["reason"].clone()),
        (403, json!("bad_signature"))
    );
    let r = http(
        run.addr(),
        "GET",
        &mpd_url.replace(&format!("/v/{ASSET}/"), "/v/other_asset/"),
        &[],
        b"",
    );
    assert_eq!(r.status, 403, "another asset's prefix");
    let r = http(
        run.addr(),
        "GET",
        &resolve(&mpd_url, "key-manifest.json"),
        &[],
        b"",
    );
    assert_eq!(r.status, 404, "the key manifest is never served");

    // The Clear Key licence answers exactly the packaged keys.
    let km: Value = serde_json::from_slice(
        &std::fs::read(vodpack_control::key_manifest::default_path(&out)).unwrap(),
    )
    .unwrap();
    let b64 = |hex_str: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hex::decode(hex_str).unwrap())
    };
    let keys = km["keys"].as_array().unwrap();
    let kids: Vec<String> = keys
        .iter()
        .map(|k| b64(k["kid"].as_str().unwrap()))
        .collect();
    assert_eq!(
        dash["drm"]["key_ids"].as_array().unwrap().len(),
        keys.len(),
        "{dash}"
    );
    // The licence token travels in the Authorization header, never in the URL.
    let bearer = format!("Bearer {}", dash["drm"]["licence_token"].as_str().unwrap());
    let licence = http(
        run.addr(),
        "POST",
        dash["drm"]["licence_url"].as_str().unwrap(),
        &[("Authorization", bearer.as_str())],
        json!({"kids": kids, "type": "temporary"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        licence.status,
        200,
        "{}",
        String::from_utf8_lossy(&licence.body)
    );
    let licence = licence.json();
    for k in keys {
        let kid = b64(k["kid"].as_str().unwrap());
        let got = licence["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kid"] == kid.as_str());
        assert_eq!(got.unwrap()["k"], b64(k["key"].as_str().unwrap()).as_str());
    }
    run.stop();
}

/// Runs tests/serve/play.mjs against the player page; answers its JSON report.
fn play(url: &str, options: Value, expect: &str) -> Value {
    let stdout = play_page(url, expect, 45000, Some(&options.to_string()));
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn requests<'a>(report: &'a Value, path_part: &str) -> Vec<&'a Value> {
    report["network"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["path"].as_str().unwrap().contains(path_part))
        .collect()
}

/// A successful run: played, sought, every origin request carried the manifest's token and was
/// answered, the licence came from the licence endpoint, and the session's telemetry is stored.
fn check_played(r: &Value, out: &Path, events: &Path, protocol: &str, what: &str) {
    assert_ne!(r["state"], "error", "{what}: {r}");
    assert_eq!(r["protocol"], protocol, "{what}");
    assert!(r["playedBeforeSeek"].as_f64().unwrap() > 1.5, "{what}: {r}");
    let seek_to = r["seekTo"].as_f64().unwrap();
    assert!(
        r["playedAfterSeek"].as_f64().unwrap() > seek_to + 0.5 || r["ended"] == true,
        "{what}: did not play on after seeking: {r}"
    );

    let start = requests(r, "/v1/playback/start");
    assert!(
        start
            .iter()
            .any(|n| n["method"] == "POST" && n["status"] == 200),
        "{what}: {start:?}"
    );
    let licence = requests(r, "/v1/licence/clearkey");
    assert!(
        licence
            .iter()
            .any(|n| n["method"] == "POST" && n["status"] == 200),
        "{what}: no Clear Key licence from the licence endpoint: {licence:?}"
    );
    let origin = requests(r, &format!("/v/{ASSET}/"));
    let manifest = if protocol == "dash" {
        "/manifest.mpd"
    } else {
        "/master.m3u8"
    };
    let first = origin
        .first()
        .unwrap_or_else(|| panic!("{what}: no origin request"));
    assert!(
        first["path"].as_str().unwrap().ends_with(manifest),
        "{what}: {first}"
    );
    let token = rel_prefix(first["path"].as_str().unwrap());
    for n in &origin {
        let path = n["path"].as_str().unwrap();
        assert!(
            path.starts_with(&token),
            "{what}: {path} does not carry the manifest's token"
        );
        assert!(
            n["query"] == "" && (n["status"] == 200 || n["status"] == 206),
            "{what}: {n}"
        );
    }
    let fetched: BTreeSet<&str> = origin
        .iter()
        .map(|n| rel_of(n["path"].as_str().unwrap()))
        .collect();
    // Both media types, their init segments, and the second segment (after the seek).
    for want in ["audio_en/init.mp4", "audio_en/seg_2.m4s"] {
        assert!(
            fetched.contains(want),
            "{what}: {want} not fetched: {fetched:?}"
        );
    }
    assert!(
        fetched
            .iter()
            .any(|f| f.starts_with("video_") && f.ends_with("/init.mp4"))
            && fetched
                .iter()
                .any(|f| f.starts_with("video_") && f.ends_with("/seg_2.m4s")),
        "{what}: {fetched:?}"
    );
    if protocol == "hls" {
        assert!(
            fetched.contains("audio_en/playlist.m3u8"),
            "{what}: {fetched:?}"
        );
    }
    // The page lists every licence request with its answer: all answered 200, and together
    // they gave a key for every key id of the asset (every rendition was played).
    let km: Value = serde_json::from_slice(
        &std::fs::read(vodpack_control::key_manifest::default_path(out)).unwrap(),
    )
    .unwrap();
    let kids: BTreeSet<&str> = km["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.len() >= 2, "{what}: {km}");
    let licences = r["licences"].as_array().unwrap();
    assert!(!licences.is_empty(), "{what}: no licence request listed");
    let mut licensed = BTreeSet::new();
    for l in licences {
        assert_eq!(l["status"], 200, "{what}: {l}");
        for k in l["kids"].as_array().unwrap() {
            let k = k.as_str().unwrap();
            assert!(kids.contains(k), "{what}: licence for unknown {k}");
            licensed.insert(k);
        }
    }
    assert_eq!(licensed, kids, "{what}: {licences:?}");
    assert_eq!(r["licensedKids"], kids.len(), "{what}: {r}");

    let session = r["sessionId"].as_str().unwrap();
    let events: Vec<Value> = std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["session_id"] == session)
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    for t in ["start", "play", "seek"] {
        assert!(
            types.contains(&t),
            "{what}: no {t} event in the sink: {types:?}"
        );
    }
    assert!(!types.contains(&"error"), "{what}: {types:?}");
    assert!(
        events
            .iter()
            .all(|e| e["asset_id"] == ASSET && e["schema_version"] == 1),
        "{what}"
    );
    // Every event the page saw accepted is stored (a batch posted while the browser closed may
    // be stored without the page hearing back).
    let accepted = r["eventsAccepted"].as_u64().unwrap() as usize;
    assert!(
        accepted >= 3 && events.len() >= accepted,
        "{what}: {accepted} accepted, stored {types:?}"
    );
    eprintln!(
        "{what}: played to {:.2}s, sought to {seek_to} and played to {:.2}s; {} origin requests; events {types:?}",
        r["playedBeforeSeek"].as_f64().unwrap(),
        r["playedAfterSeek"].as_f64().unwrap(),
        origin.len()
    );
}

/// `/v/<asset>/tok=…/` of an origin path.
fn rel_prefix(path: &str) -> String {
    let rel = rel_of(path);
    path[..path.len() - rel.len()].to_string()
}

/// `vodpack serve OUT --port 0`, the real binary as a new user starts it: the default policy,
/// the page's own identity token, the players embedded in the binary; stopped when dropped.
struct ServeProcess {
    child: std::process::Child,
    url: String,
    out: PathBuf,
    events: PathBuf,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_binary(out: &Path) -> ServeProcess {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vodpack"))
        .arg("serve")
        .arg(out)
        .args(["--port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run vodpack serve");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("vodpack serve exited before listening")
            .unwrap();
        if let Some(u) = line.strip_prefix("vodpack serve: listening on ") {
            break u.trim().to_string();
        }
    };
    // Keep reading its stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    ServeProcess {
        child,
        url,
        out: out.to_path_buf(),
        // The default telemetry file: beside the output folder.
        events: out.parent().unwrap().join("vodpack-events.ndjson"),
    }
}

/// Issue 18's player matrix, through the page that `vodpack serve OUT` opens with nothing
/// installed but the binary: Shaka Player (DASH, HLS), dash.js (DASH) and hls.js (HLS) × cenc
/// and cbcs, each with its Clear Key licence from serve's licence endpoint (the token in a
/// header; for Shaka HLS the page's own exchange), playing, switching to every other video
/// rendition through the page's Rendition list, and seeking.
#[test]
fn every_player_of_the_serve_page_plays_cenc_and_cbcs_with_the_licence_server() {
    let _one = crate::common::browser_slot();
    browser_requirements();
    serve_driver();
    for scheme in ["cenc", "cbcs"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(ASSET);
        package(scheme, &out);
        let server = serve_binary(&out);
        for (player, protocol) in [
            ("shaka", "dash"),
            ("shaka", "hls"),
            ("dashjs", "dash"),
            ("hlsjs", "hls"),
        ] {
            let what = format!("{player} {protocol} {scheme}");
            let options = json!({"player": player, "protocol": protocol, "seek_to": 5.0,
                                 "switch_renditions": true});
            let r = play(&format!("{}/", server.url), options, "play");
            assert_eq!(r["player"]["id"], player, "{what}: {r}");
            let switches = r["switches"].as_array().cloned().unwrap_or_default();
            let renditions = r["renditions"].as_array().unwrap();
            assert_eq!(renditions.len(), 3, "{what}: {renditions:?}");
            assert!(
                switches.len() == 2 && switches.iter().all(|s| s["ok"] == true),
                "{what}: rendition switches {switches:?}: {r}"
            );
            check_played(&r, &server.out, &server.events, protocol, &what);
            eprintln!("{what}: switches {switches:?}; page stats {}", r["stats"]);
        }
    }
}

#[test]
fn chromium_fails_to_play_vodpack_output_with_wrong_keys() {
    let _one = crate::common::browser_slot();
    browser_requirements();
    for (scheme, protocol) in [("cenc", "dash"), ("cbcs", "hls")] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(ASSET);
        package(scheme, &out);
        // Same content, but the licence endpoint hands out other keys (first byte flipped).
        let km_path = vodpack_control::key_manifest::default_path(&out);
        let mut km: Value = serde_json::from_slice(&std::fs::read(&km_path).unwrap()).unwrap();
        for k in km["keys"].as_array_mut().unwrap() {
            let mut key = hex::decode(k["key"].as_str().unwrap()).unwrap();
            key[0] ^= 0xff;
            k["key"] = json!(hex::encode(key));
        }
        std::fs::write(&km_path, km.to_string()).unwrap();
        let run = serve(&out, tmp.path().join("events.ndjson"));
        let identity = run.identity("test-viewer", &["premium"]);
        let options = json!({"identity_token": identity, "protocol": protocol, "country": "FR"});
        let r = play(&format!("http://{}/", run.addr()), options, "fail");
        let what = format!("{protocol} {scheme} wrong keys");
        eprintln!(
            "{what}: state {}, error {}, currentTime {}",
            r["state"], r["error"], r["currentTime"]
        );
        // The licence was issued (so only decryption can fail) …
        assert!(
            requests(&r, "/v1/licence/clearkey")
                .iter()
                .any(|n| n["status"] == 200),
            "{what}: {r}"
        );
        // … and the media element refused the garbage: Shaka's VIDEO_ERROR.
        assert_eq!(
            r["state"], "error",
            "{what}: a wrong key must make playback fail: {r}"
        );
        assert_eq!(r["error"], "3016", "{what}: {r}");
        run.stop();
    }
}

/// The origin of `vodpack serve` over `out` (no browser).
fn serve_origin(out: &Path, events: PathBuf) -> Running {
    serve_with(out, events)
}

/// Every file under `dir`, relative to it, `/`-separated.
fn files_below(dir: &Path, prefix: &str, into: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{prefix}{}", e.file_name().into_string().unwrap());
        if e.file_type().unwrap().is_dir() {
            files_below(&e.path(), &format!("{name}/"), into);
        } else {
            into.push(name);
        }
    }
}

/// A two-scheme output (`dash=cenc,hls=cbcs`) with a video, an audio and a subtitle rendition,
/// in the default layout, two `--segment-template` layouts and `--single-file`: the origin
/// answers every init, segment and single file of both sets with the media type of its rendition (`video/mp4`, `audio/mp4`,
/// `application/mp4` for the `wvtt` text), the WebVTT segments with `text/vtt`. The rendition
/// ids prefix one another (`main` video, `main_2` audio), so a folder or substring guess fails;
/// which rendition a file is of is told here from the naming the test asked for.
#[test]
fn origin_types_every_file_of_both_sets_by_its_rendition() {
    let fx = repo().join("fixtures");
    let layouts: [(Option<&str>, &str); 4] = [
        (None, "default"),
        (
            Some("chunks/$RepresentationID$_$Time$.m4s"),
            "shared folder",
        ),
        (Some("$RepresentationID$/seg_$Number%05d$.m4s"), "numbered"),
        (None, "single file"),
    ];
    for (template, what) in layouts {
        let single = what == "single file";
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(ASSET);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vodpack"));
        cmd.args(["package", "--quiet", "-o"])
            .arg(&out)
            .args(["--asset-id", ASSET, "--protection", "dash=cenc,hls=cbcs"])
            .args(["--drm", "clearkey"])
            .arg(format!("in={},id=main", fx.join("h264_240p.mp4").display()))
            .arg(format!(
                "in={},id=main_2,lang=en",
                fx.join("aac_en.mp4").display()
            ))
            .arg(format!("in={},lang=fr", fx.join("subs_fr.vtt").display()));
        if let Some(t) = template {
            cmd.args(["--segment-template", t]);
        }
        if single {
            cmd.arg("--single-file");
        }
        let o = cmd.output().expect("run vodpack");
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let km =
            vodpack_control::KeyManifest::load(vodpack_control::key_manifest::default_path(&out))
                .unwrap();
        let text_id = km
            .renditions
            .iter()
            .find(|r| r.kind == "text")
            .expect("a text rendition")
            .id
            .clone();
        let kinds = [
            ("main", "video/mp4"),
            ("main_2", "audio/mp4"),
            (text_id.as_str(), "application/mp4"),
        ];
        // The rendition a file is of, from the layout asked for: `<id>/…` (inits, default
        // segments), `<set>/<id>/seg_NNNNN.m4s`, `<set>/chunks/<id>_<time>.m4s`.
        let owner = |rel: &str| -> &str {
            let parts: Vec<&str> = rel.split('/').collect();
            if let Some((id, _)) = kinds.iter().find(|(id, _)| *id == parts[0]) {
                return id;
            }
            assert!(["cenc", "cbcs"].contains(&parts[0]), "{what}: {rel}");
            if parts[1] == "chunks" {
                let mut ids = kinds.iter().filter(|(id, _)| {
                    parts[2]
                        .strip_prefix(&format!("{id}_"))
                        .and_then(|r| r.strip_suffix(".m4s"))
                        .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                });
                let (id, _) = ids.next().unwrap_or_else(|| panic!("{what}: {rel}"));
                assert!(ids.next().is_none(), "{what}: {rel}: two owners");
                return id;
            }
            kinds
                .iter()
                .find(|(id, _)| *id == parts[1])
                .unwrap_or_else(|| panic!("{what}: {rel}"))
                .0
        };

        let run = serve_origin(&out, tmp.path().join("events.ndjson"));
        let identity = run.identity("test-viewer", &["premium"]);
        let start = playback_start(&run, &identity, "dash", "FR");
        assert_eq!(
            start.status,
            200,
            "{}",
            String::from_utf8_lossy(&start.body)
        );
        let mpd_url = start.json()["manifest_url"].as_str().unwrap().to_string();
        let base = &mpd_url[..mpd_url.rfind('/').unwrap() + 1];

        let mut files = Vec::new();
        files_below(&out, "", &mut files);
        // (set folder or `shared`, mime, init?) → files checked
        let mut seen: BTreeSet<(String, &str, bool)> = BTreeSet::new();
        let mut typed = 0;
        for rel in files
            .iter()
            .filter(|f| f.ends_with(".m4s") || f.ends_with(".mp4") || f.ends_with(".vtt"))
        {
            let want = if rel.ends_with(".vtt") {
                "text/vtt"
            } else {
                let id = owner(rel);
                kinds.iter().find(|(i, _)| *i == id).unwrap().1
            };
            let r = http(run.addr(), "GET", &format!("{base}{rel}"), &[], b"");
            assert_eq!(r.status, 200, "{what}: {rel}");
            assert_eq!(r.header("content-type"), Some(want), "{what}: {rel}");
            assert_eq!(
                r.body,
                std::fs::read(out.join(rel)).unwrap(),
                "{what}: {rel}"
            );
            let set = ["cenc", "cbcs"]
                .into_iter()
                .find(|s| rel.split('/').any(|p| p == *s))
                .unwrap_or("shared");
            seen.insert((set.to_string(), want, rel.ends_with("/init.mp4")));
            typed += 1;
        }
        // Inits and segments (or the single files) of both sets for the audio and the video,
        // the text's once.
        for set in ["cenc", "cbcs"] {
            for mime in ["video/mp4", "audio/mp4"] {
                for init in [!single, false] {
                    assert!(
                        seen.contains(&(set.to_string(), mime, init)),
                        "{what}: no {mime} {} of the {set} set checked: {seen:?}",
                        if init { "init" } else { "segment" }
                    );
                }
            }
        }
        let text_segments = if template.is_some() { "cenc" } else { "shared" };
        assert!(
            seen.contains(&(text_segments.to_string(), "application/mp4", false))
                && seen.contains(&("shared".to_string(), "application/mp4", true))
                && seen.contains(&("shared".to_string(), "text/vtt", false)),
            "{what}: {seen:?}"
        );
        eprintln!("{what}: {typed} files typed: {seen:?}");
        run.stop();
    }
}

/// HLS over MPEG-TS through `vodpack serve`'s page: the TS set encrypted `aes-128` (hls.js and
/// Shaka Player) and `sample-aes` (hls.js), the playlists' key URIs the default
/// `/v1/licence/key/<kid>`, answered with the licence token the page sends in a header; the
/// player plays, seeks and switches renditions; every key request is answered 200.
#[test]
fn the_serve_page_plays_encrypted_hls_over_ts_with_keys_from_the_key_endpoint() {
    let _one = crate::common::browser_slot();
    browser_requirements();
    serve_driver();
    for (method, players) in [
        ("aes-128", &["hlsjs", "shaka"][..]),
        ("sample-aes", &["hlsjs"][..]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(ASSET);
        let fx = repo().join("fixtures");
        let o = Command::new(env!("CARGO_BIN_EXE_vodpack"))
            .args(["package", "--quiet", "-o"])
            .arg(&out)
            .args(["--asset-id", ASSET, "--hls-segments", "ts"])
            .args(["--protection", &format!("dash=cenc,hls={method}")])
            .arg(fx.join("h264_240p.mp4"))
            .arg(fx.join("h264_360p.mp4"))
            .arg(fx.join("h264_720p.mp4"))
            .arg(format!("in={},lang=en", fx.join("aac_en.mp4").display()))
            .output()
            .expect("run vodpack");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let server = serve_binary(&out);
        for player in players {
            let what = format!("{player} hls {method}");
            let options = json!({"player": player, "protocol": "hls", "seek_to": 5.0,
                                 "switch_renditions": true});
            let r = play(&format!("{}/", server.url), options, "play");
            assert_ne!(r["state"], "error", "{what}: {r}");
            assert!(r["playedBeforeSeek"].as_f64().unwrap() > 1.5, "{what}: {r}");
            let switches = r["switches"].as_array().cloned().unwrap_or_default();
            assert!(
                switches.len() == 2 && switches.iter().all(|s| s["ok"] == true),
                "{what}: rendition switches {switches:?}: {r}"
            );
            let keys = requests(&r, "/v1/licence/key/");
            assert!(
                !keys.is_empty() && keys.iter().all(|n| n["status"] == 200),
                "{what}: key requests {keys:?}"
            );
            let segments = requests(&r, "/ts/seg_");
            assert!(!segments.is_empty(), "{what}: no TS segment fetched");
        }
    }
}
