//! vodpack's end-to-end test suite: one test binary (`cargo test --release --all-features --test
//! suite`), one module per topic, and the shared harness in `common` (judges, the vodpack binary,
//! frame and sample comparison, and the locks that keep browsers and heavy measurements apart).
//! Filter by topic with the module path: `cargo test --release --test suite interop::`.
//!
//! One binary instead of one per file: `tests/common` and the dev-dependencies are compiled and
//! linked once, not 26 times (docs/testing.md has the figures). Tests of every topic now run as
//! threads of one process, so nothing here may change process-wide state (environment, current
//! folder); children get their environment through `Command::env`.

mod common;
mod manifest_support;

mod architecture;
mod audio_codecs;
mod bounded_memory;
mod browser;
mod cdn_token_cli;
mod cenc_known_answer;
mod cli_errors;
mod cli_polish;
mod codec_encryption;
mod cpix;
mod decode_interop;
mod docs_examples;
mod dolby_vision;
mod dual_scheme;
mod encrypted_inputs;
mod exit_codes;
mod fuzz_regressions;
mod independent_demux;
mod inspect;
mod interop;
mod job_file;
mod keys;
mod manifest_dash;
mod manifest_hls;
mod mpeg_ts;
mod mpeg_ts_encryption;
mod mpeg_ts_mp3;
mod mpeg_ts_packed;
mod mutation;
mod mv_hevc;
mod object_storage;
mod odd_timing;
mod output_control;
mod output_safety;
mod serve_browser;
mod subtitles;
mod subtitles_browser;
mod subtitles_ttml;
mod subtitles_ttml_browser;
mod verify;
