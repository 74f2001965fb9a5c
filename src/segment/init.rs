//! The CMAF header (init segment): ftyp + moov with an empty sample table and mvex/trex
//! (ISO/IEC 14496-12 §8.8.1, ISO/IEC 23000-19 §7.3). The sample entry is copied byte-for-byte.
use crate::media::{Track, TrackKind};
use crate::mp4::BoxWriter;

/// What goes into an init segment besides the track itself.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The sample entry to write (the source's, or its encv/enca form with sinf).
    pub sample_entry: Vec<u8>,
    /// With a clear lead: the unencrypted sample entry, written second in stsd for the clear
    /// fragments to point at.
    pub clear_sample_entry: Option<Vec<u8>>,
    /// pssh boxes to put in the moov.
    pub pssh: Vec<Vec<u8>>,
    /// For non-video tracks, the edit list start to keep (e.g. AAC priming); video carries its
    /// edit as negative composition offsets instead (docs/segment-alignment.md).
    pub edit_media_time: Option<i64>,
}

pub fn ftyp(w: &mut BoxWriter, major: &[u8; 4], compatible: &[&[u8; 4]]) {
    w.open(b"ftyp");
    w.bytes(major);
    w.u32(0);
    for b in compatible {
        w.bytes(*b);
    }
    w.close();
}

/// Packs an ISO 639-2/T code into mdhd's 15 bits ("und" when not three lowercase letters).
fn pack_language(lang: &str) -> u16 {
    let l = if lang.len() == 3 && lang.bytes().all(|b| b.is_ascii_lowercase()) {
        lang
    } else {
        "und"
    };
    l.bytes()
        .fold(0u16, |acc, b| (acc << 5) | (b - 0x60) as u16)
}

const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Writes the init segment for `track`.
pub fn write_init(track: &Track, opts: &InitOptions, width: u32, height: u32) -> Vec<u8> {
    let mut w = BoxWriter::with_capacity(1024 + opts.sample_entry.len());
    ftyp(&mut w, b"cmfc", &[b"iso6", b"cmfc", b"mp41", b"dash"]);
    w.open(b"moov");
    w.open_full(b"mvhd", 0, 0);
    w.u32(0);
    w.u32(0);
    w.u32(track.timescale);
    w.u32(0);
    w.u32(0x0001_0000); // rate 1.0
    w.u16(0x0100); // volume 1.0
    w.zeros(10);
    for m in UNITY_MATRIX {
        w.u32(m);
    }
    w.zeros(24);
    w.u32(super::OUTPUT_TRACK_ID + 1); // next_track_ID
    w.close();

    w.open(b"trak");
    w.open_full(b"tkhd", 0, 0x7);
    w.u32(0);
    w.u32(0);
    w.u32(super::OUTPUT_TRACK_ID);
    w.u32(0);
    w.u32(0); // duration: fragments carry it
    w.zeros(8);
    w.u16(0); // layer
    w.u16(if track.kind == TrackKind::Audio { 1 } else { 0 }); // alternate_group
    w.u16(if track.kind == TrackKind::Audio {
        0x0100
    } else {
        0
    });
    w.u16(0);
    for m in UNITY_MATRIX {
        w.u32(m);
    }
    let (tw, th) = if track.kind == TrackKind::Video {
        if track.tkhd_width != 0 {
            (track.tkhd_width, track.tkhd_height)
        } else {
            (width << 16, height << 16)
        }
    } else {
        (0, 0)
    };
    w.u32(tw);
    w.u32(th);
    w.close();

    if let (Some(media_time), false) = (opts.edit_media_time, track.kind == TrackKind::Video) {
        if media_time > 0 {
            w.open(b"edts");
            w.open_full(b"elst", 1, 0);
            w.u32(1);
            w.u64(track.duration.saturating_sub(media_time as u64));
            w.i64_be(media_time);
            w.u32(0x0001_0000);
            w.close();
            w.close();
        }
    }

    w.open(b"mdia");
    w.open_full(b"mdhd", 0, 0);
    w.u32(0);
    w.u32(0);
    w.u32(track.timescale);
    w.u32(0);
    w.u16(pack_language(&track.language));
    w.u16(0);
    w.close();
    w.open_full(b"hdlr", 0, 0);
    w.u32(0);
    w.bytes(&track.handler);
    w.zeros(12);
    w.bytes(match track.kind {
        TrackKind::Video => b"VideoHandler\0",
        TrackKind::Audio => b"SoundHandler\0",
        _ => b"vodpack\0\0\0\0\0\0",
    });
    w.close();
    w.open(b"minf");
    match track.kind {
        TrackKind::Video => {
            w.open_full(b"vmhd", 0, 1);
            w.zeros(8);
            w.close();
        }
        TrackKind::Audio => {
            w.open_full(b"smhd", 0, 0);
            w.zeros(4);
            w.close();
        }
        TrackKind::Text if &track.handler == b"subt" => {
            w.open_full(b"sthd", 0, 0);
            w.close();
        }
        _ => {
            w.open_full(b"nmhd", 0, 0);
            w.close();
        }
    }
    w.open(b"dinf");
    w.open_full(b"dref", 0, 0);
    w.u32(1);
    w.open_full(b"url ", 0, 1);
    w.close();
    w.close();
    w.close();
    w.open(b"stbl");
    w.open_full(b"stsd", 0, 0);
    w.u32(if opts.clear_sample_entry.is_some() {
        2
    } else {
        1
    });
    w.bytes(&opts.sample_entry);
    if let Some(clear) = &opts.clear_sample_entry {
        w.bytes(clear);
    }
    w.close();
    for empty in [b"stts", b"stsc", b"stco"] {
        w.open_full(empty, 0, 0);
        w.u32(0);
        w.close();
    }
    w.open_full(b"stsz", 0, 0);
    w.u32(0);
    w.u32(0);
    w.close();
    w.close(); // stbl
    w.close(); // minf
    w.close(); // mdia
    w.close(); // trak

    w.open(b"mvex");
    w.open_full(b"trex", 0, 0);
    w.u32(super::OUTPUT_TRACK_ID);
    w.u32(1);
    w.u32(0);
    w.u32(0);
    w.u32(0);
    w.close();
    w.close();
    for p in &opts.pssh {
        w.bytes(p);
    }
    w.close(); // moov
    w.into_inner()
}
