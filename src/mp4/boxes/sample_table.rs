//! Sample table boxes (ISO/IEC 14496-12 §8.5–8.7): `stsd` (§8.5.2, entries kept as opaque
//! bytes), `stts` (§8.6.1.2), `ctts` (§8.6.1.3), `stss` (§8.6.2), `stsz`/`stz2` (§8.7.3), `stsc`
//! (§8.7.4) and `stco`/`co64` (§8.7.5). Every table's entry count is checked against the bytes
//! of its box before anything is allocated for it.
use super::{check_version, count_u32, Mp4Box};
use crate::mp4::{BoxError, BoxIter, BoxResult, BoxWriter, RawBox};

/// Sample descriptions. Each entry is a whole sample entry box (`avc1`, `mp4a`, `encv`...),
/// header included, copied byte-for-byte: codec boxes are not this layer's business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stsd {
    /// The sample entries, whole boxes.
    pub entries: Vec<Vec<u8>>,
}

impl Stsd {
    /// The first sample entry of an stsd without checking entry_count against the entries
    /// (players use the first one and so does vodpack).
    pub fn first_entry<'a>(b: &RawBox<'a>) -> BoxResult<Option<RawBox<'a>>> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        r.u32()?;
        BoxIter::new(r.rest()).next().transpose()
    }
}

impl Mp4Box for Stsd {
    const FOURCC: [u8; 4] = *b"stsd";

    /// Reads every entry; entry_count must match the boxes found.
    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let count = r.u32()?;
        let mut entries = Vec::new();
        for e in BoxIter::new(r.rest()) {
            entries.push(e?.bytes.to_vec());
        }
        if entries.len() as u64 != u64::from(count) {
            return Err(BoxError::bad_value(
                Self::FOURCC,
                format!(
                    "stsd says {count} sample entries but holds {}",
                    entries.len()
                ),
            ));
        }
        Ok(Stsd { entries })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.entries.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for e in &self.entries {
            w.bytes(e);
        }
        w.close();
        Ok(())
    }
}

/// One run of decoding-time deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SttsEntry {
    /// Consecutive samples with this delta.
    pub sample_count: u32,
    /// Their duration.
    pub sample_delta: u32,
}

/// Decoding time to sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stts {
    /// The runs.
    pub entries: Vec<SttsEntry>,
}

impl Mp4Box for Stts {
    const FOURCC: [u8; 4] = *b"stts";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 8)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(SttsEntry {
                sample_count: r.u32()?,
                sample_delta: r.u32()?,
            });
        }
        Ok(Stts { entries })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.entries.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for e in &self.entries {
            w.u32(e.sample_count);
            w.u32(e.sample_delta);
        }
        w.close();
        Ok(())
    }
}

/// One run of composition offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CttsEntry {
    /// Consecutive samples with this offset.
    pub sample_count: u32,
    /// CTS - DTS. Version 0 offsets are read as signed too, as players do.
    pub sample_offset: i32,
}

/// Composition time to sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ctts {
    /// 0 (offsets nominally unsigned) or 1 (signed).
    pub version: u8,
    /// The runs.
    pub entries: Vec<CttsEntry>,
}

impl Mp4Box for Ctts {
    const FOURCC: [u8; 4] = *b"ctts";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 8)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(CttsEntry {
                sample_count: r.u32()?,
                sample_offset: r.i32()?,
            });
        }
        Ok(Ctts { version, entries })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        let count = count_u32(Self::FOURCC, self.entries.len())?;
        w.open_full(&Self::FOURCC, self.version, 0);
        w.u32(count);
        for e in &self.entries {
            w.u32(e.sample_count);
            w.i32(e.sample_offset);
        }
        w.close();
        Ok(())
    }
}

/// Sync sample table: the 1-based numbers of the sync samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stss {
    /// Sample numbers, 1-based.
    pub sample_numbers: Vec<u32>,
}

impl Mp4Box for Stss {
    const FOURCC: [u8; 4] = *b"stss";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 4)?;
        let mut sample_numbers = Vec::with_capacity(n);
        for _ in 0..n {
            sample_numbers.push(r.u32()?);
        }
        Ok(Stss { sample_numbers })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.sample_numbers.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for &s in &self.sample_numbers {
            w.u32(s);
        }
        w.close();
        Ok(())
    }
}

/// Sample sizes. With a constant `sample_size`, no table is stored (and none is allocated on
/// read, whatever `sample_count` says).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stsz {
    /// The size of every sample, or 0 when `entry_sizes` lists them.
    pub sample_size: u32,
    /// The number of samples.
    pub sample_count: u32,
    /// Per-sample sizes (empty when `sample_size` is not 0).
    pub entry_sizes: Vec<u32>,
}

impl Mp4Box for Stsz {
    const FOURCC: [u8; 4] = *b"stsz";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let sample_size = r.u32()?;
        let sample_count = r.u32()?;
        let mut entry_sizes = Vec::new();
        if sample_size == 0 {
            let n = r.check_table(sample_count.into(), 4)?;
            entry_sizes.reserve_exact(n);
            for _ in 0..n {
                entry_sizes.push(r.u32()?);
            }
        }
        Ok(Stsz {
            sample_size,
            sample_count,
            entry_sizes,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        if self.sample_size == 0 && self.entry_sizes.len() as u64 != u64::from(self.sample_count) {
            return Err(BoxError::bad_value(
                Self::FOURCC,
                format!(
                    "sample_count {} but {} entry sizes",
                    self.sample_count,
                    self.entry_sizes.len()
                ),
            ));
        }
        if self.sample_size != 0 && !self.entry_sizes.is_empty() {
            return Err(BoxError::bad_value(
                Self::FOURCC,
                "a constant sample_size and a table of sizes",
            ));
        }
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(self.sample_size);
        w.u32(self.sample_count);
        for &s in &self.entry_sizes {
            w.u32(s);
        }
        w.close();
        Ok(())
    }
}

/// Compact sample sizes: 4, 8 or 16 bits per sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stz2 {
    /// Bits per entry: 4, 8 or 16.
    pub field_size: u8,
    /// Per-sample sizes.
    pub entry_sizes: Vec<u16>,
}

impl Mp4Box for Stz2 {
    const FOURCC: [u8; 4] = *b"stz2";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        r.skip(3)?;
        let field_size = r.u8()?;
        let count = u64::from(r.u32()?);
        let entry_sizes = match field_size {
            4 => {
                let n = r.check_table(count.div_ceil(2), 1)?;
                let bytes = r.bytes(n)?;
                (0..count as usize)
                    .map(|i| {
                        let b = bytes[i / 2];
                        u16::from(if i % 2 == 0 { b >> 4 } else { b & 0xf })
                    })
                    .collect()
            }
            8 => {
                let n = r.check_table(count, 1)?;
                r.bytes(n)?.iter().map(|&b| u16::from(b)).collect()
            }
            16 => {
                let n = r.check_table(count, 2)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(r.u16()?);
                }
                v
            }
            f => {
                return Err(BoxError::bad_value(
                    Self::FOURCC,
                    format!("field size {f} is not 4, 8 or 16"),
                ))
            }
        };
        Ok(Stz2 {
            field_size,
            entry_sizes,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        let count = count_u32(f, self.entry_sizes.len())?;
        let max: u16 = match self.field_size {
            4 => 0xf,
            8 => 0xff,
            16 => 0xffff,
            s => {
                return Err(BoxError::bad_value(
                    f,
                    format!("field size {s} is not 4, 8 or 16"),
                ))
            }
        };
        if let Some(&s) = self.entry_sizes.iter().find(|&&s| s > max) {
            return Err(BoxError::Overflow {
                fourcc: f,
                field: "entry_size",
                value: s.into(),
            });
        }
        w.open_full(&f, 0, 0);
        w.zeros(3);
        w.u8(self.field_size);
        w.u32(count);
        match self.field_size {
            4 => {
                for pair in self.entry_sizes.chunks(2) {
                    let hi = pair[0] as u8;
                    let lo = pair.get(1).map_or(0, |&s| s as u8);
                    w.u8((hi << 4) | lo);
                }
            }
            8 => self.entry_sizes.iter().for_each(|&s| w.u8(s as u8)),
            _ => self.entry_sizes.iter().for_each(|&s| w.u16(s)),
        }
        w.close();
        Ok(())
    }
}

/// One run of chunks with the same number of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StscEntry {
    /// The first chunk of the run, 1-based.
    pub first_chunk: u32,
    /// Samples in each chunk of the run.
    pub samples_per_chunk: u32,
    /// The sample entry of these samples, 1-based.
    pub sample_description_index: u32,
}

/// Sample to chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stsc {
    /// The runs.
    pub entries: Vec<StscEntry>,
}

impl Mp4Box for Stsc {
    const FOURCC: [u8; 4] = *b"stsc";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 12)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(StscEntry {
                first_chunk: r.u32()?,
                samples_per_chunk: r.u32()?,
                sample_description_index: r.u32()?,
            });
        }
        Ok(Stsc { entries })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.entries.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for e in &self.entries {
            w.u32(e.first_chunk);
            w.u32(e.samples_per_chunk);
            w.u32(e.sample_description_index);
        }
        w.close();
        Ok(())
    }
}

/// 32-bit chunk offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stco {
    /// File offset of each chunk.
    pub chunk_offsets: Vec<u32>,
}

impl Mp4Box for Stco {
    const FOURCC: [u8; 4] = *b"stco";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 4)?;
        let mut chunk_offsets = Vec::with_capacity(n);
        for _ in 0..n {
            chunk_offsets.push(r.u32()?);
        }
        Ok(Stco { chunk_offsets })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.chunk_offsets.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for &o in &self.chunk_offsets {
            w.u32(o);
        }
        w.close();
        Ok(())
    }
}

/// 64-bit chunk offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Co64 {
    /// File offset of each chunk.
    pub chunk_offsets: Vec<u64>,
}

impl Mp4Box for Co64 {
    const FOURCC: [u8; 4] = *b"co64";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), 8)?;
        let mut chunk_offsets = Vec::with_capacity(n);
        for _ in 0..n {
            chunk_offsets.push(r.u64()?);
        }
        Ok(Co64 { chunk_offsets })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let count = count_u32(Self::FOURCC, self.chunk_offsets.len())?;
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(count);
        for &o in &self.chunk_offsets {
            w.u64(o);
        }
        w.close();
        Ok(())
    }
}

/// The chunk offsets of an stbl, from whichever of stco or co64 it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOffsets(pub Vec<u64>);

impl ChunkOffsets {
    /// Reads stco, else co64, of `stbl`; `None` when it has neither.
    pub fn from_stbl(stbl: &RawBox) -> BoxResult<Option<ChunkOffsets>> {
        if let Some(b) = stbl.child(b"stco")? {
            let s = Stco::read(&b)?;
            return Ok(Some(ChunkOffsets(
                s.chunk_offsets.into_iter().map(u64::from).collect(),
            )));
        }
        if let Some(b) = stbl.child(b"co64")? {
            return Ok(Some(ChunkOffsets(Co64::read(&b)?.chunk_offsets)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{round_trip, same_bytes};
    use super::*;

    #[test]
    fn stsd_round_trip_keeps_entries_byte_for_byte() {
        let entry = [&[0, 0, 0, 12][..], b"mp4a", &[1, 2, 3, 4]].concat();
        let s = Stsd {
            entries: vec![entry.clone(), entry],
        };
        let bytes = round_trip(&s);
        let mut bad = bytes.clone();
        bad[15] = 3; // entry_count 3, two entries
        assert!(Stsd::from_bytes(&bad).is_err());
        let raw = RawBox::parse(&bad).unwrap();
        assert_eq!(&Stsd::first_entry(&raw).unwrap().unwrap().fourcc, b"mp4a");
    }

    #[test]
    fn time_tables_round_trip() {
        round_trip(&Stts {
            entries: vec![
                SttsEntry {
                    sample_count: 3,
                    sample_delta: 1024,
                },
                SttsEntry {
                    sample_count: 1,
                    sample_delta: 512,
                },
            ],
        });
        for version in [0, 1] {
            round_trip(&Ctts {
                version,
                entries: vec![CttsEntry {
                    sample_count: 2,
                    sample_offset: -512,
                }],
            });
        }
        round_trip(&Stss {
            sample_numbers: vec![1, 31, 61],
        });
    }

    #[test]
    fn size_tables_round_trip() {
        round_trip(&Stsz {
            sample_size: 0,
            sample_count: 3,
            entry_sizes: vec![10, 20, 30],
        });
        // A constant size with a huge count allocates nothing.
        let big = round_trip(&Stsz {
            sample_size: 4,
            sample_count: u32::MAX,
            entry_sizes: vec![],
        });
        assert_eq!(big.len(), 20);
        for (field_size, sizes) in [(4u8, vec![1u16, 15, 7]), (8, vec![255, 0]), (16, vec![9])] {
            round_trip(&Stz2 {
                field_size,
                entry_sizes: sizes,
            });
        }
        assert!(Stz2 {
            field_size: 4,
            entry_sizes: vec![16]
        }
        .to_bytes()
        .is_err());
    }

    #[test]
    fn chunk_tables_round_trip() {
        round_trip(&Stsc {
            entries: vec![StscEntry {
                first_chunk: 1,
                samples_per_chunk: 5,
                sample_description_index: 1,
            }],
        });
        let stco = round_trip(&Stco {
            chunk_offsets: vec![48, 1000],
        });
        round_trip(&Co64 {
            chunk_offsets: vec![1 << 33],
        });
        // What vodpack's init segments hold: empty tables.
        same_bytes::<Stco>(&[0, 0, 0, 16, b's', b't', b'c', b'o', 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut stbl = vec![0, 0, 0, 8 + stco.len() as u8];
        stbl.extend_from_slice(b"stbl");
        stbl.extend_from_slice(&stco);
        let stbl = RawBox::parse(&stbl).unwrap();
        assert_eq!(
            ChunkOffsets::from_stbl(&stbl).unwrap().unwrap().0,
            vec![48, 1000]
        );
    }
}
