//! Box writer: boxes are opened, filled and closed; closing back-fills the 32-bit size, so
//! nested layouts need no precomputed sizes.

/// Appends boxes to a byte buffer.
#[derive(Debug, Default)]
pub struct BoxWriter {
    pub buf: Vec<u8>,
    open: Vec<usize>,
}

impl BoxWriter {
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

    pub fn with_capacity(n: usize) -> Self {
        BoxWriter {
            buf: Vec::with_capacity(n),
            open: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

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

    /// Closes the innermost open box, writing its size.
    pub fn close(&mut self) {
        let start = self.open.pop().expect("close without open");
        let size = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i64_be(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Overwrites a u32 written earlier (trun data_offset, saio offset).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

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
