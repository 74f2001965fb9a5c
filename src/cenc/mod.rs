//! Common Encryption (ISO/IEC 23001-7): keys and IVs, subsample maps for H.264/HEVC/AV1/VP9, the `cenc`
//! and `cbcs` sample encryptors, the sinf/senc/saiz/saio boxes and the PSSH boxes of the DRM
//! systems. The fragment writer calls [`encryptor::SampleEncryptor`] per sample and the box
//! builders per track and fragment; see docs/subsample-encryption.md and docs/keys.md.
pub mod boxes;
pub mod cpix;
pub mod decrypt;
pub mod decrypt_input;
pub mod encryptor;
pub mod iv;
pub mod keys;
pub mod pssh;
pub mod subsample;

/// The NAL syntax of a video track, from the codec layer (re-exported for callers of
/// [`NalFormat`]).
pub use crate::media::codec::VideoCodec;
pub use decrypt::SampleDecryptor;
pub use encryptor::{decrypt_sample, SampleAuxInfo, SampleEncryptor, Scheme, TencParams};
pub use iv::IvSource;
pub use keys::{KeySpec, LabelPolicy};
pub use pssh::DrmSystem;
pub use subsample::{Alignment, NalFormat, Subsample, SubsampleError, VideoLayout};
