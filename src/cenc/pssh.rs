//! Protection System Specific Header boxes (ISO/IEC 23001-7 §8.1) for the DRM systems vodpack
//! signals, laid out as Shaka Packager 3.8 writes them (docs/drm-signalling.md):
//! - W3C common format (Clear Key): version 1, KIDs, no data (W3C "cenc" Initialization Data).
//! - Widevine: version 0, data = WidevinePsshData protobuf: `key_id` (field 2, repeated bytes)
//!   and `protection_scheme` (field 9, the scheme 4CC as a uint32).
//! - PlayReady: version 0, data = a PlayReady Object holding one WRM header record, a
//!   WRMHEADER 4.3.0.0 in UTF-16LE with the KIDs (GUID byte order, base64) and ALGID.
//! - FairPlay: no pssh (HLS `skd://` key URIs only).
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::cenc::encryptor::Scheme;
use crate::mp4::{BoxError, Mp4Box, RawBox};
use crate::Result;

/// W3C common PSSH / Clear Key SystemID 1077efec-c0b2-4d02-ace3-3c1e52e2fb4b.
pub const SYSTEM_ID_COMMON: [u8; 16] = hex16("1077efecc0b24d02ace33c1e52e2fb4b");
/// Widevine SystemID edef8ba9-79d6-4ace-a3c8-27dcd51d21ed.
pub const SYSTEM_ID_WIDEVINE: [u8; 16] = hex16("edef8ba979d64acea3c827dcd51d21ed");
/// PlayReady SystemID 9a04f079-9840-4286-ab92-e65be0885f95.
pub const SYSTEM_ID_PLAYREADY: [u8; 16] = hex16("9a04f07998404286ab92e65be0885f95");
/// FairPlay SystemID 94ce86fb-07ff-4f43-adb8-93d2fa968ca2 (DASH only; vodpack signals FairPlay in
/// HLS, which has no pssh).
pub const SYSTEM_ID_FAIRPLAY: [u8; 16] = hex16("94ce86fb07ff4f43adb893d2fa968ca2");

const fn hex16(s: &str) -> [u8; 16] {
    let b = s.as_bytes();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lowercase hex digit"),
    }
}

/// A DRM system selected with `--drm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrmSystem {
    /// W3C Clear Key (the common `pssh` system, 1077efec…): keys from a JSON licence.
    ClearKey,
    /// Google Widevine (edef8ba9…).
    Widevine,
    /// Microsoft PlayReady (9a04f079…), with a PlayReady Object in its `pssh`.
    PlayReady,
    /// Apple FairPlay: signalled in HLS only (`SAMPLE-AES`, `skd://`), no `pssh`.
    FairPlay,
}

impl DrmSystem {
    /// The system's `--drm` name.
    pub fn as_str(self) -> &'static str {
        match self {
            DrmSystem::ClearKey => "clearkey",
            DrmSystem::Widevine => "widevine",
            DrmSystem::PlayReady => "playready",
            DrmSystem::FairPlay => "fairplay",
        }
    }

    /// The SystemID of the pssh box vodpack writes for this system (the common SystemID for
    /// Clear Key).
    pub fn system_id(self) -> [u8; 16] {
        match self {
            DrmSystem::ClearKey => SYSTEM_ID_COMMON,
            DrmSystem::Widevine => SYSTEM_ID_WIDEVINE,
            DrmSystem::PlayReady => SYSTEM_ID_PLAYREADY,
            DrmSystem::FairPlay => SYSTEM_ID_FAIRPLAY,
        }
    }
}

/// Builds a pssh box (`crate::mp4::boxes::Pssh`). Version 1 lists `kids`; version 0 ignores
/// them (§8.1.1).
pub fn pssh_box(version: u8, system_id: &[u8; 16], kids: &[[u8; 16]], data: &[u8]) -> Vec<u8> {
    Pssh {
        version,
        system_id: *system_id,
        kids: if version > 0 {
            kids.to_vec()
        } else {
            Vec::new()
        },
        data: data.to_vec(),
    }
    .to_bytes()
    .expect("vodpack's pssh payloads are far under 4 GiB")
}

/// KIDs without duplicates, first occurrence first.
fn unique(kids: &[[u8; 16]]) -> Vec<[u8; 16]> {
    let mut out: Vec<[u8; 16]> = Vec::with_capacity(kids.len());
    for k in kids {
        if !out.contains(k) {
            out.push(*k);
        }
    }
    out
}

/// The W3C common pssh (Clear Key): version 1, the KIDs, empty data.
pub fn common_pssh(kids: &[[u8; 16]]) -> Vec<u8> {
    pssh_box(1, &SYSTEM_ID_COMMON, &unique(kids), &[])
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// WidevinePsshData protobuf: `key_id` (field 2) per KID, then `protection_scheme` (field 9).
pub fn widevine_pssh_data(kids: &[[u8; 16]], scheme: Scheme) -> Vec<u8> {
    let mut b = Vec::new();
    for k in unique(kids) {
        b.push(2 << 3 | 2); // field 2, length-delimited
        b.push(16);
        b.extend_from_slice(&k);
    }
    b.push(9 << 3); // field 9, varint
    varint(&mut b, u64::from(u32::from_be_bytes(scheme.fourcc())));
    b
}

/// The Widevine pssh: version 0 (older CDMs expect it), data = [`widevine_pssh_data`].
pub fn widevine_pssh(kids: &[[u8; 16]], scheme: Scheme) -> Vec<u8> {
    pssh_box(
        0,
        &SYSTEM_ID_WIDEVINE,
        &[],
        &widevine_pssh_data(kids, scheme),
    )
}

/// A KID as PlayReady writes it: the GUID's first three fields little-endian, base64.
pub fn playready_kid_base64(kid: &[u8; 16]) -> String {
    let mut g = *kid;
    g[0..4].reverse();
    g[4..6].reverse();
    g[6..8].reverse();
    STANDARD.encode(g)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The WRMHEADER 4.3.0.0 XML (PlayReady Header Specification): every KID with ALGID AESCTR
/// (`cenc`) or AESCBC (`cbcs`), and the licence URL when given.
pub fn playready_header_xml(kids: &[[u8; 16]], scheme: Scheme, la_url: Option<&str>) -> String {
    let algid = match scheme {
        Scheme::Cenc => "AESCTR",
        Scheme::Cbcs => "AESCBC",
    };
    let mut x = String::from(
        "<WRMHEADER xmlns=\"http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader\" \
         version=\"4.3.0.0\"><DATA><PROTECTINFO><KIDS>",
    );
    for k in unique(kids) {
        x.push_str(&format!(
            "<KID ALGID=\"{algid}\" VALUE=\"{}\"></KID>",
            playready_kid_base64(&k)
        ));
    }
    x.push_str("</KIDS></PROTECTINFO>");
    if let Some(url) = la_url {
        x.push_str(&format!("<LA_URL>{}</LA_URL>", xml_escape(url)));
    }
    x.push_str("</DATA></WRMHEADER>");
    x
}

/// A PlayReady Object: length, record count 1, record type 1 (rights management header), the
/// record length and the header in UTF-16LE, all little-endian.
pub fn playready_object(kids: &[[u8; 16]], scheme: Scheme, la_url: Option<&str>) -> Vec<u8> {
    let xml: Vec<u8> = playready_header_xml(kids, scheme, la_url)
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let mut b = Vec::with_capacity(10 + xml.len());
    b.extend_from_slice(&((10 + xml.len()) as u32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&(xml.len() as u16).to_le_bytes());
    b.extend_from_slice(&xml);
    b
}

/// The PlayReady pssh: version 0, data = [`playready_object`].
pub fn playready_pssh(kids: &[[u8; 16]], scheme: Scheme, la_url: Option<&str>) -> Vec<u8> {
    pssh_box(
        0,
        &SYSTEM_ID_PLAYREADY,
        &[],
        &playready_object(kids, scheme, la_url),
    )
}

/// The pssh box for a DRM system, or `None` for FairPlay (HLS-only signalling).
/// `la_url` is used by PlayReady only.
pub fn pssh_for(
    system: DrmSystem,
    kids: &[[u8; 16]],
    scheme: Scheme,
    la_url: Option<&str>,
) -> Option<Vec<u8>> {
    match system {
        DrmSystem::ClearKey => Some(common_pssh(kids)),
        DrmSystem::Widevine => Some(widevine_pssh(kids, scheme)),
        DrmSystem::PlayReady => Some(playready_pssh(kids, scheme, la_url)),
        DrmSystem::FairPlay => None,
    }
}

/// A whole pssh box in base64, as DASH `cenc:pssh` and HLS `data:` URIs carry it.
pub fn pssh_base64(pssh: &[u8]) -> String {
    STANDARD.encode(pssh)
}

/// A parsed pssh box: the box layer's type.
pub use crate::mp4::boxes::Pssh;

/// Parses one pssh box (header included); it must span exactly the bytes given, its data
/// ending the box.
pub fn parse_pssh(b: &[u8]) -> Result<Pssh, BoxError> {
    let raw = RawBox::parse(b)?;
    if raw.bytes.len() != b.len() {
        return Err(BoxError::SizeLies {
            fourcc: *b"pssh",
            claimed: raw.bytes.len() as u64,
            left: b.len() as u64,
        });
    }
    let p = Pssh::read(&raw)?;
    let header = b.len() - raw.body.len();
    let used = 4
        + 16
        + if p.version > 0 {
            4 + 16 * p.kids.len()
        } else {
            0
        }
        + 4
        + p.data.len();
    if header + used != b.len() {
        return Err(BoxError::BadValue {
            fourcc: *b"pssh",
            message: "data size differs from the box".into(),
        });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: [u8; 16] = hex16("00112233445566778899aabbccddeeff");
    const KID2: [u8; 16] = hex16("ffeeddccbbaa99887766554433221100");

    #[test]
    fn common_and_widevine_match_shaka_packager() {
        // Shaka Packager 3.8 --protection_systems CommonSystem,Widevine with this KID.
        assert_eq!(
            hex::encode(common_pssh(&[KID, KID])),
            "0000003470737368010000001077efecc0b24d02ace33c1e52e2fb4b0000000100112233445566778899aabbccddeeff00000000"
        );
        assert_eq!(
            hex::encode(widevine_pssh(&[KID], Scheme::Cenc)),
            "000000387073736800000000edef8ba979d64acea3c827dcd51d21ed00000018121000112233445566778899aabbccddeeff48e3dc959b06"
        );
        assert_eq!(
            hex::encode(widevine_pssh(&[KID], Scheme::Cbcs)),
            "000000387073736800000000edef8ba979d64acea3c827dcd51d21ed00000018121000112233445566778899aabbccddeeff48f3c6899b06"
        );
    }

    #[test]
    fn playready_matches_shaka_packager_for_cbcs() {
        let pr = playready_pssh(&[KID], Scheme::Cbcs, None);
        let parsed = parse_pssh(&pr).unwrap();
        assert_eq!((parsed.version, parsed.system_id), (0, SYSTEM_ID_PLAYREADY));
        assert_eq!(pr.len(), 0x1de);
        assert_eq!(
            &parsed.data[..10],
            &hex::decode("be01000001000100b401").unwrap()[..]
        );
        let xml: Vec<u16> = parsed.data[10..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(
            String::from_utf16(&xml).unwrap(),
            "<WRMHEADER xmlns=\"http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader\" version=\"4.3.0.0\">\
             <DATA><PROTECTINFO><KIDS><KID ALGID=\"AESCBC\" VALUE=\"MyIRAFVEd2aImaq7zN3u/w==\"></KID></KIDS>\
             </PROTECTINFO></DATA></WRMHEADER>"
        );
    }

    #[test]
    fn playready_lists_every_kid_and_the_licence_url() {
        let x = playready_header_xml(
            &[KID, KID2],
            Scheme::Cenc,
            Some("https://lic.example/pr?a=1&b=2"),
        );
        assert_eq!(x.matches("ALGID=\"AESCTR\"").count(), 2);
        assert!(x.contains(&playready_kid_base64(&KID2)));
        assert!(x.contains("<LA_URL>https://lic.example/pr?a=1&amp;b=2</LA_URL></DATA>"));
    }

    #[test]
    fn boxes_parse_back() {
        let c = parse_pssh(&common_pssh(&[KID, KID2])).unwrap();
        assert_eq!(
            (c.version, c.kids.clone(), c.data.len()),
            (1, vec![KID, KID2], 0)
        );
        let w = parse_pssh(&widevine_pssh(&[KID, KID2], Scheme::Cenc)).unwrap();
        assert_eq!(w.system_id, SYSTEM_ID_WIDEVINE);
        // key_id twice, then protection_scheme 'cenc'.
        assert_eq!(&w.data[..2], &[0x12, 16]);
        assert_eq!(&w.data[18..20], &[0x12, 16]);
        assert_eq!(&w.data[20..36], &KID2);
        assert_eq!(w.data[36], 0x48);
        assert!(pssh_for(DrmSystem::FairPlay, &[KID], Scheme::Cbcs, None).is_none());
        assert!(parse_pssh(&[0; 10]).is_err());
        let mut broken = common_pssh(&[KID]);
        broken[31] = 200; // KID count far past the end
        assert!(parse_pssh(&broken).is_err());
        assert_eq!(&pssh_base64(&common_pssh(&[KID]))[..8], "AAAANHBz");
    }
}
