//! vodpack: a CMAF packager. The modules follow the pipeline:
//! `mp4` (box I/O) → `media` (tracks, samples, codecs) → `segment` (segment plan, fragments)
//! → `cenc` (encryption) → `manifest` (HLS, DASH) → `package` (the whole run, key manifest).
#![forbid(unsafe_code)]
pub mod cancel;
pub mod cenc;
pub mod error;
pub mod inspect;
pub mod manifest;
pub mod media;
pub mod mp4;
pub mod package;
pub mod segment;
pub mod subtitle;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
