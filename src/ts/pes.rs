//! PES packet headers (ISO/IEC 13818-1 §2.4.3.6, §2.4.3.7) with PTS and DTS on the 90 kHz clock.

/// The 33-bit timestamp field with its 4-bit prefix and marker bits (§2.4.3.7).
fn timestamp(prefix: u8, ts: u64) -> [u8; 5] {
    let ts = ts & ((1 << 33) - 1);
    [
        (prefix << 4) | (((ts >> 30) as u8 & 0x07) << 1) | 1,
        (ts >> 22) as u8,
        (((ts >> 15) as u8) << 1) | 1,
        (ts >> 7) as u8,
        ((ts as u8) << 1) | 1,
    ]
}

/// A PES header for `payload_len` bytes of stream `stream_id` (0xE0 video, 0xC0 MPEG audio,
/// 0xBD private stream 1 for AC-3/E-AC-3): PTS, and DTS when it differs.
/// PES_packet_length is 0 (unbounded, allowed for video only) when the packet would exceed it.
pub fn header(stream_id: u8, pts: u64, dts: u64, payload_len: usize) -> Vec<u8> {
    let with_dts = dts != pts;
    let data_len: usize = if with_dts { 10 } else { 5 };
    let mut h = Vec::with_capacity(9 + data_len);
    h.extend_from_slice(&[0, 0, 1, stream_id]);
    let len = 3 + data_len + payload_len;
    let len = u16::try_from(len).unwrap_or(0);
    h.extend_from_slice(&len.to_be_bytes());
    h.push(0x84); // '10', not scrambled, no priority, data_alignment_indicator, no copyright
    h.push(if with_dts { 0xc0 } else { 0x80 }); // PTS_DTS_flags
    h.push(data_len as u8);
    if with_dts {
        h.extend_from_slice(&timestamp(0b0011, pts));
        h.extend_from_slice(&timestamp(0b0001, dts));
    } else {
        h.extend_from_slice(&timestamp(0b0010, pts));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(b: &[u8]) -> u64 {
        (u64::from(b[0] >> 1 & 7) << 30)
            | (u64::from(b[1]) << 22)
            | (u64::from(b[2] >> 1) << 15)
            | (u64::from(b[3]) << 7)
            | u64::from(b[4] >> 1)
    }

    #[test]
    fn timestamps_round_trip_with_markers() {
        for ts in [
            0u64,
            1,
            900_000,
            (1 << 33) - 1,
            0x1_2345_6789 & ((1 << 33) - 1),
        ] {
            let b = timestamp(2, ts);
            assert_eq!(read(&b), ts);
            assert_eq!(b[0] & 1, 1);
            assert_eq!(b[2] & 1, 1);
            assert_eq!(b[4] & 1, 1);
        }
        let h = header(0xe0, 903_600, 900_000, 1000);
        assert_eq!(h.len(), 19);
        assert_eq!((read(&h[9..14]), read(&h[14..19])), (903_600, 900_000));
        assert_eq!(u16::from_be_bytes([h[4], h[5]]), 1013);
        assert_eq!(header(0xe0, 1, 1, 70_000)[4..6], [0, 0]);
    }
}
