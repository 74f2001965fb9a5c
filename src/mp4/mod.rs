//! ISO Base Media File Format box I/O (ISO/IEC 14496-12 §4.2): a bounded reader over byte
//! slices, a streaming top-level scanner over files, and a writer that back-fills box sizes.
//! Sample entries are never modelled here: they are copied byte-for-byte.
pub mod boxes;
pub mod error;
pub mod reader;
pub mod scan;
pub mod writer;

pub use boxes::Mp4Box;
pub use error::{BoxError, BoxResult};
pub use reader::{BoxIter, ByteReader, RawBox};
pub use writer::BoxWriter;

/// Largest box vodpack loads into memory (moov, moof): bounds memory on hostile input.
pub const MAX_LOADED_BOX: u64 = 256 * 1024 * 1024;
/// Deepest box nesting vodpack follows.
pub const MAX_DEPTH: usize = 16;

/// A 4CC as text for messages, with non-printable bytes escaped.
pub fn fourcc_str(f: &[u8; 4]) -> String {
    f.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}
