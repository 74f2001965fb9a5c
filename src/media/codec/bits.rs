//! The one MSB-first bit reader of the codec layer: bit-packed configuration records
//! (AudioSpecificConfig, dac3, dec3) and NAL unit payloads (SPS, PPS, slice headers).
//!
//! In NAL mode it skips emulation prevention bytes (ITU-T H.264 §7.4.1, H.265 §7.4.2: a 0x03
//! after two zero bytes) while reading, so the RBSP is read without copying and positions stay
//! in the NAL unit as stored. Every read is bounded: running past the end, an exp-Golomb code
//! over 32 bits or a field over its limit is a [`CodecError`], never a panic.
use super::error::{CodecError, CodecResult};

/// Reads bits MSB-first from a byte slice, optionally as an escaped NAL unit.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the next byte to load.
    pos: usize,
    cur: u8,
    /// Bits left in `cur`.
    left: u8,
    /// Zero bytes seen in a row (NAL mode).
    zeros: u8,
    /// Whether emulation prevention bytes are skipped.
    escaped: bool,
    /// The structure being read, for errors.
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// A reader over plain bit-packed bytes (no emulation prevention).
    pub fn new(data: &'a [u8], what: &'static str) -> Self {
        BitReader {
            data,
            pos: 0,
            cur: 0,
            left: 0,
            zeros: 0,
            escaped: false,
            what,
        }
    }

    /// A reader over a NAL unit's bytes as stored, reading its RBSP: emulation prevention bytes
    /// are skipped.
    pub fn rbsp(data: &'a [u8], what: &'static str) -> Self {
        BitReader {
            escaped: true,
            ..BitReader::new(data, what)
        }
    }

    /// The structure this reader reads (for error messages).
    pub fn what(&self) -> &'static str {
        self.what
    }

    fn exhausted(&self) -> CodecError {
        CodecError::BitsExhausted {
            what: self.what,
            at_bit: self.pos * 8 - usize::from(self.left),
        }
    }

    fn load(&mut self) -> CodecResult<()> {
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.exhausted());
            };
            self.pos += 1;
            if self.escaped {
                if self.zeros >= 2 && b == 3 {
                    self.zeros = 0;
                    continue;
                }
                self.zeros = if b == 0 {
                    self.zeros.saturating_add(1)
                } else {
                    0
                };
            }
            self.cur = b;
            self.left = 8;
            return Ok(());
        }
    }

    /// One bit.
    pub fn bit(&mut self) -> CodecResult<bool> {
        if self.left == 0 {
            self.load()?;
        }
        self.left -= 1;
        Ok((self.cur >> self.left) & 1 == 1)
    }

    /// A one-bit flag, u(1).
    pub fn flag(&mut self) -> CodecResult<bool> {
        self.bit()
    }

    /// u(n) for n ≤ 32.
    pub fn bits(&mut self, n: u32) -> CodecResult<u32> {
        if n > 32 {
            return Err(CodecError::invalid(
                self.what,
                format!("a {n}-bit field is wider than 32 bits"),
            ));
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        // n ≤ 32, so v < 2^32.
        Ok(v as u32)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: u32) -> CodecResult<()> {
        for _ in 0..n {
            self.bit()?;
        }
        Ok(())
    }

    /// ue(v), ITU-T H.264 §9.1 (values up to 2^32 − 2).
    pub fn ue(&mut self) -> CodecResult<u32> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(CodecError::ExpGolombTooLong { what: self.what });
            }
        }
        let rest = u64::from(self.bits(zeros)?);
        // zeros ≤ 31: (2^31 − 1) + (2^31 − 1) fits in u32.
        Ok(((1u64 << zeros) - 1 + rest) as u32)
    }

    /// se(v), ITU-T H.264 §9.1.1.
    pub fn se(&mut self) -> CodecResult<i32> {
        let k = i64::from(self.ue()?);
        // |result| ≤ 2^31 − 1.
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }

    /// ue(v) that must not exceed `max` (a specification limit; guards loops sized by the
    /// stream).
    pub fn ue_max(&mut self, max: u32, field: &'static str) -> CodecResult<u32> {
        let v = self.ue()?;
        if v > max {
            return Err(CodecError::OutOfRange {
                what: self.what,
                field,
                value: u64::from(v),
                max: u64::from(max),
            });
        }
        Ok(v)
    }

    /// Bytes of the input consumed so far (emulation prevention bytes included), counting a
    /// partly read byte as whole.
    pub fn bytes_consumed(&self) -> usize {
        self.pos
    }

    /// Bits read so far (plain mode: the position in the input).
    pub fn bit_position(&self) -> usize {
        self.pos * 8 - usize::from(self.left)
    }

    /// Whether the next bit starts a byte (of the RBSP; emulation prevention bytes are whole).
    pub fn byte_aligned(&self) -> bool {
        self.left == 0
    }

    /// Skips to the next byte boundary; the skipped bits must be zero (AV1 `byte_alignment()`,
    /// VP9 `trailing_bits()`).
    pub fn byte_align_zero(&mut self) -> CodecResult<()> {
        if self.left > 0 && self.cur & ((1 << self.left) - 1) != 0 {
            return Err(CodecError::invalid(
                self.what,
                "non-zero bits before the byte boundary",
            ));
        }
        self.left = 0;
        Ok(())
    }
}

/// Ceil(Log2(n)) for n ≥ 1 (0 for n ≤ 1), as the specifications use it to size fields.
pub fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 | 010 | 011 | 00100 => ue 0, 1, 2, 3 ; then se from 00101 => -2
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::rbsp(&data, "test");
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 2);
        assert_eq!(r.ue().unwrap(), 3);
        assert_eq!(r.se().unwrap(), -2);
        // 00 00 03 01: the 03 is skipped, so the third byte read is 0x01 and 4 bytes are consumed.
        let data = [0x00, 0x00, 0x03, 0x01];
        let mut r = BitReader::rbsp(&data, "test");
        assert_eq!(r.bits(16).unwrap(), 0);
        assert_eq!(r.bits(8).unwrap(), 1);
        assert_eq!(r.bytes_consumed(), 4);
        assert!(r.bit().is_err());
        // Plain mode keeps the 03.
        let mut r = BitReader::new(&data, "test");
        assert_eq!(r.bits(24).unwrap(), 3);
    }

    #[test]
    fn limits_are_errors_not_panics() {
        // 32 zero bits then a 1: longer than any ue(v) in the specifications.
        let data = [0, 0, 0, 0, 0x80];
        let e = BitReader::new(&data, "x").ue().unwrap_err();
        assert!(
            matches!(e, CodecError::ExpGolombTooLong { what: "x" }),
            "{e}"
        );
        // The largest code: 31 zeros, 1, 31 ones = 2^32 - 2.
        let data = [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe];
        let mut r = BitReader::new(&data, "x");
        assert_eq!(r.ue().unwrap(), u32::MAX - 1);
        let data = [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe];
        assert_eq!(BitReader::new(&data, "x").se().unwrap(), -i32::MAX);
        // ue 3 > limit 2
        let e = BitReader::new(&[0b0010_0000], "PPS")
            .ue_max(2, "slice_type")
            .unwrap_err();
        assert_eq!(e.to_string(), "PPS: slice_type = 3 exceeds the limit 2");
        assert!(BitReader::new(&[0xff; 8], "x").bits(33).is_err());
        let e = BitReader::new(&[0xff], "dac3").bits(9).unwrap_err();
        assert!(
            matches!(
                e,
                CodecError::BitsExhausted {
                    what: "dac3",
                    at_bit: 8
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn long_zero_runs_do_not_overflow_the_escape_counter() {
        // The zero counter was a u8 incremented per zero byte: 256 zero bytes in a row (an HEVC
        // slice_segment_header_extension of zeros) overflowed it.
        let mut data = vec![0u8; 300];
        data.extend_from_slice(&[3, 0x80]);
        let mut r = BitReader::rbsp(&data, "x");
        r.skip(8 * 300).unwrap();
        assert_eq!(
            r.bits(8).unwrap(),
            0x80,
            "the 03 after the run is still skipped"
        );
        assert_eq!(r.bytes_consumed(), 302);
        assert!(r.bit().is_err());
    }

    #[test]
    fn ceil_log2_matches_spec() {
        assert_eq!(ceil_log2(0), 0);
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(4), 2);
        assert_eq!(ceil_log2(300), 9);
        assert_eq!(ceil_log2(u32::MAX), 32);
    }
}
