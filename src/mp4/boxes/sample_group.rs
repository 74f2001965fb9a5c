//! Sample groups: `sbgp` (sample to group, ISO/IEC 14496-12 §8.9.2) and `sgpd` (sample group
//! description, §8.9.3). Group entries are kept as opaque bytes: what they mean depends on the
//! grouping type (`seig` is read by `media::protection`, ISO/IEC 23001-7 §6).
use super::{check_version, count_u32, Mp4Box};
use crate::mp4::{BoxError, BoxResult, BoxWriter, RawBox};

/// One run of samples in the same group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbgpEntry {
    /// Consecutive samples in the group.
    pub sample_count: u32,
    /// 1-based index into the sgpd entries (0x10001 and up: the fragment's own sgpd); 0 for
    /// no group.
    pub group_description_index: u32,
}

/// Sample to group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbgp {
    /// 0, or 1 with the grouping type parameter.
    pub version: u8,
    /// `seig`, `roll`...
    pub grouping_type: [u8; 4],
    /// The parameter (version 1).
    pub grouping_type_parameter: Option<u32>,
    /// The runs.
    pub entries: Vec<SbgpEntry>,
}

impl Mp4Box for Sbgp {
    const FOURCC: [u8; 4] = *b"sbgp";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 1)?;
        let grouping_type = r.fourcc()?;
        let grouping_type_parameter = if version == 1 { Some(r.u32()?) } else { None };
        let count = r.u32()?;
        let n = r.check_table(count.into(), 8)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            entries.push(SbgpEntry {
                sample_count: r.u32()?,
                group_description_index: r.u32()?,
            });
        }
        Ok(Sbgp {
            version,
            grouping_type,
            grouping_type_parameter,
            entries,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        check_version(f, self.version, 1)?;
        if (self.version == 1) != self.grouping_type_parameter.is_some() {
            return Err(BoxError::bad_value(
                f,
                "grouping_type_parameter goes with version 1, and only with it",
            ));
        }
        let count = count_u32(f, self.entries.len())?;
        w.open_full(&f, self.version, 0);
        w.bytes(&self.grouping_type);
        if let Some(p) = self.grouping_type_parameter {
            w.u32(p);
        }
        w.u32(count);
        for e in &self.entries {
            w.u32(e.sample_count);
            w.u32(e.group_description_index);
        }
        w.close();
        Ok(())
    }
}

/// The entries of an sgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SgpdEntries {
    /// Version 1: each entry's bytes (all `default_length` long, or each with its own length
    /// when that is 0).
    Sized {
        /// The length of every entry, or 0 when each carries its own.
        default_length: u32,
        /// The entries.
        entries: Vec<Vec<u8>>,
    },
    /// Versions 0 and 2: entries have no length field, only their grouping type's syntax sizes
    /// them, so they are kept together.
    Unsized {
        /// The number of entries.
        entry_count: u32,
        /// All their bytes.
        bytes: Vec<u8>,
    },
}

/// Sample group description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sgpd {
    /// 0, 1 or 2.
    pub version: u8,
    /// `seig`, `roll`...
    pub grouping_type: [u8; 4],
    /// default_sample_description_index (version 2 and up).
    pub default_sample_description_index: Option<u32>,
    /// The entries.
    pub entries: SgpdEntries,
}

impl Mp4Box for Sgpd {
    const FOURCC: [u8; 4] = *b"sgpd";

    fn read(b: &RawBox) -> BoxResult<Self> {
        let (version, _, mut r) = b.full_box(&Self::FOURCC, 2)?;
        let grouping_type = r.fourcc()?;
        let default_length = if version == 1 { r.u32()? } else { 0 };
        let default_sample_description_index = if version >= 2 { Some(r.u32()?) } else { None };
        let count = r.u32()?;
        let entries = if version == 1 {
            let min = if default_length == 0 {
                4
            } else {
                default_length as usize
            };
            let n = r.check_table(count.into(), min)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let len = if default_length == 0 {
                    r.u32()?
                } else {
                    default_length
                };
                entries.push(r.bytes(len as usize)?.to_vec());
            }
            SgpdEntries::Sized {
                default_length,
                entries,
            }
        } else {
            SgpdEntries::Unsized {
                entry_count: count,
                bytes: r.take_rest().to_vec(),
            }
        };
        Ok(Sgpd {
            version,
            grouping_type,
            default_sample_description_index,
            entries,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        let f = Self::FOURCC;
        check_version(f, self.version, 2)?;
        if (self.version >= 2) != self.default_sample_description_index.is_some() {
            return Err(BoxError::bad_value(
                f,
                "default_sample_description_index goes with version 2",
            ));
        }
        let (default_length, count) = match (&self.entries, self.version) {
            (
                SgpdEntries::Sized {
                    default_length,
                    entries,
                },
                1,
            ) => {
                if *default_length != 0
                    && entries
                        .iter()
                        .any(|e| e.len() as u64 != u64::from(*default_length))
                {
                    return Err(BoxError::bad_value(
                        f,
                        "an entry differs from default_length",
                    ));
                }
                for e in entries {
                    count_u32(f, e.len())?;
                }
                (*default_length, count_u32(f, entries.len())?)
            }
            (SgpdEntries::Unsized { entry_count, .. }, 0 | 2) => (0, *entry_count),
            _ => {
                return Err(BoxError::bad_value(
                    f,
                    "version 1 entries carry lengths, versions 0 and 2 do not",
                ))
            }
        };
        w.open_full(&f, self.version, 0);
        w.bytes(&self.grouping_type);
        if self.version == 1 {
            w.u32(default_length);
        }
        if let Some(i) = self.default_sample_description_index {
            w.u32(i);
        }
        w.u32(count);
        match &self.entries {
            SgpdEntries::Sized { entries, .. } => {
                for e in entries {
                    if default_length == 0 {
                        w.u32(e.len() as u32); // checked above
                    }
                    w.bytes(e);
                }
            }
            SgpdEntries::Unsized { bytes, .. } => w.bytes(bytes),
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
    fn sbgp_round_trip() {
        let e = vec![
            SbgpEntry {
                sample_count: 3,
                group_description_index: 0x10001,
            },
            SbgpEntry {
                sample_count: 2,
                group_description_index: 0,
            },
        ];
        round_trip(&Sbgp {
            version: 0,
            grouping_type: *b"seig",
            grouping_type_parameter: None,
            entries: e.clone(),
        });
        round_trip(&Sbgp {
            version: 1,
            grouping_type: *b"seig",
            grouping_type_parameter: Some(4),
            entries: e,
        });
    }

    #[test]
    fn sgpd_round_trip_all_versions() {
        round_trip(&Sgpd {
            version: 1,
            grouping_type: *b"seig",
            default_sample_description_index: None,
            entries: SgpdEntries::Sized {
                default_length: 20,
                entries: vec![vec![1; 20], vec![2; 20]],
            },
        });
        round_trip(&Sgpd {
            version: 1,
            grouping_type: *b"roll",
            default_sample_description_index: None,
            entries: SgpdEntries::Sized {
                default_length: 0,
                entries: vec![vec![1, 2], vec![]],
            },
        });
        for (version, index) in [(0, None), (2, Some(1))] {
            round_trip(&Sgpd {
                version,
                grouping_type: *b"seig",
                default_sample_description_index: index,
                entries: SgpdEntries::Unsized {
                    entry_count: 1,
                    bytes: vec![0; 20],
                },
            });
        }
    }
}
