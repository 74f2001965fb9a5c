//! Movie fragments as `inspect` lists them (ISO/IEC 14496-12 §8.8: moof → mfhd, traf → tfhd,
//! tfdt, trun; ISO/IEC 23001-7 §7.2 senc) and pssh boxes (§8.1). Read on their own, so that a
//! standalone media segment (`.m4s`, no moov) can be inspected, with or without its init segment's
//! trex defaults. Tables are checked against the box size before any loop.
use super::entry::uuid;
use crate::mp4::boxes::{Mfhd, Mvex as MvexBox, Pssh, Senc, Tfdt, Tfhd, Trun};
use crate::mp4::{BoxError, BoxResult, Mp4Box, RawBox};
use serde::Serialize;
use std::collections::HashMap;

/// trex defaults of one track (§8.8.3) that inspect applies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trex {
    /// default_sample_duration.
    pub duration: u32,
    /// default_sample_size.
    pub size: u32,
    /// default_sample_flags.
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
    let p = Pssh::read(b)?;
    Ok(PsshReport {
        location: location.into(),
        system_id: uuid(&p.system_id),
        system: system_name(&p.system_id),
        version: p.version,
        kids: p.kids.iter().map(|k| uuid(k)).collect(),
        data_size: p.data.len(),
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
            b"mfhd" => f.sequence_number = Mfhd::read(&c)?.sequence_number,
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
    let tfhd = Tfhd::read(&b.require(b"tfhd")?)?;
    let track_id = tfhd.track_id;
    let defaults = trex.get(&track_id).copied();
    let d_duration = tfhd
        .default_sample_duration
        .or(defaults.map(|t| t.duration));
    let d_size = tfhd.default_sample_size.or(defaults.map(|t| t.size));
    let d_flags = tfhd.default_sample_flags.or(defaults.map(|t| t.flags));
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
            b"tfdt" => t.base_media_decode_time = Some(Tfdt::read(&c)?.base_media_decode_time),
            b"trun" => trun(&c, d_duration, d_size, d_flags, &mut t.sample_list, budget)?,
            b"senc" => match iv_sizes.get(&track_id) {
                Some(&iv) => {
                    let senc = Senc::read(&c, &|_| iv)?;
                    t.senc_samples = Some(senc.samples.len());
                    t.subsamples = Some(senc.samples.iter().map(|s| s.subsamples.len()).sum());
                }
                // Without the IV size only the count can be read.
                None => t.senc_samples = Some(c.full()?.2.u32()? as usize),
            },
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
    // A run without per-sample fields is bounded by nothing in its box: its count is checked
    // against the budget before it is read; other runs are bounded by their box first.
    let (_, flags, mut r) = b.full()?;
    let claimed = r.u32()? as usize;
    let run = if Trun::entry_size(flags) == 0 && claimed > *budget {
        None
    } else {
        Some(Trun::read(b)?)
    };
    let count = run.as_ref().map_or(claimed, |r| r.entries.len());
    if count > *budget {
        return Err(BoxError::invalid(format!(
            "trun: {count} more samples exceed the {MAX_FRAGMENT_SAMPLES} read from one file"
        )));
    }
    let Some(run) = run else {
        return Ok(());
    };
    *budget -= run.entries.len();
    out.reserve(run.entries.len());
    for (i, e) in run.entries.iter().enumerate() {
        let duration = if run.has(Trun::DURATION) {
            Some(e.duration)
        } else {
            d_duration
        };
        let size = if run.has(Trun::SIZE) {
            Some(e.size)
        } else {
            d_size
        };
        let sflags = if run.has(Trun::FLAGS) {
            Some(e.flags)
        } else if i == 0 && run.first_sample_flags.is_some() {
            run.first_sample_flags
        } else {
            d_flags
        };
        let cts_offset = if run.version == 0 {
            i64::from(e.composition_offset as u32)
        } else {
            i64::from(e.composition_offset)
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
        for t in MvexBox::read(&mvex)?.trex {
            out.insert(
                t.track_id,
                Trex {
                    duration: t.default_sample_duration,
                    size: t.default_sample_size,
                    flags: t.default_sample_flags,
                },
            );
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
        assert!(e.unwrap_err().to_string().contains("do not fit"));
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
        assert!(e.unwrap_err().to_string().contains("exceed"));
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
