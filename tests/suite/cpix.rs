//! CPIX 2.3 keys (docs/cpix.md): documents written from the specs by tests/data/cpix/
//! make-fixtures.sh (plain; encrypted with openssl for a test RSA key pair, in both MAC-key
//! layouts in use) select a key per rendition through their usage rules; Shaka Packager and
//! ffmpeg decrypt every rendition with the document's key for its class; the document's PSSH
//! boxes are the ones in the init segments and the MPD; broken documents are exit 6 with
//! nothing written; `--cpix-export` writes a schema-valid document, plain or encrypted, that
//! vodpack reads back. Every document read or written is validated with xmllint against the
//! CPIX 2.3 schema in tests/data/schemas/cpix.
use crate::common::{
    assert_same_frames, assert_same_samples, concat_rendition, fixture, framemd5, root, samples,
    shaka_decrypt, vodpack,
};
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    root().join("tests/data/cpix").join(name)
}

/// Validates a CPIX document against the CPIX 2.3 schema (xmllint).
fn xmllint_cpix(doc: &Path) {
    let schema = root().join("tests/data/schemas/cpix/cpix.xsd");
    let o = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg(doc)
        .output()
        .expect("xmllint (libxml2-utils) is installed");
    assert!(
        o.status.success(),
        "{} is not valid CPIX 2.3: {}",
        doc.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The fixtures' keys: label → (kid hex, key hex).
fn fixture_key(label: &str) -> (String, String) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("keys.json")).unwrap()).unwrap();
    let k = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == label)
        .unwrap_or_else(|| panic!("no fixture key {label}"));
    (
        k["kid"].as_str().unwrap().to_string(),
        k["key"].as_str().unwrap().to_string(),
    )
}

fn package(out: &Path, args: &[&str]) -> Output {
    vodpack()
        .args(["package", "--quiet", "-o"])
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

const SET: [(&str, &str, &str, &str); 3] = [
    ("video_240p", "h264_240p.mp4", "v:0", "SD"),
    ("video_720p", "h264_720p.mp4", "v:0", "HD"),
    ("audio_en", "aac_en.mp4", "a:0", "AUDIO"),
];

fn inputs() -> Vec<String> {
    SET.iter()
        .map(|(_, f, _, _)| fixture(f).display().to_string())
        .collect()
}

/// Each rendition decrypts with Shaka Packager to the source's samples with the fixture key of
/// its class (so the rule chose that key); `ffmpeg_too` also decodes with ffmpeg's decrypter.
fn assert_decrypts(out: &Path, tmp: &Path, ffmpeg_too: bool) {
    for (id, input, stream, class) in SET {
        let (kid, key) = fixture_key(class);
        let enc = concat_rendition(&out.join(id), &tmp.join(format!("{id}.enc.mp4")));
        let source = fixture(input);
        let dec = tmp.join(format!("{id}.dec.mp4"));
        let kind = if stream.starts_with('v') {
            "video"
        } else {
            "audio"
        };
        shaka_decrypt(&enc, kind, &dec, &kid, &key);
        assert_same_samples(
            &format!("{id} ({class} key): Shaka-decrypted samples"),
            &samples(&source, stream, &[]),
            &samples(&dec, "0", &[]),
        );
        if ffmpeg_too {
            assert_same_frames(
                &format!("{id} ({class} key): ffmpeg -decryption_key"),
                &framemd5(&source, stream, &[]),
                &framemd5(&enc, "0", &["-decryption_key", &key]),
            );
        }
    }
}

/// The base64 of every `<cpix:PSSH>` of `doc` for `kid` (UUID form).
fn document_pssh(doc: &str, kid_uuid: &str) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for part in doc.split("<cpix:DRMSystem ").skip(1) {
        let part = part.split("</cpix:DRMSystem>").next().unwrap();
        if !part.contains(&format!("kid=\"{kid_uuid}\"")) {
            continue;
        }
        if let Some(p) = part.split("<cpix:PSSH>").nth(1) {
            let b64 = p.split("</cpix:PSSH>").next().unwrap();
            v.push(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .unwrap(),
            );
        }
    }
    v
}

fn uuid(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[test]
fn plain_document_keys_each_rendition_by_its_rule_and_signals_its_pssh() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let export = tmp.path().join("export.xml");
    let doc_path = data("plain.xml");
    xmllint_cpix(&doc_path);
    let mut args = vec![
        "--protection",
        "cenc",
        "--drm",
        "widevine,playready",
        "--cpix",
        doc_path.to_str().unwrap(),
        "--cpix-export",
        export.to_str().unwrap(),
    ];
    let ins = inputs();
    args.extend(ins.iter().map(String::as_str));
    let o = package(&out, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_decrypts(&out, tmp.path(), true);

    // The document's PSSH boxes, byte for byte, in each init segment and in the MPD.
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
    for (id, _, _, class) in SET {
        let (kid, _) = fixture_key(class);
        let pssh = document_pssh(&doc, &uuid(&kid));
        assert_eq!(
            pssh.len(),
            2,
            "{class}: Widevine and PlayReady PSSH in the fixture"
        );
        let init = std::fs::read(out.join(id).join("init.mp4")).unwrap();
        for p in &pssh {
            assert!(
                init.windows(p.len()).any(|w| w == p.as_slice()),
                "{id}: the document's pssh ({} bytes) is not in init.mp4",
                p.len()
            );
            let b64 = base64::engine::general_purpose::STANDARD.encode(p);
            assert!(
                mpd.contains(&b64),
                "{id}: the document's pssh is not in the MPD"
            );
        }
    }

    // The export: schema-valid, every key used with its value.
    xmllint_cpix(&export);
    let exported = std::fs::read_to_string(&export).unwrap();
    for (_, _, _, class) in SET {
        let (kid, key) = fixture_key(class);
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&key).unwrap());
        assert!(exported.contains(&uuid(&kid)), "export lacks {class}");
        assert!(exported.contains(&b64), "export lacks {class}'s key");
    }
    assert_eq!(
        std::fs::metadata(&export).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn encrypted_documents_in_both_mac_key_layouts_are_read() {
    let key = data("recipient.key");
    for doc in ["encrypted-dashif.xml", "encrypted-aws.xml"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        xmllint_cpix(&data(doc));
        let mut args = vec![
            "--protection",
            "cbcs",
            "--cpix",
            data(doc).to_str().unwrap().to_string().leak(),
            "--cpix-private-key",
            key.to_str().unwrap(),
        ];
        let ins = inputs();
        args.extend(ins.iter().map(String::as_str));
        let o = package(&out, &args);
        assert!(
            o.status.success(),
            "{doc}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_decrypts(&out, tmp.path(), false);
        // No --drm: the document's systems are signalled, FairPlay (cbcs) with the document's
        // HLSSignalingData line as it is.
        for (id, _, _, class) in SET {
            let (kid, _) = fixture_key(class);
            let playlist = std::fs::read_to_string(out.join(id).join("playlist.m3u8")).unwrap();
            let line = format!(
                "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://{kid}\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\""
            );
            assert!(
                playlist.lines().any(|l| l == line),
                "{doc} {id}: the document's FairPlay line is not in the playlist:\n{playlist}"
            );
        }
        let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
        assert!(mpd.contains("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"));
        assert!(mpd.contains("9a04f079-9840-4286-ab92-e65be0885f95"));
    }
}

#[test]
fn broken_documents_are_key_errors_with_nothing_written() {
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "tampered-mac.xml",
            vec!["--cpix-private-key", "recipient.key"],
            "ValueMAC does not match",
        ),
        (
            "encrypted-dashif.xml",
            vec!["--cpix-private-key", "other.key"],
            "wrong private key",
        ),
        ("encrypted-dashif.xml", vec![], "--cpix-private-key"),
        (
            "no-rule.xml",
            vec![],
            "'audio_en' (AUDIO) is matched by no ContentKeyUsageRule",
        ),
        ("duplicate-kid.xml", vec![], "listed twice"),
        ("key-period.xml", vec![], "KeyPeriodFilter"),
        ("scheme-cbcs.xml", vec![], "commonEncryptionScheme 'cbcs'"),
    ];
    for (doc, extra, needle) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let export = tmp.path().join("export.xml");
        xmllint_cpix(&data(doc));
        let extra: Vec<String> = extra
            .iter()
            .map(|a| {
                if a.ends_with(".key") {
                    data(a).display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let doc_path = data(doc).display().to_string();
        let mut args = vec![
            "--protection",
            "cenc",
            "--cpix",
            doc_path.as_str(),
            "--cpix-export",
            export.to_str().unwrap(),
        ];
        args.extend(extra.iter().map(String::as_str));
        let ins = inputs();
        args.extend(ins.iter().map(String::as_str));
        let o = package(&out, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(6), "{doc} {extra:?}: {err}");
        assert!(err.contains(needle), "{doc}: expected '{needle}' in: {err}");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{doc}: something was written"
        );
    }
}

#[test]
fn export_encrypted_for_a_recipient_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let export = tmp.path().join("keys.cpix.xml");
    // Generated keys, exported encrypted for the test recipient.
    let ins = inputs();
    let mut args = vec![
        "--protection",
        "cenc",
        "--cpix-export",
        export.to_str().unwrap(),
        "--cpix-recipient",
        data("recipient.pem").to_str().unwrap().to_string().leak(),
    ];
    args.extend(ins.iter().map(String::as_str));
    let o = package(&first, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    xmllint_cpix(&export);
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        !text.contains("PlainValue"),
        "an encrypted export holds no plain key"
    );
    // The export inside OUT is refused.
    let third = tmp.path().join("third");
    let inside = third.join("k.xml");
    let o = package(
        &third,
        &[
            "--protection",
            "cenc",
            "--cpix-export",
            inside.to_str().unwrap(),
            &ins[0],
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("inside the output folder"), "{err}");
    assert!(!third.exists());

    // Read back with the recipient's key: the same keys encrypt a second run.
    let second = tmp.path().join("second");
    let mut args = vec![
        "--protection",
        "cenc",
        "--cpix",
        export.to_str().unwrap(),
        "--cpix-private-key",
        data("recipient.key").to_str().unwrap().to_string().leak(),
    ];
    args.extend(ins.iter().map(String::as_str));
    let o = package(&second, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let km: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("first.keys.json")).unwrap())
            .unwrap();
    let km2: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("second.keys.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<(String, String, String)> = v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["label"].as_str().unwrap().to_string(),
                    k["kid"].as_str().unwrap().to_string(),
                    k["key"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&km), keys(&km2));
    assert_eq!(keys(&km).len(), 3);
}

/// The SPEKE v2 test server (tests/data/cpix/speke_server.py) on a loopback port; killed on drop.
struct SpekeServer {
    child: std::process::Child,
    url: String,
}

impl SpekeServer {
    fn start(dir: &Path, extra: &[&str]) -> SpekeServer {
        use std::io::BufRead;
        let port = crate::common::free_port();
        let mut child = Command::new("python3")
            .arg(data("speke_server.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SPEKE test server did not start");
        SpekeServer {
            child,
            url: format!("http://127.0.0.1:{port}/speke/v2"),
        }
    }
}

impl Drop for SpekeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's keys: intendedTrackType → (kid hex, key hex).
fn server_keys(dir: &Path) -> std::collections::HashMap<String, (String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("keys.json")).unwrap()).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(kid, k)| {
            (
                k["intendedTrackType"].as_str().unwrap().to_string(),
                (kid.replace('-', ""), k["key"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

#[test]
fn speke_v2_keys_from_a_loopback_key_server() {
    for encrypted in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let server_dir = tmp.path().join("server");
        std::fs::create_dir(&server_dir).unwrap();
        // The first request gets a 503: vodpack retries.
        let server = SpekeServer::start(&server_dir, &["--token", "t0k", "--fail-first", "1"]);
        let out = tmp.path().join("out");
        let export = tmp.path().join("export.xml");
        let ins = inputs();
        let cert = data("recipient.pem").display().to_string();
        let key = data("recipient.key").display().to_string();
        let mut args = vec![
            "--protection",
            "cenc",
            "--drm",
            "widevine,playready",
            "--speke",
            server.url.as_str(),
            "--speke-header",
            "Authorization: Bearer t0k",
            "--cpix-export",
            export.to_str().unwrap(),
        ];
        if encrypted {
            args.extend(["--cpix-certificate", &cert, "--cpix-private-key", &key]);
        }
        args.extend(ins.iter().map(String::as_str));
        let o = package(&out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

        // Two requests (the 503, then the retry), both schema-valid, carrying the usage rules
        // of the classes the renditions need, and the certificate when asked for.
        for n in [1, 2] {
            let req = server_dir.join(format!("request-{n}.xml"));
            xmllint_cpix(&req);
            let text = std::fs::read_to_string(&req).unwrap();
            for class in ["SD", "HD", "AUDIO"] {
                assert!(
                    text.contains(&format!("intendedTrackType=\"{class}\"")),
                    "request lacks the {class} rule: {text}"
                );
            }
            assert_eq!(text.contains("X509Certificate"), encrypted);
        }
        assert!(!server_dir.join("request-3.xml").exists());

        // Each rendition decrypts with the key the server made for its class.
        let keys = server_keys(&server_dir);
        for (id, input, stream, class) in SET {
            let (kid, k) = &keys[class];
            let enc = concat_rendition(&out.join(id), &tmp.path().join(format!("{id}.enc.mp4")));
            let dec = tmp.path().join(format!("{id}.dec.mp4"));
            let kind = if stream.starts_with('v') {
                "video"
            } else {
                "audio"
            };
            shaka_decrypt(&enc, kind, &dec, kid, k);
            assert_same_samples(
                &format!("SPEKE {id} ({class})"),
                &samples(&fixture(input), stream, &[]),
                &samples(&dec, "0", &[]),
            );
            // The server's PSSH is the one in the init segment.
            let answer_pssh = std::fs::read_to_string(&export).unwrap();
            let pssh = document_pssh(&answer_pssh, &uuid(kid));
            assert_eq!(pssh.len(), 2, "export keeps both systems' PSSH for {class}");
            let init = std::fs::read(out.join(id).join("init.mp4")).unwrap();
            for p in &pssh {
                assert!(init.windows(p.len()).any(|w| w == p.as_slice()));
            }
        }
        xmllint_cpix(&export);
        // The server's ContentProtectionData is the MPD's, verbatim.
        let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
        let (kid, _) = &keys["SD"];
        let cpd_pssh = base64::engine::general_purpose::STANDARD
            .encode(&document_pssh(&std::fs::read_to_string(&export).unwrap(), &uuid(kid))[0]);
        assert!(
            mpd.contains(&format!(
                "<cenc:pssh xmlns:cenc=\"urn:mpeg:cenc:2013\">{cpd_pssh}</cenc:pssh>"
            )),
            "the ContentProtectionData is not in the MPD: {mpd}"
        );
    }
}

#[test]
fn speke_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let server_dir = tmp.path().join("server");
    std::fs::create_dir(&server_dir).unwrap();
    let server = SpekeServer::start(&server_dir, &["--token", "t0k"]);
    let out = tmp.path().join("out");
    let ins = inputs();
    // No token: 401, not retried.
    let o = package(
        &out,
        &["--protection", "cenc", "--speke", &server.url, &ins[0]],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(
        !server_dir.join("request-2.xml").exists(),
        "a 401 is not retried"
    );
    assert!(!out.exists());
}

/// Clear Key playback in headless Chromium with the CPIX document's keys (tests/browser/run.mjs):
/// the plain fixture keys the 240p rendition SD, the 720p one HD and the audio AUDIO, and the
/// harness's licence endpoint answers with the document's keys, so the players only play when
/// each rendition was encrypted with the key its rule chose. Shaka Player DASH with cenc, hls.js
/// HLS with cbcs (the document declares no scheme, so either applies).
#[test]
fn clear_key_playback_in_chromium_with_the_document_keys() {
    use crate::common::{assert_harness_ok, browser_harness, free_port};
    let keys: Vec<String> = ["AUDIO", "SD", "HD"]
        .iter()
        .map(|class| {
            let (kid, key) = fixture_key(class);
            format!("{kid}={key}")
        })
        .collect();
    let doc = data("plain.xml");
    for (scheme, player, protocol) in [("cenc", "shaka", "dash"), ("cbcs", "hlsjs", "hls")] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let port = free_port();
        let licence = format!("http://127.0.0.1:{port}/license");
        let mut args = vec![
            "--protection",
            scheme,
            "--drm",
            "clearkey",
            "--clearkey-license-url",
            &licence,
            "--cpix",
            doc.to_str().unwrap(),
        ];
        let ins = inputs();
        args.extend(ins.iter().map(String::as_str));
        let o = package(&out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut cmd = browser_harness(&out, player, protocol);
        cmd.args(["--drm", "server", "--expect", "play"])
            .args(["--port", &port.to_string()])
            .args(["--keys", &keys.join(",")])
            .args(["--expect-heights", "240,720"]);
        assert_harness_ok(&mut cmd, &format!("{player} {protocol} {scheme}"));
    }
}

/// A test CA and a certificate it signed for 127.0.0.1 (openssl, P-256): (ca.pem, cert, key).
fn test_tls_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "openssl {args:?}: {o:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca_args = [
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=vodpack test CA",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ];
    openssl(&[&["req", "-x509"][..], &ec, &ca_args].concat());
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// `--speke https://…` and `--cpix https://…`: the key server's certificate, signed by a CA the
/// test makes, is trusted through the standard `SSL_CERT_FILE`; without it vodpack refuses the
/// server (exit 6, a message naming the certificate and the remedy) and writes nothing.
#[test]
fn speke_and_cpix_over_https_trust_ssl_cert_file_only() {
    let tmp = tempfile::tempdir().unwrap();
    let server_dir = tmp.path().join("server");
    std::fs::create_dir(&server_dir).unwrap();
    std::fs::copy(data("plain.xml"), server_dir.join("plain.xml")).unwrap();
    let (ca, cert, key) = test_tls_certificates(tmp.path());
    let server = SpekeServer::start(
        &server_dir,
        &[
            "--token",
            "t0k",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let speke_url = server.url.replace("http://", "https://");
    let cpix_url = speke_url.replace("/speke/v2", "/documents/plain.xml");
    let ins = inputs();
    let run = |out: &Path, source: &[&str], trust: bool| {
        let mut cmd = vodpack();
        cmd.args(["package", "--quiet", "-o"])
            .arg(out)
            .args(["--protection", "cenc"])
            .args(source)
            .args(["--speke-header", "Authorization: Bearer t0k"])
            .args(&ins)
            .env_remove("SSL_CERT_DIR");
        if trust {
            cmd.env("SSL_CERT_FILE", &ca);
        } else {
            cmd.env_remove("SSL_CERT_FILE");
        }
        cmd.output().unwrap()
    };

    // Trusted: the SPEKE exchange runs over TLS and the 240p rendition decrypts with the key the
    // server made for SD; the plain document fetched over TLS keys it with the fixture's SD key.
    let out = tmp.path().join("speke");
    let o = run(&out, &["--speke", &speke_url], true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(server_dir.join("request-1.xml").exists());
    let (id, input, stream, class) = SET[0];
    let (kid, k) = &server_keys(&server_dir)[class];
    let check = |out: &Path, kid: &str, k: &str, name: &str| {
        let enc = concat_rendition(&out.join(id), &tmp.path().join(format!("{name}.enc.mp4")));
        let dec = tmp.path().join(format!("{name}.dec.mp4"));
        shaka_decrypt(&enc, "video", &dec, kid, k);
        assert_same_samples(
            &format!("{name}: {id} ({class})"),
            &samples(&fixture(input), stream, &[]),
            &samples(&dec, "0", &[]),
        );
    };
    check(&out, kid, k, "speke-https");
    let out = tmp.path().join("cpix");
    let o = run(&out, &["--cpix", &cpix_url], true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (kid, k) = fixture_key(class);
    check(&out, &kid, &k, "cpix-https");

    // Untrusted (the system's roots only): refused at once, nothing written, no request made.
    let before = std::fs::read_dir(&server_dir).unwrap().count();
    for (name, source) in [("speke", &speke_url), ("cpix", &cpix_url)] {
        let out = tmp.path().join(format!("untrusted-{name}"));
        let flag = format!("--{name}");
        let o = run(&out, &[&flag, source], false);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(6), "{name}: {err}");
        assert!(
            err.contains("certificate") && err.contains("SSL_CERT_FILE"),
            "{name}: {err}"
        );
        assert!(!out.exists(), "{name}: nothing is written");
    }
    assert_eq!(
        std::fs::read_dir(&server_dir).unwrap().count(),
        before,
        "no request reached the server"
    );
}
