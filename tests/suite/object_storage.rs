//! `-o s3://…` against real S3 servers on loopback: SeaweedFS (`weed mini`, installed by
//! scripts/install-s3-servers.sh) and, for the key tests (publish byte for byte, the race, a
//! server stopped mid-run), also s3s-fs (scripts/install-s3s-fs.sh): the same test bodies run
//! on both (`on_both_servers!`). What is published is read back over plain HTTP (anonymous
//! read on the `pub` bucket) and compared byte for byte with a local run of the same job; the
//! faults leave the previous output in place and verifiable (docs/object-storage.md).
use crate::common::{fixture, protection_args, root, vodpack};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = "vodpacktest";
const SECRET_KEY: &str = "vodpacktestsecret";
/// An identity that may read and list but not write: every put answers 403.
const READER_KEY: &str = "vodpackreader";
const READER_SECRET: &str = "vodpackreadersecret";
/// An identity that may write under `pub/one/runs/` only: every segment and playlist of a run
/// of `s3://pub/one` is accepted, and its marker `pub/one/.vodpack-output.json` answers 403.
const RUNS_ONLY_KEY: &str = "vodpackrunsonly";
const RUNS_ONLY_SECRET: &str = "vodpackrunsonlysecret";

fn weed_binary() -> PathBuf {
    let p = std::env::var_os("VODPACK_WEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/seaweedfs/weed"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/install-s3-servers.sh (or set VODPACK_WEED)",
        p.display()
    );
    p
}

fn s3s_fs_binary() -> PathBuf {
    let p = std::env::var_os("VODPACK_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/s3s-fs/bin/s3s-fs"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/install-s3s-fs.sh (or set VODPACK_S3S_FS)",
        p.display()
    );
    p
}

/// Which S3 server a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// SeaweedFS `weed mini`: buckets `pub` (anonymous read) and `keys`, an identity with full
    /// rights and one that may only read.
    Seaweed,
    /// s3s-fs (the `s3s` project's file-system S3 server): buckets `pub` and `keys` (folders),
    /// one identity; no anonymous access, so tests read its objects with signed requests.
    S3sFs,
}

/// An S3 server on free loopback ports. Stopped (and its data removed) on drop.
struct S3Server {
    server: Server,
    child: Option<Child>,
    dir: tempfile::TempDir,
    base: u16,
}

/// The same test body on SeaweedFS and on s3s-fs: `name::seaweedfs` and `name::s3s_fs`.
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn seaweedfs() {
                super::$name(super::Server::Seaweed)
            }
            #[test]
            fn s3s_fs() {
                super::$name(super::Server::S3sFs)
            }
        }
    )*};
}

on_both_servers!(
    s3_output_is_byte_identical_to_a_local_run_and_verifies,
    of_two_concurrent_runs_exactly_one_publishes,
    a_server_stopped_mid_run_leaves_the_previous_output_verifiable,
);

/// `count` consecutive ports that are free now.
fn free_ports(count: u16) -> u16 {
    'search: for _ in 0..200 {
        let base: u16 = 20000 + (rand_u16() % 30000);
        for p in base..base + count {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                continue 'search;
            }
        }
        return base;
    }
    panic!("no {count} consecutive free ports");
}

fn rand_u16() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (t ^ (std::process::id() << 7)) as u16
}

impl S3Server {
    fn start(server: Server) -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let base = free_ports(10);
        let mut s = S3Server {
            server,
            child: None,
            dir,
            base,
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        match self.server {
            Server::Seaweed => self.launch_seaweed(),
            Server::S3sFs => self.launch_s3s_fs(),
        }
    }

    fn launch_s3s_fs(&mut self) {
        let data = self.dir.path().join("data");
        for bucket in ["pub", "keys"] {
            std::fs::create_dir_all(data.join(bucket)).unwrap();
        }
        let log = std::fs::File::create(self.dir.path().join("s3s-fs.log")).unwrap();
        let child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port"])
            .arg(self.s3_port().to_string())
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&data)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready when it answers HTTP (an unsigned request is refused, which is an answer).
        while http_get(self.s3_port(), "/pub/ready-probe").is_none() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not answer in 30 s: {}",
                std::fs::read_to_string(self.dir.path().join("s3s-fs.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn launch_seaweed(&mut self) {
        let config = self.dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"vodpack","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}},{{"name":"reader","credentials":[{{"accessKey":"{READER_KEY}","secretKey":"{READER_SECRET}"}}],"actions":["Read","List"]}},{{"name":"runs-only","credentials":[{{"accessKey":"{RUNS_ONLY_KEY}","secretKey":"{RUNS_ONLY_SECRET}"}}],"actions":["Read","List","Write:pub/one/runs/*"]}},{{"name":"anonymous","actions":["Read:pub"]}}]}}"#
            ),
        )
        .unwrap();
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let b = self.base;
        let log = std::fs::File::create(self.dir.path().join("weed.log")).unwrap();
        let child = Command::new(weed_binary())
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-webdav=false",
                "-admin.ui=false",
            ])
            .args([
                "-master.telemetry=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!("-master.port={b}"))
            .arg(format!("-master.port.grpc={}", b + 1))
            .arg(format!("-volume.port={}", b + 2))
            .arg(format!("-volume.port.grpc={}", b + 3))
            .arg(format!("-filer.port={}", b + 4))
            .arg(format!("-filer.port.grpc={}", b + 5))
            .arg(format!("-s3.port={}", b + 6))
            .arg(format!("-s3.port.grpc={}", b + 7))
            .arg(format!("-admin.port={}", b + 8))
            .arg(format!("-admin.port.grpc={}", b + 9))
            .arg(format!("-s3.config={}", config.display()))
            .arg("-bucket=pub,keys")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed mini");
        self.child = Some(child);
        // Ready when an anonymous read of the public bucket is answered (404 for a missing key).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Both buckets made: a missing key in `pub` (not a missing bucket), `keys` listed.
            let pub_ready =
                http_get(self.s3_port(), "/pub/ready-probe").is_some_and(|(status, body)| {
                    status == 404 && String::from_utf8_lossy(&body).contains("NoSuchKey")
                });
            let keys_ready = http_get(self.filer_port(), "/buckets/keys/")
                .is_some_and(|(status, _)| status == 200);
            if pub_ready && keys_ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "weed mini did not answer in 60 s: {}",
                std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn s3_port(&self) -> u16 {
        match self.server {
            Server::Seaweed => self.base + 6,
            Server::S3sFs => self.base,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port())
    }

    /// vodpack with this server's endpoint and credentials in the standard environment.
    fn vodpack(&self) -> Command {
        let mut c = vodpack();
        c.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
        c
    }

    /// An object of the public bucket, read anonymously over HTTP (SeaweedFS) or with a signed
    /// request of the `object_store` client (s3s-fs): `None` when missing.
    fn object(&self, key: &str) -> Option<Vec<u8>> {
        if self.server == Server::S3sFs {
            return self.signed_get(key);
        }
        // A server just restarted may answer 5xx while its volumes load: wait a little.
        let deadline = Instant::now() + Duration::from_secs(15);
        let (status, body) = loop {
            let (status, body) = http_get(self.s3_port(), &format!("/pub/{key}"))
                .unwrap_or_else(|| panic!("no answer for /pub/{key}"));
            if status < 500 || Instant::now() > deadline {
                break (status, body);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        match status {
            200 => Some(body),
            404 => None,
            s => panic!(
                "GET /pub/{key}: HTTP {s}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
}

impl S3Server {
    fn signed_get(&self, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt;
        // rustls has no provider built in; ring's, as vodpack itself installs it (deprecated
        // only for lacking post-quantum key exchange, which a loopback test does not need).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name("pub")
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            match store.get(&object_store::path::Path::from(key)).await {
                Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => panic!("GET pub/{key}: {e}"),
            }
        })
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain HTTP/1.0 GET on loopback: (status, body), or `None` when nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, raw[split + 4..].to_vec()))
}

fn inputs() -> Vec<String> {
    ["h264_240p.mp4", "h264_360p.mp4", "aac_en.mp4"]
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect()
}

/// `package --json -o OUT` with the fixed cbcs keys and IV, the key manifest at `km`.
fn package_cmd(mut cmd: Command, out: &str, km: &Path, extra: &[&str]) -> Command {
    cmd.args(["package", "--json", "-o", out, "--key-manifest"])
        .arg(km)
        .args(protection_args("cbcs"))
        .args(extra)
        .args(inputs());
    cmd
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn published(s: &S3Server, out: &str, km: &Path, extra: &[&str]) -> Value {
    let o = package_cmd(s.vodpack(), out, km, extra).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every file of a local output folder, relative, sorted.
fn local_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let child = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(child);
            } else {
                out.push(child.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

fn marker(s: &S3Server, prefix: &str) -> Value {
    let bytes = s
        .object(&format!("{prefix}/.vodpack-output.json"))
        .expect("the marker is published");
    serde_json::from_slice(&bytes).unwrap()
}

/// `vodpack verify URL` with the fixed keys and the sources.
fn verify_remote(s: &S3Server, url: &str) -> Output {
    let mut c = s.vodpack();
    c.args(["verify", url]);
    for k in &crate::common::TEST_KEYS {
        c.arg("--key").arg(format!("kid={},key={}", k.kid, k.key));
    }
    c.arg("--sources").args(inputs());
    c.output().unwrap()
}

/// Publishes the fixture job to `s3://pub/<prefix>` and runs it locally with the same `extra`
/// options: every file the local run wrote is published byte for byte under the run's prefix,
/// the top manifests differ only by the run's path, and the published output verifies.
fn assert_published_like_local(s: &S3Server, prefix: &str, extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("movie");
    let o = package_cmd(
        vodpack(),
        &local.display().to_string(),
        &tmp.path().join("local.keys.json"),
        extra,
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let km = tmp.path().join("remote.keys.json");
    let url = format!("s3://pub/{prefix}");
    let summary = published(s, &url, &km, extra);
    let run = summary["run"]
        .as_str()
        .expect("--json names the run")
        .to_string();
    assert_eq!(summary["out"], url.as_str());
    let m = marker(s, prefix);
    assert_eq!(m["current"], run.as_str());
    let top_names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let mut media_bytes = 0u64;
    for f in local_files(&local) {
        if f == ".vodpack-output.json" {
            continue;
        }
        let mine = std::fs::read(local.join(&f)).unwrap();
        if top_names.contains(&f.as_str()) {
            let top = s
                .object(&format!("{prefix}/{f}"))
                .expect("top manifest published");
            let top = String::from_utf8(top).unwrap();
            // Only the paths differ: resolved against the run's prefix they are the local ones.
            let resolved = if f.ends_with(".mpd") {
                top.replace(&format!("\n  <BaseURL>runs/{run}/</BaseURL>"), "")
            } else {
                top.replace(&format!("runs/{run}/"), "")
            };
            assert_eq!(resolved, String::from_utf8(mine).unwrap(), "{f} differs");
            assert!(
                top.contains(&format!("runs/{run}/")),
                "{f} must point into the run"
            );
            if f.ends_with(".mpd") {
                // The BaseURL sits where the schema allows it.
                let copy = tmp.path().join("published.mpd");
                std::fs::write(&copy, &top).unwrap();
                crate::common::xmllint_mpd(&copy);
            }
        } else {
            let theirs = s
                .object(&format!("{prefix}/runs/{run}/{f}"))
                .unwrap_or_else(|| panic!("{f} not published"));
            assert!(
                theirs == mine,
                "{f}: published bytes differ from the local run's"
            );
            media_bytes += mine.len() as u64;
            // Nothing of the run sits at the top: players only reach it through the manifests.
            assert!(
                s.object(&format!("{prefix}/{f}")).is_none(),
                "{f} at the top"
            );
        }
    }
    let uploaded = summary["uploaded_bytes"].as_u64().expect("uploaded_bytes");
    assert!(
        uploaded > media_bytes,
        "uploaded {uploaded} < media {media_bytes}"
    );
    // The key manifest is the local file given, never in the bucket.
    assert!(km.is_file());
    let o = verify_remote(s, &url);
    assert!(
        o.status.success(),
        "verify of the published output: {}",
        text(&o)
    );
}

fn s3_output_is_byte_identical_to_a_local_run_and_verifies(server: Server) {
    let s = S3Server::start(server);
    assert_published_like_local(&s, "titles/movie", &[]);
    // Segments renamed by a template are uploaded under their final names as they are
    // written; --verify checks the local copies before the switch.
    assert_published_like_local(
        &s,
        "titles/templated",
        &[
            "--segment-template",
            "$RepresentationID$/part-$Number%03d$.m4s",
            "--verify",
        ],
    );
    // One file per rendition (uploaded in parts once its sidx is written).
    assert_published_like_local(&s, "titles/single", &["--single-file"]);
}

#[test]
fn a_new_run_switches_and_keeps_the_old_run_until_pruned() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    let first = published(&s, "s3://pub/t", &km, &[]);
    let first = first["run"].as_str().unwrap().to_string();
    let second = published(&s, "s3://pub/t", &km, &[]);
    let second = second["run"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(marker(&s, "t")["current"], second.as_str());
    let master = String::from_utf8(s.object("t/master.m3u8").unwrap()).unwrap();
    assert!(master.contains(&format!("runs/{second}/")) && !master.contains(&first));
    // A player that loaded the first run's playlists still finds its segments.
    assert!(s
        .object(&format!("t/runs/{first}/video_240p/seg_1.m4s"))
        .is_some());
    // --prune-after 0: runs replaced before now go, the current one stays.
    let third = published(&s, "s3://pub/t", &km, &["--prune-after", "0"]);
    let third = third["run"].as_str().unwrap().to_string();
    assert!(s
        .object(&format!("t/runs/{first}/video_240p/seg_1.m4s"))
        .is_none());
    assert!(s
        .object(&format!("t/runs/{second}/video_240p/seg_1.m4s"))
        .is_none());
    assert!(s
        .object(&format!("t/runs/{third}/video_240p/seg_1.m4s"))
        .is_some());
    let runs: Vec<String> = marker(&s, "t")["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(runs, std::slice::from_ref(&third));
    let o = verify_remote(&s, "s3://pub/t");
    assert!(o.status.success(), "{}", text(&o));
}

/// Starts `package` with a FIFO `--key-file`: it blocks reading it after it read the output's
/// marker (plan stage), so the caller controls what happens before it uploads.
fn started_waiting(s: &S3Server, out: &str, km: &Path, fifo: &Path) -> Child {
    let mut c = s.vodpack();
    c.args(["package", "--json", "-o", out, "--key-manifest"])
        .arg(km)
        .args([
            "--protection",
            "cbcs",
            "--iv",
            crate::common::TEST_IV,
            "--key-file",
        ])
        .arg(fifo)
        .args(inputs())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().unwrap()
}

fn key_file_text() -> String {
    let keys: Vec<String> = crate::common::TEST_KEYS
        .iter()
        .map(|k| {
            format!(
                r#"{{"label":"{}","kid":"{}","key":"{}"}}"#,
                k.label, k.kid, k.key
            )
        })
        .collect();
    format!(r#"{{"keys":[{}]}}"#, keys.join(","))
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    assert!(Command::new("mkfifo").arg(&p).status().unwrap().success());
    p
}

fn of_two_concurrent_runs_exactly_one_publishes(server: Server) {
    let s = S3Server::start(server);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    published(&s, "s3://pub/c", &km, &[]);
    let before = marker(&s, "c");
    // Both runs read the same marker, then both go on.
    let (fa, fb) = (fifo(tmp.path(), "a.json"), fifo(tmp.path(), "b.json"));
    let a = started_waiting(&s, "s3://pub/c", &tmp.path().join("ka.json"), &fa);
    let b = started_waiting(&s, "s3://pub/c", &tmp.path().join("kb.json"), &fb);
    let mut wa = std::fs::OpenOptions::new().write(true).open(&fa).unwrap();
    let mut wb = std::fs::OpenOptions::new().write(true).open(&fb).unwrap();
    let (oa, ob) = if server == Server::S3sFs {
        // s3s-fs 0.14.1 checks a conditional put's ETag and then writes, not atomically: two
        // switches at the same instant both pass there (measured; SeaweedFS and S3 refuse
        // one). So on s3s-fs the second run goes on once the first has published: its switch
        // is then stale and must lose all the same.
        wa.write_all(key_file_text().as_bytes()).unwrap();
        drop(wa);
        let oa = a.wait_with_output().unwrap();
        wb.write_all(key_file_text().as_bytes()).unwrap();
        drop(wb);
        (oa, b.wait_with_output().unwrap())
    } else {
        wa.write_all(key_file_text().as_bytes()).unwrap();
        wb.write_all(key_file_text().as_bytes()).unwrap();
        drop((wa, wb));
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    };
    let codes = [oa.status.code(), ob.status.code()];
    assert!(
        codes == [Some(0), Some(7)] || codes == [Some(7), Some(0)],
        "one run publishes, the other exits 7:\nA {}\nB {}",
        text(&oa),
        text(&ob)
    );
    let (won, lost) = if codes[0] == Some(0) {
        (&oa, &ob)
    } else {
        (&ob, &oa)
    };
    let lost_err = String::from_utf8_lossy(&lost.stderr);
    assert!(
        lost_err.contains("another vodpack run published") && lost_err.contains("s3://pub/c"),
        "{lost_err}"
    );
    let won: Value = serde_json::from_slice(&won.stdout).unwrap();
    let m = marker(&s, "c");
    assert_eq!(m["current"], won["run"]);
    assert_ne!(m["current"], before["current"]);
    // Nothing of the losing run is left, and the manifests name the winner's.
    let master = String::from_utf8(s.object("c/master.m3u8").unwrap()).unwrap();
    assert!(master.contains(&format!("runs/{}/", won["run"].as_str().unwrap())));
    let o = verify_remote(&s, "s3://pub/c");
    assert!(o.status.success(), "{}", text(&o));
}

fn a_server_stopped_mid_run_leaves_the_previous_output_verifiable(server: Server) {
    let mut s = S3Server::start(server);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    let first = published(&s, "s3://pub/f", &km, &[]);
    let f = fifo(tmp.path(), "keys.json");
    let child = started_waiting(&s, "s3://pub/f", &tmp.path().join("k2.json"), &f);
    let mut w = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
    // The run has read the output's state; the server goes away before it uploads anything.
    s.stop();
    w.write_all(key_file_text().as_bytes()).unwrap();
    drop(w);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s3://pub/f/runs/") && err.contains("NoResponse"),
        "{err}"
    );
    assert!(
        err.contains("warning:") && err.contains("retrying"),
        "retries are warnings: {err}"
    );
    s.launch();
    assert_eq!(marker(&s, "f")["current"], first["run"]);
    let o = verify_remote(&s, "s3://pub/f");
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn credentials_buckets_and_keys_are_checked_before_any_work() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    // Wrong secret: exit 7 naming the URL and the service's code.
    let mut c = s.vodpack();
    c.env("AWS_SECRET_ACCESS_KEY", "wrong");
    let o = package_cmd(c, "s3://pub/w", &km, &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s3://pub/w") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    // Allowed to read but not to write: the first upload answers 403 AccessDenied.
    let mut c = s.vodpack();
    c.env("AWS_ACCESS_KEY_ID", READER_KEY)
        .env("AWS_SECRET_ACCESS_KEY", READER_SECRET);
    let o = package_cmd(c, "s3://pub/w", &km, &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s3://pub/w/runs/") && err.contains("AccessDenied"),
        "{err}"
    );
    // A bucket that does not exist.
    let o = package_cmd(s.vodpack(), "s3://nosuchbucket/w", &km, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s3://nosuchbucket") && err.contains("NoSuchBucket"),
        "{err}"
    );
    // Keys are never published: no --key-manifest, or one in OUT's bucket, is a usage error.
    let mut c = s.vodpack();
    c.args(["package", "-o", "s3://pub/w"])
        .args(protection_args("cbcs"))
        .args(inputs());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--key-manifest"),
        "{}",
        text(&o)
    );
    let mut c = s.vodpack();
    c.args([
        "package",
        "-o",
        "s3://pub/w",
        "--key-manifest",
        "s3://pub/keys/w.json",
    ])
    .args(protection_args("cbcs"))
    .args(inputs());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A key manifest in another bucket is written there (and not in the output's).
    let mut c = s.vodpack();
    c.args([
        "package",
        "--quiet",
        "-o",
        "s3://pub/w",
        "--key-manifest",
        "s3://keys/w.json",
    ])
    .args(protection_args("cbcs"))
    .args(inputs());
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(s.object("w/master.m3u8").is_some());
    // Nothing was written in the output prefix by the refused runs before this one: one run.
    assert_eq!(marker(&s, "w")["runs"].as_array().unwrap().len(), 1);
    // A prefix holding objects vodpack did not write is refused (exit 2) unless --force.
    let o = package_cmd(s.vodpack(), "s3://pub", &km, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--force"),
        "{}",
        text(&o)
    );
}

/// One object answering 403 (the run's marker switch; its segments and playlists are accepted):
/// the run exits 7 naming that object and the service's code, removes what it uploaded, and
/// the previous output is untouched byte for byte (so a player that loaded its manifests
/// before plays on) and still verifies.
#[test]
fn one_object_refused_leaves_the_previous_output_untouched() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    let first = published(&s, "s3://pub/one", &km, &[]);
    let first = first["run"].as_str().unwrap().to_string();
    let before: Vec<Option<Vec<u8>>> = [
        "one/master.m3u8",
        "one/manifest.mpd",
        "one/.vodpack-output.json",
    ]
    .iter()
    .map(|k| s.object(k))
    .collect();
    let mut c = s.vodpack();
    c.env("AWS_ACCESS_KEY_ID", RUNS_ONLY_KEY)
        .env("AWS_SECRET_ACCESS_KEY", RUNS_ONLY_SECRET);
    let o = package_cmd(c, "s3://pub/one", &tmp.path().join("k2.json"), &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s3://pub/one/.vodpack-output.json") && err.contains("AccessDenied"),
        "the refused object and the code are named: {err}"
    );
    // Its segments were accepted, then removed: only the first run's objects are left.
    let refused: Vec<String> = s
        .run_ids("one")
        .into_iter()
        .filter(|r| *r != first)
        .collect();
    // (SeaweedFS may keep the emptied folder of the refused run's prefix.)
    assert!(refused.len() <= 1, "{refused:?}");
    for f in [
        "video_240p/init.mp4",
        "video_240p/seg_1.m4s",
        "video_240p/playlist.m3u8",
    ] {
        assert!(
            s.object(&format!("one/runs/{}/{f}", refused[0])).is_none(),
            "{f} of the refused run is left"
        );
    }
    let after: Vec<Option<Vec<u8>>> = [
        "one/master.m3u8",
        "one/manifest.mpd",
        "one/.vodpack-output.json",
    ]
    .iter()
    .map(|k| s.object(k))
    .collect();
    assert!(
        before == after,
        "the published manifests and marker changed"
    );
    assert!(
        !km.with_file_name("k2.json").exists(),
        "no key manifest for a run not published"
    );
    let o = verify_remote(&s, "s3://pub/one");
    assert!(o.status.success(), "{}", text(&o));
}

impl S3Server {
    fn filer_port(&self) -> u16 {
        self.base + 4
    }

    /// Writes a file into a bucket through the filer's own HTTP API (`/buckets/<bucket>/<key>`),
    /// not through vodpack.
    fn put_through_filer(&self, bucket: &str, key: &str, body: &[u8]) {
        let port = self.filer_port();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "PUT /buckets/{bucket}/{key} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 20") || answer.starts_with("HTTP/1.0 20"),
            "{answer}"
        );
    }

    /// The run prefixes under `prefix/runs/` (the filer's folder listing).
    fn run_ids(&self, prefix: &str) -> Vec<String> {
        let port = self.filer_port();
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return Vec::new();
        };
        let _ = write!(
            s,
            "GET /buckets/pub/{prefix}/runs/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
        );
        let mut raw = String::new();
        let _ = s.read_to_string(&mut raw);
        let Some((_, body)) = raw.split_once("\r\n\r\n") else {
            return Vec::new();
        };
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        v["Entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["FullPath"].as_str())
                    .map(|p| p.rsplit('/').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[test]
fn inputs_read_from_s3_give_the_same_output_as_local_inputs() {
    let s = S3Server::start(Server::Seaweed);
    for f in ["h264_240p.mp4", "aac_en.mp4"] {
        s.put_through_filer(
            "keys",
            &format!("in/{f}"),
            &std::fs::read(fixture(f)).unwrap(),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = |out: &Path, inputs: [String; 2]| {
        let mut c = s.vodpack();
        c.args(["package", "--quiet", "-o"])
            .arg(out)
            .args(protection_args("cenc"))
            .args(inputs);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    let (remote, local) = (tmp.path().join("from_s3"), tmp.path().join("from_disk"));
    run(
        &remote,
        [
            "s3://keys/in/h264_240p.mp4".into(),
            "in=s3://keys/in/aac_en.mp4,lang=en".into(),
        ],
    );
    run(
        &local,
        [
            fixture("h264_240p.mp4").display().to_string(),
            format!("in={},lang=en", fixture("aac_en.mp4").display()),
        ],
    );
    let files = local_files(&local);
    assert_eq!(files, local_files(&remote));
    for f in files.iter().filter(|f| *f != ".vodpack-output.json") {
        assert!(
            std::fs::read(local.join(f)).unwrap() == std::fs::read(remote.join(f)).unwrap(),
            "{f} differs between S3 and local inputs"
        );
    }
    // inspect reads an object by offset too.
    let o = s
        .vodpack()
        .args(["inspect", "s3://keys/in/h264_240p.mp4"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("avc1"),
        "{}",
        text(&o)
    );
    // A missing input object: exit 7 naming it.
    let mut c = s.vodpack();
    c.args(["package", "--quiet", "-o"])
        .arg(tmp.path().join("x"))
        .arg("s3://keys/in/missing.mp4");
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("s3://keys/in/missing.mp4"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_run_killed_mid_upload_leaves_the_previous_output_verifiable() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let km = tmp.path().join("k.json");
    let first = published(&s, "s3://pub/k", &km, &[]);
    let first = first["run"].as_str().unwrap().to_string();
    // A longer title, so that its upload is seen under way.
    let long = tmp.path().join("long.mp4");
    crate::common::synth_video(
        &long,
        "1280x720",
        40,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-b:v",
            "8M",
        ],
    );
    let mut c = s.vodpack();
    c.args(["package", "--quiet", "-o", "s3://pub/k", "--key-manifest"])
        .arg(tmp.path().join("k2.json"))
        .args(protection_args("cbcs"))
        .arg(&long)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if s.run_ids("k").iter().any(|r| *r != first) {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its upload was seen"
        );
        assert!(Instant::now() < deadline, "no upload seen in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(marker(&s, "k")["current"], first.as_str());
    let master = String::from_utf8(s.object("k/master.m3u8").unwrap()).unwrap();
    assert!(master.contains(&format!("runs/{first}/")));
    let o = verify_remote(&s, "s3://pub/k");
    assert!(o.status.success(), "{}", text(&o));
    // Running the job again completes.
    published(&s, "s3://pub/k", &km, &[]);
}

/// Every file under `dir` (recursively), counted.
fn files_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => files_in(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

/// The upload is streamed: each segment leaves the local folder once uploaded, while the run
/// writes the next ones, so the local copy never holds the title (at most the upload queue's
/// few files), and what is published is still the whole, verifiable output.
#[test]
fn segments_are_uploaded_while_the_run_writes_the_next_ones() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("v.mp4");
    // 60 segments of 2 s.
    crate::common::synth_video(
        &video,
        "640x360",
        120,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-b:v",
            "1M",
        ],
    );
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let mut c = s.vodpack();
    c.env("TMPDIR", &scratch)
        .args([
            "package",
            "--json",
            "-o",
            "s3://pub/stream",
            "--key-manifest",
        ])
        .arg(tmp.path().join("k.json"))
        .args(["--segment-duration", "2"])
        .args(protection_args("cbcs"))
        .arg(&video)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        most = most.max(files_in(&scratch));
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let segments = summary["renditions"][0]["segments"].as_u64().unwrap();
    assert_eq!(segments, 60, "{summary}");
    assert!(most > 0, "the run's local folder was not seen under TMPDIR");
    // Queued (8) + uploading (4) + being written, the init segment, the playlists at the end.
    assert!(
        most <= 16,
        "the local folder held {most} files at once: the segments were not uploaded as they were written"
    );
    assert_eq!(files_in(&scratch), 0, "the local folder is removed");
    let run = summary["run"].as_str().unwrap();
    for n in [1, 30, 60] {
        assert!(
            s.object(&format!("stream/runs/{run}/video_360p/seg_{n}.m4s"))
                .is_some(),
            "segment {n} published"
        );
    }
    let mut v = s.vodpack();
    v.args(["verify", "s3://pub/stream"]);
    for k in &crate::common::TEST_KEYS {
        v.arg("--key").arg(format!("kid={},key={}", k.kid, k.key));
    }
    let o = v.arg("--sources").arg(&video).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// Shaka Player (DASH) and hls.js (HLS) play an encrypted output straight from the object
/// store's HTTP endpoint (anonymous read on `pub`; the harness only serves the page and the
/// Clear Key licence), seeking and switching between both video renditions.
#[test]
fn players_play_an_encrypted_output_from_the_object_store() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let licence = format!("http://127.0.0.1:{port}/license");
    published(
        &s,
        "s3://pub/play",
        &tmp.path().join("k.json"),
        &["--drm", "clearkey", "--clearkey-license-url", &licence],
    );
    for (player, protocol, manifest) in [
        ("shaka", "dash", "manifest.mpd"),
        ("hlsjs", "hls", "master.m3u8"),
    ] {
        let url = format!("{}/pub/play/{manifest}", s.endpoint());
        let mut cmd = crate::common::browser_harness(tmp.path(), player, protocol);
        cmd.args(["--url", &url, "--drm", "server", "--expect", "play"])
            .args(["--expect-heights", "240,360", "--port", &port.to_string()])
            .args(["--keys", &crate::common::browser_keys_arg()]);
        let _one_at_a_time = crate::common::browser_slot();
        let o = cmd.output().unwrap();
        let report = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{player} {protocol}: {}", text(&o));
        let json: Value = serde_json::from_str(&report).expect("harness JSON report");
        assert_eq!(json["ok"], true, "{player} {protocol}: {report}");
    }
}

/// A player that loaded the manifests before they were replaced plays on from what it loaded: while
/// it holds them, a new run under other keys publishes (the switch) and a run whose marker switch
/// is refused (403) fails; then its seeks and rendition switches (hls.js loads the other media
/// playlists then) fetch only the old run's objects, all present, under the old run's keys.
#[test]
fn a_player_holding_the_old_manifests_plays_on_through_a_new_run_and_a_refused_one() {
    let s = S3Server::start(Server::Seaweed);
    let tmp = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let licence = format!("http://127.0.0.1:{port}/license");
    let drm = [
        "--drm",
        "clearkey",
        "--clearkey-license-url",
        licence.as_str(),
    ];
    // The new run's keys: other KIDs and keys, so a segment of the new run fetched by the player
    // would ask the harness' licence server for a KID it does not know, and fail.
    let other_keys: Vec<String> = crate::common::TEST_KEYS
        .iter()
        .flat_map(|k| {
            [
                "--key".to_string(),
                format!(
                    "label={},kid=f{},key={}",
                    k.label,
                    &k.kid[..31],
                    k.key.chars().rev().collect::<String>()
                ),
            ]
        })
        .collect();
    for (player, protocol, manifest) in [
        ("shaka", "dash", "manifest.mpd"),
        ("hlsjs", "hls", "master.m3u8"),
    ] {
        let old = published(&s, "s3://pub/one", &tmp.path().join("k.json"), &drm);
        let old = old["run"].as_str().unwrap().to_string();
        let hold = tmp.path().join(format!("hold-{player}"));
        let url = format!("{}/pub/one/{manifest}", s.endpoint());
        let mut cmd = crate::common::browser_harness(tmp.path(), player, protocol);
        cmd.args(["--url", &url, "--drm", "server", "--expect", "play"])
            .args(["--expect-heights", "240,360", "--port", &port.to_string()])
            .args(["--keys", &crate::common::browser_keys_arg()])
            .args(["--timeout", "240", "--hold"])
            .arg(&hold)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let _one_at_a_time = crate::common::browser_slot();
        let mut child = cmd.spawn().unwrap();
        let loaded = hold.with_extension("loaded");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !loaded.exists() {
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "{player} {protocol}: never held the manifests: {}",
                    text(&o)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // A new run under other keys replaces the output...
        let mut c = s.vodpack();
        c.args(["package", "--json", "-o", "s3://pub/one", "--key-manifest"])
            .arg(tmp.path().join(format!("k-new-{player}.json")))
            .args(["--protection", "cbcs", "--iv", crate::common::TEST_IV])
            .args(&other_keys)
            .args(drm)
            .args(inputs());
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let new: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_ne!(new["run"].as_str().unwrap(), old);
        assert_eq!(marker(&s, "one")["current"], new["run"]);
        // ...and a run refused at its marker switch fails.
        let mut c = s.vodpack();
        c.env("AWS_ACCESS_KEY_ID", RUNS_ONLY_KEY)
            .env("AWS_SECRET_ACCESS_KEY", RUNS_ONLY_SECRET);
        let o = package_cmd(c, "s3://pub/one", &tmp.path().join("k-refused.json"), &[])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(7), "{}", text(&o));
        std::fs::write(hold.with_extension("go"), b"").unwrap();
        let o = child.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{player} {protocol}: {}", text(&o));
        let json: Value = serde_json::from_str(&report).expect("harness JSON report");
        assert_eq!(json["ok"], true, "{player} {protocol}: {report}");
        let steps: Vec<&str> = json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        let resumed = steps.iter().position(|s| *s == "resumed");
        assert!(
            resumed.is_some_and(|i| i + 2 < steps.len()),
            "{player}: seeks and switches after the new run: {steps:?}"
        );
        for kid in json["licenseKids"].as_array().unwrap() {
            let kid = kid.as_str().unwrap().replace('-', "").to_lowercase();
            assert!(
                !kid.starts_with('f'),
                "{player} {protocol} asked for a key of the new run: {report}"
            );
        }
    }
}
