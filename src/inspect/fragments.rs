//! Movie fragments as `inspect` lists them (ISO/IEC 14496-12 §8.8: moof → mfhd, traf → tfhd,
//! tfdt, trun; ISO/IEC 23001-7 §7.2 senc) and pssh boxes (§8.1). Read on their own, so that a
//! standalone media segment (`.m4s`, no moov) can be inspected, with or without its init segment's
//! trex defaults. Tables are checked against the box size before any loop.
use super::entry::uuid;
use crate::mp4::reader::BoxResult;
use crate::mp4::{BoxError, RawBox};
use serde::Serialize;
use std::collections::HashMap;

/// trex defaults of one track (§8.8.3).
#[derive(Debug, Clone, Copy, Default)]
pub struct Trex {
    pub duration: u32,
    pub size: u32,
    pub flags: u32,
}

/// One sample as a fragment describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragSample {
    /// None when neither trun, tfhd nor trex gives it.
    pub duration: Option<u32>,
    pub size: Option<u32>,
    pub sync: bool,
    pub cts_offset: i64,
}

/// One track fragment.
#[derive(Debug, Clone, Serialize)]
pub struct TrafReport {
    /// tfhd track_ID.
    pub track_id: u32,
    /// tfdt baseMediaDecodeTime, in the track's timescale.
    pub base_media_decode_time: Option<u64>,
    /// Samples in the trun boxes.
    pub samples: usize,
    /// Sum of sample durations (timescale ticks), when known for every sample.
    pub duration: Option<u64>,
    /// Sum of sample sizes, when known for every sample.
    pub bytes: Option<u64>,
    /// Whether the first sample is a sync sample.
    pub starts_with_sync_sample: bool,
    /// Sync samples.
    pub sync_samples: usize,
    /// senc: samples with auxiliary information, and the subsample entries over all of them.
    pub senc_samples: Option<usize>,
    /// Subsample entries over all senc samples.
    pub subsamples: Option<usize>,
    /// The samples (for statistics; not serialised).
    #[serde(skip)]
    pub sample_list: Vec<FragSample>,
}

/// One movie fragment.
#[derive(Debug, Clone, Serialize)]
pub struct FragmentReport {
    /// Byte offset of the moof in the file.
    pub offset: u64,
    /// mfhd sequence_number.
    pub sequence_number: u32,
    /// Its track fragments.
    pub trafs: Vec<TrafReport>,
}

/// A pssh box (ISO/IEC 23001-7 §8.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PsshReport {
    /// Where it was found: `moov` or `moof@OFFSET`.
    pub location: String,
    /// SystemID as a UUID.
    pub system_id: String,
    /// The DRM system's common name, when known.
    pub system: String,
    /// The box version (1 lists KIDs).
    pub version: u8,
    /// The KIDs (version 1), as UUIDs.
    pub kids: Vec<String>,
    /// Bytes of the system-specific data.
    pub data_size: usize,
}

/// Names of well-known DRM SystemIDs (DASH-IF identifier registry).
fn system_name(id: &[u8]) -> String {
    use crate::cenc::DrmSystem;
    for (sys, name) in [
        (DrmSystem::ClearKey, "common (W3C Clear Key)"),
        (DrmSystem::Widevine, "Widevine"),
        (DrmSystem::PlayReady, "PlayReady"),
        (DrmSystem::FairPlay, "FairPlay"),
    ] {
        if sys.system_id() == id {
            return name.into();
        }
    }
    match uuid(id).as_str() {
        "e2719d58-a985-b3c9-781a-b030af78d30e" => "Clear Key (DASH-IF)".into(),
        "5e629af5-38da-4063-8977-97ffbd9902d4" => "Marlin".into(),
        "f239e769-efa3-4850-9c16-a903c6932efb" => "Adobe Primetime".into(),
        _ => "unknown".into(),
    }
}

/// Parses a pssh box.
pub fn pssh(b: &RawBox, location: &str) -> BoxResult<PsshReport> {
    let (version, _, mut r) = b.full()?;
    let system_id = r.bytes(16)?;
    let mut kids = Vec::new();
    if version > 0 {
        let n = r.u32()?;
        let n = r.check_table(u64::from(n), 16)?;
        for _ in 0..n {
            kids.push(uuid(r.bytes(16)?));
        }
    }
    let data_size = r.u32()? as usize;
    r.skip(data_size)?;
    Ok(PsshReport {
        location: location.into(),
        system_id: uuid(system_id),
        system: system_name(system_id),
        version,
        kids,
        data_size,
    })
}

/// sample_is_non_sync_sample (§8.8.3.1).
const NON_SYNC: u32 = 0x0001_0000;

/// Most samples read from the fragments of one file (18 h of 60 fps video, or 10 h of video and
/// audio): bounds memory (≈ 100 MiB) on a hostile segment whose truns claim samples without
/// per-sample fields.
pub const MAX_FRAGMENT_SAMPLES: usize = 4_000_000;

/// Parses one moof. `trex` holds the init segment's defaults (empty when there is none);
/// `iv_sizes` the per-sample IV size of each protected track (from tenc), for senc subsamples;
/// `budget` the samples still allowed (see [`MAX_FRAGMENT_SAMPLES`]).
pub fn moof(
    b: &RawBox,
    offset: u64,
    trex: &HashMap<u32, Trex>,
    iv_sizes: &HashMap<u32, u8>,
    pssh_out: &mut Vec<PsshReport>,
    budget: &mut usize,
) -> BoxResult<FragmentReport> {
    let mut f = FragmentReport {
        offset,
        sequence_number: 0,
        trafs: Vec::new(),
    };
    for c in b.children() {
        let c = c?;
        match &c.fourcc {
            b"mfhd" => f.sequence_number = c.full()?.2.u32()?,
            b"traf" => f.trafs.push(traf(&c, trex, iv_sizes, budget)?),
            b"pssh" => pssh_out.push(pssh(&c, &format!("moof@{offset}"))?),
            _ => {}
        }
    }
    Ok(f)
}

fn traf(
    b: &RawBox,
    trex: &HashMap<u32, Trex>,
    iv_sizes: &HashMap<u32, u8>,
    budget: &mut usize,
) -> BoxResult<TrafReport> {
    let tfhd = b.require(b"tfhd")?;
    let (_, flags, mut r) = tfhd.full()?;
    let track_id = r.u32()?;
    let defaults = trex.get(&track_id).copied();
    if flags & 0x01 != 0 {
        r.skip(8)?; // base_data_offset
    }
    if flags & 0x02 != 0 {
        r.skip(4)?; // sample_description_index
    }
    let d_duration = if flags & 0x08 != 0 {
        Some(r.u32()?)
    } else {
        defaults.map(|t| t.duration)
    };
    let d_size = if flags & 0x10 != 0 {
        Some(r.u32()?)
    } else {
        defaults.map(|t| t.size)
    };
    let d_flags = if flags & 0x20 != 0 {
        Some(r.u32()?)
    } else {
        defaults.map(|t| t.flags)
    };
    let mut t = TrafReport {
        track_id,
        base_media_decode_time: None,
        samples: 0,
        duration: None,
        bytes: None,
        starts_with_sync_sample: false,
        sync_samples: 0,
        senc_samples: None,
        subsamples: None,
        sample_list: Vec::new(),
    };
    for c in b.children() {
        let c = c?;
        match &c.fourcc {
            b"tfdt" => {
                let (v, _, mut r) = c.full()?;
                t.base_media_decode_time = Some(if v == 1 {
                    r.u64()?
                } else {
                    u64::from(r.u32()?)
                });
            }
            b"trun" => trun(&c, d_duration, d_size, d_flags, &mut t.sample_list, budget)?,
            b"senc" => {
                let (_, sflags, mut r) = c.full()?;
                let n = r.u32()?;
                t.senc_samples = Some(n as usize);
                if let Some(&iv) = iv_sizes.get(&track_id) {
                    let mut subs = 0usize;
                    for _ in 0..n {
                        r.skip(usize::from(iv))?;
                        if sflags & 0x02 != 0 {
                            let k = r.u16()?;
                            r.skip(usize::from(k) * 6)?;
                            subs += usize::from(k);
                        }
                    }
                    t.subsamples = Some(subs);
                }
            }
            _ => {}
        }
    }
    t.samples = t.sample_list.len();
    t.sync_samples = t.sample_list.iter().filter(|s| s.sync).count();
    t.starts_with_sync_sample = t.sample_list.first().is_some_and(|s| s.sync);
    t.duration = t
        .sample_list
        .iter()
        .map(|s| s.duration.map(u64::from))
        .sum::<Option<u64>>();
    t.bytes = t
        .sample_list
        .iter()
        .map(|s| s.size.map(u64::from))
        .sum::<Option<u64>>();
    Ok(t)
}

/// §8.8.8 TrackRunBox.
fn trun(
    b: &RawBox,
    d_duration: Option<u32>,
    d_size: Option<u32>,
    d_flags: Option<u32>,
    out: &mut Vec<FragSample>,
    budget: &mut usize,
) -> BoxResult<()> {
    let (version, flags, mut r) = b.full()?;
    let count = r.u32()?;
    if flags & 0x01 != 0 {
        r.skip(4)?; // data_offset
    }
    let first_flags = if flags & 0x04 != 0 {
        Some(r.u32()?)
    } else {
        None
    };
    let entry = 4 * [0x100, 0x200, 0x400, 0x800]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count();
    let count = if entry == 0 {
        // Nothing per sample: only the budget bounds the count.
        count as usize
    } else {
        r.check_table(u64::from(count), entry)?
    };
    if count > *budget {
        return Err(BoxError(format!(
            "trun: {count} more samples exceed the {MAX_FRAGMENT_SAMPLES} read from one file"
        )));
    }
    *budget -= count;
    out.reserve(count.min(1 << 16));
    for i in 0..count {
        let duration = if flags & 0x100 != 0 {
            Some(r.u32()?)
        } else {
            d_duration
        };
        let size = if flags & 0x200 != 0 {
            Some(r.u32()?)
        } else {
            d_size
        };
        let sflags = if flags & 0x400 != 0 {
            Some(r.u32()?)
        } else if i == 0 && first_flags.is_some() {
            first_flags
        } else {
            d_flags
        };
        let cts_offset = if flags & 0x800 != 0 {
            let v = r.u32()?;
            if version == 0 {
                i64::from(v)
            } else {
                i64::from(v as i32)
            }
        } else {
            0
        };
        out.push(FragSample {
            duration,
            size,
            // Unknown flags: a fragment's first sample is taken as sync only when said so.
            sync: sflags.is_some_and(|f| f & NON_SYNC == 0),
            cts_offset,
        });
    }
    Ok(())
}

/// trex boxes of a moov's mvex.
pub fn trex_of(moov: &RawBox) -> BoxResult<HashMap<u32, Trex>> {
    let mut out = HashMap::new();
    if let Some(mvex) = moov.child(b"mvex")? {
        for c in mvex.children() {
            let c = c?;
            if &c.fourcc == b"trex" {
                let (_, _, mut r) = c.full()?;
                let id = r.u32()?;
                r.skip(4)?;
                out.insert(
                    id,
                    Trex {
                        duration: r.u32()?,
                        size: r.u32()?,
                        flags: r.u32()?,
                    },
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::BoxIter;

    fn boxed(fourcc: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(fourcc);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn a_lying_trun_count_is_an_error_not_an_allocation() {
        // trun v0 with sample_size present and 2^32-1 samples in 8 bytes.
        let mut body = vec![0, 0, 0x02, 0x00];
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        body.extend_from_slice(&[0; 8]);
        let tfhd = boxed(b"tfhd", &[0, 0, 0, 0, 0, 0, 0, 1]);
        let mut traf_body = tfhd;
        traf_body.extend(boxed(b"trun", &body));
        let moof_bytes = boxed(b"moof", &boxed(b"traf", &traf_body));
        let m = BoxIter::new(&moof_bytes).next().unwrap().unwrap();
        let mut budget = MAX_FRAGMENT_SAMPLES;
        let e = moof(
            &m,
            0,
            &HashMap::new(),
            &HashMap::new(),
            &mut Vec::new(),
            &mut budget,
        );
        assert!(e.unwrap_err().0.contains("do not fit"));
        // Without per-sample fields, the count is bounded by the budget.
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut traf_body = boxed(b"tfhd", &[0, 0, 0, 0, 0, 0, 0, 1]);
        traf_body.extend(boxed(b"trun", &body));
        let moof_bytes = boxed(b"moof", &boxed(b"traf", &traf_body));
        let m = BoxIter::new(&moof_bytes).next().unwrap().unwrap();
        let e = moof(
            &m,
            0,
            &HashMap::new(),
            &HashMap::new(),
            &mut Vec::new(),
            &mut budget,
        );
        assert!(e.unwrap_err().0.contains("exceed"));
    }

    #[test]
    fn pssh_v1_lists_kids_and_names_the_system() {
        let kid = [0x11u8; 16];
        let b = crate::cenc::pssh::common_pssh(&[kid]);
        let p = BoxIter::new(&b).next().unwrap().unwrap();
        let r = pssh(&p, "moov").unwrap();
        assert_eq!(r.system, "common (W3C Clear Key)");
        assert_eq!(r.system_id, "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b");
        assert_eq!(r.kids, vec!["11111111-1111-1111-1111-111111111111"]);
        assert_eq!((r.version, r.data_size), (1, 0));
    }
}
