//! Bounded box parsing over an in-memory slice. A child can never read past its parent: every
//! box body is a sub-slice, and every read is checked.
use std::fmt;

/// A parse failure with the box path where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxError(pub String);

impl fmt::Display for BoxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BoxError {}

pub type BoxResult<T> = Result<T, BoxError>;

fn err<T>(msg: impl Into<String>) -> BoxResult<T> {
    Err(BoxError(msg.into()))
}

/// One box found in a slice: its 4CC, whole bytes (header included) and body.
#[derive(Debug, Clone, Copy)]
pub struct RawBox<'a> {
    pub fourcc: [u8; 4],
    /// Header plus body.
    pub bytes: &'a [u8],
    /// Body only (after size/type/largesize/uuid).
    pub body: &'a [u8],
    /// Offset of the box within the slice it was found in.
    pub offset: usize,
}

impl<'a> RawBox<'a> {
    pub fn name(&self) -> String {
        super::fourcc_str(&self.fourcc)
    }

    /// Iterates the children of a container box.
    pub fn children(&self) -> BoxIter<'a> {
        BoxIter::new(self.body)
    }

    /// Version and flags of a full box, and a reader after them.
    pub fn full(&self) -> BoxResult<(u8, u32, ByteReader<'a>)> {
        let mut r = ByteReader::new(self.body, self.fourcc);
        let vf = r.u32()?;
        Ok(((vf >> 24) as u8, vf & 0x00ff_ffff, r))
    }

    /// The first child with this 4CC, if any.
    pub fn child(&self, fourcc: &[u8; 4]) -> BoxResult<Option<RawBox<'a>>> {
        for b in self.children() {
            let b = b?;
            if &b.fourcc == fourcc {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// The first child with this 4CC, or an error naming the parent.
    pub fn require(&self, fourcc: &[u8; 4]) -> BoxResult<RawBox<'a>> {
        self.child(fourcc)?.ok_or_else(|| {
            BoxError(format!(
                "'{}' box has no '{}' child",
                self.name(),
                super::fourcc_str(fourcc)
            ))
        })
    }
}

/// Parses a box header at the start of `buf`: (fourcc, total size, header length). A size of 0
/// means "to the end of `buf`" (§4.2).
pub fn parse_header(buf: &[u8]) -> BoxResult<([u8; 4], u64, usize)> {
    if buf.len() < 8 {
        return err(format!("box header needs 8 bytes, {} left", buf.len()));
    }
    let size32 = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let fourcc = [buf[4], buf[5], buf[6], buf[7]];
    let (size, mut hlen) = match size32 {
        0 => (buf.len() as u64, 8),
        1 => {
            if buf.len() < 16 {
                return err(format!(
                    "'{}' box: truncated 64-bit size",
                    super::fourcc_str(&fourcc)
                ));
            }
            let mut s = [0u8; 8];
            s.copy_from_slice(&buf[8..16]);
            (u64::from_be_bytes(s), 16)
        }
        n => (n as u64, 8),
    };
    if &fourcc == b"uuid" {
        hlen += 16;
    }
    if size < hlen as u64 {
        return err(format!(
            "'{}' box: size {size} is smaller than its header",
            super::fourcc_str(&fourcc)
        ));
    }
    Ok((fourcc, size, hlen))
}

/// Iterates the boxes laid end to end in a slice; a box whose size runs past the slice is an
/// error (the size lies).
#[derive(Debug, Clone)]
pub struct BoxIter<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> BoxIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BoxIter {
            buf,
            pos: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for BoxIter<'a> {
    type Item = BoxResult<RawBox<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let parsed = parse_header(rest).and_then(|(fourcc, size, hlen)| {
            if size > rest.len() as u64 {
                return err(format!(
                    "'{}' box claims {size} bytes but only {} remain in its parent",
                    super::fourcc_str(&fourcc),
                    rest.len()
                ));
            }
            let size = size as usize;
            Ok(RawBox {
                fourcc,
                bytes: &rest[..size],
                body: &rest[hlen..size],
                offset: self.pos,
            })
        });
        match parsed {
            Ok(b) => {
                self.pos += b.bytes.len();
                Some(Ok(b))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Checked big-endian reads from a box body.
#[derive(Debug, Clone)]
pub struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    fourcc: [u8; 4],
}

macro_rules! read_int {
    ($name:ident, $t:ty) => {
        pub fn $name(&mut self) -> BoxResult<$t> {
            let b = self.bytes(std::mem::size_of::<$t>())?;
            Ok(<$t>::from_be_bytes(b.try_into().expect("length checked")))
        }
    };
}

impl<'a> ByteReader<'a> {
    pub fn new(buf: &'a [u8], fourcc: [u8; 4]) -> Self {
        ByteReader {
            buf,
            pos: 0,
            fourcc,
        }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn bytes(&mut self, n: usize) -> BoxResult<&'a [u8]> {
        if n > self.remaining() {
            return err(format!(
                "'{}' box truncated: needs {n} more bytes, {} left",
                super::fourcc_str(&self.fourcc),
                self.remaining()
            ));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub fn skip(&mut self, n: usize) -> BoxResult<()> {
        self.bytes(n).map(|_| ())
    }

    pub fn u8(&mut self) -> BoxResult<u8> {
        Ok(self.bytes(1)?[0])
    }

    read_int!(u16, u16);
    read_int!(u32, u32);
    read_int!(u64, u64);
    read_int!(i32, i32);
    read_int!(i64, i64);

    pub fn fourcc(&mut self) -> BoxResult<[u8; 4]> {
        Ok(self.bytes(4)?.try_into().expect("length checked"))
    }

    /// Checks that a table of `count` entries of `entry_size` bytes fits in what is left, before
    /// anything is allocated for it (a count from the file never sizes an allocation alone).
    pub fn check_table(&self, count: u64, entry_size: usize) -> BoxResult<usize> {
        let need = count.checked_mul(entry_size as u64);
        match need {
            Some(n) if n <= self.remaining() as u64 => Ok(count as usize),
            _ => err(format!(
                "'{}' box: {count} entries of {entry_size} bytes do not fit in {} bytes",
                super::fourcc_str(&self.fourcc),
                self.remaining()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lying_child_size_is_an_error() {
        let mut b = vec![0, 0, 0, 16, b'm', b'o', b'o', b'v'];
        b.extend_from_slice(&[0, 0, 0, 200, b't', b'r', b'a', b'k']);
        let parent = BoxIter::new(&b).next().unwrap().unwrap();
        let child = parent.children().next().unwrap();
        assert!(child.unwrap_err().0.contains("claims 200 bytes"));
    }

    #[test]
    fn table_bigger_than_box_is_refused_before_allocation() {
        let r = ByteReader::new(&[0u8; 10], *b"stsz");
        assert!(r.check_table(u64::MAX, 4).is_err());
        assert_eq!(r.check_table(2, 4).unwrap(), 2);
    }

    #[test]
    fn largesize_and_size_zero() {
        let mut b = vec![
            0, 0, 0, 1, b'f', b'r', b'e', b'e', 0, 0, 0, 0, 0, 0, 0, 18, 1, 2,
        ];
        let bx = BoxIter::new(&b).next().unwrap().unwrap();
        assert_eq!(bx.body, &[1, 2]);
        b = vec![0, 0, 0, 0, b'm', b'd', b'a', b't', 9, 9, 9];
        let bx = BoxIter::new(&b).next().unwrap().unwrap();
        assert_eq!(bx.body.len(), 3);
    }
}
