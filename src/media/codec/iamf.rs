//! IAMF in ISOBMFF (AOM "Immersive Audio Model and Formats" v1.0, §6.2): the `iamf` sample entry
//! and its IAConfigurationBox (`iacb`): configurationVersion (1), configOBUs_size (leb128), then
//! the descriptor OBUs. The codec string is `iamf.<primary profile>.<additional profile>.<codec>`
//! (§6.3, three decimal digits each) from the IA Sequence Header OBU (§3.6) and the first Codec
//! Config OBU (§3.7): `iamf.001.001.Opus`, as Shaka Packager writes it.
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// OBU types (§3.2).
const OBU_CODEC_CONFIG: u8 = 0;
const OBU_SEQUENCE_HEADER: u8 = 31;

/// What an `iacb` box says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamfConfig {
    /// primary_profile of the IA Sequence Header.
    pub primary_profile: u8,
    /// additional_profile.
    pub additional_profile: u8,
    /// The first Codec Config OBU's codec_id (`Opus`, `mp4a`, `fLaC`, `ipcm`).
    pub codec_id: [u8; 4],
}

/// leb128 (§4.1, at most 8 bytes; a value past 32 bits is refused).
fn leb128(r: &mut ByteReader) -> CodecResult<u32> {
    let mut value = 0u64;
    for i in 0..8 {
        let byte = r.u8()?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| {
                CodecError::invalid("iacb", format!("leb128 value {value} over 32 bits"))
            });
        }
    }
    Err(CodecError::invalid("iacb", "leb128 longer than 8 bytes"))
}

impl IamfConfig {
    /// Reads an `iacb` body.
    pub fn parse(iacb: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(iacb, *b"iacb");
        let version = r.u8()?;
        if version != 1 {
            return Err(CodecError::invalid(
                "iacb",
                format!("configurationVersion {version} (expected 1)"),
            ));
        }
        let size = leb128(&mut r)?;
        let obus = r.bytes(usize::try_from(size).unwrap_or(usize::MAX))?;
        let mut r = ByteReader::new(obus, *b"iacb");
        let mut profiles = None;
        let mut codec_id = None;
        while r.remaining() > 0 && (profiles.is_none() || codec_id.is_none()) {
            let header = r.u8()?;
            let obu_type = header >> 3;
            let size = leb128(&mut r)?;
            let payload = r.bytes(usize::try_from(size).unwrap_or(usize::MAX))?;
            let mut p = ByteReader::new(payload, *b"iacb");
            if header & 0x02 != 0 {
                leb128(&mut p)?; // num_samples_to_trim_at_end
                leb128(&mut p)?; // num_samples_to_trim_at_start
            }
            if header & 0x01 != 0 {
                let ext = leb128(&mut p)?;
                p.skip(usize::try_from(ext).unwrap_or(usize::MAX))?;
            }
            match obu_type {
                OBU_SEQUENCE_HEADER if profiles.is_none() => {
                    let code = p.fourcc()?;
                    if &code != b"iamf" {
                        return Err(CodecError::invalid(
                            "iacb",
                            "IA Sequence Header without 'iamf'",
                        ));
                    }
                    profiles = Some((p.u8()?, p.u8()?));
                }
                OBU_CODEC_CONFIG if codec_id.is_none() => {
                    leb128(&mut p)?; // codec_config_id
                    codec_id = Some(p.fourcc()?);
                }
                _ => {}
            }
        }
        let (primary_profile, additional_profile) =
            profiles.ok_or_else(|| CodecError::invalid("iacb", "no IA Sequence Header OBU"))?;
        let codec_id =
            codec_id.ok_or_else(|| CodecError::invalid("iacb", "no Codec Config OBU"))?;
        Ok(IamfConfig {
            primary_profile,
            additional_profile,
            codec_id,
        })
    }

    /// `iamf.PPP.AAA.<codec>`; AAC is named `mp4a.40.2` (§6.3: AAC-LC is the one IAMF allows).
    pub fn codec_string(&self) -> String {
        let codec = match &self.codec_id {
            b"mp4a" => "mp4a.40.2".to_string(),
            other => String::from_utf8_lossy(other).into_owned(),
        };
        format!(
            "iamf.{:03}.{:03}.{codec}",
            self.primary_profile, self.additional_profile
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of the `iacb` of Shaka Packager's bear-iamf-base-opus.mp4: version 1, then the
    /// IA Sequence Header OBU and the Codec Config OBU (the rest of the OBUs cut off, with
    /// configOBUs_size set to what is left).
    const IACB: [u8; 33] = [
        0x01, 0x1f, 0xf8, 0x06, b'i', b'a', b'm', b'f', 0x01, 0x01, 0x00, 0x15, 0xc8, 0x01, b'O',
        b'p', b'u', b's', 0xc0, 0x07, 0xff, 0xfc, 0x01, 0x02, 0x01, 0x38, 0x00, 0x00, 0xbb, 0x80,
        0x00, 0x00, 0x00,
    ];

    #[test]
    fn codec_string_like_shaka_packager() {
        let c = IamfConfig::parse(&IACB).unwrap();
        assert_eq!(c.codec_string(), "iamf.001.001.Opus");
        for len in 0..IACB.len() {
            assert!(IamfConfig::parse(&IACB[..len]).is_err(), "cut at {len}");
        }
    }
}
