//! Keys from a CPIX document or a SPEKE v2 key server for a packaging run: the document loaded
//! (or the SPEKE request built and answered), each rendition given the key its usage rules
//! select, the document's schemes and IVs checked, and the `--cpix-export` document built from
//! what the run used. The CPIX format itself lives in `crate::cenc::cpix` (docs/cpix.md).
use super::args::{ProtectionArgs, Schemes};
use super::source::RenditionSource;
use crate::cenc::cpix::crypto::{self, Recipient};
use crate::cenc::cpix::model::{DrmSystemData, UsageRule};
use crate::cenc::cpix::rules::{self, RenditionFacts};
use crate::cenc::cpix::write::{self, Ask, OutDocument, OutKey};
use crate::cenc::cpix::{self, cpix_err, LoadedCpix, PlainKey};
use crate::cenc::keys::{KeyClasses, KeySpec};
use crate::cenc::pssh::DrmSystem;
use crate::cenc::Scheme;
use crate::error::{Error, Result};
use crate::manifest::model::RenditionProtection;
use crate::media::TrackKind;
use std::path::{Path, PathBuf};

/// What the rules look at in `src`.
pub fn facts(src: &RenditionSource, classes: &KeyClasses) -> RenditionFacts {
    let t = &src.track;
    let secs = t.duration_seconds();
    let bytes: u64 = t.samples.iter().map(|s| s.size as u64).sum();
    let video = t.kind == TrackKind::Video;
    let pixels = match (src.codec.width, src.codec.height) {
        (Some(w), Some(h)) if video => Some(w as u64 * h as u64),
        _ => None,
    };
    let mut labels = vec![src.id.clone()];
    labels.extend(src.spec.key_label.clone());
    RenditionFacts {
        id: src.id.clone(),
        class: classes
            .class_of(t.kind, src.codec.width, src.codec.height)
            .to_string(),
        kind: Some(t.kind),
        pixels,
        fps: (video && secs > 0.0).then(|| t.samples.len() as f64 / secs),
        hdr: matches!(src.codec.transfer_characteristics, Some(16) | Some(18)),
        channels: src
            .codec
            .channels
            .map(u64::from)
            .filter(|_| t.kind == TrackKind::Audio),
        bitrate: (secs > 0.0).then(|| (bytes as f64 * 8.0 / secs).round() as u64),
        labels,
    }
}

/// The DRM system of a CPIX `systemId`, when vodpack signals it.
pub fn system_of(id: &[u8; 16]) -> Option<DrmSystem> {
    [
        DrmSystem::ClearKey,
        DrmSystem::Widevine,
        DrmSystem::PlayReady,
        DrmSystem::FairPlay,
    ]
    .into_iter()
    .find(|s| &s.system_id() == id)
}

/// The resolved CPIX keys of a run.
#[derive(Debug)]
pub struct CpixKeys {
    /// The keys used, labelled.
    pub keys: Vec<KeySpec>,
    /// The label of each rendition, in order.
    pub labels: Vec<String>,
    /// The DRM systems to signal (`--drm`, or the document's known systems).
    pub drm: Vec<DrmSystem>,
    /// The document (signalling data, usage rules).
    pub loaded: LoadedCpix,
}

fn schemes_of(s: Schemes) -> Vec<Scheme> {
    match s {
        Schemes::One(x) => vec![x],
        Schemes::Pair { dash, hls } => vec![dash, hls],
        Schemes::Ts { dash, .. } => vec![dash],
    }
}

/// Loads the document (`--cpix`) or asks the key server (`--speke`), then maps renditions to
/// keys. Every problem is a key error found before any output is written.
pub fn resolve(opts: &ProtectionArgs, sources: &[RenditionSource]) -> Result<CpixKeys> {
    let facts: Vec<RenditionFacts> = sources.iter().map(|s| facts(s, &opts.classes)).collect();
    let loaded = match (&opts.cpix, &opts.speke) {
        (Some(src), _) => cpix::load(src, opts.cpix_private_key.as_deref(), &opts.speke_headers)?,
        (None, Some(url)) => speke(opts, url, &facts)?,
        (None, None) => unreachable!("called with --cpix or --speke"),
    };
    let doc = &loaded.doc;
    check_signalling(doc)?;
    let kids: Vec<[u8; 16]> = if doc.rules.is_empty() {
        if loaded.keys.len() != 1 {
            return Err(cpix_err(format!(
                "the document has {} content keys and no ContentKeyUsageRuleList: which rendition uses which key is not said",
                loaded.keys.len()
            )));
        }
        vec![loaded.keys[0].kid; sources.len()]
    } else {
        facts
            .iter()
            .map(|f| rules::select_kid(&doc.rules, f))
            .collect::<Result<_>>()?
    };
    let schemes = schemes_of(opts.schemes);
    let mut keys: Vec<KeySpec> = Vec::new();
    let mut labels = Vec::new();
    for (i, kid) in kids.iter().enumerate() {
        let key: &PlainKey = loaded.keys.iter().find(|k| &k.kid == kid).ok_or_else(|| {
            cpix_err(format!(
                "rendition '{}': its usage rule names KID {}, which ContentKeyList does not hold",
                facts[i].id,
                crate::cenc::keys::uuid_string(kid)
            ))
        })?;
        if let Some(s) = &key.scheme {
            if let Some(other) = schemes.iter().find(|x| x.as_str() != s) {
                return Err(cpix_err(format!(
                    "key {} is for commonEncryptionScheme '{s}', but --protection encrypts with '{}'",
                    crate::cenc::keys::uuid_string(kid),
                    other.as_str()
                )));
            }
        }
        if let Some(k) = keys.iter().find(|k| &k.kid == kid) {
            // A cenc key with one explicit IV for two renditions would reuse keystream.
            if key.explicit_iv.is_some() && schemes.contains(&Scheme::Cenc) {
                return Err(cpix_err(format!(
                    "key {} has an explicitIV and encrypts two renditions with cenc ('{}' and '{}'): that reuses AES-CTR keystream",
                    crate::cenc::keys::uuid_string(kid),
                    facts[labels.iter().position(|l| l == &k.label).unwrap_or(0)].id,
                    facts[i].id
                )));
            }
            labels.push(k.label.clone());
            continue;
        }
        if let Some(iv) = &key.explicit_iv {
            if schemes.contains(&Scheme::Cbcs) && iv.len() != 16 {
                return Err(cpix_err("cbcs needs a 16-byte explicitIV"));
            }
        }
        let class = &facts[i].class;
        let label = if keys.iter().any(|k| &k.label == class) {
            format!("{class}-{}", &hex::encode(kid)[..8])
        } else {
            class.clone()
        };
        keys.push(KeySpec {
            label: label.clone(),
            kid: *kid,
            key: key.key,
        });
        labels.push(label);
    }
    let drm = if opts.drm_explicit {
        opts.drm.clone()
    } else {
        let mut d: Vec<DrmSystem> = Vec::new();
        for s in doc
            .drm_systems
            .iter()
            .filter_map(|d| system_of(&d.system_id))
        {
            let fairplay_ok =
                s != DrmSystem::FairPlay || opts.schemes.keys_scheme() == Scheme::Cbcs;
            if !d.contains(&s) && fairplay_ok {
                d.push(s);
            }
        }
        if d.is_empty() {
            d.push(DrmSystem::ClearKey);
        }
        d
    };
    Ok(CpixKeys {
        keys,
        labels,
        drm,
        loaded,
    })
}

/// The `EXT-X-KEY` attribute list of a document's `HLSSignalingData` for media playlists (or
/// the one without `playlist`), its tag name removed.
pub fn hls_key_attributes(d: &DrmSystemData) -> Option<String> {
    let h = d
        .hls
        .iter()
        .find(|h| h.playlist.as_deref() == Some("media"))
        .or_else(|| d.hls.iter().find(|h| h.playlist.is_none()))?;
    let line = h.data.lines().find(|l| l.starts_with("#EXT-X-KEY:"))?;
    Some(line["#EXT-X-KEY:".len()..].trim().to_string())
}

/// Checks the document's signalling that goes into manifests verbatim: `ContentProtectionData`
/// must be XML (with the MPD's `cenc`, `mspr` and `dashif` prefixes, or its own declarations),
/// `HLSSignalingData` must carry an `EXT-X-KEY` or `EXT-X-SESSION-KEY` line, `URIExtXKey` one
/// line.
fn check_signalling(doc: &crate::cenc::cpix::Document) -> Result<()> {
    for d in &doc.drm_systems {
        let what = format!(
            "DRMSystem {} (kid {})",
            crate::cenc::keys::uuid_string(&d.system_id),
            crate::cenc::keys::uuid_string(&d.kid)
        );
        if let Some(cpd) = &d.content_protection_data {
            let wrapped = format!(
                "<w xmlns:cenc=\"urn:mpeg:cenc:2013\" xmlns:mspr=\"urn:microsoft:playready\" xmlns:dashif=\"https://dashif.org/CPS\">{cpd}</w>"
            );
            crate::cenc::cpix::dom::parse(&wrapped).map_err(|e| {
                cpix_err(format!(
                    "{what}: ContentProtectionData is not XML children: {e}"
                ))
            })?;
        }
        for h in &d.hls {
            if !h
                .data
                .lines()
                .any(|l| l.starts_with("#EXT-X-KEY:") || l.starts_with("#EXT-X-SESSION-KEY:"))
            {
                return Err(cpix_err(format!(
                    "{what}: HLSSignalingData holds no #EXT-X-KEY or #EXT-X-SESSION-KEY line"
                )));
            }
        }
        if let Some(u) = &d.uri_ext_x_key {
            if u.contains(['\n', '\r', '"']) {
                return Err(cpix_err(format!("{what}: URIExtXKey is not one URI")));
            }
        }
    }
    Ok(())
}

/// Builds the SPEKE v2 request (one key per class the renditions need, the systems of `--drm`,
/// a usage rule per class), posts it and checks and decrypts the answer.
fn speke(opts: &ProtectionArgs, url: &str, facts: &[RenditionFacts]) -> Result<LoadedCpix> {
    let request = speke_request(opts, facts)?;
    let answer = cpix::speke::post(url, &opts.speke_headers, &request.xml)?;
    let mut loaded = cpix::from_text(&answer, opts.cpix_private_key.as_deref())?;
    cpix::speke::check_answer(&loaded.doc, &request.kids, &request.ask)?;
    if loaded.doc.rules.is_empty() {
        loaded.doc.rules = request.rules;
    }
    Ok(loaded)
}

/// A SPEKE v2 request.
pub struct SpekeRequest {
    /// The document.
    pub xml: String,
    /// The KIDs asked for, one per key class.
    pub kids: Vec<[u8; 16]>,
    /// The systems asked for.
    pub ask: Vec<([u8; 16], [u8; 16], Ask)>,
    /// The usage rules sent.
    pub rules: Vec<UsageRule>,
}

/// The SPEKE v2 request of a run.
pub fn speke_request(opts: &ProtectionArgs, facts: &[RenditionFacts]) -> Result<SpekeRequest> {
    let mut classes: Vec<String> = Vec::new();
    for f in facts {
        if !classes.contains(&f.class) {
            classes.push(f.class.clone());
        }
    }
    let fresh = crate::cenc::keys::generate_keys(&classes)?;
    let kids: Vec<[u8; 16]> = fresh.iter().map(|k| k.kid).collect();
    let scheme = match opts.schemes {
        Schemes::One(s) => Some(s.as_str().to_string()),
        Schemes::Pair { .. } | Schemes::Ts { .. } => None,
    };
    let keys: Vec<OutKey> = kids
        .iter()
        .map(|kid| OutKey {
            kid: *kid,
            key: None,
            scheme: scheme.clone(),
            explicit_iv: None,
        })
        .collect();
    let mut ask = Vec::new();
    for kid in &kids {
        for s in &opts.drm {
            // Clear Key's common PSSH is vodpack's own to write; key servers sign the others.
            match s {
                DrmSystem::ClearKey => {}
                DrmSystem::FairPlay => ask.push((s.system_id(), *kid, Ask::Hls)),
                _ => ask.push((s.system_id(), *kid, Ask::Dash)),
            }
        }
    }
    let rules: Vec<UsageRule> = kids
        .iter()
        .zip(&classes)
        .map(|(kid, c)| write::rule_for_label(*kid, c, &opts.classes))
        .collect();
    let recipient = opts
        .cpix_certificate
        .as_deref()
        .map(crypto::load_certificate)
        .transpose()?;
    if recipient.is_some() && opts.cpix_private_key.is_none() {
        return Err(Error::Usage(
            "--cpix-certificate asks for encrypted keys: give --cpix-private-key too".into(),
        ));
    }
    let xml = OutDocument {
        content_id: &opts.asset_id,
        keys: &keys,
        drm: &[],
        ask: &ask,
        rules: &rules,
        recipient: recipient.as_ref(),
    }
    .to_xml(true)?;
    Ok(SpekeRequest {
        xml,
        kids,
        ask,
        rules,
    })
}

/// Checks `--cpix-export`'s path before anything is written: never inside OUT (it holds keys),
/// never an input.
pub fn check_export_path(path: &Path, out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        p.components().collect()
    };
    let (e, o) = (abs(path), abs(out));
    if e.starts_with(&o) {
        return Err(Error::Usage(format!(
            "--cpix-export '{}' is inside the output folder '{}', which gets published; write it elsewhere",
            path.display(),
            out.display()
        )));
    }
    if inputs.iter().any(|i| abs(i) == e) {
        return Err(Error::Usage(format!(
            "--cpix-export '{}' would overwrite an input",
            path.display()
        )));
    }
    Ok(())
}

/// The `--cpix-export` document of a run: the keys used, the DRM signalling of every key (the
/// document's own when it came from one, else what vodpack wrote), and usage rules (the
/// document's, else one per key label).
pub fn export_document(
    content_id: &str,
    keys: &[KeySpec],
    schemes: Schemes,
    signals: &[Option<RenditionProtection>],
    loaded: Option<&LoadedCpix>,
    classes: &KeyClasses,
    recipient: Option<&Recipient>,
) -> Result<String> {
    let used: Vec<&KeySpec> = keys
        .iter()
        .filter(|k| signals.iter().flatten().any(|s| s.default_kid == k.kid))
        .collect();
    let scheme = match schemes {
        Schemes::One(s) => Some(s.as_str().to_string()),
        Schemes::Pair { .. } | Schemes::Ts { .. } => None,
    };
    let out_keys: Vec<OutKey> = used
        .iter()
        .map(|k| OutKey {
            kid: k.kid,
            key: Some(k.key),
            scheme: scheme.clone(),
            explicit_iv: loaded
                .and_then(|l| l.keys.iter().find(|p| p.kid == k.kid))
                .and_then(|p| p.explicit_iv.clone()),
        })
        .collect();
    let mut drm: Vec<DrmSystemData> = Vec::new();
    for sig in signals.iter().flatten() {
        for d in &sig.drm {
            let id = d.system.system_id();
            if drm
                .iter()
                .any(|x| x.system_id == id && x.kid == sig.default_kid)
            {
                continue;
            }
            let from_doc = loaded.and_then(|l| l.doc.drm_system(&id, &sig.default_kid));
            match from_doc {
                Some(x) => drm.push(x.clone()),
                None if d.pssh.is_some() => drm.push(DrmSystemData {
                    system_id: id,
                    kid: sig.default_kid,
                    pssh: d.pssh.clone(),
                    ..Default::default()
                }),
                None => {}
            }
        }
    }
    let rules: Vec<UsageRule> = match loaded.filter(|l| !l.doc.rules.is_empty()) {
        Some(l) => l
            .doc
            .rules
            .iter()
            .filter(|r| used.iter().any(|k| k.kid == r.kid))
            .cloned()
            .collect(),
        None => used
            .iter()
            .map(|k| write::rule_for_label(k.kid, &k.label, classes))
            .collect(),
    };
    OutDocument {
        content_id,
        keys: &out_keys,
        drm: &drm,
        ask: &[],
        rules: &rules,
        recipient,
    }
    .to_xml(false)
}

/// The export written beside OUT: staged under a temporary name before OUT is committed and
/// renamed into place after; removed if the run fails first.
pub struct StagedExport {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl StagedExport {
    /// Writes `text` (mode 0600: it holds keys, or keys for one recipient) under a temporary
    /// name beside `path`.
    pub fn stage(path: &Path, text: &str) -> Result<StagedExport> {
        use std::io::Write;
        let name = path.file_name().ok_or_else(|| {
            Error::Usage(format!("--cpix-export '{}' names no file", path.display()))
        })?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".vodpack-tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let staged = StagedExport {
            tmp: tmp.clone(),
            path: path.to_path_buf(),
            done: false,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        Ok(staged)
    }

    /// Puts the export in place.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for StagedExport {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
