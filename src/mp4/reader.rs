//! Bounded box parsing over an in-memory slice. A child can never read past its parent: every
//! box body is a sub-slice, and every read is checked.
pub use super::error::{BoxError, BoxResult};

/// One box found in a slice: its 4CC, whole bytes (header included) and body.
#[derive(Debug, Clone, Copy)]
pub struct RawBox<'a> {
    /// The box type.
    pub fourcc: [u8; 4],
    /// Header plus body.
    pub bytes: &'a [u8],
    /// Body only (after size/type/largesize/uuid).
    pub body: &'a [u8],
    /// Offset of the box within the slice it was found in.
    pub offset: usize,
}

impl<'a> RawBox<'a> {
    /// The first box of `buf` (which must hold it whole).
    pub fn parse(buf: &'a [u8]) -> BoxResult<RawBox<'a>> {
        match BoxIter::new(buf).next() {
            Some(b) => b,
            None => Err(BoxError::ShortHeader { left: 0 }),
        }
    }

    /// Fails unless this box is a `fourcc`.
    pub fn expect(&self, fourcc: &[u8; 4]) -> BoxResult<()> {
        if &self.fourcc == fourcc {
            Ok(())
        } else {
            Err(BoxError::WrongType {
                expected: *fourcc,
                found: self.fourcc,
            })
        }
    }

    /// [`RawBox::full`] for a `fourcc` box of version at most `max_version`.
    pub fn full_box(
        &self,
        fourcc: &[u8; 4],
        max_version: u8,
    ) -> BoxResult<(u8, u32, ByteReader<'a>)> {
        self.expect(fourcc)?;
        let (v, flags, r) = self.full()?;
        if v > max_version {
            return Err(BoxError::BadVersion {
                fourcc: self.fourcc,
                version: v,
            });
        }
        Ok((v, flags, r))
    }

    /// The box type as text, escaped for messages.
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
        self.child(fourcc)?.ok_or(BoxError::MissingChild {
            parent: self.fourcc,
            child: *fourcc,
        })
    }
}

/// Parses a box header at the start of `buf`: (fourcc, total size, header length). A size of 0
/// means "to the end of `buf`" (§4.2).
pub fn parse_header(buf: &[u8]) -> BoxResult<([u8; 4], u64, usize)> {
    if buf.len() < 8 {
        return Err(BoxError::ShortHeader { left: buf.len() });
    }
    let size32 = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let fourcc = [buf[4], buf[5], buf[6], buf[7]];
    let (size, mut hlen) = match size32 {
        0 => (buf.len() as u64, 8),
        1 => {
            if buf.len() < 16 {
                return Err(BoxError::Truncated {
                    fourcc,
                    needed: 16 - buf.len(),
                    left: 0,
                });
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
        return Err(BoxError::SizeBelowHeader { fourcc, size });
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
    /// Iterates the boxes of `buf`.
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
                return Err(BoxError::SizeLies {
                    fourcc,
                    claimed: size,
                    left: rest.len() as u64,
                });
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
        #[doc = concat!("A big-endian `", stringify!($t), "`.")]
        pub fn $name(&mut self) -> BoxResult<$t> {
            let b = self.bytes(std::mem::size_of::<$t>())?;
            Ok(<$t>::from_be_bytes(b.try_into().expect("length checked")))
        }
    };
}

impl<'a> ByteReader<'a> {
    /// A reader over `buf`, the body of a `fourcc` box (named in errors).
    pub fn new(buf: &'a [u8], fourcc: [u8; 4]) -> Self {
        ByteReader {
            buf,
            pos: 0,
            fourcc,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet (the reader does not advance).
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> BoxResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(BoxError::Truncated {
                fourcc: self.fourcc,
                needed: n,
                left: self.remaining(),
            });
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> BoxResult<()> {
        self.bytes(n).map(|_| ())
    }

    /// The 4CC of the box being read.
    pub fn box_type(&self) -> [u8; 4] {
        self.fourcc
    }

    /// The next `N` bytes as an array (KIDs, system IDs, IVs).
    pub fn array<const N: usize>(&mut self) -> BoxResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A 24-bit unsigned integer.
    pub fn u24(&mut self) -> BoxResult<u32> {
        let b = self.bytes(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// All that is left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let r = &self.buf[self.pos..];
        self.pos = self.buf.len();
        r
    }

    /// A one-byte unsigned integer.
    pub fn u8(&mut self) -> BoxResult<u8> {
        Ok(self.bytes(1)?[0])
    }

    read_int!(u16, u16);
    read_int!(u32, u32);
    read_int!(u64, u64);
    read_int!(i32, i32);
    read_int!(i64, i64);

    /// A four-character code.
    pub fn fourcc(&mut self) -> BoxResult<[u8; 4]> {
        Ok(self.bytes(4)?.try_into().expect("length checked"))
    }

    /// Checks that a table of `count` entries of `entry_size` bytes fits in what is left, before
    /// anything is allocated for it (a count from the file never sizes an allocation alone).
    pub fn check_table(&self, count: u64, entry_size: usize) -> BoxResult<usize> {
        let need = count.checked_mul(entry_size as u64);
        match need {
            Some(n) if n <= self.remaining() as u64 => Ok(count as usize),
            _ => Err(BoxError::TableTooLarge {
                fourcc: self.fourcc,
                count,
                entry_size,
                left: self.remaining(),
            }),
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
        assert!(child.unwrap_err().to_string().contains("claims 200 bytes"));
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
