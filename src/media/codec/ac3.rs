//! AC-3 and Enhanced AC-3 in ISOBMFF (ETSI TS 102 366 Annex F): the AC3SpecificBox (`dac3`,
//! F.4) and EC3SpecificBox (`dec3`, F.6), read for the sample rate and channel count. Their
//! codec strings are the sample entry 4CCs `ac-3` and `ec-3`.
use super::bits::BitReader;
use super::error::CodecResult;

/// Channels per acmod (ETSI TS 102 366 Table 4.3), without the LFE.
const AC3_CHANNELS: [u16; 8] = [2, 1, 2, 3, 3, 4, 4, 5];
/// Sample rates per fscod (Table 4.1); 3 is reserved.
const AC3_RATES: [Option<u32>; 4] = [Some(48000), Some(44100), Some(32000), None];

/// What a `dac3` or `dec3` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ac3Config {
    /// Sample rate, unless fscod is the reserved value 3.
    pub sample_rate: Option<u32>,
    /// Output channels, LFE included.
    pub channels: u16,
}

fn from_fields(fscod: u32, acmod: u32, lfe: u32) -> (Option<u32>, u16) {
    // fscod has 2 bits, acmod 3, lfe 1: the indexes are in range and the cast cannot truncate.
    (
        AC3_RATES[fscod as usize & 3],
        AC3_CHANNELS[acmod as usize & 7] + lfe as u16,
    )
}

impl Ac3Config {
    /// Reads a `dac3` body (F.4): fscod, bsid, bsmod, acmod, lfeon.
    pub fn parse_dac3(dac3: &[u8]) -> CodecResult<Self> {
        let mut b = BitReader::new(dac3, "dac3");
        let fscod = b.bits(2)?;
        b.bits(5 + 3)?; // bsid, bsmod
        let acmod = b.bits(3)?;
        let lfe = b.bits(1)?;
        let (sample_rate, channels) = from_fields(fscod, acmod, lfe);
        Ok(Ac3Config {
            sample_rate,
            channels,
        })
    }

    /// Reads a `dec3` body (F.6): the first independent substream's acmod/lfeon plus the
    /// channels its dependent substreams add (chan_loc, Table F.6.1: bits 8..0 = Lc/Rc,
    /// Lrs/Rrs, Cs, Ts, Lsd/Rsd, Lw/Rw, Lvh/Rvh, Cvh, LFE2).
    pub fn parse_dec3(dec3: &[u8]) -> CodecResult<Self> {
        let mut b = BitReader::new(dec3, "dec3");
        b.bits(13)?; // data_rate
        let _num_ind_sub = b.bits(3)?;
        let fscod = b.bits(2)?;
        b.bits(5 + 1 + 1 + 3)?; // bsid, reserved, asvc, bsmod
        let acmod = b.bits(3)?;
        let lfe = b.bits(1)?;
        b.bits(3)?; // reserved
        let num_dep_sub = b.bits(4)?;
        let (sample_rate, mut channels) = from_fields(fscod, acmod, lfe);
        if num_dep_sub > 0 {
            let chan_loc = b.bits(9)?;
            const PAIRS: u32 = 0b1_1001_1100; // Lc/Rc, Lrs/Rrs, Lsd/Rsd, Lw/Rw, Lvh/Rvh
                                              // At most 2 · 5 + 4 = 14 more channels.
            channels += (2 * (chan_loc & PAIRS).count_ones()
                + (chan_loc & !PAIRS & 0x1ff).count_ones()) as u16;
        }
        Ok(Ac3Config {
            sample_rate,
            channels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn dac3_and_dec3_of_real_entries() {
        // ffprobe: 5.1 at 48 kHz; E-AC-3 stereo at 48 kHz.
        let e = entry("ac3_51");
        let c = Ac3Config::parse_dac3(child_body(&e, b"dac3")).unwrap();
        assert_eq!((c.sample_rate, c.channels), (Some(48000), 6));
        let e = entry("eac3");
        let c = Ac3Config::parse_dec3(child_body(&e, b"dec3")).unwrap();
        assert_eq!((c.sample_rate, c.channels), (Some(48000), 2));
    }

    #[test]
    fn dependent_substream_channels_and_truncation() {
        // acmod 7 + LFE, one dependent substream adding Lrs/Rrs: 8 channels.
        let dec3 = [0x0c, 0x00, 0x20, 0x0f, 0x02, 0x80, 0x00];
        assert_eq!(Ac3Config::parse_dec3(&dec3).unwrap().channels, 8);
        for len in 0..dec3.len() - 1 {
            assert!(Ac3Config::parse_dec3(&dec3[..len]).is_err(), "cut at {len}");
        }
        assert!(Ac3Config::parse_dac3(&[0x10]).is_err());
    }
}
