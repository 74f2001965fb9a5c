//! WebVTT in ISO BMFF (ISO/IEC 14496-30): the `wvtt` sample entry with its `vttC` configuration,
//! and media segments whose samples tile the segment: each sample lasts from one cue edge to the
//! next and holds a `vttc` box per active cue (`iden`, `sttg`, `payl`), or one `vtte` box when no
//! cue is active (§7.4). A cue that spans several samples is repeated in each; a reader merges
//! the pieces back into one cue.
use super::Cue;
use crate::mp4::BoxWriter;
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
/// `mdat`. Durations must fit 32 bits (the caller checks segment lengths).
pub fn media_segment(
    track_id: u32,
    sequence: u32,
    base_time: u64,
    samples: &[(u64, Vec<u8>)],
) -> Vec<u8> {
    let mut w = BoxWriter::from_vec(styp());
    w.open(b"moof");
    w.open_full(b"mfhd", 0, 0);
    w.u32(sequence);
    w.close();
    w.open(b"traf");
    w.open_full(b"tfhd", 0, 0x02_0000); // default-base-is-moof
    w.u32(track_id);
    w.close();
    w.open_full(b"tfdt", 1, 0);
    w.u64(base_time);
    w.close();
    // data-offset, sample-duration, sample-size present; every sample is a sync sample
    // (trex default flags 0).
    w.open_full(b"trun", 0, 0x000301);
    w.u32(samples.len() as u32);
    let offset_at = w.len();
    w.u32(0);
    for (d, bytes) in samples {
        w.u32(u32::try_from(*d).unwrap_or(u32::MAX));
        w.u32(bytes.len() as u32);
    }
    w.close(); // trun
    w.close(); // traf
    let moof_start = styp().len();
    w.close(); // moof
    let moof_len = w.len() - moof_start;
    let payload: usize = samples.iter().map(|(_, b)| b.len()).sum();
    w.patch_u32(offset_at, (moof_len + 8) as u32);
    w.open(b"mdat");
    w.buf.reserve(payload);
    for (_, b) in samples {
        w.bytes(b);
    }
    w.close();
    w.into_inner()
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
