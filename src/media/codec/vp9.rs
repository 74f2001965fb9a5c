//! VP9 in ISOBMFF (VP Codec ISO Media File Format Binding §2.2): the VPCodecConfigurationBox
//! (`vpcC`) and the full form of its codec string, `vp09.PP.LL.DD.CC.cp.tc.mc.FF` ("Codecs
//! Parameter String" section); and the frames of a sample with the length of each one's
//! uncompressed header, which Common Encryption leaves clear (binding section "Subsample
//! Encryption"): [`Vp9FrameParser`].
//!
//! A sample is one frame or a superframe (VP9 Bitstream Specification Annex B): frames back to
//! back, then an index giving their sizes. The uncompressed header (§6.2) is read to its end; its
//! length depends on the frame width (the tile column fields), which an inter frame may copy
//! from a reference frame, so the parser keeps the eight reference slots' sizes.
use super::bits::BitReader;
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// What a `vpcC` box (version 1) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Config {
    /// profile.
    pub profile: u8,
    /// level.
    pub level: u8,
    /// bitDepth.
    pub bit_depth: u8,
    /// chromaSubsampling.
    pub chroma_subsampling: u8,
    /// videoFullRangeFlag.
    pub full_range: u8,
    /// colourPrimaries (ITU-T H.273).
    pub primaries: u8,
    /// transferCharacteristics (ITU-T H.273).
    pub transfer: u8,
    /// matrixCoefficients (ITU-T H.273).
    pub matrix: u8,
}

impl Vp9Config {
    /// Reads a `vpcC` body (a FullBox of version 1).
    pub fn parse(vpcc: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(vpcc, *b"vpcC");
        let version = r.u8()?;
        r.skip(3)?; // flags
        if version != 1 {
            return Err(CodecError::invalid(
                "vpcC",
                format!("version {version} (expected 1)"),
            ));
        }
        let profile = r.u8()?;
        let level = r.u8()?;
        let b = r.u8()?;
        Ok(Vp9Config {
            profile,
            level,
            bit_depth: b >> 4,
            chroma_subsampling: (b >> 1) & 0x07,
            full_range: b & 0x01,
            primaries: r.u8()?,
            transfer: r.u8()?,
            matrix: r.u8()?,
        })
    }

    /// The full-form codec string.
    pub fn codec_string(&self) -> String {
        self.codec_string_for("vp09")
    }

    /// The same string for the entry `fourcc` (`vp09`, or `vp08` for VP8, which the binding
    /// gives the same record and form).
    pub fn codec_string_for(&self, fourcc: &str) -> String {
        format!(
            "{fourcc}.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}.{:02}",
            self.profile,
            self.level,
            self.bit_depth,
            self.chroma_subsampling,
            self.primaries,
            self.transfer,
            self.matrix,
            self.full_range
        )
    }
}

/// One frame of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9Frame {
    /// Offset of the frame in the sample.
    pub start: usize,
    /// The frame's size in bytes.
    pub len: usize,
    /// Bytes of its uncompressed header (through `header_size_in_bytes` and the trailing bits):
    /// the part that stays clear.
    pub header_len: usize,
}

/// Reads VP9 samples' frames and uncompressed headers, keeping the reference frames' sizes
/// across the samples of one track.
#[derive(Debug, Clone, Default)]
pub struct Vp9FrameParser {
    /// Width and height of each reference slot (§7.2 "ref_frame_width").
    ref_sizes: [(u32, u32); 8],
}

impl Vp9FrameParser {
    /// A parser with empty reference slots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frames of one sample, in stored order (the superframe index, if any, follows the
    /// last one).
    pub fn frames(&mut self, sample: &[u8]) -> CodecResult<Vec<Vp9Frame>> {
        let mut frames = Vec::new();
        let mut start = 0usize;
        for len in superframe_sizes(sample)? {
            let frame = &sample[start..start + len];
            let header_len = self.uncompressed_header(frame)?;
            frames.push(Vp9Frame {
                start,
                len,
                header_len,
            });
            start += len;
        }
        Ok(frames)
    }

    /// uncompressed_header() and trailing_bits() (§6.2): its length in bytes.
    fn uncompressed_header(&mut self, frame: &[u8]) -> CodecResult<usize> {
        const WHAT: &str = "VP9 uncompressed header";
        let mut r = BitReader::new(frame, WHAT);
        let r = &mut r;
        if r.bits(2)? != 2 {
            return Err(CodecError::invalid(WHAT, "frame_marker is not 2"));
        }
        let low = r.bits(1)?;
        let profile = (r.bits(1)? << 1) | low;
        if profile == 3 {
            r.skip(1)?;
        }
        if r.flag()? {
            // show_existing_frame: frame_to_show_map_idx, nothing else.
            r.skip(3)?;
            r.byte_align_zero()?;
            return Ok(r.bit_position() / 8);
        }
        let key_frame = !r.flag()?; // frame_type 0 = KEY_FRAME
        let show_frame = r.flag()?;
        let error_resilient_mode = r.flag()?;
        let (width, height, refresh_frame_flags);
        if key_frame {
            frame_sync_code(r)?;
            color_config(r, profile)?;
            (width, height) = frame_size(r)?;
            render_size(r)?;
            refresh_frame_flags = 0xff;
        } else {
            let intra_only = !show_frame && r.flag()?;
            if !error_resilient_mode {
                r.skip(2)?; // reset_frame_context
            }
            if intra_only {
                frame_sync_code(r)?;
                if profile > 0 {
                    color_config(r, profile)?;
                }
                refresh_frame_flags = r.bits(8)?;
                (width, height) = frame_size(r)?;
                render_size(r)?;
            } else {
                refresh_frame_flags = r.bits(8)?;
                let mut refs = [0usize; 3];
                for idx in &mut refs {
                    *idx = r.bits(3)? as usize;
                    r.skip(1)?; // ref_frame_sign_bias
                }
                // frame_size_with_refs()
                let mut found = None;
                for &idx in &refs {
                    if r.flag()? {
                        found = Some(idx);
                        break;
                    }
                }
                (width, height) = match found {
                    Some(idx) => {
                        let size = self.ref_sizes[idx];
                        if size.0 == 0 {
                            return Err(CodecError::invalid(
                                WHAT,
                                format!("frame size taken from reference slot {idx}, which holds no frame"),
                            ));
                        }
                        size
                    }
                    None => frame_size(r)?,
                };
                render_size(r)?;
                r.skip(1)?; // allow_high_precision_mv
                if !r.flag()? {
                    r.skip(2)?; // raw_interpolation_filter
                }
            }
        }
        if !error_resilient_mode {
            r.skip(2)?; // refresh_frame_context, frame_parallel_decoding_mode
        }
        r.skip(2)?; // frame_context_idx
                    // loop_filter_params()
        r.skip(9)?; // loop_filter_level, loop_filter_sharpness
        if r.flag()? && r.flag()? {
            // loop_filter_delta_enabled, loop_filter_delta_update
            for _ in 0..(4 + 2) {
                if r.flag()? {
                    r.skip(7)?; // su(6)
                }
            }
        }
        // quantization_params(): base_q_idx, then three read_delta_q()
        r.skip(8)?;
        for _ in 0..3 {
            if r.flag()? {
                r.skip(5)?; // su(4)
            }
        }
        // segmentation_params()
        if r.flag()? {
            if r.flag()? {
                // segmentation_update_map: tree probs, then temporal update and its probs
                for _ in 0..7 {
                    read_prob(r)?;
                }
                if r.flag()? {
                    for _ in 0..3 {
                        read_prob(r)?;
                    }
                }
            }
            if r.flag()? {
                // segmentation_update_data
                r.skip(1)?; // segmentation_abs_or_delta_update
                for _ in 0..8 {
                    for (bits, signed) in [(8, true), (6, true), (2, false), (0, false)] {
                        if r.flag()? {
                            r.skip(bits + u32::from(signed))?;
                        }
                    }
                }
            }
        }
        // tile_info()
        let sb64_cols = (width.div_ceil(8)).div_ceil(8);
        let mut min_log2 = 0;
        while (64u32 << min_log2) < sb64_cols {
            min_log2 += 1;
        }
        let mut max_log2 = 1;
        while (sb64_cols >> max_log2) >= 4 {
            max_log2 += 1;
        }
        let max_log2 = max_log2 - 1;
        let mut tile_cols_log2 = min_log2;
        while tile_cols_log2 < max_log2 && r.flag()? {
            tile_cols_log2 += 1;
        }
        if r.flag()? {
            r.skip(1)?; // increment_tile_rows_log2
        }
        let header_size_in_bytes = r.bits(16)?;
        if header_size_in_bytes == 0 {
            return Err(CodecError::invalid(WHAT, "header_size_in_bytes is 0"));
        }
        r.byte_align_zero()?;
        for (i, slot) in self.ref_sizes.iter_mut().enumerate() {
            if (refresh_frame_flags >> i) & 1 == 1 {
                *slot = (width, height);
            }
        }
        Ok(r.bit_position() / 8)
    }
}

/// The sizes of the frames of a sample: those of its superframe index (Annex B), or the whole
/// sample as one frame.
fn superframe_sizes(sample: &[u8]) -> CodecResult<Vec<usize>> {
    const WHAT: &str = "VP9 superframe index";
    let Some(&marker) = sample.last() else {
        return Err(CodecError::invalid("VP9 sample", "an empty sample"));
    };
    if marker & 0xe0 != 0xc0 {
        return Ok(vec![sample.len()]);
    }
    let frames = usize::from(marker & 7) + 1;
    let mag = usize::from((marker >> 3) & 3) + 1;
    let index_size = 2 + mag * frames;
    if sample.len() < index_size || sample[sample.len() - index_size] != marker {
        // The last byte only looks like a marker: a plain frame.
        return Ok(vec![sample.len()]);
    }
    let index = &sample[sample.len() - index_size + 1..sample.len() - 1];
    let sizes: Vec<usize> = index
        .chunks(mag)
        .map(|c| {
            c.iter()
                .rev()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b))
        })
        .collect();
    let total = sizes.iter().sum::<usize>();
    if sizes.contains(&0) || total + index_size != sample.len() {
        return Err(CodecError::invalid(
            WHAT,
            format!(
                "frame sizes {sizes:?} and a {index_size}-byte index do not make up the {}-byte sample",
                sample.len()
            ),
        ));
    }
    Ok(sizes)
}

fn frame_sync_code(r: &mut BitReader<'_>) -> CodecResult<()> {
    if r.bits(24)? != 0x49_83_42 {
        return Err(CodecError::invalid(
            "VP9 uncompressed header",
            "frame_sync_code is not 0x498342",
        ));
    }
    Ok(())
}

/// color_config() (§6.2.2): only skipped.
fn color_config(r: &mut BitReader<'_>, profile: u32) -> CodecResult<()> {
    if profile >= 2 {
        r.skip(1)?; // ten_or_twelve_bit
    }
    let color_space = r.bits(3)?;
    if color_space != 7 {
        r.skip(1)?; // color_range
        if profile == 1 || profile == 3 {
            r.skip(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        r.skip(1)?; // reserved_zero
    }
    Ok(())
}

/// frame_size() (§6.2.3).
fn frame_size(r: &mut BitReader<'_>) -> CodecResult<(u32, u32)> {
    Ok((r.bits(16)? + 1, r.bits(16)? + 1))
}

/// render_size() (§6.2.4): only skipped.
fn render_size(r: &mut BitReader<'_>) -> CodecResult<()> {
    if r.flag()? {
        r.skip(32)?;
    }
    Ok(())
}

/// read_prob() (§6.2.11): only skipped.
fn read_prob(r: &mut BitReader<'_>) -> CodecResult<()> {
    if r.flag()? {
        r.skip(8)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_form_and_errors() {
        // version 1, profile 0, level 31, 8 bit, 4:2:0 colocated (1), limited range, BT.709.
        let c = Vp9Config::parse(&[1, 0, 0, 0, 0, 31, (8 << 4) | (1 << 1), 1, 1, 1, 0, 0]).unwrap();
        assert_eq!(c.codec_string(), "vp09.00.31.08.01.01.01.01.00");
        let e = Vp9Config::parse(&[0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.to_string(), "vpcC: version 0 (expected 1)");
        assert!(matches!(
            Vp9Config::parse(&[1, 0, 0, 0, 0]).unwrap_err(),
            CodecError::Box(_)
        ));
    }

    /// A key frame's uncompressed header, profile 0, 64x48, written bit by bit per §6.2.
    fn key_frame(payload: &[u8]) -> Vec<u8> {
        let mut bits = String::new();
        bits += "10"; // frame_marker
        bits += "00"; // profile 0
        bits += "0"; // show_existing_frame
        bits += "0"; // frame_type KEY_FRAME
        bits += "1"; // show_frame
        bits += "0"; // error_resilient_mode
        bits += "010010011000001101000010"; // frame_sync_code
        bits += "0010"; // color_space BT.601, color_range 0
        bits += &format!("{:016b}{:016b}", 63, 47); // frame size minus 1
        bits += "0"; // render_and_frame_size_different
        bits += "00"; // refresh_frame_context, frame_parallel_decoding_mode
        bits += "00"; // frame_context_idx
        bits += "000000"; // loop_filter_level
        bits += "000"; // sharpness
        bits += "0"; // loop_filter_delta_enabled
        bits += "00000000"; // base_q_idx
        bits += "000"; // no delta q
        bits += "0"; // segmentation_enabled
        bits += "0"; // tile_rows_log2 (1 sb64 column: no tile column bits)
        bits += &format!("{:016b}", payload.len()); // header_size_in_bytes
        while !bits.len().is_multiple_of(8) {
            bits += "0";
        }
        let mut out: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn frames_headers_and_superframes() {
        let mut p = Vp9FrameParser::new();
        let frame = key_frame(&[0x55; 40]);
        let header_len = frame.len() - 40;
        let frames = p.frames(&frame).unwrap();
        assert_eq!(
            frames,
            vec![Vp9Frame {
                start: 0,
                len: frame.len(),
                header_len
            }]
        );
        // A superframe: the key frame and a shown existing frame (1 byte), index with 1-byte
        // sizes: marker 0b110_00_001.
        let shown = [0b1000_1000u8];
        let marker = 0xc1;
        let mut sf = frame.clone();
        sf.extend_from_slice(&shown);
        sf.extend_from_slice(&[marker, frame.len() as u8, 1, marker]);
        let frames = p.frames(&sf).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[1],
            Vp9Frame {
                start: frame.len(),
                len: 1,
                header_len: 1
            }
        );
        // An index whose sizes do not add up.
        let mut bad = sf.clone();
        let n = bad.len();
        bad[n - 2] = 2;
        let e = p.frames(&bad).unwrap_err();
        assert!(e.to_string().contains("do not make up"), "{e}");
        // Not a frame: wrong marker, wrong sync code, empty.
        assert!(p.frames(&[0x00, 0x00]).is_err());
        let mut wrong_sync = frame.clone();
        wrong_sync[2] ^= 0xff;
        assert!(p
            .frames(&wrong_sync)
            .unwrap_err()
            .to_string()
            .contains("frame_sync_code"));
        assert!(p.frames(&[]).is_err());
    }
}
