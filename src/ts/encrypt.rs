//! Encryption of the TS set (docs/mpeg-ts.md, "Encryption"): HLS `SAMPLE-AES` as Apple's
//! "MPEG-2 Stream Encryption Format for HTTP Live Streaming" defines it, and `AES-128` (RFC 8216
//! §5.2: the whole segment in AES-128-CBC with PKCS7 padding).
//!
//! SAMPLE-AES leaves the stream's structure clear and encrypts inside the elementary stream:
//! - H.264 NAL units of type 1 and 5 longer than 48 bytes: 32 bytes clear, then one 16-byte
//!   block encrypted in every 160 (1:9), the last block encrypted only when more than 16 bytes
//!   remain; the CBC chain runs through a NAL unit's encrypted blocks and restarts from the IV at
//!   each NAL unit. The NAL unit is encrypted as it is in the MP4 sample (with its emulation
//!   prevention bytes), then escaped again, since the cipher text may hold start codes; a reader
//!   removes the escapes before decrypting.
//! - AAC: after the ADTS header, 16 bytes clear, then every whole 16-byte block (the trailing
//!   partial block clear); AC-3 and E-AC-3: from the syncframe's start, 16 bytes clear, then
//!   every whole block. The chain restarts at every frame.
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128Enc;

/// How the TS set is encrypted (the `hls=` half of `--protection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsMethod {
    /// HLS `METHOD=SAMPLE-AES` over TS: H.264, AAC, AC-3, E-AC-3 samples encrypted in place.
    SampleAes,
    /// HLS `METHOD=AES-128`: every segment file encrypted whole.
    Aes128,
}

impl TsMethod {
    /// The `--protection` spelling, also the key manifest's scheme name.
    pub fn as_str(self) -> &'static str {
        match self {
            TsMethod::SampleAes => "sample-aes",
            TsMethod::Aes128 => "aes-128",
        }
    }

    /// The `METHOD` of the playlists' `#EXT-X-KEY`.
    pub fn hls_method(self) -> &'static str {
        match self {
            TsMethod::SampleAes => "SAMPLE-AES",
            TsMethod::Aes128 => "AES-128",
        }
    }

    /// Parses `sample-aes` or `aes-128`.
    pub fn parse(s: &str) -> Option<TsMethod> {
        match s {
            "sample-aes" => Some(TsMethod::SampleAes),
            "aes-128" => Some(TsMethod::Aes128),
            _ => None,
        }
    }
}

/// The IV of segment `sequence` when the key tag names none: the media sequence number as a
/// 128-bit big-endian integer (RFC 8216 §5.2).
pub fn sequence_iv(sequence: u64) -> [u8; 16] {
    u128::from(sequence).to_be_bytes()
}

/// A key with the IV of the current segment.
#[derive(Clone)]
pub struct SampleCipher {
    aes: Aes128Enc,
    /// The IV every NAL unit and audio frame of the segment starts from.
    pub iv: [u8; 16],
}

impl std::fmt::Debug for SampleCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SampleCipher(<key>)")
    }
}

impl SampleCipher {
    /// A cipher for `key`, IV zero until [`SampleCipher::iv`] is set.
    pub fn new(key: &[u8; 16]) -> SampleCipher {
        SampleCipher {
            aes: Aes128Enc::new(GenericArray::from_slice(key)),
            iv: [0; 16],
        }
    }

    /// CBC-encrypts the given 16-byte blocks of `data` (offsets) as one chain from the IV.
    fn cbc_blocks(&self, data: &mut [u8], blocks: impl Iterator<Item = usize>) {
        let mut chain = self.iv;
        for at in blocks {
            let block = &mut data[at..at + 16];
            for (b, c) in block.iter_mut().zip(chain) {
                *b ^= c;
            }
            self.aes
                .encrypt_block(GenericArray::from_mut_slice(&mut *block));
            chain.copy_from_slice(block);
        }
    }

    /// Appends H.264 NAL unit `nal` to `out`: encrypted and escaped when it is a slice (type 1
    /// or 5) longer than 48 bytes, else as it is.
    pub fn h264_nal(&self, nal: &[u8], out: &mut Vec<u8>) {
        let kind = nal.first().map_or(0, |h| h & 0x1f);
        if nal.len() <= 48 || !(kind == 1 || kind == 5) {
            out.extend_from_slice(nal);
            return;
        }
        let mut enc = nal.to_vec();
        let blocks = (32..nal.len())
            .step_by(160)
            .filter(|&at| nal.len() - at > 16);
        self.cbc_blocks(&mut enc, blocks);
        escape(&enc, out);
    }

    /// Encrypts one audio frame in place: 16 bytes clear after `header` bytes, then every
    /// whole block.
    pub fn audio_frame(&self, frame: &mut [u8], header: usize) {
        let Some(payload) = frame.len().checked_sub(header) else {
            return;
        };
        if payload <= 16 {
            return;
        }
        let whole = (payload - 16) / 16;
        let start = header + 16;
        self.cbc_blocks(frame, (0..whole).map(|b| start + 16 * b));
    }
}

/// Appends `nal` with emulation prevention bytes inserted (ITU-T H.264 §7.4.1): after two zero
/// bytes, a byte of 0..=3 gets a 0x03 before it.
pub fn escape(nal: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

/// AES-128-CBC over a whole segment written in pieces: full blocks are encrypted as they come,
/// the rest waits; [`SegmentCipher::finish`] pads with PKCS7 (RFC 8216 §4.3.2.4).
pub struct SegmentCipher {
    aes: Aes128Enc,
    chain: [u8; 16],
    pending: Vec<u8>,
}

impl std::fmt::Debug for SegmentCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentCipher(<key>)")
    }
}

impl SegmentCipher {
    /// A cipher for one segment with `key` and `iv`.
    pub fn new(key: &[u8; 16], iv: [u8; 16]) -> SegmentCipher {
        SegmentCipher {
            aes: Aes128Enc::new(GenericArray::from_slice(key)),
            chain: iv,
            pending: Vec::with_capacity(16),
        }
    }

    fn block(&mut self, block: &mut [u8]) {
        for (b, c) in block.iter_mut().zip(self.chain) {
            *b ^= c;
        }
        self.aes
            .encrypt_block(GenericArray::from_mut_slice(&mut *block));
        self.chain.copy_from_slice(block);
    }

    /// Replaces `data` with the cipher text of every whole block of (what was pending + data);
    /// the remainder waits for the next call.
    pub fn update(&mut self, data: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(data);
            *data = joined;
        }
        let whole = data.len() / 16 * 16;
        self.pending.extend_from_slice(&data[whole..]);
        data.truncate(whole);
        for at in (0..whole).step_by(16) {
            let mut b = [0u8; 16];
            b.copy_from_slice(&data[at..at + 16]);
            self.block(&mut b);
            data[at..at + 16].copy_from_slice(&b);
        }
    }

    /// The last block: what is pending, padded with PKCS7 (a whole block of 16 when nothing is).
    pub fn finish(mut self) -> [u8; 16] {
        let pad = 16 - self.pending.len() as u8;
        let mut b = [pad; 16];
        b[..self.pending.len()].copy_from_slice(&self.pending);
        self.block(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};

    const KEY: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn a_segment_in_pieces_is_cbc_with_pkcs7() {
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let iv = sequence_iv(3);
        let mut c = SegmentCipher::new(&KEY, iv);
        let mut out = Vec::new();
        for piece in plain.chunks(188) {
            let mut p = piece.to_vec();
            c.update(&mut p);
            out.extend_from_slice(&p);
        }
        out.extend_from_slice(&c.finish());
        assert_eq!(out.len(), 1008);
        let dec = cbc::Decryptor::<aes::Aes128>::new(&KEY.into(), &iv.into())
            .decrypt_padded_mut::<Pkcs7>(&mut out)
            .unwrap();
        assert_eq!(dec, plain);
        assert_eq!(iv[15], 3);
    }

    #[test]
    fn escaping_inserts_a_three_after_two_zeros() {
        let mut out = Vec::new();
        escape(&[0, 0, 1, 0, 0, 0, 0, 0, 3, 5], &mut out);
        assert_eq!(out, [0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 3, 5]);
    }

    #[test]
    fn an_h264_slice_keeps_32_bytes_and_nine_blocks_in_ten_clear() {
        let mut c = SampleCipher::new(&KEY);
        c.iv = [9; 16];
        // 0x65 (IDR) + 400 bytes without zeros, so that nothing needs escaping.
        let nal: Vec<u8> = std::iter::once(0x65)
            .chain((1..=400u32).map(|i| (i % 200 + 20) as u8))
            .collect();
        let mut out = Vec::new();
        c.h264_nal(&nal, &mut out);
        let mut enc = out.clone();
        if enc.windows(3).any(|w| w[..2] == [0, 0] && w[2] <= 3) {
            // unescape for the comparison
            let mut u = Vec::new();
            let mut zeros = 0;
            for &b in &enc {
                if zeros >= 2 && b == 3 {
                    zeros = 0;
                    continue;
                }
                u.push(b);
                zeros = if b == 0 { zeros + 1 } else { 0 };
            }
            enc = u;
        }
        assert_eq!(enc.len(), nal.len());
        // Encrypted blocks at 32, 192, 352 (352 + 16 < 401): the rest is clear.
        let changed: Vec<usize> = (0..nal.len()).filter(|&i| enc[i] != nal[i]).collect();
        for i in &changed {
            assert!(
                [32, 192, 352].iter().any(|s| (*s..s + 16).contains(i)),
                "{i}"
            );
        }
        // CBC through the NAL unit: decrypt the three blocks as one chain from the IV.
        let mut blocks: Vec<u8> = [32, 192, 352]
            .iter()
            .flat_map(|&s| enc[s..s + 16].to_vec())
            .collect();
        cbc::Decryptor::<aes::Aes128>::new(&KEY.into(), &[9; 16].into())
            .decrypt_padded_mut::<cbc::cipher::block_padding::NoPadding>(&mut blocks)
            .unwrap();
        let want: Vec<u8> = [32, 192, 352]
            .iter()
            .flat_map(|&s| nal[s..s + 16].to_vec())
            .collect();
        assert_eq!(blocks, want);
        // Short slices and other NAL types stay clear.
        out.clear();
        c.h264_nal(&nal[..48], &mut out);
        assert_eq!(out, &nal[..48]);
        let mut sei = nal.clone();
        sei[0] = 0x06;
        out.clear();
        c.h264_nal(&sei, &mut out);
        assert_eq!(out, sei);
    }

    #[test]
    fn an_audio_frame_keeps_its_header_16_bytes_and_partial_block_clear() {
        let mut c = SampleCipher::new(&KEY);
        c.iv = [1; 16];
        let plain: Vec<u8> = (0..7 + 16 + 40).map(|i| i as u8).collect();
        let mut f = plain.clone();
        c.audio_frame(&mut f, 7);
        assert_eq!(f[..23], plain[..23]);
        assert_ne!(f[23..55], plain[23..55]);
        assert_eq!(f[55..], plain[55..]);
        let mut short = plain[..7 + 16].to_vec();
        c.audio_frame(&mut short, 7);
        assert_eq!(short, plain[..23]);
    }
}
