//! AC-4 (`ac-4` sample entry): the AC4SpecificBox `dac4`, whose payload is the
//! `ac4_dsi_v1` of ETSI TS 103 190-2 Annex E (E.6 and the presentation, substream group and
//! bitrate structures it holds, E.7–E.11), read for what the manifests say:
//! - the codec string `ac-4.BB.PP.MM` (Annex E.13): bitstream_version, the first presentation's
//!   presentation_version and its mdcompat, two decimal digits each;
//! - the first presentation's channel mask (`presentation_channel_mask_v1`, 24 bits: the speaker
//!   groups of Table A.27), which DASH signals as an MPEG ChannelConfiguration (TS 103 190-2
//!   Table G.1) when one matches, else as Dolby's six-hex-digit mask;
//! - whether the presentation is immersive stereo (IMS: presentation_version 2) or
//!   channel-based immersive (CBI: top channels in its channel mode), which HLS marks `/IMSA`.
//!
//! The reading and the choices follow what Shaka Packager 3.8 writes (docs/audio-signalling.md):
//! only the first presentation is read, as Shaka does; bitstream versions 0 and 1 and
//! presentation version 0 are refused as unsupported, as Shaka refuses them; several presentations
//! are refused unless the first is IMS with its one legacy twin.
//!
//! Every read is bounded by the box body: a truncated or lying record is a [`CodecError`], and
//! every loop count is a field of at most 8 bits.
use super::bits::BitReader;
use super::error::{CodecError, CodecResult};

/// What a `dac4` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ac4Config {
    /// bitstream_version (7 bits; 2 is the only one read).
    pub bitstream_version: u8,
    /// The first presentation's presentation_version (1, or 2 for IMS).
    pub presentation_version: u8,
    /// The first presentation's mdcompat (decoder compatibility level, 3 bits).
    pub mdcompat: u8,
    /// presentation_channel_mask_v1 of the first presentation (24 bits), 0 when it is not
    /// channel coded (object-based).
    pub channel_mask: u32,
    /// Immersive stereo (presentation_version 2).
    pub ims: bool,
    /// Channel-based immersive: a channel mode with top channels (dsi_presentation_ch_mode 11–14
    /// with top channel pairs, or 15).
    pub cbi: bool,
}

const WHAT: &str = "dac4 (ac4_dsi_v1)";

/// The speaker groups of `presentation_channel_mask_v1` (TS 103 190-2 Table A.27), by bit.
mod group {
    pub const L_R: u32 = 1 << 0;
    pub const C: u32 = 1 << 1;
    pub const LS_RS: u32 = 1 << 2;
    pub const LB_RB: u32 = 1 << 3;
    pub const TFL_TFR: u32 = 1 << 4;
    pub const TBL_TBR: u32 = 1 << 5;
    pub const LFE: u32 = 1 << 6;
    // Bit 7 is the Tl/Tr pair, in no layout of Table G.1.
    pub const TSL_TSR: u32 = 1 << 8;
    pub const TFC: u32 = 1 << 9;
    pub const TBC: u32 = 1 << 10;
    pub const TC: u32 = 1 << 11;
    pub const LFE2: u32 = 1 << 12;
    pub const BFL_BFR: u32 = 1 << 13;
    pub const BFC: u32 = 1 << 14;
    pub const CB: u32 = 1 << 15;
    pub const LSCR_RSCR: u32 = 1 << 16;
    pub const LW_RW: u32 = 1 << 17;
    pub const VHL_VHR: u32 = 1 << 18;
}

/// The channel mask Shaka Packager signals for a presentation that is not channel coded.
const OBJECT_BASED_MASK: u32 = 0x80_0000;

impl Ac4Config {
    /// Reads a `dac4` body (the ac4_dsi_v1, E.6).
    pub fn parse(dac4: &[u8]) -> CodecResult<Self> {
        let mut r = BitReader::new(dac4, WHAT);
        r.skip(3)?; // ac4_dsi_version
        let bitstream_version = u8::try_from(r.bits(7)?).unwrap_or(u8::MAX);
        r.skip(5)?; // fs_index(1), frame_rate_index(4)
        let n_presentations = r.bits(9)?;
        if bitstream_version < 2 {
            return Err(CodecError::Unsupported {
                what: "AC-4",
                reason: format!(
                    "bitstream_version {bitstream_version} (only 2 and later are read; 0 and 1 \
                     are deprecated, ETSI TS 103 190-2 §4.3.3.2)"
                ),
            });
        }
        if r.flag()? {
            // b_program_id: short_program_id(16), b_uuid(1) [program_uuid(128)]
            r.skip(16)?;
            if r.flag()? {
                r.skip(128)?;
            }
        }
        r.skip(66)?; // ac4_bitrate_dsi (E.7.1): bit_rate_mode(2), bit_rate(32), precision(32)
        byte_align(&mut r)?;
        if n_presentations == 0 {
            return Err(CodecError::invalid(WHAT, "no presentation"));
        }
        // Only the first presentation is read. An IMS presentation (version 2) comes with a
        // legacy copy of itself; anything beyond that is a choice of presentations, which a
        // single rendition's signalling cannot describe (Shaka Packager refuses it too).
        let presentation_version = u8::try_from(r.bits(8)?).unwrap_or(u8::MAX);
        let allowed = if presentation_version == 2 { 2 } else { 1 };
        if n_presentations > allowed {
            return Err(CodecError::Unsupported {
                what: "AC-4",
                reason: format!(
                    "{n_presentations} presentations (one is read, or an immersive stereo one \
                     with its legacy twin)"
                ),
            });
        }
        let mut pres_bytes = r.bits(8)?;
        if pres_bytes == 255 {
            pres_bytes += r.bits(16)?;
        }
        if presentation_version != 1 && presentation_version != 2 {
            return Err(CodecError::Unsupported {
                what: "AC-4",
                reason: format!("presentation_version {presentation_version} (1 and 2 are read)"),
            });
        }
        let start = r.bit_position();
        let p = presentation_v1(&mut r)?;
        let used = r.bit_position() - start;
        // The rest of pres_bytes (fields of later versions) must be there.
        let declared = pres_bytes as usize * 8;
        if used > declared {
            return Err(CodecError::invalid(
                WHAT,
                format!("presentation of {pres_bytes} bytes holds {used} bits"),
            ));
        }
        r.skip(u32::try_from(declared - used).unwrap_or(u32::MAX))?;
        Ok(Ac4Config {
            bitstream_version,
            presentation_version,
            mdcompat: p.mdcompat,
            channel_mask: p.channel_mask,
            ims: presentation_version == 2,
            cbi: p.cbi,
        })
    }

    /// The codec string `ac-4.BB.PP.MM` (TS 103 190-2 E.13), e.g. `ac-4.02.01.01`.
    pub fn codec_string(&self) -> String {
        format!(
            "ac-4.{:02}.{:02}.{:02}",
            self.bitstream_version, self.presentation_version, self.mdcompat
        )
    }

    /// The channel mask DASH signals: the presentation's, or bit 23 for object-based audio.
    pub fn signalled_mask(&self) -> u32 {
        if self.channel_mask != 0 {
            self.channel_mask
        } else {
            OBJECT_BASED_MASK
        }
    }

    /// The MPEG ChannelConfiguration (ISO/IEC 23001-8) of the channel mask, per TS 103 190-2
    /// Table G.1, or `None` when the mask has none.
    pub fn mpeg_channel_configuration(&self) -> Option<u8> {
        mpeg_channel_configuration(self.channel_mask)
    }

    /// Immersive audio as HLS marks it (`/IMSA`): IMS or CBI.
    pub fn immersive(&self) -> bool {
        self.ims || self.cbi
    }
}

/// TS 103 190-2 Table G.1: speaker-group masks with an MPEG ChannelConfiguration. Layouts with
/// top channels also match with the Vhl/Vhr pair in place of the top front pair, as the table
/// allows either.
fn mpeg_channel_configuration(mask: u32) -> Option<u8> {
    use group::*;
    let layouts: [(u32, u8); 11] = [
        (C, 1),
        (L_R, 2),
        (C | L_R, 3),
        (C | L_R | CB, 4),
        (C | L_R | LS_RS, 5),
        (C | L_R | LS_RS | LFE, 6),
        (C | L_R | LS_RS | LFE | LW_RW, 7),
        (CB | L_R, 9),
        (L_R | LS_RS, 10),
        (C | L_R | LS_RS | LFE | CB, 11),
        (C | L_R | LS_RS | LB_RB | LFE, 12),
    ];
    if let Some(&(_, v)) = layouts.iter().find(|(m, _)| *m == mask) {
        return Some(v);
    }
    // Immersive layouts: with Tfl/Tfr, or Vhl/Vhr in their place.
    let immersive: [(u32, u8); 8] = [
        (
            LW_RW
                | CB
                | BFC
                | BFL_BFR
                | LFE2
                | TC
                | TBC
                | TFC
                | TSL_TSR
                | LFE
                | TBL_TBR
                | LB_RB
                | LS_RS,
            13,
        ),
        (LFE | LS_RS, 14),
        (LFE2 | TBC | LFE | LS_RS | LB_RB, 15),
        (LFE | TBL_TBR | LS_RS, 16),
        (TC | TFC | LFE | TBL_TBR | LS_RS, 17),
        (TC | TFC | LFE | TBL_TBR | LS_RS | LB_RB, 18),
        (LFE | TBL_TBR | LS_RS | LB_RB, 19),
        (LSCR_RSCR | LFE | TBL_TBR | LS_RS | LB_RB, 20),
    ];
    let base = C | L_R;
    immersive.iter().find_map(|&(m, v)| {
        let m = m | base;
        (mask == m | TFL_TFR || mask == m | VHL_VHR).then_some(v)
    })
}

/// What one ac4_presentation_v1_dsi gives.
struct Presentation {
    mdcompat: u8,
    channel_mask: u32,
    cbi: bool,
}

/// Skips to the next byte boundary (the dsi's byte_align fields carry no meaning).
fn byte_align(r: &mut BitReader<'_>) -> CodecResult<()> {
    let rem = r.bit_position() % 8;
    if rem != 0 {
        // rem < 8: the cast is exact.
        r.skip(8 - rem as u32)?;
    }
    Ok(())
}

/// ac4_presentation_v1_dsi (E.10), up to its byte alignment.
fn presentation_v1(r: &mut BitReader<'_>) -> CodecResult<Presentation> {
    let config = r.bits(5)?;
    let mut p = Presentation {
        mdcompat: 0,
        channel_mask: 0,
        cbi: false,
    };
    let add_emdf_substreams = if config == 0x06 {
        true
    } else {
        p.mdcompat = u8::try_from(r.bits(3)?).unwrap_or(0);
        if r.flag()? {
            r.skip(5)?; // presentation_id
        }
        // dsi_frame_rate_multiply_info(2), dsi_frame_rate_fraction_info(2),
        // presentation_emdf_version(5), presentation_key_id(10)
        r.skip(19)?;
        if r.flag()? {
            // b_presentation_channel_coded
            let ch_mode = r.bits(5)?;
            if (11..=14).contains(&ch_mode) {
                r.skip(1)?; // pres_b_4_back_channels_present
                p.cbi = r.bits(2)? != 0; // pres_top_channel_pairs
            } else if ch_mode == 15 {
                p.cbi = true;
            }
            p.channel_mask = r.bits(24)?;
        }
        if r.flag()? {
            // b_presentation_core_differs
            if r.flag()? {
                r.skip(2)?; // dsi_presentation_channel_mode_core
            }
        }
        if r.flag()? {
            // b_presentation_filter: b_enable_presentation(1), n_filter_bytes(8), filter_data
            r.skip(1)?;
            let n = r.bits(8)?;
            r.skip(n * 8)?;
        }
        match config {
            0x1f => substream_group(r)?,
            _ => {
                r.skip(1)?; // b_multi_pid
                let groups = match config {
                    0..=2 => 2,
                    3 | 4 => 3,
                    5 => r.bits(3)? + 2,
                    _ => {
                        let n_skip_bytes = r.bits(7)?;
                        r.skip(n_skip_bytes * 8)?;
                        0
                    }
                };
                for _ in 0..groups {
                    substream_group(r)?;
                }
            }
        }
        r.skip(1)?; // b_pre_virtualized
        r.flag()?
    };
    if add_emdf_substreams {
        let n = r.bits(7)?;
        r.skip(n * 15)?; // substream_emdf_version(5), substream_key_id(10)
    }
    if r.flag()? {
        r.skip(66)?; // ac4_bitrate_dsi
    }
    if r.flag()? {
        // b_alternative: alternative_info (E.12)
        byte_align(r)?;
        let name_len = r.bits(16)?;
        r.skip(name_len * 8)?;
        let n_targets = r.bits(5)?;
        r.skip(n_targets * 11)?;
    }
    byte_align(r)?;
    // Later fields (de_indicator, dolby_atmos_indicator...) when the presentation has room for
    // them: nothing the manifests use; the caller skips to its end.
    Ok(p)
}

/// ac4_substream_group_dsi (E.11): skipped, bounded by its 8-bit counts.
fn substream_group(r: &mut BitReader<'_>) -> CodecResult<()> {
    r.skip(2)?; // b_substreams_present, b_hsf_ext
    let channel_coded = r.flag()?;
    let n_substreams = r.bits(8)?;
    for _ in 0..n_substreams {
        r.skip(2)?; // dsi_sf_multiplier
        if r.flag()? {
            r.skip(5)?; // substream_bitrate_indicator
        }
        if channel_coded {
            r.skip(24)?; // dsi_substream_channel_mask
        } else {
            if r.flag()? {
                // b_ajoc: b_static_dmx(1) [n_dmx_objects_minus1(4)], n_umx_objects_minus1(6)
                if !r.flag()? {
                    r.skip(4)?;
                }
                r.skip(6)?;
            }
            r.skip(4)?; // bed/dynamic/ISF object flags, reserved
        }
    }
    if r.flag()? {
        // b_content_type: content_classifier(3), b_language_indicator(1)
        r.skip(3)?;
        if r.flag()? {
            let n = r.bits(6)?;
            r.skip(n * 8)?; // language_tag_bytes
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The AC4SpecificBox payloads of Shaka Packager's unit test
    // (packager/media/codecs/ac4_audio_util_unittest.cc), from real AC-4 streams; the expected
    // values are the ones Shaka Packager 3.8 signals for them (tests/suite/audio_codecs.rs runs
    // it on files carrying them).
    const IMS: &str = "20a402400000001fffffffe00212f880000042000002501000000310995ba0400112f880000042000002501000000310995b8040";
    const FIVE_ONE: &str = "20a601600000001fffffffe0010ef9000009000011ca02000011c080";
    const STEREO: &str = "20a401400000001fffffffe00112f80000084000004a0200000062132b700080";
    const CBI_512: &str = "20a001600000001fffffffe001151380000058400031fca02000031d404000000800c0";

    fn dsi(hex_str: &str) -> Vec<u8> {
        hex::decode(hex_str.replace(' ', "")).unwrap()
    }

    #[test]
    fn shaka_packagers_vectors() {
        let c = Ac4Config::parse(&dsi(IMS)).unwrap();
        assert_eq!(c.codec_string(), "ac-4.02.02.00");
        assert!(c.ims && c.immersive() && !c.cbi);
        assert_eq!(
            (c.signalled_mask(), c.mpeg_channel_configuration()),
            (1, Some(2))
        );

        let c = Ac4Config::parse(&dsi(FIVE_ONE)).unwrap();
        assert_eq!(c.codec_string(), "ac-4.02.01.01");
        assert!(!c.immersive());
        assert_eq!(
            (c.signalled_mask(), c.mpeg_channel_configuration()),
            (0x47, Some(6))
        );

        let c = Ac4Config::parse(&dsi(STEREO)).unwrap();
        assert_eq!(c.codec_string(), "ac-4.02.01.00");
        assert_eq!(
            (c.signalled_mask(), c.mpeg_channel_configuration()),
            (1, Some(2))
        );

        let c = Ac4Config::parse(&dsi(CBI_512)).unwrap();
        assert_eq!(c.codec_string(), "ac-4.02.01.03");
        assert!(c.cbi && c.immersive() && !c.ims);
        assert_eq!(
            (c.signalled_mask(), c.mpeg_channel_configuration()),
            (0xc7, None)
        );
    }

    #[test]
    fn table_g1_layouts() {
        use group::*;
        assert_eq!(
            mpeg_channel_configuration(C | L_R | LS_RS | LB_RB | LFE),
            Some(12)
        );
        // 5.1.4 with Tfl/Tfr + Tbl/Tbr, and with Vhl/Vhr instead of Tfl/Tfr.
        let base = C | L_R | LS_RS | LFE | TBL_TBR;
        assert_eq!(mpeg_channel_configuration(base | TFL_TFR), Some(16));
        assert_eq!(mpeg_channel_configuration(base | VHL_VHR), Some(16));
        assert_eq!(mpeg_channel_configuration(0), None);
        assert_eq!(mpeg_channel_configuration(0xffffff), None);
    }

    #[test]
    fn refusals_and_truncation() {
        // bitstream_version 1 (0x20 0x64: version bits 0000001).
        let e = Ac4Config::parse(&[0x20, 0x64, 0x01, 0x40]).unwrap_err();
        assert!(e.to_string().contains("bitstream_version 1"), "{e}");
        // Every truncation of a real record is handled (the first presentation's end is where
        // reading stops, so cuts before it are errors).
        for vector in [IMS, FIVE_ONE, STEREO, CBI_512] {
            let d = dsi(vector);
            for n in 0..d.len() {
                let r = Ac4Config::parse(&d[..n]);
                if n <= 20 {
                    assert!(r.is_err(), "{n} bytes");
                }
            }
        }
        // Two presentations that are not IMS + legacy: the stereo record with n_presentations 2.
        let mut two = dsi(STEREO);
        two[2] = 0x02;
        let e = Ac4Config::parse(&two).unwrap_err();
        assert!(e.to_string().contains("2 presentations"), "{e}");
    }
}
