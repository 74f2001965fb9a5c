//! An MP4 demuxer nobody here wrote (shiguredo_mp4) reads the source and vodpack's output (init +
//! all segments): every sample keeps its bytes, decode time, duration and sync flag, presentation
//! times keep their order and spacing, and its RFC 6381 codec string for our init segment equals
//! the one vodpack put in the manifests.

use crate::common::{concat_rendition, fixture, package};
use shiguredo_mp4::demux::{Fmp4FileDemuxer, Input, Mp4FileDemuxer};
use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
struct DemuxedSample {
    dts: u64,
    duration: u32,
    keyframe: bool,
    cts_offset: i64,
    bytes: Vec<u8>,
}

struct Demuxed {
    samples: Vec<DemuxedSample>,
    codec: String,
}

macro_rules! demux_with {
    ($demuxer:expr, $data:expr) => {{
        let data: &[u8] = $data;
        let mut d = $demuxer;
        while let Some(req) = d.required_input() {
            let start = (req.position as usize).min(data.len());
            let end = req.size.map_or(data.len(), |s| (start + s).min(data.len()));
            d.handle_input(Input {
                position: req.position,
                data: &data[start..end],
            });
        }
        d.tracks().expect("tracks");
        let mut samples = Vec::new();
        let mut codec = String::new();
        loop {
            // The demuxer asks for more bytes as it goes (each moof, each mdat).
            let next = match d.next_sample() {
                Ok(Some(s)) => {
                    if let Some(entry) = s.sample_entry {
                        codec = shiguredo_mp4::codec_string::from_sample_entry(entry)
                            .unwrap_or_default();
                    }
                    let at = s.data_offset as usize;
                    Some(DemuxedSample {
                        dts: s.timestamp,
                        duration: s.duration,
                        keyframe: s.keyframe,
                        cts_offset: s.composition_time_offset.unwrap_or(0),
                        bytes: data[at..at + s.data_size].to_vec(),
                    })
                }
                Ok(None) => break,
                Err(e) => {
                    let req = d.required_input().unwrap_or_else(|| panic!("demux: {e}"));
                    let start = (req.position as usize).min(data.len());
                    let end = req.size.map_or(data.len(), |s| (start + s).min(data.len()));
                    d.handle_input(Input {
                        position: req.position,
                        data: &data[start..end],
                    });
                    None
                }
            };
            if let Some(sample) = next {
                samples.push(sample);
            }
        }
        Demuxed { samples, codec }
    }};
}

fn demux(file: &Path, fragmented: bool) -> Demuxed {
    let data = std::fs::read(file).unwrap();
    if fragmented {
        demux_with!(Fmp4FileDemuxer::new(), &data)
    } else {
        demux_with!(Mp4FileDemuxer::new(), &data)
    }
}

#[test]
fn samples_survive_packaging_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cases = [
        ("h264_240p.mp4", "video_240p", true),
        ("h264_720p.mp4", "video_720p", true),
        ("hevc_360p.mp4", "video_hevc_360p", true),
        ("aac_en.mp4", "audio_en", true),
        ("progressive_bframes.mp4", "video_360p", false),
    ];
    let inputs: Vec<String> = cases
        .iter()
        .map(|c| fixture(c.0).display().to_string())
        .collect();
    let summary = package(&out, &[&["--json".to_string()][..], &inputs].concat());
    let summary: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    for (file, rid, fragmented) in cases {
        let source = demux(&fixture(file), fragmented);
        let output = demux(
            &concat_rendition(&out.join(rid), &dir.path().join(format!("{rid}.mp4"))),
            true,
        );
        assert!(!source.samples.is_empty(), "{file}: no samples");
        eprintln!(
            "{rid}: {} samples, codec {}",
            source.samples.len(),
            source.codec
        );
        assert_eq!(
            source.samples.len(),
            output.samples.len(),
            "{rid}: sample count"
        );
        // The video edit list becomes a constant shift of the composition offsets
        // (docs/segment-alignment.md): presentation order and spacing are unchanged.
        let shift = source.samples[0].cts_offset - output.samples[0].cts_offset;
        for (i, (s, o)) in source.samples.iter().zip(&output.samples).enumerate() {
            assert!(s.bytes == o.bytes, "{rid}: sample {i} bytes differ");
            assert_eq!(
                (s.dts, s.duration, s.keyframe),
                (o.dts, o.duration, o.keyframe),
                "{rid}: sample {i}"
            );
            assert_eq!(
                s.cts_offset - shift,
                o.cts_offset,
                "{rid}: sample {i} composition offset"
            );
        }
        let ours = summary["renditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rid)
            .unwrap();
        assert_eq!(
            output.codec,
            ours["codec"].as_str().unwrap(),
            "{rid}: codec string"
        );
        assert_eq!(
            output.codec, source.codec,
            "{rid}: codec string of the source"
        );
    }
}
