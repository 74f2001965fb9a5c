//! Dolby Vision in ISOBMFF ("Dolby Vision Streams Within the ISO Base Media File Format", v2.x):
//! the DOVIDecoderConfigurationRecord carried in `dvcC` (profiles up to 7), `dvvC` (8 to 10) or
//! `dvwC` (above 10), and the codec strings the manifests give it ("Dolby Vision Streams within
//! the HTTP Live Streaming format" v2.0: `<4CC>.<profile>.<level>`, two digits each).
//!
//! A Dolby Vision sample entry (`dvh1`, `dvhe`, `dav1`, `dva1`, `dvav`) has no backward-compatible
//! base layer for generic decoders: its own codec string is the Dolby Vision one (profile 5 is
//! `dvh1.05.06`). A generic entry (`hvc1`, `hev1`, `av01`, `avc1`, `avc3`) with a Dolby Vision
//! record is a compatible base layer plus Dolby Vision metadata: it keeps its own codec string and
//! the Dolby Vision one becomes a *supplemental* codec (HLS `SUPPLEMENTAL-CODECS`
//! `dvh1.08.01/db1p`, DASH `scte214:supplementalCodecs`/`supplementalProfiles`) with the
//! compatibility brand of the base layer — exactly what Shaka Packager 3.8 writes with
//! `--use_dovi_supplemental_codecs` (docs/dolby-vision.md).
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// The fields of a DOVIDecoderConfigurationRecord that signalling needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoviConfig {
    /// dv_profile (7 bits): 5, 8, 10...
    pub profile: u8,
    /// dv_level (6 bits).
    pub level: u8,
    /// rpu_present_flag.
    pub rpu_present: bool,
    /// el_present_flag.
    pub el_present: bool,
    /// bl_present_flag.
    pub bl_present: bool,
    /// dv_bl_signal_compatibility_id (4 bits): what a non-Dolby decoder sees in the base layer
    /// (0 none, 1 HDR10, 2 SDR, 4 HLG, 6 Blu-ray HDR10).
    pub bl_compatibility_id: u8,
}

/// The configuration box 4CCs that carry a DOVIDecoderConfigurationRecord.
pub const CONFIG_BOXES: [&[u8; 4]; 3] = [b"dvcC", b"dvvC", b"dvwC"];

impl DoviConfig {
    /// Reads the body of a `dvcC`/`dvvC`/`dvwC` box. The record is 24 bytes; only its first four
    /// are read, so a shorter but complete head is accepted like Shaka Packager does. Major
    /// version 1 is the only one defined.
    pub fn parse(record: &[u8], kind: [u8; 4]) -> CodecResult<Self> {
        let mut r = ByteReader::new(record, kind);
        let name = match &kind {
            b"dvcC" => "dvcC",
            b"dvwC" => "dvwC",
            _ => "dvvC",
        };
        let major = r.u8()?;
        let _minor = r.u8()?;
        if major != 1 {
            return Err(CodecError::invalid(
                name,
                format!("dv_version_major {major} (only 1 is defined)"),
            ));
        }
        let a = r.u16()?;
        // dv_profile(7) dv_level(6) rpu_present_flag(1) el_present_flag(1) bl_present_flag(1)
        let profile = (a >> 9) as u8;
        let level = ((a >> 3) & 0x3f) as u8;
        let b = r.u8()?;
        Ok(DoviConfig {
            profile,
            level,
            rpu_present: a & 0x4 != 0,
            el_present: a & 0x2 != 0,
            bl_present: a & 0x1 != 0,
            bl_compatibility_id: b >> 4,
        })
    }

    /// `<fourcc>.<profile>.<level>`, e.g. `dvh1.08.01` (Dolby's HLS spec v2.0 §2).
    pub fn codec_string(&self, fourcc: &str) -> String {
        format!("{fourcc}.{:02}.{:02}", self.profile, self.level)
    }

    /// The compatibility brand of the base layer (mp4ra brands `db1p`, `db2g`, `db4g`, `db4h`),
    /// from the compatibility id and the base layer's transfer characteristics, as Shaka
    /// Packager maps them (its `GetDoViCompatibleBrand`): 1 → `db1p` (HDR10), 2 → `db2g` (SDR),
    /// 4 → `db4g` when the transfer is 14 (BT.2020 10-bit), else `db4h` (HLG); none otherwise.
    pub fn compatible_brand(&self, transfer_characteristics: Option<u8>) -> Option<&'static str> {
        match self.bl_compatibility_id {
            1 => Some("db1p"),
            2 => Some("db2g"),
            4 if transfer_characteristics == Some(14) => Some("db4g"),
            4 => Some("db4h"),
            _ => None,
        }
    }
}

/// The Dolby Vision 4CC for a generic base-layer sample entry, as the supplemental codec names it
/// (`hvc1` → `dvh1`, `hev1` → `dvhe`, `av01` → `dav1`, `avc1` → `dva1`, `avc3` → `dvav`).
pub fn dolby_fourcc_for(base: &str) -> Option<&'static str> {
    Some(match base {
        "hvc1" => "dvh1",
        "hev1" => "dvhe",
        "av01" => "dav1",
        "avc1" => "dva1",
        "avc3" => "dvav",
        _ => return None,
    })
}

/// The generic sample entry whose bitstream syntax a Dolby Vision sample entry carries (its
/// NAL units or OBUs are parsed and encrypted by that codec's rules): `dvh1` → `hvc1`,
/// `dvhe` → `hev1`, `dav1` → `av01`, `dva1` → `avc1`, `dvav` → `avc3`.
pub fn base_fourcc_of(dolby: &str) -> Option<&'static str> {
    Some(match dolby {
        "dvh1" => "hvc1",
        "dvhe" => "hev1",
        "dav1" => "av01",
        "dva1" => "avc1",
        "dvav" => "avc3",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dvvC of sparks_dovi_8.mp4 (Shaka Packager test data): profile 8, level 1, RPU + BL,
    /// compatibility id 2 (its manifests say `dvh1.08.01/db2g`).
    fn record(profile: u8, level: u8, flags: u8, compat: u8) -> Vec<u8> {
        let a: u16 = (u16::from(profile) << 9) | (u16::from(level) << 3) | u16::from(flags);
        let mut v = vec![1, 0];
        v.extend_from_slice(&a.to_be_bytes());
        v.push(compat << 4);
        v.extend_from_slice(&[0; 19]);
        v
    }

    #[test]
    fn reads_profile_level_flags_and_compatibility() {
        let c = DoviConfig::parse(&record(8, 1, 0b101, 2), *b"dvvC").unwrap();
        assert_eq!(
            c,
            DoviConfig {
                profile: 8,
                level: 1,
                rpu_present: true,
                el_present: false,
                bl_present: true,
                bl_compatibility_id: 2
            }
        );
        assert_eq!(c.codec_string("dvh1"), "dvh1.08.01");
        assert_eq!(c.compatible_brand(Some(16)), Some("db2g"));
        let p5 = DoviConfig::parse(&record(5, 6, 0b101, 0), *b"dvcC").unwrap();
        assert_eq!(p5.codec_string("dvh1"), "dvh1.05.06");
        assert_eq!(p5.compatible_brand(Some(16)), None);
        let p10 = DoviConfig::parse(&record(10, 9, 0b101, 4), *b"dvwC").unwrap();
        assert_eq!(p10.codec_string("dav1"), "dav1.10.09");
        assert_eq!(p10.compatible_brand(Some(18)), Some("db4h"));
        assert_eq!(p10.compatible_brand(Some(14)), Some("db4g"));
        assert_eq!(
            DoviConfig::parse(&record(8, 4, 0b101, 1), *b"dvvC")
                .unwrap()
                .compatible_brand(None),
            Some("db1p")
        );
    }

    #[test]
    fn refuses_truncated_records_and_unknown_major_versions() {
        let full = record(8, 1, 0b101, 2);
        for n in 0..5 {
            assert!(
                DoviConfig::parse(&full[..n], *b"dvvC").is_err(),
                "{n} bytes"
            );
        }
        let mut v2 = full.clone();
        v2[0] = 2;
        let e = DoviConfig::parse(&v2, *b"dvvC").unwrap_err().to_string();
        assert!(e.contains("dv_version_major 2"), "{e}");
    }

    #[test]
    fn maps_base_and_dolby_fourccs_both_ways() {
        for base in ["hvc1", "hev1", "av01", "avc1", "avc3"] {
            let dv = dolby_fourcc_for(base).unwrap();
            assert_eq!(base_fourcc_of(dv), Some(base));
        }
        assert_eq!(dolby_fourcc_for("vp09"), None);
        assert_eq!(base_fourcc_of("hvc1"), None);
    }
}
