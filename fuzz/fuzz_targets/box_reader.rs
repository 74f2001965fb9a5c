//! Every typed box of `vodpack::mp4::boxes` on arbitrary bytes: the first byte picks a box type
//! whose body is the rest, and the bytes are also walked as nested boxes. Whatever reads must
//! write, and read back equal. Pure parsing, no file I/O, so it runs fast.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = vodpack::mp4::boxes::check::check_bytes(data) {
        panic!("{e}");
    }
});
