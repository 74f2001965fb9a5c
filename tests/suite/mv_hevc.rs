//! MV-HEVC (Apple spatial video, fixtures/shaka-video/water-mv-hevc.mp4: `hvc1` + `hvcC` +
//! `lhvC`, NAL units of layers 0 and 1). Packaging clear works; encrypting is refused as
//! unsupported (exit 4) with a message naming MV-HEVC, before anything is written — not the
//! "invalid input" (exit 3) of a layer-1 slice read by the single-layer rules.
use crate::common::{fixture, package, protection_args, vodpack};

const CLIP: &str = "shaka-video/water-mv-hevc.mp4";

#[test]
fn mv_hevc_packages_clear_and_encryption_is_refused_as_unsupported() {
    let tmp = tempfile::tempdir().unwrap();
    let clear = tmp.path().join("clear");
    package(&clear, &[fixture(CLIP).display().to_string()]);
    let master = std::fs::read_to_string(clear.join("master.m3u8")).unwrap();
    assert!(master.contains("CODECS=\"hvc1."), "{master}");

    let out = tmp.path().join("enc");
    let result = vodpack()
        .arg("package")
        .arg("-o")
        .arg(&out)
        .args(protection_args("cbcs"))
        // The clip is 1934x2160: its key class is UHD1.
        .args([
            "--key",
            "label=UHD1,kid=40112233445566778899aabbccddeeff,key=4123456789abcdef0123456789abcdef",
        ])
        .arg(fixture(CLIP))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("MV-HEVC") && stderr.contains("lhvC"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing published");
}
