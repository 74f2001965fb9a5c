//! One typed struct per box kind (or small family), each with its `read` (from a [`RawBox`]) and
//! its `write` (to a [`BoxWriter`]), so every module of vodpack reads and writes boxes the same
//! way and each box can be round-trip tested on its own. Reads are bounded by the box and
//! checked; writes refuse values that do not fit their field ([`BoxError::Overflow`]) instead of
//! truncating them. Sample entries and other codec boxes are not modelled: `stsd` keeps them as
//! opaque bytes, copied byte-for-byte.
use super::{BoxError, BoxResult, BoxWriter, ByteReader, RawBox};

pub mod check;
pub mod fragment;
pub mod ftyp;
pub mod movie;
pub mod protection;
pub mod sample_group;
pub mod sample_table;
pub mod sidx;
pub mod track;

pub use fragment::{Mfhd, Moof, Tfdt, Tfhd, Traf, Trun, TrunEntry};
pub use ftyp::Ftyp;
pub use movie::{Mehd, Mvex, Mvhd, Trex};
pub use protection::{Frma, Pssh, Saio, Saiz, SampleAuxInfo, Schm, Senc, Sinf, Subsample, Tenc};
pub use sample_group::{Sbgp, SbgpEntry, Sgpd, SgpdEntries};
pub use sample_table::{
    ChunkOffsets, Co64, Ctts, CttsEntry, Stco, Stsc, StscEntry, Stsd, Stss, Stsz, Stts, SttsEntry,
    Stz2,
};
pub use sidx::{Sidx, SidxReference};
pub use track::{Elst, ElstEntry, Hdlr, Mdhd, Tkhd};

/// A box with a typed form: read from its bytes, written back.
pub trait Mp4Box: Sized {
    /// The box type this struct models.
    const FOURCC: [u8; 4];

    /// Parses the box (header included in `b`).
    fn read(b: &RawBox) -> BoxResult<Self>;

    /// Appends the whole box (header, size back-filled) to `w`.
    fn write(&self, w: &mut BoxWriter) -> BoxResult<()>;

    /// The box as bytes.
    fn to_bytes(&self) -> BoxResult<Vec<u8>> {
        let mut w = BoxWriter::new();
        self.write(&mut w)?;
        Ok(w.into_inner())
    }

    /// Parses the first box of `buf`.
    fn from_bytes(buf: &[u8]) -> BoxResult<Self> {
        Self::read(&RawBox::parse(buf)?)
    }
}

/// Fails with [`BoxError::BadVersion`] unless `version` is at most `max`.
pub(crate) fn check_version(fourcc: [u8; 4], version: u8, max: u8) -> BoxResult<()> {
    if version > max {
        return Err(BoxError::BadVersion { fourcc, version });
    }
    Ok(())
}

/// The times `mvhd` (§8.2.2) and `mdhd` (§8.4.2) share, in their order: creation time,
/// modification time, timescale, duration.
pub(crate) type HeaderTimes = (u64, u64, u32, u64);

/// Reads [`HeaderTimes`]: 32-bit fields in version 0, 64-bit (but the timescale) in version 1.
pub(crate) fn read_header_times(r: &mut ByteReader, version: u8) -> BoxResult<HeaderTimes> {
    Ok(if version == 1 {
        (r.u64()?, r.u64()?, r.u32()?, r.u64()?)
    } else {
        (r.u32()?.into(), r.u32()?.into(), r.u32()?, r.u32()?.into())
    })
}

/// Opens full box `fourcc` (version 0 or 1, `flags`) and writes its [`HeaderTimes`]. A time
/// that does not fit a version-0 field is an error before anything is written.
pub(crate) fn open_with_header_times(
    w: &mut BoxWriter,
    fourcc: [u8; 4],
    version: u8,
    flags: u32,
    (creation, modification, timescale, duration): HeaderTimes,
) -> BoxResult<()> {
    check_version(fourcc, version, 1)?;
    if version == 0 {
        let c = v0_u32(fourcc, "creation_time", creation)?;
        let m = v0_u32(fourcc, "modification_time", modification)?;
        let d = v0_u32(fourcc, "duration", duration)?;
        w.open_full(&fourcc, 0, flags);
        w.u32(c);
        w.u32(m);
        w.u32(timescale);
        w.u32(d);
    } else {
        w.open_full(&fourcc, 1, flags);
        w.u64(creation);
        w.u64(modification);
        w.u32(timescale);
        w.u64(duration);
    }
    Ok(())
}

/// A 32-bit field for a version-0 box: the value, or an overflow naming the field.
pub(crate) fn v0_u32(fourcc: [u8; 4], field: &'static str, v: u64) -> BoxResult<u32> {
    super::error::fit(fourcc, field, v)
}

/// Most entries a table whose entries take no bytes (a trun without per-sample fields, a senc
/// without IVs or subsamples) is read with: such a count is bounded by nothing in the box, so
/// it is bounded here. One fragment of 2^20 samples is over 4 hours of 60 fps video, far more
/// than any real run holds; the bound keeps a hostile count from costing more than ~50 MB.
pub const MAX_EMPTY_ENTRIES: u64 = 1 << 20;

/// Fails with [`BoxError::TableTooLarge`] when `count` exceeds [`MAX_EMPTY_ENTRIES`].
pub(crate) fn check_entry_limit(fourcc: [u8; 4], count: u64) -> BoxResult<usize> {
    if count > MAX_EMPTY_ENTRIES {
        return Err(BoxError::TableTooLarge {
            fourcc,
            count,
            entry_size: 0,
            left: 0,
        });
    }
    Ok(count as usize)
}

/// A 32-bit entry count for `n` entries.
pub(crate) fn count_u32(fourcc: [u8; 4], n: usize) -> BoxResult<u32> {
    super::error::fit_len(fourcc, "entry_count", n)
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Writes `v`, reads it back, asserts equality and returns the bytes.
    pub fn round_trip<T: Mp4Box + PartialEq + std::fmt::Debug>(v: &T) -> Vec<u8> {
        let bytes = v.to_bytes().unwrap();
        let size = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
        assert_eq!(size, bytes.len(), "size field");
        assert_eq!(&bytes[4..8], &T::FOURCC);
        let back = T::from_bytes(&bytes).unwrap();
        assert_eq!(&back, v);
        bytes
    }

    /// Reads `bytes` and writes them back: they must not change.
    pub fn same_bytes<T: Mp4Box + std::fmt::Debug>(bytes: &[u8]) -> T {
        let v = T::from_bytes(bytes).unwrap();
        assert_eq!(v.to_bytes().unwrap(), bytes, "{v:?}");
        v
    }
}
