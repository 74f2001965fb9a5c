//! Round-trip checking of untrusted bytes through every typed box, shared by the `box_reader`
//! fuzz target and `tests/fuzz_regressions.rs`: whatever a box's `read` accepts, its `write`
//! must write and a second `read` must give back equal (ISO/IEC 14496-12 §4.2 syntax; each box's
//! clause is cited in its own file).
use super::*;
use crate::mp4::{fourcc_str, BoxIter, RawBox, MAX_DEPTH};
use std::fmt;

/// A typed box that read, but did not survive write → read.
#[derive(Debug)]
pub struct RoundTripError {
    /// The box type.
    pub fourcc: [u8; 4],
    /// What went wrong.
    pub problem: RoundTripProblem,
}

/// How a round trip failed.
#[derive(Debug)]
pub enum RoundTripProblem {
    /// The value read could not be written.
    Write(BoxError),
    /// What was written could not be read back.
    Reread(BoxError),
    /// It read back different.
    Changed,
}

impl fmt::Display for RoundTripError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = fourcc_str(&self.fourcc);
        match &self.problem {
            RoundTripProblem::Write(e) => write!(f, "'{b}' read but did not write: {e}"),
            RoundTripProblem::Reread(e) => write!(f, "'{b}' written but did not read back: {e}"),
            RoundTripProblem::Changed => write!(f, "'{b}' read back different"),
        }
    }
}

impl std::error::Error for RoundTripError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            RoundTripProblem::Write(e) | RoundTripProblem::Reread(e) => Some(e),
            RoundTripProblem::Changed => None,
        }
    }
}

/// Every box type with a typed form, in a fixed order ([`check_as`] picks from it).
pub const TYPED: [[u8; 4]; 36] = [
    *b"ftyp", *b"styp", *b"mvhd", *b"tkhd", *b"mdhd", *b"hdlr", *b"elst", *b"stsd", *b"stts",
    *b"ctts", *b"stss", *b"stsz", *b"stz2", *b"stsc", *b"stco", *b"co64", *b"mvex", *b"trex",
    *b"mehd", *b"sidx", *b"moof", *b"mfhd", *b"traf", *b"tfhd", *b"tfdt", *b"trun", *b"sinf",
    *b"frma", *b"schm", *b"tenc", *b"pssh", *b"senc", *b"saiz", *b"saio", *b"sbgp", *b"sgpd",
];

fn check<T: Mp4Box + PartialEq>(b: &RawBox) -> Result<bool, RoundTripError> {
    let Ok(v) = T::read(b) else {
        return Ok(false);
    };
    let err = |problem| RoundTripError {
        fourcc: b.fourcc,
        problem,
    };
    let bytes = v.to_bytes().map_err(|e| err(RoundTripProblem::Write(e)))?;
    let back = T::from_bytes(&bytes).map_err(|e| err(RoundTripProblem::Reread(e)))?;
    if back != v {
        return Err(err(RoundTripProblem::Changed));
    }
    Ok(true)
}

fn check_senc(b: &RawBox, iv: u8) -> Result<bool, RoundTripError> {
    let Ok((_, flags, _)) = b.full() else {
        return Ok(false);
    };
    let Ok(v) = Senc::read(b, &|_| iv) else {
        return Ok(false);
    };
    let err = |problem| RoundTripError {
        fourcc: b.fourcc,
        problem,
    };
    let mut w = BoxWriter::new();
    v.write(&mut w)
        .map_err(|e| err(RoundTripProblem::Write(e)))?;
    let bytes = w.into_inner();
    let raw = RawBox::parse(&bytes).map_err(|e| err(RoundTripProblem::Reread(e)))?;
    // A PIFF override (flag 0x1) is read, not written: the IV sizes may then differ.
    let iv_back = |i: usize| v.samples.get(i).map_or(iv, |s| s.iv.len() as u8);
    let back = Senc::read(&raw, &iv_back).map_err(|e| err(RoundTripProblem::Reread(e)))?;
    if back != v && flags & 1 == 0 {
        return Err(err(RoundTripProblem::Changed));
    }
    Ok(true)
}

/// Reads `b` as the typed box its type names (any box of another type is skipped); returns
/// whether it read.
pub fn check_box(b: &RawBox) -> Result<bool, RoundTripError> {
    match &b.fourcc {
        b"ftyp" | b"styp" => check::<Ftyp>(b),
        b"mvhd" => check::<Mvhd>(b),
        b"tkhd" => check::<Tkhd>(b),
        b"mdhd" => check::<Mdhd>(b),
        b"hdlr" => check::<Hdlr>(b),
        b"elst" => check::<Elst>(b),
        b"stsd" => check::<Stsd>(b),
        b"stts" => check::<Stts>(b),
        b"ctts" => check::<Ctts>(b),
        b"stss" => check::<Stss>(b),
        b"stsz" => check::<Stsz>(b),
        b"stz2" => check::<Stz2>(b),
        b"stsc" => check::<Stsc>(b),
        b"stco" => check::<Stco>(b),
        b"co64" => check::<Co64>(b),
        b"mvex" => check::<Mvex>(b),
        b"trex" => check::<Trex>(b),
        b"mehd" => check::<Mehd>(b),
        b"sidx" => check::<Sidx>(b),
        b"moof" => check::<Moof>(b),
        b"mfhd" => check::<Mfhd>(b),
        b"traf" => check::<Traf>(b),
        b"tfhd" => check::<Tfhd>(b),
        b"tfdt" => check::<Tfdt>(b),
        b"trun" => check::<Trun>(b),
        b"sinf" => check::<Sinf>(b),
        b"frma" => check::<Frma>(b),
        b"schm" => check::<Schm>(b),
        b"tenc" => check::<Tenc>(b),
        b"pssh" => check::<Pssh>(b),
        b"saiz" => check::<Saiz>(b),
        b"saio" => check::<Saio>(b),
        b"sbgp" => check::<Sbgp>(b),
        b"sgpd" => check::<Sgpd>(b),
        b"senc" => {
            let mut any = false;
            for iv in [0, 8, 16] {
                any |= check_senc(b, iv)?;
            }
            Ok(any)
        }
        _ => Ok(false),
    }
}

/// Feeds `data` through the typed boxes two ways: the first byte picks a box type whose body is
/// the rest (so a fuzzer needs no valid header to reach a body parser), and `data` walked as
/// nested boxes, each read as its own type. Returns how many boxes read.
pub fn check_bytes(data: &[u8]) -> Result<usize, RoundTripError> {
    let mut n = 0;
    if let Some((&sel, body)) = data.split_first() {
        n += usize::from(check_as(TYPED[usize::from(sel) % TYPED.len()], body)?);
    }
    walk(data, 0, &mut n)?;
    Ok(n)
}

/// Reads `body` as the body of a `fourcc` box.
pub fn check_as(fourcc: [u8; 4], body: &[u8]) -> Result<bool, RoundTripError> {
    let Ok(size) = u32::try_from(body.len() + 8) else {
        return Ok(false);
    };
    let mut bytes = Vec::with_capacity(body.len() + 8);
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(&fourcc);
    bytes.extend_from_slice(body);
    match RawBox::parse(&bytes) {
        Ok(b) => check_box(&b),
        Err(_) => Ok(false),
    }
}

fn walk(buf: &[u8], depth: usize, n: &mut usize) -> Result<(), RoundTripError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for b in BoxIter::new(buf) {
        let Ok(b) = b else {
            return Ok(());
        };
        *n += usize::from(check_box(&b)?);
        if matches!(
            &b.fourcc,
            b"moov"
                | b"trak"
                | b"mdia"
                | b"minf"
                | b"stbl"
                | b"edts"
                | b"mvex"
                | b"moof"
                | b"traf"
                | b"sinf"
                | b"schi"
                | b"dinf"
        ) {
            walk(b.body, depth + 1, n)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_box_round_trips_from_its_own_bytes() {
        // An init segment and a fragment as vodpack writes them, walked box by box.
        let mut w = BoxWriter::new();
        Ftyp::new(b"cmfc", &[b"iso6"]).write(&mut w).unwrap();
        w.open(b"moov");
        Mvhd::default().write(&mut w).unwrap();
        Mvex {
            mehd: None,
            trex: vec![Trex::default()],
        }
        .write(&mut w)
        .unwrap();
        w.close();
        let bytes = w.into_inner();
        assert_eq!(check_bytes(&bytes).unwrap(), 4);
        for sel in 0..=255u8 {
            let mut d = vec![sel];
            d.extend_from_slice(&[0; 64]);
            check_bytes(&d).unwrap();
        }
    }
}
