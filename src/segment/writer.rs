//! Writes one rendition: its init segment and its media segments (one file each, or a single
//! file with a sidx), reading sample bytes from the input on demand so that memory holds a
//! fragment at a time (a few with a writing thread, see `file_sink`). Encryption plugs in through
//! [`ProtectionJob`].
use super::error::SegmentError;
use super::file_sink::FileSink;
pub use super::file_sink::{OnWritten, WrittenFile};
use super::fragment::{self, FragmentProtection};
use super::init::{write_init, InitOptions};
use crate::cenc::SampleEncryptor;
use crate::error::{Error, InTrack, Result};
use crate::manifest::model::{IFrameRecord, SegmentLayout, SegmentRecord};
use crate::media::time::{
    CompositionOffset, PresentationTime, TickDuration, TickOffset, TimeOverflow,
};
use crate::media::{Sample, Track, TrackKind};
use crate::storage::Source;
use crate::ts::encrypt::{sequence_iv, SegmentCipher, TsMethod};
use crate::ts::es::EsFormat;
use crate::ts::segment::{TsClock, TsMuxer};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The encryption side of a rendition job.
pub struct ProtectionJob {
    /// Encrypts each sample in place.
    pub encryptor: SampleEncryptor,
    /// Segments (from the first) left clear but signalled (clear lead).
    pub clear_lead_segments: usize,
}

/// Everything needed to write one rendition.
pub struct RenditionJob<'a> {
    /// The rendition id (its folder under OUT).
    pub id: String,
    /// The input track.
    pub track: &'a Track,
    /// The input, read by offset (pread, or ranged GETs for an object).
    pub input: &'a Source,
    /// The input's path, for errors.
    pub input_path: &'a Path,
    /// Sample indices where segments start (from the SegmentPlan).
    pub starts: Vec<usize>,
    /// Picture width (0 for audio).
    pub width: u32,
    /// Picture height (0 for audio).
    pub height: u32,
    /// One file with a sidx instead of segment files.
    pub single_file: bool,
    /// Root of the (temporary) output directory.
    pub out_root: PathBuf,
    /// The segment sets written from the one read of the input (package::sets): each has its
    /// own folder, init segment and encryption.
    pub sets: Vec<SetJob>,
    /// The MPEG-TS segment sets (`--hls-segments ts`), written from the same read of the
    /// input, on the same segment boundaries; their outputs follow those of `sets`.
    pub ts_sets: Vec<TsSetJob>,
    /// Write each set's files on a thread of its own, overlapping reading and encrypting: for
    /// when a core would otherwise be idle (the caller knows how many renditions run at once).
    pub write_on_own_thread: bool,
}

/// One segment set of a rendition (see `RenditionJob::sets`).
pub struct SetJob {
    /// Folder relative to the output root, e.g. `video_720p` or `video_720p/cbcs`.
    pub dir: String,
    /// The init segment's contents.
    pub init: InitOptions,
    /// Encryption, when the set is encrypted.
    pub protection: Option<ProtectionJob>,
    /// Told of each file of the set once it is complete (an object-store output uploads it).
    pub on_written: Option<OnWritten>,
}

/// One MPEG-TS segment set of a rendition (see `RenditionJob::ts_sets`).
pub struct TsSetJob {
    /// Folder relative to the output root, e.g. `video_720p/ts`.
    pub dir: String,
    /// What the samples become in the transport stream.
    pub format: EsFormat,
    /// The set's encryption (`SAMPLE-AES` or `AES-128`), when it has one.
    pub crypto: Option<TsSetCrypto>,
    /// Audio written as packed audio (`--hls-packed-audio`, crate::ts::packed) instead of TS.
    pub packed: bool,
    /// Told of each segment once it is complete.
    pub on_written: Option<OnWritten>,
}

/// The encryption of one rendition's TS set (docs/mpeg-ts.md, "Encryption").
pub struct TsSetCrypto {
    /// SAMPLE-AES or AES-128.
    pub method: TsMethod,
    /// The rendition's key.
    pub key: [u8; 16],
    /// The IV of every segment when the key tag names one; else segment `n`'s IV is its media
    /// sequence number, `n - 1` (RFC 8216 §5.2).
    pub iv: Option<[u8; 16]>,
    /// Segments (from the first) left clear (`#EXT-X-KEY:METHOD=NONE`).
    pub clear_lead_segments: usize,
}

impl TsSetCrypto {
    /// The IV of segment `index` (from 0), or `None` when it is in the clear lead.
    fn segment_iv(&self, index: usize) -> Option<[u8; 16]> {
        (index >= self.clear_lead_segments)
            .then(|| self.iv.unwrap_or_else(|| sequence_iv(index as u64)))
    }
}

/// What was written, for the manifests.
#[derive(Debug, Clone)]
pub struct RenditionOutput {
    /// The init segment (or single file), relative to OUT.
    pub init_path: String,
    /// How the segments are stored.
    pub layout: SegmentLayout,
    /// The media segments written.
    pub segments: Vec<SegmentRecord>,
    /// Sync samples, for I-frame playlists.
    pub iframes: Vec<IFrameRecord>,
    /// Peak segment bitrate, bits per second.
    pub peak_bandwidth: u64,
    /// Average bitrate, bits per second.
    pub average_bandwidth: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The samples of `track` from index `from` on, with the composition offsets they are written
/// with: video folds its edit list start into (possibly negative) offsets so presentation starts
/// at the first sync sample's decode time. An offset that no longer fits the 32-bit `trun` field
/// is invalid input naming `path`. Expanded one at a time from the compact table (nothing per
/// sample is held: the writer takes one segment at a time).
pub fn output_samples<'a>(
    track: &'a Track,
    path: &'a Path,
    from: usize,
) -> impl Iterator<Item = Result<Sample>> + 'a {
    let shift = match track.kind {
        TrackKind::Video => track.edit_media_time.unwrap_or_default(),
        _ => TickOffset(0),
    };
    track
        .samples
        .iter_from(from)
        .enumerate()
        .map(move |(k, s)| {
            let i = from + k;
            let cto = s
                .cts_offset
                .ticks()
                .checked_sub(shift)
                .and_then(TickOffset::to_i32)
                .map_err(|e| {
                    time_error(
                        path,
                        track.id,
                        Some(i),
                        "elst/ctts: composition offset minus the edit list start",
                        e,
                    )
                })?;
            Ok(Sample {
                cts_offset: CompositionOffset(cto),
                ..s
            })
        })
}

/// A time that does not fit, placed in its file, track and sample (`index` counts from 0).
fn time_error(
    path: &Path,
    track: u32,
    index: Option<usize>,
    what: &'static str,
    e: TimeOverflow,
) -> Error {
    let e = SegmentError::Time { what, source: e };
    Error::layer(
        e.kind(),
        Some(path.to_path_buf()),
        InTrack {
            rendition: None,
            track,
            sample: index.map(|i| i as u64 + 1),
            source: Box::new(e),
        },
    )
}

/// An error of the encryptor (which parses NAL units without knowing the file) placed in its
/// file, track and sample (`index` counts from 0).
fn in_sample(e: Error, path: &Path, track: u32, index: usize) -> Error {
    let kind = e.kind();
    let source: crate::error::BoxedSource = match e {
        // A layer error without a file: the file is named here.
        Error::Layer {
            path: None, source, ..
        } => source,
        other => Box::new(other),
    };
    Error::layer(
        kind,
        Some(path.to_path_buf()),
        InTrack {
            rendition: None,
            track,
            sample: Some(index as u64 + 1),
            source,
        },
    )
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Reads the bytes of consecutive samples `samples` into `buf`, coalescing contiguous ranges.
fn read_samples(input: &Source, path: &Path, samples: &[Sample], buf: &mut Vec<u8>) -> Result<()> {
    let total: usize = samples.iter().map(|s| s.size as usize).sum();
    // Every byte is read over; only growth is zero-filled (not the whole buffer each time).
    buf.truncate(total);
    buf.resize(total, 0);
    let mut i = 0;
    let mut at = 0usize;
    while i < samples.len() {
        let start = samples[i].offset;
        let mut len = samples[i].size as u64;
        let mut j = i + 1;
        while j < samples.len() && samples[j].offset == start + len {
            len += samples[j].size as u64;
            j += 1;
        }
        input
            .read_exact_at(&mut buf[at..at + len as usize], start)
            .map_err(|e| {
                Error::invalid(path, format!("reading sample data at byte {start}: {e}"))
            })?;
        at += len as usize;
        i = j;
    }
    Ok(())
}

/// The writing state of one segment set.
struct SetState {
    dir: String,
    protection: Option<ProtectionJob>,
    init_bytes: Vec<u8>,
    /// One file with a sidx (`media.mp4`) instead of segment files.
    single: bool,
    single_path: PathBuf,
    /// Where the files are written (on a thread of their own).
    sink: FileSink,
    on_written: Option<OnWritten>,
    offset_in_single: u64,
    segments: Vec<SegmentRecord>,
    iframes: Vec<IFrameRecord>,
    sequence: u32,
    total_bytes: u64,
    peak: f64,
    /// The head (moof, mdat header) of the fragment being built; fragments go to the sink as
    /// soon as they are built, so memory holds a few fragments, not a whole segment.
    seg_bytes: Vec<u8>,
    /// Bytes of the current segment written so far.
    seg_size: u64,
    /// This set's copy of the fragment's sample bytes (encrypted in place).
    data: Vec<u8>,
    aux: Vec<crate::cenc::SampleAuxInfo>,
}

/// The writing state of one MPEG-TS segment set.
struct TsSetState {
    dir: String,
    on_written: Option<OnWritten>,
    muxer: TsMuxer,
    /// The segment file being written.
    file: Option<(File, PathBuf)>,
    /// The packets of the fragment being built.
    buf: Vec<u8>,
    seg_size: u64,
    segments: Vec<SegmentRecord>,
    iframes: Vec<IFrameRecord>,
    total_bytes: u64,
    peak: f64,
    crypto: Option<TsSetCrypto>,
    /// AES-128: the cipher of the segment being written.
    segment_cipher: Option<SegmentCipher>,
    /// Packed audio: segments are the elementary stream after an ID3 timestamp tag.
    packed: bool,
    /// Packed audio: the segment's ID3 tag is still to be written (it needs the first PTS),
    /// with the segment's SAMPLE-AES IV (`None`: clear).
    tag_pending: Option<Option<[u8; 16]>>,
    /// The segment files' extension: `ts`, or `aac`/`ac3`/`ec3`/`mp3` for packed audio.
    ext: &'static str,
}

impl TsSetState {
    fn write(&mut self, path: &Path) -> Result<()> {
        if let Some(c) = self.segment_cipher.as_mut() {
            c.update(&mut self.buf);
        }
        if let Some((f, p)) = self.file.as_mut() {
            f.write_all(&self.buf).map_err(io_err(p))?;
        } else {
            return Err(Error::io(
                path,
                std::io::Error::other("a TS fragment before its segment"),
            ));
        }
        self.seg_size += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// Writes the rendition (every set of it); `progress` is called with the number of samples done.
/// Returns one output per set, in the order of `job.sets`.
pub fn write_rendition(
    job: RenditionJob,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<RenditionOutput>> {
    use rayon::prelude::*;
    let track = job.track;
    // Every sample's output offset is checked first (one pass over the table, nothing kept).
    for s in output_samples(track, job.input_path, 0) {
        s?;
    }
    // Time arithmetic on file values: an overflow names the file and track (the input reader
    // bounds every time, so this is a second line of defence, not an expected path).
    let bad_time = |e: TimeOverflow| time_error(job.input_path, track.id, None, "trun/tfdt", e);
    let n = track.samples.len();
    let is_video = track.kind == TrackKind::Video;

    // Segment i covers samples starts[i]..starts[i+1]; video splits further into one fragment per
    // GOP so every sync sample is addressable for I-frame playlists.
    let mut bounds = job.starts.clone();
    bounds.push(n);
    let seg_ranges: Vec<(usize, usize)> = bounds
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| a < b)
        .collect();
    // Output presentation times: video has its edit folded into the offsets; audio keeps its
    // edit list in the init segment and its timeline follows composition time.
    // Every composition end time is checked once here (no per-sample table: memory stays as it
    // was); after this, `pts(i)` cannot fail for these samples.
    let mut end_pts: Option<PresentationTime> = None;
    for s in output_samples(track, job.input_path, 0) {
        let end = s?.try_cts_end().map_err(bad_time)?;
        end_pts = Some(end_pts.map_or(end, |e| e.max(end)));
    }
    let pts = |s: &Sample| s.try_cts().map_err(bad_time);
    // The earliest presentation time of each segment, in one pass over the samples.
    let mut seg_start_pts: Vec<PresentationTime> = Vec::with_capacity(seg_ranges.len());
    {
        let mut walk = output_samples(track, job.input_path, 0).enumerate();
        for &(a, b) in &seg_ranges {
            let mut earliest: Option<PresentationTime> = None;
            for (i, s) in walk.by_ref() {
                if i < a {
                    continue;
                }
                let t = pts(&s?)?;
                earliest = Some(earliest.map_or(t, |m| m.min(t)));
                if i + 1 == b {
                    break;
                }
            }
            seg_start_pts.push(earliest.unwrap_or_default());
        }
    }
    let end_pts = end_pts.unwrap_or_default();
    // `later - earlier`, 0 when later is not later (a stream whose next keyframe is presented
    // before this one).
    let span = |earlier: PresentationTime, later: PresentationTime| -> Result<TickDuration> {
        if later <= earlier {
            return Ok(TickDuration(0));
        }
        later.duration_since(earlier).map_err(bad_time)
    };
    if job.single_file && seg_ranges.len() > usize::from(u16::MAX) {
        let e = SegmentError::TooManyForSidx {
            segments: seg_ranges.len(),
        };
        return Err(Error::layer(
            e.kind(),
            Some(job.input_path.to_path_buf()),
            InTrack {
                rendition: None,
                track: track.id,
                sample: None,
                source: Box::new(e),
            },
        ));
    }

    let mut sets: Vec<SetState> = Vec::with_capacity(job.sets.len());
    for set in job.sets {
        let dir = job.out_root.join(&set.dir);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let init_bytes = write_init(track, &set.init, job.width, job.height);
        let single_path = dir.join("media.mp4");
        let single = if job.single_file {
            let mut f = File::create(&single_path).map_err(io_err(&single_path))?;
            f.write_all(&init_bytes).map_err(io_err(&single_path))?;
            // Reserve the sidx; it is written once the fragment sizes are known.
            f.write_all(&vec![0u8; fragment::sidx_len(seg_ranges.len())])
                .map_err(io_err(&single_path))?;
            Some((f, single_path.clone()))
        } else {
            let p = dir.join("init.mp4");
            std::fs::write(&p, &init_bytes).map_err(io_err(&p))?;
            if let Some(on_written) = &set.on_written {
                on_written(WrittenFile {
                    path: p,
                    segment: None,
                })?;
            }
            None
        };
        let single_file = single.is_some();
        let sink = FileSink::new(
            single,
            job.write_on_own_thread,
            &dir,
            set.on_written.clone(),
        )?;
        sets.push(SetState {
            offset_in_single: (init_bytes.len() + fragment::sidx_len(seg_ranges.len())) as u64,
            dir: set.dir,
            protection: set.protection,
            init_bytes,
            single: single_file,
            single_path,
            sink,
            on_written: set.on_written,
            segments: Vec::with_capacity(seg_ranges.len()),
            iframes: Vec::new(),
            sequence: 1,
            total_bytes: 0,
            peak: 0.0,
            seg_bytes: Vec::new(),
            seg_size: 0,
            data: Vec::new(),
            aux: Vec::new(),
        });
    }
    // The TS sets: samples on the 90 kHz clock, the CMAF set's presentation times plus the
    // offset every rendition shares (audio's edit list applied, which TS cannot carry).
    let ts_clock = TsClock::new(
        track.timescale,
        if is_video {
            0
        } else {
            track.edit_media_time.map_or(0, |t| t.0)
        },
        output_samples(track, job.input_path, 0)
            .filter_map(|s| s.ok())
            .filter_map(|s| Some((i64::try_from(s.dts.0).ok()?, s.try_cts().ok()?.0))),
    );
    let mut ts_sets: Vec<TsSetState> = Vec::with_capacity(job.ts_sets.len());
    for set in job.ts_sets {
        let dir = job.out_root.join(&set.dir);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let format = set.format.with_sample_entry(&track.sample_entry);
        let packed_ext = crate::ts::packed::extension(&format).filter(|_| set.packed);
        let muxer = match &set.crypto {
            Some(c) if c.method == TsMethod::SampleAes => TsMuxer::with_sample_aes(format, &c.key),
            _ => TsMuxer::new(format),
        };
        ts_sets.push(TsSetState {
            packed: packed_ext.is_some(),
            tag_pending: None,
            ext: packed_ext.unwrap_or("ts"),
            crypto: set.crypto,
            segment_cipher: None,
            dir: set.dir,
            on_written: set.on_written,
            muxer,
            file: None,
            buf: Vec::new(),
            seg_size: 0,
            segments: Vec::with_capacity(seg_ranges.len()),
            iframes: Vec::new(),
            total_bytes: 0,
            peak: 0.0,
        });
    }
    let several = sets.len() > 1;
    let styp = fragment::styp();
    // The sample bytes of one fragment, read once for every set.
    let mut data = Vec::new();
    // The samples of one segment, expanded from the table when the segment is written:
    // `seg[i - a]` is sample `i`.
    let mut seg: Vec<Sample> = Vec::new();
    for (si, &(a, b)) in seg_ranges.iter().enumerate() {
        seg.clear();
        for s in output_samples(track, job.input_path, a).take(b - a) {
            seg.push(s?);
        }
        let sample = |i: usize| &seg[i - a];
        // A fragment also starts wherever the source's decode times jump (a gap or overlap
        // between its fragments): `tfdt` then carries the jump, so no sample moves in time.
        let mut frag_starts = vec![a];
        for i in a + 1..b {
            let prev = sample(i - 1);
            let continuous = prev.try_dts_end().is_ok_and(|end| end == sample(i).dts);
            if (is_video && sample(i).is_sync) || !continuous {
                frag_starts.push(i);
            }
        }
        frag_starts.push(b);
        // A stop requested by a signal is honoured between segments.
        crate::cancel::check()?;
        for set in sets.iter_mut() {
            set.seg_size = 0;
            if !set.single {
                let (rel_path, _) = seg_location(set, si);
                set.sink.create(
                    job.out_root.join(&rel_path),
                    styp.clone(),
                    (si as u64 + 1, seg_start_pts[si].at_or_after_zero()),
                )?;
                set.seg_size = styp.len() as u64;
            }
        }
        for set in ts_sets.iter_mut() {
            let path = job
                .out_root
                .join(format!("{}/seg_{}.{}", set.dir, si + 1, set.ext));
            let f = File::create(&path).map_err(io_err(&path))?;
            set.file = Some((f, path));
            set.seg_size = 0;
            set.buf.clear();
            let iv = set.crypto.as_ref().and_then(|c| c.segment_iv(si));
            let (sample_aes, segment) = match (&set.crypto, iv) {
                (Some(c), Some(iv)) if c.method == TsMethod::Aes128 => {
                    (None, Some(SegmentCipher::new(&c.key, iv)))
                }
                (_, iv) => (iv, None),
            };
            set.segment_cipher = segment;
            if set.packed {
                set.tag_pending = Some(sample_aes);
            } else {
                set.muxer.start_segment(&mut set.buf, sample_aes);
            }
        }
        for w in frag_starts.windows(2) {
            let (fa, fb) = (w[0], w[1]);
            let frag_samples = &seg[fa - a..fb - a];
            read_samples(job.input, job.input_path, frag_samples, &mut data)?;
            let next_sync_pts = if is_video && sample(fa).is_sync {
                // In this segment, else (as a rule, the next segment's first sample) later.
                let later = match seg[fb - a..].iter().find(|s| s.is_sync) {
                    Some(s) => Some(*s),
                    None => output_samples(track, job.input_path, b)
                        .find(|s| s.as_ref().is_ok_and(|s| s.is_sync) || s.is_err())
                        .transpose()?,
                };
                Some(match later {
                    Some(s) => pts(&s)?,
                    None => end_pts,
                })
            } else {
                None
            };
            let frag_pts = pts(sample(fa))?;
            // The TS sets first: they read the clear bytes the CMAF sets then encrypt in place.
            for set in ts_sets.iter_mut() {
                let mut at = 0usize;
                for (k, s) in frag_samples.iter().enumerate() {
                    let i = fa + k;
                    let bytes = &data[at..at + s.size as usize];
                    at += s.size as usize;
                    let iframe_start = if is_video && s.is_sync {
                        if i != a {
                            // A reader may start at every keyframe (I-frame byte ranges).
                            set.muxer.tables(&mut set.buf);
                        }
                        Some(if i == a { 0 } else { set.seg_size })
                    } else {
                        None
                    };
                    let cts = s.try_cts().map_err(bad_time)?.0;
                    let dts = i64::try_from(s.dts.0).unwrap_or(i64::MAX);
                    let (Some(ts_pts), Some(ts_dts)) = (ts_clock.pts(cts), ts_clock.dts(dts))
                    else {
                        return Err(Error::unsupported(
                            job.input_path,
                            format!(
                                "track {}: sample {}: its time does not fit the MPEG-TS clock",
                                track.id,
                                i + 1
                            ),
                        ));
                    };
                    let written = if set.packed {
                        if let Some(iv) = set.tag_pending.take() {
                            set.muxer.start_packed_segment(&mut set.buf, iv, ts_pts);
                        }
                        set.muxer.packed_sample(&mut set.buf, bytes, s.is_sync)
                    } else {
                        set.muxer
                            .sample(&mut set.buf, bytes, s.is_sync, ts_pts, ts_dts)
                    };
                    written.map_err(|e| {
                        Error::invalid(
                            job.input_path,
                            format!("track {}: sample {}: {e}", track.id, i + 1),
                        )
                    })?;
                    // A byte range of a segment encrypted whole cannot be decrypted alone: an
                    // AES-128 set has no I-frame playlist.
                    let whole_segment = set.segment_cipher.is_some();
                    if let (Some(start), Some(next_sync_pts), false) =
                        (iframe_start, next_sync_pts, whole_segment)
                    {
                        let end = set.seg_size + set.buf.len() as u64;
                        set.iframes.push(IFrameRecord {
                            path: format!("{}/seg_{}.ts", set.dir, si + 1),
                            offset: start,
                            length: end - start,
                            start: frag_pts.at_or_after_zero(),
                            duration: span(frag_pts, next_sync_pts)?,
                        });
                    }
                }
                let path = job.out_root.join(&set.dir);
                set.write(&path)?;
            }
            let write_set = |set: &mut SetState, data: &mut Vec<u8>| -> Result<()> {
                let clear = set
                    .protection
                    .as_ref()
                    .is_some_and(|p| si < p.clear_lead_segments);
                set.aux.clear();
                let protection = match set.protection.as_mut() {
                    Some(_) if clear => Some(FragmentProtection::ClearLead),
                    Some(p) => {
                        p.encryptor
                            .encrypt_samples(
                                data,
                                frag_samples.iter().map(|s| s.size as usize),
                                &mut set.aux,
                            )
                            .map_err(|(k, e)| in_sample(e, job.input_path, track.id, fa + k))?;
                        Some(FragmentProtection::Encrypted {
                            aux: &set.aux,
                            subsamples: p.encryptor.uses_subsamples(),
                        })
                    }
                    None => None,
                };
                // Offset of this fragment in its segment; the buffer holds only the fragment.
                let frag_start = set.seg_size;
                set.seg_bytes.clear();
                fragment::write_fragment_head(
                    &mut set.seg_bytes,
                    set.sequence,
                    super::OUTPUT_TRACK_ID,
                    frag_samples,
                    data.len(),
                    protection.as_ref(),
                )?;
                let payload_at = set.seg_bytes.len();
                set.sequence += 1;
                set.seg_size += (payload_at + data.len()) as u64;
                // Handed to the set's sink at once (memory holds a fragment or a few per set, not
                // a whole segment); written buffers come back for the next fragment.
                let head = std::mem::take(&mut set.seg_bytes);
                set.sink.append(head, std::mem::take(data))?;
                (set.seg_bytes, *data) = set.sink.spare();
                if let Some(next_sync_pts) = next_sync_pts {
                    let (path, offset) = seg_location(set, si);
                    set.iframes.push(IFrameRecord {
                        path,
                        offset: offset + frag_start,
                        length: (payload_at + frag_samples[0].size as usize) as u64,
                        start: frag_pts.at_or_after_zero(),
                        duration: span(frag_pts, next_sync_pts)?,
                    });
                }
                Ok(())
            };
            if several {
                // Read once; every set but the last encrypts its own copy, the last the read
                // buffer itself; the sets are encrypted and written in parallel.
                let (last, firsts) = sets.split_last_mut().expect("several sets");
                for set in firsts.iter_mut() {
                    set.data.clear();
                    set.data.extend_from_slice(&data);
                }
                let (a, b) = rayon::join(
                    || {
                        firsts.par_iter_mut().try_for_each(|set| {
                            let mut own = std::mem::take(&mut set.data);
                            let r = write_set(set, &mut own);
                            set.data = own;
                            r
                        })
                    },
                    || write_set(last, &mut data),
                );
                a?;
                b?;
            } else {
                write_set(&mut sets[0], &mut data)?;
            }
        }
        progress((b - a) as u64);
        let start = seg_start_pts[si];
        let next = seg_start_pts.get(si + 1).copied().unwrap_or(end_pts);
        let duration = span(start, next)?.max(TickDuration(1));
        // The segment's fragments are written; record it.
        let finish = |set: &mut SetState| -> Result<()> {
            let clear = set
                .protection
                .as_ref()
                .is_some_and(|p| si < p.clear_lead_segments);
            let (rel_path, seg_offset) = seg_location(set, si);
            let size = set.seg_size;
            set.peak = set
                .peak
                .max(size as f64 * 8.0 * track.timescale as f64 / duration.0 as f64);
            set.total_bytes += size;
            if set.single {
                set.offset_in_single += size;
            }
            set.segments.push(SegmentRecord {
                number: si as u64 + 1,
                start: start.at_or_after_zero(),
                duration,
                size,
                path: rel_path,
                offset: seg_offset,
                clear,
            });
            Ok(())
        };
        for set in sets.iter_mut() {
            finish(set)?;
        }
        for set in ts_sets.iter_mut() {
            if let Some(c) = set.segment_cipher.take() {
                let last = c.finish();
                if let Some((f, p)) = set.file.as_mut() {
                    f.write_all(&last).map_err(io_err(p))?;
                }
                set.seg_size += last.len() as u64;
            }
            if let Some((f, path)) = set.file.take() {
                drop(f); // closes the segment
                if let Some(on_written) = &set.on_written {
                    on_written(WrittenFile {
                        path,
                        segment: Some((si as u64 + 1, start.at_or_after_zero())),
                    })?;
                }
            }
            let clear = set
                .crypto
                .as_ref()
                .is_some_and(|c| si < c.clear_lead_segments);
            let size = set.seg_size;
            set.peak = set
                .peak
                .max(size as f64 * 8.0 * track.timescale as f64 / duration.0 as f64);
            set.total_bytes += size;
            set.segments.push(SegmentRecord {
                number: si as u64 + 1,
                start: start.at_or_after_zero(),
                duration,
                size,
                path: format!("{}/seg_{}.{}", set.dir, si + 1, set.ext),
                offset: 0,
                clear,
            });
        }
    }

    let first_pts = seg_start_pts.first().copied().unwrap_or_default();
    let total_duration =
        span(first_pts, end_pts)?.max(TickDuration(1)).0 as f64 / track.timescale as f64;
    let mut outputs = Vec::with_capacity(sets.len());
    for set in sets {
        // Everything handed to the set's writing thread is on disk once it has finished.
        let single = set.sink.finish()?;
        let layout = if let Some(mut f) = single {
            let refs: Vec<(u64, u64)> = set
                .segments
                .iter()
                .map(|s| (s.size, s.duration.0))
                .collect();
            let earliest = set
                .segments
                .first()
                .map_or(0, |s| s.start.clamp_non_negative());
            let sidx = fragment::sidx(super::OUTPUT_TRACK_ID, track.timescale, earliest, &refs)
                .map_err(|e| {
                    Error::unsupported(job.input_path, format!("track {}: {e}", track.id))
                })?;
            f.seek(SeekFrom::Start(set.init_bytes.len() as u64))
                .map_err(io_err(&set.single_path))?;
            f.write_all(&sidx).map_err(io_err(&set.single_path))?;
            drop(f);
            if let Some(on_written) = &set.on_written {
                on_written(WrittenFile {
                    path: set.single_path.clone(),
                    segment: None,
                })?;
            }
            let init_end = set.init_bytes.len() as u64;
            SegmentLayout::SingleFile {
                init_range: (0, init_end - 1),
                index_range: (init_end, init_end + sidx.len() as u64 - 1),
            }
        } else {
            SegmentLayout::Files {
                template: "seg_$Number$.m4s".into(),
                start_number: 1,
            }
        };
        outputs.push(RenditionOutput {
            init_path: if job.single_file {
                format!("{}/media.mp4", set.dir)
            } else {
                format!("{}/init.mp4", set.dir)
            },
            layout,
            segments: set.segments,
            iframes: set.iframes,
            peak_bandwidth: set.peak.ceil() as u64,
            average_bandwidth: (set.total_bytes as f64 * 8.0 / total_duration).ceil() as u64,
            bytes: set.total_bytes + set.init_bytes.len() as u64,
        });
    }
    for set in ts_sets {
        outputs.push(RenditionOutput {
            // No init segment: every segment starts with its PAT and PMT (packed audio: with
            // its ID3 timestamp tag).
            init_path: String::new(),
            layout: SegmentLayout::Files {
                template: format!("seg_$Number$.{}", set.ext),
                start_number: 1,
            },
            segments: set.segments,
            iframes: set.iframes,
            peak_bandwidth: set.peak.ceil() as u64,
            average_bandwidth: (set.total_bytes as f64 * 8.0 / total_duration).ceil() as u64,
            bytes: set.total_bytes,
        });
    }
    Ok(outputs)
}

/// Where segment `si` of a set goes: its path relative to the output root and its offset in
/// that file (0 for segment files).
fn seg_location(set: &SetState, si: usize) -> (String, u64) {
    if set.single {
        (format!("{}/media.mp4", set.dir), set.offset_in_single)
    } else {
        (format!("{}/seg_{}.m4s", set.dir, si + 1), 0)
    }
}
