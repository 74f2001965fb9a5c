//! VP8 in ISOBMFF (VP Codec ISO Media File Format Binding: the `vp08` sample entry with the same
//! `vpcC` as VP9, codec string `vp08.PP.LL.DD.CC.cp.tc.mc.FF`) and the one thing Common
//! Encryption needs from a VP8 frame: the length of its uncompressed data chunk, which the
//! binding's "Subsample Encryption" keeps clear (RFC 6386 §9.1: a 3-byte frame tag, plus for a
//! key frame the 3-byte start code `9d 01 2a` and the 4 bytes of width and height: 10 bytes).
//!
//! Shaka Packager 3.8 encrypts VP8 samples whole (no subsamples), which hides the frame tag from
//! a decoder that reads it before decrypting; vodpack follows the binding (docs/subsample-encryption.md).
use super::error::{CodecError, CodecResult};

/// Frame tag length (RFC 6386 §9.1).
const FRAME_TAG: usize = 3;
/// Key frame: frame tag + start code + width/height (RFC 6386 §9.1).
const KEY_FRAME_HEADER: usize = 10;
/// The key frame start code (RFC 6386 §9.1).
const START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// Length of the uncompressed data chunk at the start of VP8 frame `sample`: 10 bytes for a key
/// frame, 3 for an inter frame. A frame shorter than that, a key frame without the start code, or
/// a first partition claimed longer than the frame is an error.
pub fn uncompressed_header_len(sample: &[u8]) -> CodecResult<usize> {
    let tag = sample.get(..FRAME_TAG).ok_or_else(|| {
        CodecError::invalid(
            "VP8 frame",
            format!("{} bytes, shorter than the frame tag", sample.len()),
        )
    })?;
    let key_frame = tag[0] & 1 == 0;
    // first_part_size: 19 bits after key_frame(1), version(3), show_frame(1).
    let first_part_size =
        (u32::from(tag[0]) | u32::from(tag[1]) << 8 | u32::from(tag[2]) << 16) >> 5;
    let header = if key_frame {
        KEY_FRAME_HEADER
    } else {
        FRAME_TAG
    };
    if sample.len() < header {
        return Err(CodecError::invalid(
            "VP8 frame",
            format!(
                "key frame of {} bytes, shorter than its header",
                sample.len()
            ),
        ));
    }
    if key_frame && sample[FRAME_TAG..FRAME_TAG + 3] != START_CODE {
        return Err(CodecError::invalid(
            "VP8 frame",
            "key frame without the start code 9d 01 2a",
        ));
    }
    if first_part_size as usize > sample.len() - header {
        return Err(CodecError::invalid(
            "VP8 frame",
            format!(
                "first partition of {first_part_size} bytes in a frame of {} bytes",
                sample.len()
            ),
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: bool, first_part: u32) -> [u8; 3] {
        let v = (first_part << 5) | (1 << 4) | u32::from(!key);
        [v as u8, (v >> 8) as u8, (v >> 16) as u8]
    }

    #[test]
    fn key_frames_keep_10_bytes_and_inter_frames_3() {
        let mut key = tag(true, 20).to_vec();
        key.extend_from_slice(&START_CODE);
        key.extend_from_slice(&[0x80, 0x02, 0x68, 0x01]);
        key.extend_from_slice(&[0; 40]);
        assert_eq!(uncompressed_header_len(&key).unwrap(), 10);
        let mut inter = tag(false, 10).to_vec();
        inter.extend_from_slice(&[0; 30]);
        assert_eq!(uncompressed_header_len(&inter).unwrap(), 3);
    }

    #[test]
    fn refuses_short_frames_missing_start_codes_and_long_partitions() {
        assert!(uncompressed_header_len(&[]).is_err());
        assert!(uncompressed_header_len(&tag(false, 0)[..2]).is_err());
        let mut key = tag(true, 0).to_vec();
        key.extend_from_slice(&[0x9d, 0x01, 0x2b, 0, 0, 0, 0]);
        assert!(uncompressed_header_len(&key).is_err());
        assert!(uncompressed_header_len(&key[..6]).is_err());
        let mut inter = tag(false, 100).to_vec();
        inter.extend_from_slice(&[0; 50]);
        assert!(uncompressed_header_len(&inter).is_err());
        // Every prefix of a valid key frame is refused or read, never a panic.
        let mut ok = tag(true, 4).to_vec();
        ok.extend_from_slice(&START_CODE);
        ok.extend_from_slice(&[0; 20]);
        for n in 0..ok.len() {
            let _ = uncompressed_header_len(&ok[..n]);
        }
    }
}
