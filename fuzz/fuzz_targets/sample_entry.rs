//! Fuzzes sample entry / codec configuration parsing (avcC, hvcC, esds, av1C, dOps, dac3...).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vodpack::media::codec::parse_sample_entry(data);
});
