//! Movie-level boxes: `mvhd` (ISO/IEC 14496-12 §8.2.2), `mvex` (§8.8.1), `mehd` (§8.8.2) and
//! `trex` (§8.8.3).
use super::{check_version, open_with_header_times, read_header_times, v0_u32, Mp4Box};
use crate::mp4::{BoxResult, BoxWriter, RawBox};

/// The identity transformation matrix of mvhd and tkhd (§8.2.2.3).
pub const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Movie header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mvhd {
    /// 0 (32-bit times) or 1 (64-bit times).
    pub version: u8,
    /// Creation time, seconds since 1904.
    pub creation_time: u64,
    /// Modification time, seconds since 1904.
    pub modification_time: u64,
    /// Ticks per second of the movie timeline (edit list durations count in it).
    pub timescale: u32,
    /// Movie duration in `timescale` ticks.
    pub duration: u64,
    /// Preferred rate, 16.16 fixed point.
    pub rate: u32,
    /// Preferred volume, 8.8 fixed point.
    pub volume: u16,
    /// Transformation matrix.
    pub matrix: [u32; 9],
    /// The next track ID to use.
    pub next_track_id: u32,
}

impl Default for Mvhd {
    fn default() -> Self {
        Mvhd {
            version: 0,
            creation_time: 0,
            modification_time: 0,
            timescale: 1000,
            duration: 0,
            rate: 0x0001_0000,
            volume: 0x0100,
            matrix: UNITY_MATRIX,
            next_track_id: 1,
        }
    }
}

impl Mp4Box for Mvhd {
    const FOURCC: [u8; 4] = *b"mvhd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let (creation_time, modification_time, timescale, duration) =
            read_header_times(&mut r, version)?;
        let rate = r.u32()?;
        let volume = r.u16()?;
        r.skip(10)?;
        let mut matrix = [0u32; 9];
        for m in &mut matrix {
            *m = r.u32()?;
        }
        r.skip(24)?;
        let next_track_id = r.u32()?;
        Ok(Mvhd {
            version,
            creation_time,
            modification_time,
            timescale,
            duration,
            rate,
            volume,
            matrix,
            next_track_id,
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
        w.u32(self.rate);
        w.u16(self.volume);
        w.zeros(10);
        for m in self.matrix {
            w.u32(m);
        }
        w.zeros(24);
        w.u32(self.next_track_id);
        w.close();
        Ok(())
    }
}

/// Track extends defaults for the samples of movie fragments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trex {
    /// The track these defaults apply to.
    pub track_id: u32,
    /// Default sample description index (1-based).
    pub default_sample_description_index: u32,
    /// Default sample duration.
    pub default_sample_duration: u32,
    /// Default sample size.
    pub default_sample_size: u32,
    /// Default sample flags (§8.8.3.1).
    pub default_sample_flags: u32,
}

impl Mp4Box for Trex {
    const FOURCC: [u8; 4] = *b"trex";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (_, _, mut r) = b.full_box(&Self::FOURCC, 0)?;
        Ok(Trex {
            track_id: r.u32()?,
            default_sample_description_index: r.u32()?,
            default_sample_duration: r.u32()?,
            default_sample_size: r.u32()?,
            default_sample_flags: r.u32()?,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open_full(&Self::FOURCC, 0, 0);
        w.u32(self.track_id);
        w.u32(self.default_sample_description_index);
        w.u32(self.default_sample_duration);
        w.u32(self.default_sample_size);
        w.u32(self.default_sample_flags);
        w.close();
        Ok(())
    }
}

/// Movie extends header: the duration of the whole fragmented movie.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mehd {
    /// 0 (32-bit) or 1 (64-bit).
    pub version: u8,
    /// Duration in the mvhd timescale.
    pub fragment_duration: u64,
}

impl Mp4Box for Mehd {
    const FOURCC: [u8; 4] = *b"mehd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let fragment_duration = if version == 1 {
            r.u64()?
        } else {
            r.u32()?.into()
        };
        Ok(Mehd {
            version,
            fragment_duration,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        check_version(Self::FOURCC, self.version, 1)?;
        if self.version == 0 {
            let d = v0_u32(Self::FOURCC, "fragment_duration", self.fragment_duration)?;
            w.open_full(&Self::FOURCC, 0, 0);
            w.u32(d);
        } else {
            w.open_full(&Self::FOURCC, 1, 0);
            w.u64(self.fragment_duration);
        }
        w.close();
        Ok(())
    }
}

/// Movie extends: says the movie has fragments, with per-track defaults. Other children are
/// skipped on read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mvex {
    /// The optional movie extends header.
    pub mehd: Option<Mehd>,
    /// One trex per track.
    pub trex: Vec<Trex>,
}

impl Mp4Box for Mvex {
    const FOURCC: [u8; 4] = *b"mvex";

    fn read(b: &RawBox) -> BoxResult<Self> {
        b.expect(&Self::FOURCC)?;
        let mut m = Mvex::default();
        for c in b.children() {
            let c = c?;
            match &c.fourcc {
                b"mehd" if m.mehd.is_none() => m.mehd = Some(Mehd::read(&c)?),
                b"trex" => m.trex.push(Trex::read(&c)?),
                _ => {}
            }
        }
        Ok(m)
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        w.open(&Self::FOURCC);
        if let Some(m) = &self.mehd {
            m.write(w)?;
        }
        for t in &self.trex {
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

    #[test]
    fn mvhd_round_trip_v0_and_v1() {
        let mut m = Mvhd {
            timescale: 90000,
            duration: 12345,
            next_track_id: 3,
            ..Mvhd::default()
        };
        assert_eq!(round_trip(&m).len(), 108);
        m.version = 1;
        m.duration = 1 << 40;
        assert_eq!(round_trip(&m).len(), 120);
        m.version = 0;
        assert!(m.to_bytes().unwrap_err().to_string().contains("duration"));
        m.version = 2;
        assert!(m.to_bytes().is_err());
    }

    #[test]
    fn mvex_trex_mehd_round_trip() {
        let t = Trex {
            track_id: 1,
            default_sample_description_index: 1,
            default_sample_duration: 1024,
            default_sample_size: 7,
            default_sample_flags: 0x0101_0000,
        };
        round_trip(&t);
        round_trip(&Mehd {
            version: 1,
            fragment_duration: 1 << 33,
        });
        round_trip(&Mehd {
            version: 0,
            fragment_duration: 5,
        });
        round_trip(&Mvex {
            mehd: Some(Mehd {
                version: 0,
                fragment_duration: 9,
            }),
            trex: vec![t, Trex { track_id: 2, ..t }],
        });
    }
}
