//! Track-level boxes: `tkhd` (ISO/IEC 14496-12 §8.3.2), `mdhd` (§8.4.2), `hdlr` (§8.4.3) and
//! `elst` (§8.6.6).
use super::movie::UNITY_MATRIX;
use super::{check_version, count_u32, open_with_header_times, read_header_times, v0_u32, Mp4Box};
use crate::mp4::{BoxResult, BoxWriter, RawBox};

/// Track header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tkhd {
    /// 0 (32-bit times) or 1 (64-bit times).
    pub version: u8,
    /// Flags: 1 enabled, 2 in movie, 4 in preview.
    pub flags: u32,
    /// Creation time, seconds since 1904.
    pub creation_time: u64,
    /// Modification time, seconds since 1904.
    pub modification_time: u64,
    /// The track ID.
    pub track_id: u32,
    /// Duration in the mvhd timescale.
    pub duration: u64,
    /// Front-to-back layer.
    pub layer: u16,
    /// Alternate group (tracks of one group are alternatives).
    pub alternate_group: u16,
    /// Volume, 8.8 fixed point (0x0100 for audio).
    pub volume: u16,
    /// Transformation matrix.
    pub matrix: [u32; 9],
    /// Visual width, 16.16 fixed point.
    pub width: u32,
    /// Visual height, 16.16 fixed point.
    pub height: u32,
}

impl Default for Tkhd {
    fn default() -> Self {
        Tkhd {
            version: 0,
            flags: 0x7,
            creation_time: 0,
            modification_time: 0,
            track_id: 1,
            duration: 0,
            layer: 0,
            alternate_group: 0,
            volume: 0,
            matrix: UNITY_MATRIX,
            width: 0,
            height: 0,
        }
    }
}

impl Mp4Box for Tkhd {
    const FOURCC: [u8; 4] = *b"tkhd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, flags, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let (creation_time, modification_time, track_id) = if version == 1 {
            (r.u64()?, r.u64()?, r.u32()?)
        } else {
            (r.u32()?.into(), r.u32()?.into(), r.u32()?)
        };
        r.skip(4)?;
        let duration = if version == 1 {
            r.u64()?
        } else {
            r.u32()?.into()
        };
        r.skip(8)?;
        let layer = r.u16()?;
        let alternate_group = r.u16()?;
        let volume = r.u16()?;
        r.skip(2)?;
        let mut matrix = [0u32; 9];
        for m in &mut matrix {
            *m = r.u32()?;
        }
        Ok(Tkhd {
            version,
            flags,
            creation_time,
            modification_time,
            track_id,
            duration,
            layer,
            alternate_group,
            volume,
            matrix,
            width: r.u32()?,
            height: r.u32()?,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        let f = Self::FOURCC;
        let v0 = if self.version == 0 {
            Some([
                v0_u32(f, "creation_time", self.creation_time)?,
                v0_u32(f, "modification_time", self.modification_time)?,
                v0_u32(f, "duration", self.duration)?,
            ])
        } else {
            None
        };
        w.open_full(&f, self.version, self.flags);
        match v0 {
            Some([c, m, d]) => {
                w.u32(c);
                w.u32(m);
                w.u32(self.track_id);
                w.u32(0);
                w.u32(d);
            }
            None => {
                w.u64(self.creation_time);
                w.u64(self.modification_time);
                w.u32(self.track_id);
                w.u32(0);
                w.u64(self.duration);
            }
        }
        w.zeros(8);
        w.u16(self.layer);
        w.u16(self.alternate_group);
        w.u16(self.volume);
        w.u16(0);
        for m in self.matrix {
            w.u32(m);
        }
        w.u32(self.width);
        w.u32(self.height);
        w.close();
        Ok(())
    }
}

/// Media header: the track's timescale and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mdhd {
    /// 0 (32-bit times) or 1 (64-bit times).
    pub version: u8,
    /// Creation time, seconds since 1904.
    pub creation_time: u64,
    /// Modification time, seconds since 1904.
    pub modification_time: u64,
    /// Ticks per second of the media timeline.
    pub timescale: u32,
    /// Media duration in `timescale` ticks.
    pub duration: u64,
    /// ISO 639-2/T language packed as three 5-bit letters (the pad bit is dropped).
    pub language: u16,
}

impl Mdhd {
    /// The language as text, "und" when the packed letters are not a-z.
    pub fn language_code(&self) -> String {
        let v = self.language;
        let c = |s: u16| (((v >> s) & 0x1f) as u8 + 0x60) as char;
        let s: String = [c(10), c(5), c(0)].iter().collect();
        if s.chars().all(|ch| ch.is_ascii_lowercase()) {
            s
        } else {
            "und".to_string()
        }
    }

    /// Packs an ISO 639-2/T code ("und" when not three lowercase letters).
    pub fn pack_language(lang: &str) -> u16 {
        let l = if lang.len() == 3 && lang.bytes().all(|b| b.is_ascii_lowercase()) {
            lang
        } else {
            "und"
        };
        l.bytes()
            .fold(0u16, |acc, b| (acc << 5) | u16::from(b - 0x60))
    }
}

impl Mp4Box for Mdhd {
    const FOURCC: [u8; 4] = *b"mdhd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let (creation_time, modification_time, timescale, duration) =
            read_header_times(&mut r, version)?;
        let language = r.u16()? & 0x7fff;
        Ok(Mdhd {
            version,
            creation_time,
            modification_time,
            timescale,
            duration,
            language,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        open_with_header_times(
            w,
            Self::FOURCC,
            self.version,
            0,
            (
                self.creation_time,
                self.modification_time,
                self.timescale,
                self.duration,
            ),
        )?;
        w.u16(self.language & 0x7fff);
        w.u16(0);
        w.close();
        Ok(())
    }
}

/// Handler reference: what kind of media the track holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hdlr {
    /// `vide`, `soun`, `text`, `subt`...
    pub handler_type: [u8; 4],
    /// The name field as stored (normally UTF-8 ending in a NUL).
    pub name: Vec<u8>,
}

impl Mp4Box for Hdlr {
    const FOURCC: [u8; 4] = *b"hdlr";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        r.skip(4)?;
        let handler_type = r.fourcc()?;
        r.skip(12)?;
        Ok(Hdlr {
            handler_type,
            name: r.take_rest().to_vec(),
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(0);
        w.bytes(&self.handler_type);
        w.zeros(12);
        w.bytes(&self.name);
        w.close();
        Ok(())
    }
}

/// One edit of an edit list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElstEntry {
    /// Duration in the mvhd timescale.
    pub segment_duration: u64,
    /// Start in media ticks; -1 for an empty edit.
    pub media_time: i64,
    /// Rate, 16.16 fixed point (integer and fraction fields together).
    pub media_rate: u32,
}

/// Edit list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elst {
    /// 0 (32-bit fields) or 1 (64-bit).
    pub version: u8,
    /// The edits in order.
    pub entries: Vec<ElstEntry>,
}

impl Mp4Box for Elst {
    const FOURCC: [u8; 4] = *b"elst";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let count = r.u32()?;
        let n = r.check_table(count.into(), if version == 1 { 20 } else { 12 })?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let (segment_duration, media_time) = if version == 1 {
                (r.u64()?, r.i64()?)
            } else {
                (r.u32()?.into(), r.i32()?.into())
            };
            entries.push(ElstEntry {
                segment_duration,
                media_time,
                media_rate: r.u32()?,
            });
        }
        Ok(Elst { version, entries })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        let f = Self::FOURCC;
        let count = count_u32(f, self.entries.len())?;
        if self.version == 0 {
            for e in &self.entries {
                v0_u32(f, "segment_duration", e.segment_duration)?;
                if i32::try_from(e.media_time).is_err() {
                    return Err(crate::mp4::BoxError::Overflow {
                        fourcc: f,
                        field: "media_time",
                        value: e.media_time.unsigned_abs().into(),
                    });
                }
            }
        }
        w.open_full(&f, self.version, 0);
        w.u32(count);
        for e in &self.entries {
            if self.version == 1 {
                w.u64(e.segment_duration);
                w.i64_be(e.media_time);
            } else {
                // Both checked above.
                w.u32(e.segment_duration as u32);
                w.i32(e.media_time as i32);
            }
            w.u32(e.media_rate);
        }
        w.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::*;

    #[test]
    fn tkhd_round_trip() {
        let mut t = Tkhd {
            track_id: 7,
            width: 640 << 16,
            height: 360 << 16,
            ..Tkhd::default()
        };
        assert_eq!(round_trip(&t).len(), 92);
        t.version = 1;
        t.duration = u64::MAX;
        assert_eq!(round_trip(&t).len(), 104);
        t.version = 0;
        assert!(t.to_bytes().is_err());
    }

    #[test]
    fn mdhd_round_trip_and_language() {
        let m = Mdhd {
            version: 0,
            creation_time: 0,
            modification_time: 0,
            timescale: 48000,
            duration: 0,
            language: Mdhd::pack_language("eng"),
        };
        round_trip(&m);
        assert_eq!(m.language_code(), "eng");
        assert_eq!(Mdhd::pack_language("EN"), Mdhd::pack_language("und"));
        round_trip(&Mdhd {
            version: 1,
            duration: 1 << 40,
            ..m
        });
    }

    #[test]
    fn hdlr_round_trip() {
        round_trip(&Hdlr {
            handler_type: *b"vide",
            name: b"VideoHandler\0".to_vec(),
        });
    }

    #[test]
    fn elst_round_trip_v0_v1() {
        let e = Elst {
            version: 0,
            entries: vec![
                ElstEntry {
                    segment_duration: 10,
                    media_time: -1,
                    media_rate: 0x0001_0000,
                },
                ElstEntry {
                    segment_duration: 1000,
                    media_time: 1024,
                    media_rate: 0x0001_0000,
                },
            ],
        };
        round_trip(&e);
        let mut e1 = e.clone();
        e1.version = 1;
        e1.entries[1].media_time = 1 << 40;
        round_trip(&e1);
        e1.version = 0;
        assert!(e1.to_bytes().is_err());
        // A count larger than the box is refused before allocating.
        let mut bytes = e.to_bytes().unwrap();
        bytes[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Elst::from_bytes(&bytes).is_err());
    }
}
