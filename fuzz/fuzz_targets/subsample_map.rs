//! Fuzzes the encryption path on untrusted sample bytes: NAL unit walking and H.264/HEVC slice
//! header parsing (with parameter sets from the fuzzer too), then cenc and cbcs encryption.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vodpack::cenc::{IvSource, NalFormat, SampleEncryptor, Scheme, VideoCodec};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let codec = if data[0] & 1 == 0 {
        VideoCodec::Avc
    } else {
        VideoCodec::Hevc
    };
    let nal_length_size = [1u8, 2, 4][(data[1] % 3) as usize];
    let split = (data[2] as usize).min(data.len() - 3);
    let (params, sample) = data[3..].split_at(split);
    // Parameter sets: the first part, split at 0xff bytes.
    let parameter_sets: Vec<Vec<u8>> = params
        .split(|&b| b == 0xff)
        .filter(|p| !p.is_empty())
        .map(|p| p.to_vec())
        .collect();
    for scheme in [Scheme::Cenc, Scheme::Cbcs] {
        let iv = IvSource::explicit(&[7u8; 16]).unwrap();
        let format = NalFormat {
            codec: codec.clone(),
            nal_length_size,
            parameter_sets: parameter_sets.clone(),
        };
        if let Ok(mut enc) = SampleEncryptor::new(scheme, [1u8; 16], iv, Some(format)) {
            let mut buf = sample.to_vec();
            let _ = enc.encrypt_sample(&mut buf);
        }
    }
});
