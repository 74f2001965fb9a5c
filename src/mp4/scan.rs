//! Streaming scan of a file's top-level boxes: headers only, so an hour-long mdat is never read
//! to find the moov or the moofs after it.
use super::reader::{parse_header, BoxError};
use crate::storage::Source;

/// A top-level box located in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopBox {
    /// The box type.
    pub fourcc: [u8; 4],
    /// Where the box starts in the file.
    pub offset: u64,
    /// Its whole size, header included.
    pub size: u64,
    /// Its header's length (8, 16 with a 64-bit size, +16 for `uuid`).
    pub header_len: u64,
}

/// Top-level box types a real MP4/CMAF file starts with or contains; anything else first in the
/// file means "not MP4".
const KNOWN_TOP: &[&[u8; 4]] = &[
    b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"free", b"skip", b"sidx", b"mfra", b"uuid",
    b"wide", b"pdin", b"meta", b"emsg", b"prft", b"ssix", b"pnot",
];

/// Lists the top-level boxes of `file` (whose length is `file_len`).
pub fn scan_top_level(file: &Source, file_len: u64) -> Result<Vec<TopBox>, BoxError> {
    let mut boxes = Vec::new();
    let mut pos = 0u64;
    let mut hdr = [0u8; 32];
    while pos < file_len {
        let want = (file_len - pos).min(32) as usize;
        let io = |source| BoxError::Io {
            context: format!("reading the box header at byte {pos}"),
            source,
        };
        file.read_exact_at(&mut hdr[..want], pos).map_err(io)?;
        let (fourcc, size, hlen) =
            parse_header(&hdr[..want]).map_err(|e| e.context(format!("at byte {pos}")))?;
        // size 0 means "to end of file"; parse_header saw only `want` bytes.
        let size = if u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) == 0 {
            file_len - pos
        } else {
            size
        };
        if boxes.is_empty() && !KNOWN_TOP.contains(&&fourcc) {
            return Err(BoxError::invalid(format!(
                "not an MP4 file (first box type '{}' is not an ISO BMFF box)",
                super::fourcc_str(&fourcc)
            )));
        }
        if size > file_len - pos {
            return Err(BoxError::invalid(format!(
                "top-level '{}' box at byte {pos} claims {size} bytes but the file has only {} left (truncated or lying size)",
                super::fourcc_str(&fourcc),
                file_len - pos
            )));
        }
        boxes.push(TopBox {
            fourcc,
            offset: pos,
            size,
            header_len: hlen as u64,
        });
        pos += size;
    }
    Ok(boxes)
}

/// Reads a whole top-level box into memory, refusing boxes over `limit` bytes.
pub fn load_box(file: &Source, b: &TopBox, limit: u64) -> Result<Vec<u8>, BoxError> {
    if b.size > limit {
        return Err(BoxError::invalid(format!(
            "'{}' box of {} bytes exceeds the {limit}-byte limit",
            super::fourcc_str(&b.fourcc),
            b.size
        )));
    }
    let mut buf = vec![0u8; b.size as usize];
    let io = |source| BoxError::Io {
        context: format!(
            "reading the '{}' box at byte {}",
            super::fourcc_str(&b.fourcc),
            b.offset
        ),
        source,
    };
    file.read_exact_at(&mut buf, b.offset).map_err(io)?;
    Ok(buf)
}
