//! Sample decryption (ISO/IEC 23001-7 §10.1 `cenc`, §10.4 `cbcs`), the inverse of
//! [`crate::cenc::SampleEncryptor`]: used by `vodpack verify` to decrypt what was written and by
//! the packager to decrypt encrypted inputs (`--decryption-key`).
//!
//! - `cenc`: AES-128-CTR with the sample's IV (8-byte IVs fill the high half of the counter
//!   block); the keystream runs on across every protected range of a sample.
//! - `cbcs`: AES-128-CBC with the (crypt, skip) pattern of tenc; the chain restarts from the IV
//!   (the constant IV of tenc, or a 16-byte per-sample IV) at each subsample; a trailing partial
//!   block and a partial crypt run stay clear. Pattern (0, 0) means every whole block.
//!
//! - `cens` (§10.3): AES-128-CTR with the (crypt, skip) pattern; the counter advances over the
//!   encrypted blocks only and runs on across the subsamples of a sample (like `cenc`).
//! - `cbc1` (§10.2): AES-128-CBC over every whole block of the protected ranges with the sample's
//!   IV; the chain runs on from one subsample's protected range to the next (unlike `cbcs`).
//!
//! vodpack writes only `cenc` and `cbcs`; `cens` and `cbc1` are decrypted for encrypted inputs
//! (`--decryption-key`) and checked against Shaka Packager's encryption of them
//! (tests/suite/encrypted_inputs.rs).
use aes::cipher::{KeyInit, StreamCipher};
use aes::{Aes128Dec, Aes128Enc};

use crate::cenc::encryptor::{cbc_pattern_decrypt, ctr_from, for_each_protected};
use crate::cenc::{SampleAuxInfo, Scheme};

/// A `Result` whose error is a [`DecryptError`].
pub type Result<T, E = DecryptError> = std::result::Result<T, E>;

/// Why a scheme or a sample cannot be decrypted (reported as a key problem, exit 6; the packager
/// reports an unsupported input scheme as unsupported input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// `cens` or `cbc1`: Common Encryption, but not decrypted by vodpack.
    UnsupportedScheme([u8; 4]),
    /// A scheme_type that is not Common Encryption.
    NotCommonEncryption([u8; 4]),
    /// The subsample map does not add up to the sample's size.
    SubsampleSizes {
        /// Bytes the subsamples cover.
        covered: u64,
        /// The sample's size.
        sample: usize,
    },
    /// No per-sample IV and no constant IV.
    NoIv,
    /// An IV of another size than 8 or 16 bytes.
    BadIvSize(usize),
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecryptError::UnsupportedScheme(c) => write!(
                f,
                "protection scheme '{}' is not supported for decryption (cenc and cbcs are)",
                crate::mp4::fourcc_str(c)
            ),
            DecryptError::NotCommonEncryption(c) => write!(
                f,
                "'{}' is not a Common Encryption scheme (cenc, cbcs, cens, cbc1)",
                crate::mp4::fourcc_str(c)
            ),
            DecryptError::SubsampleSizes { covered, sample } => write!(
                f,
                "subsamples cover {covered} bytes but the sample has {sample}"
            ),
            DecryptError::NoIv => write!(f, "sample has no IV and tenc has no constant IV"),
            DecryptError::BadIvSize(n) => write!(f, "IV must be 8 or 16 bytes, got {n}"),
        }
    }
}

impl std::error::Error for DecryptError {}

/// A decryption error is a key problem (exit 6).
impl From<DecryptError> for crate::Error {
    fn from(e: DecryptError) -> Self {
        crate::Error::layer(crate::ErrorKind::Key, None, e)
    }
}

/// A scheme_type from schm, as found in a file (any 4CC).
pub fn scheme_from_fourcc(fourcc: &[u8; 4]) -> Result<Scheme> {
    match fourcc {
        b"cenc" => Ok(Scheme::Cenc),
        b"cbcs" => Ok(Scheme::Cbcs),
        b"cens" | b"cbc1" => Err(DecryptError::UnsupportedScheme(*fourcc)),
        other => Err(DecryptError::NotCommonEncryption(*other)),
    }
}

/// The cipher mode of a scheme_type (§10.1–§10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Cenc,
    Cbcs,
    Cens,
    Cbc1,
}

/// Decrypts the samples of one track (one key, one tenc).
pub struct SampleDecryptor {
    scheme: Scheme,
    mode: Mode,
    enc: Aes128Enc,
    dec: Aes128Dec,
    constant_iv: Option<[u8; 16]>,
    pattern: (u8, u8),
}

impl std::fmt::Debug for SampleDecryptor {
    // No key material in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleDecryptor")
            .field("scheme", &self.scheme)
            .field("pattern", &self.pattern)
            .finish()
    }
}

impl SampleDecryptor {
    /// `constant_iv`: tenc's default_constant_IV (used when a sample's senc entry has no IV);
    /// `pattern`: tenc's (crypt_byte_block, skip_byte_block), only meaningful for `cbcs`.
    pub fn new(
        scheme: Scheme,
        key: &[u8; 16],
        constant_iv: Option<[u8; 16]>,
        pattern: (u8, u8),
    ) -> Self {
        SampleDecryptor {
            scheme,
            mode: match scheme {
                Scheme::Cenc => Mode::Cenc,
                Scheme::Cbcs => Mode::Cbcs,
            },
            enc: Aes128Enc::new(key.into()),
            dec: Aes128Dec::new(key.into()),
            constant_iv,
            pattern,
        }
    }

    /// A decryptor for the scheme_type `fourcc` of an input file: `cenc`, `cbcs`, and also
    /// `cens` and `cbc1`, which vodpack does not write but decrypts. `pattern` is used by
    /// `cbcs` and `cens`.
    pub fn for_scheme_type(
        fourcc: &[u8; 4],
        key: &[u8; 16],
        constant_iv: Option<[u8; 16]>,
        pattern: (u8, u8),
    ) -> Result<Self> {
        let (scheme, mode) = match fourcc {
            b"cenc" => (Scheme::Cenc, Mode::Cenc),
            b"cbcs" => (Scheme::Cbcs, Mode::Cbcs),
            b"cens" => (Scheme::Cenc, Mode::Cens),
            b"cbc1" => (Scheme::Cbcs, Mode::Cbc1),
            other => return Err(DecryptError::NotCommonEncryption(*other)),
        };
        let mut d = SampleDecryptor::new(scheme, key, constant_iv, pattern);
        d.mode = mode;
        Ok(d)
    }

    /// The scheme this decryptor undoes (for `cens` its cipher family `cenc`, for `cbc1`
    /// `cbcs`).
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Decrypts one sample in place with its senc entry. Errors (a subsample map that does not
    /// cover the sample exactly, a missing or odd-sized IV) name the problem, never panic.
    pub fn decrypt(&self, data: &mut [u8], aux: &SampleAuxInfo) -> Result<()> {
        if !aux.subsamples.is_empty() {
            let total: u64 = aux
                .subsamples
                .iter()
                .map(|s| u64::from(s.clear) + u64::from(s.protected))
                .sum();
            if total != data.len() as u64 {
                return Err(DecryptError::SubsampleSizes {
                    covered: total,
                    sample: data.len(),
                });
            }
        }
        let iv: [u8; 16] = match (aux.iv.len(), self.constant_iv) {
            (0, Some(c)) => c,
            (0, None) => return Err(DecryptError::NoIv),
            (8, _) | (16, _) => {
                let mut iv = [0u8; 16];
                iv[..aux.iv.len()].copy_from_slice(&aux.iv);
                iv
            }
            (n, _) => return Err(DecryptError::BadIvSize(n)),
        };
        match self.mode {
            Mode::Cenc => {
                let mut cipher = ctr_from(self.enc.clone(), &iv);
                for_each_protected(data, &aux.subsamples, |r| cipher.apply_keystream(r));
            }
            Mode::Cbcs => {
                let (crypt, skip) = self.pattern;
                for_each_protected(data, &aux.subsamples, |r| {
                    cbc_pattern_decrypt(&self.dec, &iv, crypt, skip, r)
                });
            }
            Mode::Cens => {
                // The pattern restarts at each protected range; the counter does not.
                let (crypt, skip) = match self.pattern {
                    (0, 0) => (1usize, 0usize),
                    (c, s) => (usize::from(c), usize::from(s)),
                };
                let mut cipher = ctr_from(self.enc.clone(), &iv);
                for_each_protected(data, &aux.subsamples, |r| {
                    for (i, block) in r.chunks_exact_mut(16).enumerate() {
                        if i % (crypt + skip) < crypt {
                            cipher.apply_keystream(block);
                        }
                    }
                });
            }
            Mode::Cbc1 => {
                // One chain over the whole blocks of every protected range, in order.
                let mut chain = iv;
                for_each_protected(data, &aux.subsamples, |r| {
                    let whole = r.len() & !15;
                    if whole == 0 {
                        return;
                    }
                    let mut next = [0u8; 16];
                    next.copy_from_slice(&r[whole - 16..whole]);
                    cbc_pattern_decrypt(&self.dec, &chain, 0, 0, &mut r[..whole]);
                    chain = next;
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cenc::{IvSource, NalFormat, SampleEncryptor, Subsample, VideoCodec};

    const KEY: [u8; 16] = *b"fedcba9876543210";

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 + 5) as u8).collect()
    }

    #[test]
    fn round_trips_cenc_and_cbcs_audio() {
        for (scheme, iv) in [
            (Scheme::Cenc, "0102030405060708"),
            (Scheme::Cenc, "0102030405060708090a0b0c0d0e0f10"),
            (Scheme::Cbcs, "0102030405060708090a0b0c0d0e0f10"),
        ] {
            let mut enc =
                SampleEncryptor::new(scheme, KEY, IvSource::parse_hex(iv).unwrap(), None).unwrap();
            let t = enc.tenc_params([0; 16]);
            let dec = SampleDecryptor::new(
                scheme,
                &KEY,
                t.constant_iv,
                (t.crypt_byte_block, t.skip_byte_block),
            );
            for n in [0, 5, 16, 100, 1000] {
                let clear = sample(n);
                let mut d = clear.clone();
                let aux = enc.encrypt_sample(&mut d).unwrap();
                if n >= 16 {
                    assert_ne!(d, clear, "{scheme:?} {n}");
                }
                dec.decrypt(&mut d, &aux).unwrap();
                assert_eq!(d, clear, "{scheme:?} {n}");
            }
        }
    }

    #[test]
    fn round_trips_cbcs_video_pattern_with_subsamples() {
        let sps = hex::decode("6764000dacd94141fb011000000300100000030320f1429960").unwrap();
        let pps = hex::decode("68ebe3cb22c0").unwrap();
        let fmt = NalFormat {
            codec: VideoCodec::Avc,
            nal_length_size: 4,
            parameter_sets: vec![sps, pps],
        };
        for scheme in [Scheme::Cenc, Scheme::Cbcs] {
            let mut enc = SampleEncryptor::new(
                scheme,
                KEY,
                IvSource::explicit(&[9; 16]).unwrap(),
                Some(fmt.clone().into()),
            )
            .unwrap();
            let t = enc.tenc_params([0; 16]);
            // An IDR slice (type 5) with first_mb 0, slice type 7, pps 0, frame_num 0, idr_pic_id 0...
            let mut nal = vec![0x65, 0x88, 0x84, 0x00];
            nal.extend(sample(700));
            let clear = [(nal.len() as u32).to_be_bytes().to_vec(), nal].concat();
            let mut d = clear.clone();
            let aux = enc.encrypt_sample(&mut d).unwrap();
            assert!(aux.subsamples.iter().any(|s| s.protected > 0));
            assert_ne!(d, clear);
            let dec = SampleDecryptor::new(
                scheme,
                &KEY,
                t.constant_iv,
                (t.crypt_byte_block, t.skip_byte_block),
            );
            dec.decrypt(&mut d, &aux).unwrap();
            assert_eq!(d, clear, "{scheme:?}");
        }
    }

    #[test]
    fn bad_aux_info_is_an_error_not_a_panic() {
        let dec = SampleDecryptor::new(Scheme::Cenc, &KEY, None, (0, 0));
        let mut d = vec![0u8; 10];
        let no_iv = SampleAuxInfo::default();
        assert!(dec.decrypt(&mut d, &no_iv).is_err());
        let odd = SampleAuxInfo {
            iv: vec![0; 12],
            subsamples: vec![],
        };
        assert!(dec.decrypt(&mut d, &odd).is_err());
        let long_map = SampleAuxInfo {
            iv: vec![0; 8],
            subsamples: vec![Subsample {
                clear: 2,
                protected: 100,
            }],
        };
        assert!(dec
            .decrypt(&mut d, &long_map)
            .unwrap_err()
            .to_string()
            .contains("cover 102 bytes"));
        assert!(scheme_from_fourcc(b"cens").is_err());
        assert!(scheme_from_fourcc(b"cbc1").is_err());
        assert!(SampleDecryptor::for_scheme_type(b"cens", &KEY, None, (1, 9)).is_ok());
        assert!(SampleDecryptor::for_scheme_type(b"cbc1", &KEY, None, (0, 0)).is_ok());
        assert!(SampleDecryptor::for_scheme_type(b"piff", &KEY, None, (0, 0)).is_err());
        assert_eq!(scheme_from_fourcc(b"cbcs").unwrap(), Scheme::Cbcs);
    }
}
