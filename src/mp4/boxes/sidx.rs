//! `sidx`, the segment index (ISO/IEC 14496-12 §8.16.3), versions 0 (32-bit times) and 1
//! (64-bit). Fields that do not fit (more than 65535 references, a size over 31 bits, a SAP
//! delta over 28 bits, a version-0 time over 32 bits) are write errors, never truncated.
use super::{check_version, Mp4Box};
use crate::mp4::error::fit;
use crate::mp4::{BoxError, BoxResult, BoxWriter, RawBox};

/// One reference of a sidx: a subsegment (or another sidx).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SidxReference {
    /// True when the reference points at another sidx.
    pub reference_type: bool,
    /// Bytes referenced (31 bits).
    pub referenced_size: u32,
    /// Duration in the sidx timescale.
    pub subsegment_duration: u32,
    /// Whether the subsegment starts with a SAP.
    pub starts_with_sap: bool,
    /// SAP type (3 bits).
    pub sap_type: u8,
    /// SAP delta time (28 bits).
    pub sap_delta_time: u32,
}

/// Segment index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sidx {
    /// 0 (32-bit times) or 1 (64-bit).
    pub version: u8,
    /// The stream indexed (the track ID).
    pub reference_id: u32,
    /// Ticks per second of the times below.
    pub timescale: u32,
    /// Presentation time of the first subsegment.
    pub earliest_presentation_time: u64,
    /// Bytes from the end of this box to the first subsegment.
    pub first_offset: u64,
    /// The references.
    pub references: Vec<SidxReference>,
}

impl Sidx {
    /// The size of a sidx of `version` with `n` references.
    pub fn box_len(version: u8, n: usize) -> usize {
        12 + 8 + if version == 1 { 16 } else { 8 } + 4 + 12 * n
    }
}

impl Mp4Box for Sidx {
    const FOURCC: [u8; 4] = *b"sidx";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let reference_id = r.u32()?;
        let timescale = r.u32()?;
        let (earliest_presentation_time, first_offset) = if version == 1 {
            (r.u64()?, r.u64()?)
        } else {
            (r.u32()?.into(), r.u32()?.into())
        };
        r.u16()?;
        let count = r.u16()?;
        let n = r.check_table(count.into(), 12)?;
        let mut references = Vec::with_capacity(n);
        for _ in 0..n {
            let a = r.u32()?;
            let subsegment_duration = r.u32()?;
            let c = r.u32()?;
            references.push(SidxReference {
                reference_type: a >> 31 != 0,
                referenced_size: a & 0x7fff_ffff,
                subsegment_duration,
                starts_with_sap: c >> 31 != 0,
                sap_type: ((c >> 28) & 0x7) as u8,
                sap_delta_time: c & 0x0fff_ffff,
            });
        }
        Ok(Sidx {
            version,
            reference_id,
            timescale,
            earliest_presentation_time,
            first_offset,
            references,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        check_version(f, self.version, 1)?;
        let count: u16 = fit(f, "reference_count", self.references.len() as u64)?;
        for r in &self.references {
            let over = |field, value: u32| BoxError::Overflow {
                fourcc: f,
                field,
                value: value.into(),
            };
            if r.referenced_size > 0x7fff_ffff {
                return Err(over("referenced_size", r.referenced_size));
            }
            if r.sap_type > 7 {
                return Err(over("SAP_type", r.sap_type.into()));
            }
            if r.sap_delta_time > 0x0fff_ffff {
                return Err(over("SAP_delta_time", r.sap_delta_time));
            }
        }
        let v0 = if self.version == 0 {
            Some((
                super::v0_u32(
                    f,
                    "earliest_presentation_time",
                    self.earliest_presentation_time,
                )?,
                super::v0_u32(f, "first_offset", self.first_offset)?,
            ))
        } else {
            None
        };
        w.open_full(&f, self.version, 0);
        w.u32(self.reference_id);
        w.u32(self.timescale);
        match v0 {
            Some((e, o)) => {
                w.u32(e);
                w.u32(o);
            }
            None => {
                w.u64(self.earliest_presentation_time);
                w.u64(self.first_offset);
            }
        }
        w.u16(0);
        w.u16(count);
        for r in &self.references {
            w.u32(u32::from(r.reference_type) << 31 | r.referenced_size);
            w.u32(r.subsegment_duration);
            w.u32(
                u32::from(r.starts_with_sap) << 31 | u32::from(r.sap_type) << 28 | r.sap_delta_time,
            );
        }
        w.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::*;

    fn sidx(version: u8) -> Sidx {
        Sidx {
            version,
            reference_id: 1,
            timescale: 90000,
            earliest_presentation_time: 3000,
            first_offset: 0,
            references: vec![
                SidxReference {
                    referenced_size: 1234,
                    subsegment_duration: 180000,
                    starts_with_sap: true,
                    sap_type: 1,
                    ..SidxReference::default()
                },
                SidxReference {
                    reference_type: true,
                    referenced_size: 0x7fff_ffff,
                    subsegment_duration: u32::MAX,
                    starts_with_sap: false,
                    sap_type: 7,
                    sap_delta_time: 0x0fff_ffff,
                },
            ],
        }
    }

    #[test]
    fn sidx_round_trip_v0_and_v1() {
        for v in [0, 1] {
            let s = sidx(v);
            assert_eq!(round_trip(&s).len(), Sidx::box_len(v, 2));
        }
        let mut s = sidx(1);
        s.earliest_presentation_time = 1 << 40;
        round_trip(&s);
        s.version = 0;
        assert!(s.to_bytes().unwrap_err().to_string().contains("earliest"));
    }

    #[test]
    fn sidx_refuses_what_does_not_fit() {
        let mut s = sidx(1);
        s.references[0].referenced_size = 1 << 31;
        assert!(s.to_bytes().is_err());
        let mut s = sidx(1);
        s.references = vec![SidxReference::default(); 65536];
        assert!(s
            .to_bytes()
            .unwrap_err()
            .to_string()
            .contains("reference_count"));
        s.references.pop();
        round_trip(&s);
    }
}
