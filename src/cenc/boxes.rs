//! Common Encryption boxes as vodpack writes them: sinf (frma, schm, schi/tenc), encrypted
//! sample entries (encv/enca), and the per-fragment senc, saiz and saio. The box syntax is
//! `crate::mp4::boxes::protection` (ISO/IEC 23001-7 §8.2 tenc, §8.1 pssh, §7.2 senc; ISO/IEC
//! 14496-12 §8.7.8–8.7.9 saiz/saio, §8.12 sinf); this module decides the field values (versions,
//! patterns, Shaka Packager's layout) from the encryption parameters.
use crate::cenc::encryptor::{SampleAuxInfo, Scheme, TencParams};
use crate::mp4::boxes::{Frma, Saio, Saiz, Schm, Senc, Sinf, Tenc};
use crate::mp4::{BoxError, BoxWriter, Mp4Box};
use crate::{Error, ErrorKind, Result};

/// Byte position of saio's offset field within the box built by [`saio`]: header (8), version and
/// flags (4), entry_count (4).
pub const SAIO_OFFSET_FIELD_POS: usize = Saio::FIRST_OFFSET_POS;
/// Byte position of the first sample's auxiliary information (its IV, or its subsample count when
/// IVs are constant) within the box built by [`senc`]: header (8), version and flags (4),
/// sample_count (4). saio's offset = senc position in the moof + this.
pub const SENC_FIRST_AUX_POS: usize = Senc::FIRST_AUX_POS;

/// A box-layer error while building encryption boxes: a value the key or sample data put out of
/// its field's range.
fn key_error(e: BoxError) -> Error {
    Error::Key(e.to_string())
}

/// The typed tenc for `scheme`: version 0 for `cenc`, version 1 (with the pattern) for `cbcs`; a
/// constant IV is written when the per-sample IV size is 0.
pub fn tenc_box(scheme: Scheme, p: &TencParams) -> Tenc {
    let version = if scheme == Scheme::Cbcs { 1 } else { 0 };
    Tenc {
        version,
        default_crypt_byte_block: if version == 1 {
            p.crypt_byte_block & 0x0f
        } else {
            0
        },
        default_skip_byte_block: if version == 1 {
            p.skip_byte_block & 0x0f
        } else {
            0
        },
        default_is_protected: 1,
        default_per_sample_iv_size: p.per_sample_iv_size,
        default_kid: p.default_kid,
        default_constant_iv: (p.per_sample_iv_size == 0)
            .then(|| p.constant_iv.unwrap_or([0; 16]).to_vec()),
    }
}

/// tenc box bytes (see [`tenc_box`]).
pub fn tenc(scheme: Scheme, p: &TencParams) -> Vec<u8> {
    tenc_box(scheme, p)
        .to_bytes()
        .expect("tenc fields from TencParams fit")
}

/// sinf, ISO/IEC 14496-12 §8.12 / 23001-7 §4: frma (the original sample entry 4CC), schm
/// (scheme, version 0x00010000), schi containing tenc.
pub fn sinf(original_format: [u8; 4], scheme: Scheme, tenc_params: &TencParams) -> Vec<u8> {
    Sinf {
        frma: Frma {
            data_format: original_format,
        },
        schm: Some(Schm {
            scheme_type: scheme.fourcc(),
            scheme_version: 0x0001_0000,
            scheme_uri: None,
        }),
        tenc: Some(tenc_box(scheme, tenc_params)),
    }
    .to_bytes()
    .expect("sinf fields from TencParams fit")
}

/// Why a sample entry cannot be given its encrypted form. It names no file: the caller knows
/// which input the entry came from and adds it ([`Error::in_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleEntryError {
    /// Fewer than the 8 bytes of a box header.
    TooShort,
    /// The box header's size is not the length of the bytes given.
    SizeMismatch {
        /// The size in the box header.
        declared: usize,
        /// The bytes given.
        given: usize,
    },
    /// With `sinf` appended the entry would not fit a 32-bit box size.
    TooLarge,
}

impl std::fmt::Display for SampleEntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleEntryError::TooShort => write!(f, "sample entry shorter than a box header"),
            SampleEntryError::SizeMismatch { declared, given } => write!(
                f,
                "sample entry box size {declared} differs from the {given} bytes given"
            ),
            SampleEntryError::TooLarge => write!(f, "encrypted sample entry larger than 4 GiB"),
        }
    }
}

impl std::error::Error for SampleEntryError {}

impl From<SampleEntryError> for Error {
    fn from(e: SampleEntryError) -> Self {
        Error::layer(ErrorKind::InvalidInput, None, e)
    }
}

/// Turns a whole sample entry box (e.g. `avc1`, header included) into its encrypted form: the
/// 4CC becomes `encv` (video) or `enca` (audio), `sinf` is appended as the last child, and the
/// size is fixed. Build `sinf` with the entry's original 4CC ([`sample_entry_fourcc`]).
pub fn encrypt_sample_entry(entry: &[u8], is_video: bool, sinf: &[u8]) -> Result<Vec<u8>> {
    if entry.len() < 8 {
        return Err(SampleEntryError::TooShort.into());
    }
    let size = u32::from_be_bytes(entry[0..4].try_into().expect("4 bytes")) as usize;
    if size != entry.len() {
        return Err(SampleEntryError::SizeMismatch {
            declared: size,
            given: entry.len(),
        }
        .into());
    }
    let new_size =
        u32::try_from(entry.len() + sinf.len()).map_err(|_| SampleEntryError::TooLarge)?;
    let mut out = Vec::with_capacity(new_size as usize);
    out.extend_from_slice(&new_size.to_be_bytes());
    out.extend_from_slice(if is_video { b"encv" } else { b"enca" });
    out.extend_from_slice(&entry[8..]);
    out.extend_from_slice(sinf);
    Ok(out)
}

/// The 4CC of a sample entry box (`frma`'s original format).
pub fn sample_entry_fourcc(entry: &[u8]) -> Result<[u8; 4]> {
    entry
        .get(4..8)
        .map(|s| s.try_into().expect("4 bytes"))
        .ok_or_else(|| SampleEntryError::TooShort.into())
}

/// senc, 23001-7 §7.2.1: version 0, flags 0x2 when subsample maps are present.
pub fn senc(samples: &[SampleAuxInfo], use_subsamples: bool) -> Result<Vec<u8>> {
    let mut w = BoxWriter::new();
    write_senc(&mut w, samples, use_subsamples)?;
    Ok(w.into_inner())
}

/// [`senc`] appended to `w` (no intermediate buffer: the fragment writer's path).
pub fn write_senc(
    w: &mut BoxWriter,
    samples: &[SampleAuxInfo],
    use_subsamples: bool,
) -> Result<()> {
    Senc::write_samples(w, samples, use_subsamples).map_err(key_error)
}

/// Whether a fragment's samples carry any auxiliary information. When none do (`cbcs` audio:
/// constant IV, no subsamples), Shaka Packager writes senc with only its sample count and no
/// saiz/saio; saiz would have to say "0 bytes per sample".
pub fn has_aux_info(samples: &[SampleAuxInfo], use_subsamples: bool) -> bool {
    samples.iter().any(|s| s.info_size(use_subsamples) > 0)
}

/// The typed saiz: no aux_info_type (flags 0); default_sample_info_size when all entries have
/// the same size, else a per-sample table. Each entry must fit in a byte (255): a sample with
/// more than 40 subsamples (8-byte IV; 42 for cbcs) cannot be signalled.
pub fn saiz_box(samples: &[SampleAuxInfo], use_subsamples: bool) -> Result<Saiz> {
    let mut sizes = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        let n = s.info_size(use_subsamples);
        sizes.push(u8::try_from(n).map_err(|_| {
            Error::Key(format!(
                "sample {i} has {} subsamples: its {n}-byte auxiliary information exceeds saiz's 255-byte limit",
                s.subsamples.len()
            ))
        })?);
    }
    Saiz::from_sizes(sizes).map_err(key_error)
}

/// saiz box bytes, ISO/IEC 14496-12 §8.7.8 (see [`saiz_box`]).
pub fn saiz(samples: &[SampleAuxInfo], use_subsamples: bool) -> Result<Vec<u8>> {
    saiz_box(samples, use_subsamples)?
        .to_bytes()
        .map_err(key_error)
}

/// The typed saio: version 0, one entry, `offset` relative to the moof start
/// (default-base-is-moof): the position of senc in the moof + [`SENC_FIRST_AUX_POS`].
pub fn saio_box(offset: u32) -> Saio {
    Saio {
        version: 0,
        aux_info_type: None,
        offsets: vec![offset.into()],
    }
}

/// saio box bytes, ISO/IEC 14496-12 §8.7.9 (see [`saio_box`]). Patch the offset later at
/// [`SAIO_OFFSET_FIELD_POS`] with [`patch_saio_offset`].
pub fn saio(offset: u32) -> Vec<u8> {
    saio_box(offset).to_bytes().expect("a u32 offset fits")
}

/// Writes `offset` into a saio box built by [`saio`], wherever it now sits (`saio_box` starts at
/// the box header).
pub fn patch_saio_offset(saio_box: &mut [u8], offset: u32) {
    saio_box[SAIO_OFFSET_FIELD_POS..SAIO_OFFSET_FIELD_POS + 4]
        .copy_from_slice(&offset.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cenc::subsample::Subsample;

    fn params_cbcs() -> TencParams {
        TencParams {
            default_kid: hex::decode("00112233445566778899aabbccddeeff")
                .unwrap()
                .try_into()
                .unwrap(),
            per_sample_iv_size: 0,
            constant_iv: Some(
                hex::decode("01020304050607080102030405060708")
                    .unwrap()
                    .try_into()
                    .unwrap(),
            ),
            crypt_byte_block: 1,
            skip_byte_block: 9,
        }
    }

    #[test]
    fn sinf_matches_shaka_packager_bytes() {
        // Shaka Packager 3.8 (--protection_scheme cbcs, same KID and IV) wrote these exact boxes.
        let s = sinf(*b"avc1", Scheme::Cbcs, &params_cbcs());
        let expect = concat!(
            "00000061",
            "73696e66",
            "0000000c",
            "66726d61",
            "61766331",
            "00000014",
            "7363686d",
            "00000000",
            "63626373",
            "00010000",
            "00000039",
            "73636869",
            "00000031",
            "74656e63",
            "01000000",
            "0019",
            "01",
            "00",
            "00112233445566778899aabbccddeeff",
            "10",
            "01020304050607080102030405060708"
        );
        assert_eq!(hex::encode(&s), expect);
        let cenc = TencParams {
            per_sample_iv_size: 8,
            constant_iv: None,
            crypt_byte_block: 0,
            skip_byte_block: 0,
            ..params_cbcs()
        };
        assert_eq!(
            hex::encode(tenc(Scheme::Cenc, &cenc)),
            concat!(
                "00000020",
                "74656e63",
                "00000000",
                "0000",
                "01",
                "08",
                "00112233445566778899aabbccddeeff"
            )
        );
    }

    #[test]
    fn sample_entry_is_renamed_and_extended() {
        let entry = [&[0, 0, 0, 12][..], b"mp4a", &[1, 2, 3, 4]].concat();
        let s = sinf(
            *b"mp4a",
            Scheme::Cenc,
            &TencParams {
                per_sample_iv_size: 8,
                constant_iv: None,
                ..params_cbcs()
            },
        );
        let e = encrypt_sample_entry(&entry, false, &s).unwrap();
        assert_eq!(
            u32::from_be_bytes(e[0..4].try_into().unwrap()) as usize,
            e.len()
        );
        assert_eq!(&e[4..8], b"enca");
        assert_eq!(&e[8..12], &[1, 2, 3, 4]);
        assert_eq!(&e[12..], &s[..]);
        assert_eq!(
            &encrypt_sample_entry(&entry, true, &s).unwrap()[4..8],
            b"encv"
        );
        assert!(encrypt_sample_entry(&entry[..10], true, &s).is_err());
        assert!(encrypt_sample_entry(&[0, 0], true, &s).is_err());
    }

    #[test]
    fn senc_saiz_saio_layout() {
        let samples = vec![
            SampleAuxInfo {
                iv: vec![1; 8],
                subsamples: vec![Subsample {
                    clear: 10,
                    protected: 32,
                }],
            },
            SampleAuxInfo {
                iv: vec![2; 8],
                subsamples: vec![
                    Subsample {
                        clear: 5,
                        protected: 16,
                    },
                    Subsample {
                        clear: 7,
                        protected: 0,
                    },
                ],
            },
        ];
        let s = senc(&samples, true).unwrap();
        assert_eq!(&s[4..8], b"senc");
        assert_eq!(&s[8..12], &[0, 0, 0, 2]);
        assert_eq!(&s[12..16], &[0, 0, 0, 2]);
        assert_eq!(&s[SENC_FIRST_AUX_POS..SENC_FIRST_AUX_POS + 8], &[1; 8]);
        assert_eq!(s.len(), 16 + (8 + 2 + 6) + (8 + 2 + 12));
        assert_eq!(&s[24..32], &[0, 1, 0, 10, 0, 0, 0, 32]);
        let z = saiz(&samples, true).unwrap();
        assert_eq!(hex::encode(&z), "000000137361697a0000000000000000021016");
        let z1 = saiz(&samples[..1], true).unwrap();
        assert_eq!(hex::encode(&z1), "000000117361697a000000001000000001");
        let mut o = saio(0);
        patch_saio_offset(&mut o, 0x2e9);
        // Shaka Packager's saio for the same position.
        assert_eq!(hex::encode(&o), "000000147361696f0000000000000001000002e9");
        // cbcs audio: nothing per sample.
        let empty = vec![SampleAuxInfo::default(); 3];
        assert!(!has_aux_info(&empty, false));
        assert_eq!(
            hex::encode(senc(&empty, false).unwrap()),
            "0000001073656e630000000000000003"
        );
    }

    #[test]
    fn too_many_subsamples_for_saiz_is_an_error() {
        let s = SampleAuxInfo {
            iv: vec![0; 8],
            subsamples: vec![
                Subsample {
                    clear: 1,
                    protected: 16
                };
                43
            ],
        };
        assert!(saiz(&[s], true)
            .unwrap_err()
            .to_string()
            .contains("255-byte limit"));
    }
}
