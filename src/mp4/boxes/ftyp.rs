//! `ftyp` and `styp`: file and segment type (ISO/IEC 14496-12 §4.3 and §8.16.2; the CMAF brands
//! are ISO/IEC 23000-19 §7.2).
use super::Mp4Box;
use crate::mp4::{BoxError, BoxResult, BoxWriter, RawBox};

/// A file type (`ftyp`) or segment type (`styp`) box: both have the same syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ftyp {
    /// `ftyp` or `styp`.
    pub box_type: [u8; 4],
    /// The major brand.
    pub major_brand: [u8; 4],
    /// The minor version.
    pub minor_version: u32,
    /// The compatible brands.
    pub compatible_brands: Vec<[u8; 4]>,
}

impl Ftyp {
    /// An `ftyp` with minor version 0.
    pub fn new(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Ftyp {
        Ftyp {
            box_type: *b"ftyp",
            major_brand: *major,
            minor_version: 0,
            compatible_brands: compatible.iter().map(|b| **b).collect(),
        }
    }

    /// The same brands as an `styp`.
    pub fn into_styp(mut self) -> Ftyp {
        self.box_type = *b"styp";
        self
    }
}

impl Mp4Box for Ftyp {
    const FOURCC: [u8; 4] = *b"ftyp";

    fn read(b: &RawBox) -> BoxResult<Self> {
        if !matches!(&b.fourcc, b"ftyp" | b"styp") {
            return Err(BoxError::WrongType {
                expected: *b"ftyp",
                found: b.fourcc,
            });
        }
        let mut r = crate::mp4::ByteReader::new(b.body, b.fourcc);
        let major_brand = r.fourcc()?;
        let minor_version = r.u32()?;
        let n = r.check_table((r.remaining() / 4) as u64, 4)?;
        let mut compatible_brands = Vec::with_capacity(n);
        for _ in 0..n {
            compatible_brands.push(r.fourcc()?);
        }
        if r.remaining() != 0 {
            return Err(BoxError::bad_value(
                b.fourcc,
                format!("{} bytes after the last whole brand", r.remaining()),
            ));
        }
        Ok(Ftyp {
            box_type: b.fourcc,
            major_brand,
            minor_version,
            compatible_brands,
        })
    }

    fn write(&self, w: &mut BoxWriter) -> BoxResult<()> {
        if !matches!(&self.box_type, b"ftyp" | b"styp") {
            return Err(BoxError::bad_value(self.box_type, "not ftyp or styp"));
        }
        w.open(&self.box_type);
        w.bytes(&self.major_brand);
        w.u32(self.minor_version);
        for b in &self.compatible_brands {
            w.bytes(b);
        }
        w.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::round_trip;
    use super::*;

    #[test]
    fn ftyp_and_styp_round_trip() {
        let f = Ftyp::new(b"cmfc", &[b"iso6", b"cmfc"]);
        let bytes = round_trip(&f);
        assert_eq!(&bytes[8..12], b"cmfc");
        let s = f.into_styp();
        let bytes = s.to_bytes().unwrap();
        assert_eq!(&bytes[4..8], b"styp");
        assert_eq!(Ftyp::from_bytes(&bytes).unwrap(), s);
        let odd = [
            0, 0, 0, 17, b'f', b't', b'y', b'p', 1, 2, 3, 4, 0, 0, 0, 0, 9,
        ];
        assert!(Ftyp::from_bytes(&odd).is_err());
    }
}
