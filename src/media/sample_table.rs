//! A track's sample table kept compact: what varies from sample to sample is stored per sample
//! in its narrowest form, what does not is stored once, and decode times and byte offsets are
//! rebuilt from anchors instead of being stored for every sample. A [`Sample`] is expanded on
//! demand, one segment at a time, so a two-hour title costs about 4.5 bytes per sample instead
//! of a 32-byte `Sample` each (docs/memory.md has the figures).
use super::time::{CompositionOffset, DecodeTime, PresentationTime, SampleDuration, TimeOverflow};
use std::ops::Range;

/// One sample's metadata, as [`SampleTable`] expands it. `offset` is the absolute byte offset of
/// its data in the input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Decode time in track timescale ticks.
    pub dts: DecodeTime,
    /// Sample duration in track timescale ticks (stts delta or trun/tfhd/trex duration).
    pub duration: SampleDuration,
    /// Composition time offset (cts - dts), may be negative (trun v1 / ctts v1).
    pub cts_offset: CompositionOffset,
    /// True for a sync sample: listed in stss (all samples when stss is absent), or without
    /// sample_is_non_sync_sample in the fragment's sample flags.
    pub is_sync: bool,
    /// Sample size in bytes (stsz/stz2 or trun/tfhd/trex).
    pub size: u32,
    /// Absolute byte offset of the sample's data in the input file.
    pub offset: u64,
}

impl Sample {
    /// Composition (presentation) time. Tracks read by `InputFile::open` are checked
    /// ([`Track::check_times`](super::Track::check_times)) so this cannot overflow for them; for others, an out-of-range
    /// value saturates (use [`Sample::try_cts`] to get the error instead).
    pub fn cts(&self) -> i64 {
        self.try_cts()
            .map(|t| t.0)
            .unwrap_or(if self.cts_offset.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            })
    }

    /// Composition time, or the overflow.
    pub fn try_cts(&self) -> Result<PresentationTime, TimeOverflow> {
        self.dts.checked_offset(self.cts_offset.ticks())
    }

    /// Decode end time (`dts + duration`), or the overflow.
    pub fn try_dts_end(&self) -> Result<DecodeTime, TimeOverflow> {
        self.dts.checked_add(self.duration.ticks())
    }

    /// Composition end time (`cts + duration`), or the overflow.
    pub fn try_cts_end(&self) -> Result<PresentationTime, TimeOverflow> {
        self.try_cts()?.checked_add(self.duration.ticks())
    }
}

/// At most this many samples separate two anchors, so finding sample `i` sums at most this many
/// durations and sizes after a binary search.
const ANCHOR_EVERY: usize = 64;

/// One value per sample, stored once while every sample has the same one (a constant sample
/// duration, no composition offsets, a constant audio frame size).
#[derive(Debug, Clone)]
enum Column<T> {
    Same(T),
    Each(Vec<T>),
}

impl<T: Copy + PartialEq + Default> Column<T> {
    /// Appends the value of sample `len` (the samples before it are `0..len`); a first
    /// different value makes room for `expected` samples.
    fn push(&mut self, len: usize, v: T, expected: usize) {
        match self {
            Column::Same(x) if len == 0 || *x == v => *x = v,
            Column::Same(x) => {
                let mut each = Vec::with_capacity(expected.max(len + 1));
                each.resize(len, *x);
                each.push(v);
                *self = Column::Each(each);
            }
            Column::Each(each) => each.push(v),
        }
    }

    fn get(&self, i: usize) -> T {
        match self {
            Column::Same(x) => *x,
            Column::Each(each) => each[i],
        }
    }

    fn reserve(&mut self, n: usize) {
        if let Column::Each(each) = self {
            each.reserve(n);
        }
    }

    fn shrink_to_fit(&mut self) {
        if let Column::Each(each) = self {
            each.shrink_to_fit();
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Column::Same(_) => 0,
            Column::Each(each) => each.capacity() * std::mem::size_of::<T>(),
        }
    }
}

impl<T: Default> Default for Column<T> {
    fn default() -> Self {
        Column::Same(T::default())
    }
}

/// Sync flags: all the same (audio, intra-only video), else one bit per sample.
#[derive(Debug, Clone)]
enum SyncColumn {
    Same(bool),
    Bits(Vec<u64>),
}

impl SyncColumn {
    fn push(&mut self, len: usize, v: bool) {
        match self {
            SyncColumn::Same(x) if len == 0 || *x == v => *x = v,
            SyncColumn::Same(x) => {
                let fill = if *x { u64::MAX } else { 0 };
                let mut bits = vec![fill; len.div_ceil(64)];
                if !len.is_multiple_of(64) {
                    // Bits past `len` stay 0 so pushing can OR into the last word.
                    *bits.last_mut().expect("len > 0") &= (1u64 << (len % 64)) - 1;
                }
                *self = SyncColumn::Bits(bits);
                self.push(len, v);
            }
            SyncColumn::Bits(bits) => {
                if len.is_multiple_of(64) {
                    bits.push(0);
                }
                if v {
                    *bits.last_mut().expect("a word for sample len") |= 1 << (len % 64);
                }
            }
        }
    }

    fn get(&self, i: usize) -> bool {
        match self {
            SyncColumn::Same(x) => *x,
            SyncColumn::Bits(bits) => bits[i / 64] >> (i % 64) & 1 == 1,
        }
    }

    fn shrink_to_fit(&mut self) {
        if let SyncColumn::Bits(bits) = self {
            bits.shrink_to_fit();
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            SyncColumn::Same(_) => 0,
            SyncColumn::Bits(bits) => bits.capacity() * 8,
        }
    }
}

impl Default for SyncColumn {
    fn default() -> Self {
        SyncColumn::Same(true)
    }
}

/// Where decode time and byte offset are known outright: the first sample, every sample that
/// does not follow on from the previous one (a tfdt jump, a new chunk or fragment elsewhere in
/// the file), and at least every [`ANCHOR_EVERY`] samples.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    index: usize,
    dts: DecodeTime,
    offset: u64,
}

/// The samples of a track in decode order, stored compactly (see the module comment). Built by
/// [`SampleTable::push`] (or `collect()`); read as [`Sample`] values through [`SampleTable::iter`]
/// and [`SampleTable::iter_from`] (constant time per sample) or [`SampleTable::get`].
#[derive(Debug, Clone, Default)]
pub struct SampleTable {
    len: usize,
    sizes: Column<u32>,
    durations: Column<u32>,
    cts_offsets: Column<i32>,
    sync: SyncColumn,
    anchors: Vec<Anchor>,
    /// The last sample pushed: where the next one must start to follow on without an anchor.
    last: Option<Sample>,
    /// Samples announced by [`SampleTable::reserve`]: the room a column takes when its values
    /// start to differ.
    expected: usize,
}

impl SampleTable {
    /// An empty table.
    pub fn new() -> SampleTable {
        SampleTable::default()
    }

    /// Appends the next sample in decode order.
    pub fn push(&mut self, s: Sample) {
        let i = self.len;
        let follows_on = self.last.is_some_and(|p| {
            p.try_dts_end().ok() == Some(s.dts)
                && p.offset.checked_add(u64::from(p.size)) == Some(s.offset)
        });
        let since_anchor = i - self.anchors.last().map_or(0, |a| a.index);
        if !follows_on || since_anchor >= ANCHOR_EVERY {
            self.anchors.push(Anchor {
                index: i,
                dts: s.dts,
                offset: s.offset,
            });
        }
        let expected = self.expected;
        self.sizes.push(i, s.size, expected);
        self.durations.push(i, s.duration.0, expected);
        self.cts_offsets.push(i, s.cts_offset.0, expected);
        self.sync.push(i, s.is_sync);
        self.len += 1;
        self.last = Some(s);
    }

    /// Makes room for `n` more samples in the per-sample columns.
    pub fn reserve(&mut self, n: usize) {
        self.expected = self.expected.max(self.len.saturating_add(n));
        self.sizes.reserve(n);
        self.durations.reserve(n);
        self.cts_offsets.reserve(n);
    }

    /// Gives back the spare capacity of growing (called once a track is read).
    pub fn shrink_to_fit(&mut self) {
        self.sizes.shrink_to_fit();
        self.durations.shrink_to_fit();
        self.cts_offsets.shrink_to_fit();
        self.sync.shrink_to_fit();
        self.anchors.shrink_to_fit();
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the track has no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sample `i`, or `None` past the end. Costs a binary search and up to 64 additions: walk
    /// with [`SampleTable::iter_from`] instead of calling this in a loop.
    pub fn get(&self, i: usize) -> Option<Sample> {
        self.iter_from(i).next()
    }

    /// The first sample.
    pub fn first(&self) -> Option<Sample> {
        self.get(0)
    }

    /// The last sample.
    pub fn last(&self) -> Option<Sample> {
        self.last
    }

    /// Every sample, in decode order.
    pub fn iter(&self) -> Samples<'_> {
        self.iter_from(0)
    }

    /// The samples from index `i` on.
    pub fn iter_from(&self, i: usize) -> Samples<'_> {
        let k = self.anchors.partition_point(|a| a.index <= i);
        let mut it = match k.checked_sub(1).map(|k| (k, self.anchors[k])) {
            Some((k, a)) => Samples {
                table: self,
                next: a.index,
                next_anchor: k,
                dts: a.dts.0,
                offset: a.offset,
            },
            None => Samples {
                table: self,
                next: self.len,
                next_anchor: 0,
                dts: 0,
                offset: 0,
            },
        };
        while it.next < i.min(self.len) {
            it.next();
        }
        if i >= self.len {
            it.next = self.len;
        }
        it
    }

    /// The samples `range` (clamped to the table).
    pub fn range(&self, range: Range<usize>) -> std::iter::Take<Samples<'_>> {
        self.iter_from(range.start)
            .take(range.end.saturating_sub(range.start))
    }

    /// Total size in bytes of the samples `range` (clamped to the table).
    pub fn bytes(&self, range: Range<usize>) -> u64 {
        let range = range.start.min(self.len)..range.end.min(self.len);
        match &self.sizes {
            Column::Same(x) => u64::from(*x) * range.len() as u64,
            Column::Each(each) => each[range].iter().map(|&s| u64::from(s)).sum(),
        }
    }

    /// Heap bytes the table holds (for the memory figures of docs/memory.md and its tests).
    pub fn heap_bytes(&self) -> usize {
        self.sizes.heap_bytes()
            + self.durations.heap_bytes()
            + self.cts_offsets.heap_bytes()
            + self.sync.heap_bytes()
            + self.anchors.capacity() * std::mem::size_of::<Anchor>()
    }
}

impl FromIterator<Sample> for SampleTable {
    fn from_iter<I: IntoIterator<Item = Sample>>(iter: I) -> SampleTable {
        let mut t = SampleTable::new();
        for s in iter {
            t.push(s);
        }
        t.shrink_to_fit();
        t
    }
}

impl<'a> IntoIterator for &'a SampleTable {
    type Item = Sample;
    type IntoIter = Samples<'a>;
    fn into_iter(self) -> Samples<'a> {
        self.iter()
    }
}

/// Samples of a [`SampleTable`] expanded one by one, in decode order.
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    table: &'a SampleTable,
    /// Index of the sample `next()` returns.
    next: usize,
    /// The first anchor not yet reached.
    next_anchor: usize,
    /// Decode time and offset of sample `next` when it follows on from the previous one.
    dts: u64,
    offset: u64,
}

impl Samples<'_> {
    /// Index of the sample the next call to `next()` returns.
    pub fn position(&self) -> usize {
        self.next
    }
}

impl Iterator for Samples<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        let t = self.table;
        let i = self.next;
        if i >= t.len {
            return None;
        }
        if let Some(a) = t.anchors.get(self.next_anchor).filter(|a| a.index == i) {
            self.dts = a.dts.0;
            self.offset = a.offset;
            self.next_anchor += 1;
        }
        let s = Sample {
            dts: DecodeTime(self.dts),
            duration: SampleDuration(t.durations.get(i)),
            cts_offset: CompositionOffset(t.cts_offsets.get(i)),
            is_sync: t.sync.get(i),
            size: t.sizes.get(i),
            offset: self.offset,
        };
        // Wrapping: a sum that overflows is never used, since the next sample is then an anchor.
        self.dts = self.dts.wrapping_add(u64::from(s.duration.0));
        self.offset = self.offset.wrapping_add(u64::from(s.size));
        self.next += 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.table.len - self.next.min(self.table.len);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Samples<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::time::MAX_TICKS;

    fn sample(dts: u64, duration: u32, cto: i32, sync: bool, size: u32, offset: u64) -> Sample {
        Sample {
            dts: DecodeTime(dts),
            duration: SampleDuration(duration),
            cts_offset: CompositionOffset(cto),
            is_sync: sync,
            size,
            offset,
        }
    }

    /// A mixed table: fragments with gaps in time and in the file, varying sizes, durations,
    /// offsets and sync flags; every sample reads back exactly, from any start.
    #[test]
    fn every_sample_reads_back_from_any_start() {
        let mut want = Vec::new();
        let (mut dts, mut off) = (1000u64, 48u64);
        for i in 0..1000u64 {
            if i % 97 == 0 {
                dts += 7; // a tfdt jump
            }
            if i % 30 == 0 {
                off += 1234; // the next fragment's moof
            }
            let dur = if i % 211 == 5 { 1001 } else { 1000 };
            let size = 100 + (i * 37 % 900) as u32;
            let cto = if i < 500 {
                0
            } else {
                (i % 3) as i32 * 1000 - 1000
            };
            want.push(sample(dts, dur, cto, i % 48 == 0, size, off));
            dts += u64::from(dur);
            off += u64::from(size);
        }
        let table: SampleTable = want.iter().copied().collect();
        assert_eq!(table.len(), want.len());
        assert_eq!(table.iter().collect::<Vec<_>>(), want);
        for start in [0, 1, 63, 64, 65, 96, 97, 98, 499, 500, 999, 1000, 5000] {
            let got: Vec<Sample> = table.iter_from(start).collect();
            assert_eq!(got, want[start.min(want.len())..], "from {start}");
            assert_eq!(table.get(start), want.get(start).copied());
        }
        assert_eq!(table.range(10..20).collect::<Vec<_>>(), want[10..20]);
        assert_eq!(
            table.bytes(10..20),
            want[10..20].iter().map(|s| u64::from(s.size)).sum::<u64>()
        );
        assert_eq!(table.last(), want.last().copied());
    }

    /// What an hour of the benchmark's video costs: a size per sample, the rest nearly free
    /// (constant duration, no composition offsets, one sync bit per sample, an anchor per GOP).
    #[test]
    fn an_hour_of_30_fps_video_costs_under_5_bytes_a_sample() {
        let n = 30 * 3600;
        let mut off = 0u64;
        let table: SampleTable = (0..n as u64)
            .map(|i| {
                if i % 60 == 0 {
                    off += 600; // a moof between GOPs
                }
                let s = sample(i * 512, 512, 0, i % 60 == 0, 9000 + (i % 7) as u32, off);
                off += u64::from(s.size);
                s
            })
            .collect();
        let per_sample = table.heap_bytes() as f64 / n as f64;
        assert!(per_sample < 5.0, "{per_sample} bytes a sample");
        assert_eq!(
            table.get(n - 1).unwrap().dts,
            DecodeTime((n as u64 - 1) * 512)
        );
    }

    #[test]
    fn sample_times_are_checked() {
        let s = Sample {
            dts: DecodeTime(MAX_TICKS - 1),
            duration: SampleDuration(1),
            cts_offset: CompositionOffset(-2),
            is_sync: true,
            size: 1,
            offset: 0,
        };
        assert_eq!(s.try_dts_end().unwrap(), DecodeTime(MAX_TICKS));
        assert_eq!(s.try_cts().unwrap(), PresentationTime(MAX_TICKS as i64 - 3));
        let longer = Sample {
            duration: SampleDuration(2),
            ..s
        };
        assert!(longer.try_dts_end().is_err());
    }

    #[test]
    fn an_empty_table_yields_nothing() {
        let t = SampleTable::new();
        assert!(t.is_empty());
        assert_eq!(t.iter().count(), 0);
        assert_eq!(t.iter_from(3).count(), 0);
        assert_eq!(t.get(0), None);
        assert_eq!(t.bytes(0..5), 0);
    }
}
