//! TTML time expressions (TTML1 §10.3.1, TTML2 §10.3.1) in the media time base, with the timing
//! parameters that give frames and ticks their length (TTML1 §6.2.3 `ttp:frameRate`, §6.2.4
//! `ttp:frameRateMultiplier`, §6.2.10 `ttp:subFrameRate`, §6.2.11 `ttp:tickRate`).
//!
//! Values are exact rationals of seconds until the end, then rounded to the nearest millisecond
//! (the resolution of the WebVTT and IMSC documents vodpack writes).
use std::fmt;

/// At most this many digits in one number of a time expression (keeps the arithmetic exact in
/// u128; 15 digits of hours is already longer than the age of the universe).
const MAX_DIGITS: usize = 15;

/// The timing parameters of a document (from the `tt` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeParams {
    /// `ttp:frameRate`: frames per second before the multiplier (default 30).
    pub frame_rate: u64,
    /// `ttp:frameRateMultiplier`: numerator and denominator (default 1 1).
    pub multiplier: (u64, u64),
    /// `ttp:subFrameRate`: sub-frames per frame (default 1).
    pub sub_frame_rate: u64,
    /// `ttp:tickRate`: ticks per second (default: the effective frame rate times the sub-frame
    /// rate when a frame rate is given, else 1; TTML1 §6.2.11).
    pub tick_rate: Option<u64>,
    /// Whether the document gives `ttp:frameRate` (then ticks default to sub-frames).
    pub frame_rate_given: bool,
}

impl Default for TimeParams {
    fn default() -> Self {
        TimeParams {
            frame_rate: 30,
            multiplier: (1, 1),
            sub_frame_rate: 1,
            tick_rate: None,
            frame_rate_given: false,
        }
    }
}

/// Seconds as an exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seconds {
    num: u128,
    den: u128,
}

impl Seconds {
    fn add(self, o: Seconds) -> Seconds {
        Seconds {
            num: self.num * o.den + o.num * self.den,
            den: self.den * o.den,
        }
    }

    /// Rounded to the nearest millisecond.
    fn to_ms(self) -> Result<u64, TimeError> {
        let ms = (self.num * 1000 + self.den / 2) / self.den;
        u64::try_from(ms).map_err(|_| TimeError::TooLarge)
    }
}

/// What is wrong with a time expression or a timing parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not a clock time (`hh:mm:ss[.fff | :ff[.sub]]`) nor an offset time (`N[.n](h|m|s|ms|f|t)`).
    Syntax,
    /// Minutes or seconds above 59.
    MinutesSeconds,
    /// A frame number not below the frame rate.
    Frames {
        /// The frame number as written.
        frames: u64,
        /// The effective frame rate, rounded up.
        rate: u64,
    },
    /// A sub-frame number not below `ttp:subFrameRate`.
    SubFrames,
    /// Beyond what a 64-bit millisecond count holds.
    TooLarge,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Syntax => f.write_str(
                "not a TTML time expression (hh:mm:ss[.fff], hh:mm:ss:ff[.s] or a number with h, m, s, ms, f or t)",
            ),
            TimeError::MinutesSeconds => f.write_str("minutes and seconds must be 00 to 59"),
            TimeError::Frames { frames, rate } => write!(
                f,
                "frame {frames} does not exist at {rate} frames per second (ttp:frameRate)"
            ),
            TimeError::SubFrames => f.write_str("the sub-frame must be below ttp:subFrameRate"),
            TimeError::TooLarge => f.write_str("the time is too large"),
        }
    }
}

impl TimeParams {
    /// The effective frame rate `frameRate × num / den` as a fraction (frames per second).
    fn effective_rate(&self) -> (u128, u128) {
        (
            u128::from(self.frame_rate) * u128::from(self.multiplier.0),
            u128::from(self.multiplier.1),
        )
    }

    fn ticks_per_second(&self) -> (u128, u128) {
        match self.tick_rate {
            Some(t) => (u128::from(t), 1),
            None if self.frame_rate_given => {
                let (n, d) = self.effective_rate();
                (n * u128::from(self.sub_frame_rate), d)
            }
            None => (1, 1),
        }
    }

    /// A time expression → milliseconds (rounded to the nearest).
    pub fn parse_ms(&self, s: &str) -> Result<u64, TimeError> {
        let s = s.trim_matches([' ', '\t', '\n', '\r']);
        if s.contains(':') {
            self.clock_time(s)
        } else {
            self.offset_time(s)
        }?
        .to_ms()
    }

    /// `hours:minutes:seconds` then `.fraction`, or `:frames` with an optional `.sub-frames`.
    fn clock_time(&self, s: &str) -> Result<Seconds, TimeError> {
        let mut parts = s.splitn(4, ':');
        let h = parts.next().ok_or(TimeError::Syntax)?;
        let m = parts.next().ok_or(TimeError::Syntax)?;
        let rest = parts.next().ok_or(TimeError::Syntax)?;
        let frames = parts.next();
        if h.len() < 2 || m.len() != 2 {
            return Err(TimeError::Syntax);
        }
        let (h, m) = (number(h)?, number(m)?);
        let (sec, fraction) = match rest.split_once('.') {
            Some((sec, frac)) if frames.is_none() => (sec, Some(fraction(frac)?)),
            Some(_) => return Err(TimeError::Syntax),
            None => (rest, None),
        };
        if sec.len() != 2 {
            return Err(TimeError::Syntax);
        }
        let sec = number(sec)?;
        if m > 59 || sec > 59 {
            return Err(TimeError::MinutesSeconds);
        }
        let mut t = Seconds {
            num: (h * 60 + m) * 60 + sec,
            den: 1,
        };
        if let Some(f) = fraction {
            t = t.add(f);
        }
        if let Some(ff) = frames {
            let (ff, sub) = match ff.split_once('.') {
                Some((ff, sub)) => (ff, Some(sub)),
                None => (ff, None),
            };
            if ff.len() < 2 {
                return Err(TimeError::Syntax);
            }
            let frames = number(ff)?;
            let (rn, rd) = self.effective_rate();
            let ceil = rn.div_ceil(rd);
            if frames >= ceil {
                return Err(TimeError::Frames {
                    frames: u64::try_from(frames).unwrap_or(u64::MAX),
                    rate: u64::try_from(ceil).unwrap_or(u64::MAX),
                });
            }
            let sub_rate = u128::from(self.sub_frame_rate);
            // (frames + sub / subFrameRate) / effectiveFrameRate (TTML1 §10.3.1, media time base).
            let mut f = Seconds {
                num: frames * sub_rate,
                den: sub_rate,
            };
            if let Some(sub) = sub {
                if sub.is_empty() {
                    return Err(TimeError::Syntax);
                }
                let sub = number(sub)?;
                if sub >= sub_rate {
                    return Err(TimeError::SubFrames);
                }
                f.num += sub;
            }
            t = t.add(Seconds {
                num: f.num * rd,
                den: f.den * rn,
            });
        }
        Ok(t)
    }

    /// `time-count [fraction] metric`.
    fn offset_time(&self, s: &str) -> Result<Seconds, TimeError> {
        let n = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (value, metric) = s.split_at(n);
        let value = match value.split_once('.') {
            Some((whole, frac)) => {
                let f = fraction(frac)?;
                Seconds {
                    num: number(whole)?,
                    den: 1,
                }
                .add(f)
            }
            None => Seconds {
                num: number(value)?,
                den: 1,
            },
        };
        let (per_n, per_d): (u128, u128) = match metric {
            "h" => (3600, 1),
            "m" => (60, 1),
            "s" => (1, 1),
            "ms" => (1, 1000),
            "f" => {
                let (rn, rd) = self.effective_rate();
                (rd, rn)
            }
            "t" => {
                let (tn, td) = self.ticks_per_second();
                (td, tn)
            }
            _ => return Err(TimeError::Syntax),
        };
        Ok(Seconds {
            num: value.num * per_n,
            den: value.den * per_d,
        })
    }
}

/// Digits only, at least one, at most [`MAX_DIGITS`].
fn number(s: &str) -> Result<u128, TimeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeError::Syntax);
    }
    if s.len() > MAX_DIGITS {
        return Err(TimeError::TooLarge);
    }
    s.parse().map_err(|_| TimeError::Syntax)
}

/// The digits after a decimal point, as a fraction of a second. Digits past the ninth cannot
/// change a millisecond and are checked but dropped.
fn fraction(s: &str) -> Result<Seconds, TimeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeError::Syntax);
    }
    let kept = &s[..s.len().min(9)];
    Ok(Seconds {
        num: kept.parse().map_err(|_| TimeError::Syntax)?,
        den: 10u128.pow(kept.len() as u32),
    })
}

/// A positive integer timing parameter (`ttp:frameRate`, `ttp:subFrameRate`, `ttp:tickRate`).
pub fn positive(s: &str) -> Option<u64> {
    let s = s.trim();
    let v: u64 = s
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())??;
    (v > 0 && s.len() <= 9).then_some(v)
}

/// `ttp:frameRateMultiplier`: two positive integers separated by whitespace.
pub fn multiplier(s: &str) -> Option<(u64, u64)> {
    let mut it = s.split_ascii_whitespace();
    let (n, d) = (positive(it.next()?)?, positive(it.next()?)?);
    it.next().is_none().then_some((n, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        let p = TimeParams::default();
        assert_eq!(p.parse_ms("00:00:01.5"), Ok(1500));
        assert_eq!(p.parse_ms("01:02:03.004"), Ok(3_723_004));
        assert_eq!(p.parse_ms("100:00:00"), Ok(360_000_000));
        assert_eq!(p.parse_ms(" 00:00:02.0004 "), Ok(2000));
        assert_eq!(p.parse_ms("00:00:02.0005"), Ok(2001));
        // Frames at the default 30 fps: 15 frames = 500 ms.
        assert_eq!(p.parse_ms("00:00:01:15"), Ok(1500));
        assert_eq!(
            p.parse_ms("00:00:01:30"),
            Err(TimeError::Frames {
                frames: 30,
                rate: 30
            })
        );
        assert_eq!(p.parse_ms("0:00:01.000"), Err(TimeError::Syntax));
        assert_eq!(p.parse_ms("00:60:00"), Err(TimeError::MinutesSeconds));
        assert_eq!(p.parse_ms("00:00:60"), Err(TimeError::MinutesSeconds));
        assert_eq!(p.parse_ms("00:00:01:05.1"), Err(TimeError::SubFrames));
        assert_eq!(p.parse_ms("00:00:01.5:02"), Err(TimeError::Syntax));
        assert_eq!(p.parse_ms("00:00:1"), Err(TimeError::Syntax));
        assert_eq!(p.parse_ms("00:00:01."), Err(TimeError::Syntax));
    }

    #[test]
    fn frames_with_multiplier_and_sub_frames() {
        // 30000/1001 fps: frame 15 = 15 × 1001 / 30000 s = 500.5 ms → 501 (half rounds up).
        let p = TimeParams {
            frame_rate: 30,
            multiplier: (1000, 1001),
            sub_frame_rate: 2,
            tick_rate: None,
            frame_rate_given: true,
        };
        assert_eq!(p.parse_ms("00:00:00:15"), Ok(501));
        // 29 frames + 1/2 sub-frame = 29.5 × 1001 / 30000 s = 984.317 ms.
        assert_eq!(p.parse_ms("00:00:00:29.1"), Ok(984));
        assert_eq!(p.parse_ms("00:00:00:29.2"), Err(TimeError::SubFrames));
        assert_eq!(p.parse_ms("45f"), Ok(1502));
        // Ticks default to sub-frames: 60 ticks = 30 frames = 1.001 s.
        assert_eq!(p.parse_ms("60t"), Ok(1001));
        let pal = TimeParams {
            frame_rate: 25,
            ..TimeParams::default()
        };
        assert_eq!(pal.parse_ms("00:00:10:24"), Ok(10_960));
        assert_eq!(pal.parse_ms("250f"), Ok(10_000));
    }

    #[test]
    fn offset_times() {
        let p = TimeParams {
            tick_rate: Some(10_000_000),
            ..TimeParams::default()
        };
        assert_eq!(p.parse_ms("1.5h"), Ok(5_400_000));
        assert_eq!(p.parse_ms("2m"), Ok(120_000));
        assert_eq!(p.parse_ms("2.25s"), Ok(2250));
        assert_eq!(p.parse_ms("1500ms"), Ok(1500));
        assert_eq!(p.parse_ms("0.4ms"), Ok(0));
        assert_eq!(p.parse_ms("12345678t"), Ok(1235));
        assert_eq!(p.parse_ms("15f"), Ok(500));
        assert_eq!(TimeParams::default().parse_ms("3t"), Ok(3000));
        for bad in [
            "", "s", "1", "1x", "1.s", ".5s", "-1s", "1 s", "1.2.3s", "1sec",
        ] {
            assert_eq!(p.parse_ms(bad), Err(TimeError::Syntax), "{bad}");
        }
        assert_eq!(p.parse_ms("9999999999999999h"), Err(TimeError::TooLarge));
        assert_eq!(p.parse_ms("999999999999999h"), Err(TimeError::TooLarge));
    }

    #[test]
    fn parameters() {
        assert_eq!(positive("25"), Some(25));
        assert_eq!(positive("0"), None);
        assert_eq!(positive("2.5"), None);
        assert_eq!(positive("1234567890"), None);
        assert_eq!(multiplier("1000 1001"), Some((1000, 1001)));
        assert_eq!(multiplier("1000"), None);
        assert_eq!(multiplier("1 2 3"), None);
        assert_eq!(multiplier("1 0"), None);
    }
}
