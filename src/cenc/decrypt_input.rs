//! Decrypting encrypted inputs (`--decryption-key`, `--decryption-key-file`): an opened input
//! whose tracks are protected is checked for keys, then every sample is decrypted into an
//! unlinked temporary file that replaces the input's file handle, so the rest of the pipeline
//! packages it like a clear input. Why here and not in `media`: reading what the protection
//! boxes say is media syntax (`media::protection`); turning protected samples into clear ones
//! needs keys and ciphers, which are this layer's.
use crate::media::protection::{
    describe, entry_protection, parse_aux_entries, parse_saio, parse_saiz, parse_senc, sbgp_seig,
    seig_per_sample, sgpd_seig, stsd_entries, EntryProtection, Tenc,
};
use crate::mp4::boxes::{Mvex, SampleAuxInfo, Tfhd, Tkhd, Trun};
use crate::mp4::{BoxError, BoxIter, BoxResult, Mp4Box};

/// Content keys for encrypted inputs, by KID (`--decryption-key kid=HEX,key=HEX`, repeatable,
/// and `--decryption-key-file F` in the `--key-file` JSON format, docs/keys.md).
pub fn load_decryption_keys(
    args: &[String],
    file: Option<&std::path::Path>,
) -> crate::Result<std::collections::HashMap<[u8; 16], [u8; 16]>> {
    use crate::cenc::keys;
    let mut specs = Vec::new();
    for a in args {
        specs.push(keys::parse_key_arg(a).map_err(|e| e.in_flag("--decryption-key"))?);
    }
    if let Some(f) = file {
        specs.extend(keys::load_key_file(f)?);
    }
    let mut out = std::collections::HashMap::new();
    for s in specs {
        if out.insert(s.kid, s.key).is_some_and(|k| k != s.key) {
            return Err(crate::Error::Key(format!(
                "two different decryption keys for KID {}",
                hex::encode(s.kid)
            )));
        }
    }
    Ok(out)
}

/// How one input sample is protected.
#[derive(Debug, Clone)]
struct SampleCrypto {
    aux: SampleAuxInfo,
    /// Index into the decryptors of the track.
    decryptor: usize,
}

/// PIFF 1.1/1.3 (Smooth Streaming) SampleEncryptionBox, a `uuid` box in `traf`.
const PIFF_SAMPLE_ENCRYPTION: [u8; 16] = [
    0xa2, 0x39, 0x4f, 0x52, 0x5a, 0x9b, 0x4f, 0x14, 0xa2, 0x44, 0x6c, 0x42, 0x7c, 0x64, 0x8d, 0xf4,
];
/// PIFF 1.1 TrackEncryptionBox, a `uuid` box in `schi`.
const PIFF_TRACK_ENCRYPTION: [u8; 16] = [
    0x89, 0x74, 0xdb, 0xce, 0x7b, 0xe7, 0x4c, 0x51, 0x84, 0xf9, 0x71, 0x48, 0xf9, 0x88, 0x25, 0x54,
];
/// What vodpack says about a PIFF-protected input: it reads Common Encryption boxes only.
const PIFF_REFUSAL: &str = "PIFF (Smooth Streaming's 'uuid' encryption boxes) is not supported for decryption; vodpack reads Common Encryption (tenc, senc or saiz/saio)";

/// Whether `b` is a `uuid` box of extended type `usertype`.
fn is_uuid(b: &crate::mp4::RawBox<'_>, usertype: &[u8; 16]) -> bool {
    let header = b.bytes.len() - b.body.len();
    &b.fourcc == b"uuid" && header >= 24 && b.bytes[header - 16..header] == usertype[..]
}

/// Checks every track of an opened input for encryption. A clear input is left as it is. An
/// encrypted one is refused (exit 4, naming the file, track, scheme and KID) unless `keys` has
/// every KID it uses; then every sample is decrypted (cenc, cbcs, cens, cbc1; PIFF is refused)
/// into a temporary file that replaces the input's file handle (created in the system's temp
/// folder and unlinked at once, so nothing is left behind whatever happens), each encrypted
/// track's sample entry is restored from frma with its sinf dropped, and the sample offsets
/// point into the temporary file. Only fragmented inputs can be decrypted (senc/saiz/saio live
/// in track fragments; Shaka Packager, Bento4 and ffmpeg write those).
pub fn decrypt_input(
    input: &mut crate::media::input::InputFile,
    keys: &std::collections::HashMap<[u8; 16], [u8; 16]>,
) -> crate::Result<()> {
    use crate::cenc::decrypt::SampleDecryptor;
    use crate::Error;
    use std::io::Write;

    let path = input.path.clone();
    let bad = |e: BoxError| Error::invalid(&path, e.to_string());
    type Decryptors = Vec<([u8; 16], Option<[u8; 16]>, (u8, u8), SampleDecryptor)>;
    type Plan = (EntryProtection, Vec<Option<SampleCrypto>>, Decryptors);
    let mut plans: Vec<Option<Plan>> = Vec::new();
    let mut any = false;
    for t in &input.tracks {
        let piff_entry = t
            .sample_entry
            .windows(16)
            .any(|w| w == PIFF_TRACK_ENCRYPTION);
        let Some(p) = entry_protection(&t.sample_entry).map_err(|e| {
            if piff_entry {
                Error::unsupported(&path, format!("track {}: {PIFF_REFUSAL}", t.id))
            } else {
                Error::invalid(&path, format!("track {}: {}", t.id, e))
            }
        })?
        else {
            plans.push(None);
            continue;
        };
        any = true;
        let what = format!("track {} is encrypted ({})", t.id, describe(&p));
        if keys.is_empty() {
            return Err(Error::unsupported(
                &path,
                format!("{what}: give its key with --decryption-key kid=HEX,key=HEX (or --decryption-key-file F) to package it"),
            ));
        }
        if &p.scheme_type == b"piff" || piff_entry {
            return Err(Error::unsupported(&path, format!("{what}: {PIFF_REFUSAL}")));
        }
        SampleDecryptor::for_scheme_type(&p.scheme_type, &[0; 16], None, (0, 0)).map_err(|e| {
            Error::unsupported(
                &path,
                format!("{what}: {}", e.to_string().trim_start_matches("keys: ")),
            )
        })?;
        if !input.fragmented {
            return Err(Error::unsupported(
                &path,
                format!("{what}: decrypting progressive (non-fragmented) MP4 is not supported; only fragmented MP4 carries senc"),
            ));
        }
        plans.push(Some((p, Vec::new(), Vec::new())));
    }
    if !any {
        return Ok(());
    }

    // The stsd entries of each encrypted track, from the moov.
    let moov_box = *input
        .top_boxes
        .iter()
        .find(|b| &b.fourcc == b"moov")
        .expect("an opened input has a moov");
    let moov_bytes = crate::mp4::scan::load_box(&input.file, &moov_box, crate::mp4::MAX_LOADED_BOX)
        .map_err(bad)?;
    let moov = BoxIter::new(&moov_bytes)
        .next()
        .expect("loaded box")
        .map_err(bad)?;
    let mut stsd_of: std::collections::HashMap<u32, (Vec<Option<EntryProtection>>, Vec<Tenc>)> =
        std::collections::HashMap::new();
    let mut trex_sdi: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for c in moov.children() {
        let c = c.map_err(bad)?;
        if &c.fourcc == b"trak" {
            let id = Tkhd::read(&c.require(b"tkhd").map_err(bad)?)
                .map_err(bad)?
                .track_id;
            let stbl = c
                .require(b"mdia")
                .and_then(|m| m.require(b"minf"))
                .and_then(|m| m.require(b"stbl"))
                .map_err(bad)?;
            let entries = stsd_entries(&stbl.require(b"stsd").map_err(bad)?).map_err(bad)?;
            let prots = entries
                .iter()
                .map(|e| entry_protection(e))
                .collect::<BoxResult<Vec<_>>>()
                .map_err(bad)?;
            let mut groups = Vec::new();
            for g in stbl.children() {
                let g = g.map_err(bad)?;
                if &g.fourcc == b"sgpd" {
                    if let Some(x) = sgpd_seig(&g).map_err(bad)? {
                        groups = x;
                    }
                }
            }
            stsd_of.insert(id, (prots, groups));
        } else if &c.fourcc == b"mvex" {
            for t in Mvex::read(&c).map_err(bad)?.trex {
                trex_sdi.insert(t.track_id, t.default_sample_description_index);
            }
        }
    }

    // Per-sample auxiliary information, in the order input.rs read the samples.
    let moofs: Vec<_> = input
        .top_boxes
        .iter()
        .filter(|b| &b.fourcc == b"moof")
        .copied()
        .collect();
    for moof_box in &moofs {
        let bytes = crate::mp4::scan::load_box(&input.file, moof_box, crate::mp4::MAX_LOADED_BOX)
            .map_err(bad)?;
        let moof = BoxIter::new(&bytes)
            .next()
            .expect("loaded box")
            .map_err(bad)?;
        let at =
            |e: BoxError| Error::invalid(&path, format!("moof at byte {}: {}", moof_box.offset, e));
        for traf in moof.children() {
            let traf = traf.map_err(at)?;
            if &traf.fourcc != b"traf" {
                continue;
            }
            let tfhd = Tfhd::read(&traf.require(b"tfhd").map_err(at)?).map_err(at)?;
            let id = tfhd.track_id;
            let Some(ti) = input.tracks.iter().position(|t| t.id == id) else {
                continue;
            };
            let Some((_, list, decs)) = plans[ti].as_mut() else {
                continue;
            };
            let sdi = tfhd
                .sample_description_index
                .unwrap_or_else(|| trex_sdi.get(&id).copied().unwrap_or(1));
            let (prots, track_groups) = stsd_of
                .get(&id)
                .ok_or_else(|| Error::invalid(&path, format!("no trak for track {id}")))?;
            let entry = prots.get(sdi.saturating_sub(1) as usize).ok_or_else(|| {
                Error::invalid(
                    &path,
                    format!(
                        "track {id}: a fragment names sample entry {sdi} of {}",
                        prots.len()
                    ),
                )
            })?;
            let mut count = 0usize;
            for c in traf.children() {
                let c = c.map_err(at)?;
                if &c.fourcc == b"trun" {
                    count += Trun::read(&c).map_err(at)?.entries.len();
                }
            }
            let Some(ep) = entry else {
                // A clear sample entry (clear lead): samples stay as they are.
                list.extend(std::iter::repeat_n(None, count));
                continue;
            };
            let mut frag_groups = Vec::new();
            let mut runs = None;
            for c in traf.children() {
                let c = c.map_err(at)?;
                match &c.fourcc {
                    b"sgpd" => {
                        if let Some(g) = sgpd_seig(&c).map_err(at)? {
                            frag_groups = g;
                        }
                    }
                    b"sbgp" => {
                        if let Some(rn) = sbgp_seig(&c).map_err(at)? {
                            runs = Some(rn);
                        }
                    }
                    _ => {}
                }
            }
            let seig = match &runs {
                Some(rn) => seig_per_sample(rn, count, &frag_groups, track_groups).map_err(at)?,
                None => vec![None; count],
            };
            let iv_size = |i: usize| match seig.get(i) {
                Some(Some(g)) => g.per_sample_iv_size,
                _ => ep.tenc.per_sample_iv_size,
            };
            let aux = if let Some(senc) = traf.child(b"senc").map_err(at)? {
                parse_senc(&senc, &iv_size).map_err(at)?
            } else if let (Some(z), Some(o)) = (
                traf.child(b"saiz").map_err(at)?,
                traf.child(b"saio").map_err(at)?,
            ) {
                let sizes = parse_saiz(&z).map_err(at)?;
                let offsets = parse_saio(&o).map_err(at)?;
                let [off] = offsets.as_slice() else {
                    return Err(Error::unsupported(
                        &path,
                        format!("track {id}: saio with {} offsets", offsets.len()),
                    ));
                };
                let base = tfhd.base_data_offset.unwrap_or(moof_box.offset);
                let total: usize = sizes.iter().map(|&s| s as usize).sum();
                let from = base.checked_add(*off).ok_or_else(|| {
                    Error::invalid(&path, format!("track {id}: saio offset {off} overflows"))
                })?;
                let mut data = vec![0u8; total.min(crate::mp4::MAX_LOADED_BOX as usize)];
                input.file.read_exact_at(&mut data, from).map_err(|e| {
                    Error::invalid(
                        &path,
                        format!(
                            "track {id}: reading auxiliary information at byte {}: {e}",
                            from
                        ),
                    )
                })?;
                parse_aux_entries(&data, &sizes, &iv_size).map_err(at)?
            } else {
                let all_clear = seig
                    .iter()
                    .all(|g| g.as_ref().is_some_and(|g| !g.is_protected));
                let piff = traf
                    .children()
                    .any(|b| b.is_ok_and(|b| is_uuid(&b, &PIFF_SAMPLE_ENCRYPTION)));
                if piff {
                    return Err(Error::unsupported(
                        &path,
                        format!("track {id}: {PIFF_REFUSAL}"),
                    ));
                }
                if !all_clear && ep.tenc.is_protected {
                    return Err(Error::invalid(
                        &path,
                        format!("track {id}: an encrypted fragment has no senc or saiz/saio"),
                    ));
                }
                vec![SampleAuxInfo::default(); count]
            };
            if aux.len() != count {
                return Err(Error::invalid(
                    &path,
                    format!(
                        "track {id}: senc has {} entries for {count} samples",
                        aux.len()
                    ),
                ));
            }
            for (i, a) in aux.into_iter().enumerate() {
                let g = seig[i].as_ref().unwrap_or(&ep.tenc);
                if !g.is_protected {
                    list.push(None);
                    continue;
                }
                let key = keys.get(&g.kid).ok_or_else(|| {
                    Error::Key(format!(
                        "{}: track {id} is encrypted with KID {} and no --decryption-key has it",
                        path.display(),
                        hex::encode(g.kid)
                    ))
                })?;
                let (civ, pat) = (g.constant_iv, (g.crypt_byte_block, g.skip_byte_block));
                // The pattern of tenc/seig applies to cbcs and cens only.
                let pat = if matches!(&ep.scheme_type, b"cbcs" | b"cens") {
                    pat
                } else {
                    (0, 0)
                };
                let di = match decs
                    .iter()
                    .position(|d| (d.0, d.1, d.2) == (g.kid, civ, pat))
                {
                    Some(i) => i,
                    None => {
                        let d = SampleDecryptor::for_scheme_type(&ep.scheme_type, key, civ, pat)?;
                        decs.push((g.kid, civ, pat, d));
                        decs.len() - 1
                    }
                };
                list.push(Some(SampleCrypto {
                    aux: a,
                    decryptor: di,
                }));
            }
        }
    }

    // Decrypt every sample into an unlinked temporary file; clear tracks are copied as they are so
    // that every track of the input reads from the one new file.
    let tmp_path = std::env::temp_dir().join(format!(
        "vodpack-decrypted-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let tmp = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp_path)
        .map_err(|e| Error::io(&tmp_path, e))?;
    let _ = std::fs::remove_file(&tmp_path);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &tmp);
    let mut pos = 0u64;
    let mut buf = Vec::new();
    for (ti, t) in input.tracks.iter_mut().enumerate() {
        if let Some((_, list, _)) = &plans[ti] {
            if list.len() != t.samples.len() {
                return Err(Error::invalid(
                    &path,
                    format!(
                        "track {}: fragments describe {} samples, the track has {}",
                        t.id,
                        list.len(),
                        t.samples.len()
                    ),
                ));
            }
        }
        // The table is rebuilt with the samples' offsets in the new file.
        let mut moved = crate::media::SampleTable::new();
        moved.reserve(t.samples.len());
        for (si, s) in t.samples.iter().enumerate() {
            buf.resize(s.size as usize, 0);
            input.file.read_exact_at(&mut buf, s.offset).map_err(|e| {
                Error::invalid(
                    &path,
                    format!("reading sample data at byte {}: {e}", s.offset),
                )
            })?;
            if let Some((_, list, decs)) = &plans[ti] {
                if let Some(c) = &list[si] {
                    decs[c.decryptor].3.decrypt(&mut buf, &c.aux).map_err(|e| {
                        Error::invalid(
                            &path,
                            format!("track {} sample {}: cannot decrypt: {e}", t.id, si + 1),
                        )
                    })?;
                }
            }
            w.write_all(&buf).map_err(|e| Error::io(&tmp_path, e))?;
            moved.push(crate::media::Sample { offset: pos, ..s });
            pos += s.size as u64;
        }
        moved.shrink_to_fit();
        t.samples = moved;
        if let Some((p, _, _)) = &plans[ti] {
            t.sample_entry = p.clear_entry.clone();
        }
    }
    w.flush().map_err(|e| Error::io(&tmp_path, e))?;
    drop(w);
    input.file = tmp.into();
    input.len = pos;
    Ok(())
}

static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
