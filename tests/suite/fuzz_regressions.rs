//! Replays the fuzz seeds (and any corpus or crash files kept under fuzz/) through the same entry
//! points the fuzz targets use, in the normal test run: a parser of untrusted bytes must return
//! an error, never panic, on every one of them. The fuzzers themselves run with `cargo fuzz`
//! (fuzz/README.md).
use std::path::Path;
use vodpack::media::codec::parse_sample_entry;
use vodpack::media::input::InputFile;

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(files_under(&p));
            } else {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn input_parser_survives_every_seed_and_truncation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/input_file"));
    seeds.extend(files_under(&root.join("fuzz/artifacts/input_file")));
    seeds.extend(files_under(&root.join("fixtures/corrupt")));
    assert!(seeds.len() >= 8, "fuzz seeds missing");
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("cut.mp4");
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        // The seed itself and every truncation at a 97-byte stride: each must parse or fail
        // cleanly (a panic fails the test).
        for cut in (0..=bytes.len()).step_by(97).chain([bytes.len()]) {
            std::fs::write(&scratch, &bytes[..cut]).unwrap();
            if let Ok(input) = InputFile::open(&scratch) {
                for t in &input.tracks {
                    let _ = parse_sample_entry(&t.sample_entry);
                }
            }
            // inspect reads more than packaging does (every fragment with --all, sample entry
            // details, pssh): the same bytes must not panic it either.
            let all = vodpack::inspect::InspectOptions {
                init: None,
                all: true,
            };
            let _ = vodpack::inspect::inspect(&scratch, &all);
        }
    }
}

struct Quiet;
impl vodpack::package::run::Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// What the `pipeline` fuzz target does with one input: package it clear (segment files) and
/// encrypted (cenc or cbcs by the last byte; single file with a sidx). Errors are fine; a panic
/// fails the test.
fn pipeline(input: &Path, bytes: &[u8], out: &Path) {
    let scheme = if bytes.last().is_some_and(|b| b & 1 == 1) {
        "cbcs"
    } else {
        "cenc"
    };
    let jobs = [
        serde_json::json!({
            "inputs": [{"in": input}],
            "out": out.join("clear"),
            "segment_duration": 2.0,
            "asset_id": "fuzz",
        }),
        serde_json::json!({
            "inputs": [{"in": input}],
            "out": out.join("enc"),
            "segment_duration": 2.0,
            "asset_id": "fuzz",
            "single_file": true,
            "protection": {
                "scheme": scheme,
                "keys": ["label=ALL,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef"],
                "iv": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            },
        }),
    ];
    for job in jobs {
        let job: vodpack::package::PackageJob = serde_json::from_value(job).unwrap();
        let _ = vodpack::package::package(&job, &Quiet);
    }
    let _ = std::fs::remove_dir_all(out);
}

/// The `pipeline` fuzz target's seeds and kept crashes (fuzz/seeds/pipeline, fuzz/artifacts/pipeline)
/// plus the input seeds and the corrupt fixtures, and every truncation of them, through the whole
/// pipeline in-process.
#[test]
fn pipeline_survives_every_seed_and_truncation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/input_file"));
    seeds.extend(files_under(&root.join("fuzz/seeds/pipeline")));
    seeds.extend(files_under(&root.join("fuzz/artifacts/pipeline")));
    seeds.extend(files_under(&root.join("fixtures/corrupt")));
    assert!(seeds.len() >= 8, "fuzz seeds missing");
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("cut.mp4");
    let out = dir.path().join("out");
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        for cut in (0..=bytes.len()).step_by(97).chain([bytes.len()]) {
            std::fs::write(&scratch, &bytes[..cut]).unwrap();
            pipeline(&scratch, &bytes[..cut], &out);
        }
    }
}

/// The `box_reader` fuzz target on its seeds and kept crashes (fuzz/seeds/box_reader,
/// fuzz/artifacts/box_reader), the input seeds and the corrupt fixtures, and every truncation of
/// them: every typed box that reads must write and read back equal.
#[test]
fn box_reader_survives_every_seed_and_truncation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/box_reader"));
    seeds.extend(files_under(&root.join("fuzz/artifacts/box_reader")));
    seeds.extend(files_under(&root.join("fuzz/seeds/input_file")));
    seeds.extend(files_under(&root.join("fixtures/corrupt")));
    assert!(seeds.len() >= 8, "fuzz seeds missing");
    let mut read = 0;
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        let bytes = &bytes[..bytes.len().min(1 << 20)];
        for cut in (0..=bytes.len()).step_by(13).chain([bytes.len()]) {
            match vodpack::mp4::boxes::check::check_bytes(&bytes[..cut]) {
                Ok(n) => read += n,
                Err(e) => panic!("{}: first {cut} bytes: {e}", seed.display()),
            }
        }
    }
    assert!(
        read > 1000,
        "only {read} boxes read: the seeds do not reach the box types"
    );
}

/// fuzz/seeds/box_reader/oom_senc_zero_size_entries (found by `box_reader` under ASan on
/// 2026-11-28): a `senc` whose entries take no bytes (no IV, no subsample map) claiming 2^32 − 1
/// of them made the reader push ~800 MB of empty entries per run. Tables whose entries take no
/// bytes are now capped at `mp4::boxes::MAX_EMPTY_ENTRIES` (2^20) and refused above it.
#[test]
fn box_reader_oom_senc_zero_size_entries() {
    use vodpack::mp4::boxes::{Senc, MAX_EMPTY_ENTRIES};
    use vodpack::mp4::{BoxError, RawBox};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seed =
        std::fs::read(root.join("fuzz/seeds/box_reader/oom_senc_zero_size_entries")).unwrap();
    vodpack::mp4::boxes::check::check_bytes(&seed).expect("the seed is read or refused cleanly");
    // The box itself: size 16, version 0, flags 0, sample_count 2^32 − 1, nothing else.
    let mut senc = vec![0, 0, 0, 16];
    senc.extend_from_slice(b"senc");
    senc.extend_from_slice(&[0, 0, 0, 0]);
    senc.extend_from_slice(&u32::MAX.to_be_bytes());
    let raw = RawBox::parse(&senc).unwrap();
    match Senc::read(&raw, &|_| 0) {
        Err(BoxError::TableTooLarge { count, .. }) => assert_eq!(count, u64::from(u32::MAX)),
        other => panic!("expected TableTooLarge, got {other:?}"),
    }
    // At the cap it is still read (a real fragment may hold that many constant-IV samples).
    let mut at_cap = senc.clone();
    at_cap[12..16].copy_from_slice(&(MAX_EMPTY_ENTRIES as u32).to_be_bytes());
    let raw = RawBox::parse(&at_cap).unwrap();
    assert_eq!(
        Senc::read(&raw, &|_| 0).unwrap().samples.len() as u64,
        MAX_EMPTY_ENTRIES
    );
}

/// The origin's media-type lookup (`vodpack serve` runs it on every request path) over the
/// `origin_paths` seeds and any kept corpus or crash files, as the fuzz target does: each path
/// gets a kind, each template is accepted or refused, none panics. The known answers of the seeds
/// are checked too (an id that starts with another id, a digit field in a folder).
#[test]
fn origin_path_lookup_survives_every_seed() {
    use vodpack_control::key_manifest::KeyManifest;
    use vodpack_control::origin::{FolderKind, MediaKinds};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let asset =
        std::fs::read_to_string(root.join("fuzz/fuzz_targets/origin_paths_asset.json")).unwrap();
    let two_sets = KeyManifest::from_json(&asset).unwrap();
    let mut digits = two_sets.clone();
    for r in &mut digits.renditions {
        r.segment_template = Some(format!("{}/$Number%03d$/s.m4s", r.id));
    }
    digits.schemes.clear();
    digits.validate().unwrap();
    let kinds = [MediaKinds::new(&two_sets), MediaKinds::new(&digits)];
    for (set, path, want) in [
        (0, "cenc/chunks/video_240p_2_0.m4s", FolderKind::Audio),
        (0, "cbcs/chunks/video_240p_2_0.m4s", FolderKind::Audio),
        (0, "cbcs/chunks/video_240p_20.m4s", FolderKind::Video),
        (0, "cenc/chunks/text_fr_4000.m4s", FolderKind::Text),
        (1, "video_240p_2/007/s.m4s", FolderKind::Audio),
    ] {
        assert_eq!(kinds[set].kind(path), want, "{path}");
    }
    let mut seeds = files_under(&root.join("fuzz/seeds/origin_paths"));
    seeds.extend(files_under(&root.join("fuzz/corpus/origin_paths")));
    seeds.extend(files_under(&root.join("fuzz/artifacts/origin_paths")));
    assert!(seeds.len() >= 4, "fuzz seeds missing");
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        let Some((&selector, rest)) = bytes.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(rest);
        if selector & 1 == 0 {
            let _ = kinds[usize::from(selector >> 1) % 2].kind(&text);
            continue;
        }
        let mut m = two_sets.clone();
        m.schemes.clear();
        m.renditions[0].segment_template = Some(text.to_string());
        if m.validate().is_ok() {
            let _ = MediaKinds::new(&m).kind(&text);
        }
    }
}

/// The `ttml` fuzz target's seeds (fuzz/seeds/ttml: the TTML fixtures and crashes found) and any
/// kept crash files, and every truncation of them: the TTML reader returns a document or an
/// error naming a line inside the text, never panics, and every accepted document's segment
/// documents read back (what the fuzz target checks).
#[test]
fn ttml_parser_survives_every_seed_and_truncation() {
    use vodpack::subtitle::ttml::{self, write};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/ttml"));
    seeds.extend(files_under(&root.join("fuzz/artifacts/ttml")));
    assert!(seeds.len() >= 2, "fuzz seeds missing");
    let mut accepted = 0;
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        let lines = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
        for cut in 0..=bytes.len() {
            match ttml::parse(&bytes[..cut]) {
                Ok(doc) => {
                    accepted += 1;
                    let ps = write::paragraphs_in(&doc, 0, 4000);
                    let text = write::segment_document(&doc, &ps, 0, 4000);
                    let back = ttml::parse(text.as_bytes()).expect("own document parses");
                    assert_eq!(back.paragraphs.len(), ps.len(), "{}", seed.display());
                }
                Err(e) => assert!(e.line >= 1 && e.line <= lines, "{}: {e}", seed.display()),
            }
        }
    }
    assert!(accepted >= 2, "the whole seeds parse");
}

/// The `subsample_map` fuzz target on its seeds (fuzz/seeds/subsample_map: H.264, HEVC, AV1,
/// VP9 and VP8 samples with their configuration) and kept crashes, and every truncation of them, the
/// same way the target reads them: the first byte picks the codec, the next two the NAL length
/// size (and the parameter sets' framing) and where the configuration ends (`mv_hevc_layers`:
/// both layers of an MV-HEVC picture). Errors are fine; a panic fails the test.
#[test]
fn subsample_mapper_survives_every_seed_and_truncation() {
    use vodpack::cenc::{IvSource, NalFormat, SampleEncryptor, Scheme, VideoCodec, VideoLayout};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files_under(&root.join("fuzz/seeds/subsample_map"));
    seeds.extend(files_under(&root.join("fuzz/artifacts/subsample_map")));
    assert!(seeds.len() >= 6, "fuzz seeds missing");
    let mut codecs_seen = [false; 5];
    for seed in seeds {
        let bytes = std::fs::read(&seed).unwrap();
        for cut in (4..=bytes.len()).step_by(31).chain([bytes.len()]) {
            let data = &bytes[..cut];
            codecs_seen[(data[0] % 5) as usize] = true;
            let nal_length_size = [1u8, 2, 4][(data[1] % 3) as usize];
            let split = (data[2] as usize).min(data.len() - 3);
            let (params, sample) = data[3..].split_at(split);
            // Parameter sets: the first part, split at 0xff bytes; or, when data[1] has its top bit,
            // as u16-length-prefixed units, which may hold 0xff bytes (an HEVC VPS's
            // vps_reserved_0xffff_16bits: the MV-HEVC VPS extension is read from the VPS).
            let parameter_sets: Vec<Vec<u8>> = if data[1] & 0x80 != 0 {
                let mut sets = Vec::new();
                let mut rest = params;
                while rest.len() >= 2 {
                    let len =
                        usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
                    sets.push(rest[2..2 + len].to_vec());
                    rest = &rest[2 + len..];
                }
                sets
            } else {
                params
                    .split(|&b| b == 0xff)
                    .filter(|p| !p.is_empty())
                    .map(|p| p.to_vec())
                    .collect()
            };
            for scheme in [Scheme::Cenc, Scheme::Cbcs] {
                let nal = |codec| {
                    VideoLayout::Nal(NalFormat {
                        codec,
                        nal_length_size,
                        parameter_sets: parameter_sets.clone(),
                    })
                };
                let video = match data[0] % 5 {
                    0 => nal(VideoCodec::Avc),
                    1 => nal(VideoCodec::Hevc),
                    2 => VideoLayout::Av1 {
                        config_obus: params.to_vec(),
                    },
                    3 => VideoLayout::Vp9,
                    _ => VideoLayout::Vp8,
                };
                let iv = IvSource::explicit(&[7u8; 16]).unwrap();
                if let Ok(mut enc) = SampleEncryptor::new(scheme, [1u8; 16], iv, Some(video)) {
                    for _ in 0..2 {
                        let mut buf = sample.to_vec();
                        let _ = enc.encrypt_sample(&mut buf);
                    }
                }
            }
        }
    }
    assert_eq!(codecs_seen, [true; 5], "a seed per codec");
}

/// The `sample_entry` fuzz target on its seeds (fuzz/seeds/sample_entry: Dolby Vision `dvh1` +
/// `dvcC` and `hvc1` + `dvvC` entries cut from fixtures/shaka-video) and kept crashes: each seed,
/// every truncation, and every byte set to 0x00, 0xff and flipped, with the entry's size field
/// kept consistent, must parse or fail cleanly; the seeds themselves must parse.
#[test]
fn sample_entry_parser_survives_every_seed_truncation_and_byte_mutation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = files_under(&root.join("fuzz/seeds/sample_entry"));
    let mut all = seeds.clone();
    all.extend(files_under(&root.join("fuzz/artifacts/sample_entry")));
    assert!(seeds.len() >= 2, "fuzz seeds missing");
    for seed in &seeds {
        let bytes = std::fs::read(seed).unwrap();
        parse_sample_entry(&bytes)
            .unwrap_or_else(|e| panic!("{}: the seed must parse: {e}", seed.display()));
    }
    for seed in all {
        let bytes = std::fs::read(&seed).unwrap();
        for cut in 0..=bytes.len() {
            let mut b = bytes[..cut].to_vec();
            if b.len() >= 4 {
                b[..4].copy_from_slice(&(cut as u32).to_be_bytes());
            }
            let _ = parse_sample_entry(&b);
        }
        for i in 8..bytes.len() {
            for v in [0x00, 0xff, !bytes[i]] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = parse_sample_entry(&b);
            }
        }
    }
}

/// The `audio_config` fuzz target on its seeds (fuzz/seeds/audio_config: the dec3 of the E-AC-3,
/// JOC and bear fixtures, a 7.1 dependent-substream dec3, dac3, dfLa, the ALAC cookie) and any
/// kept crashes: every truncation and every single-byte change to 0x00, 0x7f, 0x80 or 0xff must
/// parse or fail, never panic; each real seed must parse.
#[test]
fn audio_config_parsers_survive_every_seed_truncation_and_byte_change() {
    use vodpack::media::codec::audio_fuzz::parse_audio_config;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = files_under(&root.join("fuzz/seeds/audio_config"));
    let kept = files_under(&root.join("fuzz/artifacts/audio_config"));
    assert!(seeds.len() >= 10, "audio_config seeds missing");
    for seed in seeds.iter().chain(&kept) {
        let bytes = std::fs::read(seed).unwrap();
        if seeds.contains(seed) {
            assert!(parse_audio_config(&bytes), "{} is refused", seed.display());
        }
        for cut in 0..bytes.len() {
            let _ = parse_audio_config(&bytes[..cut]);
        }
        for at in 1..bytes.len() {
            for value in [0x00, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = value;
                let _ = parse_audio_config(&changed);
            }
        }
    }
}
