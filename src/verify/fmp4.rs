//! Reads what `vodpack verify` checks in the media files: the CMAF header (track, timescale,
//! sample entries, edit list, trex defaults) and media segments (moof/traf/tfhd/tfdt/trun with
//! senc, saiz/saio and seig groups, the mdat that holds the samples), ISO/IEC 14496-12 §8.8 and
//! ISO/IEC 23001-7 §7. Everything is bounded by its box; errors ([`FormatError`]) name the box.
use crate::cenc::SampleAuxInfo;
use crate::media::protection::{
    self, parse_saio, parse_saiz, parse_senc, sbgp_seig, seig_per_sample, sgpd_seig,
    EntryProtection, Tenc,
};
use crate::media::TrackKind;
use crate::mp4::boxes::{Elst, Hdlr, Mdhd, Mfhd, Mvex, Sidx as SidxBox, Tfdt, Tfhd, Tkhd, Trun};
use crate::mp4::{BoxError, BoxIter, Mp4Box, RawBox};

/// The CMAF header of a rendition.
#[derive(Debug, Clone)]
pub struct Init {
    /// tkhd track_ID of the header's single track.
    pub track_id: u32,
    /// mdhd timescale (ticks per second) of that track; never 0.
    pub timescale: u32,
    /// Track kind from the hdlr handler type.
    pub kind: TrackKind,
    /// stsd entries, whole boxes.
    pub entries: Vec<Vec<u8>>,
    /// The protection of each entry (None = clear).
    pub entry_protection: Vec<Option<EntryProtection>>,
    /// elst media_time of the first non-empty edit.
    pub edit_media_time: Option<i64>,
    /// trex default_sample_description_index, used when tfhd has none.
    pub trex_sample_description_index: u32,
    /// trex default_sample_duration in timescale ticks, used when neither tfhd nor trun gives one.
    pub trex_duration: u32,
    /// trex default_sample_size in bytes, used when neither tfhd nor trun gives one.
    pub trex_size: u32,
    /// trex default_sample_flags (§8.8.3.1 layout), used when neither tfhd nor trun gives them.
    pub trex_flags: u32,
    /// seig groups of the stbl (sample groups indexed from 1).
    pub track_groups: Vec<Tenc>,
    /// Bytes of the header (ftyp + moov) as found.
    pub len: usize,
}

/// Why a CMAF header, media segment or index could not be read.
#[derive(Debug)]
pub enum FormatError {
    /// A box could not be read.
    Box(BoxError),
    /// The boxes read, but are not what a CMAF file holds.
    Invalid(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Box(e) => e.fmt(f),
            FormatError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormatError::Box(e) => Some(e),
            FormatError::Invalid(_) => None,
        }
    }
}

impl From<BoxError> for FormatError {
    fn from(e: BoxError) -> Self {
        FormatError::Box(e)
    }
}

impl From<String> for FormatError {
    fn from(m: String) -> Self {
        FormatError::Invalid(m)
    }
}

impl From<&str> for FormatError {
    fn from(m: &str) -> Self {
        FormatError::Invalid(m.to_string())
    }
}

fn e(x: BoxError) -> FormatError {
    FormatError::Box(x)
}

/// Parses an init segment (ftyp, moov with exactly one trak and mvex/trex).
pub fn parse_init(bytes: &[u8]) -> Result<Init, FormatError> {
    let mut moov = None;
    let mut end = 0usize;
    for b in BoxIter::new(bytes) {
        let b = b.map_err(e)?;
        end = b.offset + b.bytes.len();
        if &b.fourcc == b"moov" {
            moov = Some(b);
            break;
        }
    }
    let moov = moov.ok_or("no moov box")?;
    let mut traks = Vec::new();
    for c in moov.children() {
        let c = c.map_err(e)?;
        if &c.fourcc == b"trak" {
            traks.push(c);
        }
    }
    if traks.len() != 1 {
        return Err(FormatError::Invalid(format!(
            "moov has {} tracks (a CMAF header has one)",
            traks.len()
        )));
    }
    let trak = traks[0];
    let track_id = Tkhd::read(&trak.require(b"tkhd").map_err(e)?)
        .map_err(e)?
        .track_id;
    let mdia = trak.require(b"mdia").map_err(e)?;
    let timescale = Mdhd::read(&mdia.require(b"mdhd").map_err(e)?)
        .map_err(e)?
        .timescale;
    if timescale == 0 {
        return Err("mdhd timescale is 0".into());
    }
    let hdlr = Hdlr::read(&mdia.require(b"hdlr").map_err(e)?).map_err(e)?;
    let kind = TrackKind::from_handler(&hdlr.handler_type);
    let stbl = mdia
        .require(b"minf")
        .and_then(|m| m.require(b"stbl"))
        .map_err(e)?;
    let entries = protection::stsd_entries(&stbl.require(b"stsd").map_err(e)?).map_err(e)?;
    if entries.is_empty() {
        return Err("stsd has no sample entry".into());
    }
    let entry_protection = entries
        .iter()
        .map(|en| protection::entry_protection(en).map_err(|x| e(x.context("sample entry"))))
        .collect::<Result<Vec<_>, FormatError>>()?;
    let mut track_groups = Vec::new();
    for c in stbl.children() {
        let c = c.map_err(e)?;
        if &c.fourcc == b"sgpd" {
            if let Some(g) = sgpd_seig(&c).map_err(e)? {
                track_groups = g;
            }
        }
    }
    let mut edit_media_time = None;
    if let Some(edts) = trak.child(b"edts").map_err(e)? {
        if let Some(elst) = edts.child(b"elst").map_err(e)? {
            edit_media_time = Elst::read(&elst)
                .map_err(e)?
                .entries
                .iter()
                .map(|en| en.media_time)
                .find(|&mt| mt >= 0);
        }
    }
    let mvex = moov
        .require(b"mvex")
        .map_err(|_| "moov has no mvex (not a fragmented-MP4 header)".to_string())?;
    let trex = Mvex::read(&mvex)
        .map_err(e)?
        .trex
        .into_iter()
        .rfind(|t| t.track_id == track_id)
        .ok_or_else(|| format!("mvex has no trex for track {track_id}"))?;
    let (sdi, dur, size, flags) = (
        trex.default_sample_description_index,
        trex.default_sample_duration,
        trex.default_sample_size,
        trex.default_sample_flags,
    );
    Ok(Init {
        track_id,
        timescale,
        kind,
        entries,
        entry_protection,
        edit_media_time,
        trex_sample_description_index: sdi,
        trex_duration: dur,
        trex_size: size,
        trex_flags: flags,
        track_groups,
        len: end,
    })
}

/// One sample of a fragment.
#[derive(Debug, Clone, Copy)]
pub struct FragSample {
    /// Decode time in timescale ticks: tfdt base (or the previous fragment's end) plus the
    /// durations of the samples before it.
    pub dts: u64,
    /// Duration in timescale ticks.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// True when sample_is_non_sync_sample is clear in the sample's flags.
    pub is_sync: bool,
    /// Composition time offset in timescale ticks (trun version 0 unsigned, version 1 signed).
    pub cto: i64,
    /// Offset of the sample's data within the segment bytes given to [`parse_segment`].
    pub data: usize,
}

/// One moof + its samples.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// Offset of the moof within the segment bytes.
    pub moof_offset: usize,
    /// mfhd sequence_number.
    pub sequence: u32,
    /// tfhd track_ID.
    pub track_id: u32,
    /// tfhd sample_description_index, else the trex default (1-based index into stsd).
    pub sample_description_index: u32,
    /// Whether the traf has a tfdt (CMAF requires one; without it `dts` continues from the
    /// previous fragment).
    pub has_tfdt: bool,
    /// The samples of every trun of the traf, in decode order.
    pub samples: Vec<FragSample>,
    /// senc entries (or those saiz/saio point at), one per sample, when present.
    pub aux: Option<Vec<SampleAuxInfo>>,
    /// Problems with the aux boxes (saio pointing elsewhere than senc, counts...).
    pub aux_problems: Vec<String>,
    /// Per-sample seig overrides (empty when there is no sbgp).
    pub seig: Vec<Option<Tenc>>,
}

const NON_SYNC: u32 = 0x0001_0000;

/// Parses the fragments of a media segment. `prev_end` is the decode time following the previous
/// fragment (used when a traf has no tfdt). Sample data ranges are checked to lie inside an mdat
/// of these bytes.
pub fn parse_segment(
    bytes: &[u8],
    init: &Init,
    prev_end: u64,
) -> Result<Vec<Fragment>, FormatError> {
    let mut frags = Vec::new();
    let mut mdats: Vec<(usize, usize)> = Vec::new();
    let mut next_dts = prev_end;
    for b in BoxIter::new(bytes) {
        let b = b.map_err(|x| format!("{x} (truncated or corrupt segment)"))?;
        match &b.fourcc {
            b"moof" => {
                let f = parse_moof(&b, init, next_dts)
                    .map_err(|x| format!("moof at byte {}: {x}", b.offset))?;
                if let Some(last) = f.samples.last() {
                    next_dts = last.dts + last.duration as u64;
                }
                frags.push(f);
            }
            b"mdat" => {
                let start = b.offset + (b.bytes.len() - b.body.len());
                mdats.push((start, b.offset + b.bytes.len()));
            }
            _ => {}
        }
    }
    if frags.is_empty() {
        return Err("no moof box".into());
    }
    for f in &frags {
        for (i, s) in f.samples.iter().enumerate() {
            let end = s.data.saturating_add(s.size as usize);
            if !mdats.iter().any(|&(a, z)| s.data >= a && end <= z) {
                return Err(FormatError::Invalid(format!(
                    "fragment {}: sample {} data (bytes {}..{end}) is not inside an mdat",
                    f.sequence,
                    i + 1,
                    s.data
                )));
            }
        }
    }
    Ok(frags)
}

fn parse_moof(moof: &RawBox, init: &Init, prev_end: u64) -> Result<Fragment, FormatError> {
    let moof_offset = moof.offset;
    let sequence = Mfhd::read(&moof.require(b"mfhd").map_err(e)?)
        .map_err(e)?
        .sequence_number;
    let mut trafs = Vec::new();
    for c in moof.children() {
        let c = c.map_err(e)?;
        if &c.fourcc == b"traf" {
            trafs.push(c);
        }
    }
    if trafs.len() != 1 {
        return Err(FormatError::Invalid(format!(
            "{} traf boxes (a CMAF fragment has one)",
            trafs.len()
        )));
    }
    let traf = trafs[0];
    let tfhd = Tfhd::read(&traf.require(b"tfhd").map_err(e)?).map_err(e)?;
    let track_id = tfhd.track_id;
    let base: usize = if tfhd.base_data_offset.is_some() {
        // An absolute base offset cannot be resolved within a segment file; vodpack never writes it.
        return Err("tfhd has base-data-offset (CMAF uses default-base-is-moof)".into());
    } else {
        moof_offset
    };
    let sdi = tfhd
        .sample_description_index
        .unwrap_or(init.trex_sample_description_index);
    let def_dur = tfhd.default_sample_duration.unwrap_or(init.trex_duration);
    let def_size = tfhd.default_sample_size.unwrap_or(init.trex_size);
    let def_flags = tfhd.default_sample_flags.unwrap_or(init.trex_flags);
    let (has_tfdt, mut dts) = match traf.child(b"tfdt").map_err(e)? {
        Some(t) => (true, Tfdt::read(&t).map_err(e)?.base_media_decode_time),
        None => (false, prev_end),
    };
    let mut samples = Vec::new();
    let mut next = base;
    for c in traf.children() {
        let c = c.map_err(e)?;
        if &c.fourcc != b"trun" {
            continue;
        }
        let trun = Trun::read(&c).map_err(e)?;
        let mut at = match trun.data_offset {
            Some(o) => base
                .checked_add_signed(o as isize)
                .ok_or("trun data_offset points before the segment")?,
            None => next,
        };
        samples.reserve(trun.entries.len());
        for (i, en) in trun.entries.iter().enumerate() {
            let duration = if trun.has(Trun::DURATION) {
                en.duration
            } else {
                def_dur
            };
            let size = if trun.has(Trun::SIZE) {
                en.size
            } else {
                def_size
            };
            let sflags = if trun.has(Trun::FLAGS) {
                en.flags
            } else if i == 0 {
                trun.first_sample_flags.unwrap_or(def_flags)
            } else {
                def_flags
            };
            // Version 0 offsets are unsigned (§8.8.8.3), version 1 signed.
            let cto = if trun.version == 0 {
                i64::from(en.composition_offset as u32)
            } else {
                i64::from(en.composition_offset)
            };
            samples.push(FragSample {
                dts,
                duration,
                size,
                is_sync: sflags & NON_SYNC == 0,
                cto,
                data: at,
            });
            dts = dts
                .checked_add(duration as u64)
                .ok_or("decode time overflows")?;
            at = at
                .checked_add(size as usize)
                .ok_or("sample offset overflows")?;
        }
        next = at;
    }

    // Sample groups first: a seig group may change the IV size senc entries are read with.
    let mut frag_groups = Vec::new();
    let mut runs = None;
    for c in traf.children() {
        let c = c.map_err(e)?;
        match &c.fourcc {
            b"sgpd" => {
                if let Some(g) = sgpd_seig(&c).map_err(e)? {
                    frag_groups = g;
                }
            }
            b"sbgp" => {
                if let Some(rn) = sbgp_seig(&c).map_err(e)? {
                    runs = Some(rn);
                }
            }
            _ => {}
        }
    }
    let seig = match &runs {
        Some(rn) => {
            seig_per_sample(rn, samples.len(), &frag_groups, &init.track_groups).map_err(e)?
        }
        None => Vec::new(),
    };
    let tenc_iv = init
        .entry_protection
        .get(sdi.saturating_sub(1) as usize)
        .and_then(|p| p.as_ref())
        .map(|p| p.tenc.per_sample_iv_size)
        .unwrap_or(0);
    let iv_size = |i: usize| match seig.get(i) {
        Some(Some(g)) => g.per_sample_iv_size,
        _ => tenc_iv,
    };

    let mut aux = None;
    let mut aux_problems = Vec::new();
    let mut senc_first: Option<usize> = None;
    if let Some(senc) = traf.child(b"senc").map_err(e)? {
        let entries = parse_senc(&senc, &iv_size).map_err(e)?;
        if entries.len() != samples.len() {
            aux_problems.push(format!(
                "senc has {} entries for {} samples",
                entries.len(),
                samples.len()
            ));
        }
        senc_first = Some(senc.offset + (senc.bytes.len() - senc.body.len()) + 8);
        aux = Some(entries);
    }
    let saiz = traf.child(b"saiz").map_err(e)?;
    let saio = traf.child(b"saio").map_err(e)?;
    match (saiz, saio) {
        (Some(z), Some(o)) => {
            let sizes = parse_saiz(&z).map_err(e)?;
            let offsets = parse_saio(&o).map_err(e)?;
            if sizes.len() != samples.len() {
                aux_problems.push(format!(
                    "saiz has {} entries for {} samples",
                    sizes.len(),
                    samples.len()
                ));
            }
            match offsets.as_slice() {
                [off] => {
                    // saio is relative to the moof (default-base-is-moof); senc's first entry
                    // sits in the traf, whose offset is relative to the moof's body.
                    let traf_in_moof = (moof.bytes.len() - moof.body.len()) + traf.offset;
                    let senc_in_moof =
                        senc_first.map(|s| traf_in_moof + (traf.bytes.len() - traf.body.len()) + s);
                    if let Some(s) = senc_in_moof {
                        if *off as usize != s {
                            aux_problems.push(format!(
                                "saio points at byte {off} of the moof but senc's first entry is at {s}"
                            ));
                        }
                    }
                    if aux.is_none() {
                        // No senc: read the entries where saio points.
                        let start = moof_offset.checked_add(*off as usize);
                        let total: usize = sizes.iter().map(|&s| s as usize).sum();
                        let data = start
                            .and_then(|s| moof.bytes.get(s - moof_offset..s - moof_offset + total));
                        match data {
                            Some(d) => {
                                aux = Some(
                                    protection::parse_aux_entries(d, &sizes, &iv_size)
                                        .map_err(e)?,
                                )
                            }
                            None => aux_problems.push(format!(
                                "saio offset {off} + {total} bytes lies outside the moof"
                            )),
                        }
                    }
                }
                _ => aux_problems.push(format!("saio has {} offsets (expected 1)", offsets.len())),
            }
        }
        (None, None) => {}
        _ => aux_problems.push("saiz without saio, or saio without saiz".into()),
    }
    Ok(Fragment {
        moof_offset,
        sequence,
        track_id,
        sample_description_index: sdi,
        has_tfdt,
        samples,
        aux,
        aux_problems,
        seig,
    })
}

/// The references of a sidx (§8.16.3): (referenced size, subsegment duration), and the
/// earliest presentation time and first offset. Hierarchical sidx (reference_type 1) is refused.
#[derive(Debug, Clone)]
pub struct Sidx {
    /// Timescale of the sidx times (ticks per second).
    pub timescale: u32,
    /// earliest_presentation_time of the first subsegment, in `timescale` ticks.
    pub earliest: u64,
    /// first_offset: bytes from the end of the sidx to the first subsegment.
    pub first_offset: u64,
    /// One (referenced_size in bytes, subsegment_duration in `timescale` ticks) per reference.
    pub refs: Vec<(u64, u64)>,
}

/// Reads the single `sidx` box at the start of `bytes` (the index range a manifest points at)
/// and refuses hierarchical indexes.
pub fn parse_sidx(bytes: &[u8]) -> Result<Sidx, FormatError> {
    let b = BoxIter::new(bytes)
        .next()
        .ok_or("empty index range")?
        .map_err(e)?;
    if &b.fourcc != b"sidx" {
        return Err(FormatError::Invalid(format!(
            "index range holds a '{}' box, not sidx",
            b.name()
        )));
    }
    let sidx = SidxBox::read(&b).map_err(e)?;
    if sidx.references.iter().any(|r| r.reference_type) {
        return Err("sidx references another sidx (hierarchical index)".into());
    }
    let (timescale, earliest, first_offset) = (
        sidx.timescale,
        sidx.earliest_presentation_time,
        sidx.first_offset,
    );
    let refs = sidx
        .references
        .iter()
        .map(|r| {
            (
                u64::from(r.referenced_size),
                u64::from(r.subsegment_duration),
            )
        })
        .collect();
    Ok(Sidx {
        timescale,
        earliest,
        first_offset,
        refs,
    })
}
