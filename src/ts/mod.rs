//! MPEG-2 transport stream output (ISO/IEC 13818-1) for HLS over `.ts` segments: the set an
//! `--hls-segments ts` run writes beside its CMAF set, for players that read HLS over TS only
//! (docs/mpeg-ts.md). One program per rendition; every segment starts with a PAT and a PMT (so
//! each segment and each I-frame byte range can be read alone); the stream carrying the program
//! clock puts a PCR in the first packet of every PES packet.
//!
//! - [`packet`]: 188-byte packets with continuity counters, PSI sections and PES packets split
//!   into them, adaptation fields (PCR, random access, stuffing)
//! - [`psi`]: PAT and PMT sections (CRC-32/MPEG-2)
//! - [`pes`]: PES headers with PTS/DTS
//! - [`es`]: samples to elementary stream access units (H.264/HEVC Annex B with AUD and
//!   parameter sets, AAC in ADTS, AC-3/E-AC-3 syncframes as they are)
//! - [`segment`]: one rendition's TS segments, timestamps on the 90 kHz clock
//! - [`packed`]: packed audio segments (ADTS/AC-3/E-AC-3 after an ID3 timestamp tag)
//! - [`encrypt`]: SAMPLE-AES (samples encrypted in place) and AES-128 (whole segments)
pub mod encrypt;
pub mod es;
pub mod key_uri;
pub mod packed;
pub mod packet;
pub mod pes;
pub mod psi;
pub mod segment;

/// The 90 kHz clock of PTS, DTS and the PCR base (ISO/IEC 13818-1 §2.4.2.2).
pub const CLOCK: u64 = 90_000;

/// What every TS timestamp adds to the CMAF presentation time (the same for every rendition, so
/// renditions stay in sync): room for a decode delay and for audio that starts before zero
/// (an AAC encoder's priming), which TS timestamps cannot express. 10 s in 90 kHz ticks.
pub const TIMESTAMP_OFFSET: u64 = 10 * CLOCK;

/// The PID of the PMT.
pub const PMT_PID: u16 = 0x1000;
/// The PID of the rendition's one elementary stream.
pub const ES_PID: u16 = 0x100;
