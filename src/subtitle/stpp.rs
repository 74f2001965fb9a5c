//! TTML in ISO BMFF (ISO/IEC 14496-30 §5, ISO/IEC 14496-12 §12.6): the `stpp` sample entry
//! (XMLSubtitleSampleEntry) of a `subt` track with an `sthd` media header, and media segments of
//! one sample each, the segment's IMSC1 document (src/subtitle/ttml/write.rs). The segment boxes
//! are the `wvtt` track's (`wvtt::media_segment`): only the sample entry and samples differ.

/// Timescale of stpp tracks: milliseconds, the resolution of the documents' times.
pub const TIMESCALE: u32 = 1000;

/// The codecs parameter of an IMSC1 Text Profile track: `stpp` sample entry, `ttml` content,
/// `im1t` the IMSC1 Text Profile code (as DASH-IF IOP v4.3 and the HLS specification list it).
pub const CODECS: &str = "stpp.ttml.im1t";

/// The XMLSubtitleSampleEntry (ISO/IEC 14496-12 §12.6.3.2): SampleEntry fields, then
/// `namespace` (the space-separated namespaces of the documents, TTML first, as 14496-30 §5.3
/// asks), an empty `schema_location` (optional, and IMSC1 names no schema to locate) and empty
/// `auxiliary_mime_types` (text profile: no images), each a NUL-terminated UTF-8 string.
pub fn sample_entry(namespaces: &[String]) -> Vec<u8> {
    let mut w = crate::mp4::BoxWriter::new();
    w.open(b"stpp");
    w.zeros(6);
    w.u16(1); // data_reference_index
    w.bytes(namespaces.join(" ").as_bytes());
    w.u8(0);
    w.u8(0); // schema_location
    w.u8(0); // auxiliary_mime_types
    w.close();
    w.into_inner()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sample_entry_layout() {
        let e = super::sample_entry(&["http://www.w3.org/ns/ttml".into(), "x".into()]);
        assert_eq!(&e[4..8], b"stpp");
        assert_eq!(
            u32::from_be_bytes(e[0..4].try_into().unwrap()) as usize,
            e.len()
        );
        assert_eq!(&e[8..16], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&e[16..], b"http://www.w3.org/ns/ttml x\0\0\0");
    }
}
