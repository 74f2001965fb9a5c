//! Box writer: boxes are opened, filled and closed; closing back-fills the size, so nested
//! layouts need no precomputed sizes. A box that outgrows 32 bits gets a 64-bit `largesize`
//! header on close (ISO/IEC 14496-12 §4.2) instead of a wrapped size.

/// Appends boxes to a byte buffer.
#[derive(Debug, Default)]
pub struct BoxWriter {
    /// The bytes written so far.
    pub buf: Vec<u8>,
    open: Vec<usize>,
}

impl BoxWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends to an existing buffer (positions stay absolute in it), so callers can reuse one
    /// allocation across fragments.
    pub fn from_vec(buf: Vec<u8>) -> Self {
        BoxWriter {
            buf,
            open: Vec::new(),
        }
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        BoxWriter {
            buf: Vec::with_capacity(n),
            open: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Opens a box; returns its start offset.
    pub fn open(&mut self, fourcc: &[u8; 4]) -> usize {
        let start = self.buf.len();
        self.open.push(start);
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(fourcc);
        start
    }

    /// Opens a full box (§4.2: version + 24-bit flags).
    pub fn open_full(&mut self, fourcc: &[u8; 4], version: u8, flags: u32) -> usize {
        let start = self.open(fourcc);
        self.u32(((version as u32) << 24) | (flags & 0x00ff_ffff));
        start
    }

    /// Closes the innermost open box, writing its size. A box over 4 GiB - 1 is given a 64-bit
    /// size (the 8 `largesize` bytes are inserted after its type, so offsets recorded inside it
    /// move by 8: only mdat-sized boxes get there).
    pub fn close(&mut self) {
        let start = self.open.pop().expect("close without open");
        let size = self.buf.len() - start;
        match u32::try_from(size) {
            Ok(size) => self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes()),
            Err(_) => {
                let large = (size as u64 + 8).to_be_bytes();
                self.buf[start..start + 4].copy_from_slice(&1u32.to_be_bytes());
                self.buf.splice(start + 8..start + 8, large);
            }
        }
    }

    /// The number of boxes opened and not yet closed.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Appends a byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian i32.
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian i64.
    pub fn i64_be(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Appends bytes as they are.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// Appends `n` zero bytes.
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }
    /// Appends a big-endian 24-bit value (the low 24 bits of `v`).
    pub fn u24(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes()[1..]);
    }

    /// Overwrites a u32 written earlier (trun data_offset, saio offset).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// The bytes written; every opened box must be closed.
    pub fn into_inner(self) -> Vec<u8> {
        assert!(self.open.is_empty(), "unclosed box");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::BoxIter;

    #[test]
    fn nested_sizes_round_trip() {
        let mut w = BoxWriter::new();
        w.open(b"moov");
        w.open_full(b"mvhd", 1, 0);
        w.u64(7);
        w.close();
        w.close();
        let buf = w.into_inner();
        let moov = BoxIter::new(&buf).next().unwrap().unwrap();
        assert_eq!(&moov.fourcc, b"moov");
        let mvhd = moov.require(b"mvhd").unwrap();
        let (v, f, mut r) = mvhd.full().unwrap();
        assert_eq!((v, f, r.u64().unwrap()), (1, 0, 7));
    }
}
