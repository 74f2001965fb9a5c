//! A track of an input file and its sample table (metadata only: sample bytes stay in the file
//! until a fragment needs them, so memory is bounded by a few segments; the table itself is
//! compact, `sample_table.rs`).
use super::sample_table::SampleTable;
use super::time::{DecodeTime, TickDuration, TickOffset, TimeOverflow, Timescale, MAX_TICKS};

/// What a track carries; decides segmenting rules and the manifest grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    /// hdlr `vide`.
    Video,
    /// hdlr `soun`.
    Audio,
    /// hdlr `text`, `subt` or `sbtl` (timed text and subtitles).
    Text,
    /// Any other handler (hint, meta...); the DASH writer gives it contentType `application`.
    Other,
}

impl TrackKind {
    /// From the hdlr handler type (ISO/IEC 14496-12 §8.4.3).
    pub fn from_handler(handler: &[u8; 4]) -> Self {
        match handler {
            b"vide" => TrackKind::Video,
            b"soun" => TrackKind::Audio,
            b"text" | b"subt" | b"sbtl" => TrackKind::Text,
            _ => TrackKind::Other,
        }
    }

    /// The lowercase name used in JSON reports and track selectors (`video`, `audio`...).
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
            TrackKind::Text => "text",
            TrackKind::Other => "other",
        }
    }
}

/// One track of an input file: identity, timing and the raw sample entry (copied byte-for-byte
/// into the output's stsd, so codec boxes vodpack does not model survive).
#[derive(Debug, Clone)]
pub struct Track {
    /// track_ID from tkhd.
    pub id: u32,
    /// What the track carries, derived from `handler` ([`TrackKind::from_handler`]).
    pub kind: TrackKind,
    /// hdlr handler_type, e.g. `vide`.
    pub handler: [u8; 4],
    /// mdhd timescale (ticks per second).
    pub timescale: u32,
    /// Sum of sample durations, in `timescale` ticks.
    pub duration: TickDuration,
    /// ISO 639-2/T language from mdhd ("und" when unset).
    pub language: String,
    /// tkhd width and height (16.16 fixed point, as stored).
    pub tkhd_width: u32,
    /// tkhd height (16.16 fixed point, as stored).
    pub tkhd_height: u32,
    /// The whole first sample entry box of stsd (header included), e.g. an `avc1` box.
    pub sample_entry: Vec<u8>,
    /// The edit list's media_time of the single non-empty edit, if any (presentation starts
    /// there): the distance presentation times are shifted back by.
    pub edit_media_time: Option<TickOffset>,
    /// The sample table, in decode order (compact: a [`Sample`](super::Sample) is expanded when read).
    pub samples: SampleTable,
}

impl Track {
    /// The 4CC of the sample entry, e.g. `avc1`.
    pub fn fourcc(&self) -> [u8; 4] {
        let mut f = [0u8; 4];
        if self.sample_entry.len() >= 8 {
            f.copy_from_slice(&self.sample_entry[4..8]);
        }
        f
    }

    /// The track's timescale, or `None` when it is 0.
    pub fn timescale(&self) -> Option<Timescale> {
        Timescale::new(self.timescale)
    }

    /// Checks the invariants every later time computation relies on: a non-zero timescale and
    /// every sample's decode end time and the edit list start within
    /// 2^62 ticks (`time::MAX_TICKS`), so presentation times, their differences and ends all fit
    /// in an `i64`. `InputFile::open` calls this for every track.
    pub fn check_times(&self) -> Result<(), TimeOverflow> {
        if self.timescale().is_none() {
            return Err(TimeOverflow("mdhd: timescale is 0".into()));
        }
        if let Some(TickOffset(t)) = self.edit_media_time {
            if !(0..=MAX_TICKS as i64).contains(&t) {
                return Err(TimeOverflow(format!(
                    "elst: media_time {t} is outside 0..2^62 ticks"
                )));
            }
        }
        for (i, s) in self.samples.iter().enumerate() {
            DecodeTime::checked_new(s.dts.0)
                .and_then(|t| t.checked_add(s.duration.ticks()))
                .map_err(|e| TimeOverflow(format!("sample {}: {e}", i + 1)))?;
        }
        Ok(())
    }

    /// Track duration in seconds (`duration / timescale`), 0 when the timescale is 0.
    pub fn duration_seconds(&self) -> f64 {
        if self.timescale == 0 {
            0.0
        } else {
            self.duration.0 as f64 / self.timescale as f64
        }
    }
}
