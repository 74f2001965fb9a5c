//! WebVTT in ISO BMFF (ISO/IEC 14496-30): the `wvtt` sample entry with its `vttC` configuration,
//! and media segments whose samples tile the segment: each sample lasts from one cue edge to the
//! next and holds a `vttc` box per active cue (`iden`, `sttg`, `payl`), or one `vtte` box when no
//! cue is active (§7.4). A cue that spans several samples is repeated in each; a reader merges
//! the pieces back into one cue.
use super::Cue;
use crate::mp4::boxes::{Mfhd, Tfdt, Tfhd, Trun, TrunEntry};
use crate::mp4::error::fit;
use crate::mp4::{BoxResult, BoxWriter, Mp4Box};
use crate::segment::fragment::styp;

/// Timescale of wvtt tracks: milliseconds, the resolution of WebVTT timestamps.
pub const TIMESCALE: u32 = 1000;

/// The `wvtt` sample entry (§7.3): SampleEntry fields, `vttC` with the WebVTT header, and
/// `vlab` with a source label.
pub fn sample_entry(config: &str, label: &str) -> Vec<u8> {
    let mut w = BoxWriter::new();
    w.open(b"wvtt");
    w.zeros(6);
    w.u16(1); // data_reference_index
    w.open(b"vttC");
    w.bytes(config.as_bytes());
    w.close();
    if !label.is_empty() {
        w.open(b"vlab");
        w.bytes(label.as_bytes());
        w.close();
    }
    w.close();
    w.into_inner()
}

/// One sample's bytes: the cues active during it, or `vtte`.
pub fn sample(cues: &[&Cue]) -> Vec<u8> {
    let mut w = BoxWriter::new();
    if cues.is_empty() {
        w.open(b"vtte");
        w.close();
    }
    for c in cues {
        w.open(b"vttc");
        if let Some(id) = &c.id {
            w.open(b"iden");
            w.bytes(id.as_bytes());
            w.close();
        }
        if !c.settings.is_empty() {
            w.open(b"sttg");
            w.bytes(c.settings.as_bytes());
            w.close();
        }
        w.open(b"payl");
        w.bytes(c.payload.as_bytes());
        w.close();
        w.close();
    }
    w.into_inner()
}

/// The samples of the segment `[start, end)` as (duration ms, bytes): cut at every cue edge
/// inside the segment, each holding the cues active over its whole interval.
pub fn segment_samples(cues: &[&Cue], start: u64, end: u64) -> Vec<(u64, Vec<u8>)> {
    let mut edges: Vec<u64> = vec![start, end];
    for c in cues {
        for t in [c.start, c.end] {
            if t > start && t < end {
                edges.push(t);
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    edges
        .windows(2)
        .map(|w| {
            let active: Vec<&Cue> = cues
                .iter()
                .copied()
                .filter(|c| c.start <= w[0] && c.end >= w[1])
                .collect();
            (w[1] - w[0], sample(&active))
        })
        .collect()
}

/// A CMAF media segment: `styp`, then one `moof` (mfhd, traf with tfhd, tfdt v1, trun) and its
/// `mdat`, written with the box layer's fragment boxes. A duration or size that does not fit its
/// 32-bit field is an error, never a truncation.
pub fn media_segment(
    track_id: u32,
    sequence: u32,
    base_time: u64,
    samples: &[(u64, Vec<u8>)],
) -> BoxResult<Vec<u8>> {
    let mut w = BoxWriter::from_vec(styp());
    let moof_start = w.open(b"moof");
    Mfhd {
        sequence_number: sequence,
    }
    .write(&mut w)?;
    w.open(b"traf");
    Tfhd {
        flags: Tfhd::DEFAULT_BASE_IS_MOOF,
        track_id,
        ..Tfhd::default()
    }
    .write(&mut w)?;
    Tfdt {
        version: 1,
        base_media_decode_time: base_time,
    }
    .write(&mut w)?;
    // Durations and sizes per sample; every sample is a sync sample (trex default flags 0).
    let entries = samples
        .iter()
        .map(|(d, bytes)| {
            Ok(TrunEntry {
                duration: fit::<u32>(*b"trun", "sample_duration", *d)?,
                size: fit::<u32>(*b"trun", "sample_size", bytes.len() as u64)?,
                flags: 0,
                composition_offset: 0,
            })
        })
        .collect::<BoxResult<Vec<_>>>()?;
    let trun = Trun {
        version: 0,
        flags: Trun::DURATION | Trun::SIZE,
        data_offset: Some(0),
        first_sample_flags: None,
        entries,
    };
    let offset_at = trun.write_at(&mut w)?.expect("the trun has a data offset");
    w.close(); // traf
    w.close(); // moof
    let moof_len = w.len() - moof_start;
    w.patch_u32(
        offset_at,
        fit::<u32>(*b"trun", "data_offset", moof_len as u64 + 8)?,
    );
    let payload: usize = samples.iter().map(|(_, b)| b.len()).sum();
    w.open(b"mdat");
    w.buf.reserve(payload);
    for (_, b) in samples {
        w.bytes(b);
    }
    w.close();
    Ok(w.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start: u64, end: u64, text: &str) -> Cue {
        Cue {
            id: None,
            start,
            end,
            settings: String::new(),
            payload: text.into(),
        }
    }

    #[test]
    fn samples_tile_the_segment() {
        let a = cue(500, 1500, "a");
        let b = cue(1000, 3000, "b");
        let s = segment_samples(&[&a, &b], 0, 2000);
        let durations: Vec<u64> = s.iter().map(|x| x.0).collect();
        assert_eq!(durations, vec![500, 500, 500, 500]);
        assert_eq!(s[0].1, b"\0\0\0\x08vtte");
        assert_eq!(s.iter().map(|x| x.0).sum::<u64>(), 2000);
        let empty = segment_samples(&[], 2000, 4000);
        assert_eq!(empty.len(), 1);
    }
}
