//! The CMAF header (init segment): ftyp + moov with an empty sample table and mvex/trex
//! (ISO/IEC 14496-12 §8.8.1, ISO/IEC 23000-19 §7.3). The sample entry is copied byte-for-byte.
use crate::media::time::TickOffset;
use crate::media::{Track, TrackKind};
use crate::mp4::boxes::{
    Elst, ElstEntry, Ftyp, Hdlr, Mdhd, Mvex, Mvhd, Stco, Stsc, Stsd, Stsz, Stts, Tkhd, Trex,
};
use crate::mp4::{BoxResult, BoxWriter, Mp4Box};

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
    pub edit_media_time: Option<TickOffset>,
}

/// Appends an `ftyp` with these brands (minor version 0).
pub fn ftyp(w: &mut BoxWriter, major: &[u8; 4], compatible: &[&[u8; 4]]) {
    Ftyp::new(major, compatible)
        .write(w)
        .expect("an ftyp always fits");
}

/// Writes the init segment for `track`.
pub fn write_init(track: &Track, opts: &InitOptions, width: u32, height: u32) -> Vec<u8> {
    build_init(track, opts, width, height).expect("init segment fields fit their boxes")
}

fn build_init(track: &Track, opts: &InitOptions, width: u32, height: u32) -> BoxResult<Vec<u8>> {
    let mut w = BoxWriter::with_capacity(1024 + opts.sample_entry.len());
    ftyp(&mut w, b"cmfc", &[b"iso6", b"cmfc", b"mp41", b"dash"]);
    w.open(b"moov");
    Mvhd {
        timescale: track.timescale,
        next_track_id: super::OUTPUT_TRACK_ID + 1,
        ..Mvhd::default()
    }
    .write(&mut w)?;

    w.open(b"trak");
    let audio = track.kind == TrackKind::Audio;
    let (tw, th) = if track.kind == TrackKind::Video {
        if track.tkhd_width != 0 {
            (track.tkhd_width, track.tkhd_height)
        } else {
            (width << 16, height << 16)
        }
    } else {
        (0, 0)
    };
    Tkhd {
        flags: 0x7,
        track_id: super::OUTPUT_TRACK_ID,
        duration: 0, // fragments carry it
        alternate_group: u16::from(audio),
        volume: if audio { 0x0100 } else { 0 },
        width: tw,
        height: th,
        ..Tkhd::default()
    }
    .write(&mut w)?;

    if let (Some(TickOffset(media_time)), false) =
        (opts.edit_media_time, track.kind == TrackKind::Video)
    {
        if media_time > 0 {
            w.open(b"edts");
            Elst {
                version: 1,
                entries: vec![ElstEntry {
                    segment_duration: track.duration.0.saturating_sub(media_time as u64),
                    media_time,
                    media_rate: 0x0001_0000,
                }],
            }
            .write(&mut w)?;
            w.close();
        }
    }

    w.open(b"mdia");
    Mdhd {
        version: 0,
        creation_time: 0,
        modification_time: 0,
        timescale: track.timescale,
        duration: 0,
        language: Mdhd::pack_language(&track.language),
    }
    .write(&mut w)?;
    Hdlr {
        handler_type: track.handler,
        name: match track.kind {
            TrackKind::Video => b"VideoHandler\0".to_vec(),
            TrackKind::Audio => b"SoundHandler\0".to_vec(),
            _ => b"vodpack\0\0\0\0\0\0".to_vec(),
        },
    }
    .write(&mut w)?;
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
    let mut entries = vec![opts.sample_entry.clone()];
    if let Some(clear) = &opts.clear_sample_entry {
        entries.push(clear.clone());
    }
    Stsd { entries }.write(&mut w)?;
    Stts::default().write(&mut w)?;
    Stsc::default().write(&mut w)?;
    Stco::default().write(&mut w)?;
    Stsz::default().write(&mut w)?;
    w.close(); // stbl
    w.close(); // minf
    w.close(); // mdia
    w.close(); // trak

    Mvex {
        mehd: None,
        trex: vec![Trex {
            track_id: super::OUTPUT_TRACK_ID,
            default_sample_description_index: 1,
            ..Trex::default()
        }],
    }
    .write(&mut w)?;
    for p in &opts.pssh {
        w.bytes(p);
    }
    w.close(); // moov
    Ok(w.into_inner())
}
