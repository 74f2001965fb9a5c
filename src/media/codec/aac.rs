//! MPEG-4 audio in `mp4a` entries: the ES_Descriptor of an `esds` box (ISO/IEC 14496-14 §3.1.2,
//! descriptors per ISO/IEC 14496-1 §7.2.6), its AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1)
//! and the RFC 6381 §3.3 codec string `mp4a.OTI[.AOT]`.
use super::bits::BitReader;
use super::error::{CodecError, CodecResult};
use crate::mp4::ByteReader;

/// objectTypeIndication of MPEG-4 Audio (ISO/IEC 14496-1 Table 5).
pub const OTI_MPEG4_AUDIO: u8 = 0x40;

/// What an `esds` box says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsdsConfig {
    /// The DecoderConfigDescriptor's objectTypeIndication.
    pub object_type_indication: u8,
    /// The AudioSpecificConfig, for MPEG-4 Audio (OTI 0x40).
    pub audio: Option<AudioSpecificConfig>,
    /// The DecoderSpecificInfo's bytes (for MPEG-4 Audio, the AudioSpecificConfig), which an
    /// ADTS header is made from (MPEG-TS output).
    pub decoder_specific_info: Option<Vec<u8>>,
}

impl EsdsConfig {
    /// Reads an `esds` box body (version and flags included).
    pub fn parse(esds: &[u8]) -> CodecResult<Self> {
        let mut r = ByteReader::new(esds, *b"esds");
        r.skip(4)?; // version, flags
        let es = descriptor(&mut r, 0x03, "ES_Descriptor")?;
        let mut r = ByteReader::new(es, *b"esds");
        r.skip(2)?; // ES_ID
        let flags = r.u8()?;
        if flags & 0x80 != 0 {
            r.skip(2)?; // dependsOn_ES_ID
        }
        if flags & 0x40 != 0 {
            let len = usize::from(r.u8()?);
            r.skip(len)?; // URL
        }
        if flags & 0x20 != 0 {
            r.skip(2)?; // OCR_ES_Id
        }
        let dcd = descriptor(&mut r, 0x04, "DecoderConfigDescriptor")?;
        let mut r = ByteReader::new(dcd, *b"esds");
        let oti = r.u8()?;
        r.skip(12)?; // streamType etc.(8), bufferSizeDB(24), maxBitrate(32), avgBitrate(32)
        let dsi = if r.remaining() > 0 {
            Some(descriptor(&mut r, 0x05, "DecoderSpecificInfo")?)
        } else {
            None
        };
        if oti != OTI_MPEG4_AUDIO {
            // Not MPEG-4 Audio (e.g. 0x6b MP3): no AudioSpecificConfig to read.
            return Ok(EsdsConfig {
                object_type_indication: oti,
                audio: None,
                decoder_specific_info: dsi.map(<[u8]>::to_vec),
            });
        }
        let dsi = dsi.ok_or_else(|| {
            CodecError::invalid("esds", "MPEG-4 Audio without an AudioSpecificConfig")
        })?;
        Ok(EsdsConfig {
            object_type_indication: oti,
            audio: Some(AudioSpecificConfig::parse(dsi)?),
            decoder_specific_info: Some(dsi.to_vec()),
        })
    }

    /// The RFC 6381 §3.3 codec string: `mp4a.40.AOT` for MPEG-4 Audio, `mp4a.OTI` otherwise.
    pub fn codec_string(&self) -> String {
        match &self.audio {
            Some(asc) => format!("mp4a.40.{}", asc.object_type),
            None => format!("mp4a.{:02x}", self.object_type_indication),
        }
    }
}

/// Reads one descriptor with the expected tag (ISO/IEC 14496-1 §8.3.3: tag, then a size in up to
/// four 7-bit groups) and returns its payload.
fn descriptor<'a>(r: &mut ByteReader<'a>, tag: u8, what: &str) -> CodecResult<&'a [u8]> {
    let found = r.u8()?;
    if found != tag {
        return Err(CodecError::invalid(
            "esds",
            format!("expected {what} (tag {tag:#04x}), found tag {found:#04x}"),
        ));
    }
    let mut size = 0usize;
    for i in 0..4 {
        let b = r.u8()?;
        size = (size << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(CodecError::invalid(
                "esds",
                format!("{what} size runs over 4 bytes"),
            ));
        }
    }
    Ok(r.bytes(size)?)
}

/// Sampling frequencies by samplingFrequencyIndex (ISO/IEC 14496-3 §1.6.3.3, Table 1.18).
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// AudioSpecificConfig, ISO/IEC 14496-3 §1.6.2.1: the fields a manifest needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// Audio object type (with the escape 31 → 32 + 6 bits resolved).
    pub object_type: u32,
    /// Output sampling rate (the extension rate with explicit SBR/PS signalling).
    pub sample_rate: Option<u32>,
    /// Output channels; `None` when a program_config_element defines them.
    pub channels: Option<u16>,
}

impl AudioSpecificConfig {
    /// Reads the audio object type, sampling frequency and channel configuration; explicit
    /// SBR/PS signalling (AOT 5/29) gives the output rate in extensionSamplingFrequency.
    pub fn parse(asc: &[u8]) -> CodecResult<Self> {
        let mut b = BitReader::new(asc, "AudioSpecificConfig");
        let object_type = read_object_type(&mut b)?;
        let mut sample_rate = read_frequency(&mut b)?;
        let channel_config = b.bits(4)?;
        let mut channels = match channel_config {
            0 => None, // defined by a program_config_element: keep the sample entry's count
            // 1..=6: the cast cannot truncate.
            1..=6 => Some(channel_config as u16),
            7 | 12 | 14 => Some(8),
            11 => Some(7),
            13 => Some(24),
            _ => {
                return Err(CodecError::invalid(
                    "AudioSpecificConfig",
                    format!("reserved channelConfiguration {channel_config}"),
                ))
            }
        };
        if object_type == 5 || object_type == 29 {
            // SBR doubles the output rate; PS turns mono into stereo.
            sample_rate = read_frequency(&mut b)?;
            if object_type == 29 {
                channels = Some(2);
            }
        }
        Ok(AudioSpecificConfig {
            object_type,
            sample_rate,
            channels,
        })
    }
}

fn read_object_type(b: &mut BitReader) -> CodecResult<u32> {
    let aot = b.bits(5)?;
    if aot == 31 {
        Ok(32 + b.bits(6)?)
    } else {
        Ok(aot)
    }
}

fn read_frequency(b: &mut BitReader) -> CodecResult<Option<u32>> {
    let index = b.bits(4)?;
    if index == 0x0f {
        return Ok(Some(b.bits(24)?).filter(|&r| r > 0));
    }
    AAC_RATES
        .get(index as usize)
        .copied()
        .map(Some)
        .ok_or_else(|| {
            CodecError::invalid(
                "AudioSpecificConfig",
                format!("reserved samplingFrequencyIndex {index}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::super::test_data::{child_body, entry};
    use super::*;

    #[test]
    fn esds_of_real_entries() {
        // expected.txt: Shaka Packager says mp4a.40.2; ffprobe 48 kHz stereo / 44.1 kHz mono.
        for (name, rate, channels) in [("aac_stereo48k", 48000, 2), ("aac_mono44k", 44100, 1)] {
            let e = entry(name);
            let c = EsdsConfig::parse(child_body(&e, b"esds")).unwrap();
            assert_eq!(c.codec_string(), "mp4a.40.2", "{name}");
            let asc = c.audio.unwrap();
            assert_eq!(
                (asc.sample_rate, asc.channels),
                (Some(rate), Some(channels))
            );
        }
    }

    #[test]
    fn asc_escape_and_reserved_values() {
        // AOT 31 + 6 bits 10 = 42 (USAC), 48 kHz, stereo.
        let asc = AudioSpecificConfig::parse(&[0xf9, 0x46, 0x40]).unwrap();
        assert_eq!(asc.object_type, 42);
        // AOT 2, frequency index 13 (reserved).
        let e = AudioSpecificConfig::parse(&[0x16, 0x80]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AudioSpecificConfig: reserved samplingFrequencyIndex 13"
        );
        let e = AudioSpecificConfig::parse(&[0x12]).unwrap_err();
        assert!(matches!(e, CodecError::BitsExhausted { .. }), "{e}");
    }

    #[test]
    fn non_mpeg4_audio_gives_the_oti_only() {
        // esds: ES_Descriptor { ES_ID, flags, DecoderConfigDescriptor { OTI 0x6b (MP3), ... } }
        let mut dcd = vec![0x04, 13, 0x6b, 0x15];
        dcd.extend_from_slice(&[0; 11]);
        let mut es = vec![0x03, (3 + dcd.len()) as u8, 0, 1, 0];
        es.extend_from_slice(&dcd);
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&es);
        let c = EsdsConfig::parse(&body).unwrap();
        assert_eq!((c.codec_string().as_str(), c.audio), ("mp4a.6b", None));
        // The wrong tag where the ES_Descriptor should be.
        body[4] = 0x04;
        let e = EsdsConfig::parse(&body).unwrap_err();
        assert!(e.to_string().contains("expected ES_Descriptor"), "{e}");
    }
}
