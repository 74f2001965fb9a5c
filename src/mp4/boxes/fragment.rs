//! Movie fragment boxes (ISO/IEC 14496-12 §8.8): `moof` (§8.8.4), `mfhd` (§8.8.5), `traf`
//! (§8.8.6), `tfhd` (§8.8.7), `trun` (§8.8.8) and `tfdt` (§8.8.12).
use super::{check_version, count_u32, Mp4Box};
use crate::mp4::{BoxError, BoxResult, BoxWriter, RawBox};

/// Movie fragment header: the fragment's sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mfhd {
    /// Sequence number, increasing from fragment to fragment.
    pub sequence_number: u32,
}

impl Mp4Box for Mfhd {
    const FOURCC: [u8; 4] = *b"mfhd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        Ok(Mfhd {
            sequence_number: r.u32()?,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(self.sequence_number);
        w.close();
        Ok(())
    }
}

/// Track fragment header. The presence flags (0x1, 0x2, 0x8, 0x10, 0x20) follow the optional
/// fields; the others (duration-is-empty 0x010000, default-base-is-moof 0x020000) are in
/// `flags`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tfhd {
    /// The flags as read; on write the presence bits are recomputed from the fields.
    pub flags: u32,
    /// The track.
    pub track_id: u32,
    /// Explicit base of the data offsets.
    pub base_data_offset: Option<u64>,
    /// Sample entry of the fragment's samples, 1-based.
    pub sample_description_index: Option<u32>,
    /// Default sample duration.
    pub default_sample_duration: Option<u32>,
    /// Default sample size.
    pub default_sample_size: Option<u32>,
    /// Default sample flags.
    pub default_sample_flags: Option<u32>,
}

impl Tfhd {
    /// base-data-offset-present.
    pub const BASE_DATA_OFFSET: u32 = 0x1;
    /// sample-description-index-present.
    pub const SAMPLE_DESCRIPTION_INDEX: u32 = 0x2;
    /// default-sample-duration-present.
    pub const DEFAULT_DURATION: u32 = 0x8;
    /// default-sample-size-present.
    pub const DEFAULT_SIZE: u32 = 0x10;
    /// default-sample-flags-present.
    pub const DEFAULT_FLAGS: u32 = 0x20;
    /// duration-is-empty.
    pub const DURATION_IS_EMPTY: u32 = 0x01_0000;
    /// default-base-is-moof.
    pub const DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

    /// Whether default-base-is-moof is set.
    pub fn default_base_is_moof(&self) -> bool {
        self.flags & Self::DEFAULT_BASE_IS_MOOF != 0
    }

    fn written_flags(&self) -> u32 {
        let mut f = self.flags & !0x3b & 0x00ff_ffff;
        for (present, bit) in [
            (self.base_data_offset.is_some(), Self::BASE_DATA_OFFSET),
            (
                self.sample_description_index.is_some(),
                Self::SAMPLE_DESCRIPTION_INDEX,
            ),
            (
                self.default_sample_duration.is_some(),
                Self::DEFAULT_DURATION,
            ),
            (self.default_sample_size.is_some(), Self::DEFAULT_SIZE),
            (self.default_sample_flags.is_some(), Self::DEFAULT_FLAGS),
        ] {
            if present {
                f |= bit;
            }
        }
        f
    }
}

impl Mp4Box for Tfhd {
    const FOURCC: [u8; 4] = *b"tfhd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, flags, mut r) = b.full_box(&Self::FOURCC, 0)?;
        let track_id = r.u32()?;
        let base_data_offset = if flags & Self::BASE_DATA_OFFSET != 0 {
            Some(r.u64()?)
        } else {
            None
        };
        let mut opt = |bit: u32| -> BoxResult<Option<u32>> {
            if flags & bit != 0 {
                r.u32().map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(Tfhd {
            flags,
            track_id,
            base_data_offset,
            sample_description_index: opt(Self::SAMPLE_DESCRIPTION_INDEX)?,
            default_sample_duration: opt(Self::DEFAULT_DURATION)?,
            default_sample_size: opt(Self::DEFAULT_SIZE)?,
            default_sample_flags: opt(Self::DEFAULT_FLAGS)?,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open_full(&Self::FOURCC, 0, self.written_flags());
        w.u32(self.track_id);
        if let Some(o) = self.base_data_offset {
            w.u64(o);
        }
        for v in [
            self.sample_description_index,
            self.default_sample_duration,
            self.default_sample_size,
            self.default_sample_flags,
        ]
        .into_iter()
        .flatten()
        {
            w.u32(v);
        }
        w.close();
        Ok(())
    }
}

/// Track fragment decode time: the decode time of the fragment's first sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tfdt {
    /// 0 (32-bit) or 1 (64-bit).
    pub version: u8,
    /// The decode time in media ticks.
    pub base_media_decode_time: u64,
}

impl Mp4Box for Tfdt {
    const FOURCC: [u8; 4] = *b"tfdt";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let base_media_decode_time = if version == 1 {
            r.u64()?
        } else {
            r.u32()?.into()
        };
        Ok(Tfdt {
            version,
            base_media_decode_time,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        if self.version == 1 {
            w.open_full(&Self::FOURCC, 1, 0);
            w.u64(self.base_media_decode_time);
        } else {
            let t = super::v0_u32(
                Self::FOURCC,
                "base_media_decode_time",
                self.base_media_decode_time,
            )?;
            w.open_full(&Self::FOURCC, 0, 0);
            w.u32(t);
        }
        w.close();
        Ok(())
    }
}

/// One sample of a track run. Fields the run's flags do not carry read as 0 (the caller applies
/// the tfhd/trex defaults) and are not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrunEntry {
    /// Duration (flag 0x100).
    pub duration: u32,
    /// Size (flag 0x200).
    pub size: u32,
    /// Sample flags (flag 0x400).
    pub flags: u32,
    /// Composition offset (flag 0x800); version 0 offsets are read as signed too, as ffmpeg
    /// and players do.
    pub composition_offset: i32,
}

/// Track fragment run: a run of contiguous samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trun {
    /// 0 or 1 (signed composition offsets).
    pub version: u8,
    /// Which per-sample fields are present (0x100 duration, 0x200 size, 0x400 flags, 0x800
    /// composition offset); the 0x1 and 0x4 bits follow `data_offset` and
    /// `first_sample_flags` on write.
    pub flags: u32,
    /// Offset of the first sample's data from the base data offset.
    pub data_offset: Option<i32>,
    /// Flags of the first sample, overriding the defaults.
    pub first_sample_flags: Option<u32>,
    /// The samples.
    pub entries: Vec<TrunEntry>,
}

impl Trun {
    /// data-offset-present.
    pub const DATA_OFFSET: u32 = 0x1;
    /// first-sample-flags-present.
    pub const FIRST_SAMPLE_FLAGS: u32 = 0x4;
    /// sample-duration-present.
    pub const DURATION: u32 = 0x100;
    /// sample-size-present.
    pub const SIZE: u32 = 0x200;
    /// sample-flags-present.
    pub const FLAGS: u32 = 0x400;
    /// sample-composition-time-offsets-present.
    pub const COMPOSITION_OFFSET: u32 = 0x800;

    /// Bytes per sample for these flags.
    pub fn entry_size(flags: u32) -> usize {
        4 * [
            Self::DURATION,
            Self::SIZE,
            Self::FLAGS,
            Self::COMPOSITION_OFFSET,
        ]
        .iter()
        .filter(|&&b| flags & b != 0)
        .count()
    }

    /// Whether the per-sample `field` (one of the flag constants) is present.
    pub fn has(&self, field: u32) -> bool {
        self.flags & field != 0
    }

    fn written_flags(&self) -> u32 {
        let mut f = self.flags & !(Self::DATA_OFFSET | Self::FIRST_SAMPLE_FLAGS) & 0x00ff_ffff;
        if self.data_offset.is_some() {
            f |= Self::DATA_OFFSET;
        }
        if self.first_sample_flags.is_some() {
            f |= Self::FIRST_SAMPLE_FLAGS;
        }
        f
    }

    /// Writes the box and returns where its data_offset field is in `w` (to patch once the
    /// moof's size is known), if it has one.
    pub fn write_at(&self, w: &mut BoxWriter) -> BoxResult<Option<usize>> {
        check_version(Self::FOURCC, self.version, 1)?;
        let count = count_u32(Self::FOURCC, self.entries.len())?;
        let flags = self.written_flags();
        w.buf
            .reserve(24 + self.entries.len() * Self::entry_size(flags));
        w.open_full(&Self::FOURCC, self.version, flags);
        w.u32(count);
        let at = self.data_offset.map(|o| {
            let at = w.len();
            w.i32(o);
            at
        });
        if let Some(f) = self.first_sample_flags {
            w.u32(f);
        }
        for e in &self.entries {
            if flags & Self::DURATION != 0 {
                w.u32(e.duration);
            }
            if flags & Self::SIZE != 0 {
                w.u32(e.size);
            }
            if flags & Self::FLAGS != 0 {
                w.u32(e.flags);
            }
            if flags & Self::COMPOSITION_OFFSET != 0 {
                w.i32(e.composition_offset);
            }
        }
        w.close();
        Ok(at)
    }
}

impl Mp4Box for Trun {
    const FOURCC: [u8; 4] = *b"trun";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, flags, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let count = r.u32()?;
        let data_offset = if flags & Self::DATA_OFFSET != 0 {
            Some(r.i32()?)
        } else {
            None
        };
        let first_sample_flags = if flags & Self::FIRST_SAMPLE_FLAGS != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let per = Self::entry_size(flags);
        let n = if per == 0 {
            // No per-sample fields: the box does not bound the count, the sample limit does.
            super::check_entry_limit(Self::FOURCC, count.into())?
        } else {
            r.check_table(count.into(), per)?
        };
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let mut e = TrunEntry::default();
            if flags & Self::DURATION != 0 {
                e.duration = r.u32()?;
            }
            if flags & Self::SIZE != 0 {
                e.size = r.u32()?;
            }
            if flags & Self::FLAGS != 0 {
                e.flags = r.u32()?;
            }
            if flags & Self::COMPOSITION_OFFSET != 0 {
                e.composition_offset = r.i32()?;
            }
            entries.push(e);
        }
        Ok(Trun {
            version,
            flags,
            data_offset,
            first_sample_flags,
            entries,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        self.write_at(w).map(|_| ())
    }
}

/// Track fragment: the typed children vodpack uses; the others (senc, saiz, saio, sbgp, sgpd...)
/// are kept whole, in order, and written after the runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traf {
    /// The header.
    pub tfhd: Tfhd,
    /// The decode time, if present.
    pub tfdt: Option<Tfdt>,
    /// The runs, in order.
    pub truns: Vec<Trun>,
    /// Every other child, whole boxes.
    pub other: Vec<Vec<u8>>,
}

impl Mp4Box for Traf {
    const FOURCC: [u8; 4] = *b"traf";

    fn read(b: &RawBox) -> BoxResult<Self> {
        b.expect(&Self::FOURCC)?;
        let mut tfhd = None;
        let mut t = Traf::default();
        for c in b.children() {
            let c = c?;
            match &c.fourcc {
                b"tfhd" if tfhd.is_none() => tfhd = Some(Tfhd::read(&c)?),
                b"tfdt" if t.tfdt.is_none() => t.tfdt = Some(Tfdt::read(&c)?),
                b"trun" => t.truns.push(Trun::read(&c)?),
                _ => t.other.push(c.bytes.to_vec()),
            }
        }
        t.tfhd = tfhd.ok_or(BoxError::MissingChild {
            parent: Self::FOURCC,
            child: *b"tfhd",
        })?;
        Ok(t)
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open(&Self::FOURCC);
        self.tfhd.write(w)?;
        if let Some(t) = &self.tfdt {
            t.write(w)?;
        }
        for t in &self.truns {
            t.write(w)?;
        }
        for o in &self.other {
            w.bytes(o);
        }
        w.close();
        Ok(())
    }
}

/// Movie fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moof {
    /// The header.
    pub mfhd: Mfhd,
    /// The track fragments.
    pub trafs: Vec<Traf>,
}

impl Mp4Box for Moof {
    const FOURCC: [u8; 4] = *b"moof";

    fn read(b: &RawBox) -> BoxResult<Self> {
        b.expect(&Self::FOURCC)?;
        let mut mfhd = None;
        let mut trafs = Vec::new();
        for c in b.children() {
            let c = c?;
            match &c.fourcc {
                b"mfhd" if mfhd.is_none() => mfhd = Some(Mfhd::read(&c)?),
                b"traf" => trafs.push(Traf::read(&c)?),
                _ => {}
            }
        }
        let mfhd = mfhd.ok_or(BoxError::MissingChild {
            parent: Self::FOURCC,
            child: *b"mfhd",
        })?;
        Ok(Moof { mfhd, trafs })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open(&Self::FOURCC);
        self.mfhd.write(w)?;
        for t in &self.trafs {
            t.write(w)?;
        }
        w.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::*;

    fn trun() -> Trun {
        Trun {
            version: 1,
            flags: Trun::DATA_OFFSET
                | Trun::DURATION
                | Trun::SIZE
                | Trun::FLAGS
                | Trun::COMPOSITION_OFFSET,
            data_offset: Some(120),
            first_sample_flags: None,
            entries: vec![
                TrunEntry {
                    duration: 10,
                    size: 3,
                    flags: 0x0200_0000,
                    composition_offset: -5,
                },
                TrunEntry {
                    duration: 10,
                    size: 2,
                    flags: 0x0101_0000,
                    composition_offset: 5,
                },
            ],
        }
    }

    #[test]
    fn mfhd_tfhd_tfdt_round_trip() {
        round_trip(&Mfhd { sequence_number: 9 });
        let t = Tfhd {
            flags: Tfhd::DEFAULT_BASE_IS_MOOF | Tfhd::SAMPLE_DESCRIPTION_INDEX,
            track_id: 1,
            sample_description_index: Some(2),
            ..Tfhd::default()
        };
        assert_eq!(round_trip(&t).len(), 20);
        round_trip(&Tfhd {
            flags: 0x3b,
            track_id: 3,
            base_data_offset: Some(1 << 40),
            sample_description_index: Some(1),
            default_sample_duration: Some(1024),
            default_sample_size: Some(4),
            default_sample_flags: Some(0x0101_0000),
        });
        round_trip(&Tfdt {
            version: 1,
            base_media_decode_time: 1 << 40,
        });
        round_trip(&Tfdt {
            version: 0,
            base_media_decode_time: 7,
        });
        assert!(Tfdt {
            version: 0,
            base_media_decode_time: 1 << 40
        }
        .to_bytes()
        .is_err());
    }

    #[test]
    fn trun_round_trip_and_data_offset_position() {
        let t = trun();
        let bytes = round_trip(&t);
        assert_eq!(bytes.len(), 16 + 4 + 2 * 16);
        let mut w = BoxWriter::new();
        w.zeros(3);
        assert_eq!(t.write_at(&mut w).unwrap(), Some(3 + 16));
        let mut t2 = t.clone();
        t2.version = 0;
        t2.flags = Trun::SIZE | Trun::FIRST_SAMPLE_FLAGS;
        t2.first_sample_flags = Some(0x0200_0000);
        t2.data_offset = None;
        for e in &mut t2.entries {
            *e = TrunEntry {
                size: e.size,
                ..TrunEntry::default()
            };
        }
        round_trip(&t2);
        // A sample count the box cannot hold is refused.
        let mut bad = bytes.clone();
        bad[12..16].copy_from_slice(&1000u32.to_be_bytes());
        assert!(Trun::from_bytes(&bad).is_err());
    }

    #[test]
    fn moof_traf_round_trip() {
        let m = Moof {
            mfhd: Mfhd { sequence_number: 1 },
            trafs: vec![Traf {
                tfhd: Tfhd {
                    flags: Tfhd::DEFAULT_BASE_IS_MOOF,
                    track_id: 1,
                    ..Tfhd::default()
                },
                tfdt: Some(Tfdt {
                    version: 1,
                    base_media_decode_time: 0,
                }),
                truns: vec![trun()],
                other: vec![vec![0, 0, 0, 9, b'f', b'r', b'e', b'e', 1]],
            }],
        };
        round_trip(&m);
    }
}
