//! Fuzzes the audio configuration records on their own (docs/audio-signalling.md): the first
//! byte picks the parser, the rest is the box body. Every accepted record must also give channel
//! signalling without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vodpack::media::codec::audio_fuzz::parse_audio_config(data);
});
