//! CMAF fragments: moof (mfhd, traf: tfhd, tfdt, trun and, when encrypted, senc/saiz/saio or
//! the clear-lead seig sample group) followed by mdat (ISO/IEC 14496-12 §8.8, ISO/IEC 23001-7 §7).
use crate::cenc::boxes::{has_aux_info, saio_box, saiz_box, write_senc, SENC_FIRST_AUX_POS};
use crate::cenc::SampleAuxInfo;
use crate::error::{Error, Result};
use crate::media::time::gcd;
use crate::media::Sample;
use crate::mp4::boxes::{Ftyp, Mfhd, Sidx, SidxReference, Tfdt, Tfhd, Trun, TrunEntry};
use crate::mp4::{BoxError, BoxWriter, Mp4Box};

/// A box the fragment writer could not build (a count or size over its field).
fn write_error(e: BoxError) -> Error {
    Error::Key(format!("writing a fragment: {e}"))
}

/// How the samples of a fragment are protected.
#[derive(Debug, Clone)]
pub enum FragmentProtection<'a> {
    /// Samples encrypted, with their aux info (one per sample); `subsamples` when the track
    /// uses subsample maps (senc flag 0x2).
    Encrypted {
        /// One sample auxiliary information entry (IV and subsample map) per sample, written to senc.
        aux: &'a [SampleAuxInfo],
        /// True when the entries carry subsample maps (senc flag 0x2, NAL-structured video).
        subsamples: bool,
    },
    /// A clear-lead fragment of a protected track: samples stay clear and point at the second,
    /// unencrypted sample entry of the init segment (tfhd sample_description_index = 2), as
    /// Shaka Packager does; players and decrypters that ignore `seig` groups handle this.
    ClearLead,
}

/// sample_depends_on = 2 (an I-frame): a sync sample.
pub const SYNC_FLAGS: u32 = 0x0200_0000;
/// sample_depends_on = 1 and sample_is_non_sync_sample.
pub const NON_SYNC_FLAGS: u32 = 0x0101_0000;

/// Appends the head of one fragment to `out`: the moof and the mdat box header, for a payload of
/// `data_len` bytes (the samples' bytes back to back, already encrypted when `protection` is
/// `Encrypted`) that the caller writes right after it. `samples` carry the output composition
/// offsets. The payload is not copied here: the writer hands head and payload to one vectored
/// write, so sample bytes are copied once, by the kernel. Appending to a caller's buffer lets one
/// allocation serve a whole rendition.
pub fn write_fragment_head(
    out: &mut Vec<u8>,
    sequence: u32,
    track_id: u32,
    samples: &[Sample],
    data_len: usize,
    protection: Option<&FragmentProtection>,
) -> Result<()> {
    let base_dts = samples.first().map_or(0, |s| s.dts.0);
    let mut w = BoxWriter::from_vec(std::mem::take(out));
    w.buf.reserve(256 + samples.len() * 32);
    let moof_start = w.open(b"moof");
    Mfhd {
        sequence_number: sequence,
    }
    .write(&mut w)
    .map_err(write_error)?;
    w.open(b"traf");
    let clear_lead = matches!(protection, Some(FragmentProtection::ClearLead));
    // default-base-is-moof, plus sample-description-index for clear-lead fragments.
    Tfhd {
        flags: Tfhd::DEFAULT_BASE_IS_MOOF,
        track_id,
        sample_description_index: clear_lead.then_some(2),
        ..Tfhd::default()
    }
    .write(&mut w)
    .map_err(write_error)?;
    Tfdt {
        version: 1,
        base_media_decode_time: base_dts,
    }
    .write(&mut w)
    .map_err(write_error)?;

    let any_cto = samples.iter().any(|s| s.cts_offset.0 != 0);
    let negative = samples.iter().any(|s| s.cts_offset.is_negative());
    let mut tr_flags = Trun::DURATION | Trun::SIZE | Trun::FLAGS;
    if any_cto {
        tr_flags |= Trun::COMPOSITION_OFFSET;
    }
    let trun = Trun {
        version: if negative { 1 } else { 0 },
        flags: tr_flags,
        data_offset: Some(0),
        first_sample_flags: None,
        entries: samples
            .iter()
            .map(|s| TrunEntry {
                duration: s.duration.0,
                size: s.size,
                flags: if s.is_sync {
                    SYNC_FLAGS
                } else {
                    NON_SYNC_FLAGS
                },
                composition_offset: s.cts_offset.0,
            })
            .collect(),
    };
    let data_offset_at = trun
        .write_at(&mut w)
        .map_err(write_error)?
        .expect("the trun has a data offset");

    if let Some(FragmentProtection::Encrypted { aux, subsamples }) = protection {
        // senc, then saiz/saio pointing at its first entry (offsets relative to the moof).
        let senc_at = w.len();
        write_senc(&mut w, aux, *subsamples)?;
        if has_aux_info(aux, *subsamples) {
            saiz_box(aux, *subsamples)?
                .write(&mut w)
                .map_err(write_error)?;
            let at = u32::try_from(senc_at - moof_start + SENC_FIRST_AUX_POS)
                .map_err(|_| Error::Key("senc more than 4 GiB into its moof".into()))?;
            saio_box(at).write(&mut w).map_err(write_error)?;
        }
    }
    w.close(); // traf
    w.close(); // moof
    let moof_len = w.len() - moof_start;
    let large = data_len as u64 + 8 > u32::MAX as u64;
    let mdat_header = if large { 16 } else { 8 };
    let data_offset = u32::try_from(moof_len + mdat_header)
        .map_err(|_| Error::Key(format!("a moof of {moof_len} bytes")))?;
    w.patch_u32(data_offset_at, data_offset);
    if large {
        w.u32(1);
        w.bytes(b"mdat");
        w.u64(data_len as u64 + 16);
    } else {
        w.u32(data_len as u32 + 8);
        w.bytes(b"mdat");
    }
    *out = w.into_inner();
    Ok(())
}

/// A segment's `styp` (CMAF media segment brand).
pub fn styp() -> Vec<u8> {
    Ftyp::new(b"msdh", &[b"msdh", b"msix", b"cmfs"])
        .into_styp()
        .to_bytes()
        .expect("styp is fixed")
}

/// A value a `sidx` cannot hold (the caller names the file and track).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidxLimit(pub String);

impl std::fmt::Display for SidxLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SidxLimit {}

/// A `sidx` (ISO/IEC 14496-12 §8.16.3) indexing `refs` = (size, duration) subsegments, each
/// starting with a SAP. Always version 1 (64-bit earliest_presentation_time and first_offset).
/// The per-reference fields are fixed-size in both versions, so values that do not fit are an
/// error, never truncated: reference_count is 16 bits, referenced_size 31 bits and
/// subsegment_duration 32 bits. When a duration exceeds 32 bits at `timescale`, the sidx is
/// written at the coarsest exact timescale (`timescale / g`, `g` dividing every time), which is
/// lossless; only when that is not enough is it an error.
pub fn sidx(
    track_id: u32,
    timescale: u32,
    earliest_pts: u64,
    refs: &[(u64, u64)],
) -> std::result::Result<Vec<u8>, SidxLimit> {
    u16::try_from(refs.len()).map_err(|_| {
        SidxLimit(format!(
            "sidx: {} subsegments, reference_count holds at most 65535",
            refs.len()
        ))
    })?;
    if let Some(&(size, _)) = refs.iter().find(|r| r.0 > 0x7fff_ffff) {
        return Err(SidxLimit(format!(
            "sidx: a subsegment of {size} bytes exceeds the 31-bit referenced_size"
        )));
    }
    let (mut timescale, mut earliest, mut divisor) = (u64::from(timescale), earliest_pts, 1u64);
    if refs.iter().any(|r| r.1 > u64::from(u32::MAX)) {
        let g = refs
            .iter()
            .fold(gcd(timescale, earliest), |g, r| gcd(g, r.1))
            .max(1);
        timescale /= g;
        earliest /= g;
        divisor = g;
    }
    let mut durations = Vec::with_capacity(refs.len());
    for &(_, d) in refs {
        let d = d / divisor;
        durations.push(u32::try_from(d).map_err(|_| {
            SidxLimit(format!(
                "sidx: a subsegment duration of {d} ticks at timescale {timescale} exceeds 32 bits"
            ))
        })?);
    }
    // A divisor of a u32 timescale fits in a u32.
    let timescale = u32::try_from(timescale)
        .map_err(|_| SidxLimit(format!("sidx: timescale {timescale} exceeds 32 bits")))?;
    let references = refs
        .iter()
        .zip(durations)
        .map(|(&(size, _), subsegment_duration)| SidxReference {
            reference_type: false,
            referenced_size: size as u32, // checked above: fits in 31 bits
            subsegment_duration,
            starts_with_sap: true,
            sap_type: 1,
            sap_delta_time: 0,
        })
        .collect();
    Sidx {
        version: 1,
        reference_id: track_id,
        timescale,
        earliest_presentation_time: earliest,
        first_offset: 0,
        references,
    }
    .to_bytes()
    .map_err(|e| SidxLimit(format!("sidx: {e}")))
}

/// Size of a sidx with `n` references (known before the fragments are written).
pub fn sidx_len(n: usize) -> usize {
    Sidx::box_len(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::time::{CompositionOffset, DecodeTime, SampleDuration};
    use crate::mp4::BoxIter;

    #[test]
    fn trun_data_offset_points_at_mdat_payload() {
        let samples = [
            Sample {
                dts: DecodeTime(100),
                duration: SampleDuration(10),
                cts_offset: CompositionOffset(-5),
                is_sync: true,
                size: 3,
                offset: 0,
            },
            Sample {
                dts: DecodeTime(110),
                duration: SampleDuration(10),
                cts_offset: CompositionOffset(5),
                is_sync: false,
                size: 2,
                offset: 0,
            },
        ];
        use crate::cenc::Subsample;
        let aux = [
            SampleAuxInfo {
                iv: vec![1; 8],
                subsamples: vec![Subsample {
                    clear: 1,
                    protected: 2,
                }],
            },
            SampleAuxInfo {
                iv: vec![2; 8],
                subsamples: vec![Subsample {
                    clear: 2,
                    protected: 0,
                }],
            },
        ];
        let protection = FragmentProtection::Encrypted {
            aux: &aux,
            subsamples: true,
        };
        let mut bytes = Vec::new();
        write_fragment_head(&mut bytes, 7, 1, &samples, 5, Some(&protection)).unwrap();
        let payload_at = bytes.len();
        bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
        let moof = BoxIter::new(&bytes).next().unwrap().unwrap();
        let traf = moof.require(b"traf").unwrap();
        let (v, _, mut r) = traf.require(b"trun").unwrap().full().unwrap();
        assert_eq!(v, 1);
        r.u32().unwrap();
        assert_eq!(r.u32().unwrap() as usize, payload_at);
        let (_, _, mut r) = traf.require(b"saio").unwrap().full().unwrap();
        r.u32().unwrap();
        let at = r.u32().unwrap() as usize;
        assert_eq!(&bytes[at..at + 8], &[1; 8]);
        assert_eq!(
            sidx(1, 1000, 0, &[(1, 2), (3, 4)]).unwrap().len(),
            sidx_len(2)
        );
    }

    #[test]
    fn sidx_never_truncates() {
        // A duration over 32 bits is written at an exact coarser timescale.
        let big = 3 * (1u64 << 32);
        let b = sidx(
            1,
            1_000_000_000,
            2_000_000_000,
            &[(10, big), (20, 1_000_000_000)],
        )
        .unwrap();
        let v = BoxIter::new(&b).next().unwrap().unwrap();
        let (ver, _, mut r) = v.full().unwrap();
        assert_eq!(ver, 1);
        r.u32().unwrap();
        let ts = r.u32().unwrap();
        let earliest = r.u64().unwrap();
        assert_eq!(ts, 1_000_000_000 / 512);
        assert_eq!(earliest, 2_000_000_000 / 512);
        r.u64().unwrap();
        r.u16().unwrap();
        assert_eq!(r.u16().unwrap(), 2);
        r.u32().unwrap();
        assert_eq!(u64::from(r.u32().unwrap()) * 512, big);
        // Values that no exact rescaling can fit are errors, as are sizes and counts.
        assert!(sidx(1, 1, 0, &[(1, 1 << 40)]).is_err());
        assert!(sidx(1, 1000, 0, &[(1 << 31, 1)]).is_err());
        assert!(sidx(1, 1000, 0, &vec![(1, 1); 65536]).is_err());
        assert!(sidx(1, 1000, 0, &vec![(1, 1); 65535]).is_ok());
    }
}
