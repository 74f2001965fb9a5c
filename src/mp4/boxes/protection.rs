//! Common Encryption boxes: `sinf` (ISO/IEC 14496-12 §8.12.1) with `frma` (§8.12.2), `schm`
//! (§8.12.5) and `schi`/`tenc` (ISO/IEC 23001-7 §8.2); `pssh` (ISO/IEC 23001-7 §8.1); `senc`
//! (ISO/IEC 23001-7 §7.2); `saiz` and `saio` (ISO/IEC 14496-12 §8.7.8 and §8.7.9). What the
//! values mean for decryption (which IV sizes are legal, which scheme...) is decided by the
//! callers (`media::protection`, `cenc`); this layer reads and writes the syntax.
use super::{check_version, count_u32, Mp4Box};
use crate::mp4::error::fit;
use crate::mp4::{BoxError, BoxResult, BoxWriter, ByteReader, RawBox};

/// One subsample entry of senc (ISO/IEC 23001-7 §7.2.2): `clear` bytes, then `protected` bytes.
/// A box-level value: the encryptor (`cenc::subsample`) decides the runs, this layer reads and
/// writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subsample {
    /// BytesOfClearData.
    pub clear: u16,
    /// BytesOfProtectedData.
    pub protected: u32,
}

/// A sample's auxiliary information (one senc entry, §7.2): its IV (empty for `cbcs`, whose IV is
/// constant) and its subsamples (empty = the whole sample is protected per the scheme's rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SampleAuxInfo {
    /// The per-sample IV (8 or 16 bytes for `cenc`; empty when the IV is constant).
    pub iv: Vec<u8>,
    /// Clear/protected byte runs covering the sample, in order (empty: no subsample map).
    pub subsamples: Vec<Subsample>,
}

impl SampleAuxInfo {
    /// Size of this entry in senc and saiz: IV, plus a 2-byte count and 6 bytes per subsample
    /// when the track uses subsamples.
    pub fn info_size(&self, use_subsamples: bool) -> usize {
        self.iv.len()
            + if use_subsamples {
                2 + 6 * self.subsamples.len()
            } else {
                0
            }
    }
}

/// Original format: the sample entry 4CC before encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frma {
    /// `avc1`, `mp4a`...
    pub data_format: [u8; 4],
}

impl Mp4Box for Frma {
    const FOURCC: [u8; 4] = *b"frma";

    fn read(b: &RawBox) -> BoxResult<Self> {
        b.expect(&Self::FOURCC)?;
        Ok(Frma {
            data_format: ByteReader::new(b.body, b.fourcc).fourcc()?,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open(&Self::FOURCC);
        w.bytes(&self.data_format);
        w.close();
        Ok(())
    }
}

/// Scheme type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schm {
    /// `cenc`, `cbcs`, `cens`, `cbc1`...
    pub scheme_type: [u8; 4],
    /// 0x00010000 for the 23001-7 schemes.
    pub scheme_version: u32,
    /// The scheme URI (flag 0x1), NUL-terminated as stored.
    pub scheme_uri: Option<Vec<u8>>,
}

impl Mp4Box for Schm {
    const FOURCC: [u8; 4] = *b"schm";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, flags, mut r) = b.full_box(&Self::FOURCC, 0)?;
        Ok(Schm {
            scheme_type: r.fourcc()?,
            scheme_version: r.u32()?,
            scheme_uri: (flags & 1 != 0).then(|| r.take_rest().to_vec()),
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open_full(&Self::FOURCC, 0, u32::from(self.scheme_uri.is_some()));
        w.bytes(&self.scheme_type);
        w.u32(self.scheme_version);
        if let Some(u) = &self.scheme_uri {
            w.bytes(u);
        }
        w.close();
        Ok(())
    }
}

/// Track encryption defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenc {
    /// 0, or 1 with the pattern (`cbcs`, `cens`).
    pub version: u8,
    /// Encrypted 16-byte blocks of the pattern (version 1).
    pub default_crypt_byte_block: u8,
    /// Clear 16-byte blocks of the pattern (version 1).
    pub default_skip_byte_block: u8,
    /// 1 when samples are protected.
    pub default_is_protected: u8,
    /// 0 (constant IV), 8 or 16.
    pub default_per_sample_iv_size: u8,
    /// The key ID.
    pub default_kid: [u8; 16],
    /// The constant IV, present when protected with a per-sample IV size of 0.
    pub default_constant_iv: Option<Vec<u8>>,
}

impl Tenc {
    /// Reads the fields shared by tenc (after version and flags) and a `seig` sample group
    /// entry (§6): reserved, pattern (always read; meaningful when `pattern`), isProtected, IV
    /// size, KID and the constant IV when protected with IV size 0.
    pub fn read_fields(r: &mut ByteReader, version: u8, pattern: bool) -> BoxResult<Tenc> {
        r.u8()?;
        let pat = r.u8()?;
        let (crypt, skip) = if pattern {
            (pat >> 4, pat & 0xf)
        } else {
            (0, 0)
        };
        let default_is_protected = r.u8()?;
        let default_per_sample_iv_size = r.u8()?;
        let default_kid = r.array()?;
        let default_constant_iv = if default_is_protected != 0 && default_per_sample_iv_size == 0 {
            let n = r.u8()?;
            Some(r.bytes(n.into())?.to_vec())
        } else {
            None
        };
        Ok(Tenc {
            version,
            default_crypt_byte_block: crypt,
            default_skip_byte_block: skip,
            default_is_protected,
            default_per_sample_iv_size,
            default_kid,
            default_constant_iv,
        })
    }

    /// Writes the fields [`Tenc::read_fields`] reads.
    pub fn write_fields(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        if self.default_crypt_byte_block > 0xf || self.default_skip_byte_block > 0xf {
            return Err(BoxError::bad_value(f, "pattern block counts over 15"));
        }
        let needs_iv = self.default_is_protected != 0 && self.default_per_sample_iv_size == 0;
        if needs_iv != self.default_constant_iv.is_some() {
            return Err(BoxError::bad_value(
                f,
                "a constant IV goes with protected samples of IV size 0, and only with them",
            ));
        }
        w.u8(0);
        w.u8(if self.version >= 1 {
            (self.default_crypt_byte_block << 4) | self.default_skip_byte_block
        } else {
            0
        });
        w.u8(self.default_is_protected);
        w.u8(self.default_per_sample_iv_size);
        w.bytes(&self.default_kid);
        if let Some(iv) = &self.default_constant_iv {
            w.u8(fit(f, "constant_IV_size", iv.len() as u64)?);
            w.bytes(iv);
        }
        Ok(())
    }
}

impl Mp4Box for Tenc {
    const FOURCC: [u8; 4] = *b"tenc";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        Tenc::read_fields(&mut r, version, version >= 1)
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        if self.version == 0 && (self.default_crypt_byte_block | self.default_skip_byte_block) != 0
        {
            return Err(BoxError::bad_value(
                Self::FOURCC,
                "a pattern needs version 1",
            ));
        }
        w.open_full(&Self::FOURCC, self.version, 0);
        self.write_fields(w)?;
        w.close();
        Ok(())
    }
}

/// Protection scheme information: the original format, the scheme and its tenc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sinf {
    /// The original sample entry format.
    pub frma: Frma,
    /// The scheme.
    pub schm: Option<Schm>,
    /// The tenc of schi.
    pub tenc: Option<Tenc>,
}

impl Mp4Box for Sinf {
    const FOURCC: [u8; 4] = *b"sinf";

    fn read(b: &RawBox) -> BoxResult<Self> {
        b.expect(&Self::FOURCC)?;
        let frma = Frma::read(&b.require(b"frma")?)?;
        let schm = b.child(b"schm")?.map(|s| Schm::read(&s)).transpose()?;
        let tenc = match b.child(b"schi")? {
            Some(schi) => schi.child(b"tenc")?.map(|t| Tenc::read(&t)).transpose()?,
            None => None,
        };
        Ok(Sinf { frma, schm, tenc })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open(&Self::FOURCC);
        self.frma.write(w)?;
        if let Some(s) = &self.schm {
            s.write(w)?;
        }
        if let Some(t) = &self.tenc {
            w.open(b"schi");
            t.write(w)?;
            w.close();
        }
        w.close();
        Ok(())
    }
}

/// Protection system specific header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pssh {
    /// 0, or 1 with the KID list.
    pub version: u8,
    /// The DRM system.
    pub system_id: [u8; 16],
    /// The key IDs (version 1 only; never written for version 0).
    pub kids: Vec<[u8; 16]>,
    /// The system-specific data.
    pub data: Vec<u8>,
}

impl Mp4Box for Pssh {
    const FOURCC: [u8; 4] = *b"pssh";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let system_id = r.array()?;
        let mut kids = Vec::new();
        if version > 0 {
            let count = r.u32()?;
            let n = r.check_table(count.into(), 16)?;
            kids.reserve_exact(n);
            for _ in 0..n {
                kids.push(r.array()?);
            }
        }
        let size = r.u32()?;
        let data = r.bytes(size as usize)?.to_vec();
        Ok(Pssh {
            version,
            system_id,
            kids,
            data,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        let data_len = count_u32(Self::FOURCC, self.data.len())?;
        w.open_full(&Self::FOURCC, self.version, 0);
        w.bytes(&self.system_id);
        if self.version > 0 {
            w.u32(count_u32(Self::FOURCC, self.kids.len())?);
            for k in &self.kids {
                w.bytes(k);
            }
        }
        w.u32(data_len);
        w.bytes(&self.data);
        w.close();
        Ok(())
    }
}

/// Sample encryption: each sample's IV and subsample map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Senc {
    /// 0x2: subsample maps present. (0x1, the PIFF override of IV size and KID, is honoured
    /// on read and never written.)
    pub flags: u32,
    /// One entry per sample.
    pub samples: Vec<SampleAuxInfo>,
}

impl Senc {
    /// use_subsample_encryption.
    pub const USE_SUBSAMPLES: u32 = 0x2;
    /// Byte position of the first sample's information within the box as written (header 8,
    /// version and flags 4, sample_count 4): saio points there.
    pub const FIRST_AUX_POS: usize = 16;

    /// Reads a senc; its syntax depends on the IV size, which tenc (or the sample's `seig`
    /// group) gives: `iv_size(i)` for sample `i`.
    pub fn read(b: &RawBox, iv_size: &dyn Fn(usize) -> u8) -> BoxResult<Senc> {
        let (_, flags, mut r) = b.full_box(b"senc", 0)?;
        let override_iv = if flags & 0x1 != 0 {
            r.skip(3)?; // AlgorithmID
            let s = r.u8()?;
            r.skip(16)?; // KID
            Some(s)
        } else {
            None
        };
        let count = r.u32()?;
        let n = super::check_entry_limit(*b"senc", count.into())?;
        // Each entry takes at least its IV; the vector grows only as entries are read.
        let mut samples = Vec::with_capacity(n.min(r.remaining()));
        for i in 0..n {
            let size = override_iv.unwrap_or_else(|| iv_size(i));
            samples.push(
                read_aux(&mut r, size, flags & Self::USE_SUBSAMPLES != 0)
                    .map_err(|e| e.context(format!("senc sample {}", i + 1)))?,
            );
        }
        Ok(Senc {
            flags: flags & Self::USE_SUBSAMPLES,
            samples,
        })
    }

    /// Writes a senc for `samples` (version 0, flags 0x2 when `subsamples`) without copying
    /// them.
    pub fn write_samples(
        w: &mut BoxWriter,
        samples: &[SampleAuxInfo],
        subsamples: bool,
    ) -> BoxResult<()> {
        let f = *b"senc";
        let count = count_u32(f, samples.len())?;
        for s in samples {
            if subsamples {
                fit::<u16>(f, "subsample_count", s.subsamples.len() as u64)?;
            } else if !s.subsamples.is_empty() {
                return Err(BoxError::bad_value(
                    f,
                    "subsample map given for a track without subsamples",
                ));
            }
        }
        w.buf.reserve(
            16 + samples
                .iter()
                .map(|s| s.info_size(subsamples))
                .sum::<usize>(),
        );
        w.open_full(&f, 0, if subsamples { Self::USE_SUBSAMPLES } else { 0 });
        w.u32(count);
        for s in samples {
            w.bytes(&s.iv);
            if subsamples {
                w.u16(s.subsamples.len() as u16); // checked above
                for ss in &s.subsamples {
                    w.u16(ss.clear);
                    w.u32(ss.protected);
                }
            }
        }
        w.close();
        Ok(())
    }

    /// Writes this senc.
    pub fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        Self::write_samples(w, &self.samples, self.flags & Self::USE_SUBSAMPLES != 0)
    }
}

/// Reads one sample's auxiliary information (IV, then subsample count and entries when
/// `subsamples`) from `r`.
pub fn read_aux(r: &mut ByteReader, iv_size: u8, subsamples: bool) -> BoxResult<SampleAuxInfo> {
    let iv = r.bytes(iv_size.into())?.to_vec();
    let mut subs = Vec::new();
    if subsamples {
        let n = r.u16()?;
        let n = r.check_table(n.into(), 6)?;
        subs.reserve_exact(n);
        for _ in 0..n {
            subs.push(Subsample {
                clear: r.u16()?,
                protected: r.u32()?,
            });
        }
    }
    Ok(SampleAuxInfo {
        iv,
        subsamples: subs,
    })
}

/// Sample auxiliary information sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saiz {
    /// aux_info_type and its parameter (flag 0x1).
    pub aux_info_type: Option<([u8; 4], u32)>,
    /// The size of every sample's information, or 0 when `sample_info_sizes` lists them.
    pub default_sample_info_size: u8,
    /// The number of samples.
    pub sample_count: u32,
    /// Per-sample sizes (empty when the default is not 0).
    pub sample_info_sizes: Vec<u8>,
}

impl Saiz {
    /// A saiz for these per-sample sizes: the default size when they are all equal (as Shaka
    /// Packager writes it), else the table.
    pub fn from_sizes(sizes: Vec<u8>) -> BoxResult<Saiz> {
        let sample_count = count_u32(Self::FOURCC, sizes.len())?;
        let uniform = sizes.windows(2).all(|w| w[0] == w[1]);
        Ok(if uniform {
            Saiz {
                aux_info_type: None,
                default_sample_info_size: sizes.first().copied().unwrap_or(0),
                sample_count,
                sample_info_sizes: Vec::new(),
            }
        } else {
            Saiz {
                aux_info_type: None,
                default_sample_info_size: 0,
                sample_count,
                sample_info_sizes: sizes,
            }
        })
    }
}

impl Mp4Box for Saiz {
    const FOURCC: [u8; 4] = *b"saiz";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, flags, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let aux_info_type = if flags & 1 != 0 {
            Some((r.fourcc()?, r.u32()?))
        } else {
            None
        };
        let default_sample_info_size = r.u8()?;
        let sample_count = r.u32()?;
        let sample_info_sizes = if default_sample_info_size == 0 {
            let n = r.check_table(sample_count.into(), 1)?;
            r.bytes(n)?.to_vec()
        } else {
            Vec::new()
        };
        Ok(Saiz {
            aux_info_type,
            default_sample_info_size,
            sample_count,
            sample_info_sizes,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        if self.default_sample_info_size == 0
            && self.sample_info_sizes.len() as u64 != u64::from(self.sample_count)
        {
            return Err(BoxError::bad_value(
                Self::FOURCC,
                "sample_count differs from the number of sizes",
            ));
        }
        w.open_full(&Self::FOURCC, 0, u32::from(self.aux_info_type.is_some()));
        if let Some((t, p)) = self.aux_info_type {
            w.bytes(&t);
            w.u32(p);
        }
        w.u8(self.default_sample_info_size);
        w.u32(self.sample_count);
        if self.default_sample_info_size == 0 {
            w.bytes(&self.sample_info_sizes);
        }
        w.close();
        Ok(())
    }
}

/// Sample auxiliary information offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saio {
    /// 0 (32-bit offsets) or 1 (64-bit).
    pub version: u8,
    /// aux_info_type and its parameter (flag 0x1).
    pub aux_info_type: Option<([u8; 4], u32)>,
    /// Offsets (one, or one per chunk/run).
    pub offsets: Vec<u64>,
}

impl Saio {
    /// Byte position of the first offset in a saio without aux_info_type: header (8), version
    /// and flags (4), entry_count (4).
    pub const FIRST_OFFSET_POS: usize = 16;
}

impl Mp4Box for Saio {
    const FOURCC: [u8; 4] = *b"saio";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, flags, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let aux_info_type = if flags & 1 != 0 {
            Some((r.fourcc()?, r.u32()?))
        } else {
            None
        };
        let count = r.u32()?;
        let n = r.check_table(count.into(), if version == 1 { 8 } else { 4 })?;
        let mut offsets = Vec::with_capacity(n);
        for _ in 0..n {
            offsets.push(if version == 1 {
                r.u64()?
            } else {
                r.u32()?.into()
            });
        }
        Ok(Saio {
            version,
            aux_info_type,
            offsets,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        check_version(f, self.version, 1)?;
        let count = count_u32(f, self.offsets.len())?;
        if self.version == 0 {
            for &o in &self.offsets {
                super::v0_u32(f, "offset", o)?;
            }
        }
        w.open_full(&f, self.version, u32::from(self.aux_info_type.is_some()));
        if let Some((t, p)) = self.aux_info_type {
            w.bytes(&t);
            w.u32(p);
        }
        w.u32(count);
        for &o in &self.offsets {
            if self.version == 1 {
                w.u64(o);
            } else {
                w.u32(o as u32); // checked above
            }
        }
        w.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{round_trip, same_bytes};
    use super::*;

    fn tenc_cbcs() -> Tenc {
        Tenc {
            version: 1,
            default_crypt_byte_block: 1,
            default_skip_byte_block: 9,
            default_is_protected: 1,
            default_per_sample_iv_size: 0,
            default_kid: [0x11; 16],
            default_constant_iv: Some(vec![7; 16]),
        }
    }

    #[test]
    fn sinf_frma_schm_tenc_round_trip() {
        round_trip(&Frma {
            data_format: *b"avc1",
        });
        round_trip(&Schm {
            scheme_type: *b"cbcs",
            scheme_version: 0x0001_0000,
            scheme_uri: None,
        });
        round_trip(&Schm {
            scheme_type: *b"cenc",
            scheme_version: 0x0001_0000,
            scheme_uri: Some(b"https://x\0".to_vec()),
        });
        round_trip(&tenc_cbcs());
        let cenc = Tenc {
            version: 0,
            default_crypt_byte_block: 0,
            default_skip_byte_block: 0,
            default_per_sample_iv_size: 8,
            default_constant_iv: None,
            ..tenc_cbcs()
        };
        assert_eq!(round_trip(&cenc).len(), 32);
        round_trip(&Sinf {
            frma: Frma {
                data_format: *b"mp4a",
            },
            schm: Some(Schm {
                scheme_type: *b"cbcs",
                scheme_version: 0x0001_0000,
                scheme_uri: None,
            }),
            tenc: Some(tenc_cbcs()),
        });
        // Shaka Packager 3.8's sinf for cbcs (also checked in cenc::boxes).
        same_bytes::<Sinf>(
            &hex::decode(concat!(
                "0000006173696e660000000c66726d61617663310000001473636",
                "86d00000000636263730001000000000039736368690000003174",
                "656e630100000000190100001122334455667788",
                "99aabbccddeeff1001020304050607080102030405060708"
            ))
            .unwrap(),
        );
    }

    #[test]
    fn pssh_round_trip_v0_v1() {
        round_trip(&Pssh {
            version: 1,
            system_id: [1; 16],
            kids: vec![[2; 16], [3; 16]],
            data: vec![],
        });
        round_trip(&Pssh {
            version: 0,
            system_id: [1; 16],
            kids: vec![],
            data: vec![9, 8, 7],
        });
        let mut b = Pssh {
            version: 1,
            system_id: [1; 16],
            kids: vec![[2; 16]],
            data: vec![],
        }
        .to_bytes()
        .unwrap();
        b[31] = 0xff; // a KID count that runs past the box
        assert!(Pssh::from_bytes(&b).is_err());
    }

    #[test]
    fn senc_saiz_saio_round_trip() {
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
                subsamples: vec![],
            },
        ];
        let s = Senc {
            flags: Senc::USE_SUBSAMPLES,
            samples,
        };
        let mut w = BoxWriter::new();
        s.write(&mut w).unwrap();
        let bytes = w.into_inner();
        assert_eq!(
            &bytes[Senc::FIRST_AUX_POS..Senc::FIRST_AUX_POS + 8],
            &[1; 8]
        );
        let back = Senc::read(&RawBox::parse(&bytes).unwrap(), &|_| 8).unwrap();
        assert_eq!(back, s);
        // A count the box cannot hold fails on the reads, not on an allocation.
        let mut bad = bytes.clone();
        bad[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Senc::read(&RawBox::parse(&bad).unwrap(), &|_| 8).is_err());

        round_trip(&Saiz::from_sizes(vec![16, 16]).unwrap());
        let z = round_trip(&Saiz::from_sizes(vec![16, 22]).unwrap());
        assert_eq!(hex::encode(&z), "000000137361697a0000000000000000021016");
        round_trip(&Saiz {
            aux_info_type: Some((*b"cenc", 0)),
            default_sample_info_size: 8,
            sample_count: 3,
            sample_info_sizes: vec![],
        });
        let o = round_trip(&Saio {
            version: 0,
            aux_info_type: None,
            offsets: vec![0x2e9],
        });
        assert_eq!(hex::encode(&o), "000000147361696f0000000000000001000002e9");
        round_trip(&Saio {
            version: 1,
            aux_info_type: Some((*b"cbcs", 1)),
            offsets: vec![1 << 40, 5],
        });
        assert!(Saio {
            version: 0,
            aux_info_type: None,
            offsets: vec![1 << 40],
        }
        .to_bytes()
        .is_err());
    }
}
