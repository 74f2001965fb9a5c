//! What Common Encryption boxes in a file say (ISO/IEC 23001-7): the protection of a sample entry
//! (`encv`/`enca` with sinf: frma, schm, schi/tenc), the per-sample auxiliary information of a
//! track fragment (senc, or saiz/saio pointing at it, §7) and the `seig` sample groups that
//! override tenc per sample (§6, clear samples and key rotation).
//!
//! Readers only: `vodpack verify` uses them on vodpack's output, and the packager on encrypted
//! inputs (`--decryption-key`). Every read is bounded by its
//! box; bad input is an error naming the box, never a panic.
use crate::mp4::boxes::protection::read_aux;
use crate::mp4::boxes::SampleAuxInfo;
use crate::mp4::boxes::{self, Frma, Saio, Saiz, Sbgp, Schm, Senc, Sgpd, SgpdEntries, Stsd};
use crate::mp4::{fourcc_str, BoxError, BoxIter, BoxResult, ByteReader, Mp4Box, RawBox};

fn err<T>(m: impl Into<String>) -> BoxResult<T> {
    Err(BoxError::invalid(m))
}

/// Track encryption defaults: tenc (§8.2) or one `seig` sample group entry (§6), which has the
/// same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenc {
    /// tenc default_isProtected (false: samples are clear unless a seig group says otherwise).
    pub is_protected: bool,
    /// 0, 8 or 16; 0 means a constant IV.
    pub per_sample_iv_size: u8,
    /// tenc default_KID: the key ID the samples are encrypted with.
    pub kid: [u8; 16],
    /// tenc default_constant_IV, zero-padded to 16 bytes, when per_sample_iv_size is 0 (cbcs).
    pub constant_iv: Option<[u8; 16]>,
    /// Encrypted 16-byte blocks per pattern (cbcs/cens; 0 when the scheme has no pattern).
    pub crypt_byte_block: u8,
    /// Clear 16-byte blocks per pattern following the encrypted ones (e.g. 1:9 for cbcs video).
    pub skip_byte_block: u8,
}

impl Tenc {
    /// Parses the body of tenc (after version and flags) or of a `seig` entry (see
    /// [`boxes::Tenc::read_fields`]) and checks what vodpack relies on.
    fn parse(r: &mut ByteReader, pattern: bool) -> BoxResult<Tenc> {
        Tenc::from_box(&boxes::Tenc::read_fields(r, u8::from(pattern), pattern)?)
    }

    /// Checks a tenc (or seig entry) read by the box layer: IV sizes 0, 8 or 16, constant IVs
    /// of 8 or 16 bytes.
    pub fn from_box(t: &boxes::Tenc) -> BoxResult<Tenc> {
        let per_sample_iv_size = t.default_per_sample_iv_size;
        if !matches!(per_sample_iv_size, 0 | 8 | 16) {
            return err(format!(
                "Per_Sample_IV_Size {per_sample_iv_size} (must be 0, 8 or 16)"
            ));
        }
        let constant_iv = match &t.default_constant_iv {
            Some(iv) => {
                let n = iv.len();
                if n != 8 && n != 16 {
                    return err(format!("constant IV size {n} (must be 8 or 16)"));
                }
                let mut a = [0u8; 16];
                a[..n].copy_from_slice(iv);
                Some(a)
            }
            None => None,
        };
        Ok(Tenc {
            is_protected: t.default_is_protected != 0,
            per_sample_iv_size,
            kid: t.default_kid,
            constant_iv,
            crypt_byte_block: t.default_crypt_byte_block,
            skip_byte_block: t.default_skip_byte_block,
        })
    }
}

/// The protection of one sample entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProtection {
    /// The 4CC of the protected entry (`encv`, `enca`...).
    pub protected_format: [u8; 4],
    /// frma: the original sample entry 4CC (`avc1`, `mp4a`...).
    pub original_format: [u8; 4],
    /// schm scheme_type (`cenc`, `cbcs`, `cens`, `cbc1`, or anything else found).
    pub scheme_type: [u8; 4],
    /// The checked track encryption defaults from schi/tenc.
    pub tenc: Tenc,
    /// The sample entry as it was before encryption: the original 4CC, no sinf.
    pub clear_entry: Vec<u8>,
}

/// Bytes between a sample entry's header and its first child box, by entry type (ISO/IEC
/// 14496-12 §12.1.3 visual: 78; §12.2.3 audio: 28, plus 16 or 36 for QuickTime sound
/// description versions 1 and 2).
fn entry_fields_len(fourcc: &[u8; 4], body: &[u8]) -> BoxResult<usize> {
    match fourcc {
        b"encv" => Ok(78),
        b"enca" => {
            let version = body.get(8..10).map(|v| u16::from_be_bytes([v[0], v[1]]));
            Ok(match version {
                Some(1) => 28 + 16,
                Some(2) => 28 + 36,
                _ => 28,
            })
        }
        // encs/enct and others: SampleEntry fields only (reserved 6 + data_reference_index 2).
        _ => Ok(8),
    }
}

/// Reads the sinf of a protected sample entry (whole box, header included). `Ok(None)` for an
/// entry that is not protected (not `enc*` or without sinf... the latter is an error).
pub fn entry_protection(entry: &[u8]) -> BoxResult<Option<EntryProtection>> {
    let mut it = BoxIter::new(entry);
    let Some(b) = it.next() else {
        return err("empty sample entry");
    };
    let b = b?;
    if !matches!(&b.fourcc, b"encv" | b"enca" | b"encs" | b"enct") {
        return Ok(None);
    }
    let fields = entry_fields_len(&b.fourcc, b.body)?;
    if b.body.len() < fields {
        return err(format!(
            "'{}' sample entry is {} bytes, shorter than its {fields} bytes of fields",
            b.name(),
            b.body.len()
        ));
    }
    let header_len = b.bytes.len() - b.body.len();
    let mut sinf = None;
    let mut kept: Vec<&[u8]> = Vec::new();
    for c in BoxIter::new(&b.body[fields..]) {
        let c = c?;
        if &c.fourcc == b"sinf" {
            // The first sinf is the one in force (§8.12: several are alternatives).
            if sinf.is_none() {
                sinf = Some(c);
            }
        } else {
            kept.push(c.bytes);
        }
    }
    let Some(sinf) = sinf else {
        return err(format!("protected sample entry '{}' has no sinf", b.name()));
    };
    let original_format = Frma::read(&sinf.require(b"frma")?)?.data_format;
    let scheme_type = Schm::read(&sinf.require(b"schm")?)?.scheme_type;
    let schi = sinf.require(b"schi")?;
    let tenc = boxes::Tenc::read(&schi.require(b"tenc")?)
        .and_then(|t| Tenc::from_box(&t))
        .map_err(|e| e.context("tenc"))?;

    let body_len: usize = fields + kept.iter().map(|k| k.len()).sum::<usize>();
    let total = 8 + body_len;
    let size = u32::try_from(total).map_err(|_| BoxError::invalid("sample entry over 4 GiB"))?;
    let mut clear_entry = Vec::with_capacity(total);
    clear_entry.extend_from_slice(&size.to_be_bytes());
    clear_entry.extend_from_slice(&original_format);
    let _ = header_len; // a 64-bit or uuid header is rewritten as a plain 8-byte one
    clear_entry.extend_from_slice(&b.body[..fields]);
    for k in kept {
        clear_entry.extend_from_slice(k);
    }
    Ok(Some(EntryProtection {
        protected_format: b.fourcc,
        original_format,
        scheme_type,
        tenc,
        clear_entry,
    }))
}

/// All sample entries of an stsd box body (after version/flags), whole boxes.
pub fn stsd_entries(stsd: &RawBox) -> BoxResult<Vec<Vec<u8>>> {
    Ok(Stsd::read(stsd)?.entries)
}

/// The grouping type of an sbgp or sgpd (its first field), to skip other groupings unparsed.
fn grouping_type(b: &RawBox) -> BoxResult<[u8; 4]> {
    b.full()?.2.fourcc()
}

/// The `seig` entries of an sgpd box (§6; ISO/IEC 14496-12 §8.9.3), or `None` for another
/// grouping type.
pub fn sgpd_seig(sgpd: &RawBox) -> BoxResult<Option<Vec<Tenc>>> {
    if &grouping_type(sgpd)? != b"seig" {
        return Ok(None);
    }
    let seig = |e: BoxError| e.context("seig");
    let out = match Sgpd::read(sgpd)?.entries {
        SgpdEntries::Sized { entries, .. } => entries
            .iter()
            .map(|en| Tenc::parse(&mut ByteReader::new(en, *b"seig"), true).map_err(seig))
            .collect::<BoxResult<Vec<_>>>()?,
        // Versions 0 and 2: entries have no length; seig's own syntax sizes them.
        SgpdEntries::Unsized { entry_count, bytes } => {
            let mut r = ByteReader::new(&bytes, *b"seig");
            let n = r.check_table(entry_count.into(), 20)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(Tenc::parse(&mut r, true).map_err(seig)?);
            }
            out
        }
    };
    Ok(Some(out))
}

/// The runs of an sbgp box with grouping type `seig`: (sample_count, group_description_index).
pub fn sbgp_seig(sbgp: &RawBox) -> BoxResult<Option<Vec<(u32, u32)>>> {
    if &grouping_type(sbgp)? != b"seig" {
        return Ok(None);
    }
    Ok(Some(
        Sbgp::read(sbgp)?
            .entries
            .iter()
            .map(|e| (e.sample_count, e.group_description_index))
            .collect(),
    ))
}

/// Per-sample `seig` overrides of a fragment: `None` where tenc applies. `fragment_groups` are
/// the traf's own sgpd entries (indexes from 0x10001), `track_groups` those of the moov's stbl.
pub fn seig_per_sample(
    runs: &[(u32, u32)],
    sample_count: usize,
    fragment_groups: &[Tenc],
    track_groups: &[Tenc],
) -> BoxResult<Vec<Option<Tenc>>> {
    let mut out = Vec::with_capacity(sample_count);
    for &(count, index) in runs {
        let entry = match index {
            0 => None,
            i if i > 0x10000 => Some(
                fragment_groups
                    .get((i - 0x10001) as usize)
                    .cloned()
                    .ok_or_else(|| {
                        BoxError::invalid(format!(
                            "sbgp names fragment seig group {} of {}",
                            i - 0x10000,
                            fragment_groups.len()
                        ))
                    })?,
            ),
            i => Some(track_groups.get((i - 1) as usize).cloned().ok_or_else(|| {
                BoxError::invalid(format!(
                    "sbgp names seig group {i} of {}",
                    track_groups.len()
                ))
            })?),
        };
        for _ in 0..count {
            if out.len() == sample_count {
                break;
            }
            out.push(entry.clone());
        }
    }
    out.resize(sample_count, None);
    Ok(out)
}

/// Parses senc (§7.2.1). `iv_size(i)` is the per-sample IV size of sample `i` (from tenc or its
/// seig group). Flag 0x1 (PIFF override of IV size and KID) is honoured for the IV size.
pub fn parse_senc(senc: &RawBox, iv_size: &dyn Fn(usize) -> u8) -> BoxResult<Vec<SampleAuxInfo>> {
    Ok(Senc::read(senc, iv_size)?.samples)
}

/// Parses auxiliary information addressed by saiz: `data` holds the entries back to back,
/// `sizes` their sizes (§8.7.8); an entry longer than its IV carries a subsample map.
pub fn parse_aux_entries(
    data: &[u8],
    sizes: &[u8],
    iv_size: &dyn Fn(usize) -> u8,
) -> BoxResult<Vec<SampleAuxInfo>> {
    let mut out = Vec::with_capacity(sizes.len());
    let mut pos = 0usize;
    for (i, &size) in sizes.iter().enumerate() {
        let end = pos + size as usize;
        let Some(entry) = data.get(pos..end) else {
            return err(format!(
                "auxiliary information of sample {} runs past its data",
                i + 1
            ));
        };
        let ivs = iv_size(i);
        let mut r = ByteReader::new(entry, *b"saiz");
        let aux = read_aux(&mut r, ivs.min(size), size > ivs).map_err(|e| {
            BoxError::invalid(format!("sample {} auxiliary information: {e}", i + 1))
        })?;
        out.push(aux);
        pos = end;
    }
    Ok(out)
}

/// saiz (ISO/IEC 14496-12 §8.7.8): the size of each sample's auxiliary information.
pub fn parse_saiz(saiz: &RawBox) -> BoxResult<Vec<u8>> {
    let z = Saiz::read(saiz)?;
    if z.default_sample_info_size == 0 {
        return Ok(z.sample_info_sizes);
    }
    let count = z.sample_count;
    if count as usize > crate::media::input::MAX_SAMPLES_PER_TRACK {
        return err(format!("saiz: {count} samples"));
    }
    Ok(vec![z.default_sample_info_size; count as usize])
}

/// saio (§8.7.9): the offsets of the auxiliary information (one, or one per chunk/trun).
pub fn parse_saio(saio: &RawBox) -> BoxResult<Vec<u64>> {
    Ok(Saio::read(saio)?.offsets)
}

/// A short description of a protected entry for messages: scheme and KID.
pub fn describe(p: &EntryProtection) -> String {
    format!(
        "scheme '{}', KID {}",
        fourcc_str(&p.scheme_type),
        hex::encode(p.tenc.kid)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cenc::boxes::{encrypt_sample_entry, senc, sinf};
    use crate::cenc::{Scheme, Subsample, TencParams};

    fn params() -> TencParams {
        TencParams {
            default_kid: [7; 16],
            per_sample_iv_size: 0,
            constant_iv: Some([3; 16]),
            crypt_byte_block: 1,
            skip_byte_block: 9,
        }
    }

    #[test]
    fn sinf_written_by_vodpack_reads_back_and_restores_the_entry() {
        // A minimal visual sample entry: 78 bytes of fields, then an avcC-like child.
        let mut entry = vec![0u8; 8 + 78];
        entry[4..8].copy_from_slice(b"avc1");
        entry.extend_from_slice(&[0, 0, 0, 10, b'a', b'v', b'c', b'C', 1, 2]);
        let n = entry.len() as u32;
        entry[0..4].copy_from_slice(&n.to_be_bytes());
        let s = sinf(*b"avc1", Scheme::Cbcs, &params());
        let enc = encrypt_sample_entry(&entry, true, &s).unwrap();
        let p = entry_protection(&enc).unwrap().unwrap();
        assert_eq!(&p.original_format, b"avc1");
        assert_eq!(&p.scheme_type, b"cbcs");
        assert_eq!(p.tenc.kid, [7; 16]);
        assert_eq!(p.tenc.constant_iv, Some([3; 16]));
        assert_eq!((p.tenc.crypt_byte_block, p.tenc.skip_byte_block), (1, 9));
        assert_eq!(p.clear_entry, entry);
        assert!(entry_protection(&entry).unwrap().is_none());
        // Truncated sinf: an error, not a panic.
        let cut = &enc[..enc.len() - 5];
        let mut cut = cut.to_vec();
        let l = cut.len() as u32;
        cut[0..4].copy_from_slice(&l.to_be_bytes());
        assert!(entry_protection(&cut).is_err());
    }

    #[test]
    fn senc_round_trip() {
        let aux = vec![
            SampleAuxInfo {
                iv: vec![1; 8],
                subsamples: vec![Subsample {
                    clear: 5,
                    protected: 32,
                }],
            },
            SampleAuxInfo {
                iv: vec![2; 8],
                subsamples: vec![],
            },
        ];
        let b = senc(&aux, true).unwrap();
        let bx = BoxIter::new(&b).next().unwrap().unwrap();
        assert_eq!(parse_senc(&bx, &|_| 8).unwrap(), aux);
        // A count that lies.
        let mut bad = b.clone();
        bad[15] = 9;
        let bx = BoxIter::new(&bad).next().unwrap().unwrap();
        assert!(parse_senc(&bx, &|_| 8).is_err());
    }
}
