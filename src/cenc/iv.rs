//! Initialization vectors (ISO/IEC 23001-7 §9.1 for `cenc`, §10.4 for `cbcs`).
//!
//! - `cenc`: a fresh IV per sample, 8 or 16 bytes, from the operating system's CSPRNG.
//! - `cbcs`: one constant 16-byte IV per track (in tenc), from the CSPRNG.
//! - Explicit IV (`--iv`, for reproducible tests): `cenc` uses it for the first sample and then
//!   derives each next IV the way §9.1 recommends and Shaka Packager does: an 8-byte IV is
//!   incremented by one per sample; a 16-byte IV is advanced by the previous sample's number of
//!   AES blocks, so CTR keystreams never overlap. `cbcs` uses the explicit 16-byte IV as its
//!   constant IV.
use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};

use crate::cenc::keys::{KeyError, Result};

/// Where per-sample IVs come from.
#[derive(Debug, Clone)]
pub enum IvSource {
    /// Random IVs of `size` bytes (8 or 16) from a CSPRNG (ChaCha, `StdRng`) seeded from the
    /// operating system's: one system call per track instead of one per sample.
    Random {
        /// IV size in bytes.
        size: u8,
        /// The generator.
        rng: Box<StdRng>,
    },
    /// Deterministic IVs starting at an explicit IV (8 or 16 bytes, see the module doc).
    Counter {
        /// The next IV (the first `size` bytes are used).
        next: [u8; 16],
        /// IV size in bytes.
        size: u8,
    },
}

impl IvSource {
    /// Random IVs of 8 or 16 bytes.
    pub fn random(size: u8) -> Result<Self> {
        check_size(size)?;
        Ok(IvSource::Random {
            size,
            rng: Box::new(StdRng::from_rng(OsRng).map_err(|e| KeyError::Random(e.to_string()))?),
        })
    }

    /// Deterministic IVs starting at `iv` (8 or 16 bytes).
    pub fn explicit(iv: &[u8]) -> Result<Self> {
        let size = u8::try_from(iv.len()).unwrap_or(0);
        check_size(size)?;
        let mut next = [0u8; 16];
        next[..iv.len()].copy_from_slice(iv);
        Ok(IvSource::Counter { next, size })
    }

    /// Parses `--iv HEX` (16 or 32 hex digits).
    pub fn parse_hex(s: &str) -> Result<Self> {
        let bytes = hex::decode(s.trim()).map_err(|_| KeyError::BadIvHex(s.to_string()))?;
        Self::explicit(&bytes)
    }

    /// The per-sample IV size in bytes (tenc's default_Per_Sample_IV_Size for `cenc`).
    pub fn size(&self) -> u8 {
        match self {
            IvSource::Random { size, .. } | IvSource::Counter { size, .. } => *size,
        }
    }

    /// The IV for the next `cenc` sample, left-aligned in 16 bytes (bytes past `size()` are 0,
    /// which is also the CTR block counter's start, §9.2). `blocks_of_previous` is not needed
    /// here: call [`IvSource::advance`] after encrypting the sample.
    pub fn next_sample_iv(&mut self) -> [u8; 16] {
        match self {
            IvSource::Random { size, rng } => {
                let mut iv = [0u8; 16];
                rng.fill_bytes(&mut iv[..*size as usize]);
                iv
            }
            IvSource::Counter { next, .. } => *next,
        }
    }

    /// Moves a counter source past a sample that used `blocks` AES blocks of keystream.
    pub fn advance(&mut self, blocks: u64) {
        if let IvSource::Counter { next, size } = self {
            if *size == 8 {
                let v = u64::from_be_bytes(next[..8].try_into().expect("8 bytes")).wrapping_add(1);
                next[..8].copy_from_slice(&v.to_be_bytes());
            } else {
                let v = u128::from_be_bytes(*next).wrapping_add(u128::from(blocks.max(1)));
                *next = v.to_be_bytes();
            }
        }
    }

    /// The constant IV for a `cbcs` track: random, or the explicit IV (which must be 16 bytes).
    pub fn constant_iv(&self) -> Result<[u8; 16]> {
        match self {
            IvSource::Random { .. } => {
                let mut iv = [0u8; 16];
                OsRng.fill_bytes(&mut iv);
                Ok(iv)
            }
            IvSource::Counter { next, size: 16 } => Ok(*next),
            IvSource::Counter { .. } => Err(KeyError::CbcsNeeds16ByteIv),
        }
    }
}

fn check_size(size: u8) -> Result<()> {
    if size == 8 || size == 16 {
        Ok(())
    } else {
        Err(KeyError::BadIvSize(size.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_byte_counter_increments_per_sample() {
        let mut s = IvSource::parse_hex("01020304050607ff").unwrap();
        assert_eq!(s.size(), 8);
        assert_eq!(&s.next_sample_iv()[..8], &[1, 2, 3, 4, 5, 6, 7, 0xff]);
        s.advance(300);
        let iv = s.next_sample_iv();
        assert_eq!(&iv[..8], &[1, 2, 3, 4, 5, 6, 8, 0]);
        assert_eq!(&iv[8..], &[0; 8]);
    }

    #[test]
    fn sixteen_byte_counter_skips_used_blocks() {
        let mut s = IvSource::explicit(&[0u8; 16]).unwrap();
        s.advance(300);
        assert_eq!(u128::from_be_bytes(s.next_sample_iv()), 300);
        assert_eq!(s.constant_iv().unwrap(), s.next_sample_iv());
    }

    #[test]
    fn random_ivs_differ_and_sizes_are_checked() {
        let mut s = IvSource::random(8).unwrap();
        let a = s.next_sample_iv();
        let b = s.next_sample_iv();
        assert_ne!(a, b);
        assert_eq!(&a[8..], &[0; 8]);
        assert!(IvSource::random(12).is_err());
        assert!(IvSource::parse_hex("0102").is_err());
        assert!(IvSource::parse_hex("xyz").is_err());
        assert!(IvSource::parse_hex("0102030405060708")
            .unwrap()
            .constant_iv()
            .is_err());
        let c1 = IvSource::random(16).unwrap().constant_iv().unwrap();
        let c2 = IvSource::random(16).unwrap().constant_iv().unwrap();
        assert_ne!(c1, c2);
    }
}
