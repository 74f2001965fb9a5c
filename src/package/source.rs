//! The renditions of a run: every input opened (decrypted first when it is encrypted), its
//! tracks chosen by the input's selector, and each chosen track made a [`RenditionSource`] with a
//! unique id. The plan stage (package::plan) and `vodpack verify --sources` both start here.
//!
//! An input given without a selector offers all its tracks; those vodpack does not package
//! (timecode, metadata, hint or in-file text tracks, and empty tracks) are left out with a
//! `dropped_track` warning, as files from cameras and editors carry them beside the media. A
//! track the user selected (`#3`, `#text`) that cannot be packaged is an error.
use super::args::InputArg;
use super::job::{InputSpec, PackageJob};
use super::warnings::Warning;
use crate::error::{Error, Result};
use crate::media::codec::{parse_sample_entry, CodecInfo};
use crate::media::input::{InputFile, TrackSelector};
use crate::media::{Track, TrackKind};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One rendition to package: a track of an opened input plus what the user said about it.
pub struct RenditionSource {
    /// Unique id: the rendition's folder under OUT and its name in every manifest.
    pub id: String,
    /// Index of its input among the opened inputs.
    pub input: usize,
    /// The input file.
    pub path: PathBuf,
    /// The track, with its sample table.
    pub track: Track,
    /// What its sample entry says: codec string, picture or audio format.
    pub codec: CodecInfo,
    /// The input descriptor it came from (language, name, roles, id, key label).
    pub spec: InputSpec,
}

/// Opens the inputs of `job` and turns every selected track into a rendition source (for
/// callers that hold a job, such as `vodpack verify --sources`).
pub fn open_sources(job: &PackageJob) -> Result<OpenedInputs> {
    let inputs = InputArg::of_job(job)?;
    open_inputs(
        inputs.iter(),
        &job.decryption_keys,
        job.decryption_key_file.as_deref(),
    )
}

/// The opened inputs of a run and the renditions made of their tracks.
pub struct OpenedInputs {
    /// The opened media inputs (read for their bytes: the sample table of each chosen track
    /// has moved to its [`RenditionSource`], so memory holds each table once).
    pub inputs: Vec<InputFile>,
    /// One per rendition, in output order.
    pub sources: Vec<RenditionSource>,
    /// Tracks offered by an input without a selector and left out (`dropped_track`).
    pub dropped: Vec<Warning>,
}

/// Why a track cannot become a rendition, or `None` when it can be packaged.
fn unpackaged(track: &Track) -> Option<String> {
    let handler = String::from_utf8_lossy(&track.handler);
    match track.kind {
        TrackKind::Video | TrackKind::Audio => {}
        // Subtitles are packaged from WebVTT, SRT or TTML files (docs/subtitles.md).
        TrackKind::Text => {
            return Some(format!(
                "it is a '{handler}' text track; give subtitles as a .vtt, .srt or .ttml input"
            ))
        }
        TrackKind::Other => {
            return Some(format!(
                "it is a '{handler}' track; vodpack packages video and audio"
            ))
        }
    }
    if track.samples.is_empty() {
        return Some("it has no samples".into());
    }
    None
}

/// Opens checked inputs (decrypting them with the given keys when they are encrypted) and turns
/// every selected track into a rendition source with a unique id.
pub fn open_inputs<'a>(
    given: impl Iterator<Item = &'a InputArg>,
    decryption_keys: &[String],
    decryption_key_file: Option<&Path>,
) -> Result<OpenedInputs> {
    let mut inputs = Vec::new();
    let mut sources = Vec::new();
    let mut dropped = Vec::new();
    let mut used_ids = HashSet::new();
    let decryption_keys =
        crate::cenc::decrypt_input::load_decryption_keys(decryption_keys, decryption_key_file)?;
    for arg in given {
        let (spec, path, selector) = (&arg.spec, arg.path.clone(), &arg.selector);
        let mut input = InputFile::open(&path)?;
        crate::cenc::decrypt_input::decrypt_input(&mut input, &decryption_keys)?;
        // Indices into `input.tracks`: each chosen track's sample table moves to its rendition
        // source below (held once, not cloned).
        let mut chosen: Vec<usize> = (0..input.tracks.len())
            .filter(|&i| selector.matches(&input.tracks[i]))
            .collect();
        if chosen.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no track matches '{}'",
                path.display(),
                spec.input
            )));
        }
        if *selector == TrackSelector::All {
            let offered = chosen.len();
            chosen.retain(|&i| match unpackaged(&input.tracks[i]) {
                Some(why) => {
                    dropped.push(Warning::dropped_track(
                        &spec.input,
                        input.tracks[i].id,
                        &why,
                    ));
                    false
                }
                None => true,
            });
            if chosen.is_empty() {
                return Err(Error::unsupported(
                    &path,
                    format!("none of its {offered} tracks is a video or audio track with samples"),
                ));
            }
        }
        // A user-given id names the rendition only when the input yields exactly one track.
        let single = chosen.len() == 1;
        for i in chosen {
            let track = &input.tracks[i];
            // Selected by the user: what cannot be packaged stops the run.
            if let Some(why) = unpackaged(track) {
                let message = format!("track {}: {why}", track.id);
                let media = matches!(track.kind, TrackKind::Video | TrackKind::Audio);
                return Err(if media {
                    Error::invalid(&path, message)
                } else {
                    Error::unsupported(&path, message)
                });
            }
            let codec = parse_sample_entry(&track.sample_entry)
                .map_err(|e| Error::unsupported(&path, format!("track {}: {e}", track.id)))?;
            let id = match &spec.id {
                Some(id) if single => id.clone(),
                _ => default_id(track, &codec, spec),
            };
            let id = unique_id(id, &mut used_ids);
            let samples = std::mem::take(&mut input.tracks[i].samples);
            let track = Track {
                samples,
                ..input.tracks[i].clone()
            };
            sources.push(RenditionSource {
                id,
                input: inputs.len(),
                path: path.clone(),
                track,
                codec,
                spec: spec.clone(),
            });
        }
        inputs.push(input);
    }
    Ok(OpenedInputs {
        inputs,
        sources,
        dropped,
    })
}

fn default_id(track: &Track, codec: &CodecInfo, spec: &InputSpec) -> String {
    match track.kind {
        TrackKind::Video => {
            let family = if codec.fourcc.starts_with("hv") || codec.fourcc.starts_with("he") {
                "hevc_"
            } else {
                ""
            };
            format!(
                "video_{family}{}p",
                codec.height.unwrap_or(track.tkhd_height >> 16)
            )
        }
        _ => format!(
            "audio_{}",
            spec.lang
                .clone()
                .or_else(|| bcp47_from_iso639_2(&track.language))
                .unwrap_or_else(|| "und".into())
        ),
    }
}

fn unique_id(base: String, used: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut n = 2;
    while !used.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// mdhd stores ISO 639-2/T; manifests want the shortest BCP 47 form (RFC 5646 §4.1), so the
/// common languages map to their two-letter code.
pub fn bcp47_from_iso639_2(code: &str) -> Option<String> {
    const TABLE: &[(&str, &str)] = &[
        ("ara", "ar"),
        ("ben", "bn"),
        ("ces", "cs"),
        ("cze", "cs"),
        ("dan", "da"),
        ("deu", "de"),
        ("ger", "de"),
        ("ell", "el"),
        ("gre", "el"),
        ("eng", "en"),
        ("spa", "es"),
        ("fin", "fi"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("heb", "he"),
        ("hin", "hi"),
        ("hun", "hu"),
        ("ind", "id"),
        ("ita", "it"),
        ("jpn", "ja"),
        ("kor", "ko"),
        ("nld", "nl"),
        ("dut", "nl"),
        ("nor", "no"),
        ("pol", "pl"),
        ("por", "pt"),
        ("ron", "ro"),
        ("rum", "ro"),
        ("rus", "ru"),
        ("swe", "sv"),
        ("tha", "th"),
        ("tur", "tr"),
        ("ukr", "uk"),
        ("vie", "vi"),
        ("zho", "zh"),
        ("chi", "zh"),
    ];
    match code {
        "und" | "" => None,
        c => Some(
            TABLE
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| c.to_string()),
        ),
    }
}

/// Frame rate from sample durations: exact when constant, else the average.
pub fn frame_rate(track: &Track) -> Option<(u32, u32)> {
    let first = track.samples.first()?.duration.0;
    if first > 0 && track.samples.iter().all(|s| s.duration.0 == first) {
        let g = gcd(track.timescale, first);
        return Some((track.timescale / g, first / g));
    }
    if track.duration.0 == 0 {
        return None;
    }
    let fps = track.samples.len() as f64 * track.timescale as f64 / track.duration.0 as f64;
    Some(((fps * 1000.0).round() as u32, 1000))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}
