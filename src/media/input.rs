//! Reads an input file's tracks and sample tables: progressive MP4 (stbl tables, ISO/IEC
//! 14496-12 §8.6–8.7) and fragmented MP4/CMAF (mvex/trex defaults, moof/traf/tfhd/tfdt/trun,
//! §8.8). Only metadata is loaded; sample bytes stay in the file.
use super::time::{rescale_floor, DecodeTime, TickDuration, Timescale, MAX_TICKS};
use super::track::{Sample, Track, TrackKind};
use crate::error::{Error, Result};
use crate::mp4::reader::{BoxResult, RawBox};
use crate::mp4::scan::{load_box, scan_top_level, TopBox};
use crate::mp4::{BoxError, BoxIter, MAX_LOADED_BOX};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Most samples vodpack accepts in one track (10 h of 60 fps video is 2.2 M): bounds the
/// metadata memory of hostile files.
pub const MAX_SAMPLES_PER_TRACK: usize = 20_000_000;

/// An opened input file with its tracks.
#[derive(Debug)]
pub struct InputFile {
    pub path: PathBuf,
    pub file: File,
    pub len: u64,
    pub top_boxes: Vec<TopBox>,
    pub tracks: Vec<Track>,
    /// True when the samples came from movie fragments.
    pub fragmented: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct TrexDefaults {
    sample_description_index: u32,
    duration: u32,
    size: u32,
    flags: u32,
}

/// sample_is_non_sync_sample (§8.8.3.1).
const NON_SYNC: u32 = 0x0001_0000;

impl InputFile {
    /// Opens and indexes `path`.
    pub fn open(path: &Path) -> Result<InputFile> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::invalid(path, "empty file (not MP4)"));
        }
        let bad = |e: BoxError| Error::invalid(path, e.to_string());
        let top_boxes = scan_top_level(&mut file, len).map_err(bad)?;
        let moov_box = top_boxes
            .iter()
            .find(|b| &b.fourcc == b"moov")
            .ok_or_else(|| Error::invalid(path, "no 'moov' box (not a complete MP4 file)"))?;
        let moov_bytes = load_box(&mut file, moov_box, MAX_LOADED_BOX).map_err(bad)?;
        let moov = BoxIter::new(&moov_bytes)
            .next()
            .expect("loaded box")
            .map_err(bad)?;

        let mut tracks = Vec::new();
        let mut edit_lists = Vec::new();
        let mut trex: HashMap<u32, TrexDefaults> = HashMap::new();
        for child in moov.children() {
            let child = child.map_err(bad)?;
            match &child.fourcc {
                b"trak" => {
                    let (track, edits) =
                        parse_trak(&child, len).map_err(|e| Error::invalid(path, e.to_string()))?;
                    tracks.push(track);
                    edit_lists.push(edits);
                }
                b"mvex" => {
                    for t in child.children() {
                        let t = t.map_err(bad)?;
                        if &t.fourcc == b"trex" {
                            let (_, _, mut r) = t.full().map_err(bad)?;
                            let id = r.u32().map_err(bad)?;
                            let d = TrexDefaults {
                                sample_description_index: r.u32().map_err(bad)?,
                                duration: r.u32().map_err(bad)?,
                                size: r.u32().map_err(bad)?,
                                flags: r.u32().map_err(bad)?,
                            };
                            trex.insert(id, d);
                        }
                    }
                }
                _ => {}
            }
        }
        if tracks.is_empty() {
            return Err(Error::invalid(path, "the 'moov' box has no tracks"));
        }

        let mut fragmented = false;
        let moofs: Vec<TopBox> = top_boxes
            .iter()
            .filter(|b| &b.fourcc == b"moof")
            .copied()
            .collect();
        for moof_box in &moofs {
            fragmented = true;
            let bytes = load_box(&mut file, moof_box, MAX_LOADED_BOX).map_err(bad)?;
            let moof = BoxIter::new(&bytes)
                .next()
                .expect("loaded box")
                .map_err(bad)?;
            parse_moof(&moof, moof_box.offset, &trex, &mut tracks, len).map_err(|e| {
                Error::invalid(path, format!("moof at byte {}: {}", moof_box.offset, e))
            })?;
        }
        let movie_timescale = movie_timescale(&moov).map_err(bad)?;
        for (t, edits) in tracks.iter_mut().zip(&edit_lists) {
            t.duration = t.samples.iter().map(|s| s.duration as u64).sum();
            // Every later time computation (segment plan, writer, manifests) relies on this.
            t.check_times()
                .map_err(|e| Error::invalid(path, format!("track {}: {e}", t.id)))?;
            check_edits(t, edits, movie_timescale).map_err(|e| match e {
                EditProblem::Invalid(m) => {
                    Error::invalid(path, format!("track {}: elst: {m}", t.id))
                }
                EditProblem::Unsupported(m) => {
                    Error::unsupported(path, format!("track {}: elst: {m}", t.id))
                }
            })?;
        }
        Ok(InputFile {
            path: path.to_path_buf(),
            file,
            len,
            top_boxes,
            tracks,
            fragmented,
        })
    }
}

/// The mvhd timescale (ISO/IEC 14496-12 §8.2.2), in which edit durations are counted; `None`
/// when there is no mvhd or it says 0.
fn movie_timescale(moov: &RawBox) -> BoxResult<Option<Timescale>> {
    let Some(mvhd) = moov.child(b"mvhd")? else {
        return Ok(None);
    };
    let (v, _, mut r) = mvhd.full()?;
    r.skip(if v == 1 { 16 } else { 8 })?;
    Ok(Timescale::new(r.u32()?))
}

enum EditProblem {
    Invalid(String),
    Unsupported(String),
}

/// Refuses an edit list vodpack would not carry losslessly: see [`parse_elst`], and an edit
/// that ends the presentation before the media ends (a trimmed end: players would stop earlier
/// than vodpack's output does).
fn check_edits(
    t: &Track,
    edits: &EditList,
    movie: Option<Timescale>,
) -> std::result::Result<(), EditProblem> {
    if let Some(m) = &edits.unsupported {
        return Err(EditProblem::Unsupported(m.clone()));
    }
    let (Some(media_time), true) = (edits.media_time, edits.duration > 0) else {
        return Ok(()); // no edit, or a duration of 0 (the rest of the media, §8.6.6.3)
    };
    let Some(movie) = movie else {
        return Err(EditProblem::Invalid(
            "edit durations are counted in the mvhd timescale, which is 0 or missing".into(),
        ));
    };
    let (Some(media_ts), Some(last)) = (t.timescale(), t.samples.last()) else {
        return Ok(());
    };
    // The edit's end in media ticks (rounded down), against the media's end. Up to one sample
    // (plus a movie tick of rounding) is let through: that is an encoder's padding in the last
    // audio frame (docs/odd-timing.md says what this means for the last decoded frame).
    let edit_end = rescale_floor(edits.duration, movie, media_ts)
        .ok()
        .and_then(|d| d.checked_add(media_time as u64));
    let media_end = last.dts + u64::from(last.duration);
    let slack = u64::from(last.duration) + u64::from(media_ts.get().div_ceil(movie.get()));
    match edit_end {
        Some(end) if end.saturating_add(slack) < media_end => {
            Err(EditProblem::Unsupported(format!(
                "the edit list ends the presentation at media time {end} of {media_end} (a trimmed end), which vodpack cannot carry"
            )))
        }
        _ => Ok(()),
    }
}

fn parse_trak(trak: &RawBox, file_len: u64) -> BoxResult<(Track, EditList)> {
    let tkhd = trak.require(b"tkhd")?;
    let (v, _, mut r) = tkhd.full()?;
    if v == 1 {
        r.skip(16)?;
    } else {
        r.skip(8)?;
    }
    let id = r.u32()?;
    r.skip(4)?;
    r.skip(if v == 1 { 8 } else { 4 })?;
    r.skip(8 + 2 + 2 + 2 + 2 + 36)?;
    let tkhd_width = r.u32()?;
    let tkhd_height = r.u32()?;

    let mdia = trak.require(b"mdia")?;
    let mdhd = mdia.require(b"mdhd")?;
    let (v, _, mut r) = mdhd.full()?;
    r.skip(if v == 1 { 16 } else { 8 })?;
    let timescale = r.u32()?;
    if timescale == 0 {
        return Err(BoxError::invalid(format!(
            "track {id}: mdhd timescale is 0"
        )));
    }
    r.skip(if v == 1 { 8 } else { 4 })?;
    let lang = r.u16()?;
    let language = decode_language(lang);
    let hdlr = mdia.require(b"hdlr")?;
    let (_, _, mut r) = hdlr.full()?;
    r.skip(4)?;
    let handler = r.fourcc()?;
    let kind = TrackKind::from_handler(&handler);

    let stbl = mdia.require(b"minf")?.require(b"stbl")?;
    let stsd = stbl.require(b"stsd")?;
    let (_, _, mut r) = stsd.full()?;
    let _entry_count = r.u32()?;
    let mut entries = BoxIter::new(r.rest());
    let sample_entry = match entries.next() {
        Some(e) => e?.bytes.to_vec(),
        None => {
            return Err(BoxError::invalid(format!(
                "track {id}: stsd has no sample entry"
            )))
        }
    };

    let edits = match trak.child(b"edts")? {
        Some(edts) => match edts.child(b"elst")? {
            Some(elst) => {
                parse_elst(&elst).map_err(|e| BoxError::invalid(format!("track {id}: {}", e)))?
            }
            None => EditList::default(),
        },
        None => EditList::default(),
    };
    let edit_media_time = edits.media_time;

    let samples = parse_sample_tables(&stbl, id, file_len)?;
    let track = Track {
        id,
        kind,
        handler,
        timescale,
        duration: 0,
        language,
        tkhd_width,
        tkhd_height,
        sample_entry,
        edit_media_time,
        samples,
    };
    Ok((track, edits))
}

/// ISO 639-2/T packed as three 5-bit letters (§8.4.2.3).
fn decode_language(v: u16) -> String {
    let c = |s: u16| (((v >> s) & 0x1f) as u8 + 0x60) as char;
    let s: String = [c(10), c(5), c(0)].iter().collect();
    if s.chars().all(|ch| ch.is_ascii_lowercase()) {
        s
    } else {
        "und".to_string()
    }
}

/// What an edit list (§8.6.6) says, as far as vodpack can carry it.
#[derive(Debug, Default)]
struct EditList {
    /// media_time of the single non-empty edit.
    media_time: Option<i64>,
    /// Its segment_duration, in the movie (mvhd) timescale; 0 = unknown / whole media.
    duration: u64,
    /// Why the list cannot be carried losslessly (refused as unsupported).
    unsupported: Option<String>,
}

/// Reads the edit list. vodpack carries one non-empty edit at normal rate (the presentation
/// starts at its media_time: AAC priming, B-frame delay). A start delay (an empty edit before
/// it), several non-empty edits or a rate other than 1 would change the presentation if dropped,
/// so they are reported, never silently ignored.
fn parse_elst(elst: &RawBox) -> BoxResult<EditList> {
    let (v, _, mut r) = elst.full()?;
    let count = r.u32()?;
    let n = r.check_table(count as u64, if v == 1 { 20 } else { 12 })?;
    let mut list = EditList::default();
    let mut non_empty = 0usize;
    for _ in 0..n {
        let (duration, media_time) = if v == 1 {
            (r.u64()?, r.i64()?)
        } else {
            (r.u32()? as u64, r.i32()? as i64)
        };
        let rate = r.u32()?;
        if media_time == -1 {
            if non_empty == 0 && duration > 0 && list.unsupported.is_none() {
                list.unsupported = Some(format!(
                    "the edit list starts with an empty edit of {duration} movie ticks (a start delay), which vodpack cannot carry into CMAF segments"
                ));
            }
            continue;
        }
        if media_time < 0 {
            return Err(BoxError::invalid(format!(
                "elst media_time {media_time} is negative"
            )));
        }
        if media_time as u64 > MAX_TICKS {
            return Err(BoxError::invalid(format!(
                "elst media_time {media_time} exceeds 2^62 ticks"
            )));
        }
        non_empty += 1;
        if non_empty == 1 {
            list.media_time = Some(media_time);
            list.duration = duration;
            if rate != 0x0001_0000 && list.unsupported.is_none() {
                list.unsupported = Some(format!(
                    "the edit list plays media at rate {:#010x}, not 1.0",
                    rate
                ));
            }
        } else if list.unsupported.is_none() {
            list.unsupported = Some(format!(
                "the edit list has {} edits that show media (cuts or repeats); vodpack carries only one",
                n
            ));
        }
    }
    Ok(list)
}

fn parse_sample_tables(stbl: &RawBox, id: u32, file_len: u64) -> BoxResult<Vec<Sample>> {
    // Sizes first: they fix the sample count the other tables must agree with.
    let sizes: Vec<u32> = if let Some(stsz) = stbl.child(b"stsz")? {
        let (_, _, mut r) = stsz.full()?;
        let constant = r.u32()?;
        let count = r.u32()? as u64;
        if constant != 0 {
            if count.saturating_mul(constant as u64) > file_len
                || count as usize > MAX_SAMPLES_PER_TRACK
            {
                return Err(BoxError::invalid(format!(
                    "track {id}: stsz says {count} samples of {constant} bytes, more than the file holds"
                )));
            }
            vec![constant; count as usize]
        } else {
            let n = r.check_table(count, 4)?;
            (0..n).map(|_| r.u32()).collect::<BoxResult<_>>()?
        }
    } else if let Some(stz2) = stbl.child(b"stz2")? {
        let (_, _, mut r) = stz2.full()?;
        r.skip(3)?;
        let field = r.u8()?;
        let count = r.u32()? as u64;
        match field {
            4 => {
                let n = r.check_table(count.div_ceil(2), 1)?;
                let bytes = r.bytes(n)?;
                (0..count as usize)
                    .map(|i| {
                        let b = bytes[i / 2];
                        Ok(if i % 2 == 0 {
                            (b >> 4) as u32
                        } else {
                            (b & 0xf) as u32
                        })
                    })
                    .collect::<BoxResult<_>>()?
            }
            8 => {
                let n = r.check_table(count, 1)?;
                r.bytes(n)?.iter().map(|&b| b as u32).collect()
            }
            16 => {
                let n = r.check_table(count, 2)?;
                (0..n)
                    .map(|_| r.u16().map(|v| v as u32))
                    .collect::<BoxResult<_>>()?
            }
            f => {
                return Err(BoxError::invalid(format!(
                    "track {id}: stz2 field size {f} is not 4, 8 or 16"
                )))
            }
        }
    } else {
        Vec::new()
    };
    let count = sizes.len();
    if count == 0 {
        return Ok(Vec::new());
    }
    if count > MAX_SAMPLES_PER_TRACK {
        return Err(BoxError::invalid(format!(
            "track {id}: {count} samples exceed the limit of {MAX_SAMPLES_PER_TRACK}"
        )));
    }

    // Decode times (stts).
    let stts = stbl.require(b"stts")?;
    let (_, _, mut r) = stts.full()?;
    let entries = r.u32()?;
    let n = r.check_table(entries as u64, 8)?;
    let mut durations = Vec::with_capacity(count);
    for _ in 0..n {
        let c = r.u32()? as usize;
        let d = r.u32()?;
        let take = c.min(count - durations.len());
        durations.extend(std::iter::repeat_n(d, take));
        if durations.len() == count {
            break;
        }
    }
    if durations.len() != count {
        return Err(BoxError::invalid(format!(
            "track {id}: stts covers {} samples, stsz has {count}",
            durations.len()
        )));
    }

    // Composition offsets (ctts; v0 values are read as signed, as players do).
    let mut offsets = vec![0i32; count];
    if let Some(ctts) = stbl.child(b"ctts")? {
        let (_, _, mut r) = ctts.full()?;
        let entries = r.u32()?;
        let n = r.check_table(entries as u64, 8)?;
        let mut i = 0usize;
        for _ in 0..n {
            let c = r.u32()? as usize;
            let o = r.i32()?;
            let take = c.min(count - i);
            offsets[i..i + take].fill(o);
            i += take;
            if i == count {
                break;
            }
        }
    }

    // Sync samples (stss absent: every sample is sync).
    let mut sync = vec![true; count];
    if let Some(stss) = stbl.child(b"stss")? {
        sync.fill(false);
        let (_, _, mut r) = stss.full()?;
        let entries = r.u32()?;
        let n = r.check_table(entries as u64, 4)?;
        for _ in 0..n {
            let s = r.u32()? as usize;
            if s == 0 || s > count {
                return Err(BoxError::invalid(format!(
                    "track {id}: stss names sample {s} of {count}"
                )));
            }
            sync[s - 1] = true;
        }
    }

    // Chunk offsets (stco/co64) and the sample-to-chunk runs (stsc).
    let chunk_offsets: Vec<u64> = if let Some(stco) = stbl.child(b"stco")? {
        let (_, _, mut r) = stco.full()?;
        let c = r.u32()?;
        let n = r.check_table(c as u64, 4)?;
        (0..n)
            .map(|_| r.u32().map(|v| v as u64))
            .collect::<BoxResult<_>>()?
    } else if let Some(co64) = stbl.child(b"co64")? {
        let (_, _, mut r) = co64.full()?;
        let c = r.u32()?;
        let n = r.check_table(c as u64, 8)?;
        (0..n).map(|_| r.u64()).collect::<BoxResult<_>>()?
    } else {
        return Err(BoxError::invalid(format!(
            "track {id}: no stco or co64 chunk offsets"
        )));
    };
    let stsc = stbl.require(b"stsc")?;
    let (_, _, mut r) = stsc.full()?;
    let entries = r.u32()?;
    let n = r.check_table(entries as u64, 12)?;
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let first_chunk = r.u32()?;
        let per_chunk = r.u32()?;
        r.skip(4)?;
        if first_chunk == 0 {
            return Err(BoxError::invalid(format!(
                "track {id}: stsc first_chunk is 0"
            )));
        }
        runs.push((first_chunk as usize, per_chunk as usize));
    }

    let mut samples = Vec::with_capacity(count);
    let mut dts = DecodeTime(0);
    let mut idx = 0usize;
    for (ri, &(first, per_chunk)) in runs.iter().enumerate() {
        let last = runs
            .get(ri + 1)
            .map(|r| r.0)
            .unwrap_or(chunk_offsets.len() + 1);
        for chunk in first..last {
            let Some(&chunk_off) = chunk_offsets.get(chunk - 1) else {
                return Err(BoxError::invalid(format!(
                    "track {id}: stsc refers to chunk {chunk} of {}",
                    chunk_offsets.len()
                )));
            };
            let mut off = chunk_off;
            for _ in 0..per_chunk {
                if idx == count {
                    break;
                }
                let size = sizes[idx];
                if off
                    .checked_add(size as u64)
                    .is_none_or(|end| end > file_len)
                {
                    return Err(BoxError::invalid(format!(
                        "track {id}: sample {} data (bytes {off}..+{size}) runs past the end of the file (truncated?)",
                        idx + 1
                    )));
                }
                samples.push(Sample {
                    dts: dts.0,
                    duration: durations[idx],
                    cts_offset: offsets[idx],
                    is_sync: sync[idx],
                    size,
                    offset: off,
                });
                dts = dts
                    .checked_add(TickDuration(durations[idx].into()))
                    .map_err(|e| BoxError::invalid(format!("track {id}: stts: {e}")))?;
                off += size as u64;
                idx += 1;
            }
        }
    }
    if samples.len() != count {
        return Err(BoxError::invalid(format!(
            "track {id}: chunks hold {} samples, stsz has {count}",
            samples.len()
        )));
    }
    Ok(samples)
}

fn parse_moof(
    moof: &RawBox,
    moof_offset: u64,
    trex: &HashMap<u32, TrexDefaults>,
    tracks: &mut [Track],
    file_len: u64,
) -> BoxResult<()> {
    // Without base_data_offset and default-base-is-moof, a traf's base is the end of the previous
    // traf's data (the moof's start for the first), ISO/IEC 14496-12 §8.8.7.1.
    let mut implicit_base = moof_offset;
    for traf in moof.children() {
        let traf = traf?;
        if &traf.fourcc != b"traf" {
            continue;
        }
        let tfhd = traf.require(b"tfhd")?;
        let (_, flags, mut r) = tfhd.full()?;
        let track_id = r.u32()?;
        let d = trex.get(&track_id).copied().unwrap_or_default();
        let base = if flags & 0x1 != 0 {
            r.u64()?
        } else if flags & 0x02_0000 != 0 {
            moof_offset
        } else {
            implicit_base
        };
        if flags & 0x2 != 0 {
            r.u32()?; // sample_description_index: vodpack keeps the first entry only
        }
        let def_dur = if flags & 0x8 != 0 {
            r.u32()?
        } else {
            d.duration
        };
        let def_size = if flags & 0x10 != 0 { r.u32()? } else { d.size };
        let def_flags = if flags & 0x20 != 0 { r.u32()? } else { d.flags };
        let _ = d.sample_description_index;
        let track = tracks
            .iter_mut()
            .find(|t| t.id == track_id)
            .ok_or_else(|| BoxError::invalid(format!("traf for unknown track {track_id}")))?;
        let mut dts = match traf.child(b"tfdt")? {
            Some(tfdt) => {
                let (v, _, mut r) = tfdt.full()?;
                let t = if v == 1 { r.u64()? } else { r.u32()? as u64 };
                DecodeTime::checked_new(t)
                    .map_err(|e| BoxError::invalid(format!("track {track_id}: tfdt: {e}")))?
            }
            // No tfdt: the fragment continues where the track's previous samples ended.
            None => match track.samples.last() {
                Some(s) => DecodeTime(s.dts)
                    .checked_add(TickDuration(s.duration.into()))
                    .map_err(|e| {
                        BoxError::invalid(format!("track {track_id}: traf without tfdt: {e}"))
                    })?,
                None => DecodeTime(0),
            },
        };
        let mut next_offset = base;
        for trun in traf.children() {
            let trun = trun?;
            if &trun.fourcc != b"trun" {
                continue;
            }
            let (_, tf, mut r) = trun.full()?;
            let count = r.u32()? as u64;
            let data_offset = if tf & 0x1 != 0 { Some(r.i32()?) } else { None };
            let first_flags = if tf & 0x4 != 0 { Some(r.u32()?) } else { None };
            let per = 4 * [0x100, 0x200, 0x400, 0x800]
                .iter()
                .filter(|&&b| tf & b != 0)
                .count();
            let n = r.check_table(count, per)?;
            if track.samples.len() + n > MAX_SAMPLES_PER_TRACK {
                return Err(BoxError::invalid(format!(
                    "track {track_id}: more than {MAX_SAMPLES_PER_TRACK} samples"
                )));
            }
            let mut off = match data_offset {
                Some(o) => base
                    .checked_add_signed(o as i64)
                    .ok_or_else(|| BoxError::invalid("trun data_offset before file start"))?,
                None => next_offset,
            };
            track.samples.reserve(n);
            for i in 0..n {
                let duration = if tf & 0x100 != 0 { r.u32()? } else { def_dur };
                let size = if tf & 0x200 != 0 { r.u32()? } else { def_size };
                let sflags = if tf & 0x400 != 0 {
                    r.u32()?
                } else if i == 0 {
                    first_flags.unwrap_or(def_flags)
                } else {
                    def_flags
                };
                // Version 0 offsets are read as signed too, as ffmpeg and players do (and as
                // ctts v0 is above): clamping them would silently move frames.
                let cto = if tf & 0x800 != 0 { r.i32()? } else { 0 };
                if off
                    .checked_add(size as u64)
                    .is_none_or(|end| end > file_len)
                {
                    return Err(BoxError::invalid(format!(
                        "track {track_id}: sample data (bytes {off}..+{size}) runs past the end of the file (truncated?)"
                    )));
                }
                track.samples.push(Sample {
                    dts: dts.0,
                    duration,
                    cts_offset: cto,
                    is_sync: sflags & NON_SYNC == 0,
                    size,
                    offset: off,
                });
                dts = dts
                    .checked_add(TickDuration(duration.into()))
                    .map_err(|e| BoxError::invalid(format!("track {track_id}: trun: {e}")))?;
                off += size as u64;
            }
            next_offset = off;
        }
        implicit_base = next_offset;
    }
    Ok(())
}

/// Which tracks of an input a rendition takes: `#video`, `#audio`, `#<track id>` or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackSelector {
    All,
    Kind(TrackKind),
    Id(u32),
}

impl TrackSelector {
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "" => Ok(TrackSelector::All),
            "video" | "v" => Ok(TrackSelector::Kind(TrackKind::Video)),
            "audio" | "a" => Ok(TrackSelector::Kind(TrackKind::Audio)),
            "text" => Ok(TrackSelector::Kind(TrackKind::Text)),
            n => n.parse::<u32>().map(TrackSelector::Id).map_err(|_| {
                format!("track selector '#{n}' must be 'video', 'audio', 'text' or a track id")
            }),
        }
    }

    pub fn matches(&self, t: &Track) -> bool {
        match self {
            TrackSelector::All => true,
            TrackSelector::Kind(k) => t.kind == *k,
            TrackSelector::Id(id) => t.id == *id,
        }
    }
}
