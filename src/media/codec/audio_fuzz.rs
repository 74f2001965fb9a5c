//! One entry point over every audio configuration parser, for the `audio_config` fuzz target
//! and its seed replay in tests/suite/fuzz_regressions.rs: the first byte picks the record
//! (`dec3`, `dac3`, `dfLa`, the ALAC cookie, `ddts`, `udts`, `iacb`, `dac4`), the rest is its box body. Whatever a parser
//! accepts goes on to [`ChannelSignalling`], so the signalling arithmetic is fuzzed too.
use super::ac3::Ac3Config;
use super::ac4::Ac4Config;
use super::alac::AlacConfig;
use super::channels::ChannelSignalling;
use super::dts::{DdtsConfig, UdtsConfig};
use super::flac::FlacConfig;
use super::iamf::IamfConfig;

/// The records, in the order of the selector byte (taken modulo their number).
pub const RECORDS: [&str; 8] = [
    "dec3", "dac3", "dfLa", "alac", "ddts", "udts", "iacb", "dac4",
];

/// Parses `data[1..]` as the record `RECORDS[data[0] % RECORDS.len()]`; returns whether it was
/// accepted. Never panics (that is what the fuzzer checks).
pub fn parse_audio_config(data: &[u8]) -> bool {
    let Some((&selector, body)) = data.split_first() else {
        return false;
    };
    match usize::from(selector) % RECORDS.len() {
        0 => Ac3Config::parse_dec3(body)
            .map(|c| ChannelSignalling::dolby(&c))
            .is_ok(),
        1 => Ac3Config::parse_dac3(body)
            .map(|c| ChannelSignalling::dolby(&c))
            .is_ok(),
        2 => FlacConfig::parse(body)
            .map(|c| ChannelSignalling::count(c.channels))
            .is_ok(),
        3 => AlacConfig::parse(body)
            .map(|c| ChannelSignalling::count(c.channels))
            .is_ok(),
        4 => DdtsConfig::parse(body).is_ok(),
        5 => UdtsConfig::parse(body)
            .map(|c| ChannelSignalling::dtsx(6, c.channel_mask))
            .is_ok(),
        6 => IamfConfig::parse(body).map(|c| c.codec_string()).is_ok(),
        _ => Ac4Config::parse(body)
            .map(|c| (c.codec_string(), ChannelSignalling::ac4(&c, 2)))
            .is_ok(),
    }
}

/// The selector byte of a record name.
pub fn selector(record: &str) -> Option<u8> {
    RECORDS
        .iter()
        .position(|r| *r == record)
        .and_then(|i| u8::try_from(i).ok())
}
