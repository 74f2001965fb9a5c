//! vodpack: a CMAF packager. The modules follow the pipeline, lower layers first:
//! `mp4` (box I/O, one typed box layer) → `media` (tracks, samples, typed time, codec syntax)
//! → `cenc` (encryption, subsample maps, keys) → `manifest` (the rendition record, HLS, DASH)
//! → `segment` (segment plan, fragments, init segments) → `subtitle` → `package` (job → args →
//! plan → run, the key manifest) → `verify` / `inspect`. Every layer has its own error type;
//! [`Error`] carries them, and only the binary maps an [`ErrorKind`] to an exit code
//! (docs/architecture.md).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
pub mod cancel;
pub mod cenc;
pub mod error;
pub mod inspect;
pub mod manifest;
pub mod media;
pub mod mp4;
pub mod package;
pub mod segment;
pub mod storage;
pub mod subtitle;
pub mod ts;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
