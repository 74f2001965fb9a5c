//! Typed media time: a non-zero timescale and tick counts that cannot silently overflow.
//!
//! Why: times in MP4 files are bare 32/64-bit integers (ISO/IEC 14496-12 §8.4.2 `mdhd`,
//! §8.6.1 `stts`/`ctts`, §8.8.12 `tfdt`, §8.8.8 `trun`, §8.16.3 `sidx`), and a hostile or broken
//! file can put any value in them. Every sum or difference of such values goes through the
//! checked operations here, which return a [`TimeOverflow`] instead of panicking or wrapping;
//! the caller turns that into an `invalid input` error naming the file, track and box. Changing
//! timescale is explicit and fallible ([`rescale_exact`], [`rescale_floor`]).
//!
//! Values are kept within [`MAX_TICKS`] (2^62) by the input reader, so that every later
//! difference of two presentation times, or a time plus a 32-bit offset, fits in an `i64`.
use std::fmt;
use std::num::NonZeroU32;

/// The largest decode or presentation time (in ticks) vodpack accepts from a file: 2^62. At the
/// largest timescale (2^32−1 ticks per second) this is still over 34 years, while leaving room
/// for every sum and difference the packager computes to fit in an `i64`.
pub const MAX_TICKS: u64 = 1 << 62;

/// A time value that does not fit: what was being computed, for the caller's error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOverflow(pub String);

impl fmt::Display for TimeOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeOverflow {}

fn overflow(what: impl fmt::Display) -> TimeOverflow {
    TimeOverflow(what.to_string())
}

/// Ticks per second of a track or box (`mdhd`/`mvhd`/`sidx` timescale): never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timescale(NonZeroU32);

impl Timescale {
    /// `None` for 0 (a file's zero timescale is invalid input, ISO/IEC 14496-12 §8.4.2.3).
    pub fn new(ticks_per_second: u32) -> Option<Timescale> {
        NonZeroU32::new(ticks_per_second).map(Timescale)
    }

    /// Ticks per second.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// Seconds as a float: for manifests and progress only, never for further arithmetic.
    pub fn seconds(self, ticks: i64) -> f64 {
        ticks as f64 / f64::from(self.get())
    }
}

impl fmt::Display for Timescale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// A decode time (ticks since the track's decode origin), as in `tfdt` or summed `stts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DecodeTime(pub u64);

/// A non-negative length of time in ticks (a sample, segment or track duration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TickDuration(pub u64);

/// A signed distance in ticks (a composition offset, an edit list shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TickOffset(pub i64);

/// One sample's duration as its boxes store it (`stts` sample_delta, `trun` sample_duration:
/// 32 bits), kept at that width so a track's sample table stays compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SampleDuration(pub u32);

/// One sample's composition offset (cts − dts) as its boxes store it (`ctts`, `trun`: signed
/// 32 bits; version 0 values are read as signed too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CompositionOffset(pub i32);

impl SampleDuration {
    /// As a tick count for arithmetic.
    pub fn ticks(self) -> TickDuration {
        TickDuration(self.0.into())
    }
}

impl CompositionOffset {
    /// As a signed tick distance for arithmetic.
    pub fn ticks(self) -> TickOffset {
        TickOffset(self.0.into())
    }

    /// True when the sample is presented before it is decoded (a `trun` v1 / `ctts` v1 value).
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

/// A presentation (composition) time in ticks; negative before the presentation starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PresentationTime(pub i64);

impl DecodeTime {
    /// `self + d`, within [`MAX_TICKS`].
    pub fn checked_add(self, d: TickDuration) -> Result<DecodeTime, TimeOverflow> {
        self.0
            .checked_add(d.0)
            .filter(|&v| v <= MAX_TICKS)
            .map(DecodeTime)
            .ok_or_else(|| {
                overflow(format_args!(
                    "decode time {} + duration {} exceeds 2^62 ticks",
                    self.0, d.0
                ))
            })
    }

    /// Checks that a decode time read from a file is within [`MAX_TICKS`].
    pub fn checked_new(ticks: u64) -> Result<DecodeTime, TimeOverflow> {
        if ticks <= MAX_TICKS {
            Ok(DecodeTime(ticks))
        } else {
            Err(overflow(format_args!(
                "decode time {ticks} exceeds 2^62 ticks"
            )))
        }
    }

    /// The composition time `self + offset`.
    pub fn checked_offset(self, offset: TickOffset) -> Result<PresentationTime, TimeOverflow> {
        i64::try_from(self.0)
            .ok()
            .and_then(|d| d.checked_add(offset.0))
            .map(PresentationTime)
            .ok_or_else(|| {
                overflow(format_args!(
                    "decode time {} + composition offset {} does not fit in 64 bits",
                    self.0, offset.0
                ))
            })
    }
}

impl PresentationTime {
    /// `self + d`.
    pub fn checked_add(self, d: TickDuration) -> Result<PresentationTime, TimeOverflow> {
        i64::try_from(d.0)
            .ok()
            .and_then(|d| self.0.checked_add(d))
            .map(PresentationTime)
            .ok_or_else(|| {
                overflow(format_args!(
                    "presentation time {} + duration {} does not fit in 64 bits",
                    self.0, d.0
                ))
            })
    }

    /// `self - o` (e.g. shifting by an edit list's media_time).
    pub fn checked_shift_back(self, o: TickOffset) -> Result<PresentationTime, TimeOverflow> {
        self.0
            .checked_sub(o.0)
            .map(PresentationTime)
            .ok_or_else(|| {
                overflow(format_args!(
                    "presentation time {} - {} does not fit in 64 bits",
                    self.0, o.0
                ))
            })
    }

    /// `self - earlier` as a duration; an error when `earlier` is later than `self` or the
    /// difference does not fit.
    pub fn duration_since(self, earlier: PresentationTime) -> Result<TickDuration, TimeOverflow> {
        self.0
            .checked_sub(earlier.0)
            .and_then(|d| u64::try_from(d).ok())
            .map(TickDuration)
            .ok_or_else(|| {
                overflow(format_args!(
                    "presentation time {} is before {}",
                    self.0, earlier.0
                ))
            })
    }

    /// The time as a non-negative tick count for manifests, which cannot express negative
    /// times: times before zero are clamped to 0 (the presentation starts at 0).
    pub fn clamp_non_negative(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }

    /// The time on a manifest's timeline, which cannot express negative times: times before
    /// zero become 0 (the presentation starts at 0).
    pub fn at_or_after_zero(self) -> PresentationTime {
        PresentationTime(self.0.max(0))
    }

    /// A non-negative tick count (a manifest or subtitle boundary) as a presentation time.
    pub fn checked_from_ticks(ticks: u64) -> Result<PresentationTime, TimeOverflow> {
        i64::try_from(ticks)
            .map(PresentationTime)
            .map_err(|_| overflow(format_args!("time {ticks} does not fit in 63 bits")))
    }
}

impl TickDuration {
    /// `self + d`.
    pub fn checked_add(self, d: TickDuration) -> Result<TickDuration, TimeOverflow> {
        self.0.checked_add(d.0).map(TickDuration).ok_or_else(|| {
            overflow(format_args!(
                "duration {} + {} does not fit in 64 bits",
                self.0, d.0
            ))
        })
    }

    /// The duration as a 32-bit field (`trun`, `sidx` subsegment_duration, `elst` v0).
    pub fn to_u32(self) -> Result<u32, TimeOverflow> {
        u32::try_from(self.0)
            .map_err(|_| overflow(format_args!("duration {} does not fit in 32 bits", self.0)))
    }
}

impl TickOffset {
    /// `self - o`.
    pub fn checked_sub(self, o: TickOffset) -> Result<TickOffset, TimeOverflow> {
        self.0.checked_sub(o.0).map(TickOffset).ok_or_else(|| {
            overflow(format_args!(
                "offset {} - {} does not fit in 64 bits",
                self.0, o.0
            ))
        })
    }

    /// The offset as a signed 32-bit field (`trun` v1 / `ctts` v1 composition offset).
    pub fn to_i32(self) -> Result<i32, TimeOverflow> {
        i32::try_from(self.0).map_err(|_| {
            overflow(format_args!(
                "composition offset {} does not fit in 32 bits",
                self.0
            ))
        })
    }
}

/// `ticks` in timescale `from` expressed in timescale `to`, exactly: an error when the value is
/// not a whole number of `to` ticks or does not fit in 64 bits.
pub fn rescale_exact(ticks: u64, from: Timescale, to: Timescale) -> Result<u64, TimeOverflow> {
    let num = u128::from(ticks) * u128::from(to.get());
    let den = u128::from(from.get());
    if num % den != 0 {
        return Err(overflow(format_args!(
            "{ticks} ticks at {from}/s is not a whole number of ticks at {to}/s"
        )));
    }
    u64::try_from(num / den).map_err(|_| {
        overflow(format_args!(
            "{ticks} ticks at {from}/s does not fit in 64 bits at {to}/s"
        ))
    })
}

/// `ticks` in timescale `from` expressed in timescale `to`, rounded down: an error only when it
/// does not fit in 64 bits.
pub fn rescale_floor(ticks: u64, from: Timescale, to: Timescale) -> Result<u64, TimeOverflow> {
    let v = u128::from(ticks) * u128::from(to.get()) / u128::from(from.get());
    u64::try_from(v).map_err(|_| {
        overflow(format_args!(
            "{ticks} ticks at {from}/s does not fit in 64 bits at {to}/s"
        ))
    })
}

/// Greatest common divisor (for exact timescale reductions).
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timescale_is_refused() {
        assert!(Timescale::new(0).is_none());
        assert_eq!(Timescale::new(90_000).unwrap().get(), 90_000);
    }

    #[test]
    fn decode_times_stop_at_the_limit() {
        let t = DecodeTime::checked_new(MAX_TICKS - 10).unwrap();
        assert_eq!(t.checked_add(TickDuration(10)).unwrap().0, MAX_TICKS);
        assert!(t.checked_add(TickDuration(11)).is_err());
        assert!(DecodeTime(u64::MAX - 1)
            .checked_add(TickDuration(u64::MAX))
            .is_err());
        assert!(DecodeTime::checked_new(1 << 63).is_err());
        assert!(DecodeTime(u64::MAX).checked_offset(TickOffset(-1)).is_err());
        assert_eq!(
            DecodeTime(10).checked_offset(TickOffset(-20)).unwrap(),
            PresentationTime(-10)
        );
    }

    #[test]
    fn presentation_differences_are_checked() {
        let a = PresentationTime(i64::MIN);
        let b = PresentationTime(i64::MAX);
        assert!(b.duration_since(a).is_err());
        assert!(a.duration_since(b).is_err());
        assert_eq!(
            PresentationTime(30)
                .duration_since(PresentationTime(-10))
                .unwrap(),
            TickDuration(40)
        );
        assert!(PresentationTime(i64::MAX)
            .checked_add(TickDuration(1))
            .is_err());
        assert!(PresentationTime(0)
            .checked_add(TickDuration(u64::MAX))
            .is_err());
        assert!(PresentationTime(i64::MIN)
            .checked_shift_back(TickOffset(1))
            .is_err());
        assert_eq!(PresentationTime(-5).clamp_non_negative(), 0);
        assert_eq!(PresentationTime(-5).at_or_after_zero(), PresentationTime(0));
        assert_eq!(PresentationTime(7).at_or_after_zero(), PresentationTime(7));
        assert_eq!(
            PresentationTime::checked_from_ticks(9),
            Ok(PresentationTime(9))
        );
        assert!(PresentationTime::checked_from_ticks(u64::MAX).is_err());
        assert!(TickDuration(1 << 32).to_u32().is_err());
        assert!(TickOffset(1 << 31).to_i32().is_err());
        assert!(TickOffset(i64::MIN).checked_sub(TickOffset(1)).is_err());
    }

    #[test]
    fn sample_fields_widen_to_ticks() {
        assert_eq!(
            SampleDuration(u32::MAX).ticks(),
            TickDuration(u64::from(u32::MAX))
        );
        assert_eq!(
            CompositionOffset(i32::MIN).ticks(),
            TickOffset(i64::from(i32::MIN))
        );
        assert!(CompositionOffset(-1).is_negative());
        assert!(!CompositionOffset(0).is_negative());
    }

    #[test]
    fn rescaling_is_exact_or_an_error() {
        let ms = Timescale::new(1000).unwrap();
        let hz90 = Timescale::new(90_000).unwrap();
        assert_eq!(rescale_exact(1500, ms, hz90).unwrap(), 135_000);
        assert_eq!(rescale_exact(135_000, hz90, ms).unwrap(), 1500);
        assert!(rescale_exact(1, hz90, ms).is_err());
        assert_eq!(rescale_floor(1, hz90, ms).unwrap(), 0);
        let max = Timescale::new(u32::MAX).unwrap();
        let one = Timescale::new(1).unwrap();
        assert!(rescale_exact(u64::MAX, one, max).is_err());
        assert!(rescale_floor(u64::MAX, one, max).is_err());
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(0, 7), 7);
    }
}
