//! Packed audio (HLS, RFC 8216 §3.4): an audio-only rendition's segments as the raw elementary
//! stream, AAC in ADTS (`.aac`), AC-3 (`.ac3`) and E-AC-3 (`.ec3`) syncframes, MP3 frames
//! (`.mp3`), each segment
//! opened by an ID3v2.4 tag whose PRIV frame `com.apple.streaming.transportStreamTimestamp`
//! holds the 90 kHz timestamp of its first frame: the PTS the TS set gives that frame, so
//! packed audio and TS video share one timeline (docs/mpeg-ts.md, "Packed audio").
use super::es::EsFormat;

/// The PRIV frame's owner identifier (RFC 8216 §3.4).
pub const TIMESTAMP_OWNER: &str = "com.apple.streaming.transportStreamTimestamp";

/// The file extension of a packed audio segment of `format`, or `None` for video.
pub fn extension(format: &EsFormat) -> Option<&'static str> {
    match format {
        EsFormat::Video { .. } => None,
        EsFormat::Aac { .. } => Some("aac"),
        EsFormat::Dolby {
            enhanced: false, ..
        } => Some("ac3"),
        EsFormat::Dolby { enhanced: true, .. } => Some("ec3"),
        EsFormat::MpegAudio { .. } => Some("mp3"),
    }
}

/// A 28-bit size as ID3v2's synchsafe integer (7 bits a byte, ID3v2.4 §6.2).
fn synchsafe(n: usize) -> [u8; 4] {
    [
        (n >> 21) as u8 & 0x7f,
        (n >> 14) as u8 & 0x7f,
        (n >> 7) as u8 & 0x7f,
        n as u8 & 0x7f,
    ]
}

/// Appends the ID3v2.4 tag that opens a packed audio segment whose first frame has `pts`
/// (90 kHz, the low 33 bits kept, in 8 bytes big-endian as RFC 8216 §3.4 says).
pub fn timestamp_tag(out: &mut Vec<u8>, pts: u64) {
    let mut frame = Vec::with_capacity(TIMESTAMP_OWNER.len() + 9);
    frame.extend_from_slice(TIMESTAMP_OWNER.as_bytes());
    frame.push(0);
    frame.extend_from_slice(&(pts & ((1 << 33) - 1)).to_be_bytes());
    // Header: "ID3", version 2.4.0, no flags, the size of what follows the 10-byte header.
    out.extend_from_slice(b"ID3\x04\x00\x00");
    out.extend_from_slice(&synchsafe(10 + frame.len()));
    out.extend_from_slice(b"PRIV");
    out.extend_from_slice(&synchsafe(frame.len()));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_holds_the_33_bit_timestamp_after_the_owner() {
        let mut out = Vec::new();
        timestamp_tag(&mut out, (1 << 33) | 900_000);
        // 10-byte header, 10-byte frame header, owner and its NUL, 8 bytes of timestamp.
        assert_eq!(out.len(), 10 + 10 + 45 + 8);
        assert_eq!(&out[..6], b"ID3\x04\x00\x00");
        assert_eq!(&out[6..10], &[0, 0, 0, 63]);
        assert_eq!(&out[10..14], b"PRIV");
        assert_eq!(&out[14..18], &[0, 0, 0, 53]);
        assert_eq!(&out[20..64], TIMESTAMP_OWNER.as_bytes());
        assert_eq!(out[64], 0);
        assert_eq!(u64::from_be_bytes(out[65..73].try_into().unwrap()), 900_000);
    }
}
