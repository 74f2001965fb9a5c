//! `vodpack token sign|verify --cdn …`: one line out per token/URL (one per cookie), verify exits
//! 0 valid, 1 refused with the reason on stderr, 2 on usage errors. The byte-level agreement with
//! the vendors' libraries is proven in crates/vodpack-control/tests/cdn_judges.rs; here the CLI
//! wiring is checked, and an Akamai token from the CLI is compared with akamai-edgeauth when the
//! judges' venv is there (scripts/cdn-judges.sh; the suite always installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AKAMAI_KEY: &str = "52a152a152a152a152a152a152a152a1";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/vodpack-control/tests/fixtures/cdn")
}

fn token(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vodpack"))
        .arg("token")
        .args(args)
        .output()
        .expect("run vodpack")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn refused(o: &Output, reason: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(reason), "{reason} not in {err}");
}

fn mediacdn_keys() -> (String, String) {
    let text = std::fs::read_to_string(fixtures().join("mediacdn-test-keys.txt")).unwrap();
    let line = text.lines().next().unwrap();
    let field = |k: &str| {
        line.split(' ')
            .find_map(|f| f.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    (field("private="), field("public="))
}

/// Keeps only the last occurrence of `flag VALUE` (a test's override of a default).
fn dedup(args: &mut Vec<&str>, flag: &str) {
    let positions: Vec<usize> = (0..args.len()).filter(|&i| args[i] == flag).collect();
    if let Some((_, earlier)) = positions.split_last() {
        for &i in earlier.iter().rev() {
            args.drain(i..i + 2);
        }
    }
}

fn dedup_now(args: &mut Vec<&str>) {
    dedup(args, "--now");
}

#[test]
fn akamai_sign_and_verify() {
    let o = token(&[
        "sign",
        "--cdn",
        "akamai",
        "--key",
        AKAMAI_KEY,
        "--acl",
        "/v/movie_123/*",
        "--start-time",
        "1700000000",
        "--end-time",
        "1700003600",
        "--session-id",
        "ps_1",
    ]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    let tok = out.trim_end();
    assert!(tok.starts_with("st=1700000000~exp=1700003600~acl=/v/movie_123/*~id=ps_1~hmac="));
    let verify = |path: &str, now: &str, extra: &[&str]| {
        let mut args = vec![
            "verify", "--cdn", "akamai", "--key", AKAMAI_KEY, "--url", path, "--token", tok,
            "--now", now,
        ];
        args.extend_from_slice(extra);
        token(&args)
    };
    stdout(&verify("/v/movie_123/720p/seg_1.m4s", "1700000100", &[]));
    refused(
        &verify("/v/movie_999/x.m4s", "1700000100", &[]),
        "outside_acl",
    );
    refused(&verify("/v/movie_123/x.m4s", "1700003600", &[]), "expired");
    refused(
        &verify("/v/movie_123/x.m4s", "1699999999", &[]),
        "not_yet_valid",
    );
    refused(
        &verify("/v/movie_123/x.m4s", "1700000100", &["--algorithm", "sha1"]),
        "bad_signature",
    );
    // Rotation: an old key and the current one.
    stdout(&verify(
        "/v/movie_123/x.m4s",
        "1700000100",
        &["--key", "00112233445566778899aabbccddeeff"],
    ));

    // An IP-bound URL token with salt.
    let o = token(&[
        "sign",
        "--cdn",
        "akamai",
        "--key",
        AKAMAI_KEY,
        "--url",
        "/v/a/seg_1.m4s",
        "--end-time",
        "1700003600",
        "--ip",
        "192.0.2.1",
        "--salt",
        "s",
        "--algorithm",
        "md5",
    ]);
    let tok = stdout(&o).trim_end().to_string();
    let v = |ip: &str, path: &str| {
        token(&[
            "verify",
            "--cdn",
            "akamai",
            "--key",
            AKAMAI_KEY,
            "--salt",
            "s",
            "--algorithm",
            "md5",
            "--url",
            path,
            "--token",
            &tok,
            "--now",
            "1700000000",
            "--client-ip",
            ip,
        ])
    };
    stdout(&v("192.0.2.1", "/v/a/seg_1.m4s"));
    refused(&v("192.0.2.2", "/v/a/seg_1.m4s"), "wrong_ip");
    refused(&v("192.0.2.1", "/v/a/seg_2.m4s"), "bad_signature");
    refused(
        &token(&[
            "verify",
            "--cdn",
            "akamai",
            "--key",
            AKAMAI_KEY,
            "--url",
            "/x",
            "--token",
            "exp=1~nonsense",
            "--now",
            "0",
        ]),
        "malformed",
    );

    // Same token as Akamai's library, when the judges are installed.
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/cdn-venv/bin/python");
    if py.is_file() {
        let theirs = Command::new(py)
            .args([
                "-c",
                "from akamai.edgeauth import EdgeAuth; print(EdgeAuth(key='52a152a152a152a152a152a152a152a1', algorithm='md5', end_time=1700003600, ip='192.0.2.1', salt='s').generate_url_token('/v/a/seg_1.m4s'))",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(theirs.stdout).unwrap().trim_end(), tok);
    }
}

#[test]
fn cloudfront_urls_and_cookies() {
    let key = fixtures().join("cloudfront-test-1.pem");
    let public = fixtures().join("cloudfront-test-1.pub.pem");
    let other_public = fixtures().join("cloudfront-test-2.pub.pem");
    let (key, public, other_public) = (
        key.to_str().unwrap(),
        public.to_str().unwrap(),
        other_public.to_str().unwrap(),
    );
    let url = "https://d111111abcdef8.cloudfront.net/v/movie_123/manifest.mpd";
    let canned = stdout(&token(&[
        "sign",
        "--cdn",
        "cloudfront",
        "--private-key",
        key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--url",
        url,
        "--expires",
        "1700003600",
    ]));
    let canned = canned.trim_end();
    assert!(canned.starts_with(&format!("{url}?Expires=1700003600&Signature=")));
    assert!(canned.ends_with("&Key-Pair-Id=K2JCJMDEHXQW5F"));
    let v = |signed: &str, extra: &[&str], pubkey: &str| {
        let mut args = vec![
            "verify",
            "--cdn",
            "cloudfront",
            "--public-key",
            pubkey,
            "--url",
            signed,
            "--now",
            "1700000000",
        ];
        args.extend_from_slice(extra);
        dedup_now(&mut args);
        token(&args)
    };
    stdout(&v(canned, &[], public));
    refused(&v(canned, &[], other_public), "bad_signature");
    refused(
        &v(&canned.replace("manifest", "other"), &[], public),
        "bad_signature",
    );
    refused(
        &v(canned, &["--key-pair-id", "KOTHER"], public),
        "unknown_key",
    );

    // Custom policy: prefix, window, IP range.
    let custom = stdout(&token(&[
        "sign",
        "--cdn",
        "cloudfront",
        "--private-key",
        key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--url",
        url,
        "--expires",
        "1700003600",
        "--resource",
        "https://d111111abcdef8.cloudfront.net/v/movie_123/*",
        "--not-before",
        "1699999000",
        "--ip-address",
        "192.0.2.0/24",
    ]));
    let custom = custom.trim_end();
    assert!(custom.contains("?Policy="));
    stdout(&v(custom, &["--client-ip", "192.0.2.9"], public));
    refused(
        &v(custom, &["--client-ip", "198.51.100.1"], public),
        "wrong_ip",
    );
    refused(
        &v(
            custom,
            &["--client-ip", "192.0.2.9", "--now", "1699998000"],
            public,
        ),
        "",
    );

    // Cookies: three Name=Value lines, verified for any URL under the resource.
    let cookies = stdout(&token(&[
        "sign",
        "--cdn",
        "cloudfront",
        "--private-key",
        key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--url",
        url,
        "--expires",
        "1700003600",
        "--resource",
        "https://d111111abcdef8.cloudfront.net/v/movie_123/*",
        "--cookies",
    ]));
    let names: Vec<&str> = cookies
        .lines()
        .map(|l| l.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        names,
        [
            "CloudFront-Policy",
            "CloudFront-Signature",
            "CloudFront-Key-Pair-Id"
        ]
    );
    let header = cookies.lines().collect::<Vec<_>>().join("; ");
    let seg = "https://d111111abcdef8.cloudfront.net/v/movie_123/720p/seg_1.m4s";
    stdout(&v(seg, &["--cookie", &header], public));
    refused(
        &v(
            "https://d111111abcdef8.cloudfront.net/v/movie_9/seg_1.m4s",
            &["--cookie", &header],
            public,
        ),
        "outside_acl",
    );
    let canned_cookies = stdout(&token(&[
        "sign",
        "--cdn",
        "cloudfront",
        "--private-key",
        key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--url",
        url,
        "--expires",
        "1700003600",
        "--cookies",
    ]));
    assert!(canned_cookies.starts_with("CloudFront-Expires=1700003600\n"));
}

#[test]
fn mediacdn_urls_prefixes_and_cookies() {
    let (private, public) = mediacdn_keys();
    let url = "https://media.example.com/v/movie_123/manifest.mpd";
    let s = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            "--cdn",
            "mediacdn",
            "--private-key",
            &private,
            "--key-name",
            "mediacdn-test-1",
            "--expires",
            "1700003600",
            "--url",
            url,
        ];
        args.extend_from_slice(extra);
        stdout(&token(&args)).trim_end().to_string()
    };
    let v = |signed: &str, extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--cdn",
            "mediacdn",
            "--public-key",
            &public,
            "--key-name",
            "mediacdn-test-1",
            "--url",
            signed,
            "--now",
            "1700000000",
        ];
        args.extend_from_slice(extra);
        dedup_now(&mut args);
        dedup(&mut args, "--key-name");
        token(&args)
    };
    let signed = s(&[]);
    assert!(signed.starts_with(&format!(
        "{url}?Expires=1700003600&KeyName=mediacdn-test-1&Signature="
    )));
    stdout(&v(&signed, &[]));
    refused(
        &v(&signed.replace("manifest", "other"), &[]),
        "bad_signature",
    );
    refused(&v(&signed, &["--now", "1700003600"]), "expired");

    let prefixed = s(&["--url-prefix", "https://media.example.com/v/movie_123/"]);
    assert!(prefixed.contains("?URLPrefix="));
    stdout(&v(&prefixed, &[]));
    let (_, q) = prefixed.split_once('?').unwrap();
    refused(
        &v(
            &format!("https://media.example.com/v/movie_9/x.m4s?{q}"),
            &[],
        ),
        "outside_acl",
    );

    let cookie = s(&[
        "--url-prefix",
        "https://media.example.com/v/movie_123/",
        "--cookie",
    ]);
    assert!(cookie.starts_with("Edge-Cache-Cookie=URLPrefix="));
    stdout(&v(
        "https://media.example.com/v/movie_123/720p/seg_1.m4s",
        &["--cookie", &cookie],
    ));
    refused(
        &v(
            "https://media.example.com/v/movie_9/seg_1.m4s",
            &["--cookie", &cookie],
        ),
        "outside_acl",
    );
    refused(&v(&signed, &["--key-name", "mediacdn-test-2"]), "");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["sign", "--cdn", "akamai", "--acl", "/x", "--end-time", "5"][..],
        &[
            "sign",
            "--cdn",
            "akamai",
            "--key",
            "zz",
            "--acl",
            "/x",
            "--end-time",
            "5",
        ],
        &[
            "sign",
            "--cdn",
            "akamai",
            "--key",
            "00",
            "--acl",
            "/x",
            "--url",
            "/y",
            "--end-time",
            "5",
        ],
        &[
            "sign",
            "--cdn",
            "akamai",
            "--key",
            "00",
            "--acl",
            "/x",
            "--end-time",
            "5",
            "--expires",
            "5",
        ],
        &[
            "sign",
            "--cdn",
            "cloudfront",
            "--private-key",
            "/nonexistent.pem",
            "--key-pair-id",
            "K",
            "--url",
            "https://x/",
            "--expires",
            "5",
        ],
        &[
            "sign",
            "--cdn",
            "mediacdn",
            "--private-key",
            "AAAA",
            "--key-name",
            "k",
            "--url",
            "https://x/",
            "--expires",
            "5",
        ],
        &[
            "verify",
            "--cdn",
            "mediacdn",
            "--public-key",
            "AAAA",
            "--key-name",
            "k",
            "--url",
            "https://x/",
        ],
        &["sign", "--cdn", "nosuchcdn"],
        &["frobnicate"],
    ] {
        let o = token(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
