//! Reads an input file's tracks and sample tables: progressive MP4 (stbl tables, ISO/IEC
//! 14496-12 §8.6–8.7) and fragmented MP4/CMAF (mvex/trex defaults, moof/traf/tfhd/tfdt/trun,
//! §8.8). Only metadata is loaded; sample bytes stay in the file.
use super::sample_table::{Sample, SampleTable};
use super::time::{
    rescale_floor, CompositionOffset, DecodeTime, SampleDuration, TickDuration, TickOffset,
    Timescale, MAX_TICKS,
};
use super::track::{Track, TrackKind};
use crate::error::{Error, Result};
use crate::mp4::boxes::{
    ChunkOffsets, Ctts, Elst, Hdlr, Mdhd, Mvex, Mvhd, Stsc, Stsd, Stss, Stsz, Stts, Stz2, Tfdt,
    Tfhd, Tkhd, Trex, Trun,
};
use crate::mp4::scan::{load_box, scan_top_level, TopBox};
use crate::mp4::{BoxError, BoxIter, BoxResult, Mp4Box, RawBox, MAX_LOADED_BOX};
use crate::storage::Source;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Most samples vodpack accepts in one track (10 h of 60 fps video is 2.2 M): bounds the
/// metadata memory of hostile files.
pub const MAX_SAMPLES_PER_TRACK: usize = 20_000_000;

/// An opened input file with its tracks.
#[derive(Debug)]
pub struct InputFile {
    /// The path the file was opened from, named in error messages and reports.
    pub path: PathBuf,
    /// The open file sample bytes are read from on demand (after
    /// [`decrypt_input`](crate::cenc::decrypt_input::decrypt_input), an unlinked temporary file holding the
    /// decrypted samples).
    pub file: Source,
    /// File length in bytes, the bound for every box and sample offset.
    pub len: u64,
    /// Every top-level box (type, offset, size) found by the scan, in file order; moov and the
    /// moof boxes are located through it.
    pub top_boxes: Vec<TopBox>,
    /// The tracks of the moov, in the order their trak boxes appear.
    pub tracks: Vec<Track>,
    /// True when the samples came from movie fragments.
    pub fragmented: bool,
}

/// sample_is_non_sync_sample (§8.8.3.1).
const NON_SYNC: u32 = 0x0001_0000;

impl InputFile {
    /// Opens and indexes `path`.
    pub fn open(path: &Path) -> Result<InputFile> {
        // A local file or an object (`s3://…`): read by offset either way, never whole.
        let file = Source::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.len().map_err(|e| Error::io(path, e))?;
        if len == 0 {
            return Err(Error::invalid(path, "empty file (not MP4)"));
        }
        let bad = |e: BoxError| Error::invalid(path, e.to_string());
        let top_boxes = scan_top_level(&file, len).map_err(bad)?;
        let moov_box = top_boxes
            .iter()
            .find(|b| &b.fourcc == b"moov")
            .ok_or_else(|| Error::invalid(path, "no 'moov' box (not a complete MP4 file)"))?;
        let moov_bytes = load_box(&file, moov_box, MAX_LOADED_BOX).map_err(bad)?;
        let moov = BoxIter::new(&moov_bytes)
            .next()
            .expect("loaded box")
            .map_err(bad)?;

        let mut tracks = Vec::new();
        let mut edit_lists = Vec::new();
        let mut trex: HashMap<u32, Trex> = HashMap::new();
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
                    for t in Mvex::read(&child).map_err(bad)?.trex {
                        trex.insert(t.track_id, t);
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
            let bytes = load_box(&file, moof_box, MAX_LOADED_BOX).map_err(bad)?;
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
            // Fragments grew the tables by doubling; give back the spare room.
            t.samples.shrink_to_fit();
            t.duration = TickDuration(t.samples.iter().map(|s| u64::from(s.duration.0)).sum());
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
    Ok(Timescale::new(Mvhd::read(&mvhd)?.timescale))
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
    let media_end = last.dts.0 + u64::from(last.duration.0);
    let slack = u64::from(last.duration.0) + u64::from(media_ts.get().div_ceil(movie.get()));
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
    let tkhd = Tkhd::read(&trak.require(b"tkhd")?)?;
    let id = tkhd.track_id;

    let mdia = trak.require(b"mdia")?;
    let mdhd = Mdhd::read(&mdia.require(b"mdhd")?)?;
    let timescale = mdhd.timescale;
    if timescale == 0 {
        return Err(BoxError::invalid(format!(
            "track {id}: mdhd timescale is 0"
        )));
    }
    let language = mdhd.language_code();
    let handler = Hdlr::read(&mdia.require(b"hdlr")?)?.handler_type;
    let kind = TrackKind::from_handler(&handler);

    let stbl = mdia.require(b"minf")?.require(b"stbl")?;
    let sample_entry = match Stsd::first_entry(&stbl.require(b"stsd")?)? {
        Some(e) => e.bytes.to_vec(),
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
    let edit_media_time = edits.media_time.map(TickOffset);

    let samples = parse_sample_tables(&stbl, id, file_len)?;
    let track = Track {
        id,
        kind,
        handler,
        timescale,
        duration: TickDuration(0),
        language,
        tkhd_width: tkhd.width,
        tkhd_height: tkhd.height,
        sample_entry,
        edit_media_time,
        samples,
    };
    Ok((track, edits))
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
    let entries = Elst::read(elst)?.entries;
    let n = entries.len();
    let mut list = EditList::default();
    let mut non_empty = 0usize;
    for e in entries {
        let (duration, media_time, rate) = (e.segment_duration, e.media_time, e.media_rate);
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

/// The sample sizes of an stbl as stored: one for all, or one each.
enum SampleSizes {
    Constant { size: u32, count: usize },
    Each(Vec<u32>),
}

impl SampleSizes {
    fn len(&self) -> usize {
        match self {
            SampleSizes::Constant { count, .. } => *count,
            SampleSizes::Each(each) => each.len(),
        }
    }

    fn get(&self, i: usize) -> u32 {
        match self {
            SampleSizes::Constant { size, .. } => *size,
            SampleSizes::Each(each) => each[i],
        }
    }
}

/// The per-sample sizes of an stbl (stsz, else stz2; none: no samples).
fn sample_sizes(stbl: &RawBox, id: u32, file_len: u64) -> BoxResult<SampleSizes> {
    if let Some(stsz) = stbl.child(b"stsz")? {
        let stsz = Stsz::read(&stsz)?;
        if stsz.sample_size == 0 {
            return Ok(SampleSizes::Each(stsz.entry_sizes));
        }
        let (constant, count) = (stsz.sample_size, u64::from(stsz.sample_count));
        if count.saturating_mul(constant.into()) > file_len || count > MAX_SAMPLES_PER_TRACK as u64
        {
            return Err(BoxError::invalid(format!(
                "track {id}: stsz says {count} samples of {constant} bytes, more than the file holds"
            )));
        }
        return Ok(SampleSizes::Constant {
            size: constant,
            count: count as usize,
        });
    }
    if let Some(stz2) = stbl.child(b"stz2")? {
        let stz2 = Stz2::read(&stz2).map_err(|e| e.context(format!("track {id}")))?;
        return Ok(SampleSizes::Each(
            stz2.entry_sizes.into_iter().map(u32::from).collect(),
        ));
    }
    Ok(SampleSizes::Each(Vec::new()))
}

/// One value per sample from run-length table entries (stts, ctts), read as the samples are
/// built (the runs are never expanded into a table of their own).
fn per_sample<T: Copy>(runs: impl Iterator<Item = (u32, T)>) -> impl Iterator<Item = T> {
    runs.flat_map(|(c, v)| std::iter::repeat_n(v, c as usize))
}

fn parse_sample_tables(stbl: &RawBox, id: u32, file_len: u64) -> BoxResult<SampleTable> {
    // Sizes first: they fix the sample count the other tables must agree with.
    let sizes = sample_sizes(stbl, id, file_len)?;
    let count = sizes.len();
    if count == 0 {
        return Ok(SampleTable::new());
    }
    if count > MAX_SAMPLES_PER_TRACK {
        return Err(BoxError::invalid(format!(
            "track {id}: {count} samples exceed the limit of {MAX_SAMPLES_PER_TRACK}"
        )));
    }

    // Decode times (stts).
    let stts = Stts::read(&stbl.require(b"stts")?)?;
    let covered = stts
        .entries
        .iter()
        .map(|e| u64::from(e.sample_count))
        .sum::<u64>()
        .min(count as u64);
    if covered != count as u64 {
        return Err(BoxError::invalid(format!(
            "track {id}: stts covers {covered} samples, stsz has {count}"
        )));
    }

    // Composition offsets (ctts; v0 values are read as signed, as players do).
    // Samples past the last run get 0, as before ctts.
    let ctts = match stbl.child(b"ctts")? {
        Some(ctts) => Ctts::read(&ctts)?.entries,
        None => Vec::new(),
    };
    let mut durations = per_sample(
        stts.entries
            .iter()
            .map(|e| (e.sample_count, e.sample_delta)),
    );
    let mut offsets = per_sample(ctts.iter().map(|e| (e.sample_count, e.sample_offset)))
        .chain(std::iter::repeat(0));

    // Sync samples (stss absent: every sample is sync).
    let mut sync = vec![true; count];
    if let Some(stss) = stbl.child(b"stss")? {
        sync.fill(false);
        for s in Stss::read(&stss)?.sample_numbers {
            let s = s as usize;
            if s == 0 || s > count {
                return Err(BoxError::invalid(format!(
                    "track {id}: stss names sample {s} of {count}"
                )));
            }
            sync[s - 1] = true;
        }
    }

    // Chunk offsets (stco/co64) and the sample-to-chunk runs (stsc).
    let Some(ChunkOffsets(chunk_offsets)) = ChunkOffsets::from_stbl(stbl)? else {
        return Err(BoxError::invalid(format!(
            "track {id}: no stco or co64 chunk offsets"
        )));
    };
    let stsc = Stsc::read(&stbl.require(b"stsc")?)?;
    let mut runs = Vec::with_capacity(stsc.entries.len());
    for e in &stsc.entries {
        if e.first_chunk == 0 {
            return Err(BoxError::invalid(format!(
                "track {id}: stsc first_chunk is 0"
            )));
        }
        runs.push((e.first_chunk as usize, e.samples_per_chunk as usize));
    }

    let mut samples = SampleTable::new();
    samples.reserve(count);
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
                let size = sizes.get(idx);
                let duration = durations.next().expect("stts covers every sample");
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
                    dts,
                    duration: SampleDuration(duration),
                    cts_offset: CompositionOffset(offsets.next().unwrap_or(0)),
                    is_sync: sync[idx],
                    size,
                    offset: off,
                });
                dts = dts
                    .checked_add(TickDuration(duration.into()))
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
    samples.shrink_to_fit();
    Ok(samples)
}

fn parse_moof(
    moof: &RawBox,
    moof_offset: u64,
    trex: &HashMap<u32, Trex>,
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
        let tfhd = Tfhd::read(&traf.require(b"tfhd")?)?;
        let track_id = tfhd.track_id;
        let d = trex.get(&track_id).copied().unwrap_or_default();
        let base = match tfhd.base_data_offset {
            Some(b) => b,
            None if tfhd.default_base_is_moof() => moof_offset,
            None => implicit_base,
        };
        // sample_description_index: vodpack keeps the first entry only.
        let def_dur = tfhd
            .default_sample_duration
            .unwrap_or(d.default_sample_duration);
        let def_size = tfhd.default_sample_size.unwrap_or(d.default_sample_size);
        let def_flags = tfhd.default_sample_flags.unwrap_or(d.default_sample_flags);
        let track = tracks
            .iter_mut()
            .find(|t| t.id == track_id)
            .ok_or_else(|| BoxError::invalid(format!("traf for unknown track {track_id}")))?;
        let mut dts = match traf.child(b"tfdt")? {
            Some(tfdt) => {
                let t = Tfdt::read(&tfdt)?.base_media_decode_time;
                DecodeTime::checked_new(t)
                    .map_err(|e| BoxError::invalid(format!("track {track_id}: tfdt: {e}")))?
            }
            // No tfdt: the fragment continues where the track's previous samples ended.
            None => match track.samples.last() {
                Some(s) => s.try_dts_end().map_err(|e| {
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
            let trun = Trun::read(&trun)?;
            let n = trun.entries.len();
            if track.samples.len() + n > MAX_SAMPLES_PER_TRACK {
                return Err(BoxError::invalid(format!(
                    "track {track_id}: more than {MAX_SAMPLES_PER_TRACK} samples"
                )));
            }
            let mut off = match trun.data_offset {
                Some(o) => base
                    .checked_add_signed(o.into())
                    .ok_or_else(|| BoxError::invalid("trun data_offset before file start"))?,
                None => next_offset,
            };
            track.samples.reserve(n);
            for (i, e) in trun.entries.iter().enumerate() {
                let duration = if trun.has(Trun::DURATION) {
                    e.duration
                } else {
                    def_dur
                };
                let size = if trun.has(Trun::SIZE) {
                    e.size
                } else {
                    def_size
                };
                let sflags = if trun.has(Trun::FLAGS) {
                    e.flags
                } else if i == 0 {
                    trun.first_sample_flags.unwrap_or(def_flags)
                } else {
                    def_flags
                };
                // Version 0 offsets are read as signed too, as ffmpeg and players do (and as
                // ctts v0 is above): clamping them would silently move frames.
                let cto = e.composition_offset;
                if off
                    .checked_add(size as u64)
                    .is_none_or(|end| end > file_len)
                {
                    return Err(BoxError::invalid(format!(
                        "track {track_id}: sample data (bytes {off}..+{size}) runs past the end of the file (truncated?)"
                    )));
                }
                track.samples.push(Sample {
                    dts,
                    duration: SampleDuration(duration),
                    cts_offset: CompositionOffset(cto),
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

/// A track selector that is not `video`, `audio`, `text` or a track id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSelector(pub String);

impl std::fmt::Display for BadSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "track selector '#{}' must be 'video', 'audio', 'text' or a track id",
            self.0
        )
    }
}

impl std::error::Error for BadSelector {}

/// Which tracks of an input a rendition takes: `#video`, `#audio`, `#<track id>` or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackSelector {
    /// Every track of the input.
    All,
    /// The tracks of one kind (`#video`, `#audio`, `#text`).
    Kind(TrackKind),
    /// The track whose tkhd track_ID is this (`#<id>`).
    Id(u32),
}

impl TrackSelector {
    /// Parses what follows `#` in an input (empty: all tracks).
    pub fn parse(s: &str) -> std::result::Result<Self, BadSelector> {
        match s {
            "" => Ok(TrackSelector::All),
            "video" | "v" => Ok(TrackSelector::Kind(TrackKind::Video)),
            "audio" | "a" => Ok(TrackSelector::Kind(TrackKind::Audio)),
            "text" => Ok(TrackSelector::Kind(TrackKind::Text)),
            n => n
                .parse::<u32>()
                .map(TrackSelector::Id)
                .map_err(|_| BadSelector(n.to_string())),
        }
    }

    /// Whether track `t` is selected.
    pub fn matches(&self, t: &Track) -> bool {
        match self {
            TrackSelector::All => true,
            TrackSelector::Kind(k) => t.kind == *k,
            TrackSelector::Id(id) => t.id == *id,
        }
    }
}
