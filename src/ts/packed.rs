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

/// The PRIV frame's owner identifier carrying a SAMPLE-AES packed segment's audio setup
/// information (Apple's Sample Encryption specification, packed audio).
pub const AUDIO_DESCRIPTION_OWNER: &str = "com.apple.streaming.audioDescription";

/// Appends the ID3v2.4 tag that opens a packed audio segment whose first frame has `pts`
/// (90 kHz, the low 33 bits kept, in 8 bytes big-endian as RFC 8216 §3.4 says).
pub fn timestamp_tag(out: &mut Vec<u8>, pts: u64) {
    tag(out, pts, None);
}

/// [`timestamp_tag`] of a SAMPLE-AES segment: a second PRIV frame holds the audio setup
/// information (audio type, priming, version, setup data: what the `apad` descriptor holds in
/// a transport stream).
pub fn encrypted_tag(out: &mut Vec<u8>, pts: u64, audio_setup: &[u8]) {
    tag(out, pts, Some(audio_setup));
}

fn tag(out: &mut Vec<u8>, pts: u64, audio_setup: Option<&[u8]>) {
    let timestamp = (pts & ((1 << 33) - 1)).to_be_bytes();
    let mut frames = Vec::with_capacity(128);
    priv_frame(&mut frames, TIMESTAMP_OWNER, &timestamp);
    if let Some(setup) = audio_setup {
        priv_frame(&mut frames, AUDIO_DESCRIPTION_OWNER, setup);
    }
    // Header: "ID3", version 2.4.0, no flags, the size of what follows the 10-byte header.
    out.extend_from_slice(b"ID3\x04\x00\x00");
    out.extend_from_slice(&synchsafe(frames.len()));
    out.extend_from_slice(&frames);
}

/// A PRIV frame (ID3v2.4 §4.27): the owner, a NUL, the data.
fn priv_frame(out: &mut Vec<u8>, owner: &str, data: &[u8]) {
    out.extend_from_slice(b"PRIV");
    out.extend_from_slice(&synchsafe(owner.len() + 1 + data.len()));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(owner.as_bytes());
    out.push(0);
    out.extend_from_slice(data);
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
        // SAMPLE-AES: the audio setup information in a second PRIV frame.
        let mut enc = Vec::new();
        encrypted_tag(&mut enc, 900_000, b"zaac\0\0\x01\x02\x11\x90");
        assert_eq!(enc[..6], out[..6]);
        assert_eq!(&enc[6..10], &[0, 0, 0, 63 + 10 + 37 + 10]);
        assert_eq!(enc[10..73], out[10..73]);
        assert_eq!(&enc[73..77], b"PRIV");
        assert_eq!(&enc[77..81], &[0, 0, 0, 47]);
        assert_eq!(&enc[83..120], b"com.apple.streaming.audioDescription\0");
        assert_eq!(&enc[120..], b"zaac\0\0\x01\x02\x11\x90");
    }
}
