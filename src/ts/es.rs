//! Samples to the elementary streams a transport stream carries: H.264 and HEVC as Annex B byte
//! streams (ISO/IEC 14496-10 Annex B, ITU-T H.265 Annex B) with an access unit delimiter first
//! and the parameter sets of the sample entry before every keyframe (a TS has no init segment);
//! AAC with an ADTS header per frame (ISO/IEC 14496-3 §1.A.2); AC-3 and E-AC-3 syncframes as
//! they are (ETSI TS 102 366 Annex A puts them in PES packets unchanged); MPEG-1/2 audio (MP3)
//! frames as they are (each carries its own header, ISO/IEC 11172-3 §2.4.1).
use super::encrypt::SampleCipher;
use crate::media::codec::CodecInfo;
use crate::media::codec::VideoCodec;

/// What a rendition's samples become, and how the PMT describes them.
#[derive(Debug, Clone)]
pub enum EsFormat {
    /// H.264 or HEVC: the NAL length size and the parameter sets of the sample entry.
    Video {
        /// Which NAL syntax.
        codec: VideoCodec,
        /// Bytes of each NAL unit's length prefix in the samples.
        nal_length_size: u8,
        /// VPS/SPS/PPS, without prefixes.
        parameter_sets: Vec<Vec<u8>>,
    },
    /// AAC: the fixed fields of every ADTS header.
    Aac {
        /// profile (audio object type - 1, 0..=3).
        profile: u8,
        /// sampling_frequency_index.
        frequency_index: u8,
        /// channel_configuration.
        channels: u8,
        /// The AudioSpecificConfig (the SAMPLE-AES audio setup information carries it).
        config: Vec<u8>,
    },
    /// AC-3 (`ac-3`) or E-AC-3 (`ec-3`) syncframes.
    Dolby {
        /// E-AC-3 rather than AC-3.
        enhanced: bool,
        /// The `dac3`/`dec3` payload (the SAMPLE-AES audio setup information carries it).
        config: Vec<u8>,
    },
    /// MPEG-1 or MPEG-2 audio (MP3) frames, as the MP4 sample holds them.
    MpegAudio {
        /// MPEG-2's half sample rates (ISO/IEC 13818-3), stream type 0x04 rather than 0x03.
        lsf: bool,
    },
}

impl EsFormat {
    /// The format of a sample entry, or why TS cannot carry it.
    pub fn from_codec(codec: &CodecInfo) -> Result<EsFormat, String> {
        if let Some(vc) = codec.video_codec() {
            return Ok(EsFormat::Video {
                codec: vc,
                nal_length_size: codec.nal_length_size.unwrap_or(4),
                parameter_sets: codec.parameter_sets.clone(),
            });
        }
        if let Some(lsf) = codec.mpeg_audio() {
            return Ok(EsFormat::MpegAudio { lsf });
        }
        match codec.fourcc.as_str() {
            "mp4a" => {
                let asc = codec.decoder_specific_info.as_deref().ok_or_else(|| {
                    format!(
                        "{}: only MPEG-4 AAC audio can go in ADTS",
                        codec.codec_string
                    )
                })?;
                adts_fields(asc).map(|(profile, frequency_index, channels)| EsFormat::Aac {
                    profile,
                    frequency_index,
                    channels,
                    config: asc.to_vec(),
                })
            }
            "ac-3" => Ok(EsFormat::Dolby {
                enhanced: false,
                config: Vec::new(),
            }),
            "ec-3" => Ok(EsFormat::Dolby {
                enhanced: true,
                config: Vec::new(),
            }),
            other => Err(format!(
                "{other} cannot be written in MPEG-TS (H.264, HEVC, AAC, AC-3, E-AC-3, MP3 can)"
            )),
        }
    }

    /// stream_type in the PMT (ISO/IEC 13818-1 Table 2-34; 0x81 and 0x87 from ATSC A/52).
    pub fn stream_type(&self) -> u8 {
        match self {
            EsFormat::Video {
                codec: VideoCodec::Avc,
                ..
            } => 0x1b,
            EsFormat::Video {
                codec: VideoCodec::Hevc,
                ..
            } => 0x24,
            EsFormat::Aac { .. } => 0x0f,
            EsFormat::Dolby {
                enhanced: false, ..
            } => 0x81,
            EsFormat::Dolby { enhanced: true, .. } => 0x87,
            EsFormat::MpegAudio { lsf: false } => 0x03,
            EsFormat::MpegAudio { lsf: true } => 0x04,
        }
    }

    /// The HLS `CODECS` entry of the stream when it differs from the MP4 codec string: MP3 is
    /// `mp4a.40.34` in HLS (Apple's HLS Authoring Specification, which hls.js also maps to its
    /// MPEG audio path), not the `mp4a.6b` of its MP4 sample entry.
    pub fn hls_codec(&self) -> Option<&'static str> {
        match self {
            EsFormat::MpegAudio { .. } => Some("mp4a.40.34"),
            _ => None,
        }
    }

    /// Keeps the `dac3`/`dec3` payload found in an AC-3/E-AC-3 sample entry (for the SAMPLE-AES
    /// audio setup information).
    pub fn with_sample_entry(mut self, sample_entry: &[u8]) -> EsFormat {
        if let EsFormat::Dolby { enhanced, config } = &mut self {
            let name: &[u8; 4] = if *enhanced { b"dec3" } else { b"dac3" };
            let found = sample_entry.windows(4).position(|w| w == name);
            if let Some((start, at)) = found.and_then(|at| Some((at.checked_sub(4)?, at))) {
                let b = &sample_entry[start..at];
                let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                if let Some(payload) = sample_entry.get(at + 4..start.saturating_add(size)) {
                    *config = payload.to_vec();
                }
            }
        }
        self
    }

    /// Why SAMPLE-AES cannot encrypt this stream, if it cannot: Apple's format defines it for
    /// H.264, AAC, AC-3 and E-AC-3.
    pub fn sample_aes_refusal(&self) -> Option<&'static str> {
        match self {
            EsFormat::Video {
                codec: VideoCodec::Hevc,
                ..
            } => Some(
                "SAMPLE-AES over MPEG-TS is defined for H.264 video, not HEVC (use hls=aes-128)",
            ),
            EsFormat::MpegAudio { .. } => Some(
                "SAMPLE-AES is defined for H.264, AAC, AC-3 and E-AC-3, not MP3 (Apple's Sample Encryption specification; use hls=aes-128)",
            ),
            _ => None,
        }
    }

    /// Why SAMPLE-AES cannot encrypt this stream as packed audio, if it cannot: AAC only. Apple's
    /// format defines AC-3/E-AC-3 packed audio too, but no reader here proves it: ffmpeg 8's HLS
    /// demuxer cannot set the stream up from such segments ("Could not determine the sample
    /// rate"; it decrypts AAC ones), and hls.js 1.7 decrypts packed AAC only
    /// (src/demux/audio/base-audio-demuxer.ts, `demuxSampleAes` rejects the others).
    pub fn packed_sample_aes_refusal(&self) -> Option<&'static str> {
        match self {
            EsFormat::Dolby { .. } => Some(
                "SAMPLE-AES packed audio is written for AAC only: no reader here decrypts AC-3/E-AC-3 packed audio (use hls=aes-128, or TS audio without --hls-packed-audio)",
            ),
            _ => self.sample_aes_refusal(),
        }
    }

    /// stream_type of a SAMPLE-AES encrypted stream (Apple's format, §2.2 and §2.3: 0xDB H.264,
    /// 0xCF AAC in ADTS, 0xC1 AC-3, 0xC2 E-AC-3).
    pub fn encrypted_stream_type(&self) -> u8 {
        match self {
            EsFormat::Video { .. } => 0xdb,
            EsFormat::Aac { .. } => 0xcf,
            EsFormat::Dolby {
                enhanced: false, ..
            } => 0xc1,
            EsFormat::Dolby { enhanced: true, .. } => 0xc2,
            // Refused before anything is written (see `sample_aes_refusal`).
            EsFormat::MpegAudio { .. } => self.stream_type(),
        }
    }

    /// The ES descriptors of a SAMPLE-AES stream: the private data indicator descriptor
    /// (ISO/IEC 13818-1 §2.6.28: `zavc`, `aacd`, `ac3d`, `ec3d`) and, for audio, the
    /// registration descriptor `apad` with the audio setup information.
    pub fn encrypted_descriptors(&self) -> Vec<u8> {
        let tag: &[u8; 4] = match self {
            EsFormat::Video { .. } => b"zavc",
            EsFormat::Aac { .. } => b"aacd",
            EsFormat::Dolby {
                enhanced: false, ..
            } => b"ac3d",
            EsFormat::Dolby { enhanced: true, .. } => b"ec3d",
            // Refused before anything is written (see `sample_aes_refusal`).
            EsFormat::MpegAudio { .. } => return Vec::new(),
        };
        let mut d = vec![0x0f, 4];
        d.extend_from_slice(tag);
        if let Some(setup) = self.audio_setup_information() {
            d.push(0x05);
            d.push(4 + setup.len() as u8);
            d.extend_from_slice(b"apad");
            d.extend_from_slice(&setup);
        }
        d
    }

    /// The audio setup information of a SAMPLE-AES audio stream (Apple's format, §2.3.2): the
    /// audio type (`zaac`/`zach`/`zacp` AAC, HE-AAC, HE-AAC v2; `zac3`; `zec3`), priming 0,
    /// version 1, and the codec's setup data (the AudioSpecificConfig or the `dac3`/`dec3`
    /// payload). The PMT carries it in the `apad` descriptor, packed audio in an ID3 PRIV frame.
    pub fn audio_setup_information(&self) -> Option<Vec<u8>> {
        let (kind, data): (&[u8; 4], &[u8]) = match self {
            EsFormat::Aac { config, .. } => {
                // The audio object type of the AudioSpecificConfig: 5 HE-AAC, 29 HE-AAC v2.
                let aot = config.first().map_or(2, |b| b >> 3);
                let kind: &[u8; 4] = match aot {
                    5 => b"zach",
                    29 => b"zacp",
                    _ => b"zaac",
                };
                (kind, config)
            }
            EsFormat::Dolby {
                enhanced: false,
                config,
            } => (b"zac3", config),
            EsFormat::Dolby {
                enhanced: true,
                config,
            } => (b"zec3", config),
            EsFormat::Video { .. } | EsFormat::MpegAudio { .. } => return None,
        };
        // The descriptor's length byte bounds it: 4 (`apad`) + 8 + data.
        let data = &data[..data.len().min(255 - 12)];
        let mut out = Vec::with_capacity(8 + data.len());
        out.extend_from_slice(kind);
        out.extend_from_slice(&[0, 0, 1, data.len() as u8]);
        out.extend_from_slice(data);
        Some(out)
    }

    /// The ES descriptors of the PMT: the registration descriptor (§2.6.8) for AC-3/E-AC-3,
    /// which readers that do not know the ATSC stream types go by.
    pub fn descriptors(&self) -> Vec<u8> {
        match self {
            EsFormat::Dolby { enhanced, .. } => {
                let id: &[u8; 4] = if *enhanced { b"EAC3" } else { b"AC-3" };
                let mut d = vec![0x05, 4];
                d.extend_from_slice(id);
                d
            }
            _ => Vec::new(),
        }
    }

    /// stream_id of the PES packets.
    pub fn stream_id(&self) -> u8 {
        match self {
            EsFormat::Video { .. } => 0xe0,
            EsFormat::Aac { .. } | EsFormat::MpegAudio { .. } => 0xc0,
            EsFormat::Dolby { .. } => 0xbd,
        }
    }

    /// True for video (PES packets of unbounded length are allowed).
    pub fn is_video(&self) -> bool {
        matches!(self, EsFormat::Video { .. })
    }

    /// Appends the access unit of one sample to `out`; `sync` marks a keyframe (parameter sets
    /// go before it); with `cipher`, SAMPLE-AES encrypts its slices or frame. A NAL length that
    /// overruns the sample is an error naming it.
    pub fn access_unit(
        &self,
        sample: &[u8],
        sync: bool,
        cipher: Option<&SampleCipher>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            EsFormat::Video {
                codec,
                nal_length_size,
                parameter_sets,
            } => {
                let (aud, is_aud, is_ps): (&[u8], NalTest, NalTest) = match codec {
                    // nal_unit_type 9, primary_pic_type 7 (any slice type)
                    VideoCodec::Avc => (
                        &[0x09, 0xf0],
                        |n| n[0] & 0x1f == 9,
                        |n| matches!(n[0] & 0x1f, 7 | 8),
                    ),
                    // nal_unit_type 35, layer 0, temporal id 1; pic_type 2 (any)
                    VideoCodec::Hevc => (
                        &[0x46, 0x01, 0x50],
                        |n| (n[0] >> 1) & 0x3f == 35,
                        |n| matches!((n[0] >> 1) & 0x3f, 32..=34),
                    ),
                };
                const START: [u8; 4] = [0, 0, 0, 1];
                out.extend_from_slice(&START);
                out.extend_from_slice(aud);
                let nals = split_nals(sample, usize::from(*nal_length_size))?;
                if sync && !nals.iter().any(|n| is_ps(n)) {
                    for ps in parameter_sets {
                        out.extend_from_slice(&START);
                        out.extend_from_slice(ps);
                    }
                }
                for nal in nals.iter().filter(|n| !is_aud(n)) {
                    out.extend_from_slice(&START);
                    match cipher {
                        Some(c) => c.h264_nal(nal, out),
                        None => out.extend_from_slice(nal),
                    }
                }
                Ok(())
            }
            EsFormat::Aac {
                profile,
                frequency_index,
                channels,
                ..
            } => {
                let len = sample.len() + 7;
                if len >= 1 << 13 {
                    return Err(format!(
                        "an AAC frame of {} bytes does not fit ADTS",
                        sample.len()
                    ));
                }
                out.extend_from_slice(&[
                    0xff,
                    0xf1, // MPEG-4, layer 0, no CRC
                    (profile << 6) | (frequency_index << 2) | (channels >> 2),
                    ((channels & 3) << 6) | (len >> 11) as u8,
                    (len >> 3) as u8,
                    ((len as u8 & 7) << 5) | 0x1f, // buffer fullness 0x7FF (variable rate)
                    0xfc,                          // ... and one raw data block
                ]);
                let at = out.len() - 7;
                out.extend_from_slice(sample);
                if let Some(c) = cipher {
                    c.audio_frame(&mut out[at..], 7);
                }
                Ok(())
            }
            EsFormat::MpegAudio { .. } => {
                out.extend_from_slice(sample);
                Ok(())
            }
            EsFormat::Dolby { .. } => {
                let at = out.len();
                out.extend_from_slice(sample);
                if let Some(c) = cipher {
                    c.audio_frame(&mut out[at..], 0);
                }
                Ok(())
            }
        }
    }
}

/// A test on a NAL unit's header (its type).
type NalTest = fn(&[u8]) -> bool;

/// The NAL units of a length-prefixed sample.
fn split_nals(sample: &[u8], size: usize) -> Result<Vec<&[u8]>, String> {
    let mut nals = Vec::new();
    let mut at = 0;
    while at < sample.len() {
        let Some(prefix) = sample.get(at..at + size) else {
            return Err(format!(
                "a NAL length field at byte {at} runs past the sample"
            ));
        };
        let len = prefix
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let Some(nal) = sample
            .get(at + size..at + size + len)
            .filter(|n| !n.is_empty())
        else {
            return Err(format!(
                "a NAL unit of {len} bytes at byte {at} runs past the sample"
            ));
        };
        nals.push(nal);
        at += size + len;
    }
    Ok(nals)
}

/// profile, sampling_frequency_index and channel_configuration of ADTS from an
/// AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); HE-AAC (explicit SBR/PS) gives its core
/// AAC-LC fields, from which decoders find SBR implicitly.
fn adts_fields(asc: &[u8]) -> Result<(u8, u8, u8), String> {
    let bad = || "the AudioSpecificConfig cannot be written as ADTS".to_string();
    let bits = |from: usize, n: usize| -> Option<u32> {
        (from..from + n).try_fold(0u32, |v, i| {
            let byte = asc.get(i / 8)?;
            Some((v << 1) | u32::from((byte >> (7 - i % 8)) & 1))
        })
    };
    let mut aot = bits(0, 5).ok_or_else(bad)?;
    let freq = bits(5, 4).ok_or_else(bad)?;
    if freq == 15 {
        return Err("an explicit AAC sampling frequency cannot be written as ADTS".into());
    }
    let channels = bits(9, 4).ok_or_else(bad)?;
    if aot == 5 || aot == 29 {
        // extensionSamplingFrequencyIndex, then the core object type.
        let ext = bits(13, 4).ok_or_else(bad)?;
        let at = if ext == 15 { 41 } else { 17 };
        aot = bits(at, 5).ok_or_else(bad)?;
    }
    if !(1..=4).contains(&aot) || channels > 7 {
        return Err(format!(
            "AAC object type {aot} with channel configuration {channels} cannot be written as ADTS"
        ));
    }
    Ok(((aot - 1) as u8, freq as u8, channels as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_lc_48k_stereo_gets_the_adts_header_ffmpeg_writes() {
        // AudioSpecificConfig 0x11 0x90: AAC-LC, 48 kHz (index 3), stereo.
        assert_eq!(adts_fields(&[0x11, 0x90]), Ok((1, 3, 2)));
        let f = EsFormat::Aac {
            profile: 1,
            frequency_index: 3,
            channels: 2,
            config: vec![0x11, 0x90],
        };
        let mut out = Vec::new();
        f.access_unit(&[0xaa; 100], true, None, &mut out).unwrap();
        // 107 bytes: ff f1 4c 80 0d 7f fc
        assert_eq!(out[..7], [0xff, 0xf1, 0x4c, 0x80, 0x0d, 0x7f, 0xfc]);
        assert_eq!(out.len(), 107);
        // HE-AAC v1 with explicit SBR: AOT 5, 24 kHz core (index 6), stereo, ext 48 kHz, AOT 2.
        assert_eq!(adts_fields(&[0x2b, 0x11, 0x88, 0x00]), Ok((1, 6, 2)));
    }

    #[test]
    fn mp3_frames_go_in_unchanged_as_mpeg_1_or_mpeg_2_audio() {
        let codec = |fourcc: &str, codec_string: &str| CodecInfo {
            fourcc: fourcc.into(),
            codec_string: codec_string.into(),
            ..CodecInfo::default()
        };
        let mpeg1 = EsFormat::from_codec(&codec("mp4a", "mp4a.6b")).unwrap();
        let mpeg2 = EsFormat::from_codec(&codec(".mp3", "mp4a.69")).unwrap();
        assert_eq!((mpeg1.stream_type(), mpeg2.stream_type()), (0x03, 0x04));
        assert_eq!(
            (mpeg1.stream_id(), mpeg1.hls_codec()),
            (0xc0, Some("mp4a.40.34"))
        );
        assert!(mpeg1.sample_aes_refusal().unwrap().contains("not MP3"));
        assert!(mpeg1.descriptors().is_empty());
        let frame = [0xff, 0xfb, 0x90, 0x64, 1, 2, 3];
        let mut out = Vec::new();
        mpeg1.access_unit(&frame, true, None, &mut out).unwrap();
        assert_eq!(out, frame);
        // AAC without an AudioSpecificConfig is not MP3.
        assert!(EsFormat::from_codec(&codec("mp4a", "mp4a.40.2")).is_err());
    }

    #[test]
    fn h264_gets_an_aud_and_parameter_sets_before_keyframes_only() {
        let f = EsFormat::Video {
            codec: VideoCodec::Avc,
            nal_length_size: 4,
            parameter_sets: vec![vec![0x67, 1], vec![0x68, 2]],
        };
        let sample = [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x06];
        let mut out = Vec::new();
        f.access_unit(&sample, true, None, &mut out).unwrap();
        assert_eq!(
            out,
            [
                0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65,
                0xaa, 0, 0, 0, 1, 0x06
            ]
        );
        out.clear();
        f.access_unit(&sample, false, None, &mut out).unwrap();
        assert_eq!(
            out,
            [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x06]
        );
        assert!(f
            .access_unit(&[0, 0, 0, 9, 0x65], false, None, &mut out)
            .is_err());
    }
}
