//! DRM signalling shared by the HLS and DASH writers: system identifiers, UUID text and the
//! pieces of a `pssh` box each manifest format wants.
use super::model::DrmSystem;
use crate::mp4::boxes::Pssh;
use crate::mp4::Mp4Box;

/// W3C "common" PSSH SystemID (W3C EME Initialization Data Format "cenc" §4), used for Clear Key.
pub use crate::cenc::pssh::SYSTEM_ID_COMMON as COMMON_SYSTEM_ID;
/// DASH-IF's Clear Key scheme (DASH-IF IOP §7.6.2.4): e2719d58-a985-b3c9-781a-b030af78d30e.
pub const CLEARKEY_DASH_SCHEME: &str = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e";
/// Widevine's PSSH SystemID (as registered on dashif.org/identifiers/content_protection),
/// in UUID text form; the HLS writer signals it as `KEYFORMAT="urn:uuid:..."`.
pub const WIDEVINE_SYSTEM: &str = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed";

/// A 16-byte identifier in the 8-4-4-4-12 text form, lowercase, bytes in stored order (ISO/IEC
/// 23001-7 §11.1: `cenc:default_KID` is the tenc KID as written, no GUID byte swap).
pub use crate::cenc::keys::uuid_string as uuid_text;

/// The `Data` field of a pssh box (ISO/IEC 23001-7 §8.1.1, read by `crate::mp4::boxes::Pssh`),
/// or `None` if the box is malformed.
pub fn pssh_data(pssh: &[u8]) -> Option<Vec<u8>> {
    Pssh::from_bytes(pssh).ok().map(|p| p.data)
}

/// The SystemID of a DRM system as a `urn:uuid:` (what DASH ContentProtection@schemeIdUri
/// carries).
pub fn system_urn(system: DrmSystem) -> String {
    format!("urn:uuid:{}", uuid_text(&system.system_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_keeps_byte_order() {
        assert_eq!(
            uuid_text(&COMMON_SYSTEM_ID),
            "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
        );
    }

    #[test]
    fn pssh_data_v0_and_v1() {
        let mut v0 = vec![0, 0, 0, 35];
        v0.extend_from_slice(b"pssh");
        v0.extend_from_slice(&[0, 0, 0, 0]);
        v0.extend_from_slice(&[7; 16]);
        v0.extend_from_slice(&[0, 0, 0, 3, 1, 2, 3]);
        assert_eq!(pssh_data(&v0), Some(vec![1u8, 2, 3]));
        let mut v1 = vec![0, 0, 0, 52];
        v1.extend_from_slice(b"pssh");
        v1.extend_from_slice(&[1, 0, 0, 0]);
        v1.extend_from_slice(&COMMON_SYSTEM_ID);
        v1.extend_from_slice(&[0, 0, 0, 1]);
        v1.extend_from_slice(&[9; 16]);
        v1.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(pssh_data(&v1), Some(vec![]));
        assert_eq!(pssh_data(&v1[..40]), None);
        v1[31] = 0xff; // KID count that runs past the box
        assert_eq!(pssh_data(&v1), None);
    }
}
