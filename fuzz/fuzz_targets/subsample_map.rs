//! Fuzzes the encryption path on untrusted sample bytes: NAL unit walking and H.264/HEVC slice
//! header parsing (with parameter sets from the fuzzer too), AV1 OBU / sequence header / frame
//! header / tile group parsing (configOBUs from the fuzzer), VP9 superframe index and
//! uncompressed header parsing, VP8 frame headers; then cenc and cbcs encryption. The first byte
//! picks the codec (0 H.264, 1 HEVC, 2 AV1, 3 VP9, 4 VP8, modulo 5); the second the NAL length
//! size and, with its top bit, length-prefixed parameter sets (how the `mv_hevc_layers` seed
//! carries an MV-HEVC VPS, so the multi-layer VPS/SPS/slice parsing is reached);
//! tests/suite/fuzz_regressions.rs replays the seeds the same way.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vodpack::cenc::{IvSource, NalFormat, SampleEncryptor, Scheme, VideoCodec, VideoLayout};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let nal_length_size = [1u8, 2, 4][(data[1] % 3) as usize];
    let split = (data[2] as usize).min(data.len() - 3);
    let (params, sample) = data[3..].split_at(split);
    // Parameter sets: the first part, split at 0xff bytes; or, when data[1] has its top bit,
    // as u16-length-prefixed units, which may hold 0xff bytes (an HEVC VPS's
    // vps_reserved_0xffff_16bits: the MV-HEVC VPS extension is read from the VPS).
    let parameter_sets: Vec<Vec<u8>> = if data[1] & 0x80 != 0 {
        let mut sets = Vec::new();
        let mut rest = params;
        while rest.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
            sets.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
        }
        sets
    } else {
        params
            .split(|&b| b == 0xff)
            .filter(|p| !p.is_empty())
            .map(|p| p.to_vec())
            .collect()
    };
    let layout = |codec| {
        VideoLayout::Nal(NalFormat {
            codec,
            nal_length_size,
            parameter_sets: parameter_sets.clone(),
        })
    };
    for scheme in [Scheme::Cenc, Scheme::Cbcs] {
        let iv = IvSource::explicit(&[7u8; 16]).unwrap();
        let video = match data[0] % 5 {
            0 => layout(VideoCodec::Avc),
            1 => layout(VideoCodec::Hevc),
            2 => VideoLayout::Av1 {
                config_obus: params.to_vec(),
            },
            3 => VideoLayout::Vp9,
            _ => VideoLayout::Vp8,
        };
        if let Ok(mut enc) = SampleEncryptor::new(scheme, [1u8; 16], iv, Some(video)) {
            // Twice: AV1 and VP9 keep reference state from one sample to the next.
            for _ in 0..2 {
                let mut buf = sample.to_vec();
                let _ = enc.encrypt_sample(&mut buf);
            }
        }
    }
});
