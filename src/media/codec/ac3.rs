//! AC-3 and Enhanced AC-3 in ISOBMFF (ETSI TS 102 366 Annex F): the AC3SpecificBox (`dac3`,
//! F.4) and EC3SpecificBox (`dec3`, F.6), read for the sample rate, the channels and, for E-AC-3,
//! the channel layout and the Joint Object Coding (Dolby Atmos) extension of ETSI TS 103 420
//! §C.3 (`flag_ec3_extension_type_a`, `complexity_index_type_a`). Their codec strings are the
//! sample entry 4CCs `ac-3` and `ec-3`; what the manifests say of the channels is in
//! [`super::channels`] (docs/audio-signalling.md).
use super::bits::BitReader;
use super::error::CodecResult;

/// Channels per acmod (ETSI TS 102 366 Table 4.3), without the LFE.
const AC3_CHANNELS: [u16; 8] = [2, 1, 2, 3, 3, 4, 4, 5];
/// Sample rates per fscod (Table 4.1); 3 is reserved.
const AC3_RATES: [Option<u32>; 4] = [Some(48000), Some(44100), Some(32000), None];

/// One bit per loudspeaker location of the E-AC-3 channel map (TS 102 366 Table E.1.4, the
/// `chanmap` order, most significant bit first), as DASH-IF IOP §9.2.1.2 writes it in hex.
pub mod location {
    /// Left.
    pub const L: u16 = 0x8000;
    /// Centre.
    pub const C: u16 = 0x4000;
    /// Right.
    pub const R: u16 = 0x2000;
    /// Left surround.
    pub const LS: u16 = 0x1000;
    /// Right surround.
    pub const RS: u16 = 0x0800;
    /// Left/right centre pair.
    pub const LC_RC: u16 = 0x0400;
    /// Left/right rear surround pair.
    pub const LRS_RRS: u16 = 0x0200;
    /// Centre surround.
    pub const CS: u16 = 0x0100;
    /// Top centre surround.
    pub const TS: u16 = 0x0080;
    /// Left/right surround direct pair.
    pub const LSD_RSD: u16 = 0x0040;
    /// Left/right wide pair.
    pub const LW_RW: u16 = 0x0020;
    /// Left/right vertical height pair.
    pub const LVH_RVH: u16 = 0x0010;
    /// Centre vertical height.
    pub const CVH: u16 = 0x0008;
    /// Left/right top surround pair.
    pub const LTS_RTS: u16 = 0x0004;
    /// Second LFE.
    pub const LFE2: u16 = 0x0002;
    /// LFE.
    pub const LFE: u16 = 0x0001;
    /// The locations that hold two loudspeakers.
    pub const PAIRS: u16 = LC_RC | LRS_RRS | LSD_RSD | LW_RW | LVH_RVH | LTS_RTS;
}

/// Loudspeaker locations per acmod (Table 4.3), in the channel map's bits.
const ACMOD_LOCATIONS: [u16; 8] = {
    use location::*;
    [
        L | R,
        C,
        L | R,
        L | C | R,
        L | R | LS | RS,
        L | C | R | LS | RS,
        L | R | LS | RS,
        L | C | R | LS | RS,
    ]
};

/// What a `dac3` or `dec3` box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ac3Config {
    /// Sample rate, unless fscod is the reserved value 3.
    pub sample_rate: Option<u32>,
    /// Output channels, LFE included.
    pub channels: u16,
    /// E-AC-3 only: the loudspeaker locations of the first independent substream and its
    /// dependent substreams ([`location`] bits).
    pub channel_map: Option<u16>,
    /// E-AC-3 only: `complexity_index_type_a` when `flag_ec3_extension_type_a` says the stream
    /// carries Joint Object Coding (Dolby Atmos), TS 103 420 §C.3.1.
    pub joc_complexity: Option<u8>,
}

fn from_fields(fscod: u32, acmod: u32, lfe: u32) -> (Option<u32>, u16) {
    // fscod has 2 bits, acmod 3, lfe 1: the indexes are in range and the cast cannot truncate.
    (
        AC3_RATES[fscod as usize & 3],
        AC3_CHANNELS[acmod as usize & 7] + lfe as u16,
    )
}

/// The channel map of an independent substream: its acmod's locations, its LFE, and what its
/// dependent substreams add (`chan_loc`, TS 102 366 Table F.6.1, whose bit 0 is the least
/// significant: Lc/Rc, Lrs/Rrs, Cs, Ts, Lsd/Rsd, Lw/Rw, Lvh/Rvh, Cvh, then bit 8 LFE2). Bits 0..7
/// are the `chanmap` locations Lc/Rc..Cvh in reverse order; this is how Shaka Packager reads it,
/// checked on its output (tests/suite/audio_codecs.rs).
fn channel_map(acmod: u32, lfe: bool, chan_loc: u32) -> u16 {
    // acmod has 3 bits; chan_loc 9: the casts cannot truncate.
    let mut map = ACMOD_LOCATIONS[acmod as usize & 7];
    map |= u16::from((chan_loc as u8).reverse_bits()) << 3;
    if chan_loc & 0x100 != 0 {
        map |= location::LFE2;
    }
    if lfe {
        map |= location::LFE;
    }
    map
}

/// Loudspeakers in a channel map: one per location, two per pair.
pub fn channel_count(map: u16) -> u16 {
    // At most 16 + 6 = 22: no overflow.
    (map.count_ones() + (map & location::PAIRS).count_ones()) as u16
}

/// The MPEG channel configuration (ISO/IEC 23001-8 ChannelConfiguration) of an E-AC-3 channel
/// map, for the layouts TS 102 366 Table I.1.1 lists; `None` for any other layout (then the
/// Dolby scheme's hex map is signalled instead, DASH-IF IOP issue 268).
pub fn mpeg_channel_configuration(map: u16) -> Option<u32> {
    use location::*;
    let value = match map {
        x if x == C => 1,
        x if x == L | R => 2,
        x if x == C | L | R => 3,
        x if x == C | L | R | CS => 4,
        x if x == C | L | R | LS | RS => 5,
        x if x == C | L | R | LS | RS | LFE => 6,
        x if x == C | L | R | LW_RW | LS | RS | LFE => 7,
        x if x == L | R | CS => 9,
        x if x == L | R | LS | RS => 10,
        x if x == C | L | R | LRS_RRS | CS | LFE => 11,
        x if x == C | L | R | LS | RS | LRS_RRS | LFE => 12,
        x if x == C | L | R | LS | RS | LFE | LVH_RVH => 14,
        x if x == C | L | R | LS | RS | LFE | LVH_RVH | LTS_RTS => 16,
        x if x == C | L | R | LS | RS | LFE | LVH_RVH | CVH | LTS_RTS | TS => 17,
        x if x == C | L | R | LSD_RSD | LRS_RRS | LFE | LVH_RVH | LTS_RTS => 19,
        _ => return None,
    };
    Some(value)
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
            channel_map: None,
            joc_complexity: None,
        })
    }

    /// Reads a `dec3` body (F.6): every independent substream (the first one's fscod, acmod,
    /// lfeon and dependent substreams' `chan_loc` give the rate and layout), then the optional
    /// extension of TS 103 420 §C.3.1: reserved(7), flag_ec3_extension_type_a(1) and, when set,
    /// complexity_index_type_a(8).
    pub fn parse_dec3(dec3: &[u8]) -> CodecResult<Self> {
        let mut b = BitReader::new(dec3, "dec3");
        b.bits(13)?; // data_rate
        let num_ind_sub = b.bits(3)?;
        let mut first = None;
        for _ in 0..=num_ind_sub {
            let fscod = b.bits(2)?;
            b.bits(5 + 1 + 1 + 3)?; // bsid, reserved, asvc, bsmod
            let acmod = b.bits(3)?;
            let lfe = b.bits(1)?;
            b.bits(3)?; // reserved
            let num_dep_sub = b.bits(4)?;
            let chan_loc = if num_dep_sub > 0 {
                b.bits(9)?
            } else {
                b.bits(1)?; // reserved
                0
            };
            first.get_or_insert((fscod, acmod, lfe, chan_loc));
        }
        // The loop runs at least once.
        let (fscod, acmod, lfe, chan_loc) = first.unwrap_or_default();
        let (sample_rate, _) = from_fields(fscod, acmod, lfe);
        let map = channel_map(acmod, lfe != 0, chan_loc);
        // The extension is two more bytes; an older box simply ends here.
        let left = (dec3.len() * 8).saturating_sub(b.bit_position());
        let mut joc_complexity = None;
        if left >= 16 {
            b.bits(7)?; // reserved
            if b.flag()? {
                // 8 bits: the cast cannot truncate.
                joc_complexity = Some(b.bits(8)? as u8);
            }
        }
        Ok(Ac3Config {
            sample_rate,
            channels: channel_count(map),
            channel_map: Some(map),
            joc_complexity,
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
        assert_eq!(c.channel_map, Some(location::L | location::R));
        assert_eq!(c.joc_complexity, None);
    }

    /// The layouts below are the ones Shaka Packager 3.8 was run on (dec3 boxes patched into
    /// an ffmpeg E-AC-3 5.1 file): its HLS CHANNELS and DASH AudioChannelConfiguration were
    /// 7 / F809, 8 / cicp 12, 7 / F803, 3 / A001 and, with the JOC extension, 16/JOC.
    #[test]
    fn dependent_substreams_layouts_and_joc_like_shaka_packager() {
        // 5.1 + chan_loc 0x080 (Cvh): 7 channels, no MPEG layout.
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x02, 0x80]).unwrap();
        assert_eq!((c.channels, c.channel_map), (7, Some(0xf809)));
        assert_eq!(mpeg_channel_configuration(0xf809), None);
        // 5.1 + chan_loc 0x002 (Lrs/Rrs): 7.1, MPEG configuration 12.
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x02, 0x02]).unwrap();
        assert_eq!(c.channels, 8);
        assert_eq!(mpeg_channel_configuration(c.channel_map.unwrap()), Some(12));
        // 5.1 + chan_loc 0x100 (LFE2).
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x03, 0x00]).unwrap();
        assert_eq!((c.channels, c.channel_map), (7, Some(0xf803)));
        // 2/0 + LFE.
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x05, 0x00]).unwrap();
        assert_eq!((c.channels, c.channel_map), (3, Some(0xa001)));
        // JOC extension after the substream: complexity 16.
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x02, 0x80, 0x01, 0x10]).unwrap();
        assert_eq!(c.joc_complexity, Some(16));
        // The flag clear: no JOC, whatever the next byte says.
        let c = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x00, 0x00, 0x10]).unwrap();
        assert_eq!(c.joc_complexity, None);
    }

    #[test]
    fn mpeg_configurations_of_common_layouts() {
        use location::*;
        assert_eq!(mpeg_channel_configuration(C), Some(1));
        assert_eq!(mpeg_channel_configuration(L | R), Some(2));
        assert_eq!(
            mpeg_channel_configuration(L | C | R | LS | RS | LFE),
            Some(6)
        );
        assert_eq!(channel_count(L | C | R | LS | RS | LFE | LRS_RRS), 8);
    }

    #[test]
    fn two_independent_substreams_and_truncation() {
        // Two independent substreams (num_ind_sub 1): the first gives the layout, the extension
        // follows the second.
        let dec3 = [0x0e, 0x01, 0x20, 0x0f, 0x00, 0x20, 0x0f, 0x00, 0x01, 0x10];
        let c = Ac3Config::parse_dec3(&dec3).unwrap();
        assert_eq!((c.channels, c.joc_complexity), (6, Some(16)));
        for len in 0..8 {
            assert!(Ac3Config::parse_dec3(&dec3[..len]).is_err(), "cut at {len}");
        }
        assert!(Ac3Config::parse_dac3(&[0x10]).is_err());
    }
}
